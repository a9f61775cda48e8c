package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/kernel"
)

// Clock IDs. Linux: include/uapi/linux/time.h.
const (
	clockRealtime         = 0
	clockMonotonic        = 1
	clockProcessCPUTimeID = 2
	clockThreadCPUTimeID  = 3
	clockMonotonicRaw     = 4
	clockRealtimeCoarse   = 5
	clockMonotonicCoarse  = 6
	clockBoottime         = 7
	clockRealtimeAlarm    = 8
	clockBoottimeAlarm    = 9
	clockTAI              = 11
)

// coarseResolution is the resolution of the *_COARSE clocks: one tick
// at HZ=250, Debian's setting.
const coarseResolution = 4 * time.Millisecond

// readClock returns the time of clock id. The wall and monotonic clocks
// are the host's (read by the kernel, not passed through): time is not
// namespaced here. CPU-time clocks are the application's own CPU time.
func readClock(t *kernel.Task, id int32) (abi.Timespec, error) {
	var hostID int32
	switch id {
	case clockRealtime, clockRealtimeCoarse, clockRealtimeAlarm, clockTAI:
		hostID = unix.CLOCK_REALTIME
		if id == clockTAI {
			hostID = unix.CLOCK_TAI
		}
	case clockMonotonic, clockMonotonicRaw, clockMonotonicCoarse:
		hostID = unix.CLOCK_MONOTONIC
		if id == clockMonotonicRaw {
			hostID = unix.CLOCK_MONOTONIC_RAW
		}
	case clockBoottime, clockBoottimeAlarm:
		hostID = unix.CLOCK_BOOTTIME
	case clockProcessCPUTimeID, clockThreadCPUTimeID:
		d, err := t.CPUTime()
		if err != nil {
			return abi.Timespec{}, err
		}
		return abi.Timespec{Sec: int64(d / time.Second), Nsec: int64(d % time.Second)}, nil
	default:
		return abi.Timespec{}, unix.EINVAL
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(hostID, &ts); err != nil {
		return abi.Timespec{}, err
	}
	return abi.Timespec{Sec: ts.Sec, Nsec: ts.Nsec}, nil
}

// ClockGettime implements clock_gettime(2).
func ClockGettime(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	ts, err := readClock(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	return 0, copyOutStruct(t, a.Pointer(1), &ts)
}

// ClockGetres implements clock_getres(2).
func ClockGetres(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id := a.Int(0)
	if _, err := readClock(t, id); err != nil {
		return 0, err
	}
	res := abi.Timespec{Nsec: 1}
	if id == clockRealtimeCoarse || id == clockMonotonicCoarse {
		res.Nsec = int64(coarseResolution)
	}
	if a.Pointer(1) == 0 {
		return 0, nil
	}
	return 0, copyOutStruct(t, a.Pointer(1), &res)
}

// Gettimeofday implements gettimeofday(2).
func Gettimeofday(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if tvAddr := a.Pointer(0); tvAddr != 0 {
		ts, err := readClock(t, clockRealtime)
		if err != nil {
			return 0, err
		}
		tv := abi.Timeval{Sec: ts.Sec, Usec: ts.Nsec / 1000}
		if err := copyOutStruct(t, tvAddr, &tv); err != nil {
			return 0, err
		}
	}
	if tzAddr := a.Pointer(1); tzAddr != 0 {
		var tz abi.Timezone // the sandbox runs in UTC
		if err := copyOutStruct(t, tzAddr, &tz); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Time implements time(2).
func Time(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	ts, err := readClock(t, clockRealtime)
	if err != nil {
		return 0, err
	}
	if addr := a.Pointer(0); addr != 0 {
		if err := copyOutStruct(t, addr, &ts.Sec); err != nil {
			return 0, err
		}
	}
	return uintptr(ts.Sec), nil
}

func copyInTimespec(t *kernel.Task, addr uintptr) (abi.Timespec, error) {
	var ts abi.Timespec
	if err := copyInStruct(t, addr, &ts); err != nil {
		return ts, err
	}
	if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= int64(time.Second) {
		return ts, unix.EINVAL
	}
	return ts, nil
}

// Nanosleep implements nanosleep(2).
func Nanosleep(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	ts, err := copyInTimespec(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	return 0, sleepUntil(t, time.Now().Add(toDuration(ts)), a.Pointer(1))
}

// ClockNanosleep implements clock_nanosleep(2).
func ClockNanosleep(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, flags := a.Int(0), a.Int(1)
	switch id {
	case clockRealtime, clockMonotonic, clockBoottime, clockTAI:
	case clockThreadCPUTimeID:
		return 0, unix.EINVAL
	case clockProcessCPUTimeID:
		return 0, unix.EOPNOTSUPP
	default:
		return 0, unix.EINVAL
	}
	ts, err := copyInTimespec(t, a.Pointer(2))
	if err != nil {
		return 0, err
	}
	d := toDuration(ts)
	if flags&unix.TIMER_ABSTIME != 0 {
		now, err := readClock(t, id)
		if err != nil {
			return 0, err
		}
		// An absolute sleep restarts as it is: nothing to recompute.
		if err := t.Sleep(d - toDuration(now)); err == kernel.ErrInterrupted {
			return 0, kernel.ERESTARTNOHAND
		}
		return 0, nil
	}
	return 0, sleepUntil(t, time.Now().Add(d), a.Pointer(3))
}

// sleepUntil sleeps interruptibly. Interrupted, it reports the remaining
// time in rem and arranges for restart_syscall to sleep on until the same
// deadline. Linux: kernel/time/hrtimer.c, hrtimer_nanosleep().
func sleepUntil(t *kernel.Task, deadline time.Time, remAddr uintptr) error {
	err := t.Block(nil, deadline)
	if err != kernel.ErrInterrupted {
		return nil
	}
	if remAddr != 0 {
		left := max(time.Until(deadline), 0)
		rem := abi.Timespec{Sec: int64(left / time.Second), Nsec: int64(left % time.Second)}
		if err := copyOutStruct(t, remAddr, &rem); err != nil {
			return err
		}
	}
	t.SetRestart(func(t *kernel.Task) (uintptr, error) {
		return 0, sleepUntil(t, deadline, remAddr)
	})
	return kernel.ERESTART_RESTARTBLOCK
}

func toDuration(ts abi.Timespec) time.Duration {
	const maxSec = int64(1<<63-1) / int64(time.Second)
	if ts.Sec >= maxSec {
		return 1<<63 - 1
	}
	return time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec)
}
