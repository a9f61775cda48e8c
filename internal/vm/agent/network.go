package agent

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/internal/network/rtnl"
	"magawa/internal/vm/agentapi"
)

// The guest's network: the VM's virtio-net NIC, whose frames the host
// exchanges with the container's veth (a tap device and traffic control
// filters, package network), takes the veth's identity: its MAC address
// (so that what the veth's peer sends to that address is the guest's),
// name, MTU, addresses and routes. The guest's network namespace is the
// containers' (as a pod's is its containers'): they see the NIC and
// loopback.

func (a *agent) ConfigureNetwork(ctx context.Context, req *agentapi.ConfigureNetworkRequest) (*agentapi.Empty, error) {
	if err := configureNetwork(req); err != nil {
		return nil, err
	}
	return &agentapi.Empty{}, nil
}

// nicConfig is a validated agentapi.NetworkInterface.
type nicConfig struct {
	name      string
	mac       net.HardwareAddr
	mtu       uint32
	addresses []netip.Prefix
}

// routeConfig is a validated agentapi.NetworkRoute.
type routeConfig struct {
	dst     netip.Prefix
	gateway netip.Addr // invalid: directly connected
	nic     string
}

// parseNetworkRequest checks everything the host sent before anything
// of the guest is changed.
func parseNetworkRequest(req *agentapi.ConfigureNetworkRequest) ([]nicConfig, []routeConfig, error) {
	var nics []nicConfig
	names := map[string]bool{}
	for _, in := range req.Interfaces {
		if err := validLinkName(in.Name); err != nil {
			return nil, nil, err
		}
		if names[in.Name] {
			return nil, nil, fmt.Errorf("interface %s named twice", in.Name)
		}
		names[in.Name] = true
		mac, err := net.ParseMAC(in.Mac)
		if err != nil || len(mac) != 6 {
			return nil, nil, fmt.Errorf("interface %s: invalid MAC address %q", in.Name, in.Mac)
		}
		if mac[0]&1 != 0 {
			return nil, nil, fmt.Errorf("interface %s: %s is a multicast address", in.Name, mac)
		}
		if in.Mtu != 0 && (in.Mtu < 68 || in.Mtu > 65535) {
			return nil, nil, fmt.Errorf("interface %s: MTU %d", in.Name, in.Mtu)
		}
		nic := nicConfig{name: in.Name, mac: mac, mtu: in.Mtu}
		for _, s := range in.Addresses {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, nil, fmt.Errorf("interface %s: %w", in.Name, err)
			}
			nic.addresses = append(nic.addresses, p)
		}
		nics = append(nics, nic)
	}
	var routes []routeConfig
	for _, r := range req.Routes {
		dst, err := netip.ParsePrefix(r.Destination)
		if err != nil {
			return nil, nil, fmt.Errorf("route: %w", err)
		}
		rc := routeConfig{dst: dst.Masked(), nic: r.Interface}
		if r.Gateway != "" {
			if rc.gateway, err = netip.ParseAddr(r.Gateway); err != nil {
				return nil, nil, fmt.Errorf("route to %v: %w", dst, err)
			}
			if rc.gateway.Is4() != dst.Addr().Is4() {
				return nil, nil, fmt.Errorf("route to %v: gateway %v of another IP version", dst, rc.gateway)
			}
		}
		if !names[r.Interface] {
			return nil, nil, fmt.Errorf("route to %v: interface %q is not among the interfaces", dst, r.Interface)
		}
		routes = append(routes, rc)
	}
	return nics, routes, nil
}

// validLinkName is the kernel's rule for an interface name
// (net/core/dev.c, dev_valid_name()).
func validLinkName(name string) error {
	if name == "" || len(name) >= unix.IFNAMSIZ || name == "." || name == ".." ||
		strings.ContainsAny(name, "/: \t\n\x00") {
		return fmt.Errorf("invalid interface name %q", name)
	}
	return nil
}

// configureNetwork gives each interface of the request one of the
// guest's NICs: the one that has its MAC address already, or else the
// first one not yet given, in the order of their indexes.
func configureNetwork(req *agentapi.ConfigureNetworkRequest) error {
	nics, routes, err := parseNetworkRequest(req)
	if err != nil {
		return err
	}
	if len(nics) == 0 {
		return nil
	}
	// Loaded at boot when the VM has a NIC; an image whose list lacks
	// them (an older one) or a kernel with the driver built in makes
	// this a no-op.
	if err := loadModules(groupNet); err != nil {
		return err
	}
	links, err := guestLinks()
	if err != nil {
		return err
	}
	var devices []guestLink
	for _, l := range links {
		if l.typ == unix.ARPHRD_ETHER && l.flags&unix.IFF_LOOPBACK == 0 {
			devices = append(devices, l)
		}
	}
	slices.SortFunc(devices, func(a, b guestLink) int { return cmp.Compare(a.index, b.index) })
	// Those that have their NIC by its MAC address first, so that the
	// others do not take it.
	given := map[int32]bool{}
	device := make([]int, len(nics))
	for n, nic := range nics {
		device[n] = slices.IndexFunc(devices, func(l guestLink) bool { return !given[l.index] && slices.Equal(l.mac, nic.mac) })
		if device[n] >= 0 {
			given[devices[device[n]].index] = true
		}
	}
	index := map[string]int32{}
	for n, nic := range nics {
		if device[n] < 0 {
			device[n] = slices.IndexFunc(devices, func(l guestLink) bool { return !given[l.index] })
			if device[n] < 0 {
				return fmt.Errorf("interface %s: the VM has no network device left for it (%d in all)", nic.name, len(devices))
			}
			given[devices[device[n]].index] = true
		}
		dev := devices[device[n]]
		if err := configureNIC(dev, nic); err != nil {
			return fmt.Errorf("interface %s (the guest's %s): %w", nic.name, dev.name, err)
		}
		index[nic.name] = dev.index
	}
	// Directly connected routes first: a gateway must be reachable
	// through one when its route is added.
	slices.SortStableFunc(routes, func(a, b routeConfig) int {
		return cmp.Compare(boolInt(a.gateway.IsValid()), boolInt(b.gateway.IsValid()))
	})
	for _, r := range routes {
		err := addRoute(index[r.nic], r.dst, r.gateway)
		// The kernel made the routes of the addresses' subnets and of
		// IPv6's link-local one itself.
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("route to %v: %w", r.dst, err)
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// configureNIC gives dev the interface's MAC address, MTU and name (all
// changed while it is down, as renaming must be) and its addresses, and
// brings it up.
func configureNIC(dev guestLink, nic nicConfig) error {
	if err := rtnl.Request(unix.RTM_NEWLINK, 0, rtnl.IfInfomsg(dev.index, 0, unix.IFF_UP)); err != nil {
		return fmt.Errorf("setting it down: %w", err)
	}
	attrs := []rtnl.Attr{{Type: unix.IFLA_ADDRESS, Value: nic.mac}}
	if nic.mtu != 0 {
		attrs = append(attrs, rtnl.Uint32(unix.IFLA_MTU, nic.mtu))
	}
	if nic.name != dev.name {
		attrs = append(attrs, rtnl.String(unix.IFLA_IFNAME, nic.name))
	}
	if err := rtnl.Request(unix.RTM_NEWLINK, 0, rtnl.IfInfomsg(dev.index, 0, 0), attrs...); err != nil {
		return fmt.Errorf("setting its MAC address %s, MTU %d and name: %w", nic.mac, nic.mtu, err)
	}
	if err := setLinkUp(dev.index); err != nil {
		return fmt.Errorf("bringing it up: %w", err)
	}
	for _, p := range nic.addresses {
		// IPv6 link-local addresses the kernel made itself when the
		// link came up, from the same MAC address: already there.
		if err := addAddress(dev.index, p); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("address %v: %w", p, err)
		}
	}
	return nil
}

func setLinkUp(index int32) error {
	return rtnl.Request(unix.RTM_NEWLINK, 0, rtnl.IfInfomsg(index, unix.IFF_UP, unix.IFF_UP))
}

// setLoopbackUp brings lo up: a network namespace starts with it down,
// and the containers share the guest's.
func setLoopbackUp() error {
	err := rtnl.Request(unix.RTM_NEWLINK, 0, rtnl.IfInfomsg(0, unix.IFF_UP, unix.IFF_UP), rtnl.String(unix.IFLA_IFNAME, "lo"))
	if err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// addAddress is `ip addr add p dev index` (IPv6's without duplicate
// address detection: the address was the veth's, which the host's
// stack has given up, and it is usable at once).
func addAddress(index int32, p netip.Prefix) error {
	h := make([]byte, unix.SizeofIfAddrmsg)
	h[0], h[1] = unix.AF_INET, byte(p.Bits())
	if !p.Addr().Is4() {
		h[0], h[2] = unix.AF_INET6, unix.IFA_F_NODAD
	}
	binary.NativeEndian.PutUint32(h[4:], uint32(index))
	ip := p.Addr().AsSlice()
	return rtnl.Request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, h,
		rtnl.Attr{Type: unix.IFA_LOCAL, Value: ip}, rtnl.Attr{Type: unix.IFA_ADDRESS, Value: ip})
}

// addRoute is `ip route add dst [via gw] dev index` in the main table.
func addRoute(index int32, dst netip.Prefix, gw netip.Addr) error {
	h := make([]byte, unix.SizeofRtMsg)
	h[0] = unix.AF_INET
	if !dst.Addr().Is4() {
		h[0] = unix.AF_INET6
	}
	h[1] = byte(dst.Bits())
	scope := byte(unix.RT_SCOPE_LINK)
	if gw.IsValid() {
		scope = unix.RT_SCOPE_UNIVERSE
	}
	h[4], h[5], h[6], h[7] = unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, scope, unix.RTN_UNICAST
	attrs := []rtnl.Attr{rtnl.Uint32(unix.RTA_OIF, uint32(index))}
	if dst.Bits() > 0 {
		attrs = append(attrs, rtnl.Attr{Type: unix.RTA_DST, Value: dst.Addr().AsSlice()})
	}
	if gw.IsValid() {
		attrs = append(attrs, rtnl.Attr{Type: unix.RTA_GATEWAY, Value: gw.AsSlice()})
	}
	return rtnl.Request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, h, attrs...)
}

// guestLink is an interface of the guest.
type guestLink struct {
	index int32
	name  string
	typ   uint16 // ARPHRD_*
	flags uint32
	mac   net.HardwareAddr
}

// guestLinks lists the interfaces of the agent's network namespace.
func guestLinks() ([]guestLink, error) {
	msgs, err := rtnl.Dump(unix.RTM_GETLINK, rtnl.IfInfomsg(0, 0, 0))
	if err != nil {
		return nil, fmt.Errorf("listing the network interfaces: %w", err)
	}
	var links []guestLink
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
			continue
		}
		attrs, err := rtnl.ParseAttrs(m.Data[unix.SizeofIfInfomsg:])
		if err != nil {
			return nil, fmt.Errorf("listing the network interfaces: %w", err)
		}
		l := guestLink{
			typ:   binary.NativeEndian.Uint16(m.Data[2:]),
			index: int32(binary.NativeEndian.Uint32(m.Data[4:])),
			flags: binary.NativeEndian.Uint32(m.Data[8:]),
		}
		if v, ok := rtnl.Find(attrs, unix.IFLA_IFNAME); ok {
			l.name = rtnl.CString(v)
		}
		if v, ok := rtnl.Find(attrs, unix.IFLA_ADDRESS); ok {
			l.mac = slices.Clone(v)
		}
		links = append(links, l)
	}
	return links, nil
}

// hasVirtioNet reports whether the VM has a virtio network device
// (virtio device ID 1), whose driver the agent then loads at boot.
func hasVirtioNet() bool {
	ids, _ := filepath.Glob("/sys/bus/virtio/devices/*/device")
	for _, p := range ids {
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == "0x0001" {
			return true
		}
	}
	return false
}
