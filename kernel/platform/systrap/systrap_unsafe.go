package systrap

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// futex operations, without FUTEX_PRIVATE_FLAG: the words are in a
// file shared with other processes (the stubs).
const (
	futexWait = 0
	futexWake = 1
)

// word returns the 32-bit word at off in b as an atomic. off must be
// 4-aligned and inside b.
func word(b []byte, off int) *atomic.Uint32 {
	_ = b[off+3]
	return (*atomic.Uint32)(unsafe.Pointer(&b[off]))
}

// futexWaitFor sleeps while *w == val, at most timeout. It reports
// whether it returned because of the timeout.
func futexWaitFor(w *atomic.Uint32, val uint32, timeout *unix.Timespec) bool {
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWait, uintptr(val), uintptr(unsafe.Pointer(timeout)), 0, 0)
	return e == unix.ETIMEDOUT
}

// futexWakeOne wakes a waiter on w.
func futexWakeOne(w *atomic.Uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWake, 1, 0, 0, 0)
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
