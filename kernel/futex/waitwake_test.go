package futex

import (
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestWaitWake(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(4)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	done := async(func() error { return m.Wait(mem, newBlocker(), a, true, 0, BitsetMatchAny, time.Time{}) })
	awaitQueued(t, m, key, 1)
	stillBlocked(t, done)
	if n, err := m.Wake(key, 1, BitsetMatchAny); n != 1 || err != nil {
		t.Fatalf("Wake = %d, %v; want 1", n, err)
	}
	if err := recv(t, done); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if n, _ := m.Wake(key, 1, BitsetMatchAny); n != 0 {
		t.Errorf("Wake with no waiter = %d", n)
	}
	checkEmpty(t, m)
}

func TestWaitErrors(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(4)
	mem.store(mem.addr(0), 7)
	b := newBlocker()
	for _, tc := range []struct {
		name   string
		addr   uintptr
		val    uint32
		bitset uint32
		want   error
	}{
		{"value differs", mem.addr(0), 6, BitsetMatchAny, unix.EAGAIN},
		{"zero bitset", mem.addr(0), 7, 0, unix.EINVAL},
		{"misaligned", mem.addr(0) + 2, 7, BitsetMatchAny, unix.EINVAL},
		{"unmapped", 0x100, 7, BitsetMatchAny, unix.EFAULT},
	} {
		if err := m.Wait(mem, b, tc.addr, true, tc.val, tc.bitset, time.Time{}); err != tc.want {
			t.Errorf("%s: Wait = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := m.Wake(Key{}, 1, 0); err != unix.EINVAL {
		t.Errorf("Wake with zero bitset = %v, want EINVAL", err)
	}
	checkEmpty(t, m)
}

// TestNoLostWake runs the waiting side of a one-shot event against its
// setting side many times: the waiter checks a flag and waits while it is
// clear; the setter sets it and wakes. If a wake could fall between the
// waiter's check and its sleep, a waiter would sleep forever.
func TestNoLostWake(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(64)
	for round := range 500 {
		a := mem.addr(round % 64)
		mem.store(a, 0)
		key := mustKey(t, mem, a, true)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for mem.load(a) == 0 {
					if err := m.Wait(mem, newBlocker(), a, true, 0, BitsetMatchAny, time.Time{}); err != nil && err != unix.EAGAIN {
						t.Errorf("Wait = %v", err)
						return
					}
				}
			})
		}
		mem.store(a, 1)
		if _, err := m.Wake(key, 1<<30, BitsetMatchAny); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
	checkEmpty(t, m)
}

// TestWakeCountsUnderRace has many waiters and several wakers wake one
// at a time: every wake reported is one Wait returning nil.
func TestWakeCountsUnderRace(t *testing.T) {
	const waiters = 64
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	var wg sync.WaitGroup
	for range waiters {
		wg.Go(func() {
			if err := m.Wait(mem, newBlocker(), a, true, 0, BitsetMatchAny, time.Time{}); err != nil {
				t.Errorf("Wait = %v", err)
			}
		})
	}
	awaitQueued(t, m, key, waiters)
	var woken sync.WaitGroup
	total := make(chan int, 8)
	for range 8 {
		woken.Go(func() {
			n := 0
			for range waiters {
				k, _ := m.Wake(key, 1, BitsetMatchAny)
				n += k
			}
			total <- n
		})
	}
	woken.Wait()
	close(total)
	sum := 0
	for n := range total {
		sum += n
	}
	if sum != waiters {
		t.Errorf("woke %d, want %d", sum, waiters)
	}
	wg.Wait()
	checkEmpty(t, m)
}

// As in Linux, FUTEX_WAKE with nr <= 0 wakes one waiter.
func TestWakeNonPositiveWakesOne(t *testing.T) {
	for _, nr := range []int{0, -1} {
		m := NewManager(nil)
		mem := newFakeMem(1)
		a := mem.addr(0)
		key := mustKey(t, mem, a, true)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { m.Wait(mem, newBlocker(), a, true, 0, BitsetMatchAny, time.Time{}) })
		}
		awaitQueued(t, m, key, 2)
		if n, err := m.Wake(key, nr, BitsetMatchAny); n != 1 || err != nil {
			t.Errorf("Wake(nr=%d) = %d, %v; want 1", nr, n, err)
		}
		m.Wake(key, 1, BitsetMatchAny)
		wg.Wait()
	}
}

func TestWakeOrderFIFO(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			m.Wait(mem, newBlocker(), a, true, 0, BitsetMatchAny, time.Time{})
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		})
		awaitQueued(t, m, key, i+1)
	}
	for i := range 5 {
		m.Wake(key, 1, BitsetMatchAny)
		for {
			mu.Lock()
			n := len(order)
			mu.Unlock()
			if n == i+1 {
				break
			}
		}
	}
	wg.Wait()
	for i, v := range order {
		if v != i {
			t.Fatalf("woken in order %v", order)
		}
	}
}

func TestBitset(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	masks := []uint32{0b001, 0b010, 0b110, 0b100}
	done := make([]<-chan error, len(masks))
	for i, mask := range masks {
		done[i] = async(func() error { return m.Wait(mem, newBlocker(), a, true, 0, mask, time.Time{}) })
		awaitQueued(t, m, key, i+1)
	}
	if n, err := m.Wake(key, 10, 0b010); n != 2 || err != nil {
		t.Fatalf("Wake(0b010) = %d, %v; want 2", n, err)
	}
	recv(t, done[1])
	recv(t, done[2])
	stillBlocked(t, done[0])
	stillBlocked(t, done[3])
	if n, _ := m.Wake(key, 10, 0b1000); n != 0 {
		t.Errorf("Wake(0b1000) = %d, want 0", n)
	}
	if n, _ := m.Wake(key, 10, BitsetMatchAny); n != 2 {
		t.Errorf("Wake(all) = %d, want 2", n)
	}
	recv(t, done[0])
	recv(t, done[3])
	checkEmpty(t, m)
}

func TestWaitTimeout(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	for _, deadline := range []time.Time{time.Now().Add(-time.Second), time.Now().Add(10 * time.Millisecond)} {
		if err := m.Wait(mem, newBlocker(), a, true, 0, BitsetMatchAny, deadline); err != ErrTimedOut {
			t.Errorf("Wait = %v, want ErrTimedOut", err)
		}
	}
	// The value check comes first.
	if err := m.Wait(mem, newBlocker(), a, true, 1, BitsetMatchAny, time.Now().Add(-time.Second)); err != unix.EAGAIN {
		t.Errorf("Wait with wrong value = %v, want EAGAIN", err)
	}
	checkEmpty(t, m)
}

func TestWaitInterrupted(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	b := newBlocker()
	done := async(func() error { return m.Wait(mem, b, a, true, 0, BitsetMatchAny, time.Time{}) })
	awaitQueued(t, m, key, 1)
	b.interrupt()
	if err := recv(t, done); err != ErrInterrupted {
		t.Errorf("Wait = %v, want ErrInterrupted", err)
	}
	if n, _ := m.Wake(key, 1, BitsetMatchAny); n != 0 {
		t.Errorf("interrupted waiter still woken: %d", n)
	}
	checkEmpty(t, m)
}

// racyBlocker returns an error as soon as it is released, whether or not
// it was woken: the worst case of a signal arriving with a wake.
type racyBlocker struct {
	started chan struct{}
	release chan struct{}
	err     error
}

func (r *racyBlocker) Block(wake <-chan struct{}, deadline time.Time) error {
	close(r.started)
	<-r.release
	return r.err
}

// TestWakeRacesInterrupt races a wake against an interruption: whenever
// the waker counted the waiter as woken, Wait must report success.
func TestWakeRacesInterrupt(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	wokenCount := 0
	for i := range 2000 {
		r := &racyBlocker{started: make(chan struct{}), release: make(chan struct{}), err: ErrInterrupted}
		if i%2 == 1 {
			r.err = ErrTimedOut
		}
		done := async(func() error { return m.Wait(mem, r, a, true, 0, BitsetMatchAny, time.Time{}) })
		<-r.started
		nc := make(chan int)
		go func() {
			n, _ := m.Wake(key, 1, BitsetMatchAny)
			nc <- n
		}()
		close(r.release)
		n := <-nc
		err := recv(t, done)
		if (n == 1) != (err == nil) {
			t.Fatalf("round %d: Wake = %d but Wait = %v", i, n, err)
		}
		if err != nil && !errors.Is(err, r.err) {
			t.Fatalf("Wait = %v, want %v", err, r.err)
		}
		wokenCount += n
	}
	t.Logf("%d of 2000 rounds won by the wake", wokenCount)
	checkEmpty(t, m)
}

func TestSharedKeysAcrossAddressSpaces(t *testing.T) {
	m := NewManager(nil)
	mem1 := newFakeMem(2)
	mem2 := mem1.alias(0x900000)
	a1, a2 := mem1.addr(1), mem2.addr(1)
	done := async(func() error { return m.Wait(mem1, newBlocker(), a1, false, 0, BitsetMatchAny, time.Time{}) })
	shared := mustKey(t, mem2, a2, false)
	awaitQueued(t, m, shared, 1)
	// A private wake in either space does not reach a shared waiter.
	if n, _ := m.Wake(mustKey(t, mem1, a1, true), 1, BitsetMatchAny); n != 0 {
		t.Errorf("private wake woke a shared waiter")
	}
	if n, _ := m.Wake(mustKey(t, mem2, a2, true), 1, BitsetMatchAny); n != 0 {
		t.Errorf("private wake in another space woke a waiter")
	}
	if n, _ := m.Wake(shared, 1, BitsetMatchAny); n != 1 {
		t.Errorf("shared wake from another space = %d, want 1", n)
	}
	recv(t, done)
	checkEmpty(t, m)
}

// TestClearChildTID is the path of CLONE_CHILD_CLEARTID at thread exit:
// the kernel writes 0 and wakes one waiter with a shared key.
func TestClearChildTID(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	mem.store(a, 42)
	done := async(func() error {
		for {
			v := mem.load(a)
			if v == 0 {
				return nil
			}
			if err := m.Wait(mem, newBlocker(), a, false, v, BitsetMatchAny, time.Time{}); err != nil && err != unix.EAGAIN {
				return err
			}
		}
	})
	awaitQueued(t, m, mustKey(t, mem, a, false), 1)
	mem.store(a, 0)
	if n, err := m.Wake(mustKey(t, mem, a, false), 1, BitsetMatchAny); n != 1 || err != nil {
		t.Errorf("Wake = %d, %v", n, err)
	}
	if err := recv(t, done); err != nil {
		t.Error(err)
	}
}

func TestRequeue(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(2)
	a, b := mem.addr(0), mem.addr(1)
	ka, kb := mustKey(t, mem, a, true), mustKey(t, mem, b, true)
	var wg sync.WaitGroup
	var returned sync.WaitGroup
	returned.Add(5)
	for range 5 {
		wg.Go(func() {
			m.Wait(mem, newBlocker(), a, true, 0, BitsetMatchAny, time.Time{})
			returned.Done()
		})
	}
	awaitQueued(t, m, ka, 5)

	val := uint32(1)
	if n, err := m.Requeue(mem, a, b, true, 1, 2, &val); n != 0 || err != unix.EAGAIN {
		t.Errorf("CMP_REQUEUE with wrong value = %d, %v; want EAGAIN", n, err)
	}
	for _, nr := range [][2]int{{-1, 1}, {1, -1}} {
		if _, err := m.Requeue(mem, a, b, true, nr[0], nr[1], nil); err != unix.EINVAL {
			t.Errorf("Requeue(%d, %d) = %v, want EINVAL", nr[0], nr[1], err)
		}
	}
	val = 0
	if n, err := m.Requeue(mem, a, b, true, 1, 2, &val); n != 3 || err != nil {
		t.Fatalf("CMP_REQUEUE(1, 2) = %d, %v; want 3", n, err)
	}
	awaitQueued(t, m, ka, 2)
	awaitQueued(t, m, kb, 2)
	// Plain REQUEUE: nothing woken, all moved.
	if n, err := m.Requeue(mem, a, b, true, 0, 10, nil); n != 2 || err != nil {
		t.Fatalf("REQUEUE(0, 10) = %d, %v; want 2", n, err)
	}
	awaitQueued(t, m, kb, 4)
	if n, _ := m.Wake(ka, 10, BitsetMatchAny); n != 0 {
		t.Errorf("Wake(a) after requeue = %d", n)
	}
	if n, _ := m.Wake(kb, 10, BitsetMatchAny); n != 4 {
		t.Errorf("Wake(b) = %d, want 4", n)
	}
	wg.Wait()
	checkEmpty(t, m)
}

// A requeued waiter that times out leaves the queue it was moved to.
func TestRequeuedWaiterTimesOut(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(2)
	a, b := mem.addr(0), mem.addr(1)
	ka, kb := mustKey(t, mem, a, true), mustKey(t, mem, b, true)
	blk := newBlocker()
	done := async(func() error { return m.Wait(mem, blk, a, true, 0, BitsetMatchAny, time.Time{}) })
	awaitQueued(t, m, ka, 1)
	if n, err := m.Requeue(mem, a, b, true, 0, 1, nil); n != 1 || err != nil {
		t.Fatalf("Requeue = %d, %v", n, err)
	}
	awaitQueued(t, m, kb, 1)
	blk.interrupt()
	if err := recv(t, done); err != ErrInterrupted {
		t.Errorf("Wait = %v", err)
	}
	checkEmpty(t, m)
}

func TestWakeOpApplyTruthTable(t *testing.T) {
	type tc struct {
		op, oparg, cmp, cmparg uint32
		old                    uint32
		wantNew                uint32
		wantCond               bool
	}
	const neg1 = 0xfff // -1 in 12 bits
	cases := []tc{
		{OpSet, 5, CmpEq, 3, 3, 5, true},
		{OpSet, 5, CmpEq, 3, 4, 5, false},
		{OpAdd, 5, CmpNe, 3, 3, 8, false},
		{OpAdd, 5, CmpNe, 3, 4, 9, true},
		{OpAdd, neg1, CmpEq, 0, 0, 0xffffffff, true},
		{OpOr, 0b100, CmpLt, 2, 1, 0b101, true},
		{OpOr, 0b100, CmpLt, 2, 2, 0b110, false},
		{OpAndn, 0b011, CmpLe, 7, 7, 0b100, true},
		{OpAndn, 0b011, CmpLe, 7, 8, 8, false},
		{OpXor, 0xff, CmpGt, 1, 2, 0xfd, true},
		{OpXor, 0xff, CmpGt, 1, 1, 0xfe, false},
		{OpSet, 0, CmpGe, 1, 1, 0, true},
		{OpSet, 0, CmpGe, 1, 0, 0, false},
		// Comparisons are signed, with a sign-extended cmparg.
		{OpSet, 0, CmpLt, 0, 0xffffffff, 0, true},
		{OpSet, 0, CmpGt, neg1, 0, 0, true},
		{OpSet, 0, CmpEq, neg1, 0xffffffff, 0, true},
		{OpSet, 0, CmpGe, 0, 0x80000000, 0, false},
		// FUTEX_OP_OPARG_SHIFT: the operand is 1 << oparg, oparg masked to 5 bits.
		{OpSet | OpArgShift, 4, CmpEq, 0, 0, 16, true},
		{OpOr | OpArgShift, 31, CmpEq, 0, 1, 0x80000001, false},
		{OpSet | OpArgShift, 40, CmpEq, 0, 0, 256, true},
		{OpSet | OpArgShift, neg1, CmpEq, 0, 0, 0x80000000, true},
	}
	for _, c := range cases {
		mem := newFakeMem(1)
		a := mem.addr(0)
		mem.store(a, c.old)
		enc := EncodeWakeOp(c.op, c.oparg, c.cmp, c.cmparg)
		cond, err := wakeOpApply(mem, a, enc)
		if err != nil || cond != c.wantCond || mem.load(a) != c.wantNew {
			t.Errorf("%+v: cond %v, err %v, word %#x; want %v, %#x", c, cond, err, mem.load(a), c.wantCond, c.wantNew)
		}
	}

	mem := newFakeMem(1)
	a := mem.addr(0)
	mem.store(a, 5)
	if _, err := wakeOpApply(mem, a, EncodeWakeOp(7, 1, CmpEq, 0)); err != unix.ENOSYS || mem.load(a) != 5 {
		t.Errorf("unknown op: %v, word %d; want ENOSYS and the word untouched", err, mem.load(a))
	}
	if _, err := wakeOpApply(mem, a, EncodeWakeOp(OpAdd, 1, 7, 0)); err != unix.ENOSYS || mem.load(a) != 6 {
		t.Errorf("unknown cmp: %v, word %d; want ENOSYS after the op", err, mem.load(a))
	}
	if _, err := wakeOpApply(mem, 0x100, EncodeWakeOp(OpAdd, 1, CmpEq, 0)); err != unix.EFAULT {
		t.Errorf("bad address: %v", err)
	}
}

func TestWakeOp(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(2)
	a, b := mem.addr(0), mem.addr(1)
	ka, kb := mustKey(t, mem, a, true), mustKey(t, mem, b, true)
	start := func(addr uintptr, n int) *sync.WaitGroup {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if err := m.Wait(mem, newBlocker(), addr, true, 0, 0b1, time.Time{}); err != nil {
					t.Errorf("Wait = %v", err)
				}
			})
		}
		return &wg
	}
	wa, wb := start(a, 3), start(b, 3)
	awaitQueued(t, m, ka, 3)
	awaitQueued(t, m, kb, 3)

	// old 0 == 1 fails: wake 2 on a only; the op still ran.
	mem.store(b, 0)
	n, err := m.WakeOp(mem, a, b, true, 2, 2, EncodeWakeOp(OpSet, 0, CmpEq, 1))
	if n != 2 || err != nil {
		t.Fatalf("WakeOp = %d, %v; want 2", n, err)
	}
	// WakeOp wakes whatever the waiters' bitsets: b's word is 0 again,
	// so the comparison holds and b's waiters are reached.
	n, err = m.WakeOp(mem, a, b, true, 5, 2, EncodeWakeOp(OpAdd, 1, CmpEq, 0))
	if n != 3 || err != nil || mem.load(b) != 1 {
		t.Fatalf("WakeOp = %d, %v, word %d; want 1 + 2, word 1", n, err, mem.load(b))
	}
	wa.Wait()
	n, _ = m.WakeOp(mem, a, b, true, 1, 1, EncodeWakeOp(OpSet, 0, CmpEq, 1))
	if n != 1 {
		t.Fatalf("WakeOp = %d, want 1", n)
	}
	wb.Wait()
	if _, err := m.WakeOp(mem, a, 0x100, true, 1, 1, 0); err != unix.EFAULT {
		t.Errorf("WakeOp on bad addr2 = %v", err)
	}
	checkEmpty(t, m)
}

// TestMutexStress builds a mutex from WAIT and WAKE (Drepper's "Futexes
// are tricky", mutex 3) and has 8 goroutines increment a plain counter
// under it. A broken wait or wake hangs; a broken exclusion is a wrong
// count or a race report.
func TestMutexStress(t *testing.T) {
	const goroutines, rounds = 8, 2000
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	xchg := func(v uint32) uint32 {
		old, _ := mem.AtomicOp(a, func(uint32) uint32 { return v })
		return old
	}
	lock := func() {
		c, _ := mem.CompareAndSwapUint32(a, 0, 1)
		if c == 0 {
			return
		}
		if c != 2 {
			c = xchg(2)
		}
		for c != 0 {
			if err := m.Wait(mem, newBlocker(), a, true, 2, BitsetMatchAny, time.Time{}); err != nil && err != unix.EAGAIN {
				t.Errorf("Wait = %v", err)
			}
			c = xchg(2)
		}
	}
	unlock := func() {
		if old, _ := mem.AtomicOp(a, func(v uint32) uint32 { return v - 1 }); old != 1 {
			mem.store(a, 0)
			m.Wake(key, 1, BitsetMatchAny)
		}
	}
	counter := 0
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range rounds {
				lock()
				counter++
				unlock()
			}
		})
	}
	wg.Wait()
	if counter != goroutines*rounds {
		t.Errorf("counter = %d, want %d", counter, goroutines*rounds)
	}
	checkEmpty(t, m)
}
