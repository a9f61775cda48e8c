package packet

import (
	"bytes"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/socket"
	"magawa/kernel/waiter"
)

// tpacketReqBytes is a struct tpacket_req.
func tpacketReqBytes(blockSize, blockNr, frameSize, frameNr uint32) []byte {
	b := make([]byte, tpacketReqLen)
	le := binary.LittleEndian
	le.PutUint32(b, blockSize)
	le.PutUint32(b[4:], blockNr)
	le.PutUint32(b[8:], frameSize)
	le.PutUint32(b[12:], frameNr)
	return b
}

func intVal(v int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }

// setopt sets a SOL_PACKET option, failing the test on an error.
func setopt(t *testing.T, s *Socket, name int, val []byte) {
	t.Helper()
	if err := s.SetSockopt(root, unix.SOL_PACKET, name, val); err != nil {
		t.Fatalf("setsockopt(SOL_PACKET, %d): %v", name, err)
	}
}

// ringSocket is a socket of typ receiving proto on eth0 with a ring of
// blocks of one page, each of two 2 KiB frames, made after version and
// reserve are set.
func ringSocket(t *testing.T, n *testNet, typ int, proto uint16, version, reserve int32, blocks uint32) *Socket {
	t.Helper()
	s := newSocket(t, n, typ, proto)
	bind(t, s, 0, eth0)
	setopt(t, s, unix.PACKET_IGNORE_OUTGOING, intVal(1))
	setopt(t, s, unix.PACKET_VERSION, intVal(version))
	setopt(t, s, unix.PACKET_RESERVE, intVal(reserve))
	setopt(t, s, unix.PACKET_RX_RING, tpacketReqBytes(4096, blocks, 2048, 2*blocks))
	return s
}

// slotHeader is a slot's frame header, read as the application would.
type slotHeader struct {
	status            uint64
	len, snaplen      uint32
	mac, net          uint16
	sec, frac         uint32 // frac: µs for TPACKET_V1, ns for TPACKET_V2
	vlanTCI, vlanTPID uint16
	from              linkAddr
	fromFamily        uint16
	at                int
}

func readSlot(s *Socket, i uint32) slotHeader {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.ring
	at := r.slot(i)
	b := r.mem[at:]
	le := binary.LittleEndian
	h := slotHeader{at: at}
	if r.version == tpacketV1 {
		h.status = loadStatus64(b)
		h.len, h.snaplen = le.Uint32(b[8:]), le.Uint32(b[12:])
		h.mac, h.net = le.Uint16(b[16:]), le.Uint16(b[18:])
		h.sec, h.frac = le.Uint32(b[20:]), le.Uint32(b[24:])
	} else {
		h.status = uint64(loadStatus32(b))
		h.len, h.snaplen = le.Uint32(b[4:]), le.Uint32(b[8:])
		h.mac, h.net = le.Uint16(b[12:]), le.Uint16(b[14:])
		h.sec, h.frac = le.Uint32(b[16:]), le.Uint32(b[20:])
		h.vlanTCI, h.vlanTPID = le.Uint16(b[24:]), le.Uint16(b[26:])
	}
	h.from = parseLinkAddr(b[32 : 32+sockaddrLen])
	h.fromFamily = le.Uint16(b[32:])
	return h
}

// slotData is the frame in slot i.
func slotData(s *Socket, i uint32) []byte {
	h := readSlot(s, i)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.ring.mem[h.at+int(h.mac):][:h.snaplen]...)
}

// release hands slot i back to the kernel, as the application does.
func release(s *Socket, i uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.ring.slot(i)
	if s.ring.version == tpacketV1 {
		storeStatus64(s.ring.mem[at:], tpStatusKernel)
	} else {
		storeStatus32(s.ring.mem[at:], tpStatusKernel)
	}
}

// scribble writes v into slot i's status word and, but for that word, b
// over the whole slot: what a careless or hostile application may do.
func scribble(s *Socket, i uint32, v uint32, b byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.ring.slot(i)
	slot := s.ring.mem[at : at+int(s.ring.frameSize)]
	for j := range slot {
		slot[j] = b
	}
	storeStatus32(slot, v)
	if s.ring.version == tpacketV1 {
		storeStatus64(slot, uint64(v))
	}
}

func readable(s *Socket) bool { return s.Readiness(waiter.EventIn)&waiter.EventIn != 0 }

func stats(t *testing.T, s *Socket) (packets, drops uint32) {
	t.Helper()
	b, err := s.GetSockopt(root, unix.SOL_PACKET, unix.PACKET_STATISTICS, 8)
	if err != nil || len(b) != 8 {
		t.Fatalf("PACKET_STATISTICS: %x, %v", b, err)
	}
	return binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
}

// TestRingOptions: the checks of PACKET_VERSION, PACKET_RESERVE,
// PACKET_RX_RING and the options around them, as Linux's
// packet_setsockopt() and packet_set_ring() make them.
func TestRingOptions(t *testing.T) {
	n := newTestNet(t)
	s := newSocket(t, n, unix.SOCK_RAW, ethPAll)
	for _, c := range []struct {
		what string
		name int
		val  []byte
		err  error
	}{
		{"PACKET_VERSION in 2 bytes", unix.PACKET_VERSION, []byte{1, 0}, unix.EINVAL},
		{"PACKET_VERSION in 8 bytes", unix.PACKET_VERSION, make([]byte, 8), unix.EINVAL},
		{"TPACKET_V3", unix.PACKET_VERSION, intVal(tpacketV3), unix.EINVAL},
		{"PACKET_VERSION 7", unix.PACKET_VERSION, intVal(7), unix.EINVAL},
		{"PACKET_VERSION -1", unix.PACKET_VERSION, intVal(-1), unix.EINVAL},
		{"TPACKET_V1", unix.PACKET_VERSION, intVal(tpacketV1), nil},
		{"TPACKET_V2", unix.PACKET_VERSION, intVal(tpacketV2), nil},
		{"PACKET_RESERVE above INT_MAX", unix.PACKET_RESERVE, intVal(-1), unix.EINVAL},
		{"PACKET_RESERVE in 2 bytes", unix.PACKET_RESERVE, []byte{4, 0}, unix.EINVAL},
		{"PACKET_RESERVE 4", unix.PACKET_RESERVE, intVal(4), nil},
		{"PACKET_LOSS", unix.PACKET_LOSS, intVal(1), nil},
		{"PACKET_TIMESTAMP", unix.PACKET_TIMESTAMP, intVal(unix.SOF_TIMESTAMPING_RAW_HARDWARE), nil},
		{"PACKET_COPY_THRESH in 2 bytes", unix.PACKET_COPY_THRESH, []byte{1, 0}, unix.EINVAL},
		{"PACKET_TX_RING", unix.PACKET_TX_RING, tpacketReqBytes(4096, 1, 2048, 2), unix.ENOPROTOOPT},
		{"PACKET_RX_RING in 15 bytes", unix.PACKET_RX_RING, tpacketReqBytes(4096, 1, 2048, 2)[:15], unix.EINVAL},
		{"no blocks, frames", unix.PACKET_RX_RING, tpacketReqBytes(4096, 0, 2048, 2), unix.EINVAL},
		{"no blocks, no ring", unix.PACKET_RX_RING, tpacketReqBytes(0, 0, 0, 0), nil},
		{"block size 0", unix.PACKET_RX_RING, tpacketReqBytes(0, 1, 2048, 2), unix.EINVAL},
		{"block size negative", unix.PACKET_RX_RING, tpacketReqBytes(1<<31, 1, 2048, 1<<20), unix.EINVAL},
		{"block size not pages", unix.PACKET_RX_RING, tpacketReqBytes(6144, 1, 2048, 3), unix.EINVAL},
		// The header, the address and PACKET_RESERVE's 4 bytes: 56.
		{"frame short of the reserve", unix.PACKET_RX_RING, tpacketReqBytes(4096, 1, 48, 85), unix.EINVAL},
		{"frame not aligned", unix.PACKET_RX_RING, tpacketReqBytes(4096, 1, 2040, 2), unix.EINVAL},
		{"frame larger than a block", unix.PACKET_RX_RING, tpacketReqBytes(4096, 1, 8192, 0), unix.EINVAL},
		{"frame count not the blocks'", unix.PACKET_RX_RING, tpacketReqBytes(4096, 2, 2048, 3), unix.EINVAL},
		{"frame count overflowing", unix.PACKET_RX_RING, tpacketReqBytes(1<<30, 1<<31, 16<<10, 0), unix.EINVAL},
		{"more than the memory file", unix.PACKET_RX_RING, tpacketReqBytes(1<<30, 1024, 1<<20, 1<<20), unix.ENOMEM},
		{"least frame, the reserve's 4 bytes", unix.PACKET_RX_RING, tpacketReqBytes(4096, 1, 64, 64), nil},
		{"a second ring", unix.PACKET_RX_RING, tpacketReqBytes(4096, 1, 2048, 2), unix.EBUSY},
		{"PACKET_VERSION with a ring", unix.PACKET_VERSION, intVal(tpacketV1), unix.EBUSY},
		{"PACKET_RESERVE with a ring", unix.PACKET_RESERVE, intVal(0), unix.EBUSY},
		{"PACKET_LOSS with a ring", unix.PACKET_LOSS, intVal(0), unix.EBUSY},
		{"PACKET_TIMESTAMP with a ring", unix.PACKET_TIMESTAMP, intVal(0), nil},
		{"teardown", unix.PACKET_RX_RING, tpacketReqBytes(4096, 0, 2048, 0), nil},
		{"PACKET_RESERVE after", unix.PACKET_RESERVE, intVal(0), nil},
		{"a ring again, from a tpacket_req3", unix.PACKET_RX_RING, append(tpacketReqBytes(8192, 2, 4096, 4), make([]byte, 12)...), nil},
	} {
		if err := s.SetSockopt(root, unix.SOL_PACKET, c.name, c.val); err != c.err {
			t.Errorf("%s: %v, want %v", c.what, err, c.err)
		}
	}
	for _, c := range []struct {
		name int
		want int32
	}{{unix.PACKET_VERSION, tpacketV2}, {unix.PACKET_RESERVE, 0}, {unix.PACKET_LOSS, 1}, {unix.PACKET_TIMESTAMP, 0}} {
		if v, err := s.GetSockopt(root, unix.SOL_PACKET, c.name, 4); err != nil || len(v) != 4 || int32(binary.LittleEndian.Uint32(v)) != c.want {
			t.Errorf("getsockopt(SOL_PACKET, %d): %x, %v; want %d", c.name, v, err, c.want)
		}
	}
	if _, err := s.GetSockopt(root, unix.SOL_PACKET, unix.PACKET_VERSION, 2); err != unix.EINVAL {
		t.Errorf("getsockopt PACKET_VERSION in 2 bytes: %v, want EINVAL", err)
	}
	if _, err := s.GetSockopt(root, unix.SOL_PACKET, unix.PACKET_COPY_THRESH, 4); err != unix.ENOPROTOOPT {
		t.Errorf("getsockopt PACKET_COPY_THRESH: %v, want ENOPROTOOPT (Linux has none)", err)
	}
	// PACKET_HDRLEN: libpcap asks of TPACKET_V3 first and takes EINVAL
	// as "try TPACKET_V2".
	for _, c := range []struct {
		version, want int32
		err           error
	}{{tpacketV1, 32, nil}, {tpacketV2, 32, nil}, {tpacketV3, 0, unix.EINVAL}, {3, 0, unix.EINVAL}, {-1, 0, unix.EINVAL}} {
		if v, err := s.HeaderLen(c.version); v != c.want || err != c.err {
			t.Errorf("PACKET_HDRLEN of version %d: %d, %v; want %d, %v", c.version, v, err, c.want, c.err)
		}
	}
}

// TestRingFrames: frames land in the slots with Linux's headers, for
// each version and socket type, with PACKET_RESERVE's room before them.
func TestRingFrames(t *testing.T) {
	payload := []byte("a frame for the ring")
	frame := ether(ourMAC, peerMAC, testType, payload)
	for _, c := range []struct {
		name             string
		typ              int
		version, reserve int32
		mac, net         uint16
		data             []byte
	}{
		// SOCK_RAW: the network header at TPACKET_ALIGN(52 + 16) = 80
		// plus the reserve, the link header before it.
		{"V2 raw", unix.SOCK_RAW, tpacketV2, 0, 66, 80, frame},
		{"V2 raw, reserve 4", unix.SOCK_RAW, tpacketV2, 4, 70, 84, frame},
		{"V1 raw", unix.SOCK_RAW, tpacketV1, 0, 66, 80, frame},
		// SOCK_DGRAM: TPACKET_ALIGN(52) + 16 plus the reserve.
		{"V2 cooked", unix.SOCK_DGRAM, tpacketV2, 0, 80, 80, payload},
		{"V1 cooked, reserve 20", unix.SOCK_DGRAM, tpacketV1, 20, 100, 100, payload},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newTestNet(t)
			s := ringSocket(t, n, c.typ, testType, c.version, c.reserve, 2)
			if readable(s) {
				t.Error("an empty ring reads readable")
			}
			before := time.Now()
			inject(n.eth0, frame)
			after := time.Now()
			h := readSlot(s, 0)
			if h.status != tpStatusUser {
				t.Errorf("tp_status %#x, want TP_STATUS_USER", h.status)
			}
			if h.len != uint32(len(c.data)) || h.snaplen != uint32(len(c.data)) || h.mac != c.mac || h.net != c.net {
				t.Errorf("tp_len %d, tp_snaplen %d, tp_mac %d, tp_net %d; want %d, %d, %d, %d", h.len, h.snaplen, h.mac, h.net, len(c.data), len(c.data), c.mac, c.net)
			}
			stamp := time.Unix(int64(h.sec), int64(h.frac))
			if c.version == tpacketV1 {
				stamp = time.Unix(int64(h.sec), int64(h.frac)*1000)
			}
			if stamp.Before(before.Truncate(time.Microsecond)) || stamp.After(after) {
				t.Errorf("time stamp %v, not between %v and %v", stamp, before, after)
			}
			want := linkAddr{ifindex: eth0, proto: testType, hatype: unix.ARPHRD_ETHER, pkttype: unix.PACKET_HOST, halen: 6}
			copy(want.addr[:], peerMAC)
			if h.fromFamily != unix.AF_PACKET || h.from != want || h.vlanTCI != 0 || h.vlanTPID != 0 {
				t.Errorf("address %d %+v (VLAN %#x %#x), want %+v", h.fromFamily, h.from, h.vlanTCI, h.vlanTPID, want)
			}
			if got := slotData(s, 0); !bytes.Equal(got, c.data) {
				t.Errorf("data %x, want %x", got, c.data)
			}
			if !readable(s) {
				t.Error("a ring with a frame for the application is not readable")
			}
			if h := readSlot(s, 1); h.status != tpStatusKernel {
				t.Errorf("the next slot's status %#x", h.status)
			}
			// With a ring, frames do not go to the receive queue.
			expectNothing(t, s, "a frame that went to the ring")
			release(s, 0)
			if readable(s) {
				t.Error("readable once the application handed the slot back")
			}
		})
	}
}

// TestRingLoopback: frames of lo carry TP_STATUS_CSUMNOTREADY (their
// checksums are left to an offload, as Linux's loopback leaves them)
// and lo's address of zeros.
func TestRingLoopback(t *testing.T) {
	n := newTestNet(t)
	s := newSocket(t, n, unix.SOCK_RAW, ethPAll)
	bind(t, s, 0, 1)
	setopt(t, s, unix.PACKET_VERSION, intVal(tpacketV2))
	setopt(t, s, unix.PACKET_RX_RING, tpacketReqBytes(4096, 2, 2048, 4))
	frame := ether(make([]byte, 6), make([]byte, 6), testType, []byte("written on lo"))
	if _, err := newSocket(t, n, unix.SOCK_RAW, 0).Send(root, &socket.Message{Data: frame, To: sll(0, 1, nil)}, 0, nil); err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint8{unix.PACKET_OUTGOING, unix.PACKET_HOST} {
		h := readSlot(s, uint32(i))
		if h.status != tpStatusUser|tpStatusCsumNotReady || h.from.pkttype != want || h.from.hatype != unix.ARPHRD_LOOPBACK || h.from.addr != [8]byte{} {
			t.Errorf("slot %d: status %#x, address %+v; want TP_STATUS_USER|TP_STATUS_CSUMNOTREADY, packet type %d on lo", i, h.status, h.from, want)
		}
		if got := slotData(s, uint32(i)); !bytes.Equal(got, frame) {
			t.Errorf("slot %d: %x, want %x", i, got, frame)
		}
	}
}

// TestRingWrapAndDrops: the kernel fills the slots in order across the
// blocks and around, takes a slot only once the application has handed
// it back (whatever else it wrote into it), drops and counts frames
// that find their slot taken, and marks frames TP_STATUS_LOSING until
// the count is read.
func TestRingWrapAndDrops(t *testing.T) {
	n := newTestNet(t)
	s := ringSocket(t, n, unix.SOCK_DGRAM, testType, tpacketV2, 0, 2) // 4 slots
	send := func(i int) { inject(n.eth0, ether(ourMAC, peerMAC, testType, []byte{byte(i)})) }
	for i := range 4 {
		send(i)
	}
	for i := range uint32(4) {
		h := readSlot(s, i)
		if want := []int{0, 2048, 4096, 6144}[i]; h.at != want {
			t.Errorf("slot %d at %d, want %d (two 2 KiB frames a 4 KiB block)", i, h.at, want)
		}
		if got := slotData(s, i); h.status != tpStatusUser || !bytes.Equal(got, []byte{byte(i)}) {
			t.Errorf("slot %d: status %#x, data %x", i, h.status, got)
		}
	}
	send(4) // the head's slot is still the application's
	if p, d := stats(t, s); p != 5 || d != 1 {
		t.Errorf("statistics: %d packets, %d drops; want 5, 1", p, d)
	}
	send(5)
	release(s, 0)
	send(6)
	release(s, 1)
	send(7)
	h := readSlot(s, 0)
	if got := slotData(s, 0); h.status != tpStatusUser|tpStatusLosing || !bytes.Equal(got, []byte{6}) {
		t.Errorf("slot 0 after the wrap: status %#x, data %x; want frame 6 with TP_STATUS_LOSING", h.status, got)
	}
	if p, d := stats(t, s); p != 3 || d != 1 {
		t.Errorf("statistics: %d packets, %d drops; want 3, 1", p, d)
	}
	// Garbage in a slot's status keeps it the application's; garbage
	// elsewhere in a slot handed back is written over.
	scribble(s, 2, 0xdeadbeef, 0xff)
	scribble(s, 3, 0, 0xff)
	h = readSlot(s, 1)
	if got := slotData(s, 1); h.status != tpStatusUser|tpStatusLosing || !bytes.Equal(got, []byte{7}) {
		t.Errorf("slot 1: status %#x, data %x; want frame 7 with TP_STATUS_LOSING", h.status, got)
	}
	send(8) // slot 2: taken
	if h := readSlot(s, 2); h.status != 0xdeadbeef {
		t.Errorf("slot 2 the application holds changed: status %#x", h.status)
	}
	release(s, 2)
	send(9) // slot 2 again, the head stayed there
	send(10)
	h = readSlot(s, 3)
	if got := slotData(s, 3); h.status != tpStatusUser|tpStatusLosing || h.len != 1 || h.mac != 80 || !bytes.Equal(got, []byte{10}) || h.from.ifindex != eth0 {
		t.Errorf("slot 3 over the application's garbage: %+v, data %x", h, got)
	}
	if got := slotData(s, 2); !bytes.Equal(got, []byte{9}) {
		t.Errorf("slot 2: %x, want frame 9", got)
	}
}

// TestRingSnap: a frame longer than its slot is cut (tp_len tells its
// length); with PACKET_COPY_THRESH it is also queued whole for recvmsg
// and marked TP_STATUS_COPY. The socket's filter cuts frames too.
func TestRingSnap(t *testing.T) {
	n := newTestNet(t)
	s := ringSocket(t, n, unix.SOCK_RAW, testType, tpacketV2, 0, 1) // 2 slots
	long := ether(ourMAC, peerMAC, testType, bytes.Repeat([]byte("x"), 3000))
	inject(n.eth0, long)
	if h := readSlot(s, 0); h.status != tpStatusUser || h.len != uint32(len(long)) || h.snaplen != 2048-66 {
		t.Errorf("a long frame: status %#x, tp_len %d, tp_snaplen %d; want %d, %d", h.status, h.len, h.snaplen, len(long), 2048-66)
	}
	expectNothing(t, s, "a long frame without PACKET_COPY_THRESH")
	setopt(t, s, unix.PACKET_COPY_THRESH, intVal(1))
	inject(n.eth0, long)
	if h := readSlot(s, 1); h.status != tpStatusUser|tpStatusCopy || h.snaplen != 2048-66 {
		t.Errorf("a long frame with PACKET_COPY_THRESH: status %#x, tp_snaplen %d", h.status, h.snaplen)
	}
	if !readable(s) {
		t.Error("not readable")
	}
	r, err := s.Recv(root, 65536, unix.MSG_DONTWAIT, nil)
	if err != nil || !bytes.Equal(r.Data, long) || len(r.From) != addrOffset || family(r.From) != unix.AF_PACKET {
		t.Errorf("the copy: %d bytes, address %x, %v; want the whole frame from a 12-byte address", len(r.Data), r.From, err)
	}
	release(s, 0)
	release(s, 1)
	short := ether(ourMAC, peerMAC, testType, []byte("short"))
	inject(n.eth0, short)
	expectNothing(t, s, "a frame the slot holds whole")
	if h := readSlot(s, 0); h.status != tpStatusUser || !bytes.Equal(slotData(s, 0), short) {
		t.Errorf("a short frame: status %#x, data %x", h.status, slotData(s, 0))
	}

	// A filter keeping 20 bytes.
	if err := s.SetSockopt(root, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, filterBytes(insn{code: ret | modeK, k: 20})); err != nil {
		t.Fatal(err)
	}
	inject(n.eth0, long)
	if h := readSlot(s, 1); h.len != uint32(len(long)) || h.snaplen != 20 || !bytes.Equal(slotData(s, 1), long[:20]) {
		t.Errorf("a frame the filter cut: tp_len %d, tp_snaplen %d", h.len, h.snaplen)
	}
}

// TestRingMapping: mmap's checks, the pages a mapping gets (the ring's
// own: what the kernel writes, a second mapping of the memory file
// sees, as the application's does), and the ring's life while mapped.
func TestRingMapping(t *testing.T) {
	n := newTestNet(t)
	s := newSocket(t, n, unix.SOCK_RAW, testType)
	bind(t, s, 0, eth0)
	if err := s.CheckMmap(0, 8192); err != unix.EINVAL {
		t.Errorf("mmap without a ring: %v, want EINVAL", err)
	}
	setopt(t, s, unix.PACKET_VERSION, intVal(tpacketV2))
	setopt(t, s, unix.PACKET_RX_RING, tpacketReqBytes(8192, 2, 2048, 8))
	for _, c := range []struct{ off, length uint64 }{{4096, 16384}, {0, 8192}, {0, 20480}} {
		if err := s.CheckMmap(c.off, c.length); err != unix.EINVAL {
			t.Errorf("mmap of %d bytes at %d: %v, want EINVAL", c.length, c.off, err)
		}
	}
	if err := s.CheckMmap(0, 16384); err != nil {
		t.Errorf("mmap of the ring: %v", err)
	}
	m := s.Mappable()
	if m != s.Mappable() {
		t.Error("Mappable differs from call to call")
	}
	m.AddMapping(nil)
	rs, err := m.MapPages(4096, 1<<20)
	if err != nil || len(rs) != 1 || rs[0].FileOff != 4096 || rs[0].Len != 12288 {
		t.Fatalf("MapPages past the end: %+v, %v; want the ring's last 12 KiB", rs, err)
	}
	if rs, _ := m.MapPages(16384, 20480); len(rs) != 0 {
		t.Errorf("MapPages beyond the ring: %+v", rs)
	}
	// The application's view: the memory file mapped again, as the
	// stub maps it.
	base := rs[0].Off - 4096
	view, err := unix.Mmap(n.mf.FD(), int64(base), 16384, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(view)
	frame := ether(ourMAC, peerMAC, testType, []byte("seen through the mapping"))
	for range 5 {
		inject(n.eth0, frame)
	}
	// Slot 4 is the first of the second block.
	if st := binary.LittleEndian.Uint32(view[8192:]); st != tpStatusUser || !bytes.Equal(view[8192+66:][:len(frame)], frame) {
		t.Errorf("slot 4 through a mapping: status %#x, frame %x", st, view[8192+66:][:len(frame)])
	}
	for _, req := range [][]byte{tpacketReqBytes(0, 0, 0, 0), tpacketReqBytes(4096, 1, 2048, 2)} {
		if err := s.SetSockopt(root, unix.SOL_PACKET, unix.PACKET_RX_RING, req); err != unix.EBUSY {
			t.Errorf("PACKET_RX_RING %x while mapped: %v, want EBUSY", req, err)
		}
	}
	m.RemoveMapping(nil)
	n.mf.DecRef(rs[0].Off, rs[0].Len)
	used := n.mf.Used()
	setopt(t, s, unix.PACKET_RX_RING, tpacketReqBytes(0, 0, 0, 0))
	if n.mf.Used() != used-16384 {
		t.Errorf("memory in use %d after the teardown, want %d", n.mf.Used(), used-16384)
	}
	if rs, _ := m.MapPages(0, 4096); len(rs) != 0 {
		t.Errorf("MapPages without a ring: %+v", rs)
	}
	// Without the ring, frames are queued again.
	inject(n.eth0, frame)
	if r, _ := recv(t, s); !bytes.Equal(r.Data, frame) {
		t.Errorf("received %x after the teardown", r.Data)
	}
	// A ring made drops what was queued, and its memory goes with the
	// socket.
	inject(n.eth0, frame)
	setopt(t, s, unix.PACKET_RX_RING, tpacketReqBytes(4096, 1, 2048, 2))
	expectNothing(t, s, "the queue once a ring is made")
	s.Release()
	if n.mf.Used() != used-16384 {
		t.Errorf("memory in use %d after the release, want %d", n.mf.Used(), used-16384)
	}
}

// TestRingConcurrent: an application goroutine takes frames from the
// ring as frames arrive, the way libpcap does (wait for readiness, read
// the slot whose status is the application's, hand it back): every
// frame arrives, whole and in order, none dropped. Run with -race.
func TestRingConcurrent(t *testing.T) {
	n := newTestNet(t)
	s := ringSocket(t, n, unix.SOCK_DGRAM, testType, tpacketV2, 0, 4) // 8 slots
	const frames = 2000
	e, ch := waiter.NewChannelEntry(inEvents)
	s.EventRegister(e)
	defer s.EventUnregister(e)
	s.mu.Lock()
	mem, r := s.ring.mem, s.ring
	s.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	errs := make(chan string, 10)
	var failed atomic.Bool
	go func() {
		defer wg.Done()
		next := uint32(0)
		for got := 0; got < frames; {
			at := r.slot(next)
			word := (*uint32)(unsafe.Pointer(&mem[at]))
			if atomic.LoadUint32(word)&tpStatusUser == 0 {
				select {
				case <-ch:
				case <-time.After(5 * time.Millisecond):
				}
				continue
			}
			mac := binary.LittleEndian.Uint16(mem[at+12:])
			snap := binary.LittleEndian.Uint32(mem[at+8:])
			data := mem[at+int(mac):][:snap]
			if want := binary.BigEndian.AppendUint32(nil, uint32(got)); !bytes.Equal(data, want) {
				errs <- "frame out of order or damaged"
				failed.Store(true)
				return
			}
			atomic.StoreUint32(word, tpStatusKernel)
			got++
			if next++; next == r.frameNumber {
				next = 0
			}
		}
	}()
	for i := 0; i < frames && !failed.Load(); {
		// Leave the application a slot's worth of time when the ring
		// is full: a drop would be this test's failure, not Linux's.
		s.mu.Lock()
		full := !s.ring.free(s.ring.head)
		s.mu.Unlock()
		if full {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		inject(n.eth0, ether(ourMAC, peerMAC, testType, binary.BigEndian.AppendUint32(nil, uint32(i))))
		i++
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if p, d := stats(t, s); p != frames || d != 0 {
		t.Errorf("statistics: %d packets, %d drops; want %d, 0", p, d, frames)
	}
}

// TestRingMemoryFile: the ring takes its pages from the memory file it
// was given and returns them.
func TestRingMemoryFile(t *testing.T) {
	n := newTestNet(t)
	used := n.mf.Used()
	s := ringSocket(t, n, unix.SOCK_RAW, testType, tpacketV1, 0, 3)
	if n.mf.Used() != used+3*memfile.PageSize {
		t.Errorf("memory in use %d with a ring of 3 pages, want %d", n.mf.Used(), used+3*memfile.PageSize)
	}
	s.Release()
	if n.mf.Used() != used {
		t.Errorf("memory in use %d after the release, want %d", n.mf.Used(), used)
	}
}

// TestRingEdges: a slot too small for the frame's offset gets the
// header alone (tp_snaplen 0, tp_mac past the slot, as Linux writes it);
// a TPACKET_V1 slot whose 64-bit status has only high bits set is the
// application's.
func TestRingEdges(t *testing.T) {
	n := newTestNet(t)
	s := newSocket(t, n, unix.SOCK_RAW, testType)
	bind(t, s, 0, eth0)
	setopt(t, s, unix.PACKET_RX_RING, tpacketReqBytes(4096, 1, 64, 64)) // TPACKET_V1
	frame := ether(ourMAC, peerMAC, testType, []byte("too long for the slot"))
	inject(n.eth0, frame)
	if h := readSlot(s, 0); h.status != tpStatusUser || h.len != uint32(len(frame)) || h.snaplen != 0 || h.mac != 66 || h.net != 80 {
		t.Errorf("a frame past a 64-byte slot: %+v", h)
	}
	if h := readSlot(s, 1); h.status != tpStatusKernel || h.len != 0 {
		t.Errorf("the next slot was written: %+v", h)
	}
	s.mu.Lock()
	storeStatus64(s.ring.mem[s.ring.slot(1):], 1<<40)
	s.mu.Unlock()
	inject(n.eth0, frame)
	if h := readSlot(s, 1); h.status != 1<<40 || h.len != 0 {
		t.Errorf("a slot with high status bits set was taken: %+v", h)
	}
	if _, d := stats(t, s); d != 1 {
		t.Errorf("%d drops, want 1", d)
	}
}
