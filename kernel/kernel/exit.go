package kernel

import (
	"errors"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
)

// Exit ends the calling thread (exit(2)); the process ends with its last
// thread.
func (t *Task) Exit(code int) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.exitSelf = true
	if t == t.tg.leader {
		t.tg.leaderCode = code
	}
	return errExitGroup
}

// ExitGroup ends the whole process (exit_group(2)).
func (t *Task) ExitGroup(code int) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.k.exitGroupLocked(t.tg, ExitStatus{Code: code})
	return errExitGroup
}

// exitThread tears the task down after its loop ended. Linux:
// kernel/exit.c, do_exit().
func (t *Task) exitThread() {
	k := t.k
	if t.ctx != nil {
		if d, err := t.ctx.CPUTime(); err == nil {
			k.mu.Lock()
			t.tg.cpuTime += d
			k.mu.Unlock()
		}
	}
	t.exitMemory()
	if t.ctx != nil {
		t.ctx.Release()
	}
	k.mu.Lock()
	m, fds := t.mm, t.fds
	t.mm, t.fds = nil, nil
	k.mu.Unlock()
	if m != nil {
		k.releaseMM(m)
	}
	if fds != nil {
		fds.DecRef()
	}
	t.exitSysVSem()
	t.exitIPC()

	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.tg
	delete(tg.tasks, t)
	if t.vforkDone != nil {
		close(t.vforkDone)
		t.vforkDone = nil
	}
	if t != tg.leader {
		delete(k.tasks, t.tid)
	}
	if tg.execWaiter != nil && len(tg.tasks) == 1 {
		close(tg.execWaiter)
		tg.execWaiter = nil
	}
	if len(tg.tasks) == 0 {
		k.groupExitedLocked(tg)
	}
	tg.pidfdThreadExitedLocked(t)
}

// exitMemory does what a dying thread owes its address space: the robust
// futex list and CLONE_CHILD_CLEARTID. Linux: kernel/fork.c, mm_release().
func (t *Task) exitMemory() {
	if t.mm == nil {
		return
	}
	t.futexExited.Store(true)
	if t.k.Futexes != nil {
		t.k.Futexes.ExitThread(t, t.robustList)
	}
	t.robustList = 0
	if t.clearChildTID != 0 {
		var zero [4]byte
		if _, err := t.mm.CopyOut(t.clearChildTID, zero[:]); err == nil && t.k.Futexes != nil {
			t.k.Futexes.WakeAddress(t, t.clearChildTID)
		}
		t.clearChildTID = 0
	}
}

// groupExitedLocked runs when the last thread of tg is gone: the process
// becomes a zombie for its parent to reap, its children find a new parent,
// and the parent hears of it. Linux: kernel/exit.c, exit_notify().
func (k *Kernel) groupExitedLocked(tg *ThreadGroup) {
	if !tg.exiting {
		tg.exiting = true
		tg.status = ExitStatus{Code: tg.leaderCode}
		close(tg.exitCh)
	}
	if tg.stopCh != nil {
		close(tg.stopCh)
		tg.stopCh = nil
	}
	k.stopTimersLocked(tg)
	children := k.exitJobControlLocked(tg)
	if tg == k.initTG {
		// The sandbox's init is gone: like a PID namespace, the sandbox
		// ends and every other process is killed.
		for _, other := range k.threadGroups {
			if other != tg {
				k.exitGroupLocked(other, ExitStatus{Signal: unix.SIGKILL})
			}
		}
	}
	k.reparentChildrenLocked(tg)
	k.orphansLocked(tg, children)
	parent := tg.parent
	if parent == nil {
		// Init, a process Exec started, or an orphan of a dead init:
		// the parent is outside the sandbox, and the kernel reaps.
		tg.zombie = true
		if tg == k.initTG {
			k.initStatus = tg.status
		}
		if tg.process != nil {
			tg.process.exitedLocked(tg.status)
			tg.process = nil
		}
		k.reapLocked(tg)
		return
	}
	tg.zombie = true
	sig := unix.SIGCHLD
	if tg.leader != nil && tg.leader.exitSignal != 0 {
		sig = tg.leader.exitSignal
	}
	code := int32(arch.CLD_EXITED)
	status := int32(tg.status.Code)
	if tg.status.Signal != 0 {
		code, status = arch.CLD_KILLED, int32(tg.status.Signal)
	}
	info := sigchldInfo(tg, code, status)
	info.Signo = int32(sig)
	parent.childrenCPU += tg.cpuTime + tg.childrenCPU
	act := parent.handler.actions[unix.SIGCHLD-1]
	autoReap := sig == unix.SIGCHLD && (act.Handler == SIG_IGN || act.Flags&SA_NOCLDWAIT != 0)
	if ValidSignal(int(sig)) {
		k.sendSignalLocked(parent, nil, info, false)
	}
	if autoReap {
		// Linux: kernel/exit.c, do_notify_parent(): nobody will wait.
		k.reapLocked(tg)
	}
	parent.notifyChildEventLocked()
}

// reparentChildrenLocked gives tg's children to the nearest child
// subreaper among its ancestors, or to the sandbox's init.
// Linux: kernel/exit.c, find_new_reaper().
func (k *Kernel) reparentChildrenLocked(tg *ThreadGroup) {
	if len(tg.children) == 0 {
		return
	}
	reaper := k.initTG
	for a := tg.parent; a != nil; a = a.parent {
		if a.subreaper && !a.exiting {
			reaper = a
			break
		}
	}
	for c := range tg.children {
		delete(tg.children, c)
		if c.pdeathSignal != 0 {
			info := &arch.SignalInfo{Signo: c.pdeathSignal, Code: arch.SI_USER}
			k.sendSignalLocked(c, nil, info, false)
		}
		if reaper == nil || reaper == tg || reaper.exiting && reaper == k.initTG {
			c.parent = nil
			if c.zombie {
				k.reapLocked(c)
			}
			continue
		}
		c.parent = reaper
		reaper.children[c] = struct{}{}
		if c.zombie {
			reaper.notifyChildEventLocked()
		}
	}
}

// reapLocked frees a zombie's IDs.
func (k *Kernel) reapLocked(tg *ThreadGroup) {
	if tg.parent != nil {
		delete(tg.parent.children, tg)
	}
	if tg.pgrp != nil {
		delete(tg.pgrp.members, tg)
	}
	delete(k.threadGroups, tg.id)
	if tg.leader != nil {
		delete(k.tasks, tg.leader.tid)
	}
	if tg == k.initTG {
		k.initDone()
	}
	tg.pidfdReapedLocked()
}

// errExitGroup is returned by exit and exit_group to stop the task loop.
var errExitGroup = errors.New("exit")
