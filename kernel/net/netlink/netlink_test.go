package netlink

import (
	"bytes"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/net/inet"
	"magawa/kernel/socket"
	"magawa/kernel/waiter"
)

// The expected answers here are Linux 6.18's for a network namespace
// whose lo is up (unshare -n, ip link set lo up), read with strace and
// the probe that linux_test.go runs.

func TestNew(t *testing.T) {
	st := newFakeStack()
	for _, c := range []struct {
		typ, protocol int
		err           error
	}{
		{unix.SOCK_RAW, unix.NETLINK_ROUTE, nil},
		{unix.SOCK_DGRAM, unix.NETLINK_ROUTE, nil},
		{unix.SOCK_STREAM, unix.NETLINK_ROUTE, unix.ESOCKTNOSUPPORT},
		{unix.SOCK_SEQPACKET, unix.NETLINK_ROUTE, unix.ESOCKTNOSUPPORT},
		{unix.SOCK_RAW, unix.NETLINK_GENERIC, unix.EPROTONOSUPPORT},
		{unix.SOCK_DGRAM, unix.NETLINK_AUDIT, unix.EPROTONOSUPPORT},
		{unix.SOCK_RAW, -1, unix.EPROTONOSUPPORT},
	} {
		s, err := New(st, c.typ, c.protocol)
		if err != c.err {
			t.Errorf("New(%d, %d): %v, want %v", c.typ, c.protocol, err, c.err)
		}
		if err == nil {
			if s.Family() != unix.AF_NETLINK || s.Type() != c.typ || s.Protocol() != 0 {
				t.Errorf("New(%d, %d): family %d type %d protocol %d", c.typ, c.protocol, s.Family(), s.Type(), s.Protocol())
			}
			s.Release()
		}
	}
}

func sockaddrOf(t *testing.T, b []byte) (port, groups uint32) {
	t.Helper()
	if len(b) != 12 || ne.Uint16(b) != unix.AF_NETLINK {
		t.Fatalf("sockaddr %x", b)
	}
	return ne.Uint32(b[4:]), ne.Uint32(b[8:])
}

// name and peer are getsockname and getpeername.
func (ts *tsock) name() (port, groups uint32) {
	ts.t.Helper()
	b, err := ts.SockName()
	if err != nil {
		ts.t.Fatal(err)
	}
	return sockaddrOf(ts.t, b)
}

func (ts *tsock) peer() (port, groups uint32) {
	ts.t.Helper()
	b, err := ts.PeerName()
	if err != nil {
		ts.t.Fatal(err)
	}
	return sockaddrOf(ts.t, b)
}

func TestBindAndNames(t *testing.T) {
	st := newFakeStack()
	a := newSock(t, st, root)
	if port, groups := a.name(); port != 0 || groups != 0 {
		t.Errorf("unbound getsockname: port %d groups %#x", port, groups)
	}
	// Unconnected: the kernel's address, not ENOTCONN.
	if port, _ := a.peer(); port != 0 {
		t.Errorf("unconnected getpeername: port %d", port)
	}
	if err := a.Bind(root, sockaddr(0, 0)); err != nil {
		t.Fatal(err)
	}
	if port, _ := a.name(); port != 100 {
		t.Errorf("autobind took port %d, want the caller's PID 100", port)
	}
	// The PID is taken: the next socket gets a random negative port.
	b := newSock(t, st, root)
	b.send(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0)))
	b.recvAll()
	port, _ := b.name()
	if int32(port) > -4097 {
		t.Errorf("second autobind took port %d, want one below -4096", int32(port))
	}
	for _, m := range b.exchange(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 2, ifi(1, 0, 0))) {
		if m.PID != port || m.Seq != 2 {
			t.Errorf("answer carries port %d seq %d, want %d and 2", m.PID, m.Seq, port)
		}
	}
	// Rebinding: to another port fails, to the same one changes groups.
	if err := a.Bind(root, sockaddr(77, 0)); err != unix.EINVAL {
		t.Errorf("rebind to another port: %v, want EINVAL", err)
	}
	if err := a.Bind(root, sockaddr(100, 5)); err != nil {
		t.Errorf("rebind with groups: %v", err)
	}
	if _, groups := a.name(); groups != 5 {
		t.Errorf("groups %#x, want 5", groups)
	}
	c := newSock(t, st, root)
	if err := c.Bind(root, sockaddr(100, 0)); err != unix.EADDRINUSE {
		t.Errorf("bind to a port in use: %v, want EADDRINUSE", err)
	}
	if err := c.Bind(root, []byte{16, 0, 0, 0}); err != unix.EINVAL {
		t.Errorf("short address: %v, want EINVAL", err)
	}
	if err := c.Bind(root, append(sockaddr(0, 0)[:0:0], 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)); err != unix.EINVAL {
		t.Errorf("AF_INET address: %v, want EINVAL", err)
	}
	// The mroute groups need CAP_NET_ADMIN; the others do not.
	n := newSock(t, st, nobody)
	if err := n.Bind(nobody, sockaddr(0, groupMask(unix.RTNLGRP_IPV4_MROUTE_R))); err != unix.EPERM {
		t.Errorf("bind to the mroute group without CAP_NET_ADMIN: %v, want EPERM", err)
	}
	if err := n.Bind(nobody, sockaddr(0, groupMask(unix.RTNLGRP_LINK)|groupMask(unix.RTNLGRP_IPV4_IFADDR))); err != nil {
		t.Errorf("bind to groups: %v", err)
	}
	// A released socket's port is free again.
	a.Release()
	if err := c.Bind(root, sockaddr(100, 0)); err != nil {
		t.Errorf("bind to a released port: %v", err)
	}
}

func TestConnect(t *testing.T) {
	st := newFakeStack()
	n := newSock(t, st, nobody)
	if err := n.Connect(nobody, sockaddr(5, 0), nil); err != unix.EPERM {
		t.Errorf("connect to a port without CAP_NET_ADMIN: %v, want EPERM", err)
	}
	if err := n.Connect(nobody, sockaddr(0, 0), nil); err != nil {
		t.Errorf("connect to the kernel: %v", err)
	}
	if port, _ := n.name(); port != 200 {
		t.Errorf("connect autobound to %d, want 200", port)
	}
	r := newSock(t, st, root)
	if err := r.Connect(root, sockaddr(5, 0), nil); err != nil {
		t.Fatal(err)
	}
	if port, _ := r.peer(); port != 5 {
		t.Errorf("peer %d, want 5", port)
	}
	// Connected elsewhere, a send without address goes there: nobody.
	if _, err := r.Send(root, &socket.Message{Data: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0))}, 0, nil); err != unix.ECONNREFUSED {
		t.Errorf("send to a port nobody has: %v, want ECONNREFUSED", err)
	}
	if err := r.Connect(root, []byte{0, 0}, nil); err != nil {
		t.Errorf("AF_UNSPEC disconnect: %v", err)
	}
	if port, _ := r.peer(); port != 0 {
		t.Errorf("peer %d after disconnect, want 0", port)
	}
	if err := r.Connect(root, []byte{16}, nil); err != unix.EINVAL {
		t.Errorf("one-byte address: %v, want EINVAL", err)
	}
}

func TestSendToSocket(t *testing.T) {
	st := newFakeStack()
	a := newSock(t, st, root)
	b := newSock(t, st, root)
	a.setopt(unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	a.Bind(root, sockaddr(0, 0))
	b.Bind(root, sockaddr(4242, 0))
	if _, err := b.Send(root, &socket.Message{Data: []byte("hello"), To: sockaddr(100, 0)}, 0, nil); err != nil {
		t.Fatal(err)
	}
	r, err := a.Recv(root, 100, unix.MSG_DONTWAIT, nil)
	if err != nil || string(r.Data) != "hello" {
		t.Fatalf("recv: %q, %v", r.Data, err)
	}
	if port, _ := sockaddrOf(t, r.From); port != 4242 {
		t.Errorf("from port %d, want 4242", port)
	}
	if len(r.Control) != 32 || int32(ne.Uint32(r.Control[16:])) != root.PID {
		t.Errorf("credentials %x, want the sender's", r.Control)
	}
	if _, err := b.Send(nobody, &socket.Message{Data: []byte("x"), To: sockaddr(100, 0)}, 0, nil); err != unix.EPERM {
		t.Errorf("send to a socket without CAP_NET_ADMIN: %v, want EPERM", err)
	}
}

func TestSendErrors(t *testing.T) {
	st := newFakeStack()
	s := newSock(t, st, root)
	m := req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0))
	for _, c := range []struct {
		name  string
		m     socket.Message
		flags int
		err   error
	}{
		{"empty", socket.Message{}, 0, unix.ENODATA},
		{"MSG_OOB", socket.Message{Data: m}, unix.MSG_OOB, unix.EOPNOTSUPP},
		{"short address", socket.Message{Data: m, To: []byte{16, 0, 0, 0, 0, 0, 0, 0}}, 0, unix.EINVAL},
		{"inet address", socket.Message{Data: m, To: []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}, 0, unix.EINVAL},
		{"bad control", socket.Message{Data: m, Control: []byte{4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}}, 0, unix.EINVAL},
	} {
		if _, err := s.Send(root, &c.m, c.flags, nil); err != c.err {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	// An empty send does not bind.
	if port, _ := s.name(); port != 0 {
		t.Errorf("port %d after failed sends", port)
	}
	s.setopt(unix.SOL_SOCKET, unix.SO_SNDBUF, 0)
	if _, err := s.Send(root, &socket.Message{Data: make([]byte, socket.MinSndbuf-31)}, 0, nil); err != unix.EMSGSIZE {
		t.Errorf("send past SO_SNDBUF-32: %v, want EMSGSIZE", err)
	}
}

// loLinkAttrs are the attributes of lo in Linux 6.18's RTM_NEWLINK, in
// order, but for IFLA_DEVLINK_PORT and IFLA_DPLL_PIN (empty nests).
var loLinkAttrs = []uint16{
	unix.IFLA_IFNAME, unix.IFLA_TXQLEN, unix.IFLA_OPERSTATE, unix.IFLA_LINKMODE, iflaNetnsImmutable,
	unix.IFLA_MTU, unix.IFLA_MIN_MTU, unix.IFLA_MAX_MTU, unix.IFLA_GROUP, unix.IFLA_PROMISCUITY,
	unix.IFLA_ALLMULTI, unix.IFLA_NUM_TX_QUEUES, unix.IFLA_GSO_MAX_SEGS, unix.IFLA_GSO_MAX_SIZE,
	unix.IFLA_GRO_MAX_SIZE, unix.IFLA_GSO_IPV4_MAX_SIZE, unix.IFLA_GRO_IPV4_MAX_SIZE,
	unix.IFLA_TSO_MAX_SIZE, unix.IFLA_TSO_MAX_SEGS, iflaMaxPacingOffloadHorizon, unix.IFLA_NUM_RX_QUEUES,
	unix.IFLA_CARRIER, unix.IFLA_CARRIER_CHANGES, unix.IFLA_CARRIER_UP_COUNT, unix.IFLA_CARRIER_DOWN_COUNT,
	iflaHeadroom, iflaTailroom, unix.IFLA_PROTO_DOWN, unix.IFLA_ADDRESS, unix.IFLA_BROADCAST,
	unix.IFLA_STATS64, unix.IFLA_STATS, unix.IFLA_XDP, unix.IFLA_QDISC, unix.IFLA_AF_SPEC, unix.IFLA_MAP,
}

func TestLinkDump(t *testing.T) {
	s := newSock(t, newFakeStack(), root)
	// iproute2's request: struct ifinfomsg and IFLA_EXT_MASK.
	msgs := s.exchange(req(unix.RTM_GETLINK, dumpFlags, 7, ifi(0, 0, 0), rattr(unix.IFLA_EXT_MASK, u32b(1))))
	if len(msgs) != 2 || msgs[0].Type != unix.RTM_NEWLINK || msgs[1].Type != unix.NLMSG_DONE {
		t.Fatalf("answer %v, want RTM_NEWLINK, NLMSG_DONE", types(msgs))
	}
	for _, m := range msgs {
		if m.Flags != unix.NLM_F_MULTI || m.Seq != 7 || m.PID != 100 {
			t.Errorf("message %d: flags %#x seq %d pid %d", m.Type, m.Flags, m.Seq, m.PID)
		}
	}
	if e := errOf(t, msgs[1]); e != 0 || len(msgs[1].payload) != 4 {
		t.Errorf("NLMSG_DONE: error %v, %d bytes", e, len(msgs[1].payload))
	}
	lo := msgs[0]
	ifm := parseIfinfomsg(lo.payload)
	want := ifinfomsg{Type: unix.ARPHRD_LOOPBACK, Index: 1, Flags: unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING | unix.IFF_LOWER_UP}
	if ifm != want {
		t.Errorf("ifinfomsg %+v, want %+v", ifm, want)
	}
	as := attrList(t, lo.payload[sizeofIfinfomsg:])
	if got := attrTypes(as); !slices.Equal(got, loLinkAttrs) {
		t.Errorf("attributes %v\nwant       %v", got, loLinkAttrs)
	}
	m := attrMap(t, lo.payload[sizeofIfinfomsg:])
	for typ, v := range map[uint16][]byte{
		unix.IFLA_IFNAME:    []byte("lo\x00"),
		unix.IFLA_TXQLEN:    u32b(1000),
		unix.IFLA_OPERSTATE: {0},
		unix.IFLA_MTU:       u32b(65536),
		unix.IFLA_ADDRESS:   make([]byte, 6),
		unix.IFLA_BROADCAST: make([]byte, 6),
		unix.IFLA_QDISC:     []byte("noqueue\x00"),
		unix.IFLA_CARRIER:   {1},
		unix.IFLA_STATS64:   make([]byte, 200),
		unix.IFLA_STATS:     make([]byte, 96),
		unix.IFLA_XDP:       {5, 0, 2, 0, 0, 0, 0, 0},
		unix.IFLA_MAP:       make([]byte, 32),
	} {
		if !bytes.Equal(m[typ], v) {
			t.Errorf("attribute %d: %x, want %x", typ, m[typ], v)
		}
	}
	// Go's syscall package parses it as net.Interfaces() does.
	rib := append(append([]byte(nil), lo.header.bytes()...), lo.payload...)
	nms, err := syscall.ParseNetlinkMessage(rib)
	if err != nil || len(nms) != 1 {
		t.Fatalf("syscall.ParseNetlinkMessage: %v", err)
	}
	ras, err := syscall.ParseNetlinkRouteAttr(&nms[0])
	if err != nil {
		t.Fatalf("syscall.ParseNetlinkRouteAttr: %v", err)
	}
	if len(ras) != len(loLinkAttrs) {
		t.Errorf("syscall sees %d attributes, want %d", len(ras), len(loLinkAttrs))
	}
}

func (h header) bytes() []byte {
	b := make([]byte, hdrLen)
	h.put(b)
	return b
}

// goRIBRequest is the request of Go's syscall.NetlinkRIB(typ,
// AF_UNSPEC): a header and struct rtgenmsg, 17 bytes.
func goRIBRequest(typ uint16) []byte {
	b := make([]byte, hdrLen+1)
	header{Len: hdrLen + 1, Type: typ, Flags: dumpFlags, Seq: 1}.put(b)
	return b
}

func TestLinkDumpRequests(t *testing.T) {
	st := newFakeStack()
	// Go's syscall.NetlinkRIB sends a bare struct rtgenmsg: 17 bytes.
	s := newSock(t, st, root)
	rib := goRIBRequest(unix.RTM_GETLINK)
	msgs := s.exchange(rib)
	if len(msgs) != 2 || msgs[0].Type != unix.RTM_NEWLINK || msgs[1].Type != unix.NLMSG_DONE {
		t.Fatalf("answer to Go's request: %v", types(msgs))
	}
	// Strict checking refuses filters, in NLMSG_DONE, with a message.
	s.setopt(unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1)
	s.setopt(unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	msgs = s.exchange(req(unix.RTM_GETLINK, dumpFlags, 1, ifi(1, 0, 0)))
	if len(msgs) != 1 || errOf(t, msgs[0]) != unix.EINVAL || msgs[0].Type != unix.NLMSG_DONE ||
		msgs[0].Flags != unix.NLM_F_MULTI|unix.NLM_F_ACK_TLVS {
		t.Fatalf("strict dump by index: %v flags %#x", types(msgs), msgs[0].Flags)
	}
	tlv := attrMap(t, msgs[0].payload[4:])[unix.NLMSGERR_ATTR_MSG]
	if string(tlv) != "Filter by device index not supported for link dumps\x00" {
		t.Errorf("extended ack %q", tlv)
	}
	msgs = s.exchange(req(unix.RTM_GETLINK, dumpFlags, 1, []byte{0}))
	if len(msgs) != 1 || errOf(t, msgs[0]) != unix.EINVAL {
		t.Fatalf("strict dump with a short header: %v", types(msgs))
	}
	// A dump asked to acknowledge is not acknowledged: NLMSG_DONE is its
	// end.
	s = newSock(t, st, root)
	msgs = s.exchange(req(unix.RTM_GETLINK, dumpFlags|unix.NLM_F_ACK, 1, ifi(0, 0, 0)))
	if !slices.Equal(types(msgs), []uint16{unix.RTM_NEWLINK, unix.NLMSG_DONE}) {
		t.Errorf("dump with NLM_F_ACK: %v", types(msgs))
	}
}

func TestGetLink(t *testing.T) {
	s := newSock(t, newFakeStack(), root)
	// ip(8) asks with the index and RTEXT_FILTER_VF|SKIP_STATS.
	msgs := s.exchange(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 3, ifi(1, 0, 0), rattr(unix.IFLA_EXT_MASK, u32b(9))))
	if len(msgs) != 1 || msgs[0].Type != unix.RTM_NEWLINK || msgs[0].Flags != 0 || msgs[0].Seq != 3 {
		t.Fatalf("answer %v", types(msgs))
	}
	// RTEXT_FILTER_SKIP_STATS leaves the link's statistics in.
	if m := attrMap(t, msgs[0].payload[sizeofIfinfomsg:]); m[unix.IFLA_STATS64] == nil || m[unix.IFLA_STATS] == nil {
		t.Errorf("RTEXT_FILTER_SKIP_STATS: no statistics")
	}
	// By name, without its NUL, acknowledged after the answer.
	msgs = s.exchange(req(unix.RTM_GETLINK, ackFlags, 4, ifi(0, 0, 0), rattr(unix.IFLA_IFNAME, []byte("lo"))))
	if !slices.Equal(types(msgs), []uint16{unix.RTM_NEWLINK, unix.NLMSG_ERROR}) || errOf(t, msgs[1]) != 0 {
		t.Fatalf("by name with NLM_F_ACK: %v", types(msgs))
	}
	if msgs[1].Flags != unix.NLM_F_CAPPED || len(msgs[1].payload) != 20 {
		t.Errorf("acknowledgment: flags %#x, %d bytes", msgs[1].Flags, len(msgs[1].payload))
	}
	for _, c := range []struct {
		name string
		b    []byte
		err  unix.Errno
	}{
		{"index 0, no name", req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(0, 0, 0)), unix.EINVAL},
		{"no such index", req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(99, 0, 0)), unix.ENODEV},
		{"no such name", req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(0, 0, 0), rattr(unix.IFLA_IFNAME, []byte("nosuch\x00"))), unix.ENODEV},
		{"name too long", req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(0, 0, 0), rattr(unix.IFLA_IFNAME, []byte("abcdefghijklmnopq\x00"))), unix.ERANGE},
		{"short IFLA_EXT_MASK", req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0), rattr(unix.IFLA_EXT_MASK, []byte{1, 0})), unix.ERANGE},
		{"short header", req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, []byte{0, 0, 0, 0}), unix.EINVAL},
	} {
		msgs := s.exchange(c.b)
		if len(msgs) != 1 || errOf(t, msgs[0]) != c.err {
			t.Errorf("%s: %v, want error %v", c.name, types(msgs), c.err)
			continue
		}
		// An error carries the whole request back.
		if p := msgs[0].payload; !bytes.Equal(p[4:], c.b) {
			t.Errorf("%s: error carries %x, want the request %x", c.name, p[4:], c.b)
		}
	}
	// A malformed attribute ends the attributes, silently.
	msgs = s.exchange(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0), []byte{2, 0, 3, 0}))
	if len(msgs) != 1 || msgs[0].Type != unix.RTM_NEWLINK {
		t.Errorf("malformed attribute: %v", types(msgs))
	}
	s.setopt(unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1)
	wantErr(t, s.exchange(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0), []byte{1, 2})), unix.EINVAL)
	wantErr(t, s.exchange(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 1, 0))), unix.EINVAL)
	// NETLINK_CAP_ACK: errors carry the request's header only.
	s.setopt(unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	msgs = s.exchange(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(99, 0, 0)))
	if len(msgs) != 1 || msgs[0].Flags != unix.NLM_F_CAPPED || len(msgs[0].payload) != 20 {
		t.Errorf("capped error: flags %#x, %d bytes", msgs[0].Flags, len(msgs[0].payload))
	}
}

func TestSetLink(t *testing.T) {
	st := newFakeStack()
	n := newSock(t, st, nobody)
	wantErr(t, n.exchange(req(unix.RTM_NEWLINK, ackFlags, 1, ifi(1, 0, unix.IFF_UP))), unix.EPERM)
	s := newSock(t, st, root)
	// ip link set lo down; ip link set lo up.
	wantErr(t, s.exchange(req(unix.RTM_NEWLINK, ackFlags, 1, ifi(1, 0, unix.IFF_UP))), 0)
	if ifc, _ := st.InterfaceByIndex(1); ifc.Flags&unix.IFF_UP != 0 {
		t.Fatalf("lo still up")
	}
	msgs := s.exchange(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0)))
	m := attrMap(t, msgs[0].payload[sizeofIfinfomsg:])
	if parseIfinfomsg(msgs[0].payload).Flags != unix.IFF_LOOPBACK || m[unix.IFLA_OPERSTATE][0] != ifOperDown {
		t.Errorf("lo down: flags %#x operstate %d", parseIfinfomsg(msgs[0].payload).Flags, m[unix.IFLA_OPERSTATE][0])
	}
	wantErr(t, s.exchange(req(unix.RTM_SETLINK, ackFlags, 1, ifi(1, unix.IFF_UP, unix.IFF_UP))), 0)
	if ifc, _ := st.InterfaceByIndex(1); ifc.Flags&unix.IFF_UP == 0 {
		t.Fatalf("lo still down")
	}
	for _, c := range []struct {
		name string
		b    []byte
		err  unix.Errno
	}{
		{"no such link", req(unix.RTM_NEWLINK, ackFlags, 1, ifi(9, 1, 1)), unix.ENODEV},
		{"making a link", req(unix.RTM_NEWLINK, ackFlags|unix.NLM_F_CREATE, 1, ifi(9, 1, 1)), unix.EOPNOTSUPP},
		{"NLM_F_EXCL", req(unix.RTM_NEWLINK, ackFlags|unix.NLM_F_EXCL, 1, ifi(1, 1, 1)), unix.EEXIST},
		{"nothing", req(unix.RTM_NEWLINK, ackFlags, 1, ifi(1, 0, 0)), 0},
		{"no link named", req(unix.RTM_NEWLINK, ackFlags, 1, ifi(0, 1, 1)), unix.ENODEV},
		{"set, no such link", req(unix.RTM_SETLINK, ackFlags, 1, ifi(9, 1, 1)), unix.ENODEV},
		{"set, no link named", req(unix.RTM_SETLINK, ackFlags, 1, ifi(0, 1, 1)), unix.EINVAL},
		{"by name", req(unix.RTM_SETLINK, ackFlags, 1, ifi(0, unix.IFF_UP, unix.IFF_UP), rattr(unix.IFLA_IFNAME, []byte("lo\x00"))), 0},
		{"promisc", req(unix.RTM_SETLINK, ackFlags, 1, ifi(1, unix.IFF_PROMISC, unix.IFF_PROMISC)), unix.EOPNOTSUPP},
		{"same MTU", req(unix.RTM_SETLINK, ackFlags, 1, ifi(1, 0, 0), rattr(unix.IFLA_MTU, u32b(65536))), 0},
		{"other MTU", req(unix.RTM_SETLINK, ackFlags, 1, ifi(1, 0, 0), rattr(unix.IFLA_MTU, u32b(1500))), unix.EOPNOTSUPP},
		{"rename", req(unix.RTM_SETLINK, ackFlags, 1, ifi(1, 0, 0), rattr(unix.IFLA_IFNAME, []byte("lo1\x00"))), unix.EOPNOTSUPP},
		{"delete lo", req(unix.RTM_DELLINK, ackFlags, 1, ifi(1, 0, 0)), unix.EOPNOTSUPP},
		{"delete nothing", req(unix.RTM_DELLINK, ackFlags, 1, ifi(9, 0, 0)), unix.ENODEV},
	} {
		msgs := s.exchange(c.b)
		if len(msgs) != 1 || errOf(t, msgs[0]) != c.err {
			t.Errorf("%s: %v, want error %v", c.name, types(msgs), c.err)
		}
	}
}

func TestAddrDump(t *testing.T) {
	st := newFakeStack()
	s := newSock(t, st, root)
	msgs := s.exchange(req(unix.RTM_GETADDR, dumpFlags, 5, ifa(unix.AF_UNSPEC, 0, 0)))
	if !slices.Equal(types(msgs), []uint16{unix.RTM_NEWADDR, unix.RTM_NEWADDR, unix.NLMSG_DONE}) {
		t.Fatalf("answer %v", types(msgs))
	}
	v4, v6 := msgs[0], msgs[1]
	if v4.Len != 76 || v6.Len != 80 {
		t.Errorf("lengths %d and %d, want Linux's 76 and 80", v4.Len, v6.Len)
	}
	if got, want := parseIfaddrmsg(v4.payload), (ifaddrmsg{unix.AF_INET, 8, unix.IFA_F_PERMANENT, unix.RT_SCOPE_HOST, 1}); got != want {
		t.Errorf("127.0.0.1: %+v, want %+v", got, want)
	}
	loop4 := []byte{127, 0, 0, 1}
	ci := cacheinfo()
	wantAttrs := []attr{{unix.IFA_ADDRESS, loop4}, {unix.IFA_LOCAL, loop4}, {unix.IFA_LABEL, []byte("lo\x00")},
		{unix.IFA_FLAGS, u32b(unix.IFA_F_PERMANENT)}, {unix.IFA_CACHEINFO, ci}}
	if got := attrList(t, v4.payload[sizeofIfaddrmsg:]); !slices.EqualFunc(got, wantAttrs, attrEqual) {
		t.Errorf("127.0.0.1's attributes %v, want %v", got, wantAttrs)
	}
	if got, want := parseIfaddrmsg(v6.payload), (ifaddrmsg{unix.AF_INET6, 128, unix.IFA_F_PERMANENT, unix.RT_SCOPE_HOST, 1}); got != want {
		t.Errorf("::1: %+v, want %+v", got, want)
	}
	loop6 := netip.IPv6Loopback().AsSlice()
	wantAttrs = []attr{{unix.IFA_ADDRESS, loop6}, {unix.IFA_CACHEINFO, ci},
		{unix.IFA_FLAGS, u32b(unix.IFA_F_PERMANENT)}, {ifaProto, []byte{ifaProtoKernelLo}}}
	if got := attrList(t, v6.payload[sizeofIfaddrmsg:]); !slices.EqualFunc(got, wantAttrs, attrEqual) {
		t.Errorf("::1's attributes %v, want %v", got, wantAttrs)
	}
	// By family; a family without addresses of its own means all.
	for fam, n := range map[uint8]int{unix.AF_INET: 1, unix.AF_INET6: 1, 99: 2} {
		if msgs := s.exchange(req(unix.RTM_GETADDR, dumpFlags, 1, ifa(fam, 0, 0))); len(msgs) != n+1 {
			t.Errorf("family %d: %d messages, want %d", fam, len(msgs), n+1)
		}
	}
	// Go's syscall.NetlinkRIB for net.InterfaceAddrs().
	if msgs := s.exchange(goRIBRequest(unix.RTM_GETADDR)); len(msgs) != 3 {
		t.Errorf("Go's request: %v", types(msgs))
	}
	// Strict: an index filters, and says so.
	s.setopt(unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1)
	msgs = s.exchange(req(unix.RTM_GETADDR, dumpFlags, 1, ifa(0, 0, 1)))
	for _, m := range msgs {
		if m.Flags != unix.NLM_F_MULTI|unix.NLM_F_DUMP_FILTERED {
			t.Errorf("filtered dump: message %d flags %#x", m.Type, m.Flags)
		}
	}
	if len(msgs) != 3 {
		t.Errorf("filtered dump: %v", types(msgs))
	}
	msgs = s.exchange(req(unix.RTM_GETADDR, dumpFlags, 1, ifa(unix.AF_INET, 0, 5)))
	if len(msgs) != 1 || errOf(t, msgs[0]) != unix.ENODEV || msgs[0].Flags != unix.NLM_F_MULTI|unix.NLM_F_DUMP_FILTERED {
		t.Errorf("filter by a missing index: %v", types(msgs))
	}
	msgs = s.exchange(req(unix.RTM_GETADDR, dumpFlags, 1, ifa(unix.AF_INET, 8, 0)))
	if len(msgs) != 1 || errOf(t, msgs[0]) != unix.EINVAL {
		t.Errorf("unclean header: %v", types(msgs))
	}
}

func attrEqual(a, b attr) bool { return a.typ == b.typ && bytes.Equal(a.data, b.data) }

func TestAddrChanges(t *testing.T) {
	st := newFakeStack()
	st.addEth(2, "eth0")
	n := newSock(t, st, nobody)
	add := func(fam, plen uint8, index uint32, flags uint16, ip string) []byte {
		a := netip.MustParseAddr(ip).AsSlice()
		return req(unix.RTM_NEWADDR, ackFlags|flags, 1, ifa(fam, plen, index), rattr(unix.IFA_LOCAL, a), rattr(unix.IFA_ADDRESS, a))
	}
	wantErr(t, n.exchange(add(unix.AF_INET, 24, 2, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "10.0.2.15")), unix.EPERM)
	s := newSock(t, st, root)
	s.setopt(unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	wantErr(t, s.exchange(add(unix.AF_INET, 24, 2, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "10.0.2.15")), 0)
	wantErr(t, s.exchange(add(unix.AF_INET6, 64, 2, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "fd00::15")), 0)
	wantErr(t, s.exchange(add(unix.AF_INET6, 64, 2, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "fe80::42:acff:fe11:2")), 0)
	msgs := s.exchange(add(unix.AF_INET, 8, 1, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "127.0.0.1"))
	wantErr(t, msgs, unix.EEXIST)
	if msgs[0].Flags != unix.NLM_F_ACK_TLVS || string(attrMap(t, msgs[0].payload[4+len(add(2, 8, 1, 0x600, "127.0.0.1")):])[unix.NLMSGERR_ATTR_MSG]) != "ipv4: Address already assigned\x00" {
		t.Errorf("EEXIST's flags %#x", msgs[0].Flags)
	}
	wantErr(t, s.exchange(add(unix.AF_INET6, 64, 2, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, "fd00::15")), 0)
	wantErr(t, s.exchange(add(unix.AF_INET6, 64, 2, unix.NLM_F_CREATE, "fd00::15")), unix.EEXIST)
	for _, c := range []struct {
		name string
		b    []byte
		err  unix.Errno
	}{
		{"AF_UNSPEC", req(unix.RTM_NEWADDR, ackFlags, 1, ifa(0, 0, 1)), unix.EOPNOTSUPP},
		{"no IFA_LOCAL", req(unix.RTM_NEWADDR, ackFlags, 1, ifa(unix.AF_INET, 8, 1)), unix.EINVAL},
		{"prefix 33", add(unix.AF_INET, 33, 1, 0, "10.0.0.1"), unix.EINVAL},
		{"no device", add(unix.AF_INET, 8, 9, 0, "10.0.0.1"), unix.ENODEV},
		{"IPv6 without address", req(unix.RTM_NEWADDR, ackFlags, 1, ifa(unix.AF_INET6, 64, 1)), unix.EINVAL},
		{"short IFA_LOCAL", req(unix.RTM_NEWADDR, ackFlags, 1, ifa(unix.AF_INET, 8, 1), rattr(unix.IFA_LOCAL, []byte{10})), unix.ERANGE},
		{"delete a missing address", req(unix.RTM_DELADDR, ackFlags, 1, ifa(unix.AF_INET, 8, 1), rattr(unix.IFA_LOCAL, []byte{10, 9, 9, 9})), unix.EADDRNOTAVAIL},
		{"delete a missing IPv6 address", req(unix.RTM_DELADDR, ackFlags, 1, ifa(unix.AF_INET6, 64, 1), rattr(unix.IFA_LOCAL, netip.MustParseAddr("2001::1").AsSlice())), unix.EADDRNOTAVAIL},
		{"delete on no device", req(unix.RTM_DELADDR, ackFlags, 1, ifa(unix.AF_INET, 8, 9)), unix.ENODEV},
		{"get an IPv4 address", req(unix.RTM_GETADDR, unix.NLM_F_REQUEST, 1, ifa(unix.AF_INET, 0, 0)), unix.EOPNOTSUPP},
		{"get no IPv6 address", req(unix.RTM_GETADDR, unix.NLM_F_REQUEST, 1, ifa(unix.AF_INET6, 0, 0)), unix.EINVAL},
		{"get a missing IPv6 address", req(unix.RTM_GETADDR, unix.NLM_F_REQUEST, 1, ifa(unix.AF_INET6, 0, 0), rattr(unix.IFA_ADDRESS, netip.MustParseAddr("2001::1").AsSlice())), unix.EADDRNOTAVAIL},
	} {
		msgs := s.exchange(c.b)
		if len(msgs) != 1 || errOf(t, msgs[0]) != c.err {
			t.Errorf("%s: %v, want error %v", c.name, types(msgs), c.err)
		}
	}
	msgs = s.exchange(req(unix.RTM_GETADDR, unix.NLM_F_REQUEST, 1, ifa(unix.AF_INET6, 0, 0), rattr(unix.IFA_ADDRESS, netip.MustParseAddr("fd00::15").AsSlice())))
	if len(msgs) != 1 || msgs[0].Type != unix.RTM_NEWADDR || parseIfaddrmsg(msgs[0].payload).Index != 2 {
		t.Errorf("get an IPv6 address: %v", types(msgs))
	}

	// eth0 as Docker's: a broadcast address, scopes by kind.
	msgs = s.exchange(req(unix.RTM_GETADDR, dumpFlags, 1, ifa(0, 0, 0)))
	var got []string
	for _, m := range msgs[:len(msgs)-1] {
		h := parseIfaddrmsg(m.payload)
		a := attrMap(t, m.payload[sizeofIfaddrmsg:])
		ip, _ := netip.AddrFromSlice(a[unix.IFA_ADDRESS])
		s := netip.PrefixFrom(ip, int(h.PrefixLen)).String()
		if b, ok := a[unix.IFA_BROADCAST]; ok {
			s += " brd " + netip.AddrFrom4([4]byte(b)).String()
		}
		got = append(got, s+" scope "+map[uint8]string{0: "global", 253: "link", 254: "host"}[h.Scope])
	}
	want := []string{"127.0.0.1/8 scope host", "10.0.2.15/24 brd 10.0.2.255 scope global",
		"::1/128 scope host", "fd00::15/64 scope global", "fe80::42:acff:fe11:2/64 scope link"}
	if !slices.Equal(got, want) {
		t.Errorf("addresses %q\nwant      %q", got, want)
	}

	// ip addr del 10.0.2.15/24 dev eth0, then a delete naming nothing:
	// the first address goes.
	wantErr(t, s.exchange(req(unix.RTM_DELADDR, ackFlags, 1, ifa(unix.AF_INET, 24, 2),
		rattr(unix.IFA_LOCAL, []byte{10, 0, 2, 15}), rattr(unix.IFA_ADDRESS, []byte{10, 0, 2, 15}))), 0)
	wantErr(t, s.exchange(req(unix.RTM_DELADDR, ackFlags, 1, ifa(unix.AF_INET, 0, 1))), 0)
	wantErr(t, s.exchange(req(unix.RTM_DELADDR, ackFlags, 1, ifa(unix.AF_INET6, 64, 2),
		rattr(unix.IFA_ADDRESS, netip.MustParseAddr("fd00::15").AsSlice()))), 0)
	var left []string
	for _, a := range st.InterfaceAddresses() {
		left = append(left, a.Prefix.String())
	}
	if want := []string{"::1/128", "fe80::42:acff:fe11:2/64"}; !slices.Equal(left, want) {
		t.Errorf("addresses left %q, want %q", left, want)
	}
}

// routeStrings renders a route dump as ip(8) does, roughly.
func routeStrings(t *testing.T, msgs []nlmsg) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		if m.Type != unix.RTM_NEWROUTE {
			continue
		}
		h := parseRtmsg(m.payload)
		a := attrMap(t, m.payload[sizeofRtmsg:])
		s := map[uint8]string{unix.RTN_UNICAST: "", unix.RTN_LOCAL: "local ", unix.RTN_BROADCAST: "broadcast ", unix.RTN_MULTICAST: "multicast "}[h.Type]
		if d, ok := a[unix.RTA_DST]; ok {
			ip, _ := netip.AddrFromSlice(d)
			s += netip.PrefixFrom(ip, int(h.DstLen)).String()
		} else {
			s += "default"
		}
		if g, ok := a[unix.RTA_GATEWAY]; ok {
			ip, _ := netip.AddrFromSlice(g)
			s += " via " + ip.String()
		}
		s += " dev " + map[uint32]string{1: "lo", 2: "eth0"}[ne.Uint32(a[unix.RTA_OIF])]
		if ne.Uint32(a[unix.RTA_TABLE]) != uint32(h.Table) {
			t.Errorf("RTA_TABLE %d, rtm_table %d", ne.Uint32(a[unix.RTA_TABLE]), h.Table)
		}
		if h.Table == unix.RT_TABLE_LOCAL {
			s += " table local"
		}
		s += map[uint8]string{unix.RTPROT_KERNEL: " proto kernel", unix.RTPROT_BOOT: ""}[h.Protocol]
		if h.Family == unix.AF_INET {
			s += map[uint8]string{unix.RT_SCOPE_HOST: " scope host", unix.RT_SCOPE_LINK: " scope link", 0: ""}[h.Scope]
		}
		if src, ok := a[unix.RTA_PREFSRC]; ok {
			s += " src " + netip.AddrFrom4([4]byte(src)).String()
		}
		if p, ok := a[unix.RTA_PRIORITY]; ok {
			s += " metric " + itoa(ne.Uint32(p))
		}
		out = append(out, s)
	}
	return out
}

func itoa(v uint32) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

func TestRouteDump(t *testing.T) {
	st := newFakeStack()
	s := newSock(t, st, root)
	// ip route show table all, as ip(8) 6.1 asks for it.
	s.setopt(unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1)
	msgs := s.exchange(req(unix.RTM_GETROUTE, dumpFlags, 1, rtm(0)))
	want := []string{
		"local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1",
		"local 127.0.0.1/32 dev lo table local proto kernel scope host src 127.0.0.1",
		"broadcast 127.255.255.255/32 dev lo table local proto kernel scope link src 127.0.0.1",
		"local ::1/128 dev lo table local proto kernel metric 0",
	}
	if got := routeStrings(t, msgs); !slices.Equal(got, want) {
		t.Errorf("table all:\n%q\nwant\n%q", got, want)
	}
	for _, m := range msgs[:len(msgs)-1] {
		if m.Flags != unix.NLM_F_MULTI|unix.NLM_F_DUMP_FILTERED {
			t.Errorf("strict dump part flags %#x", m.Flags)
		}
	}
	if done := msgs[len(msgs)-1]; done.Type != unix.NLMSG_DONE || done.Flags != unix.NLM_F_MULTI {
		t.Errorf("strict dump's NLMSG_DONE flags %#x", done.Flags)
	}
	// The v6 route's attributes, in Linux's order and length.
	v6 := msgs[len(msgs)-2]
	if got, want := attrTypes(attrList(t, v6.payload[sizeofRtmsg:])), []uint16{unix.RTA_TABLE, unix.RTA_DST,
		unix.RTA_PRIORITY, unix.RTA_OIF, unix.RTA_CACHEINFO, unix.RTA_PREF}; !slices.Equal(got, want) || v6.Len != 116 {
		t.Errorf("::1's route: %v, %d bytes", got, v6.Len)
	}
	// ip route, ip -6 route: the main tables are empty.
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		msgs := s.exchange(req(unix.RTM_GETROUTE, dumpFlags, 1, rtm(fam), rattr(unix.RTA_TABLE, u32b(unix.RT_TABLE_MAIN))))
		if len(msgs) != 1 || msgs[0].Type != unix.NLMSG_DONE || msgs[0].Flags != unix.NLM_F_MULTI|unix.NLM_F_DUMP_FILTERED {
			t.Errorf("family %d, table main: %v", fam, types(msgs))
		}
	}
	msgs = s.exchange(req(unix.RTM_GETROUTE, dumpFlags, 1, rtm(unix.AF_INET), rattr(unix.RTA_TABLE, u32b(7))))
	if len(msgs) != 1 || errOf(t, msgs[0]) != unix.ENOENT {
		t.Errorf("missing table: %v", types(msgs))
	}

	// A network as Docker's bridge gives one.
	st.addEth(2, "eth0")
	st.AddAddress(2, netip.MustParsePrefix("172.17.0.2/16"))
	st.AddAddress(2, netip.MustParsePrefix("fe80::42:acff:fe11:2/64"))
	st.routes = append(st.routes,
		inetRoute("0.0.0.0/0", "172.17.0.1", 2), inetRoute("::/0", "fe80::1", 2), inetRoute("10.9.0.0/16", "", 2))
	s = newSock(t, st, root) // not strict: Linux filters nothing
	msgs = s.exchange(req(unix.RTM_GETROUTE, dumpFlags, 1, rtm(0)))
	want = []string{
		"default via 172.17.0.1 dev eth0",
		"10.9.0.0/16 dev eth0 scope link",
		"172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2",
		"local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1",
		"local 127.0.0.1/32 dev lo table local proto kernel scope host src 127.0.0.1",
		"broadcast 127.255.255.255/32 dev lo table local proto kernel scope link src 127.0.0.1",
		"local 172.17.0.2/32 dev eth0 table local proto kernel scope host src 172.17.0.2",
		"broadcast 172.17.255.255/32 dev eth0 table local proto kernel scope link src 172.17.0.2",
		"fe80::/64 dev eth0 proto kernel metric 256",
		"default via fe80::1 dev eth0 metric 1024",
		"local ::1/128 dev lo table local proto kernel metric 0",
		"local fe80::42:acff:fe11:2/128 dev eth0 table local proto kernel metric 0",
		"multicast ff00::/8 dev eth0 table local proto kernel metric 256",
	}
	if got := routeStrings(t, msgs); !slices.Equal(got, want) {
		t.Errorf("with eth0:\n%q\nwant\n%q", got, want)
	}
	// Down, a link keeps its IPv4 local routes only.
	st.SetInterfaceUp(2, false)
	msgs = s.exchange(req(unix.RTM_GETROUTE, dumpFlags, 1, rtm(unix.AF_INET)))
	want = []string{
		"local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1",
		"local 127.0.0.1/32 dev lo table local proto kernel scope host src 127.0.0.1",
		"broadcast 127.255.255.255/32 dev lo table local proto kernel scope link src 127.0.0.1",
		"local 172.17.0.2/32 dev eth0 table local proto kernel scope host src 172.17.0.2",
	}
	if got := routeStrings(t, msgs); !slices.Equal(got, want) {
		t.Errorf("eth0 down:\n%q\nwant\n%q", got, want)
	}
}

func inetRoute(dst, gw string, index int32) inetRouteT {
	r := inetRouteT{Dst: netip.MustParsePrefix(dst), Index: index}
	if gw != "" {
		r.Gateway = netip.MustParseAddr(gw)
	}
	return r
}

func TestRuleDump(t *testing.T) {
	s := newSock(t, newFakeStack(), root)
	s.send(req(unix.RTM_GETRULE, dumpFlags, 1, rtm(unix.AF_INET)))
	ds := s.recvAll()
	if len(ds) != 1 {
		t.Fatalf("%d datagrams, want the rules and NLMSG_DONE in one", len(ds))
	}
	msgs := parseMsgs(t, ds[0])
	if !slices.Equal(types(msgs), []uint16{unix.RTM_NEWRULE, unix.RTM_NEWRULE, unix.RTM_NEWRULE, unix.NLMSG_DONE}) {
		t.Fatalf("answer %v", types(msgs))
	}
	for i, want := range []struct {
		table uint8
		len   uint32
	}{{unix.RT_TABLE_LOCAL, 52}, {unix.RT_TABLE_MAIN, 60}, {unix.RT_TABLE_DEFAULT, 60}} {
		if h := parseRtmsg(msgs[i].payload); h.Table != want.table || h.Type != unix.FR_ACT_TO_TBL || msgs[i].Len != want.len {
			t.Errorf("rule %d: %+v, %d bytes", i, h, msgs[i].Len)
		}
	}
	if msgs := s.exchange(req(unix.RTM_GETRULE, dumpFlags, 1, rtm(unix.AF_INET6))); len(msgs) != 3 {
		t.Errorf("IPv6 rules: %v", types(msgs))
	}
}

func TestRequests(t *testing.T) {
	s := newSock(t, newFakeStack(), nobody)
	getLo := req(unix.RTM_GETLINK, ackFlags, 1, ifi(1, 0, 0))
	for _, c := range []struct {
		name string
		b    []byte
		want []uint16
		err  unix.Errno
	}{
		{"not a request, acknowledged", req(unix.RTM_GETLINK, unix.NLM_F_ACK, 1, ifi(1, 0, 0)), []uint16{unix.NLMSG_ERROR}, 0},
		{"not a request", req(unix.RTM_GETLINK, 0, 1, ifi(1, 0, 0)), nil, 0},
		{"NLMSG_NOOP", req(unix.NLMSG_NOOP, ackFlags, 1), []uint16{unix.NLMSG_ERROR}, 0},
		{"no family", req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1), nil, 0},
		{"no family, acknowledged", req(unix.RTM_GETLINK, ackFlags, 1), []uint16{unix.NLMSG_ERROR}, 0},
		{"past RTM_MAX", req(0x7c, unix.NLM_F_REQUEST, 1, []byte{0, 0, 0, 0}), []uint16{unix.NLMSG_ERROR}, unix.EOPNOTSUPP},
		{"unknown GET", req(0x7a, dumpFlags, 1, []byte{0, 0, 0, 0}), []uint16{unix.NLMSG_ERROR}, unix.EOPNOTSUPP},
		{"RTM_GETQDISC", req(unix.RTM_GETQDISC, dumpFlags, 1, []byte{0, 0, 0, 0}), []uint16{unix.NLMSG_ERROR}, unix.EOPNOTSUPP},
		{"NEW without CAP_NET_ADMIN", req(unix.RTM_NEWROUTE, ackFlags, 1, rtm(2)), []uint16{unix.NLMSG_ERROR}, unix.EPERM},
		{"neighbors", req(unix.RTM_GETNEIGH, dumpFlags, 1, []byte{0, 0, 0, 0}), []uint16{unix.NLMSG_DONE}, 0},
		{"two requests", slices.Concat(getLo, getLo), []uint16{unix.RTM_NEWLINK, unix.NLMSG_ERROR, unix.RTM_NEWLINK, unix.NLMSG_ERROR}, 0},
		{"trailing bytes", slices.Concat(getLo, []byte{1, 2, 3}), []uint16{unix.RTM_NEWLINK, unix.NLMSG_ERROR}, 0},
	} {
		msgs := s.exchange(c.b)
		if !slices.Equal(types(msgs), c.want) {
			t.Errorf("%s: %v, want %v", c.name, types(msgs), c.want)
			continue
		}
		if len(msgs) > 0 && msgs[len(msgs)-1].Type != unix.RTM_NEWLINK {
			if e := errOf(t, msgs[len(msgs)-1]); e != c.err {
				t.Errorf("%s: error %v, want %v", c.name, e, c.err)
			}
		}
	}
	// Malformed headers end a datagram silently.
	for _, c := range []struct {
		name string
		len  uint32
	}{{"length past the datagram", 1000}, {"length below a header", 10}, {"length 0", 0}} {
		b := req(unix.RTM_GETLINK, ackFlags, 1, ifi(1, 0, 0))
		ne.PutUint32(b, c.len)
		if msgs := s.exchange(slices.Concat(b, getLo)); len(msgs) != 0 {
			t.Errorf("%s: %v, want nothing", c.name, types(msgs))
		}
	}
	// A length that is not a multiple of 4: the next message starts at
	// the aligned length, as on Linux.
	b := req(unix.RTM_GETLINK, ackFlags, 7, ifi(1, 0, 0))
	ne.PutUint32(b, 17)
	msgs := s.exchange(b[:20])
	if len(msgs) != 1 || errOf(t, msgs[0]) != unix.EINVAL || msgs[0].Len != 40 {
		t.Errorf("17-byte request: %v", types(msgs))
	}
}

func TestDumpsOneAtATime(t *testing.T) {
	s := newSock(t, newFakeStack(), root)
	two := append(req(unix.RTM_GETLINK, dumpFlags, 1, ifi(0, 0, 0)), req(unix.RTM_GETADDR, dumpFlags, 2, ifa(0, 0, 0))...)
	msgs := s.exchange(two)
	// Linux answers the second dump with EBUSY before the first's end.
	if !slices.Equal(types(msgs), []uint16{unix.RTM_NEWLINK, unix.NLMSG_ERROR, unix.NLMSG_DONE}) {
		t.Fatalf("answer %v", types(msgs))
	}
	if errOf(t, msgs[1]) != unix.EBUSY || msgs[1].Seq != 2 {
		t.Errorf("second dump: %v seq %d", errOf(t, msgs[1]), msgs[1].Seq)
	}
}

func TestBigDump(t *testing.T) {
	st := newFakeStack()
	for i := range 100 {
		st.addEth(int32(2+i), "eth"+itoa(uint32(i)))
	}
	s := newSock(t, st, root)
	s.send(req(unix.RTM_GETLINK, dumpFlags, 1, ifi(0, 0, 0)))
	// A reader with a page of buffer (Go's syscall.NetlinkRIB) gets
	// datagrams that fit it, until it offers more.
	var n int
	for i := 0; ; i++ {
		size := 4096
		if i > 3 {
			size = 32768
		}
		r, err := s.Recv(root, size, unix.MSG_DONTWAIT, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Flags&unix.MSG_TRUNC != 0 {
			t.Fatalf("datagram %d of %d bytes truncated to %d", i, r.Len, size)
		}
		if i > 4 && len(r.Data) < goodSize && len(parseMsgs(t, r.Data)) > 1 {
			t.Errorf("datagram %d: %d bytes, want datagrams of up to 32 KiB", i, len(r.Data))
		}
		msgs := parseMsgs(t, r.Data)
		for _, m := range msgs {
			if m.Type == unix.NLMSG_DONE {
				if len(msgs) != 1 {
					t.Errorf("NLMSG_DONE shares a datagram")
				}
				if n != 101 {
					t.Errorf("%d links, want 101", n)
				}
				return
			}
			n++
		}
	}
}

func TestRecv(t *testing.T) {
	s := newSock(t, newFakeStack(), root)
	if _, err := s.Recv(root, 100, 0, nil); err != unix.EAGAIN {
		t.Errorf("empty: %v, want EAGAIN", err)
	}
	if s.Readiness(waiter.EventIn|waiter.EventOut) != waiter.EventOut {
		t.Errorf("empty socket's readiness %#x", s.Readiness(waiter.EventIn|waiter.EventOut))
	}
	s.send(req(unix.RTM_GETADDR, dumpFlags, 1, ifa(0, 0, 0)))
	if s.Readiness(waiter.EventIn) != waiter.EventIn {
		t.Errorf("readiness %#x with answers queued", s.Readiness(waiter.EventIn))
	}
	// ip(8) peeks with MSG_TRUNC and no buffer to learn the size.
	r, err := s.Recv(root, 0, unix.MSG_PEEK|unix.MSG_TRUNC, nil)
	if err != nil || r.Len != 156 || len(r.Data) != 0 || r.Flags != unix.MSG_TRUNC {
		t.Fatalf("peek: len %d data %d flags %#x, %v", r.Len, len(r.Data), r.Flags, err)
	}
	if port, groups := sockaddrOf(t, r.From); port != 0 || groups != 0 {
		t.Errorf("from %d/%d, want the kernel", port, groups)
	}
	// A short buffer takes the datagram all the same.
	r, err = s.Recv(root, 10, 0, nil)
	if err != nil || len(r.Data) != 10 || r.Len != 156 || r.Flags != unix.MSG_TRUNC {
		t.Fatalf("short read: %d of %d flags %#x, %v", len(r.Data), r.Len, r.Flags, err)
	}
	r, err = s.Recv(root, 100, 0, nil)
	if err != nil || len(r.Data) != 20 || parseHeader(r.Data).Type != unix.NLMSG_DONE {
		t.Fatalf("then NLMSG_DONE: %x, %v", r.Data, err)
	}

	// Blocking: the Blocker waits until an answer is queued.
	waited := false
	block := func(ch <-chan struct{}) error {
		waited = true
		s.send(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0)))
		<-ch
		return nil
	}
	r, err = s.Recv(root, 32768, 0, block)
	if err != nil || !waited || parseHeader(r.Data).Type != unix.RTM_NEWLINK {
		t.Errorf("blocking receive: %v waited %v", err, waited)
	}
	intr := func(<-chan struct{}) error { return unix.EINTR }
	if _, err := s.Recv(root, 100, 0, intr); err != unix.EINTR {
		t.Errorf("interrupted receive: %v", err)
	}
	if _, err := s.Recv(root, 100, unix.MSG_DONTWAIT, intr); err != unix.EAGAIN {
		t.Errorf("MSG_DONTWAIT: %v", err)
	}
	if _, err := s.Recv(root, 100, unix.MSG_OOB, nil); err != unix.EOPNOTSUPP {
		t.Errorf("MSG_OOB: %v", err)
	}
	// read(2) and write(2) through the FileImpl.
	getLo := req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0))
	if n, err := s.WriteAt(getLo, 0); err != nil || n != len(getLo) {
		t.Fatalf("write: %d, %v", n, err)
	}
	buf := make([]byte, 8192)
	if n, err := s.ReadAt(buf, 0); err != nil || parseHeader(buf[:n]).Type != unix.RTM_NEWLINK {
		t.Errorf("read: %d, %v", n, err)
	}
}

func TestOverrun(t *testing.T) {
	s := newSock(t, newFakeStack(), root)
	s.setopt(unix.SOL_SOCKET, unix.SO_RCVBUF, 0) // the minimum, 2304
	getLo := req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0))
	s.send(getLo)
	s.send(getLo) // queued: the queue is not past SO_RCVBUF yet
	s.send(getLo) // dropped
	if s.Readiness(waiter.EventIn)&waiter.EventErr == 0 {
		t.Errorf("no EPOLLERR with an error pending")
	}
	if _, err := s.Recv(root, 32768, 0, nil); err != unix.ENOBUFS {
		t.Fatalf("receive after an overrun: %v, want ENOBUFS", err)
	}
	if ds := s.recvAll(); len(ds) != 2 {
		t.Errorf("%d answers kept, want 2", len(ds))
	}
	// NETLINK_NO_ENOBUFS: dropped quietly.
	s.setopt(unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS, 1)
	s.send(getLo)
	s.send(getLo)
	s.send(getLo)
	if ds := s.recvAll(); len(ds) != 2 {
		t.Errorf("%d answers kept, want 2", len(ds))
	}
}

func TestOptions(t *testing.T) {
	s := newSock(t, newFakeStack(), nobody)
	get := func(level, name, size int) []byte {
		t.Helper()
		b, err := s.GetSockopt(nobody, level, name, size)
		if err != nil {
			t.Fatalf("getsockopt(%d, %d): %v", level, name, err)
		}
		return b
	}
	geti := func(level, name int) int32 { return int32(ne.Uint32(get(level, name, 4))) }
	for name, want := range map[int]int32{unix.SO_TYPE: unix.SOCK_RAW, unix.SO_DOMAIN: unix.AF_NETLINK,
		unix.SO_PROTOCOL: 0, unix.SO_RCVBUF: 212992, unix.SO_SNDBUF: 212992, unix.SO_PASSCRED: 0, unix.SO_ERROR: 0} {
		if got := geti(unix.SOL_SOCKET, name); got != want {
			t.Errorf("option %d: %d, want %d", name, got, want)
		}
	}
	s.setopt(unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	s.setopt(unix.SOL_SOCKET, unix.SO_SNDBUF, 32768)
	if r, w := geti(unix.SOL_SOCKET, unix.SO_RCVBUF), geti(unix.SOL_SOCKET, unix.SO_SNDBUF); r != 2*socket.MaxBuffer || w != 65536 {
		t.Errorf("buffers %d and %d, want %d and 65536", r, w, 2*socket.MaxBuffer)
	}
	if err := s.SetSockopt(nobody, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socket.Int(1<<20)); err != unix.EPERM {
		t.Errorf("SO_RCVBUFFORCE without CAP_NET_ADMIN: %v", err)
	}
	if err := s.SetSockopt(root, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socket.Int(1<<20)); err != nil || geti(unix.SOL_SOCKET, unix.SO_RCVBUF) != 2<<20 {
		t.Errorf("SO_RCVBUFFORCE: %v", err)
	}
	for _, name := range []int{unix.NETLINK_EXT_ACK, unix.NETLINK_GET_STRICT_CHK, unix.NETLINK_PKTINFO,
		unix.NETLINK_CAP_ACK, unix.NETLINK_NO_ENOBUFS, unix.NETLINK_BROADCAST_ERROR} {
		s.setopt(unix.SOL_NETLINK, name, 1)
		if geti(unix.SOL_NETLINK, name) != 1 {
			t.Errorf("SOL_NETLINK option %d not kept", name)
		}
	}
	if _, err := s.GetSockopt(nobody, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 2); err != unix.EINVAL {
		t.Errorf("flag into 2 bytes: %v", err)
	}
	if err := s.SetSockopt(nobody, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, []byte{1}); err != nil || geti(unix.SOL_NETLINK, unix.NETLINK_EXT_ACK) != 0 {
		t.Errorf("a 1-byte value reads as 0: %v", err)
	}
	// Groups 1 to 39.
	for g, want := range map[int32]error{39: nil, 40: unix.EINVAL, 0: unix.EINVAL, 1: nil} {
		if err := s.SetSockopt(nobody, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, socket.Int(g)); err != want {
			t.Errorf("join group %d: %v, want %v", g, err, want)
		}
	}
	if b := get(unix.SOL_NETLINK, unix.NETLINK_LIST_MEMBERSHIPS, 0); !bytes.Equal(b, []byte{1, 0, 0, 0, 0x40, 0, 0, 0}) {
		t.Errorf("memberships %x", b)
	}
	if err := s.SetSockopt(nobody, unix.SOL_NETLINK, unix.NETLINK_LISTEN_ALL_NSID, socket.Int(1)); err != unix.EPERM {
		t.Errorf("NETLINK_LISTEN_ALL_NSID: %v", err)
	}
	if err := s.SetSockopt(nobody, unix.SOL_NETLINK, 99, socket.Int(1)); err != unix.ENOPROTOOPT {
		t.Errorf("unknown option: %v", err)
	}
	if err := s.SetSockopt(nobody, unix.SOL_IP, unix.IP_TOS, socket.Int(1)); err != unix.ENOPROTOOPT {
		t.Errorf("SOL_IP option: %v", err)
	}
	tv := make([]byte, 16)
	tv[0] = 2
	if err := s.SetSockopt(nobody, unix.SOL_SOCKET, unix.SO_RCVTIMEO, tv); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Timeouts(); r.Seconds() != 2 {
		t.Errorf("SO_RCVTIMEO %v", r)
	}
	if s.Listen(1) != unix.EOPNOTSUPP || s.Shutdown(0) != unix.EOPNOTSUPP {
		t.Errorf("listen or shutdown served")
	}
}

func TestControl(t *testing.T) {
	s := newSock(t, newFakeStack(), root)
	s.setopt(unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	s.setopt(unix.SOL_NETLINK, unix.NETLINK_PKTINFO, 1)
	s.send(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0)))
	r, err := s.Recv(root, 32768, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// What Linux gives: NETLINK_PKTINFO (group 0), then the kernel's
	// credentials, each record padded to 8 bytes.
	want := []byte{
		0x14, 0, 0, 0, 0, 0, 0, 0, 0x0e, 1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x1c, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	}
	if !bytes.Equal(r.Control, want) {
		t.Errorf("control %x\nwant    %x", r.Control, want)
	}
}

func TestStat(t *testing.T) {
	a := newSock(t, newFakeStack(), root)
	b := newSock(t, newFakeStack(), root)
	var sa, sb unix.Stat_t
	a.Stat(&sa)
	b.Stat(&sb)
	if sa.Mode != unix.S_IFSOCK|0o777 || sa.Ino == sb.Ino {
		t.Errorf("stat: mode %o, inodes %d and %d", sa.Mode, sa.Ino, sb.Ino)
	}
	if a.ProcName() != "socket:["+itoa(uint32(sa.Ino))+"]" {
		t.Errorf("ProcName %q", a.ProcName())
	}
}

// TestConcurrent is for the race detector: sends, receives, readiness,
// binds and releases at once.
func TestConcurrent(t *testing.T) {
	st := newFakeStack()
	shared, err := New(st, unix.SOCK_RAW, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &socket.Caller{PID: int32(300 + i), HasCap: func(int) bool { return true }}
			for range 200 {
				shared.Send(c, &socket.Message{Data: req(unix.RTM_GETADDR, dumpFlags, 1, ifa(0, 0, 0))}, 0, nil)
				shared.Recv(c, 4096, unix.MSG_DONTWAIT, nil)
				shared.Readiness(waiter.EventIn)
				s, _ := New(st, unix.SOCK_DGRAM, unix.NETLINK_ROUTE)
				s.Bind(c, sockaddr(0, 0))
				s.Send(c, &socket.Message{Data: req(unix.RTM_NEWLINK, ackFlags, 1, ifi(1, unix.IFF_UP, unix.IFF_UP))}, 0, nil)
				s.Release()
			}
		}()
	}
	go func() {
		defer close(done)
		wg.Wait()
	}()
	e, ch := waiter.NewChannelEntry(waiter.EventIn)
	shared.EventRegister(e)
	for {
		select {
		case <-ch:
		case <-done:
			shared.EventUnregister(e)
			shared.Release()
			return
		}
	}
}

func TestLinkStats(t *testing.T) {
	st := newFakeStack()
	st.stats = map[int32]inet.InterfaceStats{1: {RxPackets: 3, TxPackets: 3, RxBytes: 1<<32 + 5, TxBytes: 7, RxDropped: 1}}
	s := newSock(t, st, root)
	msgs := s.exchange(req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 1, ifi(1, 0, 0)))
	a := attrMap(t, msgs[0].payload[sizeofIfinfomsg:])
	s64, s32 := a[unix.IFLA_STATS64], a[unix.IFLA_STATS]
	if ne.Uint64(s64) != 3 || ne.Uint64(s64[16:]) != 1<<32+5 || ne.Uint64(s64[24:]) != 7 || ne.Uint64(s64[48:]) != 1 {
		t.Errorf("IFLA_STATS64 %x", s64[:72])
	}
	if ne.Uint32(s32) != 3 || ne.Uint32(s32[8:]) != 5 || ne.Uint32(s32[24:]) != 1 {
		t.Errorf("IFLA_STATS %x", s32[:36])
	}
}
