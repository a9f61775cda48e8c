package inet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"

	"magawa/kernel/socket"
	"magawa/kernel/waiter"
)

// root is a caller with every capability.
var root = &socket.Caller{HasCap: func(int) bool { return true }}

// block waits for ch, up to a few seconds: a test that would hang fails.
func block(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("timed out")
	}
}

func sockaddr4(ip [4]byte, port uint16) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b, unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], ip[:])
	return b
}

func newStack(t *testing.T) *Stack {
	t.Helper()
	st, err := NewStack()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func TestLoopbackInterface(t *testing.T) {
	st := newStack(t)
	ifs := st.Interfaces()
	if len(ifs) != 1 || ifs[0].Name != "lo" || ifs[0].Index != 1 || ifs[0].MTU != 65536 {
		t.Fatalf("interfaces: %+v", ifs)
	}
	if want := uint32(unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING | unix.IFF_LOWER_UP); ifs[0].Flags != want {
		t.Errorf("lo's flags %#x, want %#x", ifs[0].Flags, want)
	}
	got := st.InterfaceAddresses()
	want := []InterfaceAddress{{1, netip.MustParsePrefix("127.0.0.1/8")}, {1, netip.MustParsePrefix("::1/128")}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("addresses %v, want %v (no limited broadcast address)", got, want)
	}
}

func TestAddressParsing(t *testing.T) {
	for _, c := range []struct {
		name   string
		family int
		sa     []byte
		err    error
	}{
		{"short", unix.AF_INET, []byte{2}, unix.EINVAL},
		{"AF_INET too short", unix.AF_INET, sockaddr4([4]byte{127, 0, 0, 1}, 80)[:8], unix.EINVAL},
		{"AF_INET", unix.AF_INET, sockaddr4([4]byte{127, 0, 0, 1}, 80), nil},
		{"AF_INET6 on AF_INET", unix.AF_INET, append([]byte{10, 0}, make([]byte, 26)...), unix.EAFNOSUPPORT},
		{"AF_UNIX", unix.AF_INET, append([]byte{1, 0}, make([]byte, 14)...), unix.EAFNOSUPPORT},
	} {
		if _, _, err := parseAddress(c.family, c.sa); err != c.err {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	a, _, _ := parseAddress(unix.AF_INET, sockaddr4([4]byte{10, 1, 2, 3}, 8080))
	if got := sockaddr(unix.AF_INET, a); !bytes.Equal(got, sockaddr4([4]byte{10, 1, 2, 3}, 8080)) {
		t.Errorf("round trip: %x", got)
	}
	// An IPv4 peer of a dual-stack socket reads back IPv4-mapped.
	b := sockaddr(unix.AF_INET6, tcpip.FullAddress{Addr: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: 1})
	if len(b) != 28 || !bytes.Equal(b[8:24], []byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}) {
		t.Errorf("v4-mapped: %x", b)
	}
}

func TestErrnoIsNeverSuccess(t *testing.T) {
	if Errno(&tcpip.ErrWouldBlock{}) != unix.EAGAIN || Errno(&tcpip.ErrConnectionRefused{}) != unix.ECONNREFUSED {
		t.Error("basic mapping")
	}
	if Errno(&tcpip.ErrEndpointBusy{}) == 0 {
		t.Error("an error maps to success")
	}
}

// TestTCPThroughSockets connects, sends and receives through the
// Socket API as the system-call layer drives it, and checks the poll
// bits of a half-closed connection.
func TestTCPThroughSockets(t *testing.T) {
	st := newStack(t)
	l, err := New(st, unix.AF_INET, unix.SOCK_STREAM, 0, root, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := l.Bind(root, sockaddr4([4]byte{127, 0, 0, 1}, 0)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(1); err != nil {
		t.Fatal(err)
	}
	name, _ := l.SockName()
	c, _ := New(st, unix.AF_INET, unix.SOCK_STREAM, 0, root, false)
	defer c.Release()
	if err := c.Connect(root, name, block); err != nil {
		t.Fatalf("connect: %v", err)
	}
	if err := c.Connect(root, name, block); err != unix.EISCONN {
		t.Errorf("second connect: %v, want EISCONN", err)
	}
	a, err := l.Accept(root, block)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	data := bytes.Repeat([]byte("magawa"), 100000)
	done := make(chan error, 1)
	go func() {
		_, err := c.Send(root, &socket.Message{Data: data}, 0, block)
		if err == nil {
			err = c.Shutdown(unix.SHUT_WR)
		}
		done <- err
	}()
	var got []byte
	for {
		r, err := a.Recv(root, 1<<16, 0, block)
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		if len(r.Data) == 0 {
			break
		}
		got = append(got, r.Data...)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, sent %d", len(got), len(data))
	}
	if r := a.Readiness(waiter.EventIn | waiter.EventOut | waiter.EventRdHUp | waiter.EventHUp | waiter.EventErr); r != waiter.EventIn|waiter.EventOut|waiter.EventRdHUp {
		t.Errorf("after the peer's FIN: readiness %#x, want IN|OUT|RDHUP", r)
	}
	if _, err := New(st, unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP, &socket.Caller{HasCap: func(int) bool { return false }}, false); err != unix.EPERM {
		t.Errorf("raw socket without CAP_NET_RAW: %v, want EPERM", err)
	}
}

// TestMulticastLoopback joins a group on lo and receives what another
// socket sends to it there (IP_MULTICAST_IF, the default loopback of
// multicast), and nothing once it left the group.
func TestMulticastLoopback(t *testing.T) {
	st := newStack(t)
	r, _ := New(st, unix.AF_INET, unix.SOCK_DGRAM, 0, root, false)
	defer r.Release()
	if err := r.Bind(root, sockaddr4([4]byte{}, 0)); err != nil {
		t.Fatal(err)
	}
	name, _ := r.SockName()
	port := binary.BigEndian.Uint16(name[2:])
	group := [4]byte{239, 1, 2, 3}
	mreqn := append(append(group[:], 127, 0, 0, 1), 1, 0, 0, 0) // ip_mreqn on lo
	if err := r.SetSockopt(root, unix.SOL_IP, unix.IP_ADD_MEMBERSHIP, mreqn); err != nil {
		t.Fatalf("IP_ADD_MEMBERSHIP: %v", err)
	}
	w, _ := New(st, unix.AF_INET, unix.SOCK_DGRAM, 0, root, false)
	defer w.Release()
	if err := w.SetSockopt(root, unix.SOL_IP, unix.IP_MULTICAST_IF, []byte{127, 0, 0, 1}); err != nil {
		t.Fatalf("IP_MULTICAST_IF: %v", err)
	}
	if got, err := w.GetSockopt(root, unix.SOL_IP, unix.IP_MULTICAST_IF, 4); err != nil || !bytes.Equal(got, []byte{127, 0, 0, 1}) {
		t.Errorf("IP_MULTICAST_IF reads back %v, %v", got, err)
	}
	if _, err := w.Send(root, &socket.Message{Data: []byte("to the group"), To: sockaddr4(group, port)}, 0, block); err != nil {
		t.Fatalf("send to the group: %v", err)
	}
	got, err := r.Recv(root, 64, 0, block)
	if err != nil || string(got.Data) != "to the group" {
		t.Fatalf("the member received %q, %v", got.Data, err)
	}
	if err := r.SetSockopt(root, unix.SOL_IP, unix.IP_DROP_MEMBERSHIP, mreqn); err != nil {
		t.Fatalf("IP_DROP_MEMBERSHIP: %v", err)
	}
	// What comes next is the unicast marker sent after the group's
	// datagram, not that datagram.
	w.Send(root, &socket.Message{Data: []byte("again"), To: sockaddr4(group, port)}, 0, block)
	w.Send(root, &socket.Message{Data: []byte("marker"), To: sockaddr4([4]byte{127, 0, 0, 1}, port)}, 0, block)
	if got, err := r.Recv(root, 64, 0, block); err != nil || string(got.Data) != "marker" {
		t.Errorf("after leaving the group: %q, %v; want the marker", got.Data, err)
	}
}
