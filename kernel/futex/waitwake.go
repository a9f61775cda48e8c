package futex

import (
	"time"

	"golang.org/x/sys/unix"
)

// Wait is FUTEX_WAIT and FUTEX_WAIT_BITSET: if the word at addr holds val,
// sleep until a wake whose bitset shares a bit with bitset, the deadline
// (zero: none) or a signal. The check and the queuing are one step under
// the bucket lock, so a wake after the word changed is never missed.
//
// It returns nil when woken (even if a timeout or signal came at the same
// time), EAGAIN if the word is not val, EINVAL for a zero bitset or a
// misaligned addr, a Memory error (EFAULT), or Block's error: ErrTimedOut
// or ErrInterrupted. Linux: kernel/futex/waitwake.c, futex_wait() and
// futex_wait_setup().
func (m *Manager) Wait(mem Memory, b Blocker, addr uintptr, private bool, val, bitset uint32, deadline time.Time) error {
	if bitset == 0 {
		return unix.EINVAL
	}
	key, err := KeyOf(mem, addr, private)
	if err != nil {
		return err
	}
	w := newWaiter(key, bitset)
	if err := m.queueIfValue(mem, addr, val, w); err != nil {
		return err
	}
	woken, _, err := m.sleep(b, w, deadline)
	if woken {
		return nil
	}
	return err
}

// queueIfValue queues w if the word at addr holds val, all under w's
// bucket lock. Linux: kernel/futex/waitwake.c, futex_wait_setup().
func (m *Manager) queueIfValue(mem Memory, addr uintptr, val uint32, w *waiter) error {
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
	b.enqueueLocked(w)
	return nil
}

// Wake is FUTEX_WAKE and FUTEX_WAKE_BITSET: wake up to nr waiters on key
// whose bitset shares a bit with bitset, oldest first, and return how
// many it woke. As in Linux, nr <= 0 still wakes one. It fails with EINVAL
// for a zero bitset, and when it meets a PI or requeue-PI waiter on key
// (those only meet the PI operations); the waiters woken before that stay
// woken. CLONE_CHILD_CLEARTID's wake is Wake(KeyOf(mem, addr, false), 1,
// BitsetMatchAny). Linux: kernel/futex/waitwake.c, futex_wake().
func (m *Manager) Wake(key Key, nr int, bitset uint32) (int, error) {
	if bitset == 0 {
		return 0, unix.EINVAL
	}
	b := m.bucketFor(key)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.wakeKeyLocked(key, nr, bitset)
}

// wakeKeyLocked wakes up to nr (at least one) waiters on key matching
// bitset.
func (b *bucket) wakeKeyLocked(key Key, nr int, bitset uint32) (int, error) {
	n := 0
	var next *waiter
	for w := b.head; w != nil; w = next {
		next = w.next
		if w.key != key {
			continue
		}
		if w.pi != nil || w.requeuePI {
			return n, unix.EINVAL
		}
		if w.bitset&bitset == 0 {
			continue
		}
		b.wakeLocked(w)
		if n++; n >= nr {
			break
		}
	}
	return n, nil
}

// Operations and comparisons of FUTEX_WAKE_OP's encoded argument:
// op<<28 | cmp<<24 | oparg<<12 | cmparg, with OpArgShift in op.
// Linux: include/uapi/linux/futex.h.
const (
	OpSet  = 0 // *uaddr2 = oparg
	OpAdd  = 1 // *uaddr2 += oparg
	OpOr   = 2 // *uaddr2 |= oparg
	OpAndn = 3 // *uaddr2 &= ^oparg
	OpXor  = 4 // *uaddr2 ^= oparg
	// OpArgShift (FUTEX_OP_OPARG_SHIFT) makes the operand 1 << oparg.
	OpArgShift = 8

	CmpEq = 0 // wake if old == cmparg
	CmpNe = 1
	CmpLt = 2
	CmpLe = 3
	CmpGt = 4
	CmpGe = 5
)

// EncodeWakeOp builds FUTEX_WAKE_OP's argument (FUTEX_OP()).
func EncodeWakeOp(op, oparg, cmp, cmparg uint32) uint32 {
	return (op&0xf)<<28 | (cmp&0xf)<<24 | (oparg&0xfff)<<12 | cmparg&0xfff
}

// signExtend12 widens a 12-bit two's-complement field.
func signExtend12(v uint32) int32 { return int32(v<<20) >> 20 }

// wakeOpApply performs the operation encoded in enc on the word at addr
// and reports whether the comparison of the old value holds. An unknown
// operation is ENOSYS before the word is touched; an unknown comparison
// is ENOSYS after it was changed, as in Linux.
// Linux: kernel/futex/waitwake.c, futex_atomic_op_inuser();
// arch/x86/include/asm/futex.h, arch_futex_atomic_op_inuser().
func wakeOpApply(mem Memory, addr uintptr, enc uint32) (bool, error) {
	op := enc >> 28 & 7
	cmp := enc >> 24 & 0xf
	oparg := signExtend12(enc >> 12 & 0xfff)
	cmparg := signExtend12(enc & 0xfff)
	if enc&(OpArgShift<<28) != 0 {
		// Linux logs a warning for a shift outside [0, 31] and masks it.
		oparg = int32(uint32(1) << (uint32(oparg) & 31))
	}
	arg := uint32(oparg)
	var fn func(uint32) uint32
	switch op {
	case OpSet:
		fn = func(uint32) uint32 { return arg }
	case OpAdd:
		fn = func(old uint32) uint32 { return old + arg }
	case OpOr:
		fn = func(old uint32) uint32 { return old | arg }
	case OpAndn:
		fn = func(old uint32) uint32 { return old &^ arg }
	case OpXor:
		fn = func(old uint32) uint32 { return old ^ arg }
	default:
		return false, unix.ENOSYS
	}
	u, err := mem.AtomicOp(addr, fn)
	if err != nil {
		return false, err
	}
	old := int32(u)
	switch cmp {
	case CmpEq:
		return old == cmparg, nil
	case CmpNe:
		return old != cmparg, nil
	case CmpLt:
		return old < cmparg, nil
	case CmpLe:
		return old <= cmparg, nil
	case CmpGt:
		return old > cmparg, nil
	case CmpGe:
		return old >= cmparg, nil
	}
	return false, unix.ENOSYS
}

// WakeOp is FUTEX_WAKE_OP: with both buckets locked, apply the operation
// encoded in op to the word at addr2 (Memory.AtomicOp), wake up to nr1
// waiters on addr1 and, if the comparison of addr2's old value held, up
// to nr2 waiters on addr2. Bitsets are ignored. It returns the total
// woken. nr1 and nr2 behave as Wake's nr. Linux: kernel/futex/waitwake.c,
// futex_wake_op().
func (m *Manager) WakeOp(mem Memory, addr1, addr2 uintptr, private bool, nr1, nr2 int, op uint32) (int, error) {
	key1, err := KeyOf(mem, addr1, private)
	if err != nil {
		return 0, err
	}
	key2, err := KeyOf(mem, addr2, private)
	if err != nil {
		return 0, err
	}
	b1, b2 := m.lockTwo(key1, key2)
	defer unlockTwo(b1, b2)
	cond, err := wakeOpApply(mem, addr2, op)
	if err != nil {
		return 0, err
	}
	n, err := b1.wakeKeyLocked(key1, nr1, BitsetMatchAny)
	if err != nil {
		return n, err
	}
	if cond {
		n2, err := b2.wakeKeyLocked(key2, nr2, BitsetMatchAny)
		n += n2
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Requeue is FUTEX_REQUEUE (cmpVal nil) and FUTEX_CMP_REQUEUE: with both
// buckets locked and, for the latter, the word at addr1 equal to
// *cmpVal (else EAGAIN), wake up to nrWake waiters on addr1 and move up
// to nrRequeue more to addr2, oldest first. It returns the number woken
// plus the number moved (Linux returns that sum for both commands).
// Negative counts are EINVAL: the system-call layer passes nrRequeue as
// the low 32 bits of the timeout argument, sign-extended from int32.
// A PI or requeue-PI waiter on addr1 is EINVAL.
// Linux: kernel/futex/requeue.c, futex_requeue().
func (m *Manager) Requeue(mem Memory, addr1, addr2 uintptr, private bool, nrWake, nrRequeue int, cmpVal *uint32) (int, error) {
	if nrWake < 0 || nrRequeue < 0 {
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
	b1, b2 := m.lockTwo(key1, key2)
	defer unlockTwo(b1, b2)
	if cmpVal != nil {
		cur, err := mem.LoadUint32(addr1)
		if err != nil {
			return 0, err
		}
		if cur != *cmpVal {
			return 0, unix.EAGAIN
		}
	}
	n := 0
	var next *waiter
	for w := b1.head; w != nil; w = next {
		next = w.next
		if n-nrWake >= nrRequeue {
			break
		}
		if w.key != key1 {
			continue
		}
		if w.pi != nil || w.requeuePI {
			return n, unix.EINVAL
		}
		if n++; n <= nrWake {
			b1.wakeLocked(w)
		} else {
			requeueLocked(w, b1, b2, key2)
		}
	}
	return n, nil
}
