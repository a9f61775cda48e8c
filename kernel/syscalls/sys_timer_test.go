package syscalls

import (
	"bytes"
	"testing"
	"time"

	"magawa/kernel/abi"
)

// offsetOf finds where a marker set in one field lands in v's bytes.
func offsetOf[T any](v *T, marker []byte) int { return bytes.Index(abi.Bytes(v), marker) }

func TestTimerLayouts(t *testing.T) {
	m32 := int32(0x3cc35aa5)
	ev := sigevent{TID: m32}
	var ev0 sigevent
	its := itimerspec{Value: abi.Timespec{Sec: int64(m32)}}
	itv := itimerval{Value: abi.Timeval{Sec: int64(m32)}}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"sizeof(struct itimerval)", len(abi.Bytes(&itv)), 32},
		{"sizeof(struct itimerspec)", len(abi.Bytes(&its)), 32},
		{"sizeof(struct sigevent)", len(abi.Bytes(&ev0)), 64},
		{"sigevent._tid", offsetOf(&ev, abi.Bytes(&m32)), 16},
		// Interval first, as in <linux/time.h>.
		{"itimerspec.it_value", offsetOf(&its, abi.Bytes(&m32)), 16},
		{"itimerval.it_value", offsetOf(&itv, abi.Bytes(&m32)), 16},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestTimevalConversions(t *testing.T) {
	for _, tv := range []abi.Timeval{{Sec: -1}, {Usec: -1}, {Usec: 1000000}} {
		if timevalValid(tv) {
			t.Errorf("%+v accepted", tv)
		}
	}
	if !timevalValid(abi.Timeval{Sec: 1 << 40, Usec: 999999}) {
		t.Errorf("a large timeval refused")
	}
	if d := timevalDuration(abi.Timeval{Sec: 1 << 62}); d != 1<<63-1 {
		t.Errorf("a huge timeval is %v, want saturation", d)
	}
	// put_itimerval() truncates to microseconds.
	if tv := durationTimevalTrunc(1500*time.Millisecond + 999); tv != (abi.Timeval{Sec: 1, Usec: 500000}) {
		t.Errorf("truncation: %+v", tv)
	}
	if timespecValid(abi.Timespec{Nsec: 1e9}) || !timespecValid(abi.Timespec{Nsec: 1e9 - 1}) {
		t.Errorf("timespec validation")
	}
}
