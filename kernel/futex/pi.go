package futex

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// piState is the kernel side of a contended PI futex: who the kernel
// believes owns it. Its waiters are the waiters of its bucket whose pi
// points to it. Linux: kernel/futex/futex.h, struct futex_pi_state, without
// the rt_mutex: there are no priorities to inherit.
type piState struct {
	key Key // immutable

	// Guarded by the mu of the bucket of key.
	//
	// owner is the TID of the owner, 0 while the lock passes from a dead
	// owner to a waiter that has not yet written its TID into the word.
	owner uint32
	// refs counts the queued waiters on this state plus the hand-overs
	// in flight; the state leaves bucket.pis when it drops to zero.
	refs int
}

// getPILocked takes a reference on ps, adding it to b if it is new.
func (b *bucket) getPILocked(ps *piState) {
	if ps.refs == 0 {
		if b.pis == nil {
			b.pis = make(map[Key]*piState)
		}
		b.pis[ps.key] = ps
	}
	ps.refs++
}

// putPILocked drops a reference on ps.
func (b *bucket) putPILocked(ps *piState) {
	if ps.refs--; ps.refs == 0 {
		delete(b.pis, ps.key)
	}
}

// topPILocked returns the first waiter queued on ps, or nil.
func (b *bucket) topPILocked(ps *piState) *waiter {
	for w := b.head; w != nil; w = w.next {
		if w.pi == ps {
			return w
		}
	}
	return nil
}

// attachCheck validates the futex word uval against existing PI state,
// which a new waiter is about to wait on: EINVAL if user space changed
// the word behind the kernel's back. Linux: kernel/futex/pi.c,
// attach_to_pi_state().
func attachCheck(uval uint32, ps *piState) error {
	tid := uval & TIDMask
	if uval&OwnerDied != 0 {
		if ps.owner == 0 {
			if tid != 0 {
				return unix.EINVAL
			}
			return nil
		}
		if tid == 0 {
			return nil
		}
	} else if ps.owner == 0 {
		return unix.EINVAL
	}
	if tid != ps.owner {
		return unix.EINVAL
	}
	return nil
}

// lockPIAtomicLocked tries to take the PI futex at addr (key, hashed to
// b, which is locked) for tid. It returns acquired when the word now
// names tid; otherwise the PI state tid must wait on (new or existing),
// after making sure the word has Waiters set. With setWaiters, an
// acquisition also sets Waiters and returns new PI state owned by tid,
// for waiters about to be requeued. errRetry means the word changed: drop
// the lock and start again. Linux: kernel/futex/pi.c,
// futex_lock_pi_atomic() and attach_to_pi_owner().
func (m *Manager) lockPIAtomicLocked(mem Memory, b *bucket, addr uintptr, key Key, tid uint32, setWaiters bool) (acquired bool, ps *piState, err error) {
	uval, err := mem.LoadUint32(addr)
	if err != nil {
		return false, nil, err
	}
	if uval&TIDMask == tid {
		return false, nil, unix.EDEADLK
	}
	if top := b.topLocked(key); top != nil {
		if top.pi == nil {
			return false, nil, unix.EINVAL // a non-PI waiter: PI and non-PI ops mixed
		}
		return false, top.pi, attachCheck(uval, top.pi)
	}
	if ps := b.pis[key]; ps != nil { // a hand-over in flight
		return false, ps, attachCheck(uval, ps)
	}
	if uval&TIDMask == 0 {
		// Free, or free with OwnerDied kept for the new owner to see.
		newval := uval&OwnerDied | tid
		if setWaiters {
			newval |= Waiters
		}
		if err := casWord(mem, addr, uval, newval); err != nil {
			return false, nil, err
		}
		if setWaiters {
			ps = &piState{key: key, owner: tid}
		}
		return true, ps, nil
	}
	// First waiter: set Waiters so the owner's unlock comes to us.
	newval := uval | Waiters
	if err := casWord(mem, addr, uval, newval); err != nil {
		return false, nil, err
	}
	owner := uval & TIDMask
	if m.alive != nil && !m.alive(owner) {
		// Linux: kernel/futex/pi.c, handle_exit_race().
		cur, err := mem.LoadUint32(addr)
		if err != nil {
			return false, nil, err
		}
		if cur != newval {
			return false, nil, errRetry
		}
		return false, nil, unix.ESRCH
	}
	return false, &piState{key: key, owner: owner}, nil
}

// casWord swaps the word at addr from old to new, errRetry if it changed.
func casWord(mem Memory, addr uintptr, old, new uint32) error {
	prev, err := mem.CompareAndSwapUint32(addr, old, new)
	if err != nil {
		return err
	}
	if prev != old {
		return errRetry
	}
	return nil
}

// LockPI is FUTEX_LOCK_PI and FUTEX_LOCK_PI2 (they differ only in the
// clock of the timeout, which the system-call layer converts): take the
// PI futex at addr for the calling thread tid, or sleep until an unlock
// hands it over, the deadline (zero: none) or a signal.
//
// The word protocol is Linux's: a free word (TID 0) becomes tid, keeping
// OwnerDied; a held one gets Waiters set and the caller sleeps; the
// unlocker writes the next owner's TID. It returns nil once tid owns the
// lock (after a dead owner, the word has OwnerDied set), EDEADLK if tid
// already owns it, ESRCH if the owner's TID names no thread, EINVAL if the
// word contradicts the kernel's PI state or non-PI waiters wait on it, a
// Memory error, or Block's error (ErrTimedOut, ErrInterrupted).
// Linux: kernel/futex/pi.c, futex_lock_pi().
func (m *Manager) LockPI(mem Memory, b Blocker, addr uintptr, private bool, tid uint32, deadline time.Time) error {
	return m.lockPI(mem, b, addr, private, tid, deadline, false)
}

// TryLockPI is FUTEX_TRYLOCK_PI: LockPI without sleeping, EAGAIN
// (EWOULDBLOCK) when the lock is held. As in Linux, a failed attempt can
// leave Waiters set in the word.
func (m *Manager) TryLockPI(mem Memory, addr uintptr, private bool, tid uint32) error {
	return m.lockPI(mem, nil, addr, private, tid, time.Time{}, true)
}

func (m *Manager) lockPI(mem Memory, b Blocker, addr uintptr, private bool, tid uint32, deadline time.Time, try bool) error {
	key, err := KeyOf(mem, addr, private)
	if err != nil {
		return err
	}
	w := newWaiter(key, BitsetMatchAny)
	w.tid = tid
	bk := m.bucketFor(key)
	for {
		bk.mu.Lock()
		acquired, ps, err := m.lockPIAtomicLocked(mem, bk, addr, key, tid, false)
		if err == errRetry {
			bk.mu.Unlock()
			runtime.Gosched()
			continue
		}
		if err != nil || acquired {
			bk.mu.Unlock()
			return err
		}
		if try {
			bk.mu.Unlock()
			return unix.EAGAIN
		}
		w.pi = ps
		bk.getPILocked(ps)
		bk.enqueueLocked(w)
		bk.mu.Unlock()
		break
	}
	woken, _, err := m.sleep(b, w, deadline)
	if !woken {
		return err
	}
	if w.fixup {
		return m.fixupOwner(mem, addr, w)
	}
	return nil
}

// fixupOwner completes the hand-over of a dead owner's lock to w (see
// ExitPI): w writes its TID into the word, with Waiters and OwnerDied set
// so that user space sees the previous owner died.
// Linux: kernel/futex/pi.c, __fixup_pi_state_owner().
func (m *Manager) fixupOwner(mem Memory, addr uintptr, w *waiter) error {
	ps := w.pi
	b := m.bucketFor(ps.key)
	b.mu.Lock()
	defer b.mu.Unlock()
	ps.owner = w.tid
	b.putPILocked(ps)
	newval := w.tid | Waiters | OwnerDied
	_, err := mem.AtomicOp(addr, func(uint32) uint32 { return newval })
	return err
}

// UnlockPI is FUTEX_UNLOCK_PI: the calling thread tid releases the PI
// futex at addr. With waiters, the oldest takes the lock: the word becomes
// its TID | Waiters (Linux keeps Waiters set on every hand-over, so the new
// owner's unlock comes to the kernel too, which then finds no waiter and
// writes 0). Without, the word becomes 0 (EAGAIN if it changed meanwhile).
// It fails with EPERM if the word does not name tid, EINVAL if it
// contradicts the kernel's PI state, or a Memory error.
// Linux: kernel/futex/pi.c, futex_unlock_pi() and wake_futex_pi().
func (m *Manager) UnlockPI(mem Memory, addr uintptr, private bool, tid uint32) error {
	key, err := KeyOf(mem, addr, private)
	if err != nil {
		return err
	}
	bk := m.bucketFor(key)
	for {
		// Linux reads the word before taking the lock too.
		uval, err := mem.LoadUint32(addr)
		if err != nil {
			return err
		}
		if uval&TIDMask != tid {
			return unix.EPERM
		}
		bk.mu.Lock()
		err = m.unlockPILocked(mem, bk, addr, key, tid, uval)
		bk.mu.Unlock()
		if err != errRetry {
			return err
		}
		runtime.Gosched()
	}
}

func (m *Manager) unlockPILocked(mem Memory, b *bucket, addr uintptr, key Key, tid, uval uint32) error {
	top := b.topLocked(key)
	if top == nil {
		if ps := b.pis[key]; ps != nil && ps.owner != tid {
			return unix.EINVAL // a hand-over to another thread is in flight
		}
		prev, err := mem.CompareAndSwapUint32(addr, uval, 0)
		if err != nil {
			return err
		}
		if prev != uval {
			return unix.EAGAIN // let user space deal with it
		}
		return nil
	}
	ps := top.pi
	if ps == nil || ps.owner != tid {
		return unix.EINVAL
	}
	newval := Waiters | top.tid
	prev, err := mem.CompareAndSwapUint32(addr, uval, newval)
	if err != nil {
		return err
	}
	if prev != uval {
		if prev&TIDMask == uval {
			return errRetry // a waiter set Waiters after our read
		}
		return unix.EINVAL
	}
	ps.owner = top.tid
	b.putPILocked(ps)
	b.wakeLocked(top)
	return nil
}

// ExitPI hands every PI lock the kernel knows tid to own, that is every
// contended one, to its oldest waiter, which writes its TID with
// OwnerDied into the word when it runs. The kernel calls it when the
// thread exits or execs, after ExitRobustList, and once alive (see
// NewManager) reports tid gone. Uncontended locks are user space's
// business (the robust list). Linux: kernel/futex/core.c,
// exit_pi_state_list().
func (m *Manager) ExitPI(tid uint32) {
	if tid == 0 {
		return
	}
	for i := range m.buckets {
		b := &m.buckets[i]
		b.mu.Lock()
		for _, ps := range b.pis {
			if ps.owner != tid {
				continue
			}
			ps.owner = 0
			if top := b.topPILocked(ps); top != nil {
				// top's reference on ps now covers the hand-over.
				top.fixup = true
				b.wakeLocked(top)
			}
		}
		b.mu.Unlock()
	}
}

// WaitRequeuePI is FUTEX_WAIT_REQUEUE_PI: wait on the non-PI futex at addr
// (if it holds val) for a FUTEX_CMP_REQUEUE_PI that either takes the PI
// futex at addr2 for tid or moves the caller to wait for it; it returns
// nil once tid owns addr2. Like Wait, it fails with EAGAIN if the word is
// not val; EINVAL if addr and addr2 are one futex. Timeouts are
// ErrTimedOut. A signal before the requeue is ErrInterrupted (the
// system-call layer makes it ERESTARTNOINTR); after the requeue it is
// EAGAIN, as in Linux, since a restart would see the word changed.
// Linux: kernel/futex/requeue.c, futex_wait_requeue_pi().
func (m *Manager) WaitRequeuePI(mem Memory, b Blocker, addr uintptr, private bool, val uint32, addr2 uintptr, tid uint32, deadline time.Time) error {
	if addr == addr2 {
		return unix.EINVAL
	}
	key2, err := KeyOf(mem, addr2, private)
	if err != nil {
		return err
	}
	key, err := KeyOf(mem, addr, private)
	if err != nil {
		return err
	}
	w := newWaiter(key, BitsetMatchAny)
	w.tid = tid
	w.requeuePI, w.requeueKey = true, key2
	if err := m.queueRequeuePI(mem, addr, val, w); err != nil {
		return err
	}
	woken, requeued, err := m.sleep(b, w, deadline)
	switch {
	case woken && w.fixup:
		return m.fixupOwner(mem, addr2, w)
	case woken:
		return nil
	case requeued && err == ErrInterrupted:
		return unix.EAGAIN
	}
	return err
}

func (m *Manager) queueRequeuePI(mem Memory, addr uintptr, val uint32, w *waiter) error {
	b := m.bucketFor(w.key)
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, err := mem.LoadUint32(addr)
	if err != nil {
		return err
	}
	if cur != val {
		return unix.EAGAIN
	}
	if w.key == w.requeueKey { // distinct addresses, one shared futex
		return unix.EINVAL
	}
	b.enqueueLocked(w)
	return nil
}

// CmpRequeuePI is FUTEX_CMP_REQUEUE_PI: with both buckets locked and the
// word at addr1 equal to val (else EAGAIN), try to take the PI futex at
// addr2 for the oldest FUTEX_WAIT_REQUEUE_PI waiter on addr1 and wake it;
// then move waiters from addr1 to wait for addr2 until nrRequeue were
// moved beyond those woken, which, as in Linux, moves nrRequeue + 1 when
// the lock could not be taken. nrWake must be 1. It returns the number
// woken plus moved. Waiters on addr1 that are not requeue-PI waiters for
// addr2 are EINVAL; the PI errors of LockPI apply to the oldest waiter's
// TID. Linux: kernel/futex/requeue.c, futex_requeue() with requeue_pi and
// futex_proxy_trylock_atomic().
func (m *Manager) CmpRequeuePI(mem Memory, addr1, addr2 uintptr, private bool, nrWake, nrRequeue int, val uint32) (int, error) {
	if nrWake < 0 || nrRequeue < 0 || addr1 == addr2 || nrWake != 1 {
		return 0, unix.EINVAL
	}
	key1, err := KeyOf(mem, addr1, private)
	if err != nil {
		return 0, err
	}
	key2, err := KeyOf(mem, addr2, private)
	if err != nil {
		return 0, err
	}
	if key1 == key2 {
		return 0, unix.EINVAL
	}
	for {
		b1, b2 := m.lockTwo(key1, key2)
		n, err := m.requeuePILocked(mem, b1, b2, addr1, addr2, key1, key2, nrWake, nrRequeue, val)
		unlockTwo(b1, b2)
		if err != errRetry {
			return n, err
		}
		runtime.Gosched()
	}
}

func (m *Manager) requeuePILocked(mem Memory, b1, b2 *bucket, addr1, addr2 uintptr, key1, key2 Key, nrWake, nrRequeue int, val uint32) (int, error) {
	cur, err := mem.LoadUint32(addr1)
	if err != nil {
		return 0, err
	}
	if cur != val {
		return 0, unix.EAGAIN
	}
	n := 0
	var ps *piState
	if top := b1.topLocked(key1); top != nil {
		if !top.requeuePI || top.pi != nil || top.requeueKey != key2 {
			return 0, unix.EINVAL
		}
		acquired, p, err := m.lockPIAtomicLocked(mem, b2, addr2, key2, top.tid, nrRequeue != 0)
		if err != nil {
			return 0, err
		}
		ps = p
		if acquired {
			b1.wakeLocked(top)
			n++
		}
	}
	var next *waiter
	for w := b1.head; w != nil && ps != nil; w = next {
		next = w.next
		if n-nrWake >= nrRequeue {
			break
		}
		if w.key != key1 {
			continue
		}
		if !w.requeuePI || w.pi != nil || w.requeueKey != key2 {
			return n, unix.EINVAL
		}
		if ps.owner == w.tid {
			return n, unix.EDEADLK // the waiter would wait for itself
		}
		requeueLocked(w, b1, b2, key2)
		w.pi = ps
		b2.getPILocked(ps)
		n++
	}
	return n, nil
}
