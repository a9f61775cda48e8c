package futex

import (
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestLockPIUncontended(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	b := newBlocker()
	if err := m.LockPI(mem, b, a, true, 7, time.Time{}); err != nil {
		t.Fatalf("LockPI = %v", err)
	}
	if w := mem.load(a); w != 7 {
		t.Fatalf("word = %#x, want 7", w)
	}
	if err := m.LockPI(mem, b, a, true, 7, time.Time{}); err != unix.EDEADLK {
		t.Errorf("relock = %v, want EDEADLK", err)
	}
	if err := m.TryLockPI(mem, a, true, 7); err != unix.EDEADLK {
		t.Errorf("re-trylock = %v, want EDEADLK", err)
	}
	if err := m.UnlockPI(mem, a, true, 8); err != unix.EPERM {
		t.Errorf("unlock by another = %v, want EPERM", err)
	}
	if err := m.UnlockPI(mem, a, true, 7); err != nil || mem.load(a) != 0 {
		t.Errorf("unlock = %v, word %#x", err, mem.load(a))
	}
	if err := m.UnlockPI(mem, a, true, 7); err != unix.EPERM {
		t.Errorf("unlock of a free lock = %v, want EPERM", err)
	}
	// An unlock clears Waiters and OwnerDied when nobody waits.
	mem.store(a, 7|Waiters|OwnerDied)
	if err := m.UnlockPI(mem, a, true, 7); err != nil || mem.load(a) != 0 {
		t.Errorf("unlock with stale Waiters = %v, word %#x", err, mem.load(a))
	}
	if err := m.TryLockPI(mem, a, true, 9); err != nil || mem.load(a) != 9 {
		t.Errorf("trylock = %v, word %#x", err, mem.load(a))
	}
	if err := m.LockPI(mem, b, 0x100, true, 7, time.Time{}); err != unix.EFAULT {
		t.Errorf("LockPI on a bad address = %v", err)
	}
	if err := m.LockPI(mem, b, a+1, true, 7, time.Time{}); err != unix.EINVAL {
		t.Errorf("LockPI misaligned = %v", err)
	}
	checkEmpty(t, m)
}

func TestLockPIOwnerDiedKept(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	mem.store(a, OwnerDied)
	if err := m.LockPI(mem, newBlocker(), a, true, 5, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if w := mem.load(a); w != 5|OwnerDied {
		t.Errorf("word = %#x, want 5|OwnerDied", w)
	}
}

func TestTryLockPIHeld(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	mem.store(a, 3)
	if err := m.TryLockPI(mem, a, true, 5); err != unix.EAGAIN {
		t.Errorf("trylock = %v, want EAGAIN", err)
	}
	// As in Linux, the failed attempt leaves Waiters set.
	if w := mem.load(a); w != 3|Waiters {
		t.Errorf("word = %#x, want 3|Waiters", w)
	}
	if err := m.UnlockPI(mem, a, true, 3); err != nil || mem.load(a) != 0 {
		t.Errorf("unlock = %v, word %#x", err, mem.load(a))
	}
	checkEmpty(t, m)
}

func TestLockPIOwnerGone(t *testing.T) {
	m := NewManager(func(tid uint32) bool { return tid < 100 })
	mem := newFakeMem(1)
	a := mem.addr(0)
	mem.store(a, 12345)
	if err := m.LockPI(mem, newBlocker(), a, true, 5, time.Time{}); err != unix.ESRCH {
		t.Errorf("LockPI = %v, want ESRCH", err)
	}
	if w := mem.load(a); w != 12345|Waiters {
		t.Errorf("word = %#x, want Waiters set", w)
	}
	checkEmpty(t, m)
}

// TestLockPIHandOver passes a PI lock from owner to waiters in FIFO order;
// each unlock writes the next owner's TID with Waiters.
func TestLockPIHandOver(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	if err := m.LockPI(mem, newBlocker(), a, true, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := map[uint32]<-chan error{}
	for i, tid := range []uint32{2, 3, 4} {
		done[tid] = async(func() error { return m.LockPI(mem, newBlocker(), a, true, tid, time.Time{}) })
		awaitQueued(t, m, key, i+1)
	}
	if w := mem.load(a); w != 1|Waiters {
		t.Fatalf("word = %#x, want 1|Waiters", w)
	}
	// A waiter's unlock attempt: not the owner.
	if err := m.UnlockPI(mem, a, true, 3); err != unix.EPERM {
		t.Errorf("unlock by a waiter = %v", err)
	}
	prev := uint32(1)
	for _, tid := range []uint32{2, 3, 4} {
		if err := m.UnlockPI(mem, a, true, prev); err != nil {
			t.Fatalf("unlock by %d = %v", prev, err)
		}
		if err := recv(t, done[tid]); err != nil {
			t.Fatalf("LockPI(%d) = %v", tid, err)
		}
		if w := mem.load(a); w != tid|Waiters {
			t.Fatalf("word = %#x, want %d|Waiters", w, tid)
		}
		prev = tid
	}
	if err := m.UnlockPI(mem, a, true, 4); err != nil || mem.load(a) != 0 {
		t.Errorf("last unlock = %v, word %#x", err, mem.load(a))
	}
	checkEmpty(t, m)
}

func TestLockPITimeoutAndInterrupt(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	mem.store(a, 1)
	if err := m.LockPI(mem, newBlocker(), a, true, 2, time.Now().Add(5*time.Millisecond)); err != ErrTimedOut {
		t.Errorf("LockPI = %v, want ErrTimedOut", err)
	}
	b := newBlocker()
	done := async(func() error { return m.LockPI(mem, b, a, true, 2, time.Time{}) })
	awaitQueued(t, m, key, 1)
	b.interrupt()
	if err := recv(t, done); err != ErrInterrupted {
		t.Errorf("LockPI = %v, want ErrInterrupted", err)
	}
	checkEmpty(t, m)
	// The owner finds nobody and frees the word.
	if w := mem.load(a); w != 1|Waiters {
		t.Errorf("word = %#x", w)
	}
	if err := m.UnlockPI(mem, a, true, 1); err != nil || mem.load(a) != 0 {
		t.Errorf("unlock = %v, word %#x", err, mem.load(a))
	}
}

func TestLockPIInconsistent(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(2)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	mem.store(a, 1)
	done := async(func() error { return m.LockPI(mem, newBlocker(), a, true, 2, time.Time{}) })
	awaitQueued(t, m, key, 1)
	// User space rewrites the owner behind the kernel's back.
	mem.store(a, 9|Waiters)
	if err := m.LockPI(mem, newBlocker(), a, true, 3, time.Time{}); err != unix.EINVAL {
		t.Errorf("LockPI on a forged word = %v, want EINVAL", err)
	}
	if err := m.UnlockPI(mem, a, true, 9); err != unix.EINVAL {
		t.Errorf("UnlockPI by the forged owner = %v, want EINVAL", err)
	}
	// PI waiters do not answer non-PI wakes, and the reverse.
	if _, err := m.Wake(key, 1, BitsetMatchAny); err != unix.EINVAL {
		t.Errorf("Wake on a PI futex = %v, want EINVAL", err)
	}
	if _, err := m.Requeue(mem, a, mem.addr(1), true, 1, 1, nil); err != unix.EINVAL {
		t.Errorf("Requeue of a PI futex = %v, want EINVAL", err)
	}
	b := mem.addr(1)
	kb := mustKey(t, mem, b, true)
	plain := async(func() error { return m.Wait(mem, newBlocker(), b, true, 0, BitsetMatchAny, time.Time{}) })
	awaitQueued(t, m, kb, 1)
	if err := m.LockPI(mem, newBlocker(), b, true, 3, time.Time{}); err != unix.EINVAL {
		t.Errorf("LockPI with non-PI waiters = %v, want EINVAL", err)
	}
	m.Wake(kb, 1, BitsetMatchAny)
	recv(t, plain)
	mem.store(a, 1|Waiters)
	if err := m.UnlockPI(mem, a, true, 1); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	m.UnlockPI(mem, a, true, 2)
	checkEmpty(t, m)
}

// TestExitPI has the owner of a contended PI lock die: its robust list
// marks the word, ExitPI hands the lock to the oldest waiter, which
// writes its TID with OwnerDied; the next waiter keeps waiting.
func TestExitPI(t *testing.T) {
	dead := map[uint32]bool{}
	var deadMu sync.Mutex
	m := NewManager(func(tid uint32) bool {
		deadMu.Lock()
		defer deadMu.Unlock()
		return !dead[tid]
	})
	mem := newFakeMem(16)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	mem.store(a, 1)
	w2 := async(func() error { return m.LockPI(mem, newBlocker(), a, true, 2, time.Time{}) })
	awaitQueued(t, m, key, 1)
	w3 := async(func() error { return m.LockPI(mem, newBlocker(), a, true, 3, time.Time{}) })
	awaitQueued(t, m, key, 2)

	// Robust list of thread 1: head at word 4, one PI entry at word 8
	// whose futex is word 0 (offset -32).
	head, entry := mem.addr(4), mem.addr(8)
	mem.store64(head, uint64(entry)|1)
	mem.store64(head+8, uint64(a-entry))
	mem.store64(head+16, 0)
	mem.store64(entry, uint64(head))
	deadMu.Lock()
	dead[1] = true
	deadMu.Unlock()
	m.ExitRobustList(mem, head, 1)
	if w := mem.load(a); w != Waiters|OwnerDied {
		t.Fatalf("word after robust exit = %#x, want Waiters|OwnerDied", w)
	}
	m.ExitPI(1)
	if err := recv(t, w2); err != nil {
		t.Fatalf("LockPI(2) = %v", err)
	}
	if w := mem.load(a); w != 2|Waiters|OwnerDied {
		t.Fatalf("word = %#x, want 2|Waiters|OwnerDied", w)
	}
	stillBlocked(t, w3)
	if err := m.UnlockPI(mem, a, true, 2); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, w3); err != nil {
		t.Fatal(err)
	}
	if w := mem.load(a); w != 3|Waiters {
		t.Fatalf("word = %#x, want 3|Waiters", w)
	}
	m.UnlockPI(mem, a, true, 3)
	checkEmpty(t, m)
}

// Without a robust list, the word still names the dead owner; the waiter
// that inherits the lock fixes it up.
func TestExitPIWithoutRobustList(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	mem.store(a, 1)
	w2 := async(func() error { return m.LockPI(mem, newBlocker(), a, true, 2, time.Time{}) })
	awaitQueued(t, m, key, 1)
	m.ExitPI(1)
	if err := recv(t, w2); err != nil {
		t.Fatal(err)
	}
	if w := mem.load(a); w != 2|Waiters|OwnerDied {
		t.Fatalf("word = %#x, want 2|Waiters|OwnerDied", w)
	}
	m.ExitPI(0) // no-op
	checkEmpty(t, m)
}

// TestPIMutexStress uses the PI futex as glibc does: a user-space CAS
// 0 -> TID to lock and TID -> 0 to unlock, the kernel only on contention.
func TestPIMutexStress(t *testing.T) {
	const goroutines, rounds = 8, 1000
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	counter := 0
	var wg sync.WaitGroup
	for g := range goroutines {
		tid := uint32(100 + g)
		wg.Go(func() {
			b := newBlocker()
			for range rounds {
				if prev, _ := mem.CompareAndSwapUint32(a, 0, tid); prev != 0 {
					if err := m.LockPI(mem, b, a, true, tid, time.Time{}); err != nil {
						t.Errorf("LockPI = %v", err)
						return
					}
				}
				if mem.load(a)&TIDMask != tid {
					t.Errorf("%d holds the lock but the word is %#x", tid, mem.load(a))
				}
				counter++
				if prev, _ := mem.CompareAndSwapUint32(a, tid, 0); prev != tid {
					if err := m.UnlockPI(mem, a, true, tid); err != nil {
						t.Errorf("UnlockPI = %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if counter != goroutines*rounds {
		t.Errorf("counter = %d, want %d", counter, goroutines*rounds)
	}
	if w := mem.load(a); w != 0 {
		t.Errorf("word = %#x, want 0", w)
	}
	checkEmpty(t, m)
}

// TestRequeuePICondvar is a condition-variable broadcast with a free PI
// mutex: the oldest waiter takes the mutex at once, the others are moved
// to wait for it and get it one unlock after another.
func TestRequeuePICondvar(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(2)
	cond, mutex := mem.addr(0), mem.addr(1)
	kc, km := mustKey(t, mem, cond, true), mustKey(t, mem, mutex, true)
	got := make(chan uint32, 3)
	var wg sync.WaitGroup
	for i, tid := range []uint32{2, 3, 4} {
		wg.Go(func() {
			if err := m.WaitRequeuePI(mem, newBlocker(), cond, true, 0, mutex, tid, time.Time{}); err != nil {
				t.Errorf("WaitRequeuePI(%d) = %v", tid, err)
				return
			}
			got <- tid
		})
		awaitQueued(t, m, kc, i+1)
	}
	if _, err := m.Wake(kc, 1, BitsetMatchAny); err != unix.EINVAL {
		t.Errorf("Wake on requeue-PI waiters = %v, want EINVAL", err)
	}
	if _, err := m.Requeue(mem, cond, mutex, true, 1, 1, nil); err != unix.EINVAL {
		t.Errorf("plain Requeue of requeue-PI waiters = %v, want EINVAL", err)
	}
	if _, err := m.CmpRequeuePI(mem, cond, mutex, true, 1, 10, 1); err != unix.EAGAIN {
		t.Errorf("CmpRequeuePI with wrong value = %v, want EAGAIN", err)
	}
	for _, bad := range []struct{ nrWake, nrRequeue int }{{2, 1}, {0, 1}, {1, -1}} {
		if _, err := m.CmpRequeuePI(mem, cond, mutex, true, bad.nrWake, bad.nrRequeue, 0); err != unix.EINVAL {
			t.Errorf("CmpRequeuePI(%d, %d) = %v, want EINVAL", bad.nrWake, bad.nrRequeue, err)
		}
	}
	if _, err := m.CmpRequeuePI(mem, cond, cond, true, 1, 1, 0); err != unix.EINVAL {
		t.Errorf("CmpRequeuePI to itself = %v, want EINVAL", err)
	}
	n, err := m.CmpRequeuePI(mem, cond, mutex, true, 1, 10, 0)
	if n != 3 || err != nil {
		t.Fatalf("CmpRequeuePI = %d, %v; want 3", n, err)
	}
	if tid := <-got; tid != 2 {
		t.Fatalf("first owner %d, want 2", tid)
	}
	if w := mem.load(mutex); w != 2|Waiters {
		t.Fatalf("word = %#x, want 2|Waiters", w)
	}
	awaitQueued(t, m, km, 2)
	for _, next := range []uint32{3, 4} {
		if err := m.UnlockPI(mem, mutex, true, next-1); err != nil {
			t.Fatal(err)
		}
		if tid := <-got; tid != next {
			t.Fatalf("owner %d, want %d", tid, next)
		}
	}
	m.UnlockPI(mem, mutex, true, 4)
	wg.Wait()
	checkEmpty(t, m)
}

// With the mutex held, nothing is woken and nrRequeue+1 waiters move, as
// in Linux; they get the mutex when its owner unlocks.
func TestRequeuePIHeld(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(2)
	cond, mutex := mem.addr(0), mem.addr(1)
	kc, km := mustKey(t, mem, cond, true), mustKey(t, mem, mutex, true)
	mem.store(mutex, 9)
	done := map[uint32]<-chan error{}
	for i, tid := range []uint32{2, 3} {
		done[tid] = async(func() error { return m.WaitRequeuePI(mem, newBlocker(), cond, true, 0, mutex, tid, time.Time{}) })
		awaitQueued(t, m, kc, i+1)
	}
	n, err := m.CmpRequeuePI(mem, cond, mutex, true, 1, 0, 0)
	if n != 1 || err != nil {
		t.Fatalf("CmpRequeuePI(1, 0) = %d, %v; want 1", n, err)
	}
	awaitQueued(t, m, km, 1)
	awaitQueued(t, m, kc, 1)
	if w := mem.load(mutex); w != 9|Waiters {
		t.Fatalf("word = %#x, want 9|Waiters", w)
	}
	if err := m.UnlockPI(mem, mutex, true, 9); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done[2]); err != nil {
		t.Fatal(err)
	}
	stillBlocked(t, done[3])
	// The lock passed to 2 with no waiter left; requeuing 3 makes new PI
	// state for owner 2.
	if _, err := m.CmpRequeuePI(mem, cond, mutex, true, 1, 1, 0); err != nil {
		t.Fatalf("CmpRequeuePI = %v", err)
	}
	awaitQueued(t, m, km, 1)
	m.UnlockPI(mem, mutex, true, 2)
	if err := recv(t, done[3]); err != nil {
		t.Fatal(err)
	}
	m.UnlockPI(mem, mutex, true, 3)
	checkEmpty(t, m)
}

func TestRequeuePIDeadlock(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(2)
	cond, mutex := mem.addr(0), mem.addr(1)
	kc := mustKey(t, mem, cond, true)
	mem.store(mutex, 9)
	b1 := newBlocker()
	w1 := async(func() error { return m.WaitRequeuePI(mem, b1, cond, true, 0, mutex, 9, time.Time{}) })
	awaitQueued(t, m, kc, 1)
	if _, err := m.CmpRequeuePI(mem, cond, mutex, true, 1, 1, 0); err != unix.EDEADLK {
		t.Errorf("requeue of the owner = %v, want EDEADLK", err)
	}
	b1.interrupt()
	if err := recv(t, w1); err != ErrInterrupted {
		t.Errorf("WaitRequeuePI = %v, want ErrInterrupted", err)
	}
	checkEmpty(t, m)
}

func TestWaitRequeuePIErrors(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(3)
	cond, mutex := mem.addr(0), mem.addr(1)
	kc, km := mustKey(t, mem, cond, true), mustKey(t, mem, mutex, true)
	b := newBlocker()
	if err := m.WaitRequeuePI(mem, b, cond, true, 0, cond, 2, time.Time{}); err != unix.EINVAL {
		t.Errorf("same futex = %v", err)
	}
	if err := m.WaitRequeuePI(mem, b, cond, true, 1, mutex, 2, time.Time{}); err != unix.EAGAIN {
		t.Errorf("wrong value = %v", err)
	}
	if err := m.WaitRequeuePI(mem, b, cond, true, 0, mutex, 2, time.Now().Add(time.Millisecond)); err != ErrTimedOut {
		t.Errorf("timeout = %v", err)
	}
	// Interrupted after the requeue: EAGAIN.
	mem.store(mutex, 9)
	done := async(func() error { return m.WaitRequeuePI(mem, b, cond, true, 0, mutex, 2, time.Time{}) })
	awaitQueued(t, m, kc, 1)
	if n, err := m.CmpRequeuePI(mem, cond, mutex, true, 1, 1, 0); n != 1 || err != nil {
		t.Fatalf("CmpRequeuePI = %d, %v", n, err)
	}
	awaitQueued(t, m, km, 1)
	b.interrupt()
	if err := recv(t, done); err != unix.EAGAIN {
		t.Errorf("interrupted after requeue = %v, want EAGAIN", err)
	}
	// Requeuing a waiter to a PI futex it did not name is EINVAL.
	done = async(func() error { return m.WaitRequeuePI(mem, b, cond, true, 0, mutex, 2, time.Time{}) })
	awaitQueued(t, m, kc, 1)
	if _, err := m.CmpRequeuePI(mem, cond, mem.addr(2), true, 1, 1, 0); err != unix.EINVAL {
		t.Errorf("requeue to another PI futex = %v, want EINVAL", err)
	}
	b.interrupt()
	if err := recv(t, done); err != ErrInterrupted {
		t.Errorf("interrupted before requeue = %v, want ErrInterrupted", err)
	}
	checkEmpty(t, m)
}

func TestAttachCheck(t *testing.T) {
	for _, tc := range []struct {
		uval, owner uint32
		want        error
	}{
		{5 | Waiters, 5, nil},
		{6 | Waiters, 5, unix.EINVAL},             // word names another owner
		{5 | Waiters, 0, unix.EINVAL},             // no owner without OwnerDied
		{Waiters | OwnerDied, 0, nil},             // hand-over from the dead in flight
		{5 | Waiters | OwnerDied, 0, unix.EINVAL}, // TID without an owner
		{Waiters | OwnerDied, 5, nil},             // owner not yet in the word
		{5 | OwnerDied, 5, nil},
		{6 | OwnerDied, 5, unix.EINVAL},
	} {
		if err := attachCheck(tc.uval, &piState{owner: tc.owner}); err != tc.want {
			t.Errorf("attachCheck(%#x, owner %d) = %v, want %v", tc.uval, tc.owner, err, tc.want)
		}
	}
}

// gatedBlocker holds a woken task until its gate opens, to observe the
// state between a wake and the task running.
type gatedBlocker struct{ gate chan struct{} }

func (g *gatedBlocker) Block(wake <-chan struct{}, deadline time.Time) error {
	<-wake
	<-g.gate
	return nil
}

// While a dead owner's lock is on its way to a waiter, newcomers queue
// behind it and nobody can unlock it.
func TestExitPIHandOverInFlight(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	mem.store(a, 1)
	g := &gatedBlocker{gate: make(chan struct{})}
	w2 := async(func() error { return m.LockPI(mem, g, a, true, 2, time.Time{}) })
	awaitQueued(t, m, key, 1)
	mem.store(a, Waiters|OwnerDied) // what the robust list leaves
	m.ExitPI(1)
	awaitQueued(t, m, key, 0)
	w3 := async(func() error { return m.LockPI(mem, newBlocker(), a, true, 3, time.Time{}) })
	awaitQueued(t, m, key, 1)
	if err := m.TryLockPI(mem, a, true, 4); err != unix.EAGAIN {
		t.Errorf("trylock during hand-over = %v, want EAGAIN", err)
	}
	close(g.gate)
	if err := recv(t, w2); err != nil {
		t.Fatal(err)
	}
	if w := mem.load(a); w != 2|Waiters|OwnerDied {
		t.Fatalf("word = %#x", w)
	}
	if err := m.UnlockPI(mem, a, true, 2); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, w3); err != nil {
		t.Fatal(err)
	}
	m.UnlockPI(mem, a, true, 3)
	checkEmpty(t, m)
}

// staleFirstLoad returns the word without Waiters on its first load, as
// if a waiter set the bit just after UnlockPI read it.
type staleFirstLoad struct {
	*fakeMem
	loads int
}

func (s *staleFirstLoad) LoadUint32(addr uintptr) (uint32, error) {
	v, err := s.fakeMem.LoadUint32(addr)
	if s.loads++; s.loads == 1 {
		v &^= Waiters
	}
	return v, err
}

func TestUnlockPIRacesWaitersBit(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(1)
	a := mem.addr(0)
	key := mustKey(t, mem, a, true)
	mem.store(a, 1)
	w2 := async(func() error { return m.LockPI(mem, newBlocker(), a, true, 2, time.Time{}) })
	awaitQueued(t, m, key, 1)
	// An unconditional unlock that read the word before Waiters was set
	// retries and hands over.
	if err := m.UnlockPI(&staleFirstLoad{fakeMem: mem}, a, true, 1); err != nil {
		t.Fatalf("UnlockPI = %v", err)
	}
	if err := recv(t, w2); err != nil {
		t.Fatal(err)
	}
	// Without waiters, a changed word is user space's problem: EAGAIN.
	mem.store(a, 2|Waiters)
	if err := m.UnlockPI(&staleFirstLoad{fakeMem: mem}, a, true, 2); err != unix.EAGAIN {
		t.Errorf("UnlockPI with a changed word = %v, want EAGAIN", err)
	}
	checkEmpty(t, m)
}
