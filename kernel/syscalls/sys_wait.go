package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/kernel"
)

// rusage is struct rusage.
type rusage struct {
	Utime, Stime   [2]int64
	Maxrss, Ixrss  int64
	Idrss, Isrss   int64
	Minflt, Majflt int64
	Nswap, Inblock int64
	Oublock        int64
	Msgsnd, Msgrcv int64
	Nsignals       int64
	Nvcsw, Nivcsw  int64
}

func durationTimeval(d int64) [2]int64 { return [2]int64{d / 1e9, d % 1e9 / 1e3} }

// Wait4 implements wait4(2). Linux: kernel/exit.c, kernel_wait4().
func Wait4(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	pid, statusAddr, options, rusageAddr := a.Int(0), a.Pointer(1), int(a.Uint(2)), a.Pointer(3)
	if options&^(kernel.WNOHANG|kernel.WSTOPPED|kernel.WCONTINUED|kernel.WNOTHREAD|kernel.WALL|kernel.WCLONE) != 0 {
		return 0, unix.EINVAL
	}
	var target kernel.WaitTarget
	switch {
	case pid == -1<<31:
		return 0, unix.ESRCH
	case pid < -1:
		target = kernel.WaitTarget{Kind: 2, ID: -pid}
	case pid == -1:
		target = kernel.WaitTarget{Kind: 0}
	case pid == 0:
		target = kernel.WaitTarget{Kind: 2, ID: 0}
	default:
		target = kernel.WaitTarget{Kind: 1, ID: pid}
	}
	res, err := t.Wait(target, options|kernel.WEXITED)
	if err != nil || res == nil {
		return 0, err
	}
	if statusAddr != 0 {
		st := res.Wait4
		if err := copyOutStruct(t, statusAddr, &st); err != nil {
			return 0, err
		}
	}
	if rusageAddr != 0 {
		ru := rusage{Utime: durationTimeval(int64(res.UserTime))}
		if err := copyOutStruct(t, rusageAddr, &ru); err != nil {
			return 0, err
		}
	}
	return uintptr(res.PID), nil
}

// Waitid implements waitid(2).
func Waitid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	idtype, id, infop, options, rusageAddr := a.Int(0), a.Int(1), a.Pointer(2), int(a.Uint(3)), a.Pointer(4)
	if options&^(kernel.WNOHANG|kernel.WSTOPPED|kernel.WEXITED|kernel.WCONTINUED|kernel.WNOWAIT|kernel.WNOTHREAD|kernel.WALL|kernel.WCLONE) != 0 ||
		options&(kernel.WEXITED|kernel.WSTOPPED|kernel.WCONTINUED) == 0 {
		return 0, unix.EINVAL
	}
	var target kernel.WaitTarget
	eagain := false
	switch idtype {
	case unix.P_ALL:
		target = kernel.WaitTarget{Kind: 0}
	case unix.P_PID:
		if id <= 0 {
			return 0, unix.EINVAL
		}
		target = kernel.WaitTarget{Kind: 1, ID: id}
	case unix.P_PGID:
		if id < 0 {
			return 0, unix.EINVAL
		}
		target = kernel.WaitTarget{Kind: 2, ID: id}
	case unix.P_PIDFD:
		var nonblock bool
		var err error
		if target, nonblock, err = pidfdWaitTarget(t, id); err != nil {
			return 0, err
		}
		if nonblock && options&kernel.WNOHANG == 0 {
			options |= kernel.WNOHANG
			eagain = true
		}
	default:
		return 0, unix.EINVAL
	}
	res, err := t.Wait(target, options)
	if err != nil {
		return 0, err
	}
	if res == nil && eagain {
		return 0, unix.EAGAIN
	}
	if infop != 0 {
		var info arch.SignalInfo
		if res != nil {
			info.Signo = int32(unix.SIGCHLD)
			info.Code = res.Code
			info.SetPID(res.PID)
			info.SetUID(res.UID)
			info.SetStatus(res.Status)
		}
		// With WNOHANG and nothing to report, the structure is zeroed.
		if err := copyOutStruct(t, infop, &info); err != nil {
			return 0, err
		}
	}
	if rusageAddr != 0 {
		var ru rusage
		if res != nil {
			ru.Utime = durationTimeval(int64(res.UserTime))
		}
		if err := copyOutStruct(t, rusageAddr, &ru); err != nil {
			return 0, err
		}
	}
	return 0, nil
}
