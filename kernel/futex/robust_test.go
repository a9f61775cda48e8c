package futex

import (
	"testing"
	"time"
)

// robustList lays out a robust list in a fakeMem: the head at word 0
// (24 bytes), entries of 16 bytes each from word 8 (a list pointer then
// the lock word, so futex_offset is 8).
type robustList struct {
	mem  *fakeMem
	head uintptr
}

const robustOffset = 8

func newRobustList(mem *fakeMem) *robustList {
	r := &robustList{mem: mem, head: mem.addr(0)}
	r.link(r.head, r.head, false)
	mem.store64(r.head+8, robustOffset)
	mem.store64(r.head+16, 0)
	return r
}

// entry returns the address of entry i; its lock word is entry(i)+8.
func (r *robustList) entry(i int) uintptr { return r.mem.addr(8 + 4*i) }
func (r *robustList) lock(i int) uintptr  { return r.entry(i) + robustOffset }

// link makes from point to to, with the PI bit.
func (r *robustList) link(from, to uintptr, pi bool) {
	v := uint64(to)
	if pi {
		v |= 1
	}
	r.mem.store64(from, v)
}

// chain links head -> entries... -> head.
func (r *robustList) chain(pi map[int]bool, entries ...int) {
	prev := r.head
	for _, e := range entries {
		r.link(prev, r.entry(e), pi[e])
		prev = r.entry(e)
	}
	r.link(prev, r.head, false)
}

func (r *robustList) pending(i int, pi bool) { r.link(r.head+16, r.entry(i), pi) }

// sharedWaiter starts a waiter on a robust lock, as glibc waits on robust
// mutexes: with a shared key.
func sharedWaiter(t *testing.T, m *Manager, mem *fakeMem, addr uintptr) <-chan error {
	val := mem.load(addr)
	c := async(func() error { return m.Wait(mem, newBlocker(), addr, false, val, BitsetMatchAny, time.Time{}) })
	awaitQueued(t, m, mustKey(t, mem, addr, false), 1)
	return c
}

func TestRobustList(t *testing.T) {
	const tid = 77
	m := NewManager(nil)
	mem := newFakeMem(64)
	r := newRobustList(mem)
	r.chain(nil, 0, 1, 2, 3)
	mem.store(r.lock(0), tid)         // held, uncontended
	mem.store(r.lock(1), tid|Waiters) // held, contended
	mem.store(r.lock(2), 99|Waiters)  // someone else's
	mem.store(r.lock(3), 0)           // free
	w1 := sharedWaiter(t, m, mem, r.lock(1))
	w2 := sharedWaiter(t, m, mem, r.lock(2))

	m.ExitRobustList(mem, r.head, tid)
	for i, want := range []uint32{OwnerDied, Waiters | OwnerDied, 99 | Waiters, 0} {
		if got := mem.load(r.lock(i)); got != want {
			t.Errorf("lock %d = %#x, want %#x", i, got, want)
		}
	}
	if err := recv(t, w1); err != nil {
		t.Errorf("waiter on the dead thread's lock: %v", err)
	}
	stillBlocked(t, w2)
	m.Wake(mustKey(t, mem, r.lock(2), false), 1, BitsetMatchAny)
	recv(t, w2)
	checkEmpty(t, m)
}

func TestRobustListPending(t *testing.T) {
	const tid = 77
	m := NewManager(nil)
	mem := newFakeMem(64)
	r := newRobustList(mem)

	// Died between unlocking in user space and waking: the waiter is
	// woken with the word untouched.
	r.chain(nil)
	r.pending(0, false)
	mem.store(r.lock(0), 0)
	w := sharedWaiter(t, m, mem, r.lock(0))
	m.ExitRobustList(mem, r.head, tid)
	if err := recv(t, w); err != nil || mem.load(r.lock(0)) != 0 {
		t.Errorf("pending unlocked lock: %v, word %#x", err, mem.load(r.lock(0)))
	}

	// Died after taking the lock, before linking it: OwnerDied. On the
	// list too, it is handled once.
	r.chain(nil, 1)
	r.pending(1, false)
	mem.store(r.lock(1), tid|Waiters)
	w = sharedWaiter(t, m, mem, r.lock(1))
	m.ExitRobustList(mem, r.head, tid)
	if err := recv(t, w); err != nil || mem.load(r.lock(1)) != Waiters|OwnerDied {
		t.Errorf("pending held lock: %v, word %#x", err, mem.load(r.lock(1)))
	}
	checkEmpty(t, m)
}

// PI entries get OwnerDied but no wake: ExitPI hands PI locks over.
func TestRobustListPI(t *testing.T) {
	const tid = 77
	m := NewManager(nil)
	mem := newFakeMem(64)
	r := newRobustList(mem)
	r.chain(map[int]bool{0: true}, 0)
	mem.store(r.lock(0), tid|Waiters)
	w := sharedWaiter(t, m, mem, r.lock(0)) // a (misused) plain waiter
	m.ExitRobustList(mem, r.head, tid)
	if got := mem.load(r.lock(0)); got != Waiters|OwnerDied {
		t.Errorf("word = %#x", got)
	}
	stillBlocked(t, w)
	m.Wake(mustKey(t, mem, r.lock(0), false), 1, BitsetMatchAny)
	recv(t, w)

	// A pending PI lock with TID 0 is left alone.
	r.chain(nil)
	r.pending(1, true)
	mem.store(r.lock(1), 0)
	w = sharedWaiter(t, m, mem, r.lock(1))
	m.ExitRobustList(mem, r.head, tid)
	stillBlocked(t, w)
	m.Wake(mustKey(t, mem, r.lock(1), false), 1, BitsetMatchAny)
	recv(t, w)
	checkEmpty(t, m)
}

// Hostile lists end the walk without hanging or panicking.
func TestRobustListHostile(t *testing.T) {
	const tid = 77
	t.Run("cycle", func(t *testing.T) {
		m := NewManager(nil)
		mem := newFakeMem(64)
		r := newRobustList(mem)
		r.link(r.head, r.entry(0), false)
		r.link(r.entry(0), r.entry(1), false)
		r.link(r.entry(1), r.entry(0), false) // never back to the head
		r.pending(2, false)
		mem.store(r.lock(0), tid)
		mem.store(r.lock(1), tid)
		mem.store(r.lock(2), tid)
		m.ExitRobustList(mem, r.head, tid)
		for i := range 3 {
			if got := mem.load(r.lock(i)); got != OwnerDied {
				t.Errorf("lock %d = %#x, want OwnerDied", i, got)
			}
		}
	})
	t.Run("self loop", func(t *testing.T) {
		m := NewManager(nil)
		mem := newFakeMem(64)
		r := newRobustList(mem)
		r.link(r.head, r.entry(0), false)
		r.link(r.entry(0), r.entry(0), false)
		mem.store(r.lock(0), tid)
		m.ExitRobustList(mem, r.head, tid)
		if got := mem.load(r.lock(0)); got != OwnerDied {
			t.Errorf("lock = %#x", got)
		}
	})
	t.Run("bad next", func(t *testing.T) {
		m := NewManager(nil)
		mem := newFakeMem(64)
		r := newRobustList(mem)
		r.link(r.head, r.entry(0), false)
		r.link(r.entry(0), 0xdead0000, false)
		r.pending(1, false)
		mem.store(r.lock(0), tid)
		mem.store(r.lock(1), tid)
		m.ExitRobustList(mem, r.head, tid)
		if got := mem.load(r.lock(0)); got != OwnerDied {
			t.Errorf("lock before the bad pointer = %#x", got)
		}
		// As in Linux, a broken list ends the walk before the pending op.
		if got := mem.load(r.lock(1)); got != tid {
			t.Errorf("pending lock = %#x, want untouched", got)
		}
	})
	t.Run("null next", func(t *testing.T) {
		m := NewManager(nil)
		mem := newFakeMem(64)
		r := newRobustList(mem)
		r.link(r.head, r.entry(0), false)
		r.link(r.entry(0), 0, false)
		mem.store(r.lock(0), tid)
		m.ExitRobustList(mem, r.head, tid)
		if got := mem.load(r.lock(0)); got != OwnerDied {
			t.Errorf("lock = %#x", got)
		}
	})
	t.Run("misaligned futex", func(t *testing.T) {
		m := NewManager(nil)
		mem := newFakeMem(64)
		r := newRobustList(mem)
		r.chain(nil, 0, 1)
		mem.store64(r.head+8, robustOffset+1)
		m.ExitRobustList(mem, r.head, tid) // stops at the first entry
	})
	t.Run("huge offset", func(t *testing.T) {
		m := NewManager(nil)
		mem := newFakeMem(64)
		r := newRobustList(mem)
		r.chain(nil, 0, 1)
		mem.store64(r.head+8, 1<<63)
		m.ExitRobustList(mem, r.head, tid)
	})
	t.Run("bad head", func(t *testing.T) {
		m := NewManager(nil)
		mem := newFakeMem(64)
		m.ExitRobustList(mem, 0, tid)
		m.ExitRobustList(mem, 0x100, tid)
		m.ExitRobustList(mem, mem.addr(62), tid) // runs off the end
	})
}

// The walk stops after RobustListLimit entries.
func TestRobustListLimit(t *testing.T) {
	const tid = 77
	const n = RobustListLimit + 10
	m := NewManager(nil)
	mem := newFakeMem(8 + 4*n)
	r := newRobustList(mem)
	entries := make([]int, n)
	for i := range entries {
		entries[i] = i
		mem.store(r.lock(i), tid)
	}
	r.chain(nil, entries...)
	r.pending(n-1, false)
	m.ExitRobustList(mem, r.head, tid)
	for i := range n {
		want := uint32(OwnerDied)
		if i >= RobustListLimit && i != n-1 {
			want = tid
		}
		if got := mem.load(r.lock(i)); got != want {
			t.Fatalf("lock %d = %#x, want %#x", i, got, want)
		}
	}
}
