package futex

import (
	"time"

	"golang.org/x/sys/unix"
)

// maxTimeout bounds timeouts so that deadlines do not overflow; Linux
// saturates at KTIME_MAX (about 292 years) instead. Nobody waits a
// century.
const maxTimeout = 100 * 365 * 24 * time.Hour

// Deadline converts the timeout of a futex call, a timespec the
// system-call layer copied in, into the deadline the Manager's waits take.
// A relative timeout (FUTEX_WAIT's) is an interval from now on
// CLOCK_MONOTONIC; an absolute one is a time on CLOCK_REALTIME (realtime)
// or CLOCK_MONOTONIC. Both clocks are the host's, as clock_gettime(2)
// serves them. It fails with EINVAL for a negative or unnormalised
// timespec. Linux: kernel/futex/syscalls.c, futex_init_timeout().
//
// A CLOCK_REALTIME deadline is a time.Time without a monotonic reading:
// Block measures it against the wall clock when it starts sleeping, so a
// later change of the host's wall clock does not move it (Linux would
// follow the change).
func Deadline(sec, nsec int64, relative, realtime bool) (time.Time, error) {
	if sec < 0 || nsec < 0 || nsec >= int64(time.Second) {
		return time.Time{}, unix.EINVAL
	}
	if !relative && realtime {
		return time.Unix(sec, nsec), nil
	}
	d := clampTimeout(sec, nsec)
	now := time.Now()
	if relative {
		return now.Add(d), nil
	}
	var mono unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		return time.Time{}, err
	}
	return now.Add(d - clampTimeout(mono.Sec, mono.Nsec)), nil
}

func clampTimeout(sec, nsec int64) time.Duration {
	if sec >= int64(maxTimeout/time.Second) {
		return maxTimeout
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec)
}
