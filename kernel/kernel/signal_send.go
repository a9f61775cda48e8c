package kernel

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/waiter"
)

// ignoredLocked reports whether sig sent to tg (to thread target, if
// set) would be discarded at once: ignored, by SIG_IGN or a default
// action of ignoring, or by the protection of the sandbox's init, and
// blocked by no thread that could take it (a blocked signal stays
// pending; the handler may change). fromInside is sendSignalLocked's.
// Linux: kernel/signal.c, sig_ignored() and sig_task_ignored().
func (k *Kernel) ignoredLocked(tg *ThreadGroup, sig unix.Signal, target *Task, fromInside bool) bool {
	blocks := func(t *Task) bool { return (t.sigMask|t.realBlocked)&Bit(sig) != 0 }
	if target != nil {
		if blocks(target) {
			return false
		}
	} else {
		for t := range tg.tasks {
			if blocks(t) {
				return false
			}
		}
	}
	act := tg.handler.actions[sig-1]
	if k.initProtectedLocked(tg) && act.Handler == SIG_DFL &&
		(fromInside || (sig != unix.SIGKILL && sig != unix.SIGSTOP)) {
		// The init of a PID namespace only receives the signals it has
		// a handler for, and SIGKILL and SIGSTOP from the kernel or an
		// ancestor namespace (SIGNAL_UNKILLABLE, with force).
		return true
	}
	if sig == unix.SIGKILL || sig == unix.SIGSTOP {
		return false
	}
	return act.Handler == SIG_IGN || (act.Handler == SIG_DFL && defaultActionOf(sig) == actIgnore)
}

// sendSignalLocked queues info for tg (for thread target, if set).
// fromInside says a process of the sandbox sent it (kill, sigqueue, ...),
// rather than the kernel itself or the runtime outside the sandbox
// (Kernel.Signal): Linux's "force" is its negation.
// Linux: kernel/signal.c, send_signal_locked(), prepare_signal() and
// complete_signal().
func (k *Kernel) sendSignalLocked(tg *ThreadGroup, target *Task, info *arch.SignalInfo, fromInside bool) error {
	sig := unix.Signal(info.Signo)
	if tg.zombie {
		return nil
	}
	if tg.exiting {
		// Only the exit itself matters now.
		return nil
	}
	// Stop signals and SIGCONT act when sent, even on a process that
	// then ignores them (a protected init too).
	switch {
	case Bit(sig)&stopSignals != 0:
		tg.pending.discard(Bit(unix.SIGCONT))
		for t := range tg.tasks {
			t.pending.discard(Bit(unix.SIGCONT))
		}
	case sig == unix.SIGCONT:
		tg.pending.discard(stopSignals)
		for t := range tg.tasks {
			t.pending.discard(stopSignals)
		}
		k.continueGroupLocked(tg)
	}
	if k.ignoredLocked(tg, sig, target, fromInside) {
		return nil
	}
	if sig >= firstRTSignal {
		limit := tg.rlimits[unix.RLIMIT_SIGPENDING].Cur
		if uint64(tg.pending.count()) >= limit && info.Code != arch.SI_KERNEL && info.Code != arch.SI_USER {
			return unix.EAGAIN
		}
	}
	if target != nil {
		target.pending.add(info)
		target.signalQueue.Notify(waiter.EventIn)
	} else {
		tg.pending.add(info)
		for o := range tg.tasks {
			o.signalQueue.Notify(waiter.EventIn)
		}
	}
	k.completeSignalLocked(tg, target, sig)
	return nil
}

// completeSignalLocked picks the thread that will take a new signal and
// wakes it; a fatal signal kills the whole group at once.
func (k *Kernel) completeSignalLocked(tg *ThreadGroup, target *Task, sig unix.Signal) {
	wants := target
	if wants == nil {
		// The main thread if it can take it, else any thread that
		// does not block it.
		if tg.leader != nil && tg.leader.sigMask&Bit(sig) == 0 && !tg.leader.exitSelf {
			wants = tg.leader
		} else {
			for t := range tg.tasks {
				if t.sigMask&Bit(sig) == 0 && !t.exitSelf {
					wants = t
					break
				}
			}
		}
	}
	if wants == nil {
		return // blocked everywhere: it stays pending
	}
	act := tg.handler.actions[sig-1]
	// A signal the thread is waiting for in rt_sigtimedwait is not
	// fatal: it will be dequeued there. Linux: kernel/signal.c,
	// complete_signal(), which looks at real_blocked.
	fatal := sig == unix.SIGKILL ||
		(act.Handler == SIG_DFL && (defaultActionOf(sig) == actTerminate || defaultActionOf(sig) == actCore) &&
			(wants.sigMask|wants.realBlocked)&Bit(sig) == 0)
	if fatal {
		// Kill the group now rather than waiting for a thread to
		// dequeue it.
		tg.pending.discard(^SignalSet(0))
		k.exitGroupLocked(tg, ExitStatus{Signal: sig, Core: isCoreSignal(sig)})
		return
	}
	wants.interruptLocked()
}

// initProtectedLocked reports whether tg is the sandbox's init and has
// the protection of a PID namespace's (Config.ProtectInit).
func (k *Kernel) initProtectedLocked(tg *ThreadGroup) bool {
	return k.ProtectInit && tg == k.initTG
}

func isCoreSignal(sig unix.Signal) bool { return defaultActionOf(sig) == actCore }

// continueGroupLocked ends a group stop (SIGCONT).
func (k *Kernel) continueGroupLocked(tg *ThreadGroup) {
	wasStopped := tg.stopped || tg.stopping
	tg.stopping, tg.stopped, tg.reportStop = false, false, false
	if tg.stopCh != nil {
		close(tg.stopCh)
		tg.stopCh = nil
	}
	if wasStopped {
		tg.continued = true
		if p := tg.parent; p != nil {
			if p.handler.actions[unix.SIGCHLD-1].Flags&SA_NOCLDSTOP == 0 {
				k.sendSignalLocked(p, nil, sigchldInfo(tg, arch.CLD_CONTINUED, int32(unix.SIGCONT)), false)
			}
			p.notifyChildEventLocked()
		}
	}
}

// forceSignalLocked delivers a synchronous fault to t. A fault signal that
// is blocked or ignored kills the process. Linux: kernel/signal.c,
// force_sig_info_to_task().
func (t *Task) forceSignalLocked(info *arch.SignalInfo) {
	sig := unix.Signal(info.Signo)
	act := &t.tg.handler.actions[sig-1]
	if act.Handler == SIG_IGN || t.sigMask&Bit(sig) != 0 {
		act.Handler = SIG_DFL
		t.sigMask &^= Bit(sig)
	}
	t.pending.add(info)
	if act.Handler == SIG_DFL {
		t.k.exitGroupLocked(t.tg, ExitStatus{Signal: sig, Core: isCoreSignal(sig)})
	}
}

// exitGroupLocked starts the exit of every thread of tg.
func (k *Kernel) exitGroupLocked(tg *ThreadGroup, status ExitStatus) {
	if tg.exiting {
		return
	}
	tg.exiting = true
	tg.status = status
	close(tg.exitCh)
	if tg.stopCh != nil {
		close(tg.stopCh)
		tg.stopCh = nil
	}
	tg.stopping, tg.stopped = false, false
	for t := range tg.tasks {
		t.interruptLocked()
	}
}

// exitGroupLocked ends the task's whole process.
func (t *Task) exitGroupLocked(status ExitStatus) { t.k.exitGroupLocked(t.tg, status) }

// groupExitCh is closed when the task's group starts exiting.
func (t *Task) groupExitCh() <-chan struct{} {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.exitCh
}

// SignalSelf sends sig to the calling thread, as the kernel does for
// SIGPIPE. Linux: kernel/signal.c, send_sig().
func (t *Task) SignalSelf(sig unix.Signal) {
	info := &arch.SignalInfo{Signo: int32(sig), Code: arch.SI_USER}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	info.SetPID(t.tg.id)
	t.k.sendSignalLocked(t.tg, t, info, false)
}
