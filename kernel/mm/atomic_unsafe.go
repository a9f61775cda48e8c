package mm

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The atomics below work on the kernel's mapping of the memory file. The
// application's stub maps the same pages of the same file, so they are
// atomic with respect to the application's own atomic instructions too:
// this is what futexes need.

// wordLocked returns the kernel's view of the aligned word at addr, which
// the application may access with need. A word for writing must not be
// copy-on-write (lockFor breaks it), and no word is pending (lockFor
// populates it).
func (mm *MM) wordLocked(addr uintptr, need int) (*uint32, error) {
	v := mm.vmaAtLocked(addr)
	if v == nil || v.prot&need != need || v.pending || (need&unix.PROT_WRITE != 0 && v.cow) {
		return nil, unix.EFAULT
	}
	b := mm.mf.Slice(v.off+uint64(addr-v.start), 4)
	return (*uint32)(unsafe.Pointer(&b[0])), nil
}

// LoadUint32 atomically loads the 4-byte aligned word at addr (EINVAL if
// unaligned, EFAULT if not readable).
func (mm *MM) LoadUint32(addr uintptr) (uint32, error) {
	if addr%4 != 0 {
		return 0, unix.EINVAL
	}
	defer mm.lockFor(addr, 4, unix.PROT_READ, false)()
	p, err := mm.wordLocked(addr, unix.PROT_READ)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint32(p), nil
}

// CompareAndSwapUint32 atomically replaces the word at addr with new if
// it holds old, and returns the value it held. It needs write access
// (EFAULT otherwise) and breaks copy-on-write first, even when the value
// differs: a locked cmpxchg is a write whatever its outcome.
// Linux: arch/x86/include/asm/futex.h, futex_atomic_cmpxchg_inatomic().
func (mm *MM) CompareAndSwapUint32(addr uintptr, old, new uint32) (uint32, error) {
	if addr%4 != 0 {
		return 0, unix.EINVAL
	}
	defer mm.lockFor(addr, 4, unix.PROT_WRITE, true)()
	p, err := mm.wordLocked(addr, unix.PROT_WRITE)
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

// AtomicOp atomically replaces the word at addr, old, with fn(old) and
// returns old, for FUTEX_WAKE_OP. fn may be called more than once (a
// compare-and-swap loop against the application's own writes) and must
// not block. Access as for CompareAndSwapUint32.
func (mm *MM) AtomicOp(addr uintptr, fn func(old uint32) uint32) (uint32, error) {
	if addr%4 != 0 {
		return 0, unix.EINVAL
	}
	defer mm.lockFor(addr, 4, unix.PROT_WRITE, true)()
	p, err := mm.wordLocked(addr, unix.PROT_WRITE)
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
