package packet

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// struct sockaddr_ll, Linux: include/uapi/linux/if_packet.h. The
// protocol is in network byte order, the other fields in the machine's.
const (
	// sockaddrLen is sizeof(struct sockaddr_ll): what recvfrom reports
	// and what sendto and bind need at least.
	sockaddrLen = unix.SizeofSockaddrLinklayer
	// addrOffset is offsetof(struct sockaddr_ll, sll_addr): getsockname
	// reports this much plus the address.
	addrOffset = 12
)

// ethHeaderLen is the link header the sandbox's interfaces have (their
// dev->hard_header_len on Linux): Ethernet's, and lo's, which Linux
// gives an Ethernet header of zeros.
const ethHeaderLen = 14

// Ethernet protocols the package names.
const (
	ethPAll   = unix.ETH_P_ALL
	ethP8021Q = unix.ETH_P_8021Q
	// vlanHeaderLen is VLAN_HLEN: a raw frame with an 802.1Q tag may be
	// that much longer than the MTU allows.
	vlanHeaderLen = 4
)

// linkAddr is a struct sockaddr_ll, decoded.
type linkAddr struct {
	ifindex int32
	// proto is the Ethernet protocol, in the machine's byte order.
	proto   uint16
	hatype  uint16
	pkttype uint8
	halen   uint8
	addr    [8]byte
}

// parseLinkAddr reads the struct sockaddr_ll of sa, at least
// sockaddrLen bytes (the caller checks). The family is not checked:
// bind checks it, send does not (as Linux).
func parseLinkAddr(sa []byte) linkAddr {
	a := linkAddr{
		proto:   binary.BigEndian.Uint16(sa[2:]),
		ifindex: int32(binary.LittleEndian.Uint32(sa[4:])),
		hatype:  binary.LittleEndian.Uint16(sa[8:]),
		pkttype: sa[10],
		halen:   sa[11],
	}
	copy(a.addr[:], sa[addrOffset:sockaddrLen])
	return a
}

// family reads sa's family (sa has at least two bytes).
func family(sa []byte) int { return int(binary.LittleEndian.Uint16(sa)) }

// encode returns a as a struct sockaddr_ll of n bytes (at most
// sockaddrLen): getsockname's are cut after the address.
func (a linkAddr) encode(n int) []byte {
	b := make([]byte, sockaddrLen)
	binary.LittleEndian.PutUint16(b, unix.AF_PACKET)
	binary.BigEndian.PutUint16(b[2:], a.proto)
	binary.LittleEndian.PutUint32(b[4:], uint32(a.ifindex))
	binary.LittleEndian.PutUint16(b[8:], a.hatype)
	b[10] = a.pkttype
	b[11] = a.halen
	copy(b[addrOffset:], a.addr[:])
	return b[:min(n, sockaddrLen)]
}
