package futex

import (
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Operations and flags of futex(2). Linux: include/uapi/linux/futex.h.
const (
	CmdWait          = 0
	CmdWake          = 1
	CmdFD            = 2 // removed in Linux 2.6.26: ENOSYS
	CmdRequeue       = 3
	CmdCmpRequeue    = 4
	CmdWakeOp        = 5
	CmdLockPI        = 6
	CmdUnlockPI      = 7
	CmdTrylockPI     = 8
	CmdWaitBitset    = 9
	CmdWakeBitset    = 10
	CmdWaitRequeuePI = 11
	CmdCmpRequeuePI  = 12
	CmdLockPI2       = 13

	// PrivateFlag (FUTEX_PRIVATE_FLAG) makes the key private to the
	// address space.
	PrivateFlag = 128
	// ClockRealtime (FUTEX_CLOCK_REALTIME) measures the timeout on
	// CLOCK_REALTIME instead of CLOCK_MONOTONIC.
	ClockRealtime = 256
	// CmdMask extracts the command from futex(2)'s op argument.
	CmdMask = ^uint32(PrivateFlag | ClockRealtime)

	// BitsetMatchAny (FUTEX_BITSET_MATCH_ANY) is the bitset of FUTEX_WAIT
	// and FUTEX_WAKE.
	BitsetMatchAny = 0xffffffff
)

// The PI futex word: the owner's TID in the low 30 bits and two flags.
// Linux: include/uapi/linux/futex.h.
const (
	// Waiters (FUTEX_WAITERS) is set while the kernel may have waiters:
	// the owner must unlock through FUTEX_UNLOCK_PI.
	Waiters = 0x80000000
	// OwnerDied (FUTEX_OWNER_DIED) is set when the owner exited
	// holding the lock.
	OwnerDied = 0x40000000
	// TIDMask (FUTEX_TID_MASK) extracts the owner's TID.
	TIDMask = 0x3fffffff
)

// Key identifies a futex: two futex operations meet when their keys are
// equal. It is an opaque comparable value the kernel derives from an
// address (Memory.FutexKey): for a private futex, Space identifies the
// address space and Addr is the virtual address; for a shared futex, Space
// identifies the object mapped there (the memory-file range, the file) and
// Addr is the offset in it. Space must hold a comparable value, typically
// a pointer: a Key is hashed and used as a map key.
type Key struct {
	Space any
	Addr  uint64
}

// Memory is the part of an application address space the futex
// operations use. The kernel implements it over mm.MM; tests use a fake.
// Bad addresses fail with unix.EFAULT. Every method but FutexKey is
// called with a bucket lock held (see the package doc): none may call
// back into the Manager or wait for another task.
type Memory interface {
	// LoadUint32 atomically loads the 32-bit word at addr.
	LoadUint32(addr uintptr) (uint32, error)
	// CompareAndSwapUint32 atomically replaces the word at addr with new
	// if it holds old. It returns the value it found: the swap happened
	// if and only if prev == old.
	CompareAndSwapUint32(addr uintptr, old, new uint32) (prev uint32, err error)
	// AtomicOp atomically replaces the word at addr with fn(old) and
	// returns old. fn may be called more than once.
	AtomicOp(addr uintptr, fn func(old uint32) uint32) (old uint32, err error)
	// FutexKey returns the key of the futex at addr, which is 4-byte
	// aligned. A private key is valid only within this address space; a
	// shared key identifies the memory mapped at addr.
	FutexKey(addr uintptr, private bool) (Key, error)
	// CopyIn copies application memory at addr into dst, returning the
	// number of bytes copied. Used to read robust lists.
	CopyIn(addr uintptr, dst []byte) (int, error)
}

// Blocker puts the calling task to sleep. The kernel implements it for
// each task (a select on the wake channel, the task's interrupt channel
// and a timer); tests use a fake. Block is never called with a lock of
// this package held.
type Blocker interface {
	// Block sleeps until wake is ready to receive, deadline passes (a
	// zero deadline is none) or the task is interrupted by a signal. It
	// returns nil when it received from wake, ErrTimedOut when the
	// deadline passed, and ErrInterrupted (or another error of the
	// kernel's choosing, returned unchanged) when interrupted. It may
	// return an error although wake is also ready: the Manager decides,
	// under its lock, whether the waiter was woken, and a wake always
	// wins.
	Block(wake <-chan struct{}, deadline time.Time) error
}

var (
	// ErrInterrupted is what Block returns when a signal interrupts the
	// sleep. The Manager returns it unchanged; the system-call layer
	// chooses the restart errno, which depends on the operation (see
	// the package doc).
	ErrInterrupted = errors.New("futex: wait interrupted")
	// ErrTimedOut is what Block returns when the deadline passes.
	ErrTimedOut error = unix.ETIMEDOUT
)

// errRetry tells a PI operation that the futex word changed under it and
// it must start again. It never leaves the package.
var errRetry = errors.New("futex: word changed, retry")

// numBuckets is the number of hash buckets. Linux sizes its table by the
// number of CPUs; a fixed power of two is enough for one sandbox.
const numBuckets = 256

// Manager holds every futex waiter of a sandbox: a hash table of buckets,
// each a lock, a FIFO of the waiters whose key hashes there, and the PI
// state of those keys. It is safe for concurrent use.
type Manager struct {
	// alive reports whether a thread with a TID exists and has not yet
	// begun its futex exit (ExitPI). nil: every TID is taken to exist.
	// Immutable; called with a bucket lock held.
	alive func(tid uint32) bool

	seed    maphash.Seed // immutable
	buckets [numBuckets]bucket
}

// NewManager returns a Manager with no waiters. alive, which may be nil,
// lets FUTEX_LOCK_PI fail with ESRCH on a futex whose owner TID names no
// thread, as Linux does. It is called with a bucket lock held, so it must
// be a leaf (it must not call the Manager), and it must return false for a
// TID from before the Manager's ExitPI for that thread begins: that is how
// a new waiter never attaches to an owner whose exit handling has passed
// it by.
func NewManager(alive func(tid uint32) bool) *Manager {
	return &Manager{alive: alive, seed: maphash.MakeSeed()}
}

// bucket is one slot of the hash table.
type bucket struct {
	mu sync.Mutex
	// head and tail are the FIFO of waiters queued on keys that hash
	// here; waiter.prev and waiter.next link it.
	head, tail *waiter
	// pis holds the PI state of the keys hashing here that have PI
	// waiters (or an ownership hand-over in flight).
	pis map[Key]*piState
}

// waiter is one task waiting on one futex (futex_waitv queues one waiter
// per futex, all sharing the wake channel).
type waiter struct {
	// Set before the waiter is first queued, then read-only.
	wake  chan struct{} // capacity 1; a waker sends after dequeuing
	tid   uint32        // PI waiters: the TID that takes the lock
	index int           // futex_waitv: position in the vector

	// bucket is the bucket w is queued on, nil once it is not. It is
	// written with that bucket's mu held (a requeue holds both) and read
	// without a lock by the waiting task, which then locks the bucket
	// and checks it again. A waker writes the fields below before it
	// stores nil here, so the waiter sees them after loading nil.
	bucket atomic.Pointer[bucket]

	// Guarded by the mu of the bucket w is queued on.
	key        Key
	bitset     uint32
	prev, next *waiter
	// pi is the PI state w waits on: FUTEX_LOCK_PI, or a
	// FUTEX_WAIT_REQUEUE_PI waiter requeued to its PI futex. A queued
	// waiter with pi set holds one reference on it.
	pi *piState
	// requeuePI marks a FUTEX_WAIT_REQUEUE_PI waiter; requeueKey is the
	// PI futex it agreed to be requeued to.
	requeuePI  bool
	requeueKey Key
	// fixup is set by ExitPI when it hands the lock of a dead owner to
	// w: w must write its TID into the futex word, and keeps its
	// reference on pi until it has.
	fixup bool
}

func newWaiter(key Key, bitset uint32) *waiter {
	return &waiter{wake: make(chan struct{}, 1), key: key, bitset: bitset}
}

// KeyOf returns the key of the futex at addr: EINVAL if addr is not
// 4-byte aligned, else what mem.FutexKey returns. FUTEX_WAKE is
// m.Wake(KeyOf(...)); CLONE_CHILD_CLEARTID and robust-list wakes use
// private == false, as Linux does.
// Linux: kernel/futex/core.c, get_futex_key().
func KeyOf(mem Memory, addr uintptr, private bool) (Key, error) {
	if addr%4 != 0 {
		return Key{}, unix.EINVAL
	}
	return mem.FutexKey(addr, private)
}

func (m *Manager) index(k Key) int {
	return int(maphash.Comparable(m.seed, k) % numBuckets)
}

func (m *Manager) bucketFor(k Key) *bucket { return &m.buckets[m.index(k)] }

// lockTwo locks the buckets of k1 and k2, in index order, once if they
// are the same. Linux: kernel/futex/futex.h, double_lock_hb().
func (m *Manager) lockTwo(k1, k2 Key) (b1, b2 *bucket) {
	i1, i2 := m.index(k1), m.index(k2)
	b1, b2 = &m.buckets[i1], &m.buckets[i2]
	switch {
	case i1 == i2:
		b1.mu.Lock()
	case i1 < i2:
		b1.mu.Lock()
		b2.mu.Lock()
	default:
		b2.mu.Lock()
		b1.mu.Lock()
	}
	return b1, b2
}

func unlockTwo(b1, b2 *bucket) {
	b1.mu.Unlock()
	if b2 != b1 {
		b2.mu.Unlock()
	}
}

// appendLocked links w at the tail without publishing its bucket.
func (b *bucket) appendLocked(w *waiter) {
	w.prev, w.next = b.tail, nil
	if b.tail == nil {
		b.head = w
	} else {
		b.tail.next = w
	}
	b.tail = w
}

// unlinkLocked takes w out of the FIFO without publishing anything.
func (b *bucket) unlinkLocked(w *waiter) {
	if w.prev == nil {
		b.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		b.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
}

// enqueueLocked queues w at the tail. Linux: kernel/futex/core.c,
// __futex_queue().
func (b *bucket) enqueueLocked(w *waiter) {
	b.appendLocked(w)
	w.bucket.Store(b)
}

// removeLocked dequeues w; from then on its task sees itself woken.
func (b *bucket) removeLocked(w *waiter) {
	b.unlinkLocked(w)
	w.bucket.Store(nil)
}

// wakeLocked dequeues w and wakes its task. The send never blocks: the
// channel has room for one token, and one is enough (futex_waitv's
// waiters share a channel). Linux: kernel/futex/waitwake.c,
// futex_wake_mark().
func (b *bucket) wakeLocked(w *waiter) {
	b.removeLocked(w)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// topLocked returns the first waiter queued on key, or nil.
// Linux: kernel/futex/core.c, futex_top_waiter().
func (b *bucket) topLocked(key Key) *waiter {
	for w := b.head; w != nil; w = w.next {
		if w.key == key {
			return w
		}
	}
	return nil
}

// requeueLocked moves w, queued on from, to key on to; both are locked.
// Within one bucket it keeps its place. Linux: kernel/futex/requeue.c,
// requeue_futex().
func requeueLocked(w *waiter, from, to *bucket, key Key) {
	if from != to {
		from.unlinkLocked(w)
		to.appendLocked(w)
		w.bucket.Store(to)
	}
	w.key = key
}

// unqueue takes w off the queue it is on, following requeues. It reports
// whether w was still queued (false: a waker dequeued it, so w was woken)
// and whether it then waited on PI state.
// Linux: kernel/futex/core.c, futex_unqueue().
func (m *Manager) unqueue(w *waiter) (queued, pi bool) {
	for {
		b := w.bucket.Load()
		if b == nil {
			return false, false
		}
		b.mu.Lock()
		if w.bucket.Load() != b {
			b.mu.Unlock() // requeued or woken meanwhile
			continue
		}
		b.removeLocked(w)
		if w.pi != nil {
			pi = true
			b.putPILocked(w.pi)
		}
		b.mu.Unlock()
		return true, pi
	}
}

// sleep blocks the queued waiter w until a waker dequeues it (woken) or
// Block fails and w is taken off its queue before a waker got to it (not
// woken: Block's error, and whether w then waited on PI state). A wake
// that races with a timeout or a signal is never lost: whoever dequeues w
// under the bucket lock decides.
func (m *Manager) sleep(b Blocker, w *waiter, deadline time.Time) (woken, pi bool, err error) {
	for {
		err := b.Block(w.wake, deadline)
		if w.bucket.Load() == nil {
			return true, false, nil
		}
		if err == nil {
			continue // spurious: nobody dequeued w
		}
		queued, pi := m.unqueue(w)
		if !queued {
			return true, false, nil
		}
		return false, pi, err
	}
}
