package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/kernel"
)

// itimerval is struct itimerval (setitimer, getitimer).
type itimerval struct {
	Interval abi.Timeval
	Value    abi.Timeval
}

// itimerspec is struct itimerspec (timer_settime, timer_gettime).
type itimerspec struct {
	Interval abi.Timespec
	Value    abi.Timespec
}

// sigevent is struct sigevent on x86-64: 64 bytes, the thread ID of
// SIGEV_THREAD_ID first in its union.
type sigevent struct {
	Value  uint64
	Signo  int32
	Notify int32
	TID    int32
	_      [44]byte
}

// timevalDuration converts a valid timeval, saturating as ktime does.
func timevalDuration(tv abi.Timeval) time.Duration {
	return toDuration(abi.Timespec{Sec: tv.Sec, Nsec: tv.Usec * 1000})
}

// durationTimevalTrunc converts to a timeval, dropping the
// sub-microsecond part as Linux's put_itimerval() does.
func durationTimevalTrunc(d time.Duration) abi.Timeval {
	return abi.Timeval{Sec: int64(d / time.Second), Usec: int64(d%time.Second) / 1000}
}

func durationTimespec(d time.Duration) abi.Timespec {
	return abi.Timespec{Sec: int64(d / time.Second), Nsec: int64(d % time.Second)}
}

func timevalValid(tv abi.Timeval) bool { return tv.Sec >= 0 && tv.Usec >= 0 && tv.Usec < 1000000 }

func timespecValid(ts abi.Timespec) bool {
	return ts.Sec >= 0 && ts.Nsec >= 0 && ts.Nsec < int64(time.Second)
}

func copyOutItimerval(t *kernel.Task, addr uintptr, spec kernel.TimerSpec) error {
	v := itimerval{Interval: durationTimevalTrunc(spec.Interval), Value: durationTimevalTrunc(spec.Value)}
	return copyOutStruct(t, addr, &v)
}

// Getitimer implements getitimer(2). Linux: kernel/time/itimer.c.
func Getitimer(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	spec, err := t.GetITimer(int(a.Int(0)))
	if err != nil {
		return 0, err
	}
	return 0, copyOutItimerval(t, a.Pointer(1), spec)
}

// Setitimer implements setitimer(2). A null new value disarms the timer,
// a misfeature Linux keeps. Linux: kernel/time/itimer.c.
func Setitimer(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	var spec kernel.TimerSpec
	if addr := a.Pointer(1); addr != 0 {
		var v itimerval
		if err := copyInStruct(t, addr, &v); err != nil {
			return 0, err
		}
		if !timevalValid(v.Value) || !timevalValid(v.Interval) {
			return 0, unix.EINVAL
		}
		spec = kernel.TimerSpec{Value: timevalDuration(v.Value), Interval: timevalDuration(v.Interval)}
	}
	old, err := t.SetITimer(int(a.Int(0)), spec)
	if err != nil {
		return 0, err
	}
	if addr := a.Pointer(2); addr != 0 {
		return 0, copyOutItimerval(t, addr, old)
	}
	return 0, nil
}

// Alarm implements alarm(2).
func Alarm(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Alarm(a.Uint(0))), nil
}

// TimerCreate implements timer_create(2). The ID is written before the
// timer exists for the application; failing to write it deletes the
// timer (its ID stays used, as on Linux). Linux: kernel/time/posix-timers.c.
func TimerCreate(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	var ev *kernel.SigEvent
	if addr := a.Pointer(1); addr != 0 {
		var se sigevent
		if err := copyInStruct(t, addr, &se); err != nil {
			return 0, err
		}
		ev = &kernel.SigEvent{Value: se.Value, Signo: se.Signo, Notify: se.Notify, TID: se.TID}
	}
	id, err := t.CreateTimer(a.Int(0), ev)
	if err != nil {
		return 0, err
	}
	if err := copyOutStruct(t, a.Pointer(2), &id); err != nil {
		t.DeleteTimer(id)
		return 0, err
	}
	return 0, nil
}

// TimerSettime implements timer_settime(2).
func TimerSettime(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, flags, newAddr, oldAddr := a.Int(0), a.Int(1), a.Pointer(2), a.Pointer(3)
	if newAddr == 0 {
		return 0, unix.EINVAL
	}
	var v itimerspec
	if err := copyInStruct(t, newAddr, &v); err != nil {
		return 0, err
	}
	if !timespecValid(v.Value) || !timespecValid(v.Interval) {
		return 0, unix.EINVAL
	}
	old, err := t.SetTimer(id, flags, kernel.TimerSpec{Value: toDuration(v.Value), Interval: toDuration(v.Interval)})
	if err != nil {
		return 0, err
	}
	if oldAddr != 0 {
		o := itimerspec{Interval: durationTimespec(old.Interval), Value: durationTimespec(old.Value)}
		return 0, copyOutStruct(t, oldAddr, &o)
	}
	return 0, nil
}

// TimerGettime implements timer_gettime(2).
func TimerGettime(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	spec, err := t.GetTimer(a.Int(0))
	if err != nil {
		return 0, err
	}
	v := itimerspec{Interval: durationTimespec(spec.Interval), Value: durationTimespec(spec.Value)}
	return 0, copyOutStruct(t, a.Pointer(1), &v)
}

// TimerGetoverrun implements timer_getoverrun(2).
func TimerGetoverrun(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	n, err := t.TimerOverrun(a.Int(0))
	return uintptr(n), err
}

// TimerDelete implements timer_delete(2).
func TimerDelete(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.DeleteTimer(a.Int(0))
}
