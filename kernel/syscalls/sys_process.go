package syscalls

import (
	"bytes"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/arch"
	"magawa/kernel/kernel"
	"magawa/kernel/platform"
)

// Exit implements exit(2): the calling thread ends.
func Exit(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Exit(int(a.Int(0) & 0xff))
}

// ExitGroup implements exit_group(2).
func ExitGroup(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.ExitGroup(int(a.Int(0) & 0xff))
}

// Getpid implements getpid(2).
func Getpid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.TGID()), nil
}

// Gettid implements gettid(2).
func Gettid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.TID()), nil
}

// Getppid implements getppid(2).
func Getppid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.PPID()), nil
}

// Getpgrp implements getpgrp(2).
func Getpgrp(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, err := t.Getpgid(0)
	return uintptr(id), err
}

// Getpgid implements getpgid(2).
func Getpgid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, err := t.Getpgid(a.Int(0))
	return uintptr(id), err
}

// Setpgid implements setpgid(2).
func Setpgid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetPgid(a.Int(0), a.Int(1))
}

// Getsid implements getsid(2).
func Getsid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, err := t.Getsid(a.Int(0))
	return uintptr(id), err
}

// Setsid implements setsid(2).
func Setsid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, err := t.Setsid()
	return uintptr(id), err
}

// Getuid implements getuid(2).
func Getuid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Credentials().UID), nil
}

// Geteuid implements geteuid(2).
func Geteuid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Credentials().EUID), nil
}

// Getgid implements getgid(2).
func Getgid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Credentials().GID), nil
}

// Getegid implements getegid(2).
func Getegid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Credentials().EGID), nil
}

// Getresuid implements getresuid(2).
func Getresuid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	c := t.Credentials()
	return 0, copyOutIDs(t, [3]uintptr{a.Pointer(0), a.Pointer(1), a.Pointer(2)}, [3]uint32{c.UID, c.EUID, c.SUID})
}

// Getresgid implements getresgid(2).
func Getresgid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	c := t.Credentials()
	return 0, copyOutIDs(t, [3]uintptr{a.Pointer(0), a.Pointer(1), a.Pointer(2)}, [3]uint32{c.GID, c.EGID, c.SGID})
}

func copyOutIDs(t *kernel.Task, addrs [3]uintptr, ids [3]uint32) error {
	for i := range addrs {
		if err := copyOutStruct(t, addrs[i], &ids[i]); err != nil {
			return err
		}
	}
	return nil
}

// Getgroups implements getgroups(2).
func Getgroups(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	groups := t.Credentials().Groups
	size := a.Int(0)
	if size < 0 {
		return 0, unix.EINVAL
	}
	if size == 0 {
		return uintptr(len(groups)), nil
	}
	if int(size) < len(groups) {
		return 0, unix.EINVAL
	}
	for i := range groups {
		if err := copyOutStruct(t, a.Pointer(1)+uintptr(4*i), &groups[i]); err != nil {
			return 0, err
		}
	}
	return uintptr(len(groups)), nil
}

// SetTidAddress implements set_tid_address(2).
func SetTidAddress(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	t.SetClearChildTID(a.Pointer(0))
	return uintptr(t.TID()), nil
}

// robustListHeadSize is sizeof(struct robust_list_head).
const robustListHeadSize = 24

// SetRobustList implements set_robust_list(2).
func SetRobustList(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if a.Size(1) != robustListHeadSize {
		return 0, unix.EINVAL
	}
	t.SetRobustList(a.Pointer(0))
	return 0, nil
}

// GetRobustList implements get_robust_list(2) for the calling thread.
func GetRobustList(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if pid := a.Int(0); pid != 0 && pid != t.TID() {
		return 0, unix.ESRCH
	}
	head := uint64(t.RobustList())
	size := uint64(robustListHeadSize)
	if err := copyOutStruct(t, a.Pointer(1), &head); err != nil {
		return 0, err
	}
	return 0, copyOutStruct(t, a.Pointer(2), &size)
}

// arch_prctl codes. Linux: arch/x86/include/uapi/asm/prctl.h.
const (
	archSetGS    = 0x1001
	archSetFS    = 0x1002
	archGetFS    = 0x1003
	archGetGS    = 0x1004
	archGetCPUID = 0x1011
	archSetCPUID = 0x1012
)

// ArchPrctl implements arch_prctl(2). Linux: arch/x86/kernel/process_64.c.
func ArchPrctl(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	code, arg := a.Int(0), a.Pointer(1)
	switch code {
	case archSetFS, archSetGS:
		if arg >= platform.MaxUserAddress {
			return 0, unix.EPERM
		}
		if code == archSetFS {
			t.Regs.Fs_base = uint64(arg)
		} else {
			t.Regs.Gs_base = uint64(arg)
		}
		return 0, nil
	case archGetFS:
		v := t.Regs.Fs_base
		return 0, copyOutStruct(t, arg, &v)
	case archGetGS:
		v := t.Regs.Gs_base
		return 0, copyOutStruct(t, arg, &v)
	case archGetCPUID:
		// CPUID is not faulting: it runs natively.
		return 1, nil
	case archSetCPUID:
		return 0, unix.ENODEV
	}
	return 0, unix.EINVAL
}

// Uname implements uname(2) with the sandbox's identity: the host's
// nodename and kernel build are not the container's business.
func Uname(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	var u abi.Utsname
	copy(u.Sysname[:], "Linux")
	copy(u.Nodename[:], t.Kernel().UTSHostname())
	copy(u.Release[:], KernelRelease)
	copy(u.Version[:], KernelVersion)
	copy(u.Machine[:], "x86_64")
	copy(u.Domainname[:], t.Kernel().UTSDomainname())
	return 0, copyOutStruct(t, a.Pointer(0), &u)
}

// Sethostname implements sethostname(2): the sandbox's UTS nodename.
func Sethostname(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	name, err := copyInUTSName(t, a.Pointer(0), a.Int(1))
	if err != nil {
		return 0, err
	}
	return 0, t.Kernel().SetUTSHostname(name)
}

// Setdomainname implements setdomainname(2): the sandbox's NIS domain
// name.
func Setdomainname(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	name, err := copyInUTSName(t, a.Pointer(0), a.Int(1))
	if err != nil {
		return 0, err
	}
	return 0, t.Kernel().SetUTSDomainname(name)
}

// copyInUTSName reads the length-counted name of sethostname and
// setdomainname, after their checks in Linux's order (kernel/sys.c):
// CAP_SYS_ADMIN (EPERM), the length (EINVAL), the memory (EFAULT). The
// name ends at its first NUL, where uname(2) stops reading it.
func copyInUTSName(t *kernel.Task, addr uintptr, n int32) (string, error) {
	if !t.HasCapability(unix.CAP_SYS_ADMIN) {
		return "", unix.EPERM
	}
	if n < 0 || n > 64 { // __NEW_UTS_LEN
		return "", unix.EINVAL
	}
	b := make([]byte, n)
	if n > 0 {
		if k, err := t.CopyIn(addr, b); err != nil || k != len(b) {
			return "", unix.EFAULT
		}
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b), nil
}

// The kernel identity the sandbox reports: the Linux ABI it implements.
const (
	KernelRelease = "6.1.0"
	KernelVersion = "#1 SMP PREEMPT_DYNAMIC magawa"
)

// Prlimit64 implements prlimit64(2) for the calling process.
func Prlimit64(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if pid := a.Int(0); pid != 0 && pid != t.TGID() {
		return 0, unix.ESRCH
	}
	return 0, prlimit(t, int(a.Int(1)), a.Pointer(2), a.Pointer(3))
}

// Getrlimit implements getrlimit(2).
func Getrlimit(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, prlimit(t, int(a.Int(0)), 0, a.Pointer(1))
}

// Setrlimit implements setrlimit(2).
func Setrlimit(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, prlimit(t, int(a.Int(0)), a.Pointer(1), 0)
}

func prlimit(t *kernel.Task, resource int, newAddr, oldAddr uintptr) error {
	old, err := t.Rlimit(resource)
	if err != nil {
		return err
	}
	if newAddr != 0 {
		var r abi.Rlimit64
		if err := copyInStruct(t, newAddr, &r); err != nil {
			return err
		}
		if err := t.SetRlimit(resource, kernel.Rlimit{Cur: r.Cur, Max: r.Max}); err != nil {
			return err
		}
	}
	if oldAddr != 0 {
		r := abi.Rlimit64{Cur: old.Cur, Max: old.Max}
		return copyOutStruct(t, oldAddr, &r)
	}
	return nil
}

// SchedYield implements sched_yield(2).
func SchedYield(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, nil
}

// userSignal is the siginfo of a signal sent by kill or tkill.
func userSignal(t *kernel.Task, sig int, code int32) *arch.SignalInfo {
	info := &arch.SignalInfo{Signo: int32(sig), Code: code}
	info.SetPID(t.TGID())
	info.SetUID(t.Credentials().UID)
	return info
}

// Kill implements kill(2).
func Kill(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	pid, sig := a.Int(0), int(a.Int(1))
	if sig != 0 && !kernel.ValidSignal(sig) {
		return 0, unix.EINVAL
	}
	if pid == -1<<31 {
		return 0, unix.ESRCH // -INT_MIN has no process group
	}
	return 0, t.Kill(pid, userSignal(t, sig, arch.SI_USER))
}

// Tgkill implements tgkill(2).
func Tgkill(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	tgid, tid, sig := a.Int(0), a.Int(1), int(a.Int(2))
	if tgid <= 0 || tid <= 0 || (sig != 0 && !kernel.ValidSignal(sig)) {
		return 0, unix.EINVAL
	}
	return 0, t.Tgkill(tgid, tid, userSignal(t, sig, arch.SI_TKILL))
}

// Tkill implements tkill(2).
func Tkill(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	tid, sig := a.Int(0), int(a.Int(1))
	if tid <= 0 || (sig != 0 && !kernel.ValidSignal(sig)) {
		return 0, unix.EINVAL
	}
	return 0, t.Tgkill(0, tid, userSignal(t, sig, arch.SI_TKILL))
}
