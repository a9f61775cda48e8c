package seccomp

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Install sets no_new_privs and installs prog (Program's) on every
// thread of the process (SECCOMP_FILTER_FLAG_TSYNC; threads made later
// inherit it from their creator, children across fork and exec). A
// filter cannot be removed: each one installed adds to those before.
func Install(prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > bpfMaxLen {
		return fmt.Errorf("seccomp: a filter of %d instructions", len(prog))
	}
	// no_new_privs is a thread's attribute: it must be set on the
	// thread that installs the filter, which TSYNC then gives it to
	// every other thread along with the filter.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("installing the seccomp filter: %w", errno)
	}
	if r != 0 {
		// TSYNC names a thread that could not take the filter (one with
		// a filter of its own that this one does not extend).
		return fmt.Errorf("installing the seccomp filter: thread %d could not take it", r)
	}
	return nil
}
