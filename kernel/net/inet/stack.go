package inet

import (
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/raw"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// Stack is a sandbox's network stack: netstack's, with the sandbox's
// interfaces, addresses and routes.
type Stack struct {
	stack *stack.Stack

	// mu serializes changes of addresses and routes, which netstack
	// makes in several steps (an address and its subnet route).
	mu sync.Mutex

	// lastIno numbers the sockets' inodes. It starts far from the Unix
	// sockets' numbers, which have a counter of their own.
	lastIno atomic.Uint64

	// socketsMu guards sockets, the open sockets (for /proc/net).
	socketsMu sync.Mutex
	sockets   map[*Socket]struct{}

	// UnprivilegedPortStart, if set, returns
	// net.ipv4.ip_unprivileged_port_start: binding a lower port needs
	// CAP_NET_BIND_SERVICE. Set before the stack is used.
	UnprivilegedPortStart func() int32
}

func (st *Stack) unprivilegedPortStart() int32 {
	if st.UnprivilegedPortStart == nil {
		return 1024
	}
	return st.UnprivilegedPortStart()
}

// loopbackIndex is the interface index of lo, as on Linux, where it is
// the first interface of every network namespace.
const loopbackIndex = 1

// NewStack returns a stack with the loopback interface lo up, holding
// 127.0.0.1/8 and ::1/128, the network namespace Linux gives a
// container with no network (--network=none).
func NewStack() (*Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols: []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{
			tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6,
		},
		// Packets between the stack's own addresses stay inside it.
		HandleLocal: true,
		// Raw sockets, for programs with CAP_NET_RAW (ping as root).
		RawFactory: raw.EndpointFactory{},
	})
	st := &Stack{stack: s, sockets: map[*Socket]struct{}{}}
	st.lastIno.Store(1 << 24)
	if err := st.configure(); err != nil {
		s.Destroy()
		return nil, err
	}
	return st, nil
}

func (st *Stack) configure() error {
	s := st.stack
	// Linux's TCP defaults where netstack's differ: SACK on, and the
	// moderated receive buffer, which is what makes a bulk transfer
	// over loopback fast.
	sack := tcpip.TCPSACKEnabled(true)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		return fmt.Errorf("tcp SACK: %s", err)
	}
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &moderate); err != nil {
		return fmt.Errorf("tcp receive buffer moderation: %s", err)
	}
	if err := s.CreateNICWithOptions(loopbackIndex, newPacketTap(loopback.New()), stack.NICOptions{Name: "lo"}); err != nil {
		return fmt.Errorf("creating lo: %s", err)
	}
	for _, p := range []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::1/128")} {
		if err := st.addAddress(loopbackIndex, p); err != nil {
			return fmt.Errorf("adding %v to lo: %w", p, err)
		}
	}
	return nil
}

// Sockets calls fn for each open socket, in no order, with no lock of
// the stack held (fn may call the socket's methods).
func (st *Stack) Sockets(fn func(*Socket)) {
	st.socketsMu.Lock()
	all := make([]*Socket, 0, len(st.sockets))
	for s := range st.sockets {
		all = append(all, s)
	}
	st.socketsMu.Unlock()
	for _, s := range all {
		fn(s)
	}
}

// Netstack is the stack's netstack, for the families served over it
// beside Internet sockets: packet sockets (kernel/net/packet) register
// their endpoints with its interfaces and write frames through it.
func (st *Stack) Netstack() *stack.Stack { return st.stack }

// NextIno numbers a socket's inode: the stack's Internet, netlink and
// packet sockets share the counter.
func (st *Stack) NextIno() uint64 { return st.lastIno.Add(1) }

// Close ends every connection and stops the stack's goroutines.
func (st *Stack) Close() {
	st.stack.Close()
	st.stack.Wait()
}

// Interface is a network interface as netlink and the SIOCGIF* ioctls
// describe it.
type Interface struct {
	Index int32
	Name  string
	// Flags are IFF_* flags.
	Flags uint32
	MTU   uint32
	// HardwareAddr is the link-layer address (empty for lo).
	HardwareAddr []byte
	// ARPType is the ARPHRD_* type (ARPHRD_LOOPBACK, ARPHRD_ETHER).
	ARPType uint16
}

// InterfaceAddress is an address assigned to an interface, with its
// prefix length.
type InterfaceAddress struct {
	Index  int32
	Prefix netip.Prefix
}

// Route is an entry of the routing table: packets to Dst leave through
// the interface Index, to Gateway if it is valid, else directly.
type Route struct {
	Dst     netip.Prefix
	Gateway netip.Addr
	Index   int32
}

// Interfaces returns the interfaces, by index.
func (st *Stack) Interfaces() []Interface {
	var out []Interface
	for id, info := range st.stack.NICInfo() {
		ifc := Interface{
			Index:        int32(id),
			Name:         info.Name,
			MTU:          info.MTU,
			HardwareAddr: []byte(info.LinkAddress),
			ARPType:      uint16(info.ARPHardwareType),
		}
		// netstack calls every interface up; a disabled one is only
		// not running.
		if info.Flags.Up && info.Flags.Running {
			ifc.Flags |= unix.IFF_UP
		}
		if info.Flags.Running {
			ifc.Flags |= unix.IFF_RUNNING | unix.IFF_LOWER_UP
		}
		if info.Flags.Promiscuous {
			ifc.Flags |= unix.IFF_PROMISC
		}
		if info.Flags.Loopback {
			ifc.Flags |= unix.IFF_LOOPBACK
			ifc.ARPType = unix.ARPHRD_LOOPBACK
		} else {
			ifc.Flags |= unix.IFF_BROADCAST | unix.IFF_MULTICAST
			if ifc.ARPType == uint16(header.ARPHardwareNone) {
				ifc.ARPType = unix.ARPHRD_ETHER
			}
		}
		out = append(out, ifc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// InterfaceAddresses returns the addresses of every interface, by
// interface index, IPv4 first.
func (st *Stack) InterfaceAddresses() []InterfaceAddress {
	var out []InterfaceAddress
	for id, addrs := range st.stack.AllAddresses() {
		for _, a := range addrs {
			ip, ok := netip.AddrFromSlice(a.AddressWithPrefix.Address.AsSlice())
			// netstack keeps the limited broadcast address on every
			// IPv4 interface to receive on it; it is no address of the
			// interface to Linux.
			if !ok || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || ip.IsMulticast() {
				continue
			}
			out = append(out, InterfaceAddress{Index: int32(id), Prefix: netip.PrefixFrom(ip, a.AddressWithPrefix.PrefixLen)})
		}
	}
	// netstack keeps them in a map: Linux's order (as added) is lost,
	// and a fixed one beats a different one at every call.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		if a.Prefix.Addr().Is4() != b.Prefix.Addr().Is4() {
			return a.Prefix.Addr().Is4()
		}
		return a.Prefix.Addr().Less(b.Prefix.Addr())
	})
	return out
}

// Routes returns the routing table, most specific first as netstack
// matches it.
func (st *Stack) Routes() []Route {
	var out []Route
	for _, r := range st.stack.GetRouteTable() {
		id := r.Destination.ID()
		ip, ok := netip.AddrFromSlice(id.AsSlice())
		if !ok {
			continue
		}
		rt := Route{Dst: netip.PrefixFrom(ip, r.Destination.Prefix()), Index: int32(r.NIC)}
		if r.Gateway.Len() > 0 {
			rt.Gateway, _ = netip.AddrFromSlice(r.Gateway.AsSlice())
		}
		out = append(out, rt)
	}
	return out
}

// CompareIPv6Destinations is the order in which Linux's IPv6 tables
// list routes (a radix tree walked with a node's own routes after its
// children's): by the bits the two prefixes share, a prefix after the
// longer ones inside it. Netlink dumps and /proc/net/ipv6_route both
// list in it.
func CompareIPv6Destinations(a, b netip.Prefix) int {
	n := min(a.Bits(), b.Bits())
	x, _ := a.Addr().Prefix(n)
	y, _ := b.Addr().Prefix(n)
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c
	}
	return b.Bits() - a.Bits()
}

// InterfaceByName returns the interface called name.
func (st *Stack) InterfaceByName(name string) (Interface, bool) {
	for _, ifc := range st.Interfaces() {
		if ifc.Name == name {
			return ifc, true
		}
	}
	return Interface{}, false
}

// InterfaceByIndex returns the interface with index i.
func (st *Stack) InterfaceByIndex(i int32) (Interface, bool) {
	for _, ifc := range st.Interfaces() {
		if ifc.Index == i {
			return ifc, true
		}
	}
	return Interface{}, false
}

// AddAddress assigns p's address to interface index, with a route to
// p's subnet through it, as `ip addr add` does. The caller checks
// CAP_NET_ADMIN.
func (st *Stack) AddAddress(index int32, p netip.Prefix) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.addAddress(index, p)
}

func (st *Stack) addAddress(index int32, p netip.Prefix) error {
	if !p.IsValid() {
		return unix.EINVAL
	}
	proto := ipv4.ProtocolNumber
	if !p.Addr().Is4() {
		proto = ipv6.ProtocolNumber
	}
	pa := tcpip.ProtocolAddress{
		Protocol: proto,
		AddressWithPrefix: tcpip.AddressWithPrefix{
			Address:   tcpip.AddrFromSlice(p.Addr().AsSlice()),
			PrefixLen: p.Bits(),
		},
	}
	if err := st.stack.AddProtocolAddress(tcpip.NICID(index), pa, stack.AddressProperties{}); err != nil {
		return Errno(err)
	}
	st.stack.AddRoute(tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: tcpip.NICID(index)})
	return nil
}

// RemoveAddress removes p's address from interface index, and the
// subnet route that came with it.
func (st *Stack) RemoveAddress(index int32, p netip.Prefix) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	addr := tcpip.AddrFromSlice(p.Addr().AsSlice())
	if err := st.stack.RemoveAddress(tcpip.NICID(index), addr); err != nil {
		return Errno(err)
	}
	subnet := tcpip.AddressWithPrefix{Address: addr, PrefixLen: p.Bits()}.Subnet()
	st.stack.RemoveRoutes(func(r tcpip.Route) bool {
		return r.NIC == tcpip.NICID(index) && r.Destination == subnet && r.Gateway.Len() == 0
	})
	return nil
}

// SetInterfaceUp brings interface index up or down (`ip link set`).
func (st *Stack) SetInterfaceUp(index int32, up bool) error {
	var err tcpip.Error
	if up {
		err = st.stack.EnableNIC(tcpip.NICID(index))
	} else {
		err = st.stack.DisableNIC(tcpip.NICID(index))
	}
	if err != nil {
		return Errno(err)
	}
	return nil
}
