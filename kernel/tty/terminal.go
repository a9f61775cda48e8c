package tty

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/waiter"
)

// Buffer sizes. Linux: include/linux/tty.h, N_TTY_BUF_SIZE; drivers/tty/
// pty.c sets each side's flip-buffer limit to 8 KiB.
const (
	// readBufSize is a side's line-discipline read buffer. A byte of it
	// stays free except for the one canonical line that fills it.
	readBufSize = 4096
	// flipSize bounds the bytes written to one side that its line
	// discipline has not taken yet.
	flipSize = 8192
	// heldSize bounds the echoes kept while output is stopped (Linux's
	// echo buffer).
	heldSize = 4096
)

// Device numbers. Linux: Documentation/admin-guide/devices.txt.
const (
	// PTMXMajor:PTMXMinor is /dev/ptmx (and /dev/pts/ptmx).
	PTMXMajor = 5
	PTMXMinor = 2
	// SlaveMajor is the major of the slaves, /dev/pts/N being SlaveMajor:N.
	SlaveMajor = 136
)

// Event bits beyond the waiter package's.
const wrNorm = 0x100 // POLLWRNORM

const (
	readable = waiter.EventIn | waiter.EventRdNorm
	writable = waiter.EventOut | wrNorm
)

// Hooks tell the owner of a terminal (devpts) about its lifetime.
type Hooks struct {
	// MasterClosed is called when the master side closes: the slave's
	// node goes (Linux: devpts_pty_kill() from pty_close()).
	MasterClosed func()
	// Released is called when both sides are closed: the index is free
	// (Linux: pty_unix98_remove()).
	Released func()
	// StatSlave describes the slave's node for fstat(2) of a slave
	// opened without a path (TIOCGPTPEER), false if it has none.
	StatSlave func(st *unix.Stat_t) bool
}

// Terminal is a pseudo-terminal pair: its settings, queues and the line
// discipline between them. The slave side is what programs use as their
// terminal; the master side is the terminal emulator's end.
type Terminal struct {
	index  uint32
	kernel Kernel
	hooks  Hooks
	post   poster

	// masterQ and slaveQ are the waiters of the two sides.
	masterQ waiter.Queue
	slaveQ  waiter.Queue

	// now is the clock for VTIME (replaced by tests).
	now func() time.Time

	mu sync.Mutex
	// termios are the slave's settings; the master's are always raw.
	termios unix.Termios
	// special marks the bytes the line discipline looks at (Linux's
	// char_map), derived from termios.
	special [256]bool
	winsize unix.Winsize
	// session and pgrp are the session the terminal controls and its
	// foreground process group; 0 when none.
	session int32
	pgrp    int32
	// locked: the slave may not be opened (TIOCSPTLCK).
	locked bool
	// exclusive: only CAP_SYS_ADMIN may open the slave again (TIOCEXCL).
	exclusive  bool
	masterOpen bool
	slaveOpens int
	// slaveClosed: the slave was opened and every slave file is closed
	// (Linux's TTY_OTHER_CLOSED as the master sees it): master reads
	// fail with EIO once its queue is empty.
	slaveClosed bool
	// hungUp: the master closed; the slave reads end of file, writes
	// and ioctls fail with EIO.
	hungUp bool
	// packet and pktStatus are the master's packet mode (TIOCPKT).
	packet    bool
	pktStatus uint8
	// stopped: output is stopped (STOP character or TCOOFF); tcoStopped:
	// by TCOOFF, which only TCOON undoes.
	stopped    bool
	tcoStopped bool

	// The slave's input, written on the master.
	//
	// flip holds what the master wrote that the line discipline has not
	// taken; in is the processed input the slave reads, with inDelim
	// marking the ends of lines (a 0 byte marked is an end of file);
	// in[:canonHead] are the complete lines of canonical mode.
	flip      []byte
	in        []byte
	inDelim   []bool
	canonHead int
	// lnext: the next byte is literal (VLNEXT); erasing: an ECHOPRT
	// erase is open.
	lnext   bool
	erasing bool
	// column is the output column, canonColumn where the line being
	// edited started on the screen (for erasing tabs).
	column      int
	canonColumn int
	// lastInput is when a byte last reached in (VTIME's inter-byte timer).
	lastInput time.Time
	timer     *time.Timer
	timerAt   time.Time

	// The master's input, written on the slave: outFlip holds output
	// the master's read buffer out has no room for; held holds echoes
	// made while output is stopped or full.
	out     []byte
	outFlip []byte
	held    []byte
}

// New returns a pseudo-terminal pair with index index (the slave is
// /dev/pts/index) and its master side, opened with the open(2) flags
// flags. The slave starts locked, as after opening /dev/ptmx: Unlock (or
// TIOCSPTLCK) allows opening it. k may be nil (no signals are sent).
func New(index uint32, flags int, k Kernel, hooks Hooks) (*Terminal, *Master) {
	t := &Terminal{
		index:      index,
		kernel:     k,
		hooks:      hooks,
		now:        time.Now,
		termios:    DefaultTermios(),
		locked:     true,
		masterOpen: true,
	}
	t.setSpecialLocked()
	return t, &Master{t: t, readable: readableFlags(flags)}
}

// Index returns the pair's number: the slave is /dev/pts/Index.
func (t *Terminal) Index() uint32 { return t.index }

// SlaveDevice returns the slave's device number (136:Index).
func (t *Terminal) SlaveDevice() uint64 { return unix.Mkdev(SlaveMajor, t.index) }

// Unlock allows opening the slave (what unlockpt(3) does with TIOCSPTLCK).
func (t *Terminal) Unlock() {
	t.mu.Lock()
	t.locked = false
	t.mu.Unlock()
}

// Session returns the session the terminal controls and its foreground
// process group, 0 for none.
func (t *Terminal) Session() (sid, pgrp int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.session, t.pgrp
}

// WindowSize returns the window size.
func (t *Terminal) WindowSize() unix.Winsize {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.winsize
}

// SetWindowSize changes the window size, as TIOCSWINSZ does (for the
// kernel: a host terminal that was resized): the foreground process
// group gets SIGWINCH if it changed, and it is pending when this returns.
// The caller must not hold the kernel's lock.
func (t *Terminal) SetWindowSize(ws unix.Winsize) {
	t.mu.Lock()
	changed := ws != t.winsize
	t.winsize = ws
	fg := t.pgrp
	t.mu.Unlock()
	if changed && fg != 0 && t.kernel != nil {
		t.signal(fg, unix.SIGWINCH)
		t.post.flush()
	}
}

// events collects what an operation must tell others once Terminal.mu is
// released: the readiness changes of each side and the signals to send.
type events struct {
	master, slave uint32
	signals       []groupSignal
}

type groupSignal struct {
	pgid int32
	sig  unix.Signal
}

// deliver notifies the queues and posts the signals. Terminal.mu must
// not be held.
func (t *Terminal) deliver(ev *events) {
	if ev.master != 0 {
		t.masterQ.Notify(ev.master)
	}
	if ev.slave != 0 {
		t.slaveQ.Notify(ev.slave)
	}
	for _, s := range ev.signals {
		t.signal(s.pgid, s.sig)
	}
}

// signal posts a signal to a process group.
func (t *Terminal) signal(pgid int32, sig unix.Signal) {
	if t.kernel == nil {
		return
	}
	k := t.kernel
	t.post.post(func() { k.SignalProcessGroup(pgid, sig) })
}

// openSlave opens the slave side. Linux: drivers/tty/pty.c, pty_open();
// drivers/tty/tty_io.c, tty_reopen() and tty_open_proc_set_tty().
func (t *Terminal) openSlave(task any, capSysAdmin bool, flags int, noctty bool) (*Slave, error) {
	t.mu.Lock()
	switch {
	case !t.masterOpen, t.locked:
		t.mu.Unlock()
		return nil, unix.EIO
	case t.exclusive && !capSysAdmin:
		t.mu.Unlock()
		return nil, unix.EBUSY
	}
	t.slaveOpens++
	t.slaveClosed = false
	t.mu.Unlock()
	s := &Slave{t: t, readable: readableFlags(flags)}
	if tk, ok := task.(Task); ok && !noctty && flags&unix.O_NOCTTY == 0 && s.readable {
		// A session leader without a controlling terminal that opens a
		// terminal nobody controls acquires it. Only with read access:
		// write access alone must not give a terminal's privileges.
		tk.WithJobControl(func(jc JobControl) error {
			if !jc.SessionLeader() || jc.ControllingTerminal() != nil {
				return nil
			}
			t.mu.Lock()
			free := t.session == 0 && !t.hungUp
			if free {
				t.session, t.pgrp = jc.Session(), jc.ProcessGroup()
			}
			t.mu.Unlock()
			if free {
				jc.SetControllingTerminal(t)
			}
			return nil
		})
	}
	return s, nil
}

// readableFlags reports whether open(2) flags give read access.
func readableFlags(flags int) bool {
	acc := flags & unix.O_ACCMODE
	return acc == unix.O_RDONLY || acc == unix.O_RDWR
}

// releaseSlave closes one slave file. Linux: drivers/tty/pty.c, pty_close().
func (t *Terminal) releaseSlave() {
	t.mu.Lock()
	t.slaveOpens--
	last := t.slaveOpens == 0
	if last && t.masterOpen {
		t.slaveClosed = true
	}
	released := last && !t.masterOpen
	t.mu.Unlock()
	if last {
		t.masterQ.Notify(readable | waiter.EventHUp)
	}
	if released && t.hooks.Released != nil {
		t.hooks.Released()
	}
}

// releaseMaster closes the master: the slave hangs up. Linux:
// drivers/tty/pty.c, pty_close(); drivers/tty/tty_io.c, __tty_hangup().
func (t *Terminal) releaseMaster() {
	t.mu.Lock()
	t.masterOpen = false
	t.hungUp = true
	sid := t.session
	t.session, t.pgrp = 0, 0
	t.flip, t.in, t.inDelim, t.canonHead = nil, nil, nil, 0
	t.out, t.outFlip, t.held = nil, nil, nil
	t.stopTimerLocked()
	released := t.slaveOpens == 0
	t.mu.Unlock()
	t.slaveQ.Notify(readable | writable | waiter.EventErr | waiter.EventHUp)
	if sid != 0 && t.kernel != nil {
		k := t.kernel
		t.post.post(func() { k.HangUp(sid, t) })
	}
	if t.hooks.MasterClosed != nil {
		t.hooks.MasterClosed()
	}
	if released && t.hooks.Released != nil {
		t.hooks.Released()
	}
}

// masterReadiness is Linux's n_tty_poll() for the master.
func (t *Terminal) masterReadiness(mask uint32) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var r uint32
	if len(t.out) > 0 {
		r |= readable
	}
	if t.packet && t.pktStatus != 0 {
		r |= readable | waiter.EventPri
	}
	if t.slaveClosed {
		r |= waiter.EventHUp
	}
	if len(t.flip) < flipSize {
		r |= writable
	}
	return r & (mask | waiter.EventErr | waiter.EventHUp)
}

// slaveReadiness is Linux's n_tty_poll() for the slave; a hung-up slave
// is ready for everything (hung_up_tty_poll()).
func (t *Terminal) slaveReadiness(mask uint32) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hungUp {
		return (readable | writable | waiter.EventErr | waiter.EventHUp) & (mask | waiter.EventErr | waiter.EventHUp)
	}
	var r uint32
	if t.inputAvailableLocked(true) {
		r |= readable
	}
	if !t.stopped && len(t.held) == 0 && len(t.outFlip) < flipSize {
		r |= writable
	}
	return r & (mask | waiter.EventErr | waiter.EventHUp)
}

// inputAvailableLocked reports whether the slave has something to read:
// a complete line in canonical mode, else VMIN bytes for poll when VTIME
// is 0, one byte otherwise. Linux: n_tty.c, input_available_p().
func (t *Terminal) inputAvailableLocked(poll bool) bool {
	if t.canonical() {
		return t.canonHead > 0
	}
	amt := 1
	if min := int(t.termios.Cc[unix.VMIN]); poll && t.termios.Cc[unix.VTIME] == 0 && min > 0 {
		amt = min
	}
	return len(t.in) >= amt
}

func (t *Terminal) canonical() bool { return t.termios.Lflag&unix.ICANON != 0 }

// armTimerLocked makes sure the slave's readers are woken at when (for
// VTIME); a timer already due sooner stays.
func (t *Terminal) armTimerLocked(when time.Time) {
	if t.timer != nil && !t.timerAt.After(when) && t.timerAt.After(t.now()) {
		return
	}
	t.stopTimerLocked()
	t.timerAt = when
	q := &t.slaveQ
	t.timer = time.AfterFunc(when.Sub(t.now()), func() { q.Notify(readable) })
}

func (t *Terminal) stopTimerLocked() {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}
