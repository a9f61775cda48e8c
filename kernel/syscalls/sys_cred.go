package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
)

// The set*id calls change the calling thread's credentials only, as
// Linux's do (the C library makes every thread call them).
// Linux: kernel/sys.c.

// Setuid implements setuid(2).
func Setuid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Setuid(a.Uint(0))
}

// Setgid implements setgid(2).
func Setgid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Setgid(a.Uint(0))
}

// Setreuid implements setreuid(2).
func Setreuid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Setreuid(a.Uint(0), a.Uint(1))
}

// Setregid implements setregid(2).
func Setregid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Setregid(a.Uint(0), a.Uint(1))
}

// Setresuid implements setresuid(2).
func Setresuid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Setresuid(a.Uint(0), a.Uint(1), a.Uint(2))
}

// Setresgid implements setresgid(2).
func Setresgid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Setresgid(a.Uint(0), a.Uint(1), a.Uint(2))
}

// Setfsuid implements setfsuid(2): it returns the previous ID and never
// fails.
func Setfsuid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Setfsuid(a.Uint(0))), nil
}

// Setfsgid implements setfsgid(2).
func Setfsgid(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Setfsgid(a.Uint(0))), nil
}

// Setgroups implements setgroups(2). Linux: kernel/groups.c.
func Setgroups(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if !t.HasCapability(unix.CAP_SETGID) {
		return 0, unix.EPERM
	}
	size := a.Uint(0)
	if size > kernel.NgroupsMax {
		return 0, unix.EINVAL
	}
	groups := make([]uint32, size)
	if size > 0 {
		b := make([]byte, 4*size)
		if n, err := t.CopyIn(a.Pointer(1), b); err != nil || n != len(b) {
			return 0, unix.EFAULT
		}
		for i := range groups {
			groups[i] = uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24
		}
	}
	return 0, t.Setgroups(groups)
}

// Capability header versions. Linux: include/uapi/linux/capability.h.
const (
	capVersion1 = 0x19980330 // one 32-bit word per set
	capVersion2 = 0x20071026 // two words, deprecated
	capVersion3 = 0x20080522 // two words
)

// capHeader is struct __user_cap_header_struct.
type capHeader struct {
	Version uint32
	Pid     int32
}

// capData is struct __user_cap_data_struct: one 32-bit word of each set.
type capData struct {
	Effective, Permitted, Inheritable uint32
}

// capWords validates the header's version and returns the number of
// capData words it implies. An unknown version is answered with the
// preferred one, written back. Linux: kernel/capability.c,
// cap_validate_magic().
func capWords(t *kernel.Task, hdrAddr uintptr) (int, error) {
	var version uint32
	if err := copyInStruct(t, hdrAddr, &version); err != nil {
		return 0, err
	}
	switch version {
	case capVersion1:
		return 1, nil
	case capVersion2, capVersion3:
		return 2, nil
	}
	v := uint32(capVersion3)
	if err := copyOutStruct(t, hdrAddr, &v); err != nil {
		return 0, err
	}
	return 0, unix.EINVAL
}

// Capget implements capget(2); a null data pointer probes the preferred
// version. Linux: kernel/capability.c.
func Capget(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	hdrAddr, dataAddr := a.Pointer(0), a.Pointer(1)
	words, err := capWords(t, hdrAddr)
	if dataAddr == 0 || err != nil {
		if dataAddr == 0 && err == unix.EINVAL {
			return 0, nil
		}
		return 0, err
	}
	var hdr capHeader
	if err := copyInStruct(t, hdrAddr, &hdr); err != nil {
		return 0, err
	}
	if hdr.Pid < 0 {
		return 0, unix.EINVAL
	}
	caps, err := t.CapabilitiesOf(hdr.Pid)
	if err != nil {
		return 0, err
	}
	data := [2]capData{
		{uint32(caps.Effective), uint32(caps.Permitted), uint32(caps.Inheritable)},
		{uint32(caps.Effective >> 32), uint32(caps.Permitted >> 32), uint32(caps.Inheritable >> 32)},
	}
	for i := 0; i < words; i++ {
		if err := copyOutStruct(t, dataAddr+uintptr(12*i), &data[i]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Capset implements capset(2) for the calling thread; a version 1 header
// clears the upper capabilities. Linux: kernel/capability.c.
func Capset(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	hdrAddr, dataAddr := a.Pointer(0), a.Pointer(1)
	words, err := capWords(t, hdrAddr)
	if err != nil {
		return 0, err
	}
	var hdr capHeader
	if err := copyInStruct(t, hdrAddr, &hdr); err != nil {
		return 0, err
	}
	if hdr.Pid != 0 && hdr.Pid != t.TID() {
		return 0, unix.EPERM
	}
	var data [2]capData
	for i := 0; i < words; i++ {
		if err := copyInStruct(t, dataAddr+uintptr(12*i), &data[i]); err != nil {
			return 0, err
		}
	}
	set := func(lo, hi uint32) kernel.CapSet {
		return (kernel.CapSet(lo) | kernel.CapSet(hi)<<32) & kernel.CapFull
	}
	return 0, t.SetCapabilities(
		set(data[0].Effective, data[1].Effective),
		set(data[0].Permitted, data[1].Permitted),
		set(data[0].Inheritable, data[1].Inheritable))
}
