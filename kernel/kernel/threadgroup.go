package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/tty"
)

// ThreadGroup is a process: what the threads of one process share.
// All fields are guarded by Kernel.mu.
type ThreadGroup struct {
	id int32 // TGID, the process ID in the sandbox
	// container is the container the process belongs to (its
	// parent's, or the ProcessSpec's): "" is the sandbox's first.
	container string
	leader    *Task
	tasks     map[*Task]struct{}
	handler   *SignalHandlers
	pending   pendingSignals
	rlimits   [numRlimits]Rlimit

	parent   *ThreadGroup
	children map[*ThreadGroup]struct{}
	pgrp     *ProcessGroup
	// ctty is the process's controlling terminal (nil: none): a child
	// inherits it, setsid drops it, and the terminal's hang-up or its
	// session leader's exit takes it from the whole session (tty.go).
	ctty *tty.Terminal

	// exiting: a group exit is in progress (exit_group, a fatal signal,
	// exec killing the other threads); status is how it ends.
	exiting bool
	status  ExitStatus
	// leaderCode is the exit(2) code of the leader, the status when the
	// group ends without exit_group.
	leaderCode int
	// zombie: every thread has exited and the parent has not reaped it.
	zombie bool
	// stopping: a group stop is in progress; stopped: it completed and
	// the parent may report it (WUNTRACED); continued: SIGCONT woke it
	// and WCONTINUED may report it.
	stopping, stopped    bool
	stopSignal           int32
	reportStop           bool
	continued            bool
	stopCh               chan struct{} // closed on SIGCONT
	subreaper            bool
	noNewPrivs           bool
	pdeathSignal         int32
	dumpable             bool
	execWaiter           chan struct{} // exec waiting for the other threads to exit
	childEvents          chan struct{} // closed and replaced when a child changes state
	cpuTime, childrenCPU time.Duration
	startTime            time.Time
	// execing is the task that is running exec and killed the others.
	execing *Task
	// didExec: the process has called execve (setpgid on it fails).
	didExec bool
	// exitCh is closed when the group starts exiting.
	exitCh chan struct{}

	// timers are the interval and POSIX timers (timers.go), made on
	// first use: a new process starts without any.
	timers *groupTimers
	// nice is the process's nice value (setpriority), personality its
	// execution domain and flags, and taskSched the scheduling
	// attributes of the threads that changed theirs (sched.go).
	nice        int32
	personality uint32
	taskSched   map[*Task]*taskSched

	// pidfd is the exit state pidfds poll (pidfd.go): atomics and a
	// queue of its own, readable without Kernel.mu.
	pidfd pidfdHub
	// process is what Exec returned for a process it started: it hears
	// of the exit.
	process *Process
}

// ProcessGroup is a job: processes signalled together.
type ProcessGroup struct {
	id      int32
	session *Session
	members map[*ThreadGroup]struct{}
}

// Session is a login session: process groups sharing a terminal.
type Session struct {
	id     int32
	leader *ThreadGroup
}

func (k *Kernel) newThreadGroupLocked(leader *Task, parent *ThreadGroup, handlers *SignalHandlers) *ThreadGroup {
	tg := &ThreadGroup{
		id:          leader.tid,
		leader:      leader,
		tasks:       map[*Task]struct{}{leader: {}},
		handler:     handlers,
		parent:      parent,
		children:    map[*ThreadGroup]struct{}{},
		childEvents: make(chan struct{}),
		exitCh:      make(chan struct{}),
		dumpable:    true,
		startTime:   time.Now(),
	}
	if parent != nil {
		parent.children[tg] = struct{}{}
		tg.rlimits = parent.rlimits
		tg.joinGroupLocked(parent.pgrp)
		tg.noNewPrivs = parent.noNewPrivs
		tg.ctty = parent.ctty
		tg.container = parent.container
	} else {
		tg.rlimits = defaultRlimits()
		s := &Session{id: tg.id, leader: tg}
		tg.joinGroupLocked(&ProcessGroup{id: tg.id, session: s, members: map[*ThreadGroup]struct{}{}})
	}
	k.threadGroups[tg.id] = tg
	return tg
}

func (tg *ThreadGroup) joinGroupLocked(pg *ProcessGroup) {
	if tg.pgrp != nil {
		delete(tg.pgrp.members, tg)
	}
	tg.pgrp = pg
	pg.members[tg] = struct{}{}
}

// notifyChildEventLocked wakes the parent's waiters.
func (tg *ThreadGroup) notifyChildEventLocked() {
	close(tg.childEvents)
	tg.childEvents = make(chan struct{})
}

// ID is the process ID.
func (tg *ThreadGroup) ID() int32 { return tg.id }

// liveTasksLocked returns the group's threads.
func (tg *ThreadGroup) liveTasksLocked() []*Task {
	out := make([]*Task, 0, len(tg.tasks))
	for t := range tg.tasks {
		out = append(out, t)
	}
	return out
}

// sigchldInfo is the SIGCHLD siginfo for a child state change.
func sigchldInfo(child *ThreadGroup, code int32, status int32) *arch.SignalInfo {
	info := &arch.SignalInfo{Signo: 17 /* SIGCHLD */, Code: code}
	info.SetPID(child.id)
	info.SetUID(0)
	info.SetStatus(status)
	return info
}

// SetPgid implements setpgid(2). Linux: kernel/sys.c.
func (t *Task) SetPgid(pid, pgid int32) error {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	self := t.tg
	if pid == 0 {
		pid = self.id
	}
	if pgid == 0 {
		pgid = pid
	}
	if pgid < 0 {
		return unix.EINVAL
	}
	target := k.threadGroups[pid]
	if target == nil || (target != self && target.parent != self) {
		return unix.ESRCH
	}
	if target != self {
		if target.pgrp.session != self.pgrp.session {
			return unix.EPERM
		}
		if target.didExec {
			return unix.EACCES
		}
	}
	if target.pgrp.session.leader == target {
		return unix.EPERM
	}
	if target.pgrp.id == pgid {
		return nil
	}
	if pgid == target.id {
		target.joinGroupLocked(&ProcessGroup{id: pgid, session: target.pgrp.session, members: map[*ThreadGroup]struct{}{}})
		return nil
	}
	for other := range k.threadGroups {
		og := k.threadGroups[other]
		if og.pgrp != nil && og.pgrp.id == pgid {
			if og.pgrp.session != target.pgrp.session {
				return unix.EPERM
			}
			target.joinGroupLocked(og.pgrp)
			return nil
		}
	}
	return unix.EPERM
}

// Getpgid implements getpgid(2) (pid 0: the caller).
func (t *Task) Getpgid(pid int32) (int32, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.tg
	if pid != 0 {
		if tg = k.threadGroups[pid]; tg == nil {
			return 0, unix.ESRCH
		}
	}
	return tg.pgrp.id, nil
}

// Getsid implements getsid(2).
func (t *Task) Getsid(pid int32) (int32, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.tg
	if pid != 0 {
		if tg = k.threadGroups[pid]; tg == nil {
			return 0, unix.ESRCH
		}
	}
	return tg.pgrp.session.id, nil
}

// Setsid implements setsid(2): a new session and process group led by the
// caller, which must not lead a process group already.
func (t *Task) Setsid() (int32, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.tg
	for _, og := range k.threadGroups {
		if og.pgrp != nil && og.pgrp.id == tg.id {
			return 0, unix.EPERM
		}
	}
	s := &Session{id: tg.id, leader: tg}
	tg.joinGroupLocked(&ProcessGroup{id: tg.id, session: s, members: map[*ThreadGroup]struct{}{}})
	// A new session starts without a terminal. Linux: proc_clear_tty().
	tg.ctty = nil
	return tg.id, nil
}

// SetChildSubreaper implements PR_SET_CHILD_SUBREAPER.
func (t *Task) SetChildSubreaper(on bool) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.subreaper = on
}

// ChildSubreaper implements PR_GET_CHILD_SUBREAPER.
func (t *Task) ChildSubreaper() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.subreaper
}

// SetPdeathSignal implements PR_SET_PDEATHSIG.
func (t *Task) SetPdeathSignal(sig int32) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.pdeathSignal = sig
}

// PdeathSignal implements PR_GET_PDEATHSIG.
func (t *Task) PdeathSignal() int32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.pdeathSignal
}

// SetNoNewPrivs implements PR_SET_NO_NEW_PRIVS (it cannot be unset).
func (t *Task) SetNoNewPrivs() {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.noNewPrivs = true
}

// NoNewPrivs implements PR_GET_NO_NEW_PRIVS.
func (t *Task) NoNewPrivs() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.noNewPrivs
}

// SetDumpable and Dumpable implement PR_SET_DUMPABLE/PR_GET_DUMPABLE.
func (t *Task) SetDumpable(on bool) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.dumpable = on
}

func (t *Task) Dumpable() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.dumpable
}

// CPUTimes returns the CPU time of the caller's process (exited threads
// and the running ones) and of its reaped children.
func (t *Task) CPUTimes() (self, children time.Duration) {
	t.k.mu.Lock()
	self, children = t.tg.cpuTime, t.tg.childrenCPU
	tasks := t.tg.liveTasksLocked()
	t.k.mu.Unlock()
	for _, o := range tasks {
		if o.ctx != nil && o == t {
			if d, err := o.ctx.CPUTime(); err == nil {
				self += d
			}
		}
	}
	return self, children
}
