package hostinet

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
	"magawa/kernel/waiter"
)

// blocker waits for ch for at most a second, as the system-call layer's
// Blocker does with a deadline.
func blocker(t *testing.T) socket.Blocker {
	return func(ch <-chan struct{}) error {
		select {
		case <-ch:
			return nil
		case <-time.After(5 * time.Second):
			t.Error("a wait was never woken")
			return unix.ETIMEDOUT
		}
	}
}

func loopback4(port uint16) []byte {
	b := make([]byte, sockaddrInSize)
	binary.LittleEndian.PutUint16(b, unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], []byte{127, 0, 0, 1})
	return b
}

func loopback6(port uint16) []byte {
	b := make([]byte, sockaddrIn6Size)
	binary.LittleEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], port)
	b[8+15] = 1
	return b
}

func port(t *testing.T, s *Socket) uint16 {
	t.Helper()
	sa, err := s.SockName()
	if err != nil || len(sa) < 4 {
		t.Fatalf("SockName: %v %x", err, sa)
	}
	return binary.BigEndian.Uint16(sa[2:])
}

func mustNew(t *testing.T, family, typ int) *Socket {
	t.Helper()
	s, err := New(family, typ, 0, Options{})
	if err != nil {
		t.Fatalf("New(%d, %d): %v", family, typ, err)
	}
	t.Cleanup(s.Release)
	return s
}

func TestTCP(t *testing.T) {
	for _, fam := range []struct {
		family int
		addr   func(uint16) []byte
	}{{unix.AF_INET, loopback4}, {unix.AF_INET6, loopback6}} {
		l := mustNew(t, fam.family, unix.SOCK_STREAM)
		if err := l.Bind(nil, fam.addr(0)); err != nil {
			t.Fatalf("Bind: %v", err)
		}
		if err := l.Listen(8); err != nil {
			t.Fatalf("Listen: %v", err)
		}
		if _, err := l.Accept(nil, nil); err != unix.EAGAIN {
			t.Errorf("Accept with nothing pending: %v, want EAGAIN", err)
		}
		// A waiter of the listener hears of the connection.
		e, ch := waiter.NewChannelEntry(waiter.EventIn)
		l.EventRegister(e)
		c := mustNew(t, fam.family, unix.SOCK_STREAM)
		if err := c.Connect(nil, fam.addr(port(t, l)), blocker(t)); err != nil {
			t.Fatalf("Connect: %v", err)
		}
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("the listener's queue was not notified")
		}
		l.EventUnregister(e)
		if r := l.Readiness(waiter.EventIn | waiter.EventOut); r != waiter.EventIn {
			t.Errorf("listener's readiness %#x, want EventIn", r)
		}
		as, err := l.Accept(nil, blocker(t))
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		a := as.(*Socket)
		t.Cleanup(a.Release)
		// A blocking receive waits for data sent later.
		go func() {
			time.Sleep(50 * time.Millisecond)
			c.Send(nil, &socket.Message{Data: []byte("hello")}, 0, nil)
		}()
		r, err := a.Recv(nil, 100, 0, blocker(t))
		if err != nil || string(r.Data) != "hello" {
			t.Fatalf("Recv: %q, %v", r.Data, err)
		}
		if _, err := a.Recv(nil, 100, unix.MSG_DONTWAIT, nil); err != unix.EAGAIN {
			t.Errorf("Recv of nothing: %v, want EAGAIN", err)
		}
		if err := c.Shutdown(unix.SHUT_WR); err != nil {
			t.Fatal(err)
		}
		r, err = a.Recv(nil, 100, 0, blocker(t))
		if err != nil || len(r.Data) != 0 {
			t.Errorf("Recv after the peer's FIN: %q, %v", r.Data, err)
		}
		if v, err := a.GetSockopt(nil, unix.SOL_SOCKET, unix.SO_TYPE, 4); err != nil || binary.LittleEndian.Uint32(v) != unix.SOCK_STREAM {
			t.Errorf("SO_TYPE: %x, %v", v, err)
		}
	}
}

func TestConnectRefused(t *testing.T) {
	l := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	l.Bind(nil, loopback4(0))
	p := port(t, l)
	l.Release() // the port is free and nobody listens
	c, _ := New(unix.AF_INET, unix.SOCK_STREAM, 0, Options{})
	defer c.Release()
	if err := c.Connect(nil, loopback4(p), blocker(t)); err != unix.ECONNREFUSED {
		t.Errorf("Connect: %v, want ECONNREFUSED", err)
	}
}

func TestUDP(t *testing.T) {
	a := mustNew(t, unix.AF_INET6, unix.SOCK_DGRAM)
	b := mustNew(t, unix.AF_INET6, unix.SOCK_DGRAM)
	if err := a.Bind(nil, loopback6(0)); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Send(nil, &socket.Message{Data: []byte("datagram"), To: loopback6(port(t, a))}, 0, blocker(t)); err != nil || n != 8 {
		t.Fatalf("Send: %d, %v", n, err)
	}
	r, err := a.Recv(nil, 4, unix.MSG_TRUNC, blocker(t))
	if err != nil || string(r.Data) != "data" || r.Len != 8 || r.Flags&unix.MSG_TRUNC == 0 {
		t.Fatalf("Recv: %+v, %v", r, err)
	}
	if addrFamily(r.From) != unix.AF_INET6 || binary.BigEndian.Uint16(r.From[2:]) != port(t, b) {
		t.Errorf("sender: %x", r.From)
	}
}

// TestRefusals: what never reaches the host.
func TestRefusals(t *testing.T) {
	s := mustNew(t, unix.AF_INET, unix.SOCK_DGRAM)
	unixAddr := append([]byte{unix.AF_UNIX, 0}, "/tmp/x\x00"...)
	packetAddr := make([]byte, 20)
	binary.LittleEndian.PutUint16(packetAddr, unix.AF_PACKET)
	for name, sa := range map[string][]byte{"nil": nil, "short": {2}, "unix": unixAddr, "packet": packetAddr, "inet6": loopback6(1)} {
		if err := s.Bind(nil, sa); err == nil {
			t.Errorf("Bind(%s) succeeded", name)
		}
		if err := s.Connect(nil, sa, nil); err == nil {
			t.Errorf("Connect(%s) succeeded", name)
		}
		if _, err := s.Send(nil, &socket.Message{Data: []byte("x"), To: sa}, 0, nil); err == nil && sa != nil {
			t.Errorf("Send to %s succeeded", name)
		}
	}
	for _, o := range [][2]int{
		{unix.SOL_SOCKET, unix.SO_ATTACH_FILTER}, {unix.SOL_SOCKET, unix.SO_BINDTODEVICE},
		{unix.SOL_SOCKET, unix.SO_MARK}, {unix.SOL_TCP, unix.TCP_ULP}, {unix.SOL_IP, unix.IP_TRANSPARENT},
		{unix.SOL_PACKET, 1}, {unix.SOL_NETLINK, 1}, {-1, 1},
	} {
		if err := s.SetSockopt(nil, o[0], o[1], make([]byte, 16)); err != unix.ENOPROTOOPT {
			t.Errorf("SetSockopt(%d, %d): %v, want ENOPROTOOPT", o[0], o[1], err)
		}
	}
	if _, err := s.GetSockopt(nil, unix.SOL_TCP, unix.TCP_ZEROCOPY_RECEIVE, 64); err != unix.ENOPROTOOPT {
		t.Errorf("TCP_ZEROCOPY_RECEIVE: %v", err)
	}
	// Descriptors are passed over, as Linux does on an Internet socket:
	// never handed to the host. Other socket-level records are refused.
	rights := unix.UnixRights(0)
	if out, err := checkSendControl(rights); err != nil || len(out) != 0 {
		t.Errorf("SCM_RIGHTS: %x, %v; want nothing for the host", out, err)
	}
	mark := make([]byte, unix.CmsgSpace(4))
	binary.LittleEndian.PutUint64(mark, uint64(unix.CmsgLen(4)))
	binary.LittleEndian.PutUint32(mark[8:], unix.SOL_SOCKET)
	binary.LittleEndian.PutUint32(mark[12:], unix.SO_MARK)
	if _, err := s.Send(nil, &socket.Message{Data: []byte("x"), To: loopback4(9), Control: mark}, 0, nil); err != unix.EINVAL {
		t.Errorf("SO_MARK record: %v, want EINVAL", err)
	}
	if _, err := New(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP, Options{}); err == nil {
		t.Error("a raw socket was made")
	}
	if _, err := New(unix.AF_PACKET, unix.SOCK_DGRAM, 0, Options{}); !errors.Is(err, unix.EAFNOSUPPORT) {
		t.Errorf("AF_PACKET: %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	s := mustNew(t, unix.AF_INET, unix.SOCK_STREAM)
	tv := socket.Timeval(1500 * time.Millisecond)
	if err := s.SetSockopt(nil, unix.SOL_SOCKET, unix.SO_RCVTIMEO, tv); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Timeouts(); r != 1500*time.Millisecond {
		t.Errorf("receive timeout %v", r)
	}
	if v, err := s.GetSockopt(nil, unix.SOL_SOCKET, unix.SO_RCVTIMEO, socket.TimevalSize); err != nil || string(v) != string(tv) {
		t.Errorf("SO_RCVTIMEO: %x, %v", v, err)
	}
}

// TestPrivilegedPort checks that the sandbox, not the host, decides who
// binds a port below ip_unprivileged_port_start: the sandbox process
// may hold CAP_NET_BIND_SERVICE on the host's network, so without the
// check any container process could take port 80.
func TestPrivilegedPort(t *testing.T) {
	start := int32(1024)
	s, err := New(unix.AF_INET, unix.SOCK_STREAM, 0, Options{UnprivilegedPortStart: func() int32 { return start }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	sa := func(port uint16) []byte {
		b := make([]byte, 16)
		b[0] = unix.AF_INET
		b[2], b[3] = byte(port>>8), byte(port)
		b[4] = 127
		b[7] = 1
		return b
	}
	user := &socket.Caller{HasCap: func(int) bool { return false }}
	if err := s.Bind(user, sa(80)); err != unix.EACCES {
		t.Errorf("bind to port 80 without CAP_NET_BIND_SERVICE: %v, want EACCES", err)
	}
	// With the sysctl at 0 (Docker sets it so), anyone may bind port 80;
	// the host then decides (this test may not be root: either answer
	// from the host is fine, but not the sandbox's EACCES).
	start = 0
	if err := s.Bind(user, sa(80)); err == unix.EACCES && os.Geteuid() == 0 {
		t.Errorf("bind to port 80 with ip_unprivileged_port_start 0: %v", err)
	}
}
