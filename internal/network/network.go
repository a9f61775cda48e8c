package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"

	"magawa/internal/network/rtnl"
)

// Link is an interface the sandbox takes over.
type Link struct {
	// Index and Name are the interface's in the namespace; the sandbox
	// shows it under the same ones.
	Index int32  `json:"index"`
	Name  string `json:"name"`
	MTU   uint32 `json:"mtu"`
	// HardwareAddr is its MAC address.
	HardwareAddr []byte `json:"hardwareAddr"`
	// Addresses are its IPv4 and IPv6 addresses with their prefixes.
	Addresses []netip.Prefix `json:"addresses,omitempty"`
}

// Route is a route of the namespace's main table through a Link.
type Route struct {
	Dst netip.Prefix `json:"dst"`
	// Gateway is the next hop; invalid for a directly connected one.
	Gateway netip.Addr `json:"gateway,omitzero"`
	Index   int32      `json:"index"`
}

// Config is what the sandbox needs to serve the interfaces: with it
// come the packet sockets, one per link and in the same order.
type Config struct {
	Links  []Link  `json:"links,omitempty"`
	Routes []Route `json:"routes,omitempty"`
}

// Takeover takes the Ethernet interfaces of the network namespace of
// process pid (the sandbox process) away from the host's stack: it
// returns their configuration and a packet socket bound to each. An
// interface that is down is left alone. The caller needs CAP_NET_ADMIN
// and CAP_NET_RAW in that namespace.
func Takeover(pid int) (*Config, []*os.File, error) {
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, nil, fmt.Errorf("the sandbox's network namespace: %w", err)
	}
	defer ns.Close()
	// Never the runtime's own namespace: taking its interfaces would cut
	// the host off the network.
	if own, err := isOwnNamespace(ns); err != nil {
		return nil, nil, err
	} else if own {
		return nil, nil, errors.New("the sandbox is in the host's network namespace: its interfaces are not the sandbox's to take")
	}
	var (
		cfg   *Config
		files []*os.File
	)
	err = InNamespace(ns, func() error {
		var err error
		cfg, files, err = takeover()
		return err
	})
	if err != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, nil, err
	}
	return cfg, files, nil
}

// IsOwnNamespace reports whether the network namespace at path is the
// caller's own: a bundle that names it (Docker's --network host does)
// asks for the host's network, which a sandbox must not take over.
func IsOwnNamespace(path string) (bool, error) {
	ns, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer ns.Close()
	return isOwnNamespace(ns)
}

func isOwnNamespace(ns *os.File) (bool, error) {
	var theirs, ours unix.Stat_t
	if err := unix.Fstat(int(ns.Fd()), &theirs); err != nil {
		return false, err
	}
	if err := unix.Stat("/proc/thread-self/ns/net", &ours); err != nil {
		return false, err
	}
	return theirs.Dev == ours.Dev && theirs.Ino == ours.Ino, nil
}

// InNamespace runs fn on an OS thread that is in the network namespace
// ns, and brings the thread back to its own namespace afterwards; a
// thread that cannot go back is not used again (it ends with the
// goroutine, still locked).
func InNamespace(ns *os.File, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer self.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering the network namespace: %w", err)
			return
		}
		err = fn()
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

func takeover() (*Config, []*os.File, error) {
	links, err := listLinks()
	if err != nil {
		return nil, nil, err
	}
	cfg := &Config{}
	var files []*os.File
	fail := func(err error) (*Config, []*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, nil, err
	}
	addrs, err := listAddresses()
	if err != nil {
		return fail(err)
	}
	routes, err := listRoutes()
	if err != nil {
		return fail(err)
	}
	for _, l := range links {
		l.Addresses = addrs[l.Index]
		f, err := packetSocket(l.Index)
		if err != nil {
			return fail(fmt.Errorf("interface %s: %w", l.Name, err))
		}
		files = append(files, f)
		cfg.Links = append(cfg.Links, l)
	}
	for _, r := range routes {
		if slices.ContainsFunc(cfg.Links, func(l Link) bool { return l.Index == r.Index }) {
			cfg.Routes = append(cfg.Routes, r)
		}
	}
	// Only now, with every socket open, do the host's addresses go: a
	// failure before leaves the namespace as it was.
	for _, l := range cfg.Links {
		if err := releaseAddresses(l); err != nil {
			return fail(fmt.Errorf("interface %s: %w", l.Name, err))
		}
	}
	return cfg, files, nil
}

// listLinks returns the namespace's Ethernet interfaces that are up.
func listLinks() ([]Link, error) {
	msgs, err := dump(unix.RTM_GETLINK, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	var links []Link
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
			continue
		}
		ifi := (*unix.IfInfomsg)(unsafePointer(m.Data))
		if ifi.Type != unix.ARPHRD_ETHER || ifi.Flags&unix.IFF_UP == 0 || ifi.Flags&unix.IFF_LOOPBACK != 0 {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil, fmt.Errorf("listing interfaces: %w", err)
		}
		l := Link{Index: ifi.Index}
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.IFLA_IFNAME:
				l.Name = rtnl.CString(a.Value)
			case unix.IFLA_MTU:
				if len(a.Value) >= 4 {
					l.MTU = binary.NativeEndian.Uint32(a.Value)
				}
			case unix.IFLA_ADDRESS:
				l.HardwareAddr = slices.Clone(a.Value)
			}
		}
		if len(l.HardwareAddr) != 6 || l.MTU == 0 {
			continue
		}
		links = append(links, l)
	}
	return links, nil
}

// listAddresses returns the IPv4 and IPv6 addresses of every interface,
// by index.
func listAddresses() (map[int32][]netip.Prefix, error) {
	msgs, err := dump(unix.RTM_GETADDR, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	out := map[int32][]netip.Prefix{}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWADDR || len(m.Data) < unix.SizeofIfAddrmsg {
			continue
		}
		ifa := (*unix.IfAddrmsg)(unsafePointer(m.Data))
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil, fmt.Errorf("listing addresses: %w", err)
		}
		var local, address netip.Addr
		for _, a := range attrs {
			ip, ok := netip.AddrFromSlice(a.Value)
			if !ok {
				continue
			}
			switch a.Attr.Type {
			case unix.IFA_LOCAL:
				local = ip
			case unix.IFA_ADDRESS:
				address = ip
			}
		}
		// IFA_LOCAL is the interface's own address where there is one
		// (IFA_ADDRESS is the peer's on a point-to-point link).
		ip := address
		if local.IsValid() {
			ip = local
		}
		if ip.IsValid() {
			out[int32(ifa.Index)] = append(out[int32(ifa.Index)], netip.PrefixFrom(ip, int(ifa.Prefixlen)))
		}
	}
	return out, nil
}

// listRoutes returns the unicast routes of the main table.
func listRoutes() ([]Route, error) {
	var routes []Route
	for _, family := range []int{unix.AF_INET, unix.AF_INET6} {
		msgs, err := dump(unix.RTM_GETROUTE, family)
		if err != nil {
			return nil, fmt.Errorf("listing routes: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_NEWROUTE || len(m.Data) < unix.SizeofRtMsg {
				continue
			}
			rt := (*unix.RtMsg)(unsafePointer(m.Data))
			if rt.Type != unix.RTN_UNICAST {
				continue
			}
			attrs, err := syscall.ParseNetlinkRouteAttr(&m)
			if err != nil {
				return nil, fmt.Errorf("listing routes: %w", err)
			}
			table := uint32(rt.Table)
			var r Route
			dst := netip.IPv4Unspecified()
			if family == unix.AF_INET6 {
				dst = netip.IPv6Unspecified()
			}
			for _, a := range attrs {
				switch a.Attr.Type {
				case unix.RTA_DST:
					if ip, ok := netip.AddrFromSlice(a.Value); ok {
						dst = ip
					}
				case unix.RTA_GATEWAY:
					r.Gateway, _ = netip.AddrFromSlice(a.Value)
				case unix.RTA_OIF:
					if len(a.Value) >= 4 {
						r.Index = int32(binary.NativeEndian.Uint32(a.Value))
					}
				case unix.RTA_TABLE:
					if len(a.Value) >= 4 {
						table = binary.NativeEndian.Uint32(a.Value)
					}
				}
			}
			if table != unix.RT_TABLE_MAIN || r.Index == 0 {
				continue
			}
			r.Dst = netip.PrefixFrom(dst, int(rt.Dst_len))
			routes = append(routes, r)
		}
	}
	return routes, nil
}

// dump makes a netlink route dump request in the thread's namespace.
func dump(typ, family int) ([]syscall.NetlinkMessage, error) {
	b, err := syscall.NetlinkRIB(typ, family)
	if err != nil {
		return nil, err
	}
	return syscall.ParseNetlinkMessage(b)
}

// packetSocket opens a packet socket receiving every frame of the
// interface index, with room for bursts: the sandbox's stack reads and
// writes the interface's Ethernet frames through it.
func packetSocket(index int32) (*os.File, error) {
	proto := int(htons(unix.ETH_P_ALL))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: int(index)}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("binding a packet socket: %w", err)
	}
	// Larger buffers than the default absorb a burst while the
	// sandbox's reader is descheduled; failing to get them is not fatal.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
	return os.NewFile(uintptr(fd), fmt.Sprintf("packet:%d", index)), nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// releaseAddresses takes l's addresses away from the host's stack: the
// IPv4 ones are deleted, and IPv6 is turned off on the interface, which
// deletes its IPv6 addresses and keeps the host from configuring new
// ones (a link-local address whenever the link comes up). Without its
// addresses the host's stack neither answers ARP and neighbour
// solicitations for them nor resets connections meant for the sandbox.
func releaseAddresses(l Link) error {
	for _, p := range l.Addresses {
		if !p.Addr().Is4() {
			continue
		}
		if err := deleteAddress(l.Index, p); err != nil {
			return fmt.Errorf("removing %v from the host's stack: %w", p, err)
		}
	}
	err := os.WriteFile("/proc/sys/net/ipv6/conf/"+l.Name+"/disable_ipv6", []byte("1"), 0)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("turning IPv6 off on the host's side: %w", err)
	}
	return nil
}

// deleteAddress is `ip addr del p dev index`.
func deleteAddress(index int32, p netip.Prefix) error {
	h := make([]byte, unix.SizeofIfAddrmsg)
	h[0], h[1] = unix.AF_INET, byte(p.Bits())
	binary.NativeEndian.PutUint32(h[4:], uint32(index))
	ip := p.Addr().AsSlice()
	return rtnl.Request(unix.RTM_DELADDR, 0, h, rtnl.Attr{Type: unix.IFA_LOCAL, Value: ip}, rtnl.Attr{Type: unix.IFA_ADDRESS, Value: ip})
}
