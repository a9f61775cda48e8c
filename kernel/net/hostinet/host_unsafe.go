package hostinet

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The host calls whose arguments are raw memory: addresses and option
// values go to the host as the bytes the package checked, never parsed
// into x/sys/unix's Sockaddr types and re-encoded (which would lose
// what the application wrote and need a case per family).

// maxSockaddr is the largest address the host returns for the two
// families (sizeof(struct sockaddr_storage) is more than enough).
const maxSockaddr = unix.SizeofSockaddrAny

func errnoOf(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// ptr is the address of b's first byte, or nil for an empty b.
func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func hostBind(fd int, sa []byte) error {
	_, _, e := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(ptr(sa)), uintptr(len(sa)))
	return errnoOf(e)
}

func hostConnect(fd int, sa []byte) error {
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(ptr(sa)), uintptr(len(sa)))
	return errnoOf(e)
}

// hostName is getsockname (peer false) or getpeername (peer true).
func hostName(fd int, peer bool) ([]byte, error) {
	nr := uintptr(unix.SYS_GETSOCKNAME)
	if peer {
		nr = unix.SYS_GETPEERNAME
	}
	buf := make([]byte, maxSockaddr)
	n := uint32(len(buf))
	_, _, e := unix.Syscall(nr, uintptr(fd), uintptr(ptr(buf)), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return nil, e
	}
	return buf[:min(int(n), len(buf))], nil
}

func hostSetsockopt(fd, level, name int, val []byte) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(ptr(val)), uintptr(len(val)), 0)
	return errnoOf(e)
}

func hostGetsockopt(fd, level, name, size int) ([]byte, error) {
	buf := make([]byte, size)
	n := uint32(size)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(ptr(buf)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return nil, e
	}
	return buf[:min(int(n), size)], nil
}

// newMsghdr is a struct msghdr of one buffer (through iov, which the
// caller keeps alive across the call), an address and ancillary data,
// each left out when empty.
func newMsghdr(iov *unix.Iovec, data, name, ctl []byte) unix.Msghdr {
	var msg unix.Msghdr
	if len(data) > 0 {
		iov.Base = &data[0]
		iov.SetLen(len(data))
		msg.Iov = iov
		msg.Iovlen = 1
	}
	if len(name) > 0 {
		msg.Name = &name[0]
		msg.Namelen = uint32(len(name))
	}
	if len(ctl) > 0 {
		msg.Control = &ctl[0]
		msg.SetControllen(len(ctl))
	}
	return msg
}

// hostSendmsg sends data to the address to (nil: none) with the
// ancillary data ctl.
func hostSendmsg(fd int, data, to, ctl []byte, flags int) (int, error) {
	var iov unix.Iovec
	msg := newMsghdr(&iov, data, to, ctl)
	n, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// hostRecvmsg receives into buf; from and ctl (may be nil) get the
// sender's address and the ancillary data, cut to what the host filled.
func hostRecvmsg(fd int, buf, from, ctl []byte, flags int) (n int, fromOut, ctlOut []byte, outFlags int, err error) {
	var iov unix.Iovec
	msg := newMsghdr(&iov, buf, from, ctl)
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if e != 0 {
		return 0, nil, nil, 0, e
	}
	if len(from) > 0 && msg.Namelen > 0 {
		fromOut = from[:min(int(msg.Namelen), len(from))]
	}
	if len(ctl) > 0 && msg.Controllen > 0 {
		ctlOut = ctl[:min(int(msg.Controllen), len(ctl))]
	}
	return int(r), fromOut, ctlOut, int(msg.Flags), nil
}

// hostIoctlInt is an ioctl whose argument is an int the host fills.
func hostIoctlInt(fd int, req uint) (int32, error) {
	var v int32
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(&v)))
	return v, errnoOf(e)
}

// hostIoctlBuf is an ioctl whose argument is a structure without
// pointers (struct ifreq), read and written by the host in place.
func hostIoctlBuf(fd int, req uint, buf []byte) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(ptr(buf)))
	return errnoOf(e)
}

// epollWait waits for events on the epoll instance epfd, with
// epoll_pwait: the sandbox's seccomp filter allows the call the Go
// runtime makes, not epoll_wait.
func epollWait(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])),
		uintptr(len(events)), ^uintptr(0) /* -1: no timeout */, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
