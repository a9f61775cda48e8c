package netlink

import (
	"maps"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/net/inet"
	"magawa/kernel/socket"
)

// fakeStack is a Stack holding what Linux's network namespace holds
// once lo is up: lo with 127.0.0.1/8 and ::1/128, and the subnet
// routes inet.Stack adds with each address.
type fakeStack struct {
	mu     sync.Mutex
	ifcs   []inet.Interface
	addrs  []inet.InterfaceAddress
	routes []inet.Route
	stats  map[int32]inet.InterfaceStats
}

const upFlags = unix.IFF_UP | unix.IFF_RUNNING | unix.IFF_LOWER_UP

func newFakeStack() *fakeStack {
	st := &fakeStack{ifcs: []inet.Interface{{
		Index: 1, Name: "lo", Flags: upFlags | unix.IFF_LOOPBACK, MTU: 65536, ARPType: unix.ARPHRD_LOOPBACK,
	}}}
	for _, p := range []string{"127.0.0.1/8", "::1/128"} {
		if err := st.AddAddress(1, netip.MustParsePrefix(p)); err != nil {
			panic(err)
		}
	}
	return st
}

// addEth adds an Ethernet link, up, as a sandbox with a network would
// have.
func (st *fakeStack) addEth(index int32, name string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.ifcs = append(st.ifcs, inet.Interface{
		Index: index, Name: name, Flags: upFlags | unix.IFF_BROADCAST | unix.IFF_MULTICAST, MTU: 1500,
		HardwareAddr: []byte{2, 0x42, 0xac, 0x11, 0, 2}, ARPType: unix.ARPHRD_ETHER,
	})
}

func (st *fakeStack) Interfaces() []inet.Interface {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.ifcs)
}

func (st *fakeStack) InterfaceAddresses() []inet.InterfaceAddress {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := slices.Clone(st.addrs)
	slices.SortStableFunc(out, func(a, b inet.InterfaceAddress) int {
		if a.Index != b.Index {
			return int(a.Index - b.Index)
		}
		if a.Prefix.Addr().Is4() == b.Prefix.Addr().Is4() {
			return 0
		}
		if a.Prefix.Addr().Is4() {
			return -1
		}
		return 1
	})
	return out
}

func (st *fakeStack) Routes() []inet.Route {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.routes)
}

func (st *fakeStack) InterfaceByIndex(i int32) (inet.Interface, bool) {
	for _, ifc := range st.Interfaces() {
		if ifc.Index == i {
			return ifc, true
		}
	}
	return inet.Interface{}, false
}

func (st *fakeStack) InterfaceByName(name string) (inet.Interface, bool) {
	for _, ifc := range st.Interfaces() {
		if ifc.Name == name {
			return ifc, true
		}
	}
	return inet.Interface{}, false
}

func (st *fakeStack) AddAddress(index int32, p netip.Prefix) error {
	if _, ok := st.InterfaceByIndex(index); !ok {
		return unix.ENODEV
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, a := range st.addrs {
		if a.Index == index && a.Prefix.Addr() == p.Addr() {
			return unix.EADDRINUSE
		}
	}
	st.addrs = append(st.addrs, inet.InterfaceAddress{Index: index, Prefix: p})
	st.routes = append(st.routes, inet.Route{Dst: p.Masked(), Index: index})
	return nil
}

func (st *fakeStack) RemoveAddress(index int32, p netip.Prefix) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := slices.IndexFunc(st.addrs, func(a inet.InterfaceAddress) bool { return a.Index == index && a.Prefix == p })
	if i < 0 {
		return unix.EADDRNOTAVAIL
	}
	st.addrs = slices.Delete(st.addrs, i, i+1)
	st.routes = slices.DeleteFunc(st.routes, func(r inet.Route) bool {
		return r.Index == index && r.Dst == p.Masked() && !r.Gateway.IsValid()
	})
	return nil
}

func (st *fakeStack) InterfaceStats() map[int32]inet.InterfaceStats {
	st.mu.Lock()
	defer st.mu.Unlock()
	return maps.Clone(st.stats)
}

func (st *fakeStack) SetInterfaceUp(index int32, up bool) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := range st.ifcs {
		if st.ifcs[i].Index == index {
			if up {
				st.ifcs[i].Flags |= upFlags
			} else {
				st.ifcs[i].Flags &^= upFlags
			}
			return nil
		}
	}
	return unix.ENODEV
}

type inetRouteT = inet.Route

// Callers: root with every capability, and a user with none.
var (
	root   = &socket.Caller{PID: 100, HasCap: func(int) bool { return true }}
	nobody = &socket.Caller{PID: 200, UID: 1000, GID: 1000, HasCap: func(int) bool { return false }}
)

// tsock is a socket under test.
type tsock struct {
	t *testing.T
	*Socket
	c *socket.Caller
}

func newSock(t *testing.T, st Stack, c *socket.Caller) *tsock {
	t.Helper()
	s, err := New(st, unix.SOCK_RAW, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Release)
	return &tsock{t, s, c}
}

func (ts *tsock) setopt(level, name int, v int32) {
	ts.t.Helper()
	if err := ts.SetSockopt(ts.c, level, name, socket.Int(v)); err != nil {
		ts.t.Fatalf("setsockopt(%d, %d): %v", level, name, err)
	}
}

// send sends b to the kernel.
func (ts *tsock) send(b []byte) {
	ts.t.Helper()
	if n, err := ts.Send(ts.c, &socket.Message{Data: b}, 0, nil); err != nil || n != len(b) {
		ts.t.Fatalf("send: %d, %v", n, err)
	}
}

// recvAll receives every datagram there is, with a buffer of 32 KiB as
// ip(8) has.
func (ts *tsock) recvAll() [][]byte {
	ts.t.Helper()
	var out [][]byte
	for {
		r, err := ts.Recv(ts.c, 32768, unix.MSG_DONTWAIT, nil)
		if err == unix.EAGAIN {
			return out
		}
		if err != nil {
			ts.t.Fatalf("recv: %v", err)
		}
		if r.Flags&unix.MSG_TRUNC != 0 {
			ts.t.Fatalf("recv truncated a datagram of %d bytes", r.Len)
		}
		out = append(out, r.Data)
	}
}

// exchange sends b and returns the messages of every datagram that
// answers it.
func (ts *tsock) exchange(b []byte) []nlmsg {
	ts.t.Helper()
	ts.send(b)
	var out []nlmsg
	for _, d := range ts.recvAll() {
		out = append(out, parseMsgs(ts.t, d)...)
	}
	return out
}

// nlmsg is a message of an answer.
type nlmsg struct {
	header
	payload []byte
}

// parseMsgs splits a datagram into its messages, failing the test if
// it is not made of whole, aligned messages.
func parseMsgs(t *testing.T, b []byte) []nlmsg {
	t.Helper()
	var out []nlmsg
	for len(b) > 0 {
		if len(b) < hdrLen {
			t.Fatalf("datagram ends with %d bytes, short of a header", len(b))
		}
		h := parseHeader(b)
		if h.Len < hdrLen || int(h.Len) > len(b) || h.Len%4 != 0 {
			t.Fatalf("message length %d in a datagram of %d bytes", h.Len, len(b))
		}
		out = append(out, nlmsg{h, b[hdrLen:h.Len]})
		b = b[h.Len:]
	}
	return out
}

// attr is an attribute of an answer.
type attr struct {
	typ  uint16
	data []byte
}

// attrList returns the attributes in b, in order, with their types as
// sent (NLA_F_NESTED included), failing the test on a malformed one.
func attrList(t *testing.T, b []byte) []attr {
	t.Helper()
	var out []attr
	for len(b) > 0 {
		if len(b) < attrHdrLen {
			t.Fatalf("attributes end with %d bytes", len(b))
		}
		n := int(ne.Uint16(b))
		if n < attrHdrLen || n > len(b) {
			t.Fatalf("attribute length %d with %d bytes left", n, len(b))
		}
		out = append(out, attr{ne.Uint16(b[2:]), b[attrHdrLen:n]})
		b = b[min(align(n), len(b)):]
	}
	return out
}

func attrMap(t *testing.T, b []byte) map[uint16][]byte {
	m := map[uint16][]byte{}
	for _, a := range attrList(t, b) {
		m[a.typ] = a.data
	}
	return m
}

func attrTypes(as []attr) []uint16 {
	var out []uint16
	for _, a := range as {
		out = append(out, a.typ)
	}
	return out
}

// req builds a request message.
func req(typ, flags uint16, seq uint32, parts ...[]byte) []byte {
	m := newMessage(typ, flags, seq, 0)
	for _, p := range parts {
		m.b = append(m.b, p...)
		m.pad()
	}
	return m.bytes()
}

// rattr builds an attribute.
func rattr(typ uint16, data []byte) []byte {
	m := &message{}
	m.attr(typ, data)
	return m.b
}

func u32b(v uint32) []byte {
	b := make([]byte, 4)
	ne.PutUint32(b, v)
	return b
}

func ifi(index int32, flags, change uint32) []byte {
	return ifinfomsg{Index: index, Flags: flags, Change: change}.bytes()
}

func ifa(family, plen uint8, index uint32) []byte {
	return ifaddrmsg{Family: family, PrefixLen: plen, Index: index}.bytes()
}

func rtm(family uint8) []byte { return rtmsg{Family: family}.bytes() }

const (
	dumpFlags = unix.NLM_F_REQUEST | unix.NLM_F_DUMP
	ackFlags  = unix.NLM_F_REQUEST | unix.NLM_F_ACK
)

// errOf returns the error of an NLMSG_ERROR or NLMSG_DONE message.
func errOf(t *testing.T, m nlmsg) unix.Errno {
	t.Helper()
	if m.Type != unix.NLMSG_ERROR && m.Type != unix.NLMSG_DONE {
		t.Fatalf("message of type %d, want NLMSG_ERROR or NLMSG_DONE", m.Type)
	}
	if len(m.payload) < 4 {
		t.Fatalf("error message of %d bytes", len(m.payload))
	}
	return unix.Errno(-int32(ne.Uint32(m.payload)))
}

// wantErr checks that msgs is one NLMSG_ERROR with error e.
func wantErr(t *testing.T, msgs []nlmsg, e unix.Errno) {
	t.Helper()
	if len(msgs) != 1 || msgs[0].Type != unix.NLMSG_ERROR {
		t.Fatalf("got %d messages (%v), want one NLMSG_ERROR", len(msgs), types(msgs))
	}
	if got := errOf(t, msgs[0]); got != e {
		t.Fatalf("error %v (%d), want %v (%d)", got, int(got), e, int(e))
	}
}

func types(msgs []nlmsg) []uint16 {
	var out []uint16
	for _, m := range msgs {
		out = append(out, m.Type)
	}
	return out
}
