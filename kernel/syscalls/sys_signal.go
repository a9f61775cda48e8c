package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/arch"
	"magawa/kernel/kernel"
)

// sigsetSize is the only sigsetsize x86-64 Linux accepts.
const sigsetSize = 8

// RtSigaction implements rt_sigaction(2). Linux: kernel/signal.c,
// do_sigaction().
func RtSigaction(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	sig, actAddr, oldAddr := int(a.Int(0)), a.Pointer(1), a.Pointer(2)
	if a.Size(3) != sigsetSize || !kernel.ValidSignal(sig) {
		return 0, unix.EINVAL
	}
	s := unix.Signal(sig)
	if actAddr != 0 && (s == unix.SIGKILL || s == unix.SIGSTOP) {
		return 0, unix.EINVAL
	}
	old := t.SigAction(s)
	if actAddr != 0 {
		var act kernel.SigAction
		if err := copyInStruct(t, actAddr, &act); err != nil {
			return 0, err
		}
		act.Mask &^= kernel.Bit(unix.SIGKILL) | kernel.Bit(unix.SIGSTOP)
		t.SetSigAction(s, act)
	}
	if oldAddr != 0 {
		if err := copyOutStruct(t, oldAddr, &old); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// RtSigprocmask implements rt_sigprocmask(2).
func RtSigprocmask(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	how, setAddr, oldAddr := int(a.Int(0)), a.Pointer(1), a.Pointer(2)
	if a.Size(3) != sigsetSize {
		return 0, unix.EINVAL
	}
	old := t.SigMask()
	if setAddr != 0 {
		var set kernel.SignalSet
		if err := copyInStruct(t, setAddr, &set); err != nil {
			return 0, err
		}
		switch how {
		case unix.SIG_BLOCK:
			t.SetSigMask(old | set)
		case unix.SIG_UNBLOCK:
			t.SetSigMask(old &^ set)
		case unix.SIG_SETMASK:
			t.SetSigMask(set)
		default:
			return 0, unix.EINVAL
		}
	}
	if oldAddr != 0 {
		if err := copyOutStruct(t, oldAddr, &old); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// RtSigreturn implements rt_sigreturn(2): the registers come back from the
// signal frame, rax included.
func RtSigreturn(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if err := t.SigReturn(); err != nil {
		return 0, err
	}
	return uintptr(t.Regs.Rax), nil
}

// Sigaltstack implements sigaltstack(2). Linux: kernel/signal.c,
// do_sigaltstack().
func Sigaltstack(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	newAddr, oldAddr := a.Pointer(0), a.Pointer(1)
	cur, onStack := t.AltStack()
	if newAddr != 0 {
		var ns arch.SignalStack
		if err := copyInStruct(t, newAddr, &ns); err != nil {
			return 0, err
		}
		if onStack {
			return 0, unix.EPERM
		}
		mode := ns.Flags &^ arch.SS_AUTODISARM
		switch mode {
		case arch.SS_DISABLE:
			ns = arch.SignalStack{Flags: arch.SS_DISABLE}
		case 0, arch.SS_ONSTACK:
			if ns.Size < minSigStackSize {
				return 0, unix.ENOMEM
			}
			ns.Flags &= arch.SS_AUTODISARM
		default:
			return 0, unix.EINVAL
		}
		defer t.SetAltStack(ns)
	}
	if oldAddr != 0 {
		old := cur
		if onStack {
			old.Flags |= arch.SS_ONSTACK
		} else if old.Size == 0 {
			old.Flags = arch.SS_DISABLE
		}
		if err := copyOutStruct(t, oldAddr, &old); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// minSigStackSize is MINSIGSTKSZ on x86-64.
const minSigStackSize = 2048

// RtSigsuspend implements rt_sigsuspend(2).
func RtSigsuspend(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if a.Size(1) != sigsetSize {
		return 0, unix.EINVAL
	}
	var mask kernel.SignalSet
	if err := copyInStruct(t, a.Pointer(0), &mask); err != nil {
		return 0, err
	}
	return 0, t.Sigsuspend(mask)
}

// Pause implements pause(2).
func Pause(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	for {
		if err := t.Block(nil, time.Time{}); err == kernel.ErrInterrupted {
			return 0, kernel.ERESTARTNOHAND
		}
	}
}

// RtSigpending implements rt_sigpending(2): pending signals that are
// blocked.
func RtSigpending(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if a.Size(1) > sigsetSize {
		return 0, unix.EINVAL
	}
	set := t.PendingSignals() & t.SigMask()
	b := abi.Bytes(&set)[:a.Size(1)]
	if n, err := t.CopyOut(a.Pointer(0), b); err != nil || n != len(b) {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// RtSigtimedwait implements rt_sigtimedwait(2). Linux: kernel/signal.c,
// do_sigtimedwait(): the waited signals are unblocked while waiting, so
// that their arrival wakes the task, and dequeued here, not delivered.
func RtSigtimedwait(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	setAddr, infoAddr, tsAddr := a.Pointer(0), a.Pointer(1), a.Pointer(2)
	if a.Size(3) != sigsetSize {
		return 0, unix.EINVAL
	}
	var set kernel.SignalSet
	if err := copyInStruct(t, setAddr, &set); err != nil {
		return 0, err
	}
	set &^= kernel.Bit(unix.SIGKILL) | kernel.Bit(unix.SIGSTOP)
	var deadline time.Time
	if tsAddr != 0 {
		ts, err := copyInTimespec(t, tsAddr)
		if err != nil {
			return 0, err
		}
		deadline = time.Now().Add(toDuration(ts))
	}
	info, err := t.SigTimedWait(set, deadline)
	if err != nil {
		if err == kernel.ErrTimedOut {
			return 0, unix.EAGAIN
		}
		if err == kernel.ErrInterrupted {
			return 0, unix.EINTR
		}
		return 0, err
	}
	if infoAddr != 0 {
		if err := copyOutStruct(t, infoAddr, info); err != nil {
			return 0, err
		}
	}
	return uintptr(info.Signo), nil
}

// RtSigqueueinfo implements rt_sigqueueinfo(2).
func RtSigqueueinfo(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	info, err := queuedInfo(t, int(a.Int(1)), a.Pointer(2), a.Int(0) == t.TGID())
	if err != nil {
		return 0, err
	}
	return 0, t.Kill(a.Int(0), info)
}

// RtTgsigqueueinfo implements rt_tgsigqueueinfo(2).
func RtTgsigqueueinfo(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if a.Int(0) <= 0 || a.Int(1) <= 0 {
		return 0, unix.EINVAL
	}
	info, err := queuedInfo(t, int(a.Int(2)), a.Pointer(3), a.Int(0) == t.TGID())
	if err != nil {
		return 0, err
	}
	return 0, t.Tgkill(a.Int(0), a.Int(1), info)
}

// queuedInfo reads a caller-supplied siginfo. Only negative si_codes
// (user-generated) may be forged, except for signals to oneself.
// Linux: kernel/signal.c, do_rt_sigqueueinfo().
func queuedInfo(t *kernel.Task, sig int, addr uintptr, toSelf bool) (*arch.SignalInfo, error) {
	if !kernel.ValidSignal(sig) {
		return nil, unix.EINVAL
	}
	info := new(arch.SignalInfo)
	if err := copyInStruct(t, addr, info); err != nil {
		return nil, err
	}
	if (info.Code >= 0 || info.Code == arch.SI_TKILL) && !toSelf {
		return nil, unix.EPERM
	}
	info.Signo = int32(sig)
	return info, nil
}

// RestartSyscall implements restart_syscall(2): it resumes the call an
// interrupted sleep left behind.
func RestartSyscall(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return t.RunRestart()
}
