package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
)

// Clone implements clone(2). On x86-64 the arguments are flags, stack,
// parent_tid, child_tid, tls. Linux: kernel/fork.c.
func Clone(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	flags := uint64(a.Uint(0))
	o := kernel.CloneOptions{
		Flags:      flags &^ 0xff,
		Stack:      a.Pointer(1),
		ParentTID:  a.Pointer(2),
		ChildTID:   a.Pointer(3),
		TLS:        a.Pointer(4),
		ExitSignal: unix.Signal(flags & 0xff),
	}
	if o.ExitSignal != 0 && !kernel.ValidSignal(int(o.ExitSignal)) {
		return 0, unix.EINVAL
	}
	if flags&kernel.CLONE_PIDFD != 0 {
		return cloneWithPidfd(t, o, o.ParentTID) // clone's pidfd goes where parent_tid points
	}
	tid, err := t.Clone(o)
	return uintptr(tid), err
}

// Fork implements fork(2).
func Fork(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	tid, err := t.Clone(kernel.CloneOptions{ExitSignal: unix.SIGCHLD})
	return uintptr(tid), err
}

// Vfork implements vfork(2).
func Vfork(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	tid, err := t.Clone(kernel.CloneOptions{Flags: kernel.CLONE_VM | kernel.CLONE_VFORK, ExitSignal: unix.SIGCHLD})
	return uintptr(tid), err
}

// cloneArgs is struct clone_args (clone3).
type cloneArgs struct {
	Flags      uint64
	PidFD      uint64
	ChildTID   uint64
	ParentTID  uint64
	ExitSignal uint64
	Stack      uint64
	StackSize  uint64
	TLS        uint64
	SetTID     uint64
	SetTIDSize uint64
	Cgroup     uint64
}

// Sizes of struct clone_args versions. Linux: include/uapi/linux/sched.h.
const (
	cloneArgsSizeVer0 = 64
	cloneArgsSizeMax  = 88
)

// Clone3 implements clone3(2).
func Clone3(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	size := a.Size(1)
	if size < cloneArgsSizeVer0 || size > 4096 {
		return 0, unix.EINVAL
	}
	var ca cloneArgs
	buf := make([]byte, size)
	if n, err := t.CopyIn(a.Pointer(0), buf); err != nil || n != len(buf) {
		return 0, unix.EFAULT
	}
	// Bytes beyond the structure this kernel knows must be zero.
	for _, b := range buf[min(size, cloneArgsSizeMax):] {
		if b != 0 {
			return 0, unix.E2BIG
		}
	}
	copy(abiBytes(&ca), buf)
	if ca.ExitSignal&^0xff != 0 || (ca.ExitSignal != 0 && !kernel.ValidSignal(int(ca.ExitSignal))) {
		return 0, unix.EINVAL
	}
	if ca.SetTID != 0 || ca.SetTIDSize != 0 {
		// Choosing PIDs needs CAP_SYS_ADMIN in the PID namespace's
		// owner, which the sandbox does not grant.
		return 0, unix.EPERM
	}
	if (ca.Stack == 0) != (ca.StackSize == 0) {
		return 0, unix.EINVAL
	}
	o := kernel.CloneOptions{
		Flags:      ca.Flags,
		ParentTID:  uintptr(ca.ParentTID),
		ChildTID:   uintptr(ca.ChildTID),
		TLS:        uintptr(ca.TLS),
		ExitSignal: unix.Signal(ca.ExitSignal),
	}
	if ca.Stack != 0 {
		o.Stack = uintptr(ca.Stack + ca.StackSize) // the stack grows down
	}
	if ca.Flags&kernel.CLONE_PIDFD != 0 {
		return cloneWithPidfd(t, o, uintptr(ca.PidFD))
	}
	tid, err := t.Clone(o)
	return uintptr(tid), err
}
