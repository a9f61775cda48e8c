package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
)

// Prctl implements prctl(2) for the options programs and runtimes use.
// Linux: kernel/sys.c.
func Prctl(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	option, arg2 := int(a.Int(0)), a.Pointer(1)
	switch option {
	case unix.PR_SET_NAME:
		name, err := t.CopyInString(arg2, 16)
		if err == unix.ENAMETOOLONG {
			// The name is cut to 15 bytes, not refused.
			b := make([]byte, 15)
			if _, err := t.CopyIn(arg2, b); err != nil {
				return 0, unix.EFAULT
			}
			name, err = string(b), nil
		}
		if err != nil {
			return 0, err
		}
		t.SetName(name)
		return 0, nil
	case unix.PR_GET_NAME:
		b := make([]byte, 16)
		copy(b, t.Name())
		if _, err := t.CopyOut(arg2, b); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	case unix.PR_SET_PDEATHSIG:
		if arg2 != 0 && !kernel.ValidSignal(int(arg2)) {
			return 0, unix.EINVAL
		}
		t.SetPdeathSignal(int32(arg2))
		return 0, nil
	case unix.PR_GET_PDEATHSIG:
		sig := t.PdeathSignal()
		return 0, copyOutStruct(t, arg2, &sig)
	case unix.PR_SET_CHILD_SUBREAPER:
		t.SetChildSubreaper(arg2 != 0)
		return 0, nil
	case unix.PR_GET_CHILD_SUBREAPER:
		var v int32
		if t.ChildSubreaper() {
			v = 1
		}
		return 0, copyOutStruct(t, arg2, &v)
	case unix.PR_SET_NO_NEW_PRIVS:
		if arg2 != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		t.SetNoNewPrivs()
		return 0, nil
	case unix.PR_GET_NO_NEW_PRIVS:
		return boolToInt(t.NoNewPrivs()), nil
	case unix.PR_SET_DUMPABLE:
		if arg2 > 1 {
			return 0, unix.EINVAL
		}
		t.SetDumpable(arg2 == 1)
		return 0, nil
	case unix.PR_GET_DUMPABLE:
		return boolToInt(t.Dumpable()), nil
	case unix.PR_GET_SECCOMP:
		// No seccomp filter of the application's own is in force.
		return 0, nil
	case unix.PR_SET_SECCOMP:
		// Filters installed by the application are not supported yet.
		return 0, unix.EINVAL
	case unix.PR_GET_KEEPCAPS:
		return boolToInt(t.KeepCaps()), nil
	case unix.PR_SET_KEEPCAPS:
		if arg2 > 1 {
			return 0, unix.EINVAL
		}
		return 0, t.SetKeepCaps(arg2 == 1)
	case unix.PR_GET_SECUREBITS:
		return uintptr(t.Securebits()), nil
	case unix.PR_SET_SECUREBITS:
		return 0, t.SetSecurebits(uint32(arg2))
	case unix.PR_CAPBSET_READ:
		has, err := t.BoundingHas(int(arg2))
		return boolToInt(has), err
	case unix.PR_CAPBSET_DROP:
		return 0, t.DropBounding(int(arg2))
	case unix.PR_CAP_AMBIENT:
		op, cp := int(arg2), a[2]
		if a[3] != 0 || a[4] != 0 || (op == kernel.PR_CAP_AMBIENT_CLEAR_ALL && cp != 0) || cp > kernel.CapLastCap {
			return 0, unix.EINVAL
		}
		set, err := t.AmbientCap(op, int(cp))
		return boolToInt(set), err
	case unix.PR_GET_THP_DISABLE:
		return 0, nil
	case unix.PR_SET_THP_DISABLE:
		if arg2 > 1 {
			return 0, unix.EINVAL
		}
		return 0, nil
	case unix.PR_GET_TIMERSLACK:
		return uintptr(50 * time.Microsecond), nil
	case unix.PR_SET_TIMERSLACK:
		return 0, nil
	case unix.PR_SET_PTRACER:
		return 0, nil
	case unix.PR_GET_TID_ADDRESS:
		return 0, unix.EINVAL
	}
	return 0, unix.EINVAL
}

// Getrusage implements getrusage(2).
func Getrusage(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	self, children := t.CPUTimes()
	var ru rusage
	switch a.Int(0) {
	case unix.RUSAGE_SELF, unix.RUSAGE_THREAD:
		ru.Utime = durationTimeval(int64(self))
	case unix.RUSAGE_CHILDREN:
		ru.Utime = durationTimeval(int64(children))
	default:
		return 0, unix.EINVAL
	}
	return 0, copyOutStruct(t, a.Pointer(1), &ru)
}

// tms is struct tms, in clock ticks.
type tms struct{ Utime, Stime, Cutime, Cstime int64 }

// Times implements times(2).
func Times(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	self, children := t.CPUTimes()
	tick := int64(time.Second / clockTicks)
	if a.Pointer(0) != 0 {
		v := tms{Utime: int64(self) / tick, Cutime: int64(children) / tick}
		if err := copyOutStruct(t, a.Pointer(0), &v); err != nil {
			return 0, err
		}
	}
	return uintptr(int64(t.Kernel().Uptime()) / tick), nil
}

// clockTicks is USER_HZ.
const clockTicks = 100
