package syscalls

import (
	"golang.org/x/sys/unix"

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
