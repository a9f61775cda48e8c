package inet

import (
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	gwaiter "gvisor.dev/gvisor/pkg/waiter"
)

// This file gives /proc/net (kernel/fs/proc) what it shows of the stack
// in Linux's terms: interface counters as Linux counts them, and each
// socket as the lines of /proc/net/tcp and udp describe it.

// InterfaceStats are an interface's counters as /proc/net/dev shows them
// (Linux's struct rtnl_link_stats64, summed as dev_seq_printf_stats()
// sums them).
type InterfaceStats struct {
	RxBytes, RxPackets, RxErrors, RxDropped, RxMulticast uint64
	TxBytes, TxPackets, TxErrors, TxDropped              uint64
}

// ethHeaderLen is the length of the Ethernet header, which Linux counts
// in the bytes an Ethernet device (a veth) passes, received or sent.
// netstack counts a sent packet with the link header its endpoint added,
// but a received one from its network header on. lo's counts agree
// already: Linux counts its packets without their Ethernet header, and
// netstack's loopback has none.
const ethHeaderLen = 14

// InterfaceStats returns the counters of every interface, by index.
// netstack does not count multicast packets nor errors of the link; a
// packet it drops for an unknown network protocol (as Linux's
// __netif_receive_skb() does) or for a full transmit queue is a drop.
func (st *Stack) InterfaceStats() map[int32]InterfaceStats {
	out := map[int32]InterfaceStats{}
	for id, info := range st.stack.NICInfo() {
		s := info.Stats
		v := InterfaceStats{
			RxPackets: counter(s.Rx.Packets),
			RxBytes:   counter(s.Rx.Bytes),
			TxPackets: counter(s.Tx.Packets),
			TxBytes:   counter(s.Tx.Bytes),
			TxDropped: counter(s.TxPacketsDroppedNoBufferSpace),
		}
		if !info.Flags.Loopback {
			v.RxBytes += ethHeaderLen * v.RxPackets
		}
		if m := s.UnknownL3ProtocolRcvdPacketCounts; m != nil {
			for _, k := range m.Keys() {
				if c, ok := m.Get(k); ok {
					v.RxDropped += counter(c)
				}
			}
		}
		out[int32(id)] = v
	}
	return out
}

// counter reads a netstack counter, 0 for one it does not keep (nil).
func counter(c *tcpip.StatCounter) uint64 {
	if c == nil {
		return 0
	}
	return c.Value()
}

// Linux's TCP states (include/net/tcp_states.h), which /proc/net/tcp
// shows in hex; UDP sockets show the first (connected) or TCP_CLOSE.
const (
	TCPEstablished = 1
	TCPSynSent     = 2
	TCPClose       = 7
	TCPListen      = 10
	TCPClosing     = 11
)

// ProcNetInfo is what a line of /proc/net/tcp, tcp6, udp or udp6 shows
// of a socket.
type ProcNetInfo struct {
	// Listed says whether Linux's tables would hold the socket, which
	// /proc/net walks: a TCP socket listening or with a connection (not
	// one only created, bound or closed), a UDP socket with a port.
	Listed bool
	// Local and Remote are the addresses, of the socket's family (an
	// IPv4 peer of an AF_INET6 socket IPv4-mapped), unspecified with
	// port 0 when there is none.
	Local, Remote netip.AddrPort
	// State is Linux's TCP state number.
	State uint8
	// TxQueue and RxQueue are the bytes waiting to be sent (or
	// acknowledged) and read; for a listener, RxQueue is the
	// connections waiting for accept.
	TxQueue, RxQueue uint64
	// RTO, Cwnd and Ssthresh are a TCP connection's retransmission
	// timeout, congestion window and slow-start threshold (-1 while in
	// the initial slow start, as Linux prints it).
	RTO      time.Duration
	Cwnd     uint32
	Ssthresh int64
	// Drops are the datagrams dropped at the socket (sk_drops): its
	// receive buffer full, or a bad checksum.
	Drops uint64
}

// ProcNetInfo describes the socket for /proc/net. Linux:
// net/ipv4/tcp_ipv4.c, get_tcp4_sock(); net/ipv4/udp.c,
// udp4_format_sock().
//
// netstack keeps neither a TCP socket's bytes waiting for an
// acknowledgement nor the length of a listener's accept queue: TxQueue
// is always 0, and a listener's RxQueue says only whether a connection
// waits (1) or not (0). A UDP socket's RxQueue is the size of the next
// datagram (Linux counts the memory of all of them).
func (s *Socket) ProcNetInfo() ProcNetInfo {
	in := ProcNetInfo{Local: s.addrPort(s.ep.GetLocalAddress()), Remote: s.addrPort(s.ep.GetRemoteAddress())}
	switch s.protocol {
	case unix.IPPROTO_TCP:
		state := tcp.EndpointState(s.ep.State())
		switch {
		case state == tcp.StateConnecting:
			// netstack's step before it sends the SYN.
			in.State, in.Listed = TCPSynSent, true
		case state >= TCPEstablished && state <= TCPClosing && state != TCPClose:
			in.State, in.Listed = uint8(state), true
		}
		if state == tcp.StateListen {
			if s.ep.Readiness(gwaiter.ReadableEvents)&gwaiter.ReadableEvents != 0 {
				in.RxQueue = 1
			}
			return in
		}
		if v, err := s.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption); err == nil && v > 0 {
			in.RxQueue = uint64(v)
		}
		var info tcpip.TCPInfoOption
		if s.ep.GetSockOpt(&info) == nil {
			in.RTO, in.Cwnd, in.Ssthresh = info.RTO, info.SndCwnd, int64(info.SndSsthresh)
			// tcp_in_initial_slowstart(): at TCP_INFINITE_SSTHRESH.
			if info.SndSsthresh >= 0x7fffffff {
				in.Ssthresh = -1
			}
		}
	case unix.IPPROTO_UDP:
		in.State = TCPClose
		switch transport.DatagramEndpointState(s.ep.State()) {
		case transport.DatagramEndpointStateConnected:
			in.State, in.Listed = TCPEstablished, true
		case transport.DatagramEndpointStateBound:
			in.Listed = true
		}
		if v, err := s.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption); err == nil && v > 0 {
			in.RxQueue = uint64(v)
		}
		if stats, ok := s.ep.Stats().(*tcpip.TransportEndpointStats); ok {
			in.Drops = stats.ReceiveErrors.ReceiveBufferOverflow.Value() + stats.ReceiveErrors.ChecksumErrors.Value()
		}
	}
	return in
}

// addrPort converts a netstack address to the socket's family: nothing
// (an unbound or unconnected socket's) is the unspecified address, and
// an IPv4 address of an AF_INET6 socket is IPv4-mapped, as getsockname
// and getpeername give them.
func (s *Socket) addrPort(a tcpip.FullAddress, err tcpip.Error) netip.AddrPort {
	if err != nil {
		a = tcpip.FullAddress{}
	}
	ip, ok := netip.AddrFromSlice(a.Addr.AsSlice())
	if s.family == unix.AF_INET {
		if !ok || !ip.Unmap().Is4() {
			ip = netip.IPv4Unspecified()
		}
		return netip.AddrPortFrom(ip.Unmap(), a.Port)
	}
	switch {
	case !ok:
		ip = netip.IPv6Unspecified()
	case ip.Is4():
		ip = netip.AddrFrom16(ip.As16())
	}
	return netip.AddrPortFrom(ip, a.Port)
}
