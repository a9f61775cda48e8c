package futex

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// arena is memory that several fakeMems may map, like a shared mapping.
type arena struct{ words []uint32 }

// fakeMem is an address space with one mapping of an arena at base;
// anything else faults. Accesses are atomic, so the race detector sees a
// release/acquire edge wherever real memory would have one.
type fakeMem struct {
	a    *arena
	base uintptr
}

const fakeBase = 0x10000

func newFakeMem(nwords int) *fakeMem {
	return &fakeMem{a: &arena{words: make([]uint32, nwords)}, base: fakeBase}
}

// alias maps f's arena at another base, as another process would.
func (f *fakeMem) alias(base uintptr) *fakeMem { return &fakeMem{a: f.a, base: base} }

// addr returns the address of word i.
func (f *fakeMem) addr(i int) uintptr { return f.base + uintptr(4*i) }

func (f *fakeMem) word(addr uintptr) (*uint32, error) {
	if addr < f.base || addr%4 != 0 || (addr-f.base)/4 >= uintptr(len(f.a.words)) {
		return nil, unix.EFAULT
	}
	return &f.a.words[(addr-f.base)/4], nil
}

func (f *fakeMem) LoadUint32(addr uintptr) (uint32, error) {
	p, err := f.word(addr)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint32(p), nil
}

func (f *fakeMem) CompareAndSwapUint32(addr uintptr, old, new uint32) (uint32, error) {
	p, err := f.word(addr)
	if err != nil {
		return 0, err
	}
	for {
		cur := atomic.LoadUint32(p)
		if cur != old {
			return cur, nil
		}
		if atomic.CompareAndSwapUint32(p, old, new) {
			return old, nil
		}
	}
}

func (f *fakeMem) AtomicOp(addr uintptr, fn func(uint32) uint32) (uint32, error) {
	p, err := f.word(addr)
	if err != nil {
		return 0, err
	}
	for {
		old := atomic.LoadUint32(p)
		if atomic.CompareAndSwapUint32(p, old, fn(old)) {
			return old, nil
		}
	}
}

// FutexKey keys a private futex by address space and address and a shared
// one by arena and offset, so that, as in Linux, the two never meet.
func (f *fakeMem) FutexKey(addr uintptr, private bool) (Key, error) {
	if _, err := f.word(addr &^ 3); err != nil {
		return Key{}, err
	}
	if private {
		return Key{Space: f, Addr: uint64(addr)}, nil
	}
	return Key{Space: f.a, Addr: uint64(addr - f.base)}, nil
}

func (f *fakeMem) CopyIn(addr uintptr, dst []byte) (int, error) {
	for i := range dst {
		a := addr + uintptr(i)
		p, err := f.word(a &^ 3)
		if err != nil {
			return i, err
		}
		dst[i] = byte(atomic.LoadUint32(p) >> (8 * (a % 4)))
	}
	return len(dst), nil
}

func (f *fakeMem) load(addr uintptr) uint32 {
	p, err := f.word(addr)
	if err != nil {
		panic(err)
	}
	return atomic.LoadUint32(p)
}

func (f *fakeMem) store(addr uintptr, v uint32) {
	p, err := f.word(addr)
	if err != nil {
		panic(err)
	}
	atomic.StoreUint32(p, v)
}

// store64 writes a little-endian 64-bit value at an 8-aligned addr.
func (f *fakeMem) store64(addr uintptr, v uint64) {
	f.store(addr, uint32(v))
	f.store(addr+4, uint32(v>>32))
}

// fakeBlocker sleeps on the wake channel, a timer and its interrupt
// channel, which holds one pending "signal".
type fakeBlocker struct {
	intr chan struct{}
}

func newBlocker() *fakeBlocker { return &fakeBlocker{intr: make(chan struct{}, 1)} }

// interrupt makes a signal pending: the current or next Block returns
// ErrInterrupted.
func (f *fakeBlocker) interrupt() {
	select {
	case f.intr <- struct{}{}:
	default:
	}
}

func (f *fakeBlocker) Block(wake <-chan struct{}, deadline time.Time) error {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-wake:
		return nil
	case <-timeout:
		return ErrTimedOut
	case <-f.intr:
		return ErrInterrupted
	}
}

// async runs f in a goroutine and returns a channel with its result.
func async(f func() error) <-chan error {
	c := make(chan error, 1)
	go func() { c <- f() }()
	return c
}

// count returns the number of waiters queued on key.
func (m *Manager) count(key Key) int {
	b := m.bucketFor(key)
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for w := b.head; w != nil; w = w.next {
		if w.key == key {
			n++
		}
	}
	return n
}

// total returns the number of waiters and PI states in the Manager.
func (m *Manager) total() (waiters, pis int) {
	for i := range m.buckets {
		b := &m.buckets[i]
		b.mu.Lock()
		for w := b.head; w != nil; w = w.next {
			waiters++
		}
		pis += len(b.pis)
		b.mu.Unlock()
	}
	return waiters, pis
}

// awaitQueued waits until n waiters are queued on key. It polls: the
// waiters are other goroutines.
func awaitQueued(t *testing.T, m *Manager, key Key, n int) {
	t.Helper()
	for start := time.Now(); m.count(key) != n; runtime.Gosched() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%d waiters on %v, want %d", m.count(key), key, n)
		}
	}
}

// mustKey returns the key of addr.
func mustKey(t *testing.T, mem Memory, addr uintptr, private bool) Key {
	t.Helper()
	k, err := KeyOf(mem, addr, private)
	if err != nil {
		t.Fatalf("KeyOf(%#x): %v", addr, err)
	}
	return k
}

// recv returns the result of an async call, failing if it never comes.
func recv(t *testing.T, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("call did not return")
		return nil
	}
}

// stillBlocked fails if an async call already returned. It does not
// wait, so it only catches calls that return too early.
func stillBlocked(t *testing.T, c <-chan error) {
	t.Helper()
	select {
	case err := <-c:
		t.Fatalf("returned early: %v", err)
	default:
	}
}

// checkEmpty fails if waiters or PI states are left behind.
func checkEmpty(t *testing.T, m *Manager) {
	t.Helper()
	if w, p := m.total(); w != 0 || p != 0 {
		t.Errorf("left behind: %d waiters, %d PI states", w, p)
	}
}
