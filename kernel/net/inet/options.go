package inet

import (
	"bytes"
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"

	"magawa/kernel/socket"
)

// This file maps the socket options of Linux's sk_setsockopt(),
// do_tcp_setsockopt(), do_ip_setsockopt() and do_ipv6_setsockopt() (and
// their getters) onto netstack's. An option Linux has that is not
// mapped here answers ENOPROTOOPT, never a pretended success: in
// particular timestamps (SO_TIMESTAMP...) and the error queue
// (IP_RECVERR), which recvmsg does not produce.

// intValue reads an int option's value. Linux wants at least an int,
// except for the IP options that also take one byte (ip_setsockopt's
// "optlen >= sizeof(char)").
func intValue(val []byte, byteOK bool) (int32, error) {
	switch {
	case len(val) >= 4:
		return int32(binary.LittleEndian.Uint32(val)), nil
	case byteOK && len(val) >= 1:
		return int32(val[0]), nil
	}
	return 0, unix.EINVAL
}

// parseIPMreq reads IP_ADD_MEMBERSHIP's value: a struct ip_mreqn (the
// group, a local address, an interface index) or the older struct
// ip_mreq (without the index). Linux: net/ipv4/ip_sockglue.c.
func parseIPMreq(val []byte) (tcpip.MembershipOption, error) {
	if len(val) < 8 {
		return tcpip.MembershipOption{}, unix.EINVAL
	}
	m := tcpip.MembershipOption{
		MulticastAddr: tcpip.AddrFrom4([4]byte(val[:4])),
		InterfaceAddr: ipv4Any(val[4:8]),
	}
	if len(val) >= 12 {
		m.NIC = tcpip.NICID(binary.LittleEndian.Uint32(val[8:]))
	}
	return m, nil
}

// ipv4Any is the address b, with INADDR_ANY as netstack's "any" (the
// empty address).
func ipv4Any(b []byte) tcpip.Address {
	if [4]byte(b[:4]) == [4]byte{} {
		return tcpip.Address{}
	}
	return tcpip.AddrFrom4([4]byte(b[:4]))
}

// socketBufferMin is the least SO_SNDBUF or SO_RCVBUF Linux keeps
// (SOCK_MIN_SNDBUF, rounded as Linux's for x86-64).
const socketBufferMin = 4608

// SetSockopt implements socket.Socket.
func (s *Socket) SetSockopt(c *socket.Caller, level, name int, val []byte) error {
	switch level {
	case unix.SOL_SOCKET:
		return s.setSocketOption(c, name, val)
	case unix.SOL_TCP:
		if !s.stream() {
			return unix.ENOPROTOOPT
		}
		return s.setTCPOption(name, val)
	case unix.SOL_IP:
		if s.family != unix.AF_INET && !(name == unix.IP_TOS || name == unix.IP_TTL) {
			return unix.ENOPROTOOPT
		}
		return s.setIPOption(name, val)
	case unix.SOL_IPV6:
		if s.family != unix.AF_INET6 {
			return unix.ENOPROTOOPT // ip_setsockopt() knows only SOL_IP
		}
		return s.setIPv6Option(name, val)
	case unix.SOL_ICMPV6:
		if s.typ != unix.SOCK_RAW || s.protocol != unix.IPPROTO_ICMPV6 || name != icmp6Filter {
			return unix.ENOPROTOOPT
		}
		if len(val) < icmp6FilterSize {
			return unix.EINVAL
		}
		var f tcpip.ICMPv6Filter
		for i := range f.DenyType {
			f.DenyType[i] = binary.LittleEndian.Uint32(val[4*i:])
		}
		return errno(s.ep.SetSockOpt(&f))
	}
	return unix.ENOPROTOOPT
}

// ICMP6_FILTER, the one SOL_ICMPV6 option: which ICMPv6 types a raw
// socket does not receive (struct icmp6_filter, a bit per type).
// Linux: include/uapi/linux/icmpv6.h.
const (
	icmp6Filter     = 1
	icmp6FilterSize = 32
)

func (s *Socket) setSocketOption(c *socket.Caller, name int, val []byte) error {
	so := s.ep.SocketOptions()
	switch name {
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW, unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		d, err := socket.ParseTimeval(val)
		if err != nil {
			return err
		}
		s.mu.Lock()
		if name == unix.SO_RCVTIMEO || name == unix.SO_RCVTIMEO_NEW {
			s.rcvtimeo = d
		} else {
			s.sndtimeo = d
		}
		s.mu.Unlock()
		return nil
	case unix.SO_LINGER:
		if len(val) < 8 {
			return unix.EINVAL
		}
		onoff := binary.LittleEndian.Uint32(val) != 0
		secs := int32(binary.LittleEndian.Uint32(val[4:]))
		so.SetLinger(tcpip.LingerOption{Enabled: onoff, Timeout: time.Duration(max(secs, 0)) * time.Second})
		return nil
	case unix.SO_BINDTODEVICE:
		name := string(bytes.TrimRight(val[:min(len(val), unix.IFNAMSIZ)], "\x00"))
		if name == "" {
			return errno(so.SetBindToDevice(0))
		}
		ifc, ok := s.stack.InterfaceByName(name)
		if !ok {
			return unix.ENODEV
		}
		return errno(so.SetBindToDevice(ifc.Index))
	}
	v, err := intValue(val, false)
	if err != nil {
		return err
	}
	on := v != 0
	switch name {
	case unix.SO_REUSEADDR:
		so.SetReuseAddress(on)
	case unix.SO_REUSEPORT:
		so.SetReusePort(on)
	case unix.SO_KEEPALIVE:
		so.SetKeepAlive(on)
	case unix.SO_BROADCAST:
		so.SetBroadcast(on)
	case unix.SO_NO_CHECK:
		so.SetNoChecksum(on)
	case unix.SO_PASSCRED:
		so.SetPassCred(on)
	case unix.SO_OOBINLINE:
		// Urgent data is always inline: netstack does not keep it
		// apart. Turning the option off is the one thing not served.
		if !on {
			return unix.ENOPROTOOPT
		}
	case unix.SO_SNDBUF, unix.SO_SNDBUFFORCE:
		if name == unix.SO_SNDBUFFORCE && !c.HasCap(unix.CAP_NET_ADMIN) {
			return unix.EPERM
		}
		// Linux doubles the request to leave room for its bookkeeping
		// and reports the doubled value.
		so.SetSendBufferSize(max(int64(v)*2, socketBufferMin), true)
	case unix.SO_RCVBUF, unix.SO_RCVBUFFORCE:
		if name == unix.SO_RCVBUFFORCE && !c.HasCap(unix.CAP_NET_ADMIN) {
			return unix.EPERM
		}
		so.SetReceiveBufferSize(max(int64(v)*2, socketBufferMin/2*2), true)
	case unix.SO_RCVLOWAT:
		return errno(so.SetRcvlowat(max(v, 1)))
	case unix.SO_PRIORITY:
		if (v < 0 || v > 6) && !c.HasCap(unix.CAP_NET_ADMIN) {
			return unix.EPERM
		}
		s.mu.Lock()
		s.priority = v
		s.mu.Unlock()
	case unix.SO_MARK:
		if !c.HasCap(unix.CAP_NET_ADMIN) {
			return unix.EPERM
		}
		so.SetMark(uint32(v))
	default:
		return unix.ENOPROTOOPT
	}
	return nil
}

func (s *Socket) setTCPOption(name int, val []byte) error {
	so := s.ep.SocketOptions()
	if name == unix.TCP_CONGESTION {
		cc := string(bytes.TrimRight(val, "\x00"))
		opt := tcpip.CongestionControlOption(cc)
		if err := s.ep.SetSockOpt(&opt); err != nil {
			return unix.ENOENT // Linux: no such algorithm
		}
		return nil
	}
	v, err := intValue(val, false)
	if err != nil {
		return err
	}
	on := v != 0
	seconds := func(limit int32) (time.Duration, error) {
		if v < 1 || v > limit {
			return 0, unix.EINVAL
		}
		return time.Duration(v) * time.Second, nil
	}
	switch name {
	case unix.TCP_NODELAY:
		so.SetDelayOption(!on)
	case unix.TCP_CORK:
		so.SetCorkOption(on)
	case unix.TCP_QUICKACK:
		so.SetQuickAck(on)
	case unix.TCP_MAXSEG:
		return errno(s.ep.SetSockOptInt(tcpip.MaxSegOption, int(v)))
	case unix.TCP_KEEPIDLE:
		d, err := seconds(32767)
		if err != nil {
			return err
		}
		opt := tcpip.KeepaliveIdleOption(d)
		return errno(s.ep.SetSockOpt(&opt))
	case unix.TCP_KEEPINTVL:
		d, err := seconds(32767)
		if err != nil {
			return err
		}
		opt := tcpip.KeepaliveIntervalOption(d)
		return errno(s.ep.SetSockOpt(&opt))
	case unix.TCP_KEEPCNT:
		if v < 1 || v > 127 {
			return unix.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.KeepaliveCountOption, int(v)))
	case unix.TCP_USER_TIMEOUT:
		if v < 0 {
			return unix.EINVAL
		}
		opt := tcpip.TCPUserTimeoutOption(time.Duration(v) * time.Millisecond)
		return errno(s.ep.SetSockOpt(&opt))
	case unix.TCP_LINGER2:
		opt := tcpip.TCPLingerTimeoutOption(time.Duration(v) * time.Second)
		return errno(s.ep.SetSockOpt(&opt))
	case unix.TCP_DEFER_ACCEPT:
		opt := tcpip.TCPDeferAcceptOption(time.Duration(max(v, 0)) * time.Second)
		return errno(s.ep.SetSockOpt(&opt))
	case unix.TCP_SYNCNT:
		return errno(s.ep.SetSockOptInt(tcpip.TCPSynCountOption, int(v)))
	case unix.TCP_WINDOW_CLAMP:
		return errno(s.ep.SetSockOptInt(tcpip.TCPWindowClampOption, int(v)))
	default:
		return unix.ENOPROTOOPT
	}
	return nil
}

func (s *Socket) setIPOption(name int, val []byte) error {
	so := s.ep.SocketOptions()
	switch name {
	case unix.IP_ADD_MEMBERSHIP, unix.IP_DROP_MEMBERSHIP:
		m, err := parseIPMreq(val)
		if err != nil {
			return err
		}
		if name == unix.IP_ADD_MEMBERSHIP {
			opt := tcpip.AddMembershipOption(m)
			return errno(s.ep.SetSockOpt(&opt))
		}
		opt := tcpip.RemoveMembershipOption(m)
		return errno(s.ep.SetSockOpt(&opt))
	case unix.IP_MULTICAST_IF:
		opt := tcpip.MulticastInterfaceOption{}
		switch {
		case len(val) >= 8:
			m, err := parseIPMreq(append(make([]byte, 4), val[4:]...))
			if err != nil {
				return err
			}
			opt.NIC, opt.InterfaceAddr = m.NIC, m.InterfaceAddr
		case len(val) == 4:
			opt.InterfaceAddr = ipv4Any(val)
		default:
			return unix.EINVAL
		}
		return errno(s.ep.SetSockOpt(&opt))
	}
	v, err := intValue(val, true)
	if err != nil {
		return err
	}
	switch name {
	case unix.IP_TOS:
		return errno(s.ep.SetSockOptInt(tcpip.IPv4TOSOption, int(v&0xff)))
	case unix.IP_TTL:
		if v == -1 {
			v = tcpip.UseDefaultIPv4TTL
		} else if v < 1 || v > 255 {
			return unix.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.IPv4TTLOption, int(v)))
	case unix.IP_MULTICAST_TTL:
		if v == -1 {
			v = 1
		} else if v < 0 || v > 255 {
			return unix.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.MulticastTTLOption, int(v)))
	case unix.IP_MULTICAST_LOOP:
		so.SetMulticastLoop(v != 0)
	case unix.IP_MTU_DISCOVER:
		return errno(s.ep.SetSockOptInt(tcpip.MTUDiscoverOption, int(v)))
	case unix.IP_RECVTOS:
		so.SetReceiveTOS(v != 0)
	case unix.IP_RECVTTL:
		so.SetReceiveTTL(v != 0)
	case unix.IP_PKTINFO:
		so.SetReceivePacketInfo(v != 0)
	default:
		return unix.ENOPROTOOPT
	}
	return nil
}

func (s *Socket) setIPv6Option(name int, val []byte) error {
	so := s.ep.SocketOptions()
	switch name {
	case unix.IPV6_JOIN_GROUP, unix.IPV6_LEAVE_GROUP:
		// struct ipv6_mreq: the group, then the interface index.
		if len(val) < 20 {
			return unix.EINVAL
		}
		m := tcpip.MembershipOption{
			MulticastAddr: tcpip.AddrFrom16([16]byte(val[:16])),
			NIC:           tcpip.NICID(binary.LittleEndian.Uint32(val[16:])),
		}
		if name == unix.IPV6_JOIN_GROUP {
			opt := tcpip.AddMembershipOption(m)
			return errno(s.ep.SetSockOpt(&opt))
		}
		opt := tcpip.RemoveMembershipOption(m)
		return errno(s.ep.SetSockOpt(&opt))
	}
	v, err := intValue(val, false)
	if err != nil {
		return err
	}
	switch name {
	case unix.IPV6_V6ONLY:
		// Only an unbound socket may change it. Linux:
		// do_ipv6_setsockopt(), "if (sk->sk_bound_dev_if ...".
		if a, err := s.ep.GetLocalAddress(); err == nil && a.Port != 0 {
			return unix.EINVAL
		}
		so.SetV6Only(v != 0)
	case unix.IPV6_TCLASS:
		if v == -1 {
			v = 0
		} else if v < 0 || v > 255 {
			return unix.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.IPv6TrafficClassOption, int(v)))
	case unix.IPV6_UNICAST_HOPS:
		if v == -1 {
			v = tcpip.UseDefaultIPv6HopLimit
		} else if v < 0 || v > 255 {
			return unix.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.IPv6HopLimitOption, int(v)))
	case unix.IPV6_MULTICAST_HOPS:
		if v == -1 {
			v = 1
		} else if v < 0 || v > 255 {
			return unix.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.MulticastTTLOption, int(v)))
	case unix.IPV6_MULTICAST_LOOP:
		so.SetMulticastLoop(v != 0)
	case unix.IPV6_MULTICAST_IF:
		opt := tcpip.MulticastInterfaceOption{NIC: tcpip.NICID(v)}
		return errno(s.ep.SetSockOpt(&opt))
	case unix.IPV6_RECVTCLASS:
		so.SetReceiveTClass(v != 0)
	case unix.IPV6_RECVHOPLIMIT:
		so.SetReceiveHopLimit(v != 0)
	case unix.IPV6_RECVPKTINFO:
		so.SetIPv6ReceivePacketInfo(v != 0)
	default:
		return unix.ENOPROTOOPT
	}
	return nil
}

// GetSockopt implements socket.Socket.
func (s *Socket) GetSockopt(c *socket.Caller, level, name, size int) ([]byte, error) {
	switch level {
	case unix.SOL_SOCKET:
		return s.socketOption(name)
	case unix.SOL_TCP:
		if !s.stream() {
			return nil, unix.ENOPROTOOPT
		}
		return s.tcpOption(name, size)
	case unix.SOL_IP:
		if s.family != unix.AF_INET && !(name == unix.IP_TOS || name == unix.IP_TTL) {
			return nil, unix.ENOPROTOOPT
		}
		return s.ipOption(name)
	case unix.SOL_IPV6:
		if s.family != unix.AF_INET6 {
			return nil, unix.EOPNOTSUPP // ip_getsockopt() knows only SOL_IP
		}
		return s.ipv6Option(name)
	case unix.SOL_ICMPV6:
		if s.typ != unix.SOCK_RAW || s.protocol != unix.IPPROTO_ICMPV6 || name != icmp6Filter {
			return nil, unix.ENOPROTOOPT
		}
		var f tcpip.ICMPv6Filter
		if err := s.ep.GetSockOpt(&f); err != nil {
			return nil, Errno(err)
		}
		b := make([]byte, icmp6FilterSize)
		for i, v := range f.DenyType {
			binary.LittleEndian.PutUint32(b[4*i:], v)
		}
		return b, nil
	}
	if s.family == unix.AF_INET {
		return nil, unix.EOPNOTSUPP
	}
	return nil, unix.ENOPROTOOPT
}

func (s *Socket) socketOption(name int) ([]byte, error) {
	so := s.ep.SocketOptions()
	switch name {
	case unix.SO_TYPE:
		return socket.Int(int32(s.typ)), nil
	case unix.SO_DOMAIN:
		return socket.Int(int32(s.family)), nil
	case unix.SO_PROTOCOL:
		return socket.Int(int32(s.protocol)), nil
	case unix.SO_ERROR:
		return socket.Int(int32(Errno(s.takeError()))), nil
	case unix.SO_ACCEPTCONN:
		return socket.Bool(so.GetAcceptConn()), nil
	case unix.SO_REUSEADDR:
		return socket.Bool(so.GetReuseAddress()), nil
	case unix.SO_REUSEPORT:
		return socket.Bool(so.GetReusePort()), nil
	case unix.SO_KEEPALIVE:
		return socket.Bool(so.GetKeepAlive()), nil
	case unix.SO_BROADCAST:
		return socket.Bool(so.GetBroadcast()), nil
	case unix.SO_NO_CHECK:
		return socket.Bool(so.GetNoChecksum()), nil
	case unix.SO_PASSCRED:
		return socket.Bool(so.GetPassCred()), nil
	case unix.SO_OOBINLINE:
		return socket.Bool(true), nil
	case unix.SO_SNDBUF:
		return socket.Int(int32(min(so.GetSendBufferSize(), 1<<31-1))), nil
	case unix.SO_RCVBUF:
		return socket.Int(int32(min(so.GetReceiveBufferSize(), 1<<31-1))), nil
	case unix.SO_RCVLOWAT:
		return socket.Int(so.GetRcvlowat()), nil
	case unix.SO_SNDLOWAT:
		return socket.Int(1), nil
	case unix.SO_PRIORITY:
		s.mu.Lock()
		defer s.mu.Unlock()
		return socket.Int(s.priority), nil
	case unix.SO_MARK:
		return socket.Int(int32(so.GetMark())), nil
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW:
		r, _ := s.Timeouts()
		return socket.Timeval(r), nil
	case unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		_, w := s.Timeouts()
		return socket.Timeval(w), nil
	case unix.SO_LINGER:
		l := so.GetLinger()
		b := make([]byte, 8)
		if l.Enabled {
			binary.LittleEndian.PutUint32(b, 1)
		}
		binary.LittleEndian.PutUint32(b[4:], uint32(l.Timeout/time.Second))
		return b, nil
	case unix.SO_PEERCRED:
		// Not a Unix socket: no peer process, as Linux reports it.
		b := make([]byte, 12)
		binary.LittleEndian.PutUint32(b[4:], ^uint32(0))
		binary.LittleEndian.PutUint32(b[8:], ^uint32(0))
		return b, nil
	case unix.SO_BINDTODEVICE:
		i := so.GetBindToDevice()
		if i == 0 {
			return nil, nil
		}
		ifc, _ := s.stack.InterfaceByIndex(i)
		return append([]byte(ifc.Name), 0), nil
	}
	return nil, unix.ENOPROTOOPT
}

func (s *Socket) intOption(opt tcpip.SockOptInt) ([]byte, error) {
	v, err := s.ep.GetSockOptInt(opt)
	if err != nil {
		return nil, Errno(err)
	}
	return socket.Int(int32(v)), nil
}

func (s *Socket) tcpOption(name, size int) ([]byte, error) {
	so := s.ep.SocketOptions()
	switch name {
	case unix.TCP_NODELAY:
		return socket.Bool(!so.GetDelayOption()), nil
	case unix.TCP_CORK:
		return socket.Bool(so.GetCorkOption()), nil
	case unix.TCP_QUICKACK:
		return socket.Bool(so.GetQuickAck()), nil
	case unix.TCP_MAXSEG:
		return s.intOption(tcpip.MaxSegOption)
	case unix.TCP_KEEPCNT:
		return s.intOption(tcpip.KeepaliveCountOption)
	case unix.TCP_SYNCNT:
		return s.intOption(tcpip.TCPSynCountOption)
	case unix.TCP_WINDOW_CLAMP:
		return s.intOption(tcpip.TCPWindowClampOption)
	case unix.TCP_KEEPIDLE:
		var v tcpip.KeepaliveIdleOption
		if err := s.ep.GetSockOpt(&v); err != nil {
			return nil, Errno(err)
		}
		return socket.Int(int32(time.Duration(v) / time.Second)), nil
	case unix.TCP_KEEPINTVL:
		var v tcpip.KeepaliveIntervalOption
		if err := s.ep.GetSockOpt(&v); err != nil {
			return nil, Errno(err)
		}
		return socket.Int(int32(time.Duration(v) / time.Second)), nil
	case unix.TCP_USER_TIMEOUT:
		var v tcpip.TCPUserTimeoutOption
		if err := s.ep.GetSockOpt(&v); err != nil {
			return nil, Errno(err)
		}
		return socket.Int(int32(time.Duration(v) / time.Millisecond)), nil
	case unix.TCP_LINGER2:
		var v tcpip.TCPLingerTimeoutOption
		if err := s.ep.GetSockOpt(&v); err != nil {
			return nil, Errno(err)
		}
		return socket.Int(int32(time.Duration(v) / time.Second)), nil
	case unix.TCP_DEFER_ACCEPT:
		var v tcpip.TCPDeferAcceptOption
		if err := s.ep.GetSockOpt(&v); err != nil {
			return nil, Errno(err)
		}
		return socket.Int(int32(time.Duration(v) / time.Second)), nil
	case unix.TCP_CONGESTION:
		var v tcpip.CongestionControlOption
		if err := s.ep.GetSockOpt(&v); err != nil {
			return nil, Errno(err)
		}
		b := make([]byte, 16) // TCP_CA_NAME_MAX
		copy(b, v)
		return b, nil
	case unix.TCP_INFO:
		return s.tcpInfo(), nil
	}
	return nil, unix.ENOPROTOOPT
}

func (s *Socket) ipOption(name int) ([]byte, error) {
	so := s.ep.SocketOptions()
	switch name {
	case unix.IP_TOS:
		return s.intOption(tcpip.IPv4TOSOption)
	case unix.IP_TTL:
		v, err := s.ep.GetSockOptInt(tcpip.IPv4TTLOption)
		if err != nil {
			return nil, Errno(err)
		}
		if v == tcpip.UseDefaultIPv4TTL {
			v = 64 // net.ipv4.ip_default_ttl
		}
		return socket.Int(int32(v)), nil
	case unix.IP_MULTICAST_TTL:
		return s.intOption(tcpip.MulticastTTLOption)
	case unix.IP_MULTICAST_LOOP:
		return socket.Bool(so.GetMulticastLoop()), nil
	case unix.IP_MULTICAST_IF:
		var opt tcpip.MulticastInterfaceOption
		if err := s.ep.GetSockOpt(&opt); err != nil {
			return nil, Errno(err)
		}
		b := make([]byte, 4)
		if opt.InterfaceAddr.Len() == 4 {
			a := opt.InterfaceAddr.As4()
			copy(b, a[:])
		}
		return b, nil
	case unix.IP_MTU_DISCOVER:
		return s.intOption(tcpip.MTUDiscoverOption)
	case unix.IP_RECVTOS:
		return socket.Bool(so.GetReceiveTOS()), nil
	case unix.IP_RECVTTL:
		return socket.Bool(so.GetReceiveTTL()), nil
	case unix.IP_PKTINFO:
		return socket.Bool(so.GetReceivePacketInfo()), nil
	}
	return nil, unix.ENOPROTOOPT
}

func (s *Socket) ipv6Option(name int) ([]byte, error) {
	so := s.ep.SocketOptions()
	switch name {
	case unix.IPV6_V6ONLY:
		return socket.Bool(so.GetV6Only()), nil
	case unix.IPV6_TCLASS:
		return s.intOption(tcpip.IPv6TrafficClassOption)
	case unix.IPV6_UNICAST_HOPS:
		v, err := s.ep.GetSockOptInt(tcpip.IPv6HopLimitOption)
		if err != nil {
			return nil, Errno(err)
		}
		if v == tcpip.UseDefaultIPv6HopLimit {
			v = 64 // net.ipv6.conf.all.hop_limit
		}
		return socket.Int(int32(v)), nil
	case unix.IPV6_MULTICAST_HOPS:
		return s.intOption(tcpip.MulticastTTLOption)
	case unix.IPV6_MULTICAST_LOOP:
		return socket.Bool(so.GetMulticastLoop()), nil
	case unix.IPV6_MULTICAST_IF:
		var opt tcpip.MulticastInterfaceOption
		if err := s.ep.GetSockOpt(&opt); err != nil {
			return nil, Errno(err)
		}
		return socket.Int(int32(opt.NIC)), nil
	case unix.IPV6_RECVTCLASS:
		return socket.Bool(so.GetReceiveTClass()), nil
	case unix.IPV6_RECVHOPLIMIT:
		return socket.Bool(so.GetReceiveHopLimit()), nil
	case unix.IPV6_RECVPKTINFO:
		return socket.Bool(so.GetIPv6ReceivePacketInfo()), nil
	}
	return nil, unix.ENOPROTOOPT
}

// tcpInfo is struct tcp_info with what netstack knows: the state and
// the sender's RTT and congestion figures. Linux: tcp_get_info().
func (s *Socket) tcpInfo() []byte {
	var info tcpip.TCPInfoOption
	b := make([]byte, 232) // sizeof(struct tcp_info), Linux 6.1
	if err := s.ep.GetSockOpt(&info); err != nil {
		return b
	}
	// netstack numbers its states as Linux does up to TCP_CLOSING; its
	// own states past that (initial, bound, error) are TCP_CLOSE.
	state := byte(info.State)
	if state == 0 || state > unix.BPF_TCP_CLOSING {
		state = unix.BPF_TCP_CLOSE
	}
	b[0] = state
	b[1] = byte(info.CcState)
	le := binary.LittleEndian
	le.PutUint32(b[8:], uint32(info.RTO/time.Microsecond))     // tcpi_rto
	le.PutUint32(b[68:], uint32(info.RTT/time.Microsecond))    // tcpi_rtt
	le.PutUint32(b[72:], uint32(info.RTTVar/time.Microsecond)) // tcpi_rttvar
	le.PutUint32(b[76:], info.SndSsthresh)                     // tcpi_snd_ssthresh
	le.PutUint32(b[80:], info.SndCwnd)                         // tcpi_snd_cwnd
	return b
}
