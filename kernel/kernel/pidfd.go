package kernel

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/waiter"
)

// This file is the kernel's side of pidfds (package ipc/pidfd holds the
// files): what a pidfd refers to, its readiness, and signals sent through
// it. A pidfd names a process or, with PIDFD_THREAD, one thread, by
// object rather than by ID, so a reused ID never redirects it.
//
// Readiness is kept in atomics beside Kernel.mu, not read under it: the
// exit path notifies the pollers with Kernel.mu held, and an epoll
// instance asks for readiness with its own lock held, so taking
// Kernel.mu there would invert the order.

// Exit states of a process for its pidfds.
const (
	pidfdRunning = iota
	pidfdExited  // a zombie: every thread has exited
	pidfdReaped  // gone from the sandbox
)

// pidfdHub is what a thread group keeps for its pidfds.
type pidfdHub struct {
	queue waiter.Queue
	state atomic.Int32
	// threads are the exit flags of the threads that have thread
	// pidfds, until they exit. Guarded by Kernel.mu.
	threads map[*Task]*atomic.Bool
}

// raise moves the state forward (never back: a reap may run before the
// exit's own notification).
func (h *pidfdHub) raise(s int32) {
	for {
		cur := h.state.Load()
		if cur >= s || h.state.CompareAndSwap(cur, s) {
			return
		}
	}
}

// threadExitedLocked records that t left tg (exitThread), and the group's
// exit if it was the last: pollers wake. Callers hold Kernel.mu.
func (tg *ThreadGroup) pidfdThreadExitedLocked(t *Task) {
	h := &tg.pidfd
	if e, ok := h.threads[t]; ok {
		e.Store(true)
		delete(h.threads, t)
	}
	if tg.zombie {
		h.raise(pidfdExited)
	}
	h.queue.Notify(waiter.EventIn | waiter.EventRdNorm)
}

// pidfdReapedLocked records that tg is gone. Callers hold Kernel.mu.
func (tg *ThreadGroup) pidfdReapedLocked() {
	tg.pidfd.raise(pidfdReaped)
	tg.pidfd.queue.Notify(waiter.EventIn | waiter.EventRdNorm | waiter.EventHUp)
}

// PidfdTarget is what a pidfd refers to: a process, or one of its
// threads (PIDFD_THREAD).
type PidfdTarget struct {
	tg *ThreadGroup
	// task and exited are set for a thread pidfd; leader says whether
	// task led its process when the pidfd was made (a leader stays
	// until the process is reaped, other threads go when they exit).
	task   *Task
	exited *atomic.Bool
	leader bool
}

// Readiness reports whether the target exited: readable once the
// process is a zombie (a thread: once it exited), hung up too once it
// is gone. Linux: kernel/pid.c, pidfd_poll().
func (p *PidfdTarget) Readiness(mask uint32) uint32 {
	var r uint32
	switch state := p.tg.pidfd.state.Load(); {
	case state == pidfdReaped:
		r = waiter.EventIn | waiter.EventRdNorm | waiter.EventHUp
	case p.task != nil:
		if p.exited.Load() {
			r = waiter.EventIn | waiter.EventRdNorm
			if !p.leader {
				r |= waiter.EventHUp
			}
		}
	case state == pidfdExited:
		r = waiter.EventIn | waiter.EventRdNorm
	}
	return r & mask
}

// EventRegister and EventUnregister add and remove pollers of the
// target's exit.
func (p *PidfdTarget) EventRegister(e *waiter.Entry)   { p.tg.pidfd.queue.Register(e) }
func (p *PidfdTarget) EventUnregister(e *waiter.Entry) { p.tg.pidfd.queue.Unregister(e) }

// Process returns the process the target is or belongs to.
func (p *PidfdTarget) Process() *ThreadGroup { return p.tg }

// Thread reports whether the target is one thread (PIDFD_THREAD).
func (p *PidfdTarget) Thread() bool { return p.task != nil }

// PID returns the target's ID in the sandbox, or -1 once it is gone (what
// /proc/[pid]/fdinfo shows).
func (p *PidfdTarget) PID() int32 {
	k := p.tg.kernel()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.threadGroups[p.tg.id] != p.tg {
		return -1
	}
	if p.task != nil {
		if k.tasks[p.task.tid] != p.task {
			return -1
		}
		return p.task.tid
	}
	return p.tg.id
}

// newPidfdTargetLocked returns a target for the process tg, or for its
// thread t when t is set. Callers hold Kernel.mu.
func newPidfdTargetLocked(tg *ThreadGroup, t *Task) *PidfdTarget {
	p := &PidfdTarget{tg: tg}
	if t == nil {
		return p
	}
	p.task, p.leader = t, t == tg.leader
	h := &tg.pidfd
	e, ok := h.threads[t]
	if !ok {
		e = new(atomic.Bool)
		if _, live := tg.tasks[t]; live {
			if h.threads == nil {
				h.threads = map[*Task]*atomic.Bool{}
			}
			h.threads[t] = e
		} else {
			e.Store(true) // a leader that exited before its threads
		}
	}
	p.exited = e
	return p
}

// PidfdTarget returns what pidfd_open(pid) refers to: the process pid
// (it may be a zombie), or with thread the thread pid. A thread that is
// not a process's leader needs thread (ENOENT without); an ID nobody
// has is ESRCH. Linux: kernel/pid.c, pidfd_open() and pidfd_prepare().
func (k *Kernel) PidfdTarget(pid int32, thread bool) (*PidfdTarget, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.tasks[pid]
	if t == nil {
		return nil, unix.ESRCH
	}
	if thread {
		return newPidfdTargetLocked(t.tg, t), nil
	}
	if t.tg.id != pid || t.tg.leader != t {
		return nil, unix.ENOENT
	}
	return newPidfdTargetLocked(t.tg, nil), nil
}

// Scopes of PidfdSignal: what a signal sent through a pidfd reaches.
const (
	PidfdScopeDefault = iota // the thread of a thread pidfd, else the process
	PidfdScopeThread         // PIDFD_SIGNAL_THREAD
	PidfdScopeProcess        // PIDFD_SIGNAL_THREAD_GROUP
	PidfdScopeGroup          // PIDFD_SIGNAL_PROCESS_GROUP: the group the process leads
)

// IsSelf reports whether the target is the calling thread itself, to
// which any siginfo may be sent (for a process pidfd: the caller is its
// leader). Linux: kernel/signal.c, pidfd_send_signal(), task_pid(current).
func (p *PidfdTarget) IsSelf(t *Task) bool {
	if p.task != nil {
		return p.task == t
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	return p.tg.leader == t
}

// PidfdSignal sends info through a pidfd to its target in scope: ESRCH
// once the target is gone, EPERM if the caller may not signal it; a
// signal 0 only checks. A process that is a zombie takes (and drops) it.
// Linux: kernel/signal.c, pidfd_send_signal().
func (t *Task) PidfdSignal(p *PidfdTarget, scope int, info *arch.SignalInfo) error {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := p.tg
	if k.threadGroups[tg.id] != tg {
		return unix.ESRCH
	}
	if scope == PidfdScopeDefault {
		scope = PidfdScopeProcess
		if p.task != nil {
			scope = PidfdScopeThread
		}
	}
	if scope == PidfdScopeGroup {
		send := func(o *ThreadGroup) error {
			if !t.mayKillLocked(o) {
				return unix.EPERM
			}
			if info.Signo == 0 {
				return nil
			}
			i := *info
			return k.sendSignalLocked(o, nil, &i, true)
		}
		return k.sendEachLocked(send, func(o *ThreadGroup) bool { return o.pgrp != nil && o.pgrp.id == tg.id })
	}
	var target *Task
	if scope == PidfdScopeThread {
		target = p.task
		if target == nil {
			target = tg.leader
		}
		if k.tasks[target.tid] != target {
			return unix.ESRCH // a thread that exited and was released
		}
	}
	if !t.mayKillLocked(tg) {
		return unix.EPERM
	}
	if info.Signo == 0 {
		return nil
	}
	if target != nil {
		if _, live := tg.tasks[target]; !live {
			return nil // a leader waiting for its threads: dropped
		}
	}
	return k.sendSignalLocked(tg, target, info, true)
}

// PidfdTask returns the thread whose descriptor table pidfd_getfd takes
// a file from: the target thread, or the process's leader. ESRCH once
// the target is gone or its thread has exited and holds no table any
// more. Linux: kernel/pid.c, pidfd_getfd() and __pidfd_fget().
func (t *Task) PidfdTask(p *PidfdTarget) (*Task, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := p.tg
	if k.threadGroups[tg.id] != tg {
		return nil, unix.ESRCH
	}
	target := p.task
	if target == nil {
		target = tg.leader
	}
	if k.tasks[target.tid] != target {
		return nil, unix.ESRCH
	}
	if target.fds == nil {
		return nil, unix.ESRCH // exited: Linux turns its EBADF into ESRCH
	}
	return target, nil
}

// threadOf returns the thread a CLONE_PIDFD pidfd names: the new thread
// for CLONE_THREAD (a thread pidfd), none for a new process.
func threadOf(child *Task, flags uint64) *Task {
	if flags&CLONE_THREAD != 0 {
		return child
	}
	return nil
}

// WaitProcess returns the child a waitid(P_PIDFD) on the pidfd waits
// for: the process, or for a thread pidfd the process it leads (nil for
// another thread, which is nobody's child).
func (p *PidfdTarget) WaitProcess() *ThreadGroup {
	if p.task == nil {
		return p.tg
	}
	k := p.tg.kernel()
	k.mu.Lock()
	defer k.mu.Unlock()
	if p.tg.leader == p.task {
		return p.tg
	}
	return nil
}
