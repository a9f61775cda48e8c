package stubproc

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// raxOffset is rax's offset in struct user_regs_struct, for
// PTRACE_POKEUSER.
const raxOffset = unsafe.Offsetof(unix.PtraceRegs{}.Rax)

func pokeUser(tid int, offset uintptr, value uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_POKEUSR, uintptr(tid), offset, value, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func ptraceSeize(tid int, options int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0, uintptr(options), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func ptraceInterrupt(tid int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(tid), 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
