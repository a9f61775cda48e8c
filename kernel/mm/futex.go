package mm

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Key identifies a futex word, for the futex package's wait queues: two
// futex operations meet when their keys are equal. Space is comparable
// (a pointer) and Addr is an address or offset in it: (*MM, address) for
// a word of one address space, (*memfile.File, offset) for a word of
// shared memory, whoever maps it and wherever. The futex package's Key
// has the same fields, so that one converts to the other.
type Key struct {
	Space any
	Addr  uint64
}

func (k Key) String() string {
	if _, ok := k.Space.(*MM); ok {
		return fmt.Sprintf("%p@%#x", k.Space, k.Addr)
	}
	return fmt.Sprintf("shared@%#x", k.Addr)
}

// FutexKey returns the key of the futex word at addr. A private futex
// (FUTEX_PRIVATE_FLAG) is (address space, address), without looking at
// the memory, as Linux does. A shared one is the word's place in the
// memory file when it lies in MAP_SHARED memory, so that processes
// sharing the memory (across fork, or mapped at different addresses)
// agree (also when they map one tmpfs file: its pages are memory-file
// pages); in private memory it is (address space, address) too. addr must
// be 4-byte aligned (EINVAL) and in the application's range (EFAULT); a
// shared key needs mapped memory (EFAULT).
// Linux: kernel/futex/core.c, get_futex_key().
func (mm *MM) FutexKey(addr uintptr, private bool) (Key, error) {
	if addr%4 != 0 {
		return Key{}, unix.EINVAL
	}
	if !rangeOK(addr, 4) {
		return Key{}, unix.EFAULT
	}
	if private {
		return Key{mm, uint64(addr)}, nil
	}
	// A shared key needs the memory: a file mapping's pages, populated.
	defer mm.lockFor(addr, 4, 0, false)()
	v := mm.vmaAtLocked(addr)
	if v == nil || v.pending {
		return Key{}, unix.EFAULT
	}
	if v.shared {
		return Key{mm.mf, v.off + uint64(addr-v.start)}, nil
	}
	return Key{mm, uint64(addr)}, nil
}
