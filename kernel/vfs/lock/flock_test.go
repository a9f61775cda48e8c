package lock

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseFlock(t *testing.T) {
	for _, tc := range []struct {
		op     uint32
		typ    Type
		wait   bool
		ignore bool
		err    error
	}{
		{unix.LOCK_SH, Read, true, false, nil},
		{unix.LOCK_EX, Write, true, false, nil},
		{unix.LOCK_UN, Unlock, true, false, nil},
		{unix.LOCK_SH | unix.LOCK_NB, Read, false, false, nil},
		{unix.LOCK_EX | unix.LOCK_NB, Write, false, false, nil},
		{unix.LOCK_UN | unix.LOCK_NB, Unlock, false, false, nil},
		{0, 0, false, false, unix.EINVAL},
		{unix.LOCK_SH | unix.LOCK_EX, 0, false, false, unix.EINVAL},
		{unix.LOCK_NB, 0, false, false, unix.EINVAL},
		{0x40, 0, false, false, unix.EINVAL},
		{0x20, 0, false, true, nil},        // LOCK_MAND
		{0x20 | 99, 0, false, true, nil},   // LOCK_MAND wins over bad bits
		{0x20 | 0x40, 0, false, true, nil}, // LOCK_MAND|LOCK_READ
	} {
		typ, wait, ignore, err := ParseFlock(tc.op)
		if err != tc.err || ignore != tc.ignore || (err == nil && !ignore && (typ != tc.typ || wait != tc.wait)) {
			t.Errorf("ParseFlock(%#x) = %v, %v, %v, %v; want %v, %v, %v, %v",
				tc.op, typ, wait, ignore, err, tc.typ, tc.wait, tc.ignore, tc.err)
		}
	}
}

func TestFlock(t *testing.T) {
	var tb Table
	d1, d2, d3 := &desc{"d1"}, &desc{"d2"}, &desc{"d3"}
	if err := tb.Flock(fileA, d1, Read, nil); err != nil {
		t.Fatal(err)
	}
	if err := tb.Flock(fileA, d2, Read, nil); err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if err := tb.Flock(fileA, d3, Write, nil); err != unix.EWOULDBLOCK {
		t.Fatalf("exclusive over shared: %v, want EWOULDBLOCK", err)
	}
	// Taking the held type again succeeds.
	if err := tb.Flock(fileA, d1, Read, nil); err != nil {
		t.Fatalf("relock: %v", err)
	}
	// A failed conversion drops the old lock (Linux removes it before
	// looking for conflicts): d2 can then convert.
	if err := tb.Flock(fileA, d1, Write, nil); err != unix.EWOULDBLOCK {
		t.Fatalf("d1 upgrade under d2: %v, want EWOULDBLOCK", err)
	}
	if err := tb.Flock(fileA, d2, Write, nil); err != nil {
		t.Fatalf("d2 upgrade after d1 lost its lock: %v", err)
	}
	// flock and record locks are independent.
	p := &proc{1}
	mustSet(t, &tb, fileA, p.owner(), Write, 0, eof)
	mustSet(t, &tb, fileA, OFDOwner(d1), Unlock, 0, eof)
	if err := tb.Set(fileA, OFDOwner(d1), Write, Range{0, 0}, nil); err != unix.EAGAIN {
		t.Fatalf("record lock: %v, want EAGAIN from p's lock", err)
	}
	tb.ReleasePOSIX(fileA, p)
	mustSet(t, &tb, fileA, OFDOwner(d1), Write, 0, eof)
	// Downgrade, then unlock; unlock without a lock is fine.
	if err := tb.Flock(fileA, d2, Read, nil); err != nil {
		t.Fatalf("downgrade: %v", err)
	}
	if err := tb.Flock(fileA, d3, Read, nil); err != nil {
		t.Fatalf("shared after the downgrade: %v", err)
	}
	for _, d := range []*desc{d1, d2, d3} {
		if err := tb.Flock(fileA, d, Unlock, nil); err != nil {
			t.Fatalf("unlock: %v", err)
		}
	}
	if err := tb.Flock(fileA, d1, Unlock, nil); err != nil {
		t.Fatalf("unlock without a lock: %v", err)
	}
	tb.ReleaseFile(fileA, d1)
	checkEmpty(t, &tb)
	if err := tb.Flock(fileA, d1, Type(9), nil); err != unix.EINVAL {
		t.Errorf("bad type: %v", err)
	}
}

func TestFlockBlock(t *testing.T) {
	var tb Table
	d1, d2 := &desc{"d1"}, &desc{"d2"}
	if err := tb.Flock(fileA, d1, Write, nil); err != nil {
		t.Fatal(err)
	}
	s := newSleeper()
	done := make(chan error, 1)
	go func() { done <- tb.Flock(fileA, d2, Read, s.block) }()
	s.waitAsleep(t)
	notDone(t, done)
	// The conversion of d1 to shared drops its exclusive lock: the
	// waiter gets in.
	if err := tb.Flock(fileA, d1, Read, nil); err != nil {
		t.Fatal(err)
	}
	if err := result(t, done); err != nil {
		t.Fatalf("shared waiter: %v", err)
	}
	// d2 now converts to exclusive and waits for d1, having dropped its
	// shared lock first; interrupting it leaves it with nothing.
	s2 := newSleeper()
	go func() { done <- tb.Flock(fileA, d2, Write, s2.block) }()
	s2.waitAsleep(t)
	d3 := &desc{"d3"}
	if err := tb.Flock(fileA, d3, Write, nil); err != unix.EWOULDBLOCK {
		t.Fatalf("d3 exclusive: %v, want EWOULDBLOCK (d1 still shares)", err)
	}
	close(s2.intr)
	if err := result(t, done); err != errInterrupted {
		t.Fatalf("interrupted conversion: %v", err)
	}
	// The last close of d1 releases its lock and wakes waiters.
	s3 := newSleeper()
	go func() { done <- tb.Flock(fileA, d3, Write, s3.block) }()
	s3.waitAsleep(t)
	tb.ReleaseFile(fileA, d1)
	if err := result(t, done); err != nil {
		t.Fatalf("d3 after d1's last close: %v", err)
	}
	tb.ReleaseFile(fileA, d2)
	tb.ReleaseFile(fileA, d3)
	checkEmpty(t, &tb)
}
