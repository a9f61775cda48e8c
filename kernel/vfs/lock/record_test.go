package lock

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

var (
	fileA = vfs.FileID{Dev: 1, Ino: 10}
	fileB = vfs.FileID{Dev: 1, Ino: 11}
)

// proc is a fake process: the key of its POSIX locks.
type proc struct{ pid int32 }

func (p *proc) owner() Owner { return POSIXOwner(p, p.pid) }

// desc is a fake open file description.
type desc struct{ name string }

const eof = MaxOffset

// dump renders the record locks of id as "owner:R[a,b] ..." in list order.
func dump(t *Table, id vfs.FileID) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.files[id]
	if e == nil {
		return ""
	}
	var b strings.Builder
	for i, l := range e.records {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch k := l.owner.key.(type) {
		case *proc:
			fmt.Fprintf(&b, "p%d:", k.pid)
		case *desc:
			fmt.Fprintf(&b, "%s:", k.name)
		}
		b.WriteString(map[Type]string{Read: "R", Write: "W"}[l.typ])
		if l.r.End == eof {
			fmt.Fprintf(&b, "[%d,eof]", l.r.Start)
		} else {
			fmt.Fprintf(&b, "[%d,%d]", l.r.Start, l.r.End)
		}
	}
	return b.String()
}

func mustSet(t *testing.T, tb *Table, id vfs.FileID, o Owner, typ Type, start, end int64) {
	t.Helper()
	if err := tb.Set(id, o, typ, Range{start, end}, nil); err != nil {
		t.Fatalf("Set %v [%d,%d]: %v", typ, start, end, err)
	}
}

// TestSplitMerge applies a sequence of requests of one owner and checks
// the resulting list, as Linux's posix_lock_inode leaves it.
func TestSplitMerge(t *testing.T) {
	type req struct {
		typ        Type
		start, end int64
	}
	R, W, U := Read, Write, Unlock
	for _, tc := range []struct {
		name string
		reqs []req
		want string
	}{
		{"one lock", []req{{W, 10, 19}}, "p1:W[10,19]"},
		{"sorted by start", []req{{W, 30, 39}, {R, 0, 9}}, "p1:R[0,9] p1:W[30,39]"},
		{"merge overlapping", []req{{R, 0, 10}, {R, 5, 20}}, "p1:R[0,20]"},
		{"merge adjacent", []req{{R, 0, 9}, {R, 10, 19}}, "p1:R[0,19]"},
		{"merge adjacent left", []req{{R, 10, 19}, {R, 0, 9}}, "p1:R[0,19]"},
		{"no merge across a gap", []req{{R, 0, 9}, {R, 11, 19}}, "p1:R[0,9] p1:R[11,19]"},
		{"no merge of other types", []req{{R, 0, 9}, {W, 10, 19}}, "p1:R[0,9] p1:W[10,19]"},
		{"bridge two locks", []req{{W, 0, 9}, {W, 20, 29}, {W, 10, 19}}, "p1:W[0,29]"},
		{"swallow several", []req{{R, 2, 3}, {W, 5, 6}, {R, 8, 9}, {W, 0, 20}}, "p1:W[0,20]"},
		{"merge with EOF", []req{{R, 10, eof}, {R, 0, 9}}, "p1:R[0,eof]"},
		{"contained same type", []req{{R, 0, 99}, {R, 10, 19}}, "p1:R[0,99]"},
		{"unlock middle splits", []req{{W, 0, 99}, {U, 10, 19}}, "p1:W[0,9] p1:W[20,99]"},
		{"unlock head", []req{{W, 0, 99}, {U, 0, 9}}, "p1:W[10,99]"},
		{"unlock tail", []req{{W, 0, 99}, {U, 90, eof}}, "p1:W[0,89]"},
		{"unlock all", []req{{W, 0, 9}, {R, 20, 29}, {U, 0, eof}}, ""},
		{"unlock across two", []req{{W, 0, 9}, {R, 20, 29}, {U, 5, 24}}, "p1:W[0,4] p1:R[25,29]"},
		{"unlock nothing", []req{{W, 0, 9}, {U, 10, 19}}, "p1:W[0,9]"},
		{"unlock EOF lock from the middle", []req{{R, 0, eof}, {U, 100, 199}}, "p1:R[0,99] p1:R[200,eof]"},
		{"upgrade middle", []req{{R, 0, 99}, {W, 10, 19}}, "p1:R[0,9] p1:W[10,19] p1:R[20,99]"},
		{"upgrade all", []req{{R, 0, 99}, {W, 0, 99}}, "p1:W[0,99]"},
		{"upgrade beyond", []req{{R, 10, 19}, {W, 0, 29}}, "p1:W[0,29]"},
		{"upgrade head", []req{{R, 0, 99}, {W, 0, 9}}, "p1:W[0,9] p1:R[10,99]"},
		{"downgrade tail", []req{{W, 0, 99}, {R, 50, 99}}, "p1:W[0,49] p1:R[50,99]"},
		{"downgrade merges", []req{{R, 0, 9}, {W, 10, 19}, {R, 20, 29}, {R, 10, 19}}, "p1:R[0,29]"},
		{"downgrade straddling", []req{{W, 0, 9}, {R, 10, 19}, {R, 5, 14}}, "p1:W[0,4] p1:R[5,19]"},
		{"upgrade straddling", []req{{W, 0, 9}, {R, 10, 19}, {W, 5, 14}}, "p1:W[0,14] p1:R[15,19]"},
		{"relock split hole", []req{{W, 0, 99}, {U, 10, 19}, {W, 10, 19}}, "p1:W[0,99]"},
		{"hole then read", []req{{W, 0, 99}, {U, 10, 19}, {R, 10, 19}}, "p1:W[0,9] p1:R[10,19] p1:W[20,99]"},
	} {
		var tb Table
		p := &proc{1}
		for _, r := range tc.reqs {
			if err := tb.Set(fileA, p.owner(), r.typ, Range{r.start, r.end}, nil); err != nil {
				t.Fatalf("%s: Set: %v", tc.name, err)
			}
		}
		if got := dump(&tb, fileA); got != tc.want {
			t.Errorf("%s: locks %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestOwnerOrder checks that each owner's locks stay together, owners in
// the order they first locked, which decides what F_GETLK reports first.
func TestOwnerOrder(t *testing.T) {
	var tb Table
	p1, p2 := &proc{1}, &proc{2}
	mustSet(t, &tb, fileA, p1.owner(), Read, 50, 59)
	mustSet(t, &tb, fileA, p2.owner(), Read, 0, 9)
	mustSet(t, &tb, fileA, p1.owner(), Read, 20, 29)
	if got, want := dump(&tb, fileA), "p1:R[20,29] p1:R[50,59] p2:R[0,9]"; got != want {
		t.Fatalf("locks %q, want %q", got, want)
	}
	p3 := &proc{3}
	l, ok, err := tb.Test(fileA, p3.owner(), Write, Whole)
	if err != nil || !ok || l != (Lock{Read, Range{20, 29}, 1}) {
		t.Errorf("Test = %+v, %v, %v; want p1's [20,29]", l, ok, err)
	}
	// p1 drops everything and locks again: it goes behind p2.
	tb.ReleasePOSIX(fileA, p1)
	mustSet(t, &tb, fileA, p1.owner(), Read, 0, 0)
	if got, want := dump(&tb, fileA), "p2:R[0,9] p1:R[0,0]"; got != want {
		t.Fatalf("locks %q, want %q", got, want)
	}
}

func TestTest(t *testing.T) {
	var tb Table
	p1, p2 := &proc{100}, &proc{200}
	mustSet(t, &tb, fileA, p1.owner(), Write, 10, 19)
	mustSet(t, &tb, fileA, p1.owner(), Read, 30, eof)
	for _, tc := range []struct {
		typ   Type
		r     Range
		found bool
		want  Lock
	}{
		{Write, Whole, true, Lock{Write, Range{10, 19}, 100}},
		{Read, Range{15, 15}, true, Lock{Write, Range{10, 19}, 100}},
		{Read, Range{20, eof}, false, Lock{}},
		{Write, Range{20, eof}, true, Lock{Read, Range{30, eof}, 100}},
		{Write, Range{20, 29}, false, Lock{}},
		{Write, Range{1 << 40, 1 << 40}, true, Lock{Read, Range{30, eof}, 100}},
	} {
		l, ok, err := tb.Test(fileA, p2.owner(), tc.typ, tc.r)
		if err != nil || ok != tc.found || l != tc.want {
			t.Errorf("Test %v %v = %+v, %v, %v; want %+v, %v", tc.typ, tc.r, l, ok, err, tc.want, tc.found)
		}
	}
	// An owner's own locks never conflict.
	if _, ok, _ := tb.Test(fileA, p1.owner(), Write, Whole); ok {
		t.Error("Test reports the caller's own lock")
	}
	// Nothing on another file.
	if _, ok, _ := tb.Test(fileB, p2.owner(), Write, Whole); ok {
		t.Error("Test reports a lock of another file")
	}
	if _, _, err := tb.Test(fileA, p2.owner(), Unlock, Whole); err != unix.EINVAL {
		t.Errorf("POSIX Test with Unlock: %v, want EINVAL", err)
	}
	if _, _, err := tb.Test(fileA, p2.owner(), Type(7), Whole); err != unix.EINVAL {
		t.Errorf("Test with a bad type: %v, want EINVAL", err)
	}
	if _, _, err := tb.Test(fileA, p2.owner(), Read, Range{5, 4}); err != unix.EINVAL {
		t.Errorf("Test with a bad range: %v, want EINVAL", err)
	}
}

func TestSetConflicts(t *testing.T) {
	var tb Table
	p1, p2 := &proc{1}, &proc{2}
	mustSet(t, &tb, fileA, p1.owner(), Read, 0, 9)
	mustSet(t, &tb, fileA, p1.owner(), Write, 20, 29)
	for _, tc := range []struct {
		typ        Type
		start, end int64
		err        error
	}{
		{Read, 0, 9, nil},           // shared
		{Write, 5, 5, unix.EAGAIN},  // over a read lock
		{Read, 25, 25, unix.EAGAIN}, // under a write lock
		{Write, 10, 19, nil},        // the gap
		{Unlock, 0, eof, nil},       // unlocking never conflicts
	} {
		if err := tb.Set(fileA, p2.owner(), tc.typ, Range{tc.start, tc.end}, nil); err != tc.err {
			t.Errorf("p2 Set %v [%d,%d] = %v, want %v", tc.typ, tc.start, tc.end, err, tc.err)
		}
	}
	// Both hold read locks on [0,9]: neither can upgrade while the other
	// holds it, and a failed upgrade leaves the old lock alone.
	mustSet(t, &tb, fileA, p2.owner(), Read, 0, 9)
	if err := tb.Set(fileA, p1.owner(), Write, Range{0, 9}, nil); err != unix.EAGAIN {
		t.Errorf("upgrade under a shared lock: %v, want EAGAIN", err)
	}
	if got, want := dump(&tb, fileA), "p1:R[0,9] p1:W[20,29] p2:R[0,9]"; got != want {
		t.Errorf("locks %q, want %q", got, want)
	}
	if err := tb.Set(fileA, p1.owner(), Type(5), Range{0, 9}, nil); err != unix.EINVAL {
		t.Errorf("bad type: %v, want EINVAL", err)
	}
	if err := tb.Set(fileA, p1.owner(), Read, Range{-1, 9}, nil); err != unix.EINVAL {
		t.Errorf("bad range: %v, want EINVAL", err)
	}
	if err := tb.Set(fileA, Owner{}, Read, Range{0, 9}, nil); err != unix.EINVAL {
		t.Errorf("zero owner: %v, want EINVAL", err)
	}
}

func TestOFD(t *testing.T) {
	var tb Table
	p := &proc{1}
	d1, d2 := &desc{"d1"}, &desc{"d2"}
	o1, o2 := OFDOwner(d1), OFDOwner(d2)
	mustSet(t, &tb, fileA, o1, Write, 0, 9)
	// Same description: no conflict, its locks split and merge.
	mustSet(t, &tb, fileA, o1, Read, 5, 14)
	if got, want := dump(&tb, fileA), "d1:W[0,4] d1:R[5,14]"; got != want {
		t.Errorf("locks %q, want %q", got, want)
	}
	// Another description conflicts, and so does any process, even
	// the one that opened d1.
	if err := tb.Set(fileA, o2, Write, Range{0, 0}, nil); err != unix.EAGAIN {
		t.Errorf("OFD vs OFD: %v, want EAGAIN", err)
	}
	if err := tb.Set(fileA, p.owner(), Read, Range{0, 0}, nil); err != unix.EAGAIN {
		t.Errorf("POSIX vs OFD: %v, want EAGAIN", err)
	}
	mustSet(t, &tb, fileA, p.owner(), Read, 10, 19)
	if err := tb.Set(fileA, o2, Write, Range{15, 15}, nil); err != unix.EAGAIN {
		t.Errorf("OFD vs POSIX: %v, want EAGAIN", err)
	}
	// F_GETLK reports OFD locks with pid -1 and POSIX locks with theirs.
	if l, ok, _ := tb.Test(fileA, p.owner(), Write, Whole); !ok || l != (Lock{Write, Range{0, 4}, -1}) {
		t.Errorf("POSIX Test = %+v, %v; want d1's [0,4] with pid -1", l, ok)
	}
	if l, ok, _ := tb.Test(fileA, o1, Write, Range{15, eof}); !ok || l != (Lock{Read, Range{10, 19}, 1}) {
		t.Errorf("OFD Test = %+v, %v; want p1's [10,19]", l, ok)
	}
	// An OFD owner may test with Unlock: it gets its own lock.
	if l, ok, err := tb.Test(fileA, o1, Unlock, Range{7, 7}); err != nil || !ok || l != (Lock{Read, Range{5, 14}, -1}) {
		t.Errorf("OFD Test Unlock = %+v, %v, %v; want its own [5,14]", l, ok, err)
	}
	if _, ok, _ := tb.Test(fileA, o2, Unlock, Whole); ok {
		t.Error("OFD Test Unlock reports another owner's lock")
	}
	// Closing a descriptor of the process drops its POSIX locks only;
	// the description's last close drops its OFD locks.
	tb.ReleasePOSIX(fileA, p)
	if got, want := dump(&tb, fileA), "d1:W[0,4] d1:R[5,14]"; got != want {
		t.Errorf("after ReleasePOSIX: locks %q, want %q", got, want)
	}
	tb.ReleasePOSIX(fileA, d1) // a process key that holds nothing
	tb.ReleaseFile(fileA, d1)
	if got := dump(&tb, fileA); got != "" {
		t.Errorf("after ReleaseFile: locks %q", got)
	}
	checkEmpty(t, &tb)
}

func TestRelease(t *testing.T) {
	var tb Table
	p1, p2 := &proc{1}, &proc{2}
	mustSet(t, &tb, fileA, p1.owner(), Write, 0, 9)
	mustSet(t, &tb, fileB, p1.owner(), Read, 0, eof)
	mustSet(t, &tb, fileA, p2.owner(), Write, 10, 19)
	tb.ReleasePOSIX(fileA, p1)
	if got, want := dump(&tb, fileA), "p2:W[10,19]"; got != want {
		t.Errorf("after close: %q, want %q", got, want)
	}
	if got, want := dump(&tb, fileB), "p1:R[0,eof]"; got != want {
		t.Errorf("other file after close: %q, want %q", got, want)
	}
	mustSet(t, &tb, fileA, p1.owner(), Write, 0, 9)
	tb.ReleaseProcess(p1)
	if got, want := dump(&tb, fileA), "p2:W[10,19]"; got != want {
		t.Errorf("after exit: %q, want %q", got, want)
	}
	if got := dump(&tb, fileB); got != "" {
		t.Errorf("other file after exit: %q", got)
	}
	tb.ReleaseProcess(p2)
	checkEmpty(t, &tb)
}

// checkEmpty fails unless the table has forgotten everything.
func checkEmpty(t *testing.T, tb *Table) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.files) != 0 || len(tb.held) != 0 || len(tb.waitsFor) != 0 {
		t.Errorf("table not empty: %d files, %d processes, %d waiting", len(tb.files), len(tb.held), len(tb.waitsFor))
	}
}

var errInterrupted = errors.New("interrupted")

// sleeper is a BlockFunc for tests: it reports each sleep on asleep and
// returns errInterrupted when intr is closed.
type sleeper struct {
	asleep chan struct{}
	intr   chan struct{}
}

func newSleeper() *sleeper {
	return &sleeper{asleep: make(chan struct{}, 100), intr: make(chan struct{})}
}

func (s *sleeper) block(wake <-chan struct{}) error {
	s.asleep <- struct{}{}
	select {
	case <-wake:
		return nil
	case <-s.intr:
		return errInterrupted
	}
}

// waitAsleep waits until s has gone to sleep once more.
func (s *sleeper) waitAsleep(t *testing.T) {
	t.Helper()
	select {
	case <-s.asleep:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never went to sleep")
	}
}

// result waits for the result of a request running in a goroutine.
func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the request never returned")
		return nil
	}
}

func notDone(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("the request returned (%v) while it should wait", err)
	default:
	}
}

func TestBlockWakeOnRelease(t *testing.T) {
	var tb Table
	p1, p2 := &proc{1}, &proc{2}
	mustSet(t, &tb, fileA, p1.owner(), Write, 0, 99)
	s := newSleeper()
	done := make(chan error, 1)
	go func() { done <- tb.Set(fileA, p2.owner(), Read, Range{50, 59}, s.block) }()
	s.waitAsleep(t)
	// Changes that do not free [50,59] leave it waiting (it may be woken
	// to retry, but must sleep again).
	mustSet(t, &tb, fileA, p1.owner(), Unlock, 0, 9)
	mustSet(t, &tb, fileA, p1.owner(), Write, 200, 299)
	notDone(t, done)
	// A downgrade to a read lock lets a reader in.
	mustSet(t, &tb, fileA, p1.owner(), Read, 50, 54)
	s.waitAsleep(t) // [55,59] is still write-locked
	notDone(t, done)
	mustSet(t, &tb, fileA, p1.owner(), Unlock, 55, 99)
	if err := result(t, done); err != nil {
		t.Fatalf("Set after the release: %v", err)
	}
	if got, want := dump(&tb, fileA), "p1:W[10,49] p1:R[50,54] p1:W[200,299] p2:R[50,59]"; got != want {
		t.Errorf("locks %q, want %q", got, want)
	}
	tb.ReleaseProcess(p1)
	tb.ReleaseProcess(p2)
	checkEmpty(t, &tb)
}

func TestBlockWakeOnClose(t *testing.T) {
	var tb Table
	p1, p2 := &proc{1}, &proc{2}
	d := &desc{"d"}
	mustSet(t, &tb, fileA, p1.owner(), Write, 0, eof)
	mustSet(t, &tb, fileB, OFDOwner(d), Write, 0, eof)
	s1, s2 := newSleeper(), newSleeper()
	done1, done2 := make(chan error, 1), make(chan error, 1)
	go func() { done1 <- tb.Set(fileA, p2.owner(), Write, Range{0, 0}, s1.block) }()
	go func() { done2 <- tb.Set(fileB, OFDOwner(&desc{"e"}), Write, Range{0, 0}, s2.block) }()
	s1.waitAsleep(t)
	s2.waitAsleep(t)
	tb.ReleasePOSIX(fileA, p1)
	if err := result(t, done1); err != nil {
		t.Errorf("POSIX waiter after close: %v", err)
	}
	notDone(t, done2)
	tb.ReleaseFile(fileB, d)
	if err := result(t, done2); err != nil {
		t.Errorf("OFD waiter after the last close: %v", err)
	}
}

func TestInterrupt(t *testing.T) {
	var tb Table
	p1, p2 := &proc{1}, &proc{2}
	mustSet(t, &tb, fileA, p1.owner(), Write, 0, 9)
	s := newSleeper()
	done := make(chan error, 1)
	go func() { done <- tb.Set(fileA, p2.owner(), Write, Range{0, 0}, s.block) }()
	s.waitAsleep(t)
	close(s.intr)
	if err := result(t, done); err != errInterrupted {
		t.Fatalf("interrupted Set = %v, want the block func's error", err)
	}
	// The waiter is gone: its edge too, and the entry goes with the
	// last lock.
	tb.ReleasePOSIX(fileA, p1)
	checkEmpty(t, &tb)
}

func TestDeadlock(t *testing.T) {
	var tb Table
	p1, p2 := &proc{1}, &proc{2}
	mustSet(t, &tb, fileA, p1.owner(), Write, 0, 9)
	mustSet(t, &tb, fileA, p2.owner(), Write, 10, 19)
	s := newSleeper()
	done := make(chan error, 1)
	go func() { done <- tb.Set(fileA, p1.owner(), Write, Range{10, 10}, s.block) }()
	s.waitAsleep(t)
	// p2 waiting for p1, which waits for p2: EDEADLK, and p2's locks
	// are untouched.
	if err := tb.Set(fileA, p2.owner(), Write, Range{0, 0}, newSleeper().block); err != unix.EDEADLK {
		t.Fatalf("closing the cycle: %v, want EDEADLK", err)
	}
	// Without waiting there is no deadlock, only a conflict.
	if err := tb.Set(fileA, p2.owner(), Write, Range{0, 0}, nil); err != unix.EAGAIN {
		t.Fatalf("F_SETLK: %v, want EAGAIN", err)
	}
	// An OFD request never reports a deadlock.
	d := &desc{"d"}
	mustSet(t, &tb, fileA, OFDOwner(d), Write, 30, 39)
	s2 := newSleeper()
	done2 := make(chan error, 1)
	go func() { done2 <- tb.Set(fileA, OFDOwner(d), Write, Range{0, 0}, s2.block) }()
	s2.waitAsleep(t)
	tb.ReleasePOSIX(fileA, p2)
	if err := result(t, done); err != nil {
		t.Fatalf("p1 after p2 released: %v", err)
	}
	tb.ReleasePOSIX(fileA, p1)
	if err := result(t, done2); err != nil {
		t.Fatalf("OFD waiter after p1 released: %v", err)
	}
	tb.ReleaseFile(fileA, d)
	checkEmpty(t, &tb)
}

// TestDeadlockChain: a cycle of three processes over two files.
func TestDeadlockChain(t *testing.T) {
	var tb Table
	p1, p2, p3 := &proc{1}, &proc{2}, &proc{3}
	mustSet(t, &tb, fileA, p1.owner(), Write, 0, 0)
	mustSet(t, &tb, fileA, p2.owner(), Write, 1, 1)
	mustSet(t, &tb, fileB, p3.owner(), Write, 0, 0)
	s1, s2 := newSleeper(), newSleeper()
	done1, done2 := make(chan error, 1), make(chan error, 1)
	go func() { done1 <- tb.Set(fileA, p1.owner(), Write, Range{1, 1}, s1.block) }() // p1 → p2
	s1.waitAsleep(t)
	go func() { done2 <- tb.Set(fileB, p2.owner(), Read, Range{0, 0}, s2.block) }() // p2 → p3
	s2.waitAsleep(t)
	if err := tb.Set(fileA, p3.owner(), Read, Range{0, 0}, newSleeper().block); err != unix.EDEADLK {
		t.Fatalf("p3 → p1 closing the cycle: %v, want EDEADLK", err)
	}
	// A request outside the cycle just waits: p3 on a lock of p4.
	p4 := &proc{4}
	mustSet(t, &tb, fileB, p4.owner(), Write, 5, 5)
	s3 := newSleeper()
	done3 := make(chan error, 1)
	go func() { done3 <- tb.Set(fileB, p3.owner(), Write, Range{5, 5}, s3.block) }()
	s3.waitAsleep(t)
	tb.ReleaseProcess(p4)
	if err := result(t, done3); err != nil {
		t.Fatalf("p3 after p4 exited: %v", err)
	}
	tb.ReleaseProcess(p3)
	if err := result(t, done2); err != nil {
		t.Fatalf("p2 after p3 exited: %v", err)
	}
	tb.ReleaseProcess(p2)
	if err := result(t, done1); err != nil {
		t.Fatalf("p1 after p2 exited: %v", err)
	}
	tb.ReleaseProcess(p1)
	checkEmpty(t, &tb)
}

// TestNoStaleDeadlock: once a waiter has been woken because its blocker
// went away, its edge must not make another request fail.
func TestNoStaleDeadlock(t *testing.T) {
	var tb Table
	p1, p2 := &proc{1}, &proc{2}
	mustSet(t, &tb, fileA, p1.owner(), Write, 0, 0)
	mustSet(t, &tb, fileA, p2.owner(), Write, 1, 1)
	// p1 waits for p2's byte 1 with a block func that does not return
	// after the wake until we say so.
	woken, proceed := make(chan struct{}), make(chan struct{})
	var once bool
	block := func(wake <-chan struct{}) error {
		if once {
			return nil
		}
		once = true
		<-wake
		close(woken)
		<-proceed
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- tb.Set(fileA, p1.owner(), Write, Range{1, 1}, block) }()
	// Wait for p1 to be asleep: its edge appears.
	for deadline := time.Now().Add(10 * time.Second); ; {
		tb.mu.Lock()
		n := len(tb.waitsFor)
		tb.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("p1 never waited")
		}
		time.Sleep(time.Millisecond)
	}
	mustSet(t, &tb, fileA, p2.owner(), Unlock, 1, 1)
	<-woken
	// p1 has not retried yet; p2 now waits for p1's byte 0: no deadlock.
	s := newSleeper()
	done2 := make(chan error, 1)
	go func() { done2 <- tb.Set(fileA, p2.owner(), Write, Range{0, 0}, s.block) }()
	s.waitAsleep(t)
	close(proceed)
	if err := result(t, done); err != nil {
		t.Fatalf("p1: %v", err)
	}
	tb.ReleaseProcess(p1)
	if err := result(t, done2); err != nil {
		t.Fatalf("p2: %v", err)
	}
	tb.ReleaseProcess(p2)
	checkEmpty(t, &tb)
}

// list renders the locks another process sees on id, walking F_GETLK from
// byte 0 as test/programs/filelock.c does.
func list(tb *Table, id vfs.FileID, viewer Owner) string {
	var b strings.Builder
	for pos := int64(0); ; {
		l, ok, err := tb.Test(id, viewer, Write, Range{pos, eof})
		if err != nil || !ok {
			return b.String()
		}
		fmt.Fprintf(&b, " %s[%d,", map[Type]string{Read: "R", Write: "W"}[l.Type], l.Range.Start)
		if l.Range.Len() == 0 {
			b.WriteString("eof]")
			return b.String()
		}
		fmt.Fprintf(&b, "+%d]", l.Range.Len())
		pos = l.Range.End + 1
	}
}

// TestFilelockProgram replays the parent's requests of rounds 1 to 4 of
// test/programs/filelock.c and expects what the child prints natively.
func TestFilelockProgram(t *testing.T) {
	var tb Table
	parent, child := &proc{1}, &proc{2}
	set := func(typ Type, start, length int64) {
		t.Helper()
		r, err := RangeOf(unix.SEEK_SET, start, length, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if err := tb.Set(fileA, parent.owner(), typ, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	set(Write, 10, 10)
	r, _ := RangeOf(unix.SEEK_CUR, -20, 10, 50, 100)
	if err := tb.Set(fileA, parent.owner(), Read, r, nil); err != nil {
		t.Fatal(err)
	}
	set(Read, 40, 0)
	if got, want := list(&tb, fileA, child.owner()), " W[10,+10] R[30,eof]"; got != want {
		t.Errorf("round 1: %q, want %q", got, want)
	}
	set(Unlock, 12, 3)
	set(Write, 50, 10)
	set(Read, 19, 1)
	if got, want := list(&tb, fileA, child.owner()), " W[10,+2] W[15,+4] R[19,+1] R[30,+20] W[50,+10] R[60,eof]"; got != want {
		t.Errorf("round 2: %q, want %q", got, want)
	}
	set(Write, 19, 23)
	if got, want := list(&tb, fileA, child.owner()), " W[10,+2] W[15,+27] R[42,+8] W[50,+10] R[60,eof]"; got != want {
		t.Errorf("round 3: %q, want %q", got, want)
	}
	set(Read, 0, 0)
	if got, want := list(&tb, fileA, child.owner()), " R[0,eof]"; got != want {
		t.Errorf("round 4: %q, want %q", got, want)
	}
}
