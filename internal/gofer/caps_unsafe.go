package gofer

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// keptCaps are the capabilities the gofer serves with: changing owners
// to the sandbox's users (CAP_CHOWN), reaching and changing every file
// whatever its owner and mode, since the application kernel has already
// checked the sandbox's permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
// CAP_FOWNER), and setting set-group-ID bits for groups the gofer is not
// in (CAP_FSETID). Everything else goes: in particular CAP_SYS_ADMIN
// (mounting would undo the confinement), CAP_MKNOD (device nodes are the
// sandbox's own, never the host's), CAP_SYS_CHROOT and CAP_SETUID.
var keptCaps = []int{unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_DAC_READ_SEARCH, unix.CAP_FOWNER, unix.CAP_FSETID}

// dropCapabilities cuts the bounding, ambient, inheritable, permitted and
// effective sets to keptCaps and sets no_new_privs, on every thread:
// credentials are per thread, and the Go runtime has several.
func dropCapabilities() error {
	var kept uint64
	for _, c := range keptCaps {
		kept |= 1 << uint(c)
	}
	// The bounding set first, while CAP_SETPCAP is still effective.
	for c := 0; c < 64; c++ {
		if kept&(1<<uint(c)) != 0 {
			continue
		}
		_, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0)
		if errno == unix.EINVAL {
			break // past the kernel's last capability
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
	data := &[2]unix.CapUserData{
		{Effective: uint32(kept), Permitted: uint32(kept)},
		{Effective: uint32(kept >> 32), Permitted: uint32(kept >> 32)},
	}
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(data)), 0)
	runtime.KeepAlive(hdr)
	runtime.KeepAlive(data)
	if errno != 0 {
		return fmt.Errorf("setting capabilities: %w", errno)
	}
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); errno != 0 {
		return fmt.Errorf("setting no_new_privs: %w", errno)
	}
	// Other processes of the host's root (the sandbox among them, once
	// it is compromised) must not trace the gofer or read its memory.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing dumpable: %w", err)
	}
	// Check on this thread that it took.
	got := [2]unix.CapUserData{}
	if err := unix.Capget(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &got[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	if uint64(got[0].Effective)|uint64(got[1].Effective)<<32 != kept {
		return fmt.Errorf("capabilities were not dropped")
	}
	return nil
}
