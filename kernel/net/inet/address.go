package inet

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// Sizes of the address structures. Linux: include/uapi/linux/in.h and
// in6.h; an IPv6 address shorter than sockaddr_in6 but at least
// SIN6_LEN_RFC2133 (without sin6_scope_id) is accepted.
const (
	sockaddrInSize   = 16
	sockaddrIn6Size  = 28
	sin6LenRFC2133   = 24
	sockaddrFamilyLn = 2
)

// parseAddress reads a struct sockaddr for a socket of family. An
// AF_INET6 socket takes an IPv4 address only as IPv4-mapped IPv6. It
// returns the family the address was written in.
// Linux: net/ipv4/af_inet.c, inet_bind(), and net/ipv6/af_inet6.c.
func parseAddress(family int, sa []byte) (tcpip.FullAddress, int, error) {
	if len(sa) < sockaddrFamilyLn {
		return tcpip.FullAddress{}, 0, unix.EINVAL
	}
	f := int(binary.LittleEndian.Uint16(sa))
	switch f {
	case unix.AF_INET:
		if len(sa) < sockaddrInSize {
			return tcpip.FullAddress{}, f, unix.EINVAL
		}
		return tcpip.FullAddress{
			Port: binary.BigEndian.Uint16(sa[2:]),
			Addr: tcpip.AddrFrom4([4]byte(sa[4:8])),
		}, f, nil
	case unix.AF_INET6:
		if len(sa) < sin6LenRFC2133 {
			return tcpip.FullAddress{}, f, unix.EINVAL
		}
		a := tcpip.FullAddress{
			Port: binary.BigEndian.Uint16(sa[2:]),
			Addr: tcpip.AddrFrom16([16]byte(sa[8:24])),
		}
		if len(sa) >= sockaddrIn6Size {
			// A scope matters only for link-local addresses, where it
			// names the interface.
			if scope := binary.LittleEndian.Uint32(sa[24:]); scope != 0 && isLinkLocal6(a.Addr) {
				a.NIC = tcpip.NICID(scope)
			}
		}
		if family == unix.AF_INET {
			return a, f, unix.EAFNOSUPPORT
		}
		return a, f, nil
	case unix.AF_UNSPEC:
		return tcpip.FullAddress{}, f, nil
	}
	return tcpip.FullAddress{}, f, unix.EAFNOSUPPORT
}

func isLinkLocal6(a tcpip.Address) bool {
	b := a.As16()
	return b[0] == 0xfe && b[1]&0xc0 == 0x80
}

// sockaddr returns a as the struct sockaddr of family: an IPv4 address
// on an AF_INET6 socket is written IPv4-mapped, as Linux reports the
// peers of a dual-stack socket.
func sockaddr(family int, a tcpip.FullAddress) []byte {
	if family == unix.AF_INET {
		b := make([]byte, sockaddrInSize)
		binary.LittleEndian.PutUint16(b, unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], a.Port)
		if a.Addr.Len() == 4 {
			v4 := a.Addr.As4()
			copy(b[4:], v4[:])
		}
		return b
	}
	b := make([]byte, sockaddrIn6Size)
	binary.LittleEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], a.Port)
	switch a.Addr.Len() {
	case 4:
		v4 := a.Addr.As4()
		b[18], b[19] = 0xff, 0xff
		copy(b[20:], v4[:])
	case 16:
		v6 := a.Addr.As16()
		copy(b[8:], v6[:])
		if isLinkLocal6(a.Addr) {
			binary.LittleEndian.PutUint32(b[24:], uint32(a.NIC))
		}
	}
	return b
}

// unmapV4 turns an IPv4-mapped IPv6 address into the IPv4 address
// netstack expects of a dual-stack endpoint, and the unspecified IPv6
// address into the empty one, which netstack takes as "any".
func unmapV4(a tcpip.FullAddress) tcpip.FullAddress {
	if a.Addr.Len() == 16 {
		b := a.Addr.As16()
		if [12]byte(b[:12]) == [12]byte{10: 0xff, 11: 0xff} {
			a.Addr = tcpip.AddrFrom4([4]byte(b[12:]))
		} else if a.Addr == (tcpip.AddrFrom16([16]byte{})) {
			a.Addr = tcpip.Address{}
		}
	} else if a.Addr == (tcpip.AddrFrom4([4]byte{})) {
		a.Addr = tcpip.Address{}
	}
	return a
}
