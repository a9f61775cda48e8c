package confine

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DropCapabilities cuts the bounding, ambient, inheritable, permitted
// and effective sets to keep, sets no_new_privs on every thread
// (credentials are per thread, and the Go runtime has several) and makes
// the process not dumpable: its /proc entries (descriptors, memory) are
// then closed to other processes of its uid. Both confined processes use
// it: the sandbox process keeps nothing (CAP_NET_BIND_SERVICE on the
// host's network), the gofer the file capabilities it serves with.
func DropCapabilities(keep []int) error {
	var kept uint64
	for _, c := range keep {
		kept |= 1 << uint(c)
	}
	// The bounding set first, while CAP_SETPCAP is still effective.
	for c := 0; c < 64; c++ {
		if kept&(1<<uint(c)) != 0 {
			continue
		}
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
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing dumpable: %w", err)
	}
	// Check on this thread that it took.
	got := [2]unix.CapUserData{}
	if err := unix.Capget(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &got[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	want := [2]unix.CapUserData{
		{Effective: uint32(kept), Permitted: uint32(kept)},
		{Effective: uint32(kept >> 32), Permitted: uint32(kept >> 32)},
	}
	if got != want {
		return fmt.Errorf("capabilities were not dropped: %+v", got)
	}
	return nil
}
