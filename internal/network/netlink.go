package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"

	"magawa/internal/network/rtnl"
)

// This file builds the few rtnetlink requests the runtime makes of the
// host: a veth pair, addresses, routes, links up or gone, and the
// traffic control of a VM sandbox's interface (tc.go). A request is made
// in the network namespace of the calling thread.

// addVeth makes a veth pair: name here, peer in the network namespace
// of the descriptor peerNS.
func addVeth(name, peer string, peerNS int) error {
	peerInfo := append(rtnl.IfInfomsg(0, 0, 0), rtnl.String(unix.IFLA_IFNAME, peer).Encode()...)
	peerInfo = append(peerInfo, rtnl.Uint32(unix.IFLA_NET_NS_FD, uint32(peerNS)).Encode()...)
	const vethInfoPeer = 1 // VETH_INFO_PEER
	return rtnl.Request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, rtnl.IfInfomsg(0, 0, 0),
		rtnl.String(unix.IFLA_IFNAME, name),
		rtnl.Nest(unix.IFLA_LINKINFO,
			rtnl.String(unix.IFLA_INFO_KIND, "veth"),
			rtnl.Nest(unix.IFLA_INFO_DATA, rtnl.Attr{Type: vethInfoPeer, Value: peerInfo}),
		))
}

// deleteLink removes the interface called name.
func deleteLink(name string) error {
	return rtnl.Request(unix.RTM_DELLINK, 0, rtnl.IfInfomsg(0, 0, 0), rtnl.String(unix.IFLA_IFNAME, name))
}

// setUp brings the interface index up.
func setUp(index int32) error {
	return rtnl.Request(unix.RTM_NEWLINK, 0, rtnl.IfInfomsg(index, unix.IFF_UP, unix.IFF_UP))
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
	return rtnl.Request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, h,
		rtnl.Attr{Type: unix.IFA_LOCAL, Value: ip}, rtnl.Attr{Type: unix.IFA_ADDRESS, Value: ip})
}

// addDefaultRoute is `ip route add default via gw dev index`.
func addDefaultRoute(index int32, gw netip.Addr) error {
	h := make([]byte, unix.SizeofRtMsg)
	h[0] = unix.AF_INET
	h[4], h[5], h[6], h[7] = unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST
	return rtnl.Request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, h,
		rtnl.Attr{Type: unix.RTA_GATEWAY, Value: gw.AsSlice()}, rtnl.Uint32(unix.RTA_OIF, uint32(index)))
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
			if a.Attr.Type == unix.IFLA_IFNAME && rtnl.CString(a.Value) == name {
				return int32(binary.NativeEndian.Uint32(m.Data[4:])), nil
			}
		}
	}
	return 0, fmt.Errorf("no interface %s: %w", name, errors.New("not found"))
}
