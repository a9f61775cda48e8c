package packet

import (
	"bytes"
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"magawa/kernel/memfile"
	"magawa/kernel/net/inet"
	"magawa/kernel/socket"
	"magawa/kernel/waiter"
)

// Sizes and limits, Linux's defaults.
const (
	// skbOverhead is what a queued frame costs beyond its bytes, as an
	// skb's truesize does on Linux: SO_RCVBUF holds about as many small
	// frames here as there.
	skbOverhead = 576
)

// Event sets.
const (
	inEvents  = waiter.EventIn | waiter.EventRdNorm
	outEvents = waiter.EventOut | 0x100 /* WRNORM */ | 0x200 /* WRBAND */
	allEvents = inEvents | outEvents | waiter.EventErr | waiter.EventHUp
)

// Socket is an AF_PACKET socket: the implementation of its open file.
type Socket struct {
	socket.File
	stack *inet.Stack
	ns    *stack.Stack
	typ   int
	// rx is what the socket registers with netstack's interfaces.
	rx *receiver
	// mf is the memory file, which a receive ring's pages come from;
	// pages is the ring as address spaces map it.
	mf    *memfile.File
	pages *ringPages

	// queue tells waiters about the socket's readiness.
	queue waiter.Queue

	// bindMu serializes the changes of the socket's registration with
	// the interfaces (bind, Release). It is taken before mu, and never
	// held while frames are delivered.
	bindMu sync.Mutex

	// mu guards the fields below. It is taken while netstack delivers a
	// frame (with netstack's lock of the interface's packet sockets
	// held), so it is never held while netstack is called.
	mu     sync.Mutex
	closed bool
	// proto is the protocol received (ETH_P_ALL: every one; 0: none)
	// and ifindex the interface (0: every one).
	proto   uint16
	ifindex int32
	// rq holds the frames waiting to be received; rmem is what they
	// cost: each its length before the filter cut it (Linux's truesize
	// does not shrink with the cut) plus skbOverhead.
	rq   []frame
	rmem int
	// packets and drops are PACKET_STATISTICS: frames that passed the
	// filter, and those of them dropped for want of room.
	packets, drops uint32
	// sending are the frames this socket's sends have in flight, which
	// it does not receive back (Linux's skb_loop_sk()).
	sending []*outgoing
	opts    options
	// ring is PACKET_RX_RING's, nil for none: while there is one, the
	// frames go there, not to rq. mapped counts the address spaces
	// mapping it (vfs.Mappable's registrations).
	ring   *ring
	mapped int
}

// frame is one queued frame.
type frame struct {
	// data is what a receive returns: from the link header for
	// SOCK_RAW, from the network header for SOCK_DGRAM, cut to the
	// filter's length; origLen its length before the cut.
	data    []byte
	origLen int
	// from is the sender's address, as recvfrom reports it, in fromLen
	// bytes (0: a whole struct sockaddr_ll).
	from    linkAddr
	fromLen int
	// netOffset is where the network header starts in data (0 for
	// SOCK_DGRAM), PACKET_AUXDATA's tp_net.
	netOffset int
	// csumNotReady is set for frames whose checksums netstack leaves
	// to an offload that never comes (those of lo).
	csumNotReady bool
}

// outgoing is a frame in flight: the interface and the bytes past its
// link header; seen once it came back.
type outgoing struct {
	nic     tcpip.NICID
	payload []byte
	seen    bool
}

var _ socket.Socket = (*Socket)(nil)

// New returns a packet socket of type typ (SOCK_RAW or SOCK_DGRAM)
// receiving protocol (socket(2)'s argument: an Ethernet protocol in
// network byte order; 0 receives nothing until a bind names one) on
// every interface of st; a receive ring's pages come from mf. It needs
// CAP_NET_RAW, checked before the type as Linux does
// (net/packet/af_packet.c, packet_create()). SOCK_PACKET, the obsolete
// interface Linux also serves, is not served (ESOCKTNOSUPPORT, as for
// the types Linux refuses).
func New(st *inet.Stack, mf *memfile.File, typ, protocol int, c *socket.Caller) (*Socket, error) {
	if c == nil || !c.HasCap(unix.CAP_NET_RAW) {
		return nil, unix.EPERM
	}
	if typ != unix.SOCK_RAW && typ != unix.SOCK_DGRAM {
		return nil, unix.ESOCKTNOSUPPORT
	}
	s := &Socket{
		File:  socket.File{Ino: st.NextIno()},
		stack: st,
		ns:    st.Netstack(),
		typ:   typ,
		mf:    mf,
		// Linux takes socket(2)'s protocol as a 16-bit value in network
		// byte order, whatever else the int holds.
		proto: ntohs(uint16(protocol)),
	}
	s.rx = &receiver{s: s}
	s.pages = &ringPages{s: s}
	s.opts.rcvbuf = socket.DefaultBuffer
	s.opts.sndbuf = socket.DefaultBuffer
	s.opts.version = tpacketV1
	if s.proto != 0 {
		if err := s.ns.RegisterPacketEndpoint(0, tcpip.NetworkProtocolNumber(s.proto), s.rx); err != nil {
			return nil, inet.Errno(err)
		}
	}
	return s, nil
}

func ntohs(v uint16) uint16 { return v<<8 | v>>8 }

// Family implements socket.Socket.
func (s *Socket) Family() int { return unix.AF_PACKET }

// Type implements socket.Socket.
func (s *Socket) Type() int { return s.typ }

// Protocol implements socket.Socket: SO_PROTOCOL, which Linux (6.18)
// reports as 0 for packet sockets, whatever protocol they receive.
func (s *Socket) Protocol() int { return 0 }

// cooked reports whether the socket is SOCK_DGRAM: frames without their
// link header.
func (s *Socket) cooked() bool { return s.typ == unix.SOCK_DGRAM }

// ReadAt implements vfs.FileImpl.
func (s *Socket) ReadAt(dst []byte, _ int64) (int, error) { return socket.Read(s, dst) }

// WriteAt implements vfs.FileImpl: write(2) is a send without flags.
func (s *Socket) WriteAt(src []byte, _ int64) (int, error) {
	return s.Send(nil, &socket.Message{Data: src}, 0, nil)
}

// Release implements vfs.FileImpl: the last descriptor is closed and
// no mapping is left (a mapping holds the file); the socket stops
// receiving, and what was queued and the ring are dropped. It may be
// called with mm.MM.mu held (munmap of the last mapping).
func (s *Socket) Release() {
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	proto, ifindex := s.proto, s.ifindex
	s.purgeLocked()
	s.freeRingLocked()
	s.mu.Unlock()
	if proto != 0 {
		s.ns.UnregisterPacketEndpoint(tcpip.NICID(ifindex), tcpip.NetworkProtocolNumber(proto), s.rx)
	}
	s.queue.Notify(allEvents)
}

// EventRegister implements vfs.Waitable.
func (s *Socket) EventRegister(e *waiter.Entry) { s.queue.Register(e) }

// EventUnregister implements vfs.Waitable.
func (s *Socket) EventUnregister(e *waiter.Entry) { s.queue.Unregister(e) }

// Readiness implements vfs.Waitable: readable with a frame queued or,
// with a ring, when the slot before the ring's head holds a frame for
// the application (Linux's packet_poll(): a ring is readable until the
// application has handed back the last slot filled); always writable (a
// send goes out at once or fails).
func (s *Socket) Readiness(mask uint32) uint32 {
	s.mu.Lock()
	r := uint32(outEvents)
	if len(s.rq) > 0 || s.ring != nil && s.ring.readable() {
		r |= inEvents
	}
	s.mu.Unlock()
	return r & (mask | waiter.EventErr | waiter.EventHUp)
}

// Bind implements socket.Socket: sll_protocol (0 keeps the socket's)
// and sll_ifindex (0: every interface) choose what the socket receives
// and where it sends by default. Linux: packet_bind() and
// packet_do_bind().
func (s *Socket) Bind(c *socket.Caller, sa []byte) error {
	if len(sa) < sockaddrLen || family(sa) != unix.AF_PACKET {
		return unix.EINVAL
	}
	a := parseLinkAddr(sa)
	if a.ifindex != 0 {
		if _, ok := s.stack.InterfaceByIndex(a.ifindex); !ok {
			return unix.ENODEV
		}
	}
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return unix.EBADF
	}
	oldProto, oldIndex := s.proto, s.ifindex
	proto := a.proto
	if proto == 0 {
		proto = oldProto
	}
	s.mu.Unlock()
	if proto == oldProto && a.ifindex == oldIndex {
		return nil
	}
	// Frames that match both bindings while they change hands are
	// received once: receiver checks them against the current one.
	if proto != 0 {
		if err := s.ns.RegisterPacketEndpoint(tcpip.NICID(a.ifindex), tcpip.NetworkProtocolNumber(proto), s.rx); err != nil {
			return inet.Errno(err)
		}
	}
	s.mu.Lock()
	s.proto, s.ifindex = proto, a.ifindex
	s.mu.Unlock()
	if oldProto != 0 {
		s.ns.UnregisterPacketEndpoint(tcpip.NICID(oldIndex), tcpip.NetworkProtocolNumber(oldProto), s.rx)
	}
	return nil
}

// Listen implements socket.Socket: packet sockets have no connections.
func (s *Socket) Listen(int) error { return unix.EOPNOTSUPP }

// Accept implements socket.Socket.
func (s *Socket) Accept(*socket.Caller, socket.Blocker) (socket.Socket, error) {
	return nil, unix.EOPNOTSUPP
}

// Connect implements socket.Socket.
func (s *Socket) Connect(*socket.Caller, []byte, socket.Blocker) error { return unix.EOPNOTSUPP }

// PeerName implements socket.Socket.
func (s *Socket) PeerName() ([]byte, error) { return nil, unix.EOPNOTSUPP }

// Shutdown implements socket.Socket.
func (s *Socket) Shutdown(int) error { return unix.EOPNOTSUPP }

// SockName implements socket.Socket: the protocol, the interface and,
// if bound to one, its type and hardware address, the struct cut after
// the address as Linux's packet_getname() cuts it.
func (s *Socket) SockName() ([]byte, error) {
	s.mu.Lock()
	a := linkAddr{proto: s.proto, ifindex: s.ifindex}
	s.mu.Unlock()
	if ifc, ok := s.stack.InterfaceByIndex(a.ifindex); ok && a.ifindex != 0 {
		a.hatype = ifc.ARPType
		hw := ifc.HardwareAddr
		if ifc.ARPType == unix.ARPHRD_LOOPBACK {
			hw = make([]byte, 6) // lo's address is six zeros on Linux
		}
		a.halen = uint8(copy(a.addr[:], hw))
	}
	return a.encode(addrOffset + int(a.halen)), nil
}

// Timeouts implements socket.Socket.
func (s *Socket) Timeouts() (recv, send time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.rcvtimeo, s.opts.sndtimeo
}

// Send implements socket.Socket: one frame, out at once. The interface
// and protocol are the destination's (struct sockaddr_ll) or the
// binding's. A SOCK_RAW frame goes as given (its protocol, if the
// address names none, read from its header); a SOCK_DGRAM one gets a
// link header to sll_addr. No flag changes anything: the frame never
// waits (MSG_DONTWAIT), and MSG_OOB or MSG_MORE mean nothing to it, as
// on Linux. Linux: packet_snd().
func (s *Socket) Send(c *socket.Caller, m *socket.Message, _ int, _ socket.Blocker) (int, error) {
	s.mu.Lock()
	ifindex, proto, mark, closed := s.ifindex, s.proto, s.opts.mark, s.closed
	s.mu.Unlock()
	if closed {
		return 0, unix.EBADF
	}
	if len(m.Control) > 0 {
		var err error
		if mark, err = sendControl(c, m.Control, mark); err != nil {
			return 0, err
		}
	}
	data := m.Data
	var dst tcpip.LinkAddress
	haveDst := false
	if m.To != nil {
		if len(m.To) < sockaddrLen {
			return 0, unix.EINVAL
		}
		a := parseLinkAddr(m.To)
		if len(m.To) < addrOffset+int(a.halen) {
			return 0, unix.EINVAL
		}
		ifindex, proto = a.ifindex, a.proto
		// Ethernet's address is six bytes, whatever sll_halen says.
		dst, haveDst = tcpip.LinkAddress(a.addr[:6]), true
	}
	if ifindex == 0 {
		return 0, unix.ENXIO
	}
	ifc, ok := s.stack.InterfaceByIndex(ifindex)
	if !ok {
		return 0, unix.ENXIO
	}
	if ifc.Flags&unix.IFF_UP == 0 {
		return 0, unix.ENETDOWN
	}
	// lo has no link header on netstack's side: frames cross it from
	// the network header on, and its Ethernet header of zeros is made
	// up for packet sockets.
	headerless := ifc.ARPType == unix.ARPHRD_LOOPBACK
	nic := tcpip.NICID(ifindex)
	payload := data
	if s.typ == unix.SOCK_RAW {
		limit := int(ifc.MTU) + ethHeaderLen
		if len(data) >= ethHeaderLen && binary.BigEndian.Uint16(data[12:]) == ethP8021Q {
			limit += vlanHeaderLen
		}
		if len(data) > limit {
			return 0, unix.EMSGSIZE
		}
		if len(data) < ethHeaderLen {
			return 0, unix.EINVAL
		}
		if proto == 0 || proto == ethPAll {
			proto = binary.BigEndian.Uint16(data[12:])
		}
		payload = data[ethHeaderLen:]
	} else {
		if len(data) > int(ifc.MTU) {
			return 0, unix.EMSGSIZE
		}
		if !haveDst && !headerless {
			// No address to build the header with (Linux's eth_header()
			// fails without one, but on lo).
			return 0, unix.EINVAL
		}
	}
	defer s.doneSending(s.startSending(nic, payload))
	var err tcpip.Error
	switch {
	case s.typ == unix.SOCK_DGRAM:
		err = s.ns.WritePacketToRemoteWithMark(nic, dst, tcpip.NetworkProtocolNumber(proto), buffer.MakeWithData(data), mark)
	case headerless:
		err = s.ns.WriteRawPacketWithMark(nic, tcpip.NetworkProtocolNumber(proto), buffer.MakeWithData(payload), mark)
	default:
		err = s.ns.WriteRawPacketWithMark(nic, tcpip.NetworkProtocolNumber(proto), buffer.MakeWithData(data), mark)
	}
	if err != nil {
		return 0, inet.Errno(err)
	}
	return len(data), nil
}

// startSending records a frame the socket is sending, which it is not
// to receive back as outgoing, and returns it for doneSending to forget.
// netstack hands an outgoing frame to packet sockets within the send,
// on the sender's goroutine.
func (s *Socket) startSending(nic tcpip.NICID, payload []byte) *outgoing {
	o := &outgoing{nic: nic, payload: payload}
	s.mu.Lock()
	s.sending = append(s.sending, o)
	s.mu.Unlock()
	return o
}

func (s *Socket) doneSending(o *outgoing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.sending {
		if p == o {
			s.sending = append(s.sending[:i], s.sending[i+1:]...)
			return
		}
	}
}

// ownLocked reports whether an outgoing frame is one the socket is
// sending, which then matches no other: an identical frame another
// socket sends on the same interface at the same moment cannot be told
// apart, and one of the two is not received.
func (s *Socket) ownLocked(nic tcpip.NICID, payload []byte) bool {
	for _, o := range s.sending {
		if !o.seen && o.nic == nic && bytes.Equal(o.payload, payload) {
			o.seen = true
			return true
		}
	}
	return false
}

// sendControl reads a sendmsg's ancillary data: of SOL_SOCKET's records
// SO_MARK (with CAP_NET_RAW or CAP_NET_ADMIN) changes the frame's mark
// and SO_PRIORITY is taken (no queueing discipline looks at it),
// SCM_RIGHTS and SCM_CREDENTIALS are passed over, others are EINVAL;
// other levels' records are passed over. Linux: __sock_cmsg_send().
func sendControl(c *socket.Caller, ctl []byte, mark uint32) (uint32, error) {
	const cmsgHeader = 16
	for len(ctl) >= cmsgHeader {
		n := int(binary.LittleEndian.Uint64(ctl))
		if n < cmsgHeader || n > len(ctl) {
			return 0, unix.EINVAL
		}
		level := int32(binary.LittleEndian.Uint32(ctl[8:]))
		typ := int32(binary.LittleEndian.Uint32(ctl[12:]))
		data := ctl[cmsgHeader:n]
		ctl = ctl[min((n+7)&^7, len(ctl)):]
		if level != unix.SOL_SOCKET {
			continue
		}
		switch typ {
		case unix.SO_MARK:
			if !hasCap(c, unix.CAP_NET_RAW) && !hasCap(c, unix.CAP_NET_ADMIN) {
				return 0, unix.EPERM
			}
			if len(data) != 4 {
				return 0, unix.EINVAL
			}
			mark = binary.LittleEndian.Uint32(data)
		case unix.SO_PRIORITY:
			if len(data) != 4 {
				return 0, unix.EINVAL
			}
		case unix.SCM_RIGHTS, unix.SCM_CREDENTIALS:
		default:
			return 0, unix.EINVAL
		}
	}
	return mark, nil
}

func hasCap(c *socket.Caller, capability int) bool {
	return c != nil && c.HasCap != nil && c.HasCap(capability)
}

// recvFlags are the MSG_* flags a receive takes: Linux's
// packet_recvmsg() refuses the others with EINVAL (MSG_CMSG_CLOEXEC
// included).
const recvFlags = unix.MSG_PEEK | unix.MSG_DONTWAIT | unix.MSG_TRUNC | unix.MSG_ERRQUEUE

// Recv implements socket.Socket: one frame, MSG_TRUNC reporting its
// whole length, the sender's struct sockaddr_ll, and PACKET_AUXDATA's
// record if the socket asked for it.
func (s *Socket) Recv(_ *socket.Caller, size, flags int, block socket.Blocker) (socket.Received, error) {
	if flags&^recvFlags != 0 {
		return socket.Received{}, unix.EINVAL
	}
	if flags&unix.MSG_ERRQUEUE != 0 {
		// No error queue: nothing is ever queued on it.
		return socket.Received{}, unix.EAGAIN
	}
	size = max(size, 0)
	if flags&unix.MSG_DONTWAIT != 0 {
		block = nil
	}
	var r socket.Received
	err := socket.Retry(&s.queue, inEvents, block, func() error {
		got, ok := s.tryRecv(size, flags&unix.MSG_PEEK != 0)
		if !ok {
			return unix.EAGAIN
		}
		r = got
		return nil
	})
	if err != nil {
		return socket.Received{}, err
	}
	return r, nil
}

// tryRecv takes (or peeks at) the first frame; ok is false when there
// is none.
func (s *Socket) tryRecv(size int, peek bool) (socket.Received, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rq) == 0 {
		return socket.Received{}, false
	}
	f := s.rq[0]
	if !peek {
		s.rq[0] = frame{}
		s.rq = s.rq[1:]
		s.rmem -= f.origLen + skbOverhead
	}
	n := min(size, len(f.data))
	r := socket.Received{
		Data: append([]byte(nil), f.data[:n]...),
		Len:  len(f.data),
		From: f.from.encode(sockaddrLen),
	}
	if f.fromLen != 0 {
		r.From = f.from.encode(f.fromLen)
	}
	if n < len(f.data) {
		r.Flags |= unix.MSG_TRUNC
	}
	if s.opts.auxdata {
		r.Control = auxdata(f)
	}
	return r, true
}

// auxdata is the PACKET_AUXDATA record of f: struct tpacket_auxdata in a
// struct cmsghdr, padded to its CMSG_SPACE. Linux: packet_recvmsg().
func auxdata(f frame) []byte {
	const size = 16 + 20 // cmsghdr, tpacket_auxdata
	b := make([]byte, (size+7)&^7)
	le := binary.LittleEndian
	le.PutUint64(b, size)
	le.PutUint32(b[8:], unix.SOL_PACKET)
	le.PutUint32(b[12:], unix.PACKET_AUXDATA)
	status := uint32(unix.TP_STATUS_USER)
	if f.csumNotReady {
		status |= unix.TP_STATUS_CSUMNOTREADY
	}
	le.PutUint32(b[16:], status)
	le.PutUint32(b[20:], uint32(f.origLen))   // tp_len
	le.PutUint32(b[24:], uint32(len(f.data))) // tp_snaplen
	le.PutUint16(b[28:], 0)                   // tp_mac
	le.PutUint16(b[30:], uint16(f.netOffset)) // tp_net
	// tp_vlan_tci and tp_vlan_tpid stay 0: a VLAN tag stays in the frame.
	return b
}

// receiver is the socket as netstack's interfaces know it
// (stack.PacketEndpoint): they hand it the frames of the protocols it
// registered for, received and sent.
type receiver struct {
	s *Socket
}

// HandlePacket implements stack.PacketEndpoint. netstack calls it with
// the interface's list of packet sockets locked for reading; pkt's link
// header is empty on lo, whose frames have none on netstack's side.
func (r *receiver) HandlePacket(nic tcpip.NICID, netProto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	s := r.s
	outgoing := pkt.PktType == tcpip.PacketOutgoing
	link := pkt.LinkHeader().Slice()
	payload := pkt.Data().AsRange().ToSlice()

	s.mu.Lock()
	if s.closed || (s.ifindex != 0 && tcpip.NICID(s.ifindex) != nic) ||
		(s.proto != ethPAll && (s.proto != uint16(netProto) || outgoing)) ||
		(outgoing && (s.opts.ignoreOutgoing || s.ownLocked(nic, payload))) {
		s.mu.Unlock()
		return
	}
	f := frame{
		from: linkAddr{
			ifindex: int32(nic),
			proto:   uint16(netProto),
			pkttype: linuxPacketType(pkt.PktType),
			hatype:  unix.ARPHRD_ETHER,
			halen:   6,
		},
	}
	var whole []byte
	if len(link) >= ethHeaderLen {
		whole = make([]byte, 0, len(link)+len(payload))
		whole = append(append(whole, link...), payload...)
		copy(f.from.addr[:], link[6:12]) // the source address
	} else {
		// lo: Linux's header of zeros with the protocol.
		whole = make([]byte, ethHeaderLen, ethHeaderLen+len(payload))
		binary.BigEndian.PutUint16(whole[12:], uint16(netProto))
		whole = append(whole, payload...)
		f.from.hatype = unix.ARPHRD_LOOPBACK
		f.csumNotReady = true
	}
	headerLen := len(whole) - len(payload)
	view := 0
	if s.cooked() {
		view = headerLen
	} else {
		f.netOffset = headerLen
	}
	f.data = whole[view:]
	f.origLen = len(f.data)
	if s.opts.filter != nil {
		keep := s.opts.filter.run(&filterFrame{
			frame: whole, data: view, net: headerLen,
			proto: uint16(netProto), pkttype: f.from.pkttype, ifindex: int32(nic), hatype: f.from.hatype,
		})
		if keep == 0 {
			s.mu.Unlock()
			return
		}
		if int64(keep) < int64(len(f.data)) {
			f.data = f.data[:keep]
		}
	}
	s.packets++
	if s.ring != nil {
		if c := s.ringReceiveLocked(&f, time.Now()); c != nil {
			s.rq = append(s.rq, *c)
			s.rmem += c.origLen + skbOverhead
		}
		s.mu.Unlock()
		s.queue.Notify(inEvents)
		return
	}
	if s.rmem >= s.opts.rcvbuf {
		s.drops++
		s.mu.Unlock()
		return
	}
	s.rq = append(s.rq, f)
	s.rmem += f.origLen + skbOverhead
	s.mu.Unlock()
	s.queue.Notify(inEvents)
}

// linuxPacketType is Linux's PACKET_* number of netstack's packet type.
func linuxPacketType(t tcpip.PacketType) uint8 {
	switch t {
	case tcpip.PacketBroadcast:
		return unix.PACKET_BROADCAST
	case tcpip.PacketMulticast:
		return unix.PACKET_MULTICAST
	case tcpip.PacketOtherHost:
		return unix.PACKET_OTHERHOST
	case tcpip.PacketOutgoing:
		return unix.PACKET_OUTGOING
	}
	return unix.PACKET_HOST
}
