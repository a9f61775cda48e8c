package kernel

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/waiter"
)

// Restart codes: a system call interrupted by a signal returns one of
// these (never seen by the application), and signal delivery decides
// whether it is restarted or fails with EINTR.
// Linux: include/linux/errno.h and arch/x86/kernel/signal.c.
const (
	ERESTARTSYS           = unix.Errno(512)
	ERESTARTNOINTR        = unix.Errno(513)
	ERESTARTNOHAND        = unix.Errno(514)
	ERESTART_RESTARTBLOCK = unix.Errno(516)
)

// sysRestartSyscall is restart_syscall's number on x86-64.
const sysRestartSyscall = 219

// deliverableLocked is the set of signals the task could take now.
func (t *Task) deliverableLocked() SignalSet {
	return (t.pending.set | t.tg.pending.set) &^ (t.sigMask &^ unblockable)
}

// handleSignals runs on the task's goroutine between application runs:
// it takes part in group stops and delivers pending signals, setting up
// handler frames, and finishes the restart of an interrupted system call.
// Linux: kernel/signal.c, get_signal(), and arch/x86/kernel/signal.c,
// arch_do_signal_or_restart().
//
// It returns true when the task must exit instead of running on. It takes
// the kernel lock once when nothing is pending: it runs before every
// return to the application.
func (t *Task) handleSignals() (exit bool) {
	k := t.k
	handled := false
	for {
		k.mu.Lock()
		if t.killedLocked() {
			k.mu.Unlock()
			return true
		}
		if k.parkLocked(t) {
			continue
		}
		if t.tg.stopping || t.tg.stopped {
			ch := k.participateInStopLocked(t)
			k.mu.Unlock()
			if ch != nil {
				<-ch
			}
			continue
		}
		sig := lowest(t.deliverableLocked())
		if sig == 0 {
			if t.haveSaved {
				// rt_sigsuspend is being restarted: no handler ran.
				t.sigMask = t.savedMask
				t.haveSaved = false
			}
			// Still under the lock under which the sandbox was seen
			// not frozen (freeze.go).
			k.enterApplicationLocked()
			k.mu.Unlock()
			break
		}
		info := t.pending.take(sig)
		if info == nil {
			info = t.tg.pending.take(sig)
		}
		act := t.tg.handler.actions[sig-1]
		switch {
		case act.Handler == SIG_IGN:
			k.mu.Unlock()
			continue
		case act.Handler == SIG_DFL:
			if k.initProtectedLocked(t.tg) && sig != unix.SIGKILL && sig != unix.SIGSTOP {
				// Queued while it had a handler, or blocked: a
				// protected init still never takes a default action
				// but for these two, which only the kernel or the
				// outside could send it. Linux: kernel/signal.c,
				// get_signal(), SIGNAL_UNKILLABLE.
				k.mu.Unlock()
				continue
			}
			switch defaultActionOf(sig) {
			case actIgnore, actContinue:
				k.mu.Unlock()
				continue
			case actStop:
				k.startGroupStopLocked(t.tg, sig)
				k.mu.Unlock()
				continue
			}
			// Terminate, with a core for the core-dumping signals.
			k.exitGroupLocked(t.tg, ExitStatus{Signal: sig, Core: isCoreSignal(sig)})
			k.mu.Unlock()
			return true
		}
		// A handler: restore the mask rt_sigsuspend replaced, once the
		// frame records it.
		oldMask := t.sigMask
		if t.haveSaved {
			oldMask = t.savedMask
			t.haveSaved = false
		}
		newMask := t.sigMask | act.Mask
		if act.Flags&SA_NODEFER == 0 {
			newMask |= Bit(sig)
		}
		if act.Flags&SA_RESETHAND != 0 {
			// Only the handler resets; the flags stay. Linux:
			// kernel/signal.c, signal_delivered().
			t.tg.handler.actions[sig-1].Handler = SIG_DFL
		}
		k.mu.Unlock()
		if !handled {
			t.restartForHandler(act)
			handled = true
		}
		if err := t.setupFrame(sig, info, act, oldMask); err != nil {
			k.Debugf("task %d: cannot deliver %v (%v): SIGSEGV", t.tid, sig, err)
			// Linux: kernel/signal.c, force_sigsegv().
			k.mu.Lock()
			t.tg.handler.actions[unix.SIGSEGV-1] = SigAction{}
			k.exitGroupLocked(t.tg, ExitStatus{Signal: unix.SIGSEGV, Core: true})
			k.mu.Unlock()
			return true
		}
		k.mu.Lock()
		t.sigMask = newMask &^ unblockable
		k.mu.Unlock()
	}
	if !handled {
		t.restartWithoutHandler()
	}
	return false
}

// restartForHandler adjusts an interrupted system call's result for a
// handler about to run.
func (t *Task) restartForHandler(act SigAction) {
	switch t.restart {
	case ERESTART_RESTARTBLOCK, ERESTARTNOHAND:
		t.Regs.Rax = errnoReturn(unix.EINTR)
	case ERESTARTSYS:
		if act.Flags&SA_RESTART != 0 {
			t.rewindSyscall(t.Regs.Orig_rax)
		} else {
			t.Regs.Rax = errnoReturn(unix.EINTR)
		}
	case ERESTARTNOINTR:
		t.rewindSyscall(t.Regs.Orig_rax)
	}
	t.restart = 0
}

// restartWithoutHandler restarts an interrupted system call when no
// handler runs.
func (t *Task) restartWithoutHandler() {
	switch t.restart {
	case ERESTARTSYS, ERESTARTNOHAND, ERESTARTNOINTR:
		t.rewindSyscall(t.Regs.Orig_rax)
	case ERESTART_RESTARTBLOCK:
		t.rewindSyscall(sysRestartSyscall)
	}
	t.restart = 0
}

// rewindSyscall makes the application execute its syscall instruction
// again, as system call nr.
func (t *Task) rewindSyscall(nr uint64) {
	t.Regs.Rax = nr
	t.Regs.Rip -= 2 // the syscall instruction is two bytes long
}

// setupFrame builds the handler's frame on the application's stack and
// starts the handler with a clean FP state, as Linux does.
func (t *Task) setupFrame(sig unix.Signal, info *arch.SignalInfo, act SigAction, mask SignalSet) error {
	fp, err := t.ctx.FPState()
	if err != nil {
		return err
	}
	d := &arch.Delivery{
		Info:     info,
		Handler:  act.Handler,
		Flags:    act.Flags,
		Restorer: act.Restorer,
		Mask:     uint64(mask),
		Stack:    t.altStack,
	}
	if err := arch.SetupFrame(t.mm, &t.Regs, fp, d); err != nil {
		return err
	}
	if err := arch.ResetFPState(fp); err == nil {
		if err := t.ctx.SetFPState(fp); err != nil {
			t.k.Debugf("task %d: resetting FP state for a handler: %v", t.tid, err)
		}
	}
	if t.altStack.Flags&arch.SS_AUTODISARM != 0 {
		t.altStack = arch.SignalStack{Flags: arch.SS_DISABLE}
	}
	return nil
}

// SigReturn implements rt_sigreturn: the registers, FP state, mask and
// alternate stack of the frame the handler returns through. A bad frame
// kills the process with SIGSEGV, as Linux does.
func (t *Task) SigReturn() error {
	fp, err := t.ctx.FPState()
	if err != nil {
		return err
	}
	mask, alt, err := arch.RestoreFrame(t.mm, &t.Regs, fp)
	if err != nil {
		t.k.mu.Lock()
		var se *arch.SigreturnError
		if errors.As(err, &se) && se.MaskRead {
			t.sigMask = SignalSet(mask) &^ unblockable
		}
		t.forceSignalLocked(&arch.SignalInfo{Signo: int32(unix.SIGSEGV), Code: arch.SI_KERNEL})
		t.k.mu.Unlock()
		t.ctx.SetFPState(fp)
		return err
	}
	if err := t.ctx.SetFPState(fp); err != nil {
		t.k.mu.Lock()
		t.forceSignalLocked(&arch.SignalInfo{Signo: int32(unix.SIGSEGV), Code: arch.SI_KERNEL})
		t.k.mu.Unlock()
		return err
	}
	t.k.mu.Lock()
	t.sigMask = SignalSet(mask) &^ unblockable
	t.k.mu.Unlock()
	// uc_stack restores the alternate stack unless it is in use; errors
	// are ignored, as Linux's restore_altstack() does.
	if !t.altStack.OnStack(t.Regs.Rsp) {
		if alt.Flags&arch.SS_DISABLE != 0 {
			t.altStack = arch.SignalStack{Flags: arch.SS_DISABLE}
		} else if alt.Size >= arch.MINSIGSTKSZ {
			t.altStack = alt
		}
	}
	return nil
}

// startGroupStopLocked begins a job-control stop of tg.
func (k *Kernel) startGroupStopLocked(tg *ThreadGroup, sig unix.Signal) {
	if tg.stopping || tg.stopped || tg.exiting {
		return
	}
	tg.stopping = true
	tg.stopSignal = int32(sig)
	tg.stopCh = make(chan struct{})
	tg.continued = false
	for t := range tg.tasks {
		t.interruptLocked()
	}
}

// participateInStopLocked parks t in its group's stop; the last thread to
// stop completes it and tells the parent. It returns the channel closed
// when the group continues.
func (k *Kernel) participateInStopLocked(t *Task) chan struct{} {
	tg := t.tg
	if tg.stopping {
		tg.stopping = false
		tg.stopped = true
		tg.reportStop = true
		if p := tg.parent; p != nil {
			if p.handler.actions[unix.SIGCHLD-1].Flags&SA_NOCLDSTOP == 0 {
				k.sendSignalLocked(p, nil, sigchldInfo(tg, arch.CLD_STOPPED, tg.stopSignal), false)
			}
			p.notifyChildEventLocked()
		}
	}
	return tg.stopCh
}

// SignalMask returns the task's blocked set.
func (t *Task) SigMask() SignalSet {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.sigMask
}

// SetSigMask replaces the blocked set; SIGKILL and SIGSTOP stay unblocked.
// A newly unblocked pending signal is delivered on the way back to the
// application.
func (t *Task) SetSigMask(m SignalSet) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.sigMask = m &^ unblockable
}

// SigAction returns the action for sig.
func (t *Task) SigAction(sig unix.Signal) SigAction {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.handler.actions[sig-1]
}

// SetSigAction replaces the action for sig. Setting SIG_IGN (or SIG_DFL
// for a signal ignored by default) discards it from the pending sets.
// Linux: kernel/signal.c, do_sigaction().
func (t *Task) SetSigAction(sig unix.Signal, act SigAction) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.handler.actions[sig-1] = act
	if act.Handler == SIG_IGN || (act.Handler == SIG_DFL && defaultActionOf(sig) == actIgnore) {
		t.tg.pending.discard(Bit(sig))
		for o := range t.tg.tasks {
			o.pending.discard(Bit(sig))
		}
	}
}

// AltStack returns the alternate signal stack and whether the task runs
// on it now.
func (t *Task) AltStack() (arch.SignalStack, bool) {
	return t.altStack, t.altStack.OnStack(t.Regs.Rsp)
}

// SetAltStack replaces the alternate signal stack.
func (t *Task) SetAltStack(s arch.SignalStack) { t.altStack = s }

// PendingSignals returns the signals pending for the task and its group.
func (t *Task) PendingSignals() SignalSet {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.pending.set | t.tg.pending.set
}

// Sigsuspend replaces the mask until a handler runs: it blocks until a
// signal is deliverable, and the mask is restored after the handler's
// frame recorded it.
func (t *Task) Sigsuspend(mask SignalSet) error {
	t.k.mu.Lock()
	t.savedMask = t.sigMask
	t.haveSaved = true
	t.sigMask = mask &^ unblockable
	t.k.mu.Unlock()
	for {
		if err := t.Block(nil, time.Time{}); err == ErrInterrupted {
			return ERESTARTNOHAND
		}
	}
}

// DequeueSignal takes a pending signal in set, for rt_sigtimedwait and
// signalfd, or returns nil.
func (t *Task) DequeueSignal(set SignalSet) *arch.SignalInfo {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	sig := lowest((t.pending.set | t.tg.pending.set) & set)
	if sig == 0 {
		return nil
	}
	if info := t.pending.take(sig); info != nil {
		return info
	}
	return t.tg.pending.take(sig)
}

// errnoReturn is the rax value of a failed system call.
func errnoReturn(e unix.Errno) uint64 { return uint64(-int64(e)) }

// SigTimedWait waits for a signal in set and dequeues it.
func (t *Task) SigTimedWait(set SignalSet, deadline time.Time) (*arch.SignalInfo, error) {
	if info := t.DequeueSignal(set); info != nil {
		return info, nil
	}
	t.k.mu.Lock()
	real := t.sigMask
	t.realBlocked = real
	t.sigMask &^= set
	t.k.mu.Unlock()
	err := t.Block(nil, deadline)
	t.k.mu.Lock()
	t.sigMask = real
	t.realBlocked = 0
	t.k.mu.Unlock()
	if info := t.DequeueSignal(set); info != nil {
		return info, nil
	}
	if err == nil {
		err = ErrInterrupted
	}
	return nil, err
}

// SetRestart records what restart_syscall runs after an interrupted call
// returned ERESTART_RESTARTBLOCK.
func (t *Task) SetRestart(fn func(t *Task) (uintptr, error)) { t.restartFn = fn }

// RunRestart runs the recorded restart function.
func (t *Task) RunRestart() (uintptr, error) {
	fn := t.restartFn
	t.restartFn = nil
	if fn == nil {
		return 0, unix.EINTR
	}
	return fn(t)
}

// PendingIn reports whether a signal in set is pending for the task or
// its group (signalfd's readiness).
func (t *Task) PendingIn(set SignalSet) bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return (t.pending.set|t.tg.pending.set)&set != 0
}

// SignalQueue is notified when a signal is queued for the task.
func (t *Task) SignalQueue() *waiter.Queue { return &t.signalQueue }
