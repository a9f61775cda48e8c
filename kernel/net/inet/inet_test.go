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
