package tty

import (
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Kernel is what terminals need from the kernel when no system call of a
// task is at hand: for the signal characters typed on the master, for
// SIGWINCH, and for hang-ups. Its methods are called from the terminal's
// own goroutine, with no lock held, one at a time and in the order the
// events happened, possibly after the sandbox ended (they must then do
// nothing).
type Kernel interface {
	// SignalProcessGroup sends sig from the kernel (SI_KERNEL) to every
	// process of process group pgid; a group that is gone is ignored.
	// Linux: kill_pgrp(pgrp, sig, 1).
	SignalProcessGroup(pgid int32, sig unix.Signal)
	// HangUp reports that t hung up (its master closed) while it was the
	// controlling terminal of session sid: every process of the session
	// whose controlling terminal is t loses it, and the session's leader
	// gets SIGHUP, then SIGCONT. Linux: drivers/tty/tty_jobctrl.c,
	// tty_signal_session_leader().
	HangUp(sid int32, t *Terminal)
}

// Task is the caller of a terminal operation, as the terminal sees it;
// *kernel.Task implements it. Terminals find it in vfs.Context.Task (on
// open) and in the vfs.IO argument of Ioctl; a caller that does not
// implement it (the kernel's own work, tests) is not subject to job
// control and has no controlling terminal.
type Task interface {
	// WithJobControl calls fn with the caller's job-control state and
	// returns what fn returns. fn runs under the kernel's lock, so what
	// it reads and changes (sessions, process groups, controlling
	// terminals) is consistent; it does not block and takes only
	// terminal locks.
	WithJobControl(fn func(JobControl) error) error
}

// JobControl is the calling process's view of processes, sessions and
// signals, valid only during Task.WithJobControl's fn (the kernel's lock
// is held). IDs are in the sandbox's PID namespace.
type JobControl interface {
	// ProcessGroup and Session return the caller's process group and
	// session IDs; SessionLeader whether the caller leads its session.
	ProcessGroup() int32
	Session() int32
	SessionLeader() bool
	// ControllingTerminal returns the calling process's controlling
	// terminal, nil if it has none (Linux: current->signal->tty).
	ControllingTerminal() *Terminal
	// SetControllingTerminal makes t (nil: none) the calling process's
	// controlling terminal. A forked child inherits it; setsid(2) drops
	// it.
	SetControllingTerminal(t *Terminal)
	// ClearControllingTerminal makes every process of session sid whose
	// controlling terminal is t (any terminal if t is nil) lose it.
	// Linux: session_clear_tty().
	ClearControllingTerminal(sid int32, t *Terminal)
	// ProcessGroupSession returns the session of process group pgid
	// (or, when no group has that ID, of the process pgid, as Linux's
	// session_of_pgrp()); ok false if neither exists.
	ProcessGroupSession(pgid int32) (sid int32, ok bool)
	// SignalIgnored reports whether the calling thread blocks sig or its
	// process ignores it (SIG_IGN). Linux: tty_jobctrl.c, is_ignored().
	SignalIgnored(sig unix.Signal) bool
	// ProcessGroupOrphaned reports whether the caller's process group is
	// orphaned: no member has a parent in another group of the same
	// session. Linux: kernel/exit.c, is_current_pgrp_orphaned().
	ProcessGroupOrphaned() bool
	// SignalProcessGroup sends sig from the kernel to every process of
	// group pgid (Linux: kill_pgrp(pgrp, sig, 1)).
	SignalProcessGroup(pgid int32, sig unix.Signal)
	// Capable reports whether the caller has the capability (vfs.Cap*).
	Capable(cap int) bool
}

// FileInstaller is implemented by the calling task for TIOCGPTPEER: it
// puts f at the lowest free descriptor (taking its own reference) and
// returns the descriptor.
type FileInstaller interface {
	InstallFile(f *vfs.File, cloexec bool) (int32, error)
}

// JobControlled is implemented by the files of a terminal's slave side
// (including /dev/tty). The system-call layer calls BeginRead before each
// read(2), readv(2) or preadv2(2) of such a file and BeginWrite before
// each write, and fails the call with the error they return. BeginRead
// applies job control (a process of a background group gets SIGTTIN and
// ERESTARTSYS, or EIO when it ignores SIGTTIN or its group is orphaned)
// and starts the read's VTIME clock; nonblocking is the description's
// O_NONBLOCK, under which a non-canonical read returns what is there
// without waiting for VMIN bytes. BeginWrite applies job control with
// SIGTTOU when TOSTOP is set. Linux: drivers/tty/n_tty.c, n_tty_read()
// and n_tty_write(), job_control().
type JobControlled interface {
	BeginRead(task any, nonblocking bool) error
	BeginWrite(task any) error
}

// errRestartSys is the kernel's ERESTARTSYS (kernel/kernel defines it;
// this package cannot import kernel/kernel, which imports it): the call
// is restarted after the signal is handled, or fails with EINTR.
const errRestartSys = unix.Errno(512)

// checkChange is Linux's __tty_check_change(): a process whose
// controlling terminal is t, in a background process group, may not
// use t: its group gets sig and the call is restarted after it (EIO when
// sig is ignored or blocked (for SIGTTIN; SIGTTOU is then allowed) or
// the group is orphaned). Linux: drivers/tty/tty_jobctrl.c.
func (t *Terminal) checkChange(task any, sig unix.Signal) error {
	tk, ok := task.(Task)
	if !ok {
		return nil
	}
	t.mu.Lock()
	fg := t.pgrp
	t.mu.Unlock()
	if fg == 0 {
		// Nobody's controlling terminal (or no foreground group): no
		// job control, and no need for the kernel's lock.
		return nil
	}
	return tk.WithJobControl(func(jc JobControl) error {
		if jc.ControllingTerminal() != t {
			return nil
		}
		t.mu.Lock()
		fg := t.pgrp
		t.mu.Unlock()
		pg := jc.ProcessGroup()
		if fg == 0 || pg == fg {
			return nil
		}
		if jc.SignalIgnored(sig) {
			if sig == unix.SIGTTIN {
				return unix.EIO
			}
			return nil
		}
		if jc.ProcessGroupOrphaned() {
			return unix.EIO
		}
		jc.SignalProcessGroup(pg, sig)
		return errRestartSys
	})
}

// MakeControlling makes t the controlling terminal of the caller, which
// must lead a session that has none; t must not be another session's
// controlling terminal, unless steal is set and the caller has
// CAP_SYS_ADMIN, which takes it away from that session. The caller's
// process group becomes the foreground group. This is TIOCSCTTY; the
// kernel may also call it, under its lock, to give the sandbox's first
// process its console. Linux: drivers/tty/tty_jobctrl.c, tiocsctty().
func (t *Terminal) MakeControlling(jc JobControl, steal bool) error {
	return t.makeControlling(jc, steal, true)
}

// makeControlling is TIOCSCTTY on a file opened for reading (readable)
// or not: without read access only CAP_SYS_ADMIN may, since write access
// alone must not give a terminal's privileges.
func (t *Terminal) makeControlling(jc JobControl, steal, readable bool) error {
	t.mu.Lock()
	sess := t.session
	hungUp := t.hungUp
	t.mu.Unlock()
	if hungUp {
		return unix.EIO
	}
	if jc.SessionLeader() && sess != 0 && jc.Session() == sess {
		return nil // already ours
	}
	if !jc.SessionLeader() || jc.ControllingTerminal() != nil {
		return unix.EPERM
	}
	capable := jc.Capable(vfs.CapSysAdmin)
	if sess != 0 {
		if !steal || !capable {
			return unix.EPERM
		}
		jc.ClearControllingTerminal(sess, nil)
	}
	if !readable && !capable {
		return unix.EPERM
	}
	t.mu.Lock()
	t.session, t.pgrp = jc.Session(), jc.ProcessGroup()
	t.mu.Unlock()
	jc.SetControllingTerminal(t)
	return nil
}

// Disassociate is what the kernel calls, under its lock, when the last
// thread of a session leader's process exits (onExit), and what
// TIOCNOTTY does for a session leader: the terminal's foreground group
// gets SIGHUP (and SIGCONT, unless onExit), the terminal leaves the
// session, and every process of the session loses its controlling
// terminal. Nothing happens for a process that does not lead its
// session. Linux: drivers/tty/tty_jobctrl.c, disassociate_ctty() (for
// pseudo-terminals, the only kind here).
func Disassociate(jc JobControl, onExit bool) {
	if !jc.SessionLeader() {
		return
	}
	if t := jc.ControllingTerminal(); t != nil {
		t.mu.Lock()
		fg := t.pgrp
		t.session, t.pgrp = 0, 0
		t.mu.Unlock()
		if fg != 0 {
			jc.SignalProcessGroup(fg, unix.SIGHUP)
			if !onExit {
				jc.SignalProcessGroup(fg, unix.SIGCONT)
			}
		}
	}
	jc.ClearControllingTerminal(jc.Session(), nil)
}

// poster runs the terminal's calls into the kernel on a goroutine of its
// own, in order (see the package doc). The goroutine exists only while
// there is work.
type poster struct {
	mu      sync.Mutex
	queue   []func()
	running bool
}

func (p *poster) post(fns ...func()) {
	if len(fns) == 0 {
		return
	}
	p.mu.Lock()
	p.queue = append(p.queue, fns...)
	start := !p.running
	p.running = true
	p.mu.Unlock()
	if start {
		go p.run()
	}
}

func (p *poster) run() {
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.running = false
			p.queue = nil
			p.mu.Unlock()
			return
		}
		fn := p.queue[0]
		p.queue = p.queue[1:]
		p.mu.Unlock()
		fn()
	}
}

// flush waits until everything posted so far has run. The caller must
// hold no lock the posted calls take.
func (p *poster) flush() {
	done := make(chan struct{})
	p.post(func() { close(done) })
	<-done
}
