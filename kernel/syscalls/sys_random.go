package syscalls

import (
	"crypto/rand"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
)

// getrandom flags. Linux: include/uapi/linux/random.h.
const (
	grndNonblock = 0x1
	grndRandom   = 0x2
	grndInsecure = 0x4
	// maxGetrandom is the most one call returns. Linux: drivers/char/random.c.
	maxGetrandom = 33554431
)

// Getrandom implements getrandom(2) from the kernel's own random source:
// the entropy pool is always initialised, so it never blocks.
func Getrandom(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	buf, length, flags := a.Pointer(0), a.Size(1), a.Uint(2)
	if flags&^(grndNonblock|grndRandom|grndInsecure) != 0 || flags&(grndRandom|grndInsecure) == grndRandom|grndInsecure {
		return 0, unix.EINVAL
	}
	if length > maxGetrandom {
		length = maxGetrandom
	}
	if length == 0 {
		return 0, nil
	}
	n, err := t.MM().WithBytes(buf, int(length), true, func(b []byte) (int, error) {
		return rand.Read(b)
	})
	return partial(n, err)
}
