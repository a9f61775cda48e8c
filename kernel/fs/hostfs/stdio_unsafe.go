package hostfs

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// kernelTermiosSize is the size of the kernel's struct termios, which
// TCGETS writes: unix.Termios is struct termios2 (with the speeds after).
const kernelTermiosSize = 36

func copyOutTermios(io vfs.IO, addr uintptr, t *unix.Termios) error {
	b := unsafe.Slice((*byte)(unsafe.Pointer(t)), kernelTermiosSize)
	if _, err := io.CopyOut(addr, b); err != nil {
		return unix.EFAULT
	}
	return nil
}

func copyOutWinsize(io vfs.IO, addr uintptr, ws *unix.Winsize) error {
	b := unsafe.Slice((*byte)(unsafe.Pointer(ws)), unsafe.Sizeof(*ws))
	if _, err := io.CopyOut(addr, b); err != nil {
		return unix.EFAULT
	}
	return nil
}
