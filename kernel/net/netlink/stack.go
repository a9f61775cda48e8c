package netlink

import (
	"net/netip"

	"magawa/kernel/net/inet"
)

// Stack is the network stack whose interfaces, addresses and routes the
// route family describes and changes: *inet.Stack, or a fake in tests.
// Sockets of one Stack share one space of port IDs, so a Stack is
// compared by identity: implementations are pointers.
type Stack interface {
	// Interfaces returns the interfaces, by index.
	Interfaces() []inet.Interface
	// InterfaceAddresses returns the addresses of every interface, by
	// interface index, IPv4 first.
	InterfaceAddresses() []inet.InterfaceAddress
	// Routes returns the routing table: the subnet routes that come
	// with addresses and the routes added with a gateway.
	Routes() []inet.Route
	InterfaceByIndex(i int32) (inet.Interface, bool)
	InterfaceByName(name string) (inet.Interface, bool)
	// AddAddress and RemoveAddress change an interface's addresses,
	// with the subnet route that comes with each; the caller has
	// checked CAP_NET_ADMIN and that the change makes sense.
	AddAddress(index int32, p netip.Prefix) error
	RemoveAddress(index int32, p netip.Prefix) error
	// SetInterfaceUp brings an interface up or down.
	SetInterfaceUp(index int32, up bool) error
	// InterfaceStats returns the interfaces' counters, by index (those
	// missing are all 0).
	InterfaceStats() map[int32]inet.InterfaceStats
}

// inoSource is what a Stack may also offer: the inode numbers of its
// sockets, so that netlink sockets and Internet sockets never share one
// (sockfs numbers all sockets from one counter on Linux).
type inoSource interface {
	NextIno() uint64
}

var _ Stack = (*inet.Stack)(nil)
