package proc

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"magawa/kernel/net/inet"
)

// This file renders the files of /proc/net from plain values (net.go
// gathers them): Linux's headers, columns and padding, byte for byte.

// kernelPointer is what %pK prints of a kernel address to a reader who
// may not see it (kptr_restrict): the sandbox has no addresses to show.
const kernelPointer = "0000000000000000"

// padLine ends the line in b that starts at start: padded with spaces
// to width characters (without the newline), as seq_pad() pads the
// lines of /proc/net/tcp, udp and route so that a reader may seek by
// line.
func padLine(b *strings.Builder, start, width int) {
	if n := b.Len() - start; n < width {
		b.WriteString(strings.Repeat(" ", width-n))
	}
	b.WriteByte('\n')
}

// hexAddr writes an address as /proc/net prints it: each 32-bit word of
// the address, as stored (network order), printed as a little-endian
// host reads it (%08X of a __be32): 127.0.0.1 is 0100007F.
func hexAddr(b *strings.Builder, a netip.Addr) {
	s := a.AsSlice()
	if len(s) == 0 {
		s = make([]byte, 4)
	}
	for i := 0; i+4 <= len(s); i += 4 {
		fmt.Fprintf(b, "%02X%02X%02X%02X", s[i+3], s[i+2], s[i+1], s[i])
	}
}

// netDevice is one interface of /proc/net/dev.
type netDevice struct {
	name  string
	stats inet.InterfaceStats
}

// netDevHeader is /proc/net/dev's header. Linux: net/core/net-procfs.c,
// dev_seq_show().
const netDevHeader = "Inter-|   Receive                                                |  Transmit\n" +
	" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"

// formatNetDev renders /proc/net/dev. Linux: net/core/net-procfs.c,
// dev_seq_printf_stats(). netstack has no FIFO, framing, compression,
// collision or carrier counters: they are 0.
func formatNetDev(devs []netDevice) string {
	var b strings.Builder
	b.WriteString(netDevHeader)
	for _, d := range devs {
		s := d.stats
		fmt.Fprintf(&b, "%6s: %7d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d\n",
			d.name, s.RxBytes, s.RxPackets, s.RxErrors, s.RxDropped, 0, 0, 0, s.RxMulticast,
			s.TxBytes, s.TxPackets, s.TxErrors, s.TxDropped, 0, 0, 0, 0)
	}
	return b.String()
}

// IPv6 address scopes as if_inet6 prints them (IPV6_ADDR_SCOPE_*
// shifted into the type's scope bits). Linux: include/net/ipv6.h,
// __ipv6_addr_type().
const (
	ipv6ScopeGlobal   = 0x00
	ipv6ScopeLoopback = 0x10
	ipv6ScopeLink     = 0x20
	ipv6ScopeSite     = 0x40
)

// ipv6Scope is the scope if_inet6 shows of a unicast address.
func ipv6Scope(a netip.Addr) uint8 {
	b := a.As16()
	switch {
	case a.IsLoopback():
		return ipv6ScopeLoopback
	case b[0] == 0xfe && b[1]&0xc0 == 0x80:
		return ipv6ScopeLink
	case b[0] == 0xfe && b[1]&0xc0 == 0xc0:
		return ipv6ScopeSite
	}
	return ipv6ScopeGlobal
}

// ifaFPermanent is IFA_F_PERMANENT: every address of the sandbox was
// configured, none learned (autoconfiguration) or tentative.
const ifaFPermanent = 0x80

// ifAddr6 is one line of /proc/net/if_inet6.
type ifAddr6 struct {
	prefix netip.Prefix
	index  int32
	name   string
}

// formatIfInet6 renders /proc/net/if_inet6: address (32 hex digits),
// interface index, prefix length, scope and flags in hex, name.
// Linux: net/ipv6/addrconf.c, if6_seq_show().
func formatIfInet6(addrs []ifAddr6) string {
	var b strings.Builder
	for _, a := range addrs {
		ip := a.prefix.Addr().As16()
		fmt.Fprintf(&b, "%x %02x %02x %02x %02x %8s\n", ip[:], a.index, a.prefix.Bits(),
			ipv6Scope(a.prefix.Addr()), ifaFPermanent, a.name)
	}
	return b.String()
}

// Route flags. Linux: include/uapi/linux/route.h and ipv6_route.h.
const (
	rtfUp        = 0x0001
	rtfGateway   = 0x0002
	rtfHost      = 0x0004
	rtfReject    = 0x0200
	rtfNoNextHop = 0x00200000
	rtfLocal     = 0x80000000
)

// route4 is one line of /proc/net/route.
type route4 struct {
	iface   string
	dst     netip.Prefix
	gateway netip.Addr
}

// routeHeader is /proc/net/route's header, before its padding.
const routeHeader = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"

// routeWidth is the width /proc/net/route pads its lines to.
const routeWidth = 127

// formatRoute renders /proc/net/route: the main table's unicast routes.
// Linux: net/ipv4/fib_trie.c, fib_route_seq_show().
func formatRoute(routes []route4) string {
	var b strings.Builder
	start := b.Len()
	b.WriteString(routeHeader)
	padLine(&b, start, routeWidth)
	for _, r := range routes {
		flags := rtfUp
		if r.gateway.IsValid() {
			flags |= rtfGateway
		}
		if r.dst.Bits() == 32 {
			flags |= rtfHost
		}
		start := b.Len()
		b.WriteString(r.iface)
		b.WriteByte('\t')
		hexAddr(&b, r.dst.Masked().Addr())
		b.WriteByte('\t')
		gw := r.gateway
		if !gw.IsValid() {
			gw = netip.IPv4Unspecified()
		}
		hexAddr(&b, gw)
		fmt.Fprintf(&b, "\t%04X\t%d\t%d\t%d\t", flags, 0, 0, 0)
		hexAddr(&b, mask4(r.dst.Bits()))
		fmt.Fprintf(&b, "\t%d\t%d\t%d", 0, 0, 0)
		padLine(&b, start, routeWidth)
	}
	return b.String()
}

// mask4 is the IPv4 netmask of a prefix length.
func mask4(bits int) netip.Addr {
	m := uint32(0)
	if bits > 0 && bits <= 32 {
		m = ^uint32(0) << (32 - bits)
	}
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)})
}

// route6 is one line of /proc/net/ipv6_route.
type route6 struct {
	dst     netip.Prefix
	gateway netip.Addr
	metric  uint32
	flags   uint32
	iface   string
}

// nullRoute6 is Linux's ip6_null_entry, which a table shows at its root
// when no default route is there: a reject route through lo.
// Linux: net/ipv6/route.c.
var nullRoute6 = route6{dst: netip.PrefixFrom(netip.IPv6Unspecified(), 0), metric: 0xffffffff,
	flags: rtfReject | rtfNoNextHop, iface: "lo"}

// formatIPv6Route renders /proc/net/ipv6_route: destination and prefix
// length, source and its length (no source routing here), next hop,
// metric, reference count, use count and flags in hex, and the
// interface. The reference count is 1 everywhere (Linux's counts the
// kernel's holders). Linux: net/ipv6/route.c, ipv6_route_native_seq_show().
func formatIPv6Route(routes []route6) string {
	var b strings.Builder
	zero := netip.IPv6Unspecified().As16()
	for _, r := range routes {
		dst := r.dst.Masked().Addr().As16()
		gw := zero
		if r.gateway.IsValid() {
			gw = r.gateway.As16()
		}
		fmt.Fprintf(&b, "%x %02x %x %02x %x %08x %08x %08x %08x %8s\n",
			dst[:], r.dst.Bits(), zero[:], 0, gw[:], r.metric, 1, 0, r.flags, r.iface)
	}
	return b.String()
}

// netSocket is one socket of /proc/net/tcp, tcp6, udp or udp6.
type netSocket struct {
	inet.ProcNetInfo
	inode uint64
	uid   uint32
}

// Headers of the socket files. Linux: net/ipv4/tcp_ipv4.c,
// tcp4_seq_show(); net/ipv6/tcp_ipv6.c, tcp6_seq_show(); net/ipv4/udp.c,
// udp4_seq_show(); net/ipv6/datagram.c and udp.c.
const (
	tcp4Header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
	tcp6Header = "  sl  local_address                         remote_address                        " +
		"st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	udp4Header = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"
	udp6Header = "  sl  local_address                         remote_address                        " +
		"st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"

	// tcp4Width and udp4Width are the widths IPv4's lines are padded
	// to (TMPSZ - 1 and 127); IPv6's are not padded.
	tcp4Width = 149
	udp4Width = 127
)

// Constants of a listener's line: the initial retransmission timeout
// (TCP_TIMEOUT_INIT, 1 s), the initial congestion window
// (TCP_INIT_CWND) and the TCP Fast Open queue (none).
const (
	tcpTimeoutInit = time.Second
	tcpInitCwnd    = 10
)

// clockTicks converts a duration to clock ticks (USER_HZ), as
// jiffies_to_clock_t() does.
func clockTicks(d time.Duration) int64 { return int64(d / (time.Second / userHZ)) }

// endpoint writes "ADDR:PORT" in /proc/net's hex.
func endpoint(b *strings.Builder, ap netip.AddrPort) {
	hexAddr(b, ap.Addr())
	fmt.Fprintf(b, ":%04X", ap.Port())
}

// formatTCP renders /proc/net/tcp (v6 false) or tcp6: a line per
// socket, numbered from 0. netstack does not expose its timers, its
// delayed-ACK timeout or its quick-ACK mode: the lines show no timer
// running, no retransmission and an ATO of 0; the reference count is 1.
func formatTCP(socks []netSocket, v6 bool) string {
	var b strings.Builder
	if v6 {
		b.WriteString(tcp6Header)
	} else {
		b.WriteString(tcp4Header)
		padLine(&b, 0, tcp4Width)
	}
	for i, s := range socks {
		start := b.Len()
		fmt.Fprintf(&b, "%4d: ", i)
		endpoint(&b, s.Local)
		b.WriteByte(' ')
		endpoint(&b, s.Remote)
		fmt.Fprintf(&b, " %02X %08X:%08X %02X:%08X %08X %5d %8d %d ",
			s.State, uint32(s.TxQueue), uint32(s.RxQueue), 0, 0, 0, s.uid, 0, s.inode)
		rto, cwnd, ssthresh := s.RTO, int64(s.Cwnd), s.Ssthresh
		if s.State == inet.TCPListen {
			rto, cwnd, ssthresh = tcpTimeoutInit, tcpInitCwnd, 0
		}
		// Reference count, the socket, RTO and ATO in ticks, quick-ACK
		// and ping-pong mode, congestion window and slow-start
		// threshold.
		fmt.Fprintf(&b, "%d %s %d %d %d %d %d", 1, kernelPointer, clockTicks(rto), 0, 0, cwnd, ssthresh)
		if v6 {
			b.WriteByte('\n')
		} else {
			padLine(&b, start, tcp4Width)
		}
	}
	return b.String()
}

// formatUDP renders /proc/net/udp (v6 false) or udp6. The first column
// is a hash bucket on Linux, which spreads sockets by port; here it
// numbers the lines.
func formatUDP(socks []netSocket, v6 bool) string {
	var b strings.Builder
	if v6 {
		b.WriteString(udp6Header)
	} else {
		b.WriteString(udp4Header)
		padLine(&b, 0, udp4Width)
	}
	for i, s := range socks {
		start := b.Len()
		fmt.Fprintf(&b, "%5d: ", i)
		endpoint(&b, s.Local)
		b.WriteByte(' ')
		endpoint(&b, s.Remote)
		fmt.Fprintf(&b, " %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %s %d",
			s.State, uint32(s.TxQueue), uint32(s.RxQueue), 0, 0, 0, s.uid, 0, s.inode, 2, kernelPointer, s.Drops)
		if v6 {
			b.WriteByte('\n')
		} else {
			padLine(&b, start, udp4Width)
		}
	}
	return b.String()
}

// unixSocketLine is one line of /proc/net/unix.
type unixSocketLine struct {
	typ       int
	inode     uint64
	listening bool
	connected bool
	// embryo: a connection in a listener's backlog, which has no file
	// yet (Linux's sk_socket is NULL).
	embryo bool
	name   string
}

// Values of /proc/net/unix's Flags and St columns: __SO_ACCEPTCON and
// the socket_state of include/uapi/linux/net.h.
const (
	soAcceptCon     = 1 << 16
	ssUnconnected   = 1
	ssConnecting    = 2
	ssConnected     = 3
	ssDisconnecting = 4
)

const unixHeader = "Num       RefCount Protocol Flags    Type St Inode Path\n"

// formatUnix renders /proc/net/unix. The reference count is 2, and 3
// with a connection (the peer holds one), as Linux's usually are. A
// name is printed raw, an abstract one with '@' for each NUL.
// Linux: net/unix/af_unix.c, unix_seq_show().
func formatUnix(socks []unixSocketLine) string {
	var b strings.Builder
	b.WriteString(unixHeader)
	for _, s := range socks {
		refs, flags, st := 2, 0, ssUnconnected
		if s.listening {
			flags = soAcceptCon
		}
		switch {
		case s.embryo && s.connected:
			st = ssConnecting
		case s.embryo:
			st = ssDisconnecting
		case s.connected:
			st = ssConnected
		}
		if s.connected {
			refs++
		}
		inode := s.inode
		if s.embryo {
			inode = 0
		}
		fmt.Fprintf(&b, "%s: %08X %08X %08X %04X %02X %5d", kernelPointer, refs, 0, flags, s.typ, st, inode)
		if s.name != "" {
			b.WriteByte(' ')
			b.WriteString(strings.ReplaceAll(s.name, "\x00", "@"))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
