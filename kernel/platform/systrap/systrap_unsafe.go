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

// futexWakeAll wakes every waiter on w.
func futexWakeAll(w *atomic.Uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWake, 1<<31-1, 0, 0, 0)
}

// futexWakeOne wakes a waiter on w.
func futexWakeOne(w *atomic.Uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWake, 1, 0, 0, 0)
}
