package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// This file builds the few rtnetlink requests the runtime makes of the
// host: a veth pair, addresses, routes, links up or gone. A request is
// made in the network namespace of the calling thread.

// attr is a netlink attribute: its payload, or its nested attributes.
type attr struct {
	typ    uint16
	value  []byte
	nested []attr
}

func (a attr) encode() []byte {
	payload := a.value
	if a.nested != nil {
		payload = nil
		for _, n := range a.nested {
			payload = append(payload, n.encode()...)
		}
	}
	b := make([]byte, unix.SizeofRtAttr, unix.SizeofRtAttr+len(payload)+3)
	binary.NativeEndian.PutUint16(b, uint16(unix.SizeofRtAttr+len(payload)))
	binary.NativeEndian.PutUint16(b[2:], a.typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func strAttr(typ uint16, s string) attr { return attr{typ: typ, value: append([]byte(s), 0)} }

func u32Attr(typ uint16, v uint32) attr {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, v)
	return attr{typ: typ, value: b}
}

// request sends one request and waits for its acknowledgement.
func request(typ uint16, flags uint16, header []byte, attrs ...attr) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	body := append([]byte{}, header...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	for _, a := range attrs {
		body = append(body, a.encode()...)
	}
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg, uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:], 1)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4 {
				if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
					return unix.Errno(-e)
				}
				return nil
			}
		}
	}
}

// ifinfo is a struct ifinfomsg.
func ifinfo(index int32, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	return b
}

// addVeth makes a veth pair: name here, peer in the network namespace
// of the descriptor peerNS.
func addVeth(name, peer string, peerNS int) error {
	peerInfo := append(ifinfo(0, 0, 0), strAttr(unix.IFLA_IFNAME, peer).encode()...)
	peerInfo = append(peerInfo, u32Attr(unix.IFLA_NET_NS_FD, uint32(peerNS)).encode()...)
	const vethInfoPeer = 1 // VETH_INFO_PEER
	return request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, ifinfo(0, 0, 0),
		strAttr(unix.IFLA_IFNAME, name),
		attr{typ: unix.IFLA_LINKINFO, nested: []attr{
			strAttr(unix.IFLA_INFO_KIND, "veth"),
			{typ: unix.IFLA_INFO_DATA, nested: []attr{{typ: vethInfoPeer, value: peerInfo}}},
		}})
}

// deleteLink removes the interface called name.
func deleteLink(name string) error {
	return request(unix.RTM_DELLINK, 0, ifinfo(0, 0, 0), strAttr(unix.IFLA_IFNAME, name))
}

// setUp brings the interface index up.
func setUp(index int32) error {
	return request(unix.RTM_NEWLINK, 0, ifinfo(index, unix.IFF_UP, unix.IFF_UP))
}

// addAddress is `ip addr add p dev index`.
func addAddress(index int32, p netip.Prefix) error {
	family, ip := byte(unix.AF_INET), p.Addr().AsSlice()
	if !p.Addr().Is4() {
		family = unix.AF_INET6
	}
	h := make([]byte, unix.SizeofIfAddrmsg)
	h[0], h[1] = family, byte(p.Bits())
	binary.NativeEndian.PutUint32(h[4:], uint32(index))
	return request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, h,
		attr{typ: unix.IFA_LOCAL, value: ip}, attr{typ: unix.IFA_ADDRESS, value: ip})
}

// addDefaultRoute is `ip route add default via gw dev index`.
func addDefaultRoute(index int32, gw netip.Addr) error {
	h := make([]byte, unix.SizeofRtMsg)
	h[0] = unix.AF_INET
	h[4], h[5], h[6], h[7] = unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST
	return request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, h,
		attr{typ: unix.RTA_GATEWAY, value: gw.AsSlice()}, u32Attr(unix.RTA_OIF, uint32(index)))
}

// linkIndex returns the index of the interface called name.
func linkIndex(name string) (int32, error) {
	links, err := dump(unix.RTM_GETLINK, unix.AF_UNSPEC)
	if err != nil {
		return 0, err
	}
	for _, m := range links {
		if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type == unix.IFLA_IFNAME && cString(a.Value) == name {
				return int32(binary.NativeEndian.Uint32(m.Data[4:])), nil
			}
		}
	}
	return 0, fmt.Errorf("no interface %s: %w", name, errors.New("not found"))
}
