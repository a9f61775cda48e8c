package packet

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
	"magawa/kernel/vfs"
)

// This file holds the socket options, SOL_SOCKET's (net/core/sock.c)
// and SOL_PACKET's (net/packet/af_packet.c, packet_setsockopt() and
// packet_getsockopt()), and the ioctls. An option Linux has that is not
// listed here answers ENOPROTOOPT: the transmit ring (PACKET_TX_RING),
// fanout, PACKET_VNET_HDR, PACKET_QDISC_BYPASS, timestamps
// (SO_TIMESTAMP...) and SO_BINDTODEVICE. The receive ring's options are
// here, the ring itself in ring.go.

// options are the socket's options. Socket.mu guards them.
type options struct {
	rcvbuf, sndbuf int
	// rcvtimeo and sndtimeo: 0 waits forever, negative never waits.
	rcvtimeo, sndtimeo time.Duration
	// auxdata adds PACKET_AUXDATA's record to each receive;
	// ignoreOutgoing keeps the frames the sandbox sends away.
	auxdata, ignoreOutgoing bool
	// origdev is only kept: without bonding or bridges in the sandbox
	// a frame's original interface is its interface.
	origdev bool
	// filter is SO_ATTACH_FILTER's program; filterLocked is
	// SO_LOCK_FILTER.
	filter       *program
	filterLocked bool
	// mark is SO_MARK, which the frames sent carry; priority is
	// SO_PRIORITY, kept (netstack has no queueing discipline to read
	// it).
	mark     uint32
	priority int32
	// memberships are PACKET_ADD_MEMBERSHIP's.
	memberships []membership
	// flags are SO_REUSEADDR and the like: Linux keeps them on any
	// socket, and they mean nothing to a packet socket there either.
	flags map[int]bool
	// version is PACKET_VERSION, the TPACKET version of the ring's
	// frame headers, and reserve PACKET_RESERVE, room the ring leaves
	// before each frame: both fixed while there is a ring.
	version int
	reserve uint32
	// copyThresh is PACKET_COPY_THRESH: frames a ring's slot cuts short
	// are also queued whole.
	copyThresh int32
	// loss is PACKET_LOSS, which only a transmit ring would heed, and
	// tstamp PACKET_TIMESTAMP, the SOF_TIMESTAMPING_* flags asking for
	// hardware time stamps in the ring: kept, as Linux keeps them for a
	// device without hardware time stamps, which the sandbox's are (the
	// ring's are always the kernel's clock).
	loss   bool
	tstamp int32
}

// storedOptions are the boolean SOL_SOCKET options kept but of no
// effect.
var storedOptions = map[int]bool{
	unix.SO_DEBUG: true, unix.SO_REUSEADDR: true, unix.SO_KEEPALIVE: true, unix.SO_DONTROUTE: true,
	unix.SO_BROADCAST: true, unix.SO_OOBINLINE: true,
}

// membership is a struct packet_mreq: an interface and what the socket
// asked of it (PACKET_MR_*, an address), with a count of the requests.
type membership struct {
	ifindex int32
	typ     uint16
	alen    uint16
	addr    [8]byte
	count   int
}

// maxMemberships bounds a socket's memberships as Linux's socket option
// memory does (net.core.optmem_max, 128 KiB, of 64-byte records).
const maxMemberships = 2048

// Sizes of SOL_PACKET's structures (x86-64).
const (
	packetMreqLen = unix.SizeofPacketMreq // struct packet_mreq
	// packetMreqMax is sizeof(struct packet_mreq_max): Linux reads at
	// most this much, an address of up to 32 bytes.
	packetMreqMax  = 40
	tpacketStatLen = unix.SizeofTpacketStats
)

// SetSockopt implements socket.Socket. SO_ATTACH_FILTER's value is the
// program's instructions (struct sock_filter records), which the
// system-call layer reads from the struct sock_fprog the caller passed.
func (s *Socket) SetSockopt(c *socket.Caller, level, name int, val []byte) error {
	switch level {
	case unix.SOL_SOCKET:
		return s.setSocketOption(c, name, val)
	case unix.SOL_PACKET:
		return s.setPacketOption(name, val)
	}
	return unix.ENOPROTOOPT
}

func (s *Socket) setSocketOption(c *socket.Caller, name int, val []byte) error {
	switch name {
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW, unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		d, err := socket.ParseTimeval(val)
		if err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if name == unix.SO_RCVTIMEO || name == unix.SO_RCVTIMEO_NEW {
			s.opts.rcvtimeo = d
		} else {
			s.opts.sndtimeo = d
		}
		return nil
	case unix.SO_ATTACH_FILTER:
		p, err := compile(val)
		if err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.opts.filterLocked {
			return unix.EPERM
		}
		s.opts.filter = p
		return nil
	case unix.SO_DETACH_FILTER:
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case s.opts.filterLocked:
			return unix.EPERM
		case s.opts.filter == nil:
			return unix.ENOENT
		}
		s.opts.filter = nil
		return nil
	}
	if len(val) < 4 {
		return unix.EINVAL
	}
	v := int32(binary.LittleEndian.Uint32(val))
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.opts
	switch name {
	case unix.SO_RCVBUF, unix.SO_SNDBUF, unix.SO_RCVBUFFORCE, unix.SO_SNDBUFFORCE:
		force := name == unix.SO_RCVBUFFORCE || name == unix.SO_SNDBUFFORCE
		if force && !hasCap(c, unix.CAP_NET_ADMIN) {
			return unix.EPERM
		}
		n := socket.BufferSize(v, force)
		if name == unix.SO_RCVBUF || name == unix.SO_RCVBUFFORCE {
			o.rcvbuf = max(n, socket.MinRcvbuf)
		} else {
			o.sndbuf = max(n, socket.MinSndbuf)
		}
	case unix.SO_LOCK_FILTER:
		if o.filterLocked && v == 0 {
			return unix.EPERM
		}
		o.filterLocked = v != 0
	case unix.SO_MARK:
		if !hasCap(c, unix.CAP_NET_RAW) && !hasCap(c, unix.CAP_NET_ADMIN) {
			return unix.EPERM
		}
		o.mark = uint32(v)
	case unix.SO_PRIORITY:
		if (v < 0 || v > 6) && !hasCap(c, unix.CAP_NET_RAW) && !hasCap(c, unix.CAP_NET_ADMIN) {
			return unix.EPERM
		}
		o.priority = v
	default:
		if !storedOptions[name] {
			return unix.ENOPROTOOPT
		}
		if name == unix.SO_DEBUG && v != 0 && !hasCap(c, unix.CAP_NET_ADMIN) {
			return unix.EACCES
		}
		if o.flags == nil {
			o.flags = map[int]bool{}
		}
		o.flags[name] = v != 0
	}
	return nil
}

func (s *Socket) setPacketOption(name int, val []byte) error {
	switch name {
	case unix.PACKET_ADD_MEMBERSHIP, unix.PACKET_DROP_MEMBERSHIP:
		if len(val) < packetMreqLen {
			return unix.EINVAL
		}
		val = val[:min(len(val), packetMreqMax)]
		m := membership{
			ifindex: int32(binary.LittleEndian.Uint32(val)),
			typ:     binary.LittleEndian.Uint16(val[4:]),
			alen:    binary.LittleEndian.Uint16(val[6:]),
		}
		if len(val) < 8+int(m.alen) {
			return unix.EINVAL
		}
		copy(m.addr[:], val[8:8+min(int(m.alen), len(m.addr))])
		if name == unix.PACKET_ADD_MEMBERSHIP {
			return s.addMembership(m)
		}
		s.dropMembership(m)
		return nil
	case unix.PACKET_RX_RING:
		return s.setRing(val)
	case unix.PACKET_VERSION, unix.PACKET_RESERVE, unix.PACKET_LOSS, unix.PACKET_TIMESTAMP, unix.PACKET_COPY_THRESH:
		// An int, exactly (Linux: optlen != sizeof(int) is EINVAL).
		if len(val) != 4 {
			return unix.EINVAL
		}
		v := int32(binary.LittleEndian.Uint32(val))
		s.mu.Lock()
		defer s.mu.Unlock()
		switch name {
		case unix.PACKET_VERSION:
			if v != tpacketV1 && v != tpacketV2 {
				return unix.EINVAL // TPACKET_V3 included: see ring.go
			}
			if s.ring != nil {
				return unix.EBUSY
			}
			s.opts.version = int(v)
		case unix.PACKET_RESERVE:
			if v < 0 {
				return unix.EINVAL // above INT_MAX as unsigned
			}
			if s.ring != nil {
				return unix.EBUSY
			}
			s.opts.reserve = uint32(v)
		case unix.PACKET_LOSS:
			if s.ring != nil {
				return unix.EBUSY
			}
			s.opts.loss = v != 0
		case unix.PACKET_TIMESTAMP:
			s.opts.tstamp = v
		case unix.PACKET_COPY_THRESH:
			s.opts.copyThresh = v
		}
		return nil
	case unix.PACKET_AUXDATA, unix.PACKET_ORIGDEV, unix.PACKET_IGNORE_OUTGOING:
		if len(val) < 4 {
			return unix.EINVAL
		}
		v := int32(binary.LittleEndian.Uint32(val))
		s.mu.Lock()
		defer s.mu.Unlock()
		switch name {
		case unix.PACKET_AUXDATA:
			s.opts.auxdata = v != 0
		case unix.PACKET_ORIGDEV:
			s.opts.origdev = v != 0
		case unix.PACKET_IGNORE_OUTGOING:
			if v < 0 || v > 1 {
				return unix.EINVAL
			}
			s.opts.ignoreOutgoing = v != 0
		}
		return nil
	}
	return unix.ENOPROTOOPT
}

// addMembership records m, checked as Linux's packet_mc_add() checks it.
// The sandbox's interfaces hand packet sockets every frame they receive
// sent to the interface's address, to a multicast address or to
// broadcast, so PACKET_MR_MULTICAST and PACKET_MR_ALLMULTI ask for
// nothing more than what comes. An interface cannot be made promiscuous
// or given a second unicast address (the host's device and netstack's
// link endpoint filter frames by address before the sandbox sees them):
// PACKET_MR_PROMISC and PACKET_MR_UNICAST are EOPNOTSUPP rather than
// accepted and not done, but for PACKET_MR_PROMISC on lo, which carries
// no other host's frames to hide, so that promiscuity changes nothing
// there, as on Linux (libpcap asks for it unless told not to: tcpdump
// -i lo runs without -p). Other types are accepted and mean nothing, as
// on Linux.
func (s *Socket) addMembership(m membership) error {
	ifc, ok := s.stack.InterfaceByIndex(m.ifindex)
	if !ok {
		return unix.ENODEV
	}
	addrLen := uint16(len(ifc.HardwareAddr))
	if addrLen == 0 {
		addrLen = 6 // lo's is six zeros on Linux
	}
	if m.alen > addrLen {
		return unix.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.opts.memberships {
		if o.ifindex == m.ifindex && o.typ == m.typ && o.alen == m.alen && o.addr == m.addr {
			s.opts.memberships[i].count++
			return nil
		}
	}
	if len(s.opts.memberships) >= maxMemberships {
		return unix.ENOBUFS
	}
	switch m.typ {
	case unix.PACKET_MR_MULTICAST:
		if m.alen != addrLen {
			return unix.EINVAL
		}
	case unix.PACKET_MR_PROMISC:
		if ifc.ARPType != unix.ARPHRD_LOOPBACK {
			return unix.EOPNOTSUPP
		}
	case unix.PACKET_MR_UNICAST:
		return unix.EOPNOTSUPP
	}
	m.count = 1
	s.opts.memberships = append(s.opts.memberships, m)
	return nil
}

// dropMembership undoes one addMembership of m; Linux says nothing of a
// membership that is not there.
func (s *Socket) dropMembership(m membership) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.opts.memberships {
		if o.ifindex == m.ifindex && o.typ == m.typ && o.alen == m.alen && o.addr == m.addr {
			if o.count--; o.count == 0 {
				s.opts.memberships = append(s.opts.memberships[:i], s.opts.memberships[i+1:]...)
			} else {
				s.opts.memberships[i] = o
			}
			return
		}
	}
}

// GetSockopt implements socket.Socket. SO_GET_FILTER returns the
// program's instructions; the system-call layer counts them.
func (s *Socket) GetSockopt(c *socket.Caller, level, name, size int) ([]byte, error) {
	switch level {
	case unix.SOL_SOCKET:
		return s.socketOption(name)
	case unix.SOL_PACKET:
		return s.packetOption(name, size)
	}
	return nil, unix.ENOPROTOOPT
}

func (s *Socket) socketOption(name int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.opts
	switch name {
	case unix.SO_TYPE:
		return socket.Int(int32(s.typ)), nil
	case unix.SO_DOMAIN:
		return socket.Int(unix.AF_PACKET), nil
	case unix.SO_PROTOCOL:
		return socket.Int(int32(s.Protocol())), nil
	case unix.SO_ERROR:
		return socket.Int(0), nil // sends report their errors themselves
	case unix.SO_ACCEPTCONN:
		return socket.Int(0), nil
	case unix.SO_RCVBUF:
		return socket.Int(int32(o.rcvbuf)), nil
	case unix.SO_SNDBUF:
		return socket.Int(int32(o.sndbuf)), nil
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW:
		return socket.Timeval(o.rcvtimeo), nil
	case unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		return socket.Timeval(o.sndtimeo), nil
	case unix.SO_RCVLOWAT, unix.SO_SNDLOWAT:
		return socket.Int(1), nil
	case unix.SO_LOCK_FILTER:
		return socket.Bool(o.filterLocked), nil
	case unix.SO_GET_FILTER:
		if o.filter == nil {
			return nil, nil
		}
		return append([]byte(nil), o.filter.raw...), nil
	case unix.SO_MARK:
		return socket.Int(int32(o.mark)), nil
	case unix.SO_PRIORITY:
		return socket.Int(o.priority), nil
	case unix.SO_PEERCRED:
		// No peer: no process, the overflow user and group.
		b := make([]byte, 12)
		binary.LittleEndian.PutUint32(b[4:], 65534)
		binary.LittleEndian.PutUint32(b[8:], 65534)
		return b, nil
	}
	if storedOptions[name] {
		return socket.Bool(o.flags[name]), nil
	}
	return nil, unix.ENOPROTOOPT
}

// packetOption reads a SOL_PACKET option. The flags and numbers need an
// int's room (EINVAL); PACKET_STATISTICS is cut to the room and clears
// the counters, as Linux's does. PACKET_HDRLEN, which reads the caller's
// value first, is HeaderLen.
func (s *Socket) packetOption(name, size int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v bool
	var n int32
	switch name {
	case unix.PACKET_VERSION, unix.PACKET_RESERVE, unix.PACKET_TIMESTAMP:
		switch name {
		case unix.PACKET_VERSION:
			n = int32(s.opts.version)
		case unix.PACKET_RESERVE:
			n = int32(s.opts.reserve)
		case unix.PACKET_TIMESTAMP:
			n = s.opts.tstamp
		}
		if size < 4 {
			return nil, unix.EINVAL
		}
		return socket.Int(n), nil
	case unix.PACKET_LOSS:
		v = s.opts.loss
	case unix.PACKET_STATISTICS:
		// tp_packets counts the frames dropped too.
		b := make([]byte, tpacketStatLen)
		binary.LittleEndian.PutUint32(b, s.packets)
		binary.LittleEndian.PutUint32(b[4:], s.drops)
		s.packets, s.drops = 0, 0
		return b, nil
	case unix.PACKET_AUXDATA:
		v = s.opts.auxdata
	case unix.PACKET_ORIGDEV:
		v = s.opts.origdev
	case unix.PACKET_IGNORE_OUTGOING:
		v = s.opts.ignoreOutgoing
	default:
		return nil, unix.ENOPROTOOPT
	}
	if size < 4 {
		return nil, unix.EINVAL
	}
	return socket.Bool(v), nil
}

// Ioctl implements vfs.IoctlImpl: the length of the next frame
// (SIOCINQ) and of what is waiting to be sent (SIOCOUTQ: nothing, sends
// are done at once). The netdevice(7) queries are the system-call
// layer's, which asks the stack when this answers ENOTTY.
// Linux: packet_ioctl().
func (s *Socket) Ioctl(io vfs.IO, request uint32, arg uintptr) (uintptr, error) {
	var v int32
	switch request {
	case unix.SIOCINQ:
		s.mu.Lock()
		if len(s.rq) > 0 {
			v = int32(len(s.rq[0].data))
		}
		s.mu.Unlock()
	case unix.SIOCOUTQ:
	default:
		return 0, unix.ENOTTY
	}
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(v))
	if n, err := io.CopyOut(arg, b); err != nil || n != len(b) {
		return 0, unix.EFAULT
	}
	return 0, nil
}
