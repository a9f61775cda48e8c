package confine

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropCapabilities empties the bounding, ambient, inheritable, permitted
// and effective sets, sets no_new_privs on every thread (credentials are
// per thread, and the Go runtime has several) and makes the process not
// dumpable.
//
// The kernel keeps no capability because none of what it does from here
// on needs one: it traces and signals only its own stubs, which run with
// its uid and, started from a process without capabilities, with none
// either (so ptrace(2)'s "the tracee's permitted set is within the
// tracer's" holds without CAP_SYS_PTRACE); everything else is done on
// descriptors it already holds. Gone with them in particular:
// CAP_SYS_ADMIN (mounts would undo the new root), CAP_SYS_PTRACE (the
// gofer, which keeps capabilities we drop and is not dumpable, can no
// longer be traced or have its /proc entries read), CAP_DAC_OVERRIDE
// and CAP_DAC_READ_SEARCH, CAP_NET_*, CAP_SYS_CHROOT, CAP_SETUID.
func dropCapabilities() error {
	// The bounding set first, while CAP_SETPCAP is still effective.
	for c := 0; c < 64; c++ {
		_, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0)
		if errno == unix.EINVAL {
			break // past the host's last capability
		}
		if errno == unix.ENOTSUP {
			return fmt.Errorf("cannot drop capabilities on every thread of a binary built with cgo (build magawa with CGO_ENABLED=0)")
		}
		if errno != 0 {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, errno)
		}
	}
	if _, _, errno := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0); errno != 0 {
		return fmt.Errorf("clearing ambient capabilities: %w", errno)
	}
	hdr := &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := &[2]unix.CapUserData{}
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(data)), 0)
	runtime.KeepAlive(hdr)
	runtime.KeepAlive(data)
	if errno != 0 {
		return fmt.Errorf("setting capabilities: %w", errno)
	}
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); errno != 0 {
		return fmt.Errorf("setting no_new_privs: %w", errno)
	}
	// Not dumpable: /proc/1 (its descriptors, its memory) is closed to
	// the other processes of the sandbox's PID namespace, the gofer
	// included, whatever their uid.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing dumpable: %w", err)
	}
	// Check on this thread that it took.
	got := [2]unix.CapUserData{}
	if err := unix.Capget(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &got[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	if got != ([2]unix.CapUserData{}) {
		return fmt.Errorf("capabilities were not dropped: %+v", got)
	}
	return nil
}
