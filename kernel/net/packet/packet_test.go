package packet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"magawa/kernel/memfile"
	"magawa/kernel/net/inet"
	"magawa/kernel/socket"
	"magawa/kernel/waiter"
)

// root is a caller with every capability, user one with none.
var (
	root = &socket.Caller{HasCap: func(int) bool { return true }}
	user = &socket.Caller{HasCap: func(int) bool { return false }}
)

// block waits for ch, up to a few seconds: a test that would hang fails.
func block(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("timed out")
	}
}

var (
	ourMAC   = []byte{0x02, 0, 0, 0, 0, 0x02}
	peerMAC  = []byte{0x02, 0, 0, 0, 0, 0x01}
	otherMAC = []byte{0x02, 0, 0, 0, 0, 0x03}
	ourIP    = [4]byte{10, 0, 0, 2}
	peerIP   = [4]byte{10, 0, 0, 1}
)

const (
	eth0     = 2
	eth1     = 3
	testType = 0x88b5 // IEEE's local experimental EtherType
)

// testNet is a stack with lo and two Ethernet interfaces served by
// channel endpoints: eth0 (10.0.0.2/24) and eth1, and a memory file for
// rings.
type testNet struct {
	st         *inet.Stack
	mf         *memfile.File
	eth0, eth1 *channel.Endpoint
}

func newTestNet(t testing.TB) *testNet {
	t.Helper()
	st, err := inet.NewStack()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	mf, err := memfile.New(256 << 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	n := &testNet{st: st, mf: mf, eth0: channel.New(64, 1514, tcpip.LinkAddress(ourMAC)), eth1: channel.New(64, 1514, tcpip.LinkAddress(otherMAC))}
	if err := st.AttachLink(eth0, "eth0", ethernet.New(n.eth0)); err != nil {
		t.Fatal(err)
	}
	if err := st.AttachLink(eth1, "eth1", ethernet.New(n.eth1)); err != nil {
		t.Fatal(err)
	}
	if err := st.AddAddress(eth0, netip.PrefixFrom(netip.AddrFrom4(ourIP), 24)); err != nil {
		t.Fatal(err)
	}
	return n
}

// inject hands ep a frame as if it came from the wire.
func inject(ep *channel.Endpoint, frame []byte) {
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	ep.InjectInbound(0, pkt)
	pkt.DecRef()
}

// sent returns the next frame ep was given to send, or nil.
func sent(ep *channel.Endpoint) []byte {
	pkt := ep.Read()
	if pkt == nil {
		return nil
	}
	defer pkt.DecRef()
	return pkt.ToView().AsSlice()
}

func ether(dst, src []byte, typ uint16, payload []byte) []byte {
	b := make([]byte, 14, 14+len(payload))
	copy(b, dst)
	copy(b[6:], src)
	binary.BigEndian.PutUint16(b[12:], typ)
	return append(b, payload...)
}

// udp4 is an IPv4 UDP datagram with its checksums.
func udp4(src, dst [4]byte, sport, dport uint16, payload []byte) []byte {
	ip := make([]byte, 20+8+len(payload))
	ip[0], ip[8], ip[9] = 0x45, 64, unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], ^uint16(checksum(0, ip[:20])))
	u := ip[20:]
	binary.BigEndian.PutUint16(u, sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	copy(u[8:], payload)
	pseudo := append(append(append([]byte{}, src[:]...), dst[:]...), 0, unix.IPPROTO_UDP, byte(len(u)>>8), byte(len(u)))
	binary.BigEndian.PutUint16(u[6:], ^uint16(checksum(checksum(0, pseudo), u)))
	return ip
}

func checksum(sum uint32, b []byte) uint32 {
	for i := 0; i < len(b); i += 2 {
		v := uint32(b[i]) << 8
		if i+1 < len(b) {
			v |= uint32(b[i+1])
		}
		sum += v
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum
}

// sll is a struct sockaddr_ll for bind and sendto.
func sll(proto uint16, ifindex int32, addr []byte) []byte {
	a := linkAddr{proto: proto, ifindex: ifindex, halen: uint8(len(addr))}
	copy(a.addr[:], addr)
	return a.encode(sockaddrLen)
}

func newSocket(t *testing.T, n *testNet, typ int, proto uint16) *Socket {
	t.Helper()
	s, err := New(n.st, n.mf, typ, int(ntohs(proto)), root)
	if err != nil {
		t.Fatalf("socket(AF_PACKET, %d, %#x): %v", typ, proto, err)
	}
	t.Cleanup(s.Release)
	return s
}

func bind(t *testing.T, s *Socket, proto uint16, ifindex int32) {
	t.Helper()
	if err := s.Bind(root, sll(proto, ifindex, nil)); err != nil {
		t.Fatalf("bind(%#x, %d): %v", proto, ifindex, err)
	}
}

// recv receives one frame without waiting.
func recv(t *testing.T, s *Socket) (socket.Received, linkAddr) {
	t.Helper()
	r, err := s.Recv(root, 65536, unix.MSG_DONTWAIT, nil)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	if len(r.From) != sockaddrLen || family(r.From) != unix.AF_PACKET {
		t.Fatalf("recv's address: %x", r.From)
	}
	return r, parseLinkAddr(r.From)
}

func expectNothing(t *testing.T, s *Socket, what string) {
	t.Helper()
	if r, err := s.Recv(root, 65536, unix.MSG_DONTWAIT, nil); err != unix.EAGAIN {
		t.Errorf("%s: received %x, %v; want EAGAIN", what, r.Data, err)
	}
}

func TestCreate(t *testing.T) {
	n := newTestNet(t)
	for _, c := range []struct {
		name   string
		typ    int
		caller *socket.Caller
		err    error
	}{
		{"raw without CAP_NET_RAW", unix.SOCK_RAW, user, unix.EPERM},
		{"dgram without CAP_NET_RAW", unix.SOCK_DGRAM, user, unix.EPERM},
		{"stream without CAP_NET_RAW", unix.SOCK_STREAM, user, unix.EPERM},
		{"stream", unix.SOCK_STREAM, root, unix.ESOCKTNOSUPPORT},
		{"seqpacket", unix.SOCK_SEQPACKET, root, unix.ESOCKTNOSUPPORT},
		{"SOCK_PACKET", unix.SOCK_PACKET, root, unix.ESOCKTNOSUPPORT},
		{"raw", unix.SOCK_RAW, root, nil},
		{"dgram", unix.SOCK_DGRAM, root, nil},
	} {
		s, err := New(n.st, n.mf, c.typ, int(ntohs(ethPAll)), c.caller)
		if err != c.err {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
		if s != nil {
			s.Release()
		}
	}
	s := newSocket(t, n, unix.SOCK_DGRAM, unix.ETH_P_IP)
	for _, o := range []struct {
		name int
		want int32
	}{{unix.SO_TYPE, unix.SOCK_DGRAM}, {unix.SO_DOMAIN, unix.AF_PACKET}, {unix.SO_PROTOCOL, 0}, {unix.SO_RCVBUF, socket.DefaultBuffer}, {unix.SO_ERROR, 0}} {
		v, err := s.GetSockopt(root, unix.SOL_SOCKET, o.name, 4)
		if err != nil || int32(binary.LittleEndian.Uint32(v)) != o.want {
			t.Errorf("getsockopt(SOL_SOCKET, %d): %x, %v; want %d", o.name, v, err, o.want)
		}
	}
}

// TestReceive injects frames on eth0 and reads them with their
// addresses: whole on a SOCK_RAW socket, from the network header on a
// SOCK_DGRAM one, each frame's packet type from its destination.
func TestReceive(t *testing.T) {
	n := newTestNet(t)
	raw := newSocket(t, n, unix.SOCK_RAW, ethPAll)
	bind(t, raw, 0, eth0)
	// What the stack sends in answer (ICMP, ARP) is not this test's.
	if err := raw.SetSockopt(root, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, []byte{1, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	cooked := newSocket(t, n, unix.SOCK_DGRAM, unix.ETH_P_IP)
	if r := raw.Readiness(waiter.EventIn | waiter.EventOut); r != waiter.EventOut {
		t.Errorf("readiness with nothing queued: %#x, want OUT", r)
	}

	datagram := udp4(peerIP, ourIP, 4000, 5000, []byte("to the sandbox"))
	frame := ether(ourMAC, peerMAC, unix.ETH_P_IP, datagram)
	inject(n.eth0, frame)
	if r := raw.Readiness(waiter.EventIn); r != waiter.EventIn {
		t.Errorf("readiness with a frame queued: %#x, want IN", r)
	}
	// MSG_PEEK leaves the frame; a short buffer cuts it (MSG_TRUNC).
	r, err := raw.Recv(root, 10, unix.MSG_PEEK|unix.MSG_DONTWAIT, nil)
	if err != nil || !bytes.Equal(r.Data, frame[:10]) || r.Len != len(frame) || r.Flags&unix.MSG_TRUNC == 0 {
		t.Errorf("peek of 10 bytes: %x (len %d, flags %#x), %v", r.Data, r.Len, r.Flags, err)
	}
	r, from := recv(t, raw)
	if !bytes.Equal(r.Data, frame) {
		t.Errorf("SOCK_RAW received %x, want the frame %x", r.Data, frame)
	}
	want := linkAddr{ifindex: eth0, proto: unix.ETH_P_IP, hatype: unix.ARPHRD_ETHER, pkttype: unix.PACKET_HOST, halen: 6}
	copy(want.addr[:], peerMAC)
	if from != want {
		t.Errorf("SOCK_RAW's sender: %+v, want %+v", from, want)
	}
	r, from = recv(t, cooked)
	if !bytes.Equal(r.Data, datagram) || from != want {
		t.Errorf("SOCK_DGRAM received %x from %+v, want the datagram from %+v", r.Data, from, want)
	}

	// Another protocol reaches ETH_P_ALL only; broadcast and multicast
	// frames say so.
	inject(n.eth0, ether([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, peerMAC, testType, []byte("broadcast")))
	inject(n.eth0, ether([]byte{0x01, 0x80, 0xc2, 0, 0, 0x0e}, peerMAC, testType, []byte("multicast")))
	for _, want := range []uint8{unix.PACKET_BROADCAST, unix.PACKET_MULTICAST} {
		if _, from := recv(t, raw); from.pkttype != want || from.proto != testType {
			t.Errorf("sender %+v, want packet type %d, protocol %#x", from, want, testType)
		}
	}
	expectNothing(t, cooked, "SOCK_DGRAM of ETH_P_IP, after frames of another protocol")
	// Frames of eth1 do not reach a socket bound to eth0.
	inject(n.eth1, ether(otherMAC, peerMAC, testType, []byte("on eth1")))
	expectNothing(t, raw, "bound to eth0, after a frame on eth1")
	// An unbound socket receives from every interface.
	all := newSocket(t, n, unix.SOCK_RAW, ethPAll)
	all.SetSockopt(root, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, []byte{1, 0, 0, 0})
	inject(n.eth1, ether(otherMAC, peerMAC, testType, []byte("on eth1")))
	if r, from := recv(t, all); string(r.Data[14:]) != "on eth1" || from.ifindex != eth1 {
		t.Errorf("unbound socket: %q from %+v", r.Data, from)
	}
}

// TestBind checks that bind chooses the protocol and the interface, and
// what getsockname says of each binding.
func TestBind(t *testing.T) {
	n := newTestNet(t)
	s := newSocket(t, n, unix.SOCK_DGRAM, 0)
	if name, _ := s.SockName(); len(name) != addrOffset || parseLinkAddr(append(name, make([]byte, 8)...)) != (linkAddr{}) {
		t.Errorf("unbound name: %x, want 12 bytes of AF_PACKET, nothing else", name)
	}
	inject(n.eth0, ether(ourMAC, peerMAC, testType, []byte("before bind")))
	expectNothing(t, s, "protocol 0, unbound")

	for _, c := range []struct {
		name string
		sa   []byte
		err  error
	}{
		{"short", sll(testType, eth0, nil)[:19], unix.EINVAL},
		{"AF_INET", append([]byte{unix.AF_INET, 0}, sll(testType, eth0, nil)[2:]...), unix.EINVAL},
		{"no such interface", sll(testType, 99, nil), unix.ENODEV},
	} {
		if err := s.Bind(root, c.sa); err != c.err {
			t.Errorf("bind %s: %v, want %v", c.name, err, c.err)
		}
	}
	bind(t, s, testType, eth0)
	name, _ := s.SockName()
	want := linkAddr{proto: testType, ifindex: eth0, hatype: unix.ARPHRD_ETHER, halen: 6}
	copy(want.addr[:], ourMAC)
	if len(name) != addrOffset+6 || parseLinkAddr(append(name, 0, 0)) != want {
		t.Errorf("name bound to eth0: %x, want %+v in 18 bytes", name, want)
	}
	inject(n.eth0, ether(ourMAC, peerMAC, testType, []byte("to eth0")))
	inject(n.eth1, ether(otherMAC, peerMAC, testType, []byte("to eth1")))
	inject(n.eth0, ether(ourMAC, peerMAC, testType+1, []byte("other protocol")))
	if r, _ := recv(t, s); string(r.Data) != "to eth0" {
		t.Errorf("bound to eth0: received %q", r.Data)
	}
	expectNothing(t, s, "bound to eth0 and a protocol")

	// Protocol 0 keeps the protocol; ifindex 0 is every interface.
	bind(t, s, 0, 0)
	inject(n.eth1, ether(otherMAC, peerMAC, testType, []byte("to eth1")))
	if r, from := recv(t, s); string(r.Data) != "to eth1" || from.ifindex != eth1 {
		t.Errorf("bound to every interface: received %q from %+v", r.Data, from)
	}
	expectNothing(t, s, "one frame, one receive")

	// lo's name: ARPHRD_LOOPBACK and six zeros.
	bind(t, s, 0, 1)
	name, _ = s.SockName()
	if a := parseLinkAddr(append(name, 0, 0)); len(name) != 18 || a.hatype != unix.ARPHRD_LOOPBACK || a.halen != 6 || a.addr != [8]byte{} {
		t.Errorf("name bound to lo: %x", name)
	}
}

// TestSend sends raw and cooked frames on eth0 and checks what leaves,
// what other packet sockets see of it, and that the sender sees nothing.
func TestSend(t *testing.T) {
	n := newTestNet(t)
	tap := newSocket(t, n, unix.SOCK_RAW, ethPAll)
	bind(t, tap, 0, eth0)

	raw := newSocket(t, n, unix.SOCK_RAW, ethPAll)
	bind(t, raw, 0, eth0)
	frame := ether(peerMAC, ourMAC, testType, []byte("a raw frame"))
	if k, err := raw.Send(root, &socket.Message{Data: frame, To: sll(0, eth0, nil)}, 0, nil); err != nil || k != len(frame) {
		t.Fatalf("raw send: %d, %v", k, err)
	}
	if got := sent(n.eth0); !bytes.Equal(got, frame) {
		t.Errorf("eth0 sent %x, want %x", got, frame)
	}
	r, from := recv(t, tap)
	if !bytes.Equal(r.Data, frame) || from.pkttype != unix.PACKET_OUTGOING || from.proto != testType || !bytes.Equal(from.addr[:6], ourMAC) {
		t.Errorf("another socket saw %x from %+v, want the frame, outgoing from our address", r.Data, from)
	}
	expectNothing(t, raw, "the sender of a frame")

	cooked := newSocket(t, n, unix.SOCK_DGRAM, testType)
	if _, err := cooked.Send(root, &socket.Message{Data: []byte("cooked"), To: sll(testType, eth0, peerMAC)}, 0, nil); err != nil {
		t.Fatalf("cooked send: %v", err)
	}
	if got, want := sent(n.eth0), ether(peerMAC, ourMAC, testType, []byte("cooked")); !bytes.Equal(got, want) {
		t.Errorf("eth0 sent %x, want %x", got, want)
	}
	// A socket bound to a protocol does not see outgoing frames.
	expectNothing(t, cooked, "a SOCK_DGRAM socket of the protocol, after a send")
	if r, _ := recv(t, tap); !bytes.Equal(r.Data[14:], []byte("cooked")) {
		t.Errorf("ETH_P_ALL saw %x", r.Data)
	}

	// A bound socket sends without an address, to its interface.
	bind(t, raw, testType, eth0)
	if _, err := raw.Send(root, &socket.Message{Data: frame}, 0, nil); err != nil {
		t.Errorf("raw send by a bound socket: %v", err)
	}
	if got := sent(n.eth0); !bytes.Equal(got, frame) {
		t.Errorf("eth0 sent %x", got)
	}
	// PACKET_IGNORE_OUTGOING keeps them away.
	if err := tap.SetSockopt(root, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, []byte{1, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	recv(t, tap) // the bound socket's frame, before the option
	raw.Send(root, &socket.Message{Data: frame}, 0, nil)
	sent(n.eth0)
	expectNothing(t, tap, "PACKET_IGNORE_OUTGOING")

	unbound := newSocket(t, n, unix.SOCK_RAW, 0)
	for _, c := range []struct {
		name string
		s    *Socket
		m    socket.Message
		err  error
	}{
		{"no address, unbound", unbound, socket.Message{Data: frame}, unix.ENXIO},
		{"short address", unbound, socket.Message{Data: frame, To: sll(0, eth0, nil)[:18]}, unix.EINVAL},
		{"halen past the address", unbound, socket.Message{Data: frame, To: append(sll(0, eth0, nil)[:11], 9, 0, 0, 0, 0, 0, 0, 0, 0)}, unix.EINVAL},
		{"no such interface", unbound, socket.Message{Data: frame, To: sll(0, 99, nil)}, unix.ENXIO},
		{"frame shorter than its header", unbound, socket.Message{Data: frame[:13], To: sll(0, eth0, nil)}, unix.EINVAL},
		{"frame past the MTU", unbound, socket.Message{Data: make([]byte, 1515), To: sll(0, eth0, nil)}, unix.EMSGSIZE},
		{"cooked past the MTU", cooked, socket.Message{Data: make([]byte, 1501), To: sll(testType, eth0, peerMAC)}, unix.EMSGSIZE},
		{"cooked without a destination", cooked, socket.Message{Data: []byte("x")}, unix.ENXIO},
	} {
		if _, err := c.s.Send(root, &c.m, 0, nil); err != c.err {
			t.Errorf("send, %s: %v, want %v", c.name, err, c.err)
		}
	}
	if got := sent(n.eth0); got != nil {
		t.Errorf("a failed send sent %x", got)
	}
	// The largest frames go: the MTU's, and four bytes more with an
	// 802.1Q tag.
	vlan := ether(peerMAC, ourMAC, ethP8021Q, make([]byte, 1504))
	for _, f := range [][]byte{ether(peerMAC, ourMAC, testType, make([]byte, 1500)), vlan} {
		if _, err := unbound.Send(root, &socket.Message{Data: f, To: sll(0, eth0, nil)}, 0, nil); err != nil {
			t.Errorf("send of %d bytes: %v", len(f), err)
		}
		if got := sent(n.eth0); len(got) != len(f) {
			t.Errorf("eth0 sent %d bytes, want %d", len(got), len(f))
		}
	}
	// A bound SOCK_DGRAM socket on Ethernet has no destination address.
	bind(t, cooked, 0, eth0)
	if _, err := cooked.Send(root, &socket.Message{Data: []byte("x")}, 0, nil); err != unix.EINVAL {
		t.Errorf("cooked send without an address: %v, want EINVAL", err)
	}
	if err := n.st.SetInterfaceUp(eth0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := unbound.Send(root, &socket.Message{Data: frame, To: sll(0, eth0, nil)}, 0, nil); err != unix.ENETDOWN {
		t.Errorf("send on a down interface: %v, want ENETDOWN", err)
	}
}

// TestLoopback: the sandbox's own traffic crosses lo, where an ETH_P_ALL
// socket sees each packet leave and arrive, with Linux's header of
// zeros; frames written on lo come back in.
func TestLoopback(t *testing.T) {
	n := newTestNet(t)
	s := newSocket(t, n, unix.SOCK_RAW, ethPAll)
	bind(t, s, 0, 1)
	if err := s.SetSockopt(root, unix.SOL_PACKET, unix.PACKET_AUXDATA, []byte{1, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	u, err := inet.New(n.st, unix.AF_INET, unix.SOCK_DGRAM, 0, root, false)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	rcv, _ := inet.New(n.st, unix.AF_INET, unix.SOCK_DGRAM, 0, root, false)
	defer rcv.Release()
	// To eth0's address: Linux and netstack both send it through lo.
	to := []byte{unix.AF_INET, 0, 0x13, 0x88, ourIP[0], ourIP[1], ourIP[2], ourIP[3], 0, 0, 0, 0, 0, 0, 0, 0}
	if err := rcv.Bind(root, to); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Send(root, &socket.Message{Data: []byte("over lo"), To: to}, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rcv.Recv(root, 100, 0, block); err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint8{unix.PACKET_OUTGOING, unix.PACKET_HOST} {
		r, from := recv(t, s)
		if from.pkttype != want || from.hatype != unix.ARPHRD_LOOPBACK || from.proto != unix.ETH_P_IP || from.halen != 6 || from.addr != [8]byte{} || from.ifindex != 1 {
			t.Errorf("sender %+v, want packet type %d on lo", from, want)
		}
		if len(r.Data) != 14+20+8+7 || !bytes.Equal(r.Data[:14], []byte{12: 8, 13: 0}) || !bytes.HasSuffix(r.Data, []byte("over lo")) {
			t.Errorf("frame %x, want a header of zeros and the datagram", r.Data)
		}
		if len(r.Control) != 40 || binary.LittleEndian.Uint32(r.Control[16:]) != unix.TP_STATUS_USER|unix.TP_STATUS_CSUMNOTREADY || binary.LittleEndian.Uint16(r.Control[30:]) != 14 {
			t.Errorf("PACKET_AUXDATA %x", r.Control)
		}
	}
	expectNothing(t, s, "after the datagram's two passes")
	if got := sent(n.eth0); got != nil {
		t.Errorf("traffic to our own address left by eth0: %x", got)
	}

	// A frame written on lo: its header is Linux's of zeros; SOCK_DGRAM
	// sockets of its protocol receive it without.
	cooked := newSocket(t, n, unix.SOCK_DGRAM, testType)
	frame := ether(make([]byte, 6), make([]byte, 6), testType, []byte("written on lo"))
	if _, err := newSocket(t, n, unix.SOCK_RAW, 0).Send(root, &socket.Message{Data: frame, To: sll(0, 1, nil)}, 0, nil); err != nil {
		t.Fatal(err)
	}
	if r, from := recv(t, cooked); string(r.Data) != "written on lo" || from.pkttype != unix.PACKET_HOST {
		t.Errorf("SOCK_DGRAM on lo: %q from %+v", r.Data, from)
	}
	for _, want := range []uint8{unix.PACKET_OUTGOING, unix.PACKET_HOST} {
		if r, from := recv(t, s); !bytes.Equal(r.Data, frame) || from.pkttype != want {
			t.Errorf("ETH_P_ALL on lo: %x from %+v", r.Data, from)
		}
	}
	// A SOCK_DGRAM send on lo needs no destination.
	bind(t, cooked, 0, 1)
	if _, err := cooked.Send(root, &socket.Message{Data: []byte("again")}, 0, nil); err != nil {
		t.Errorf("SOCK_DGRAM send on lo without an address: %v", err)
	}
	if r, _ := recv(t, cooked); string(r.Data) != "again" {
		t.Errorf("SOCK_DGRAM on lo: %q", r.Data)
	}
}

// TestFilterAndStatistics attaches a filter, checks that it chooses and
// cuts frames, and that PACKET_STATISTICS counts them and the drops.
func TestFilterAndStatistics(t *testing.T) {
	n := newTestNet(t)
	s := newSocket(t, n, unix.SOCK_RAW, ethPAll)
	bind(t, s, 0, eth0)
	s.SetSockopt(root, unix.SOL_PACKET, unix.PACKET_AUXDATA, []byte{1, 0, 0, 0})
	// UDP to port 5000 over IPv4, the first 20 bytes; nothing else.
	prog := filterBytes(
		insn{code: ldH | unix.BPF_ABS, k: 12},
		insn{code: jmp | unix.BPF_JEQ | modeK, k: unix.ETH_P_IP, jf: 5},
		insn{code: ldB | unix.BPF_ABS, k: 23},
		insn{code: jmp | unix.BPF_JEQ | modeK, k: unix.IPPROTO_UDP, jf: 3},
		insn{code: ldxB | unix.BPF_MSH, k: 14},
		insn{code: ldH | unix.BPF_IND, k: 16},
		insn{code: jmp | unix.BPF_JEQ | modeK, k: 5000, jt: 1},
		insn{code: ret | modeK, k: 0},
		insn{code: ret | modeK, k: 20},
	)
	if err := s.SetSockopt(root, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, prog); err != nil {
		t.Fatalf("SO_ATTACH_FILTER: %v", err)
	}
	if got, err := s.GetSockopt(root, unix.SOL_SOCKET, unix.SO_GET_FILTER, 0); err != nil || !bytes.Equal(got, prog) {
		t.Errorf("SO_GET_FILTER: %x, %v", got, err)
	}
	wanted := ether(ourMAC, peerMAC, unix.ETH_P_IP, udp4(peerIP, ourIP, 1, 5000, []byte("wanted")))
	inject(n.eth0, ether(ourMAC, peerMAC, unix.ETH_P_IP, udp4(peerIP, ourIP, 1, 5001, []byte("other port"))))
	inject(n.eth0, ether(ourMAC, peerMAC, testType, []byte("other protocol")))
	inject(n.eth0, wanted)
	r, _ := recv(t, s)
	if !bytes.Equal(r.Data, wanted[:20]) || r.Flags&unix.MSG_TRUNC != 0 {
		t.Errorf("filtered: %x (flags %#x), want the first 20 bytes of %x", r.Data, r.Flags, wanted)
	}
	if aux := r.Control; len(aux) != 40 || binary.LittleEndian.Uint32(aux[20:]) != uint32(len(wanted)) || binary.LittleEndian.Uint32(aux[24:]) != 20 {
		t.Errorf("PACKET_AUXDATA of a cut frame: %x, want tp_len %d, tp_snaplen 20", aux, len(wanted))
	}
	expectNothing(t, s, "frames the filter refuses")
	if err := s.SetSockopt(root, unix.SOL_SOCKET, unix.SO_LOCK_FILTER, []byte{1, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSockopt(root, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, nil); err != unix.EPERM {
		t.Errorf("SO_DETACH_FILTER of a locked filter: %v, want EPERM", err)
	}

	// Statistics: one frame queued so far; with the least receive
	// buffer, two large frames fit (room is checked before a frame is
	// queued, as Linux does) and a third is dropped.
	stats := func() (uint32, uint32) {
		b, err := s.GetSockopt(root, unix.SOL_PACKET, unix.PACKET_STATISTICS, 8)
		if err != nil || len(b) != 8 {
			t.Fatalf("PACKET_STATISTICS: %x, %v", b, err)
		}
		return binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
	}
	if p, d := stats(); p != 1 || d != 0 {
		t.Errorf("statistics: %d packets, %d drops; want 1, 0", p, d)
	}
	if p, d := stats(); p != 0 || d != 0 {
		t.Errorf("statistics read twice: %d, %d; want them cleared", p, d)
	}
	s.SetSockopt(root, unix.SOL_SOCKET, unix.SO_RCVBUF, []byte{0, 0, 0, 0})
	if v, _ := s.GetSockopt(root, unix.SOL_SOCKET, unix.SO_RCVBUF, 4); binary.LittleEndian.Uint32(v) != socket.MinRcvbuf {
		t.Errorf("SO_RCVBUF 0 reads %d, want %d", binary.LittleEndian.Uint32(v), socket.MinRcvbuf)
	}
	big := ether(ourMAC, peerMAC, unix.ETH_P_IP, udp4(peerIP, ourIP, 1, 5000, make([]byte, 1400)))
	for range 3 {
		inject(n.eth0, big)
	}
	if p, d := stats(); p != 3 || d != 1 {
		t.Errorf("statistics: %d packets, %d drops; want 3, 1", p, d)
	}
	recv(t, s)
	recv(t, s)
	expectNothing(t, s, "the dropped frame")
}

// TestOptions covers the options' checks and the ones not served.
func TestOptions(t *testing.T) {
	n := newTestNet(t)
	s := newSocket(t, n, unix.SOCK_RAW, ethPAll)
	mreq := func(ifindex int32, typ, alen uint16, addr ...byte) []byte {
		b := make([]byte, packetMreqLen)
		binary.LittleEndian.PutUint32(b, uint32(ifindex))
		binary.LittleEndian.PutUint16(b[4:], typ)
		binary.LittleEndian.PutUint16(b[6:], alen)
		copy(b[8:], addr)
		return b
	}
	for _, c := range []struct {
		name         string
		level, name2 int
		val          []byte
		err          error
	}{
		{"PACKET_TX_RING", unix.SOL_PACKET, unix.PACKET_TX_RING, make([]byte, 16), unix.ENOPROTOOPT},
		{"PACKET_VNET_HDR", unix.SOL_PACKET, unix.PACKET_VNET_HDR, []byte{1, 0, 0, 0}, unix.ENOPROTOOPT},
		{"PACKET_FANOUT", unix.SOL_PACKET, unix.PACKET_FANOUT, []byte{1, 0, 0, 0}, unix.ENOPROTOOPT},
		{"SO_TIMESTAMP", unix.SOL_SOCKET, unix.SO_TIMESTAMP, []byte{1, 0, 0, 0}, unix.ENOPROTOOPT},
		{"SOL_IP", unix.SOL_IP, unix.IP_TTL, []byte{1, 0, 0, 0}, unix.ENOPROTOOPT},
		{"PACKET_AUXDATA short", unix.SOL_PACKET, unix.PACKET_AUXDATA, []byte{1, 0}, unix.EINVAL},
		{"PACKET_IGNORE_OUTGOING 2", unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, []byte{2, 0, 0, 0}, unix.EINVAL},
		{"membership short", unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq(eth0, unix.PACKET_MR_MULTICAST, 6)[:15], unix.EINVAL},
		{"membership of no interface", unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq(99, unix.PACKET_MR_ALLMULTI, 0), unix.ENODEV},
		{"multicast, 3 bytes", unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq(eth0, unix.PACKET_MR_MULTICAST, 3, 1, 0, 0), unix.EINVAL},
		{"multicast, 9 bytes", unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, append(mreq(eth0, unix.PACKET_MR_MULTICAST, 9), 0), unix.EINVAL},
		{"multicast", unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq(eth0, unix.PACKET_MR_MULTICAST, 6, 1, 0x80, 0xc2, 0, 0, 0x0e), nil},
		{"all multicast", unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq(eth0, unix.PACKET_MR_ALLMULTI, 0), nil},
		{"promiscuous", unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq(eth0, unix.PACKET_MR_PROMISC, 0), unix.EOPNOTSUPP},
		{"promiscuous on lo", unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq(1, unix.PACKET_MR_PROMISC, 0), nil},
		{"another unicast address", unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq(eth0, unix.PACKET_MR_UNICAST, 6, 2, 0, 0, 0, 0, 9), unix.EOPNOTSUPP},
		{"drop of none", unix.SOL_PACKET, unix.PACKET_DROP_MEMBERSHIP, mreq(eth0, unix.PACKET_MR_PROMISC, 0), nil},
		{"SO_ATTACH_FILTER of nothing", unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, nil, unix.EINVAL},
		{"SO_DETACH_FILTER of none", unix.SOL_SOCKET, unix.SO_DETACH_FILTER, nil, unix.ENOENT},
		{"SO_RCVBUFFORCE", unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, []byte{0, 0, 1, 0}, nil},
		{"SO_MARK", unix.SOL_SOCKET, unix.SO_MARK, []byte{7, 0, 0, 0}, nil},
	} {
		if err := s.SetSockopt(root, c.level, c.name2, c.val); err != c.err {
			t.Errorf("setsockopt %s: %v, want %v", c.name, err, c.err)
		}
	}
	if err := s.SetSockopt(user, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, []byte{0, 0, 1, 0}); err != unix.EPERM {
		t.Errorf("SO_RCVBUFFORCE without CAP_NET_ADMIN: %v, want EPERM", err)
	}
	if v, err := s.GetSockopt(root, unix.SOL_SOCKET, unix.SO_RCVBUF, 4); err != nil || binary.LittleEndian.Uint32(v) != 2<<16 {
		t.Errorf("SO_RCVBUF after SO_RCVBUFFORCE 64 KiB: %x, %v", v, err)
	}
	if _, err := s.GetSockopt(root, unix.SOL_PACKET, unix.PACKET_AUXDATA, 2); err != unix.EINVAL {
		t.Errorf("getsockopt PACKET_AUXDATA in 2 bytes: %v, want EINVAL", err)
	}
	if _, err := s.GetSockopt(root, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 4); err != unix.ENOPROTOOPT {
		t.Errorf("getsockopt PACKET_VNET_HDR: %v, want ENOPROTOOPT", err)
	}
	// Receive flags Linux refuses.
	for _, f := range []int{unix.MSG_WAITALL, unix.MSG_OOB, unix.MSG_CMSG_CLOEXEC} {
		if _, err := s.Recv(root, 10, f|unix.MSG_DONTWAIT, nil); err != unix.EINVAL {
			t.Errorf("recv with flag %#x: %v, want EINVAL", f, err)
		}
	}
	if _, err := s.Recv(root, 10, unix.MSG_ERRQUEUE, nil); err != unix.EAGAIN {
		t.Errorf("recv of the error queue: %v, want EAGAIN", err)
	}
	for _, err := range []error{s.Listen(1), s.Connect(root, sll(0, eth0, nil), nil), s.Shutdown(unix.SHUT_RD)} {
		if err != unix.EOPNOTSUPP {
			t.Errorf("a connection call: %v, want EOPNOTSUPP", err)
		}
	}
}

// TestControlAndIoctl: a send's ancillary data, and SIOCINQ.
func TestControlAndIoctl(t *testing.T) {
	n := newTestNet(t)
	s := newSocket(t, n, unix.SOCK_DGRAM, testType)
	cmsg := func(level, typ int32, data ...byte) []byte {
		b := make([]byte, 16, 24)
		binary.LittleEndian.PutUint64(b, uint64(16+len(data)))
		binary.LittleEndian.PutUint32(b[8:], uint32(level))
		binary.LittleEndian.PutUint32(b[12:], uint32(typ))
		return append(b, append(data, make([]byte, (8-len(data)%8)%8)...)...)
	}
	to := sll(testType, eth0, peerMAC)
	for _, c := range []struct {
		name   string
		caller *socket.Caller
		ctl    []byte
		err    error
	}{
		{"SO_MARK", root, cmsg(unix.SOL_SOCKET, unix.SO_MARK, 1, 0, 0, 0), nil},
		{"SO_MARK without CAP_NET_RAW", user, cmsg(unix.SOL_SOCKET, unix.SO_MARK, 1, 0, 0, 0), unix.EPERM},
		{"another level's record", user, cmsg(unix.SOL_IP, unix.IP_TTL, 1, 0, 0, 0), nil},
		{"an unknown SOL_SOCKET record", root, cmsg(unix.SOL_SOCKET, 99), unix.EINVAL},
		{"a record past the buffer", root, cmsg(unix.SOL_SOCKET, unix.SO_MARK, 1, 0, 0, 0)[:18], unix.EINVAL},
	} {
		if _, err := s.Send(c.caller, &socket.Message{Data: []byte("x"), To: to, Control: c.ctl}, 0, nil); err != c.err {
			t.Errorf("send with %s: %v, want %v", c.name, err, c.err)
		}
		sent(n.eth0)
	}

	io := &fakeIO{}
	inject(n.eth0, ether(ourMAC, peerMAC, testType, []byte("twelve bytes")))
	if _, err := s.Ioctl(io, unix.SIOCINQ, 0); err != nil || binary.LittleEndian.Uint32(io.out) != 12 {
		t.Errorf("SIOCINQ: %x, %v; want 12", io.out, err)
	}
	if _, err := s.Ioctl(io, unix.SIOCOUTQ, 0); err != nil || binary.LittleEndian.Uint32(io.out) != 0 {
		t.Errorf("SIOCOUTQ: %x, %v; want 0", io.out, err)
	}
	if _, err := s.Ioctl(io, unix.SIOCGIFINDEX, 0); err != unix.ENOTTY {
		t.Errorf("SIOCGIFINDEX: %v, want ENOTTY (the system-call layer answers it)", err)
	}
}

// fakeIO keeps what an ioctl copies out.
type fakeIO struct{ out []byte }

func (f *fakeIO) CopyIn(addr uintptr, dst []byte) (int, error) { return 0, unix.EFAULT }

func (f *fakeIO) CopyOut(addr uintptr, src []byte) (int, error) {
	f.out = append([]byte(nil), src...)
	return len(src), nil
}

// TestBlockingReceive waits for a frame injected a moment later.
func TestBlockingReceive(t *testing.T) {
	n := newTestNet(t)
	s := newSocket(t, n, unix.SOCK_DGRAM, testType)
	go func() {
		time.Sleep(20 * time.Millisecond)
		inject(n.eth0, ether(ourMAC, peerMAC, testType, []byte("later")))
	}()
	r, err := s.Recv(root, 100, 0, block)
	if err != nil || string(r.Data) != "later" {
		t.Errorf("blocking receive: %q, %v", r.Data, err)
	}
}

// filterBytes encodes instructions as struct sock_filter records.
func filterBytes(insns ...insn) []byte {
	b := make([]byte, 0, len(insns)*sockFilterLen)
	for _, in := range insns {
		b = binary.LittleEndian.AppendUint16(b, in.code)
		b = append(b, in.jt, in.jf)
		b = binary.LittleEndian.AppendUint32(b, in.k)
	}
	return b
}

// FuzzSocketInput: no address, option value or ancillary data a
// container passes makes a socket panic.
func FuzzSocketInput(f *testing.F) {
	f.Add(sll(testType, eth0, peerMAC), []byte("data"), []byte{}, uint16(unix.SOL_PACKET), uint8(unix.PACKET_ADD_MEMBERSHIP), make([]byte, 16))
	f.Add(sll(0, 1, nil), ether(ourMAC, peerMAC, testType, nil), []byte{}, uint16(unix.SOL_SOCKET), uint8(unix.SO_ATTACH_FILTER), filterBytes(insn{code: ret | modeK, k: 1}))
	n := newTestNet(f)
	raw, _ := New(n.st, n.mf, unix.SOCK_RAW, int(ntohs(ethPAll)), root)
	cooked, _ := New(n.st, n.mf, unix.SOCK_DGRAM, int(ntohs(ethPAll)), root)
	f.Cleanup(raw.Release)
	f.Cleanup(cooked.Release)
	f.Fuzz(func(t *testing.T, sa, data, ctl []byte, level uint16, name uint8, val []byte) {
		for _, s := range []*Socket{raw, cooked} {
			s.SetSockopt(root, int(level), int(name), val)
			s.GetSockopt(root, int(level), int(name), len(val))
			s.Send(root, &socket.Message{Data: data, To: sa, Control: ctl}, 0, nil)
			s.Bind(root, sa)
			s.Recv(root, len(data), unix.MSG_DONTWAIT, nil)
			n.eth0.Drain()
			n.eth1.Drain()
		}
	})
}
