package hostinet

import (
	"encoding/binary"
	"slices"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// ifreqSize is sizeof(struct ifreq) on x86-64: a name and a 24-byte
// union, without pointers for the requests passed on.
const ifreqSize = 40

// Ioctl implements vfs.IoctlImpl: the queue sizes, and the interface
// queries of netdevice(7) that programs make on any Internet socket,
// answered by the host (its interfaces: the sandbox shares its
// network). Other requests, SIOCGIFCONF (whose argument holds a
// pointer) and every setting among them, are refused with ENOTTY.
func (s *Socket) Ioctl(io vfs.IO, request uint32, arg uintptr) (uintptr, error) {
	switch request {
	case unix.SIOCINQ, unix.SIOCOUTQ, unix.SIOCATMARK:
		v, err := hostIoctlInt(s.fd, uint(request))
		if err != nil {
			return 0, hostErr(err)
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(v))
		if n, err := io.CopyOut(arg, b[:]); err != nil || n != len(b) {
			return 0, unix.EFAULT
		}
		return 0, nil
	}
	if !slices.Contains(HostIoctls, request) {
		return 0, unix.ENOTTY
	}
	// An interface query: struct ifreq in and out.
	var req [ifreqSize]byte
	if n, err := io.CopyIn(arg, req[:]); err != nil || n != len(req) {
		return 0, unix.EFAULT
	}
	if err := hostIoctlBuf(s.fd, uint(request), req[:]); err != nil {
		return 0, hostErr(err)
	}
	if n, err := io.CopyOut(arg, req[:]); err != nil || n != len(req) {
		return 0, unix.EFAULT
	}
	return 0, nil
}
