package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/ipc/timerfd"
	"magawa/kernel/kernel"
)

// timerfd flags. Linux: include/uapi/linux/timerfd.h.
const (
	tfdTimerAbstime      = 1
	tfdTimerCancelOnSet  = 2
	tfdSettimeFlagsValid = tfdTimerAbstime | tfdTimerCancelOnSet
)

// TimerfdCreate implements timerfd_create(2).
func TimerfdCreate(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	clock, flags := a.Int(0), int(a.Int(1))
	if flags&^(unix.TFD_CLOEXEC|unix.TFD_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	switch clock {
	case clockRealtime, clockMonotonic, clockBoottime:
	case clockRealtimeAlarm, clockBoottimeAlarm:
		// Alarm clocks wake a suspended machine: CAP_WAKE_ALARM, not
		// granted in the sandbox.
		return 0, unix.EPERM
	default:
		return 0, unix.EINVAL
	}
	f := timerfd.New(time.Now, clock, flags)
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, flags&unix.TFD_CLOEXEC != 0, t.MaxFDs())
	return uintptr(fd), err
}

// TimerfdSettime implements timerfd_settime(2).
func TimerfdSettime(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	fd, flags, newAddr, oldAddr := a.Int(0), int(a.Int(1)), a.Pointer(2), a.Pointer(3)
	if flags&^tfdSettimeFlagsValid != 0 {
		return 0, unix.EINVAL
	}
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	tm, ok := timerfd.Of(f)
	if !ok {
		return 0, unix.EINVAL
	}
	var its itimerspec
	if err := copyInStruct(t, newAddr, &its); err != nil {
		return 0, err
	}
	if !validTimespec(its.Value) || !validTimespec(its.Interval) {
		return 0, unix.EINVAL
	}
	value := toDuration(its.Value)
	if flags&tfdTimerAbstime != 0 && value > 0 {
		now, err := readClock(t, tm.ClockID())
		if err != nil {
			return 0, err
		}
		// An absolute time already past expires at once.
		value = max(value-toDuration(now), 1)
	}
	oldValue, oldInterval := tm.Set(value, false, time.Time{}, toDuration(its.Interval))
	if oldAddr != 0 {
		old := itimerspec{Interval: durationTimespec(oldInterval), Value: durationTimespec(oldValue)}
		if err := copyOutStruct(t, oldAddr, &old); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// TimerfdGettime implements timerfd_gettime(2).
func TimerfdGettime(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	tm, ok := timerfd.Of(f)
	if !ok {
		return 0, unix.EINVAL
	}
	value, interval := tm.Get()
	cur := itimerspec{Interval: durationTimespec(interval), Value: durationTimespec(value)}
	return 0, copyOutStruct(t, a.Pointer(1), &cur)
}

func validTimespec(ts abi.Timespec) bool {
	return ts.Sec >= 0 && ts.Nsec >= 0 && ts.Nsec < int64(time.Second)
}
