package ptrace

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	ntX86Xstate = 0x202
	// xstateMaxSize bounds the XSAVE area; the host reports the real size.
	xstateMaxSize = 16 << 10
)

func ptraceSysemu(tid int, sig int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SYSEMU, uintptr(tid), 0, uintptr(sig), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// siginfo is the part of Linux's siginfo_t the platform reads.
type siginfo struct {
	signo int32
	errno int32
	code  int32
	_     int32
	addr  uintptr
	_     [128 - 24]byte
}

func getSiginfo(tid int) (siginfo, error) {
	var info siginfo
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tid), 0, uintptr(unsafe.Pointer(&info)), 0, 0)
	if e != 0 {
		return info, e
	}
	return info, nil
}

func getRegset(tid int, kind uintptr, buf []byte) (int, error) {
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETREGSET, uintptr(tid), kind, uintptr(unsafe.Pointer(&iov)), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(iov.Len), nil
}

func setRegset(tid int, kind uintptr, buf []byte) error {
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SETREGSET, uintptr(tid), kind, uintptr(unsafe.Pointer(&iov)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
