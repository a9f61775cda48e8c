package syscalls

import (
	"math/bits"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/ipc/pidfd"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// This file is pidfds: pidfd_open, pidfd_send_signal, pidfd_getfd, and
// their part of clone/clone3 (CLONE_PIDFD) and waitid (P_PIDFD).
// Linux: kernel/pid.c, kernel/signal.c, kernel/fork.c, kernel/exit.c.

// pidfdOpenFlags are pidfd_open's flags: PIDFD_NONBLOCK (O_NONBLOCK) and
// PIDFD_THREAD (O_EXCL).
const pidfdOpenFlags = unix.O_NONBLOCK | pidfd.Thread

// PidfdOpen implements pidfd_open(2). The descriptor is always
// close-on-exec.
func PidfdOpen(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	pid, flags := a.Int(0), a.Uint(1)
	if flags&^pidfdOpenFlags != 0 || pid <= 0 {
		return 0, unix.EINVAL
	}
	target, err := t.Kernel().PidfdTarget(pid, flags&pidfd.Thread != 0)
	if err != nil {
		return 0, err
	}
	f := pidfd.New(target, int(flags))
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, true, t.MaxFDs())
	return uintptr(fd), err
}

// pidfdOf returns the target of the pidfd at fd: EBADF for a descriptor
// that is not a pidfd, ESRCH for one whose process is still being made
// (CLONE_PIDFD, seen by another thread).
func pidfdOf(t *kernel.Task, fd int32) (*kernel.PidfdTarget, error) {
	return pidfdOrProcDirOf(t, fd, false)
}

// pidfdOrProcDirOf is pidfdOf, also accepting with procDir a descriptor
// of a /proc/[pid] directory (pidfd_send_signal only, as Linux's
// pidfd_to_pid()).
func pidfdOrProcDirOf(t *kernel.Task, fd int32, procDir bool) (*kernel.PidfdTarget, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, err
	}
	defer f.DecRef()
	if d := f.Path().Dentry; procDir && d != nil {
		// A /proc/[pid] directory serves as a pidfd here, as on Linux.
		if pd, ok := d.Inode().(interface{ ProcessDirectory() (int32, bool) }); ok {
			pid, ok := pd.ProcessDirectory()
			if !ok {
				return nil, unix.ESRCH
			}
			return t.Kernel().PidfdTarget(pid, false)
		}
	}
	return pidfdTargetOf(f)
}

func pidfdTargetOf(f *vfs.File) (*kernel.PidfdTarget, error) {
	if !pidfd.IsPidfd(f) {
		return nil, unix.EBADF
	}
	target, _, ok := pidfd.Of(f)
	if !ok {
		return nil, unix.ESRCH
	}
	p, ok := target.(*kernel.PidfdTarget)
	if !ok {
		return nil, unix.EBADF
	}
	return p, nil
}

// pidfd_send_signal's flags: which of the target's scopes the signal
// reaches. Linux: include/uapi/linux/pidfd.h.
const (
	pidfdSignalThread       = 1 << 0
	pidfdSignalThreadGroup  = 1 << 1
	pidfdSignalProcessGroup = 1 << 2
)

// PidfdSendSignal implements pidfd_send_signal(2): a signal to the
// pidfd's process (or thread), or with a flag to its thread, its whole
// process or the process group it leads. A siginfo given must name the
// same signal, and only the caller itself may receive one with a
// kernel si_code (as rt_sigqueueinfo). Linux: kernel/signal.c.
func PidfdSendSignal(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	fd, sig, infoAddr, flags := a.Int(0), int(a.Int(1)), a.Pointer(2), a.Uint(3)
	const all = pidfdSignalThread | pidfdSignalThreadGroup | pidfdSignalProcessGroup
	if flags&^all != 0 || bits.OnesCount32(flags) > 1 {
		return 0, unix.EINVAL
	}
	p, err := pidfdOrProcDirOf(t, fd, true)
	if err != nil {
		return 0, err
	}
	scope := kernel.PidfdScopeDefault
	switch flags {
	case pidfdSignalThread:
		scope = kernel.PidfdScopeThread
	case pidfdSignalThreadGroup:
		scope = kernel.PidfdScopeProcess
	case pidfdSignalProcessGroup:
		scope = kernel.PidfdScopeGroup
	}
	var info *arch.SignalInfo
	if infoAddr != 0 {
		info = new(arch.SignalInfo)
		if err := copyInStruct(t, infoAddr, info); err != nil {
			return 0, err
		}
		if info.Signo != int32(sig) {
			return 0, unix.EINVAL
		}
		if (!p.IsSelf(t) || scope == kernel.PidfdScopeGroup) && (info.Code >= 0 || info.Code == arch.SI_TKILL) {
			return 0, unix.EPERM
		}
	} else {
		code := int32(arch.SI_USER)
		if scope == kernel.PidfdScopeThread || scope == kernel.PidfdScopeDefault && p.Thread() {
			code = arch.SI_TKILL
		}
		info = userSignal(t, sig, code)
	}
	// A target that is gone answers ESRCH before the signal is checked.
	if p.Readiness(waiter.EventHUp) != 0 {
		return 0, unix.ESRCH
	}
	if sig != 0 && !kernel.ValidSignal(sig) {
		return 0, unix.EINVAL
	}
	return 0, t.PidfdSignal(p, scope, info)
}

// PidfdGetfd implements pidfd_getfd(2): a duplicate, close-on-exec, of
// another process's descriptor, for a caller that may ptrace it.
func PidfdGetfd(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	pfd, targetFD, flags := a.Int(0), a.Int(1), a.Uint(2)
	if flags != 0 {
		return 0, unix.EINVAL
	}
	p, err := pidfdOf(t, pfd)
	if err != nil {
		return 0, err
	}
	target, err := t.PidfdTask(p)
	if err != nil {
		return 0, err
	}
	if err := mayPtraceAttach(t, target); err != nil {
		return 0, err
	}
	files := target.Files()
	if files == nil {
		return 0, unix.ESRCH
	}
	f, _, err := files.Get(int(targetFD))
	if err != nil {
		return 0, unix.EBADF
	}
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, true, t.MaxFDs())
	return uintptr(fd), err
}

// mayPtraceAttach checks what ptrace(PTRACE_MODE_ATTACH_REALCREDS)
// requires of the caller: the same process, CAP_SYS_PTRACE, or a real
// user and group matching all three of the target's IDs, which must be
// dumpable. Linux: kernel/ptrace.c, __ptrace_may_access().
func mayPtraceAttach(t, target *kernel.Task) error {
	if t.ThreadGroup() == target.ThreadGroup() || t.HasCapability(unix.CAP_SYS_PTRACE) {
		return nil
	}
	c := t.Credentials()
	tc, dumpable := target.Identity()
	if c.UID == tc.UID && c.UID == tc.EUID && c.UID == tc.SUID &&
		c.GID == tc.GID && c.GID == tc.EGID && c.GID == tc.SGID && dumpable {
		return nil
	}
	return unix.EPERM
}

// cloneWithPidfd runs clone or clone3 with CLONE_PIDFD: the pidfd is
// installed (close-on-exec) and its number written to addr before the
// new task exists, as Linux does, so that a full table (EMFILE) or a bad
// address (EFAULT) fails the call with nothing created; it names the new
// process, or the new thread with CLONE_THREAD. clone's pidfd shares its
// slot with CLONE_PARENT_SETTID's TID, so the two exclude each other.
// Linux: kernel/fork.c, kernel_clone() and copy_process().
func cloneWithPidfd(t *kernel.Task, o kernel.CloneOptions, addr uintptr) (uintptr, error) {
	if o.Flags&kernel.CLONE_PARENT_SETTID != 0 && addr == o.ParentTID {
		return 0, unix.EINVAL
	}
	flags := 0
	if o.Flags&kernel.CLONE_THREAD != 0 {
		flags = pidfd.Thread
	}
	f, set := pidfd.NewPending(flags)
	defer f.DecRef()
	fds := t.FDTable()
	fd, err := fds.Install(f, 0, true, t.MaxFDs())
	if err != nil {
		return 0, err
	}
	v := int32(fd)
	if err := copyOutStruct(t, addr, &v); err != nil {
		fds.Remove(fd)
		return 0, err
	}
	o.Pidfd = func(p *kernel.PidfdTarget) { set(p) }
	tid, err := t.Clone(o)
	if err != nil {
		fds.Remove(fd)
		return 0, err
	}
	return uintptr(tid), nil
}

// pidfdWaitTarget is waitid's P_PIDFD: the child the pidfd at fd names,
// and whether the pidfd is non-blocking (PIDFD_NONBLOCK makes a wait
// that finds nothing fail with EAGAIN). Linux: kernel/exit.c,
// kernel_waitid().
func pidfdWaitTarget(t *kernel.Task, fd int32) (kernel.WaitTarget, bool, error) {
	if fd < 0 {
		return kernel.WaitTarget{}, false, unix.EINVAL
	}
	f, err := getFile(t, fd)
	if err != nil {
		return kernel.WaitTarget{}, false, err
	}
	defer f.DecRef()
	p, err := pidfdTargetOf(f)
	if err != nil {
		return kernel.WaitTarget{}, false, err
	}
	return kernel.WaitTarget{Kind: unix.P_PIDFD, Process: p.WaitProcess()}, f.NonBlocking(), nil
}
