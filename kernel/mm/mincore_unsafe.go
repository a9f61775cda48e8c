package mm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hostMincore asks the host which pages of the kernel's own view of the
// memory file are resident.
func hostMincore(b []byte, vec []byte) error {
	_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if e != 0 {
		return e
	}
	return nil
}
