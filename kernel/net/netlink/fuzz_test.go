package netlink

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
)

// What a container sends must never panic the kernel, nor make it
// answer with anything but whole, well-formed messages. serveAndCheck
// sends data on a new socket with the options opts selects and checks
// every datagram that comes back.
func serveAndCheck(t *testing.T, data []byte, opts uint8, c *socket.Caller) {
	st := newFakeStack()
	st.addEth(2, "eth0")
	s, err := New(st, unix.SOCK_DGRAM, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	for i, o := range []struct{ level, name int }{
		{unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK}, {unix.SOL_NETLINK, unix.NETLINK_EXT_ACK},
		{unix.SOL_NETLINK, unix.NETLINK_CAP_ACK}, {unix.SOL_NETLINK, unix.NETLINK_PKTINFO},
		{unix.SOL_SOCKET, unix.SO_PASSCRED}, {unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS},
	} {
		if opts&(1<<i) != 0 {
			s.SetSockopt(c, o.level, o.name, socket.Int(1))
		}
	}
	if opts&0x40 != 0 {
		s.SetSockopt(c, unix.SOL_SOCKET, unix.SO_RCVBUF, socket.Int(0))
	}
	// Twice: the second send finds the first's answers (and dump).
	for range 2 {
		s.Send(c, &socket.Message{Data: data}, 0, nil)
	}
	for i := 0; ; i++ {
		size := []int{0, 7, 4096, 32768}[i%4]
		if r, err := s.Recv(c, size, unix.MSG_PEEK|unix.MSG_DONTWAIT, nil); err == nil && r.Len < len(r.Data) {
			t.Fatalf("peek: %d bytes of a %d-byte datagram", len(r.Data), r.Len)
		}
		r, err := s.Recv(c, 1<<20, unix.MSG_DONTWAIT, nil)
		if err == unix.EAGAIN {
			return
		}
		if err == unix.ENOBUFS {
			continue
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		for _, m := range parseMsgs(t, r.Data) {
			if m.PID != 100 && m.PID != 200 {
				t.Fatalf("answer to port %d", m.PID)
			}
			switch m.Type {
			case unix.NLMSG_ERROR, unix.NLMSG_DONE:
				errOf(t, m)
			case unix.RTM_NEWLINK:
				attrList(t, m.payload[sizeofIfinfomsg:])
			case unix.RTM_NEWADDR:
				attrList(t, m.payload[sizeofIfaddrmsg:])
			case unix.RTM_NEWROUTE, unix.RTM_NEWRULE:
				attrList(t, m.payload[sizeofRtmsg:])
			default:
				t.Fatalf("answer of type %d", m.Type)
			}
		}
	}
}

// randomDatagram makes a datagram of messages that are mostly
// well-formed, with the lengths and attributes a fuzzer would get
// wrong on purpose.
func randomDatagram(rng *rand.Rand) []byte {
	var b []byte
	for range 1 + rng.IntN(4) {
		typ := uint16(rng.IntN(0x80))
		if rng.IntN(4) == 0 {
			typ = []uint16{unix.RTM_GETLINK, unix.RTM_NEWLINK, unix.RTM_SETLINK, unix.RTM_DELLINK,
				unix.RTM_GETADDR, unix.RTM_NEWADDR, unix.RTM_DELADDR, unix.RTM_GETROUTE,
				unix.RTM_GETRULE, unix.RTM_GETNEIGH}[rng.IntN(10)]
		}
		flags := uint16(rng.Uint32())
		if rng.IntN(2) == 0 {
			flags = unix.NLM_F_REQUEST | []uint16{0, unix.NLM_F_ACK, unix.NLM_F_DUMP, unix.NLM_F_CREATE | unix.NLM_F_EXCL, unix.NLM_F_REPLACE}[rng.IntN(5)]
		}
		fixed := make([]byte, []int{0, 1, 4, 8, 12, 16}[rng.IntN(6)])
		for i := range fixed {
			if rng.IntN(3) == 0 {
				fixed[i] = byte(rng.Uint32())
			}
		}
		if len(fixed) > 0 {
			fixed[0] = []byte{0, unix.AF_INET, unix.AF_INET6, 99}[rng.IntN(4)]
		}
		if len(fixed) >= 8 && rng.IntN(2) == 0 {
			ne.PutUint32(fixed[4:], uint32(rng.IntN(4))) // an index that may exist
		}
		m := newMessage(typ, flags, rng.Uint32(), 0)
		m.fixed(fixed)
		for range rng.IntN(5) {
			data := make([]byte, []int{0, 1, 2, 4, 5, 16, 17, 40}[rng.IntN(8)])
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			start := len(m.b)
			m.attr(uint16(rng.IntN(80))|uint16(rng.IntN(4))<<14, data)
			switch rng.IntN(8) {
			case 0: // a length past the message
				ne.PutUint16(m.b[start:], uint16(rng.IntN(0x10000)))
			case 1: // a length below a header
				ne.PutUint16(m.b[start:], uint16(rng.IntN(4)))
			}
		}
		if rng.IntN(8) == 0 {
			m.b = append(m.b, byte(rng.Uint32()))
		}
		msg := m.bytes()
		switch rng.IntN(10) {
		case 0:
			ne.PutUint32(msg, rng.Uint32())
		case 1:
			ne.PutUint32(msg, uint32(rng.IntN(hdrLen+8)))
		}
		b = append(b, msg...)
	}
	if rng.IntN(10) == 0 {
		b = b[:rng.IntN(len(b)+1)]
	}
	return b
}

func TestRandomRequests(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		c := root
		if rng.IntN(4) == 0 {
			c = nobody
		}
		d := randomDatagram(rng)
		if len(d) == 0 {
			continue
		}
		serveAndCheck(t, d, uint8(rng.Uint32()), c)
	}
}

// FuzzServe is for go test -fuzz=FuzzServe; without -fuzz it runs its
// seeds: the requests of TestAgainstLinux.
func FuzzServe(f *testing.F) {
	for i, st := range linuxSteps() {
		f.Add(st.msg, uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) {
		if len(data) == 0 {
			return
		}
		c := root
		if opts&0x80 != 0 {
			c = nobody
		}
		serveAndCheck(t, data, opts, c)
	})
}
