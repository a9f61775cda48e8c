package tty

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Master is the open master side of a pair (what opening /dev/ptmx
// gives): a vfs.FileImpl. Its reads and writes never block; they return
// EAGAIN and the system-call layer waits on the side's queue.
type Master struct {
	t *Terminal
	// readable: opened for reading (TIOCSCTTY needs it).
	readable bool
}

// Terminal returns the pair.
func (m *Master) Terminal() *Terminal { return m.t }

// ReadAt implements vfs.FileImpl: what the slave wrote.
func (m *Master) ReadAt(dst []byte, _ int64) (int, error) { return m.t.masterRead(dst) }

// WriteAt implements vfs.FileImpl: input for the slave.
func (m *Master) WriteAt(src []byte, _ int64) (int, error) { return m.t.masterWrite(src) }

// Stat implements vfs.FileImpl for a master without a path (the VFS asks
// the node it was opened through otherwise).
func (m *Master) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: unix.S_IFCHR | 0o666, Nlink: 1, Rdev: unix.Mkdev(PTMXMajor, PTMXMinor), Blksize: 1024}
	return nil
}

// Seekable implements vfs.FileImpl: terminals have no offset (ESPIPE).
func (m *Master) Seekable() bool { return false }

// Release implements vfs.FileImpl: the slave hangs up.
func (m *Master) Release() { m.t.releaseMaster() }

// Readiness implements vfs.Waitable.
func (m *Master) Readiness(mask uint32) uint32 { return m.t.masterReadiness(mask) }

// EventRegister implements vfs.Waitable.
func (m *Master) EventRegister(e *waiter.Entry) { m.t.masterQ.Register(e) }

// EventUnregister implements vfs.Waitable.
func (m *Master) EventUnregister(e *waiter.Entry) { m.t.masterQ.Unregister(e) }

// Ioctl implements vfs.IoctlImpl.
func (m *Master) Ioctl(io vfs.IO, request uint32, arg uintptr) (uintptr, error) {
	return m.t.ioctl(true, m.readable, io, request, arg)
}

// HostBlocking implements vfs.HostBlocking. Terminals do not wait on the
// host, but the marker makes the system-call layer read them with one
// ReadAt into a kernel buffer: a read(2) of a terminal is one operation
// (one line in canonical mode; one packet header in packet mode) however
// the application's buffer is split into pieces.
func (m *Master) HostBlocking() {}

// Slave is an open slave side: /dev/pts/N, or /dev/tty or /dev/console
// naming the terminal. A vfs.FileImpl that also implements JobControlled.
type Slave struct {
	t        *Terminal
	readable bool

	// Guarded by t.mu: when the current read started (for VTIME) and
	// whether it is non-blocking.
	readStart time.Time
	nonblock  bool
}

// OpenSlave opens the slave side for the caller in ctx, as open(2) of
// its node does: EIO while the slave is locked or the master is closed,
// EBUSY under TIOCEXCL without CAP_SYS_ADMIN. A session leader without a
// controlling terminal that opens it for reading, without O_NOCTTY and
// unless noctty, makes it its controlling terminal (/dev/tty and
// /dev/console pass noctty). Linux: drivers/tty/tty_io.c, tty_open().
func (t *Terminal) OpenSlave(ctx *vfs.Context, flags int, noctty bool) (*Slave, error) {
	capable := ctx.Creds != nil && ctx.Creds.HasCap(vfs.CapSysAdmin)
	return t.openSlave(ctx.Task, capable, flags, noctty)
}

// Terminal returns the pair.
func (s *Slave) Terminal() *Terminal { return s.t }

// ReadAt implements vfs.FileImpl: the slave's input, through the line
// discipline.
func (s *Slave) ReadAt(dst []byte, _ int64) (int, error) { return s.t.slaveRead(s, dst) }

// WriteAt implements vfs.FileImpl: output, through output processing.
func (s *Slave) WriteAt(src []byte, _ int64) (int, error) { return s.t.slaveWrite(src) }

// Stat implements vfs.FileImpl for a slave without a path (TIOCGPTPEER):
// its node's attributes, so that ttyname(3) finds it by them.
func (s *Slave) Stat(st *unix.Stat_t) error {
	if h := s.t.hooks.StatSlave; h != nil && h(st) {
		return nil
	}
	*st = unix.Stat_t{Mode: unix.S_IFCHR | 0o620, Nlink: 1, Rdev: s.t.SlaveDevice(), Ino: uint64(s.t.index) + 3, Blksize: 1024}
	return nil
}

// Seekable implements vfs.FileImpl.
func (s *Slave) Seekable() bool { return false }

// Release implements vfs.FileImpl.
func (s *Slave) Release() { s.t.releaseSlave() }

// Readiness implements vfs.Waitable.
func (s *Slave) Readiness(mask uint32) uint32 { return s.t.slaveReadiness(mask) }

// EventRegister implements vfs.Waitable.
func (s *Slave) EventRegister(e *waiter.Entry) { s.t.slaveQ.Register(e) }

// EventUnregister implements vfs.Waitable.
func (s *Slave) EventUnregister(e *waiter.Entry) { s.t.slaveQ.Unregister(e) }

// Ioctl implements vfs.IoctlImpl.
func (s *Slave) Ioctl(io vfs.IO, request uint32, arg uintptr) (uintptr, error) {
	return s.t.ioctl(false, s.readable, io, request, arg)
}

// HostBlocking implements vfs.HostBlocking (see Master.HostBlocking).
func (s *Slave) HostBlocking() {}

// BeginRead implements JobControlled.
func (s *Slave) BeginRead(task any, nonblocking bool) error {
	t := s.t
	t.mu.Lock()
	hungUp := t.hungUp
	t.mu.Unlock()
	if !hungUp {
		if err := t.checkChange(task, unix.SIGTTIN); err != nil {
			return err
		}
	}
	t.mu.Lock()
	s.readStart = t.now()
	s.nonblock = nonblocking
	t.mu.Unlock()
	return nil
}

// BeginWrite implements JobControlled.
func (s *Slave) BeginWrite(task any) error {
	t := s.t
	t.mu.Lock()
	check := !t.hungUp && t.termios.Lflag&unix.TOSTOP != 0
	t.mu.Unlock()
	if !check {
		return nil
	}
	return t.checkChange(task, unix.SIGTTOU)
}
