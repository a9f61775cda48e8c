// Package signalfd implements signalfd(2) descriptors: reading one takes
// pending signals of a mask from the task that created it, as
// signalfd_siginfo records, instead of delivering them.
//
// Linux reads the signals of whichever task reads; here the descriptor is
// bound to the task that created it (signalfd is used from the thread that
// blocks the signals, in practice). Locking: mu guards the mask.
package signalfd

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// recordSize is sizeof(struct signalfd_siginfo).
const recordSize = 128

type signalFD struct {
	task *kernel.Task

	mu   sync.Mutex
	mask kernel.SignalSet
}

// New returns a signal descriptor of t for the signals in mask; flags may
// hold O_NONBLOCK.
func New(t *kernel.Task, mask kernel.SignalSet, flags int) *vfs.File {
	return vfs.NewFile(&signalFD{task: t, mask: clean(mask)}, unix.O_RDWR|flags&unix.O_NONBLOCK)
}

// SetMask replaces the mask of an existing signal descriptor.
func SetMask(f *vfs.File, mask kernel.SignalSet) bool {
	s, ok := f.Impl.(*signalFD)
	if ok {
		s.mu.Lock()
		s.mask = clean(mask)
		s.mu.Unlock()
	}
	return ok
}

// clean drops SIGKILL and SIGSTOP, which no signalfd takes.
func clean(m kernel.SignalSet) kernel.SignalSet {
	return m &^ (kernel.Bit(unix.SIGKILL) | kernel.Bit(unix.SIGSTOP))
}

func (s *signalFD) getMask() kernel.SignalSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mask
}

// ReadAt implements vfs.FileImpl: as many records as fit.
// Linux: fs/signalfd.c, signalfd_read().
func (s *signalFD) ReadAt(dst []byte, _ int64) (int, error) {
	if len(dst) < recordSize {
		return 0, unix.EINVAL
	}
	n := 0
	for n+recordSize <= len(dst) {
		info := s.task.DequeueSignal(s.getMask())
		if info == nil {
			break
		}
		encode(dst[n:n+recordSize], info)
		n += recordSize
	}
	if n == 0 {
		return 0, unix.EAGAIN
	}
	return n, nil
}

// encode fills a signalfd_siginfo from a siginfo, field by field as the
// siginfo's layout has them. Linux: fs/signalfd.c, signalfd_copyinfo().
func encode(b []byte, info *arch.SignalInfo) {
	clear(b)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(info.Signo))
	le.PutUint32(b[4:], uint32(info.Errno))
	le.PutUint32(b[8:], uint32(info.Code))
	sig := unix.Signal(info.Signo)
	code := info.Code
	pidUID := func() {
		le.PutUint32(b[12:], uint32(info.PID()))
		le.PutUint32(b[16:], info.UID())
	}
	value := func() {
		le.PutUint64(b[48:], info.Value())         // ssi_ptr
		le.PutUint32(b[44:], uint32(info.Value())) // ssi_int
	}
	switch {
	case code > arch.SI_USER && code < arch.SI_KERNEL:
		switch sig {
		case unix.SIGCHLD:
			pidUID()
			le.PutUint32(b[40:], uint32(info.Status()))
			le.PutUint64(b[56:], uint64(info.Utime()))
			le.PutUint64(b[64:], uint64(info.Stime()))
		case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGTRAP, unix.SIGSYS:
			le.PutUint64(b[72:], info.Addr())
		case unix.SIGIO:
			le.PutUint32(b[28:], uint32(info.Band()))
			le.PutUint32(b[20:], uint32(info.FD()))
		}
	case code == arch.SI_TIMER:
		le.PutUint32(b[24:], uint32(info.TimerID()))
		le.PutUint32(b[32:], uint32(info.Overrun()))
		value()
	case code < 0:
		pidUID()
		value()
	default:
		pidUID()
	}
}

func (s *signalFD) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }
func (s *signalFD) Seekable() bool                     { return false }
func (s *signalFD) Release()                           {}
func (s *signalFD) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: 0o600, Nlink: 1, Blksize: 4096}
	return nil
}

// Readiness implements vfs.Waitable.
func (s *signalFD) Readiness(mask uint32) uint32 {
	if s.task.PendingIn(s.getMask()) {
		return mask & (waiter.EventIn | waiter.EventRdNorm)
	}
	return 0
}

func (s *signalFD) EventRegister(e *waiter.Entry)   { s.task.SignalQueue().Register(e) }
func (s *signalFD) EventUnregister(e *waiter.Entry) { s.task.SignalQueue().Unregister(e) }
