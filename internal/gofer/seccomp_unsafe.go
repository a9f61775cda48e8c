package gofer

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// installSeccomp installs the gofer's filter (seccomp.go) on every
// thread of the process. It needs no_new_privs, which confine sets.
func installSeccomp() error {
	if seccompArch == 0 {
		return errors.New("no seccomp allowlist for " + runtime.GOARCH)
	}
	prog, err := seccompProgram(seccompArch, seccompRules(os.Getpid()))
	if err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("installing the seccomp filter: %w", errno)
	}
	if r != 0 {
		// TSYNC names a thread that could not take the filter.
		return fmt.Errorf("installing the seccomp filter: thread %d could not take it", r)
	}
	return nil
}
