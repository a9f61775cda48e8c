package lock

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestRangeOf(t *testing.T) {
	const max = MaxOffset
	for _, tc := range []struct {
		name                       string
		whence                     int
		start, length, offset, siz int64
		want                       Range
		err                        error
	}{
		{"set", unix.SEEK_SET, 10, 5, 99, 99, Range{10, 14}, nil},
		{"set to EOF", unix.SEEK_SET, 10, 0, 0, 0, Range{10, max}, nil},
		{"cur", unix.SEEK_CUR, -10, 5, 50, 0, Range{40, 44}, nil},
		{"end", unix.SEEK_END, -1, 1, 0, 100, Range{99, 99}, nil},
		{"end past EOF", unix.SEEK_END, 10, 0, 0, 100, Range{110, max}, nil},
		{"negative length", unix.SEEK_SET, 5, -5, 0, 0, Range{0, 4}, nil},
		{"negative length from cur", unix.SEEK_CUR, 0, -3, 10, 0, Range{7, 9}, nil},
		{"negative length below 0", unix.SEEK_SET, 5, -6, 0, 0, Range{}, unix.EINVAL},
		{"negative length at 0", unix.SEEK_SET, 0, -1, 0, 0, Range{}, unix.EINVAL},
		{"negative start", unix.SEEK_SET, -1, 1, 0, 0, Range{}, unix.EINVAL},
		{"cur below 0", unix.SEEK_CUR, -11, 1, 10, 0, Range{}, unix.EINVAL},
		{"bad whence", 3, 0, 0, 0, 0, Range{}, unix.EINVAL},
		{"last byte", unix.SEEK_SET, max, 1, 0, 0, Range{max, max}, nil},
		{"length overflows", unix.SEEK_SET, max, 2, 0, 0, Range{}, unix.EOVERFLOW},
		{"start overflows", unix.SEEK_CUR, max, 0, 5, 0, Range{}, unix.EOVERFLOW},
		{"huge negative length", unix.SEEK_SET, max, -max - 1, 0, 0, Range{}, unix.EINVAL},
		{"whole negative length", unix.SEEK_SET, max, -max, 0, 0, Range{0, max - 1}, nil},
	} {
		got, err := RangeOf(tc.whence, tc.start, tc.length, tc.offset, tc.siz)
		if err != tc.err || (err == nil && got != tc.want) {
			t.Errorf("%s: RangeOf = %v, %v; want %v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestRangeLen(t *testing.T) {
	if n := (Range{10, 19}).Len(); n != 10 {
		t.Errorf("Len of [10,19] = %d", n)
	}
	if n := (Range{10, MaxOffset}).Len(); n != 0 {
		t.Errorf("Len to EOF = %d, want 0", n)
	}
	l := Lock{Type: Write, Range: Range{10, MaxOffset}, PID: 7}
	fl := l.Flock()
	if fl.Type != unix.F_WRLCK || fl.Whence != unix.SEEK_SET || fl.Start != 10 || fl.Len != 0 || fl.Pid != 7 {
		t.Errorf("Flock = %+v", fl)
	}
}
