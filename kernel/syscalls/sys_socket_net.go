package syscalls

import (
	"encoding/binary"
	"slices"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/kernel"
	"magawa/kernel/net/hostinet"
	"magawa/kernel/net/inet"
	"magawa/kernel/net/netlink"
	"magawa/kernel/net/packet"
	"magawa/kernel/socket"
	"magawa/kernel/vfs"
)

// This file is the socket calls for the families served by the network
// stack (kernel/socket): Internet, netlink and packet sockets.
// sys_socket.go decodes the calls and hands a socket.Socket here; Unix
// sockets stay there, on their own path.

// caller is what a socket operation knows of t.
func caller(t *kernel.Task) *socket.Caller {
	c := t.Credentials()
	return &socket.Caller{PID: t.TGID(), UID: c.EUID, GID: c.EGID, HasCap: c.HasCap}
}

// newNetSocket makes a socket of a family served by the network stack.
func newNetSocket(t *kernel.Task, domain, typ, protocol int) (socket.Socket, error) {
	if (domain == unix.AF_INET || domain == unix.AF_INET6) && t.Kernel().HostNetwork {
		// Before Network(): a sandbox on the host's network makes
		// netstack only for netlink.
		k := t.Kernel()
		s, err := hostinet.New(domain, typ, protocol, hostinet.Options{
			UnprivilegedPortStart: func() int32 { return k.NetTunables().IPUnprivilegedPortStart },
		})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	if domain == unix.AF_PACKET && t.Kernel().HostNetwork {
		// The host's interfaces are not the sandbox's to capture on,
		// and its own stack, made for netlink alone, carries nothing.
		return nil, unix.EAFNOSUPPORT
	}
	st, err := t.Kernel().Network()
	if err != nil {
		t.Kernel().Debugf("network stack: %v", err)
		return nil, unix.ENOMEM
	}
	switch domain {
	case unix.AF_INET, unix.AF_INET6:
		return inet.New(st, domain, typ, protocol, caller(t), pingAllowed(t))
	case unix.AF_NETLINK:
		return netlink.New(st, typ, protocol)
	case unix.AF_PACKET:
		return packet.New(st, t.Kernel().MemoryFile, typ, protocol, caller(t))
	}
	return nil, unix.EAFNOSUPPORT
}

// packetHeaderLen is getsockopt(PACKET_HDRLEN), which reads before it
// writes: the caller's int names the TPACKET version whose frame header
// length it asks for. The buffer must hold an int (EINVAL); the answer is
// one. Linux: net/packet/af_packet.c, packet_getsockopt().
func packetHeaderLen(t *kernel.Task, ns socket.Socket, valAddr, lenAddr uintptr, n int32) error {
	s, ok := ns.(*packet.Socket)
	if !ok {
		return unix.ENOPROTOOPT
	}
	if n < 4 {
		return unix.EINVAL
	}
	var version int32
	if err := copyInStruct(t, valAddr, &version); err != nil {
		return err
	}
	v, err := s.HeaderLen(version)
	if err != nil {
		return err
	}
	if err := copyOutStruct(t, valAddr, &v); err != nil {
		return err
	}
	n = 4
	return copyOutStruct(t, lenAddr, &n)
}

// pingAllowed reports whether one of t's groups is in
// net.ipv4.ping_group_range, which ICMP echo sockets need.
// Linux: net/ipv4/ping.c, ping_init_sock().
func pingAllowed(t *kernel.Task) bool {
	r := t.Kernel().NetTunables().PingGroupRange
	in := func(g uint32) bool { return r[0] <= g && g <= r[1] }
	c := t.Credentials()
	return in(c.EGID) || slices.ContainsFunc(c.Groups, in)
}

// netSocketWait is socketWait for a socket of the network stack.
func netSocketWait(t *kernel.Task, f *vfs.File, flags int, timeout bool, s socket.Socket) (socket.Blocker, bool) {
	rcv, snd := s.Timeouts()
	d := snd
	if !timeout {
		d = rcv
	}
	block, timed := socketWait(t, f, flags, d)
	if block == nil {
		return nil, timed
	}
	return socket.Blocker(block), timed
}

// netAccept is accept4 for a socket of the network stack.
func netAccept(t *kernel.Task, f *vfs.File, s socket.Socket, addr, lenAddr uintptr, flags int) (uintptr, error) {
	block, timed := netSocketWait(t, f, 0, false, s)
	ns, err := s.Accept(caller(t), block)
	if err != nil {
		return 0, socketErr(err, timed)
	}
	nf := vfs.NewFile(ns, unix.O_RDWR|flags&unix.O_NONBLOCK)
	defer nf.DecRef()
	if addr != 0 {
		peer, err := ns.PeerName()
		if err != nil {
			// The connection was reset before accept returned: Linux
			// hands it out all the same, with the address it had; here
			// it has none left, which reads as ECONNABORTED.
			return 0, unix.ECONNABORTED
		}
		if err := copyOutSockaddr(t, addr, lenAddr, peer); err != nil {
			return 0, err
		}
	}
	nfd, err := t.FDTable().Install(nf, 0, flags&unix.SOCK_CLOEXEC != 0, t.MaxFDs())
	return uintptr(nfd), err
}

// netConnect is connect for a socket of the network stack. A blocking
// connect whose SO_SNDTIMEO runs out reports EINPROGRESS, as Linux does:
// the handshake goes on.
func netConnect(t *kernel.Task, f *vfs.File, s socket.Socket, sa []byte) error {
	block, timed := netSocketWait(t, f, 0, true, s)
	err := s.Connect(caller(t), sa, block)
	if err == kernel.ErrTimedOut {
		return unix.EINPROGRESS
	}
	return socketErr(err, timed)
}

// netSend is send for a socket of the network stack: a stream takes the
// data in pieces; a datagram goes whole or not at all.
func netSend(t *kernel.Task, f *vfs.File, s socket.Socket, iovs []abi.Iovec, sa, ctl []byte, flags int) (int, error) {
	var total int
	for _, iov := range iovs {
		total += int(iov.Len)
	}
	block, timed := netSocketWait(t, f, flags, true, s)
	m := &socket.Message{To: sa, Control: ctl}
	c := caller(t)
	if s.Type() != unix.SOCK_STREAM {
		data, err := gather(t, iovs, 0, min(total, maxPacket))
		if err != nil {
			return 0, err
		}
		m.Data = data
		n, err := s.Send(c, m, flags, block)
		return n, socketErr(err, timed)
	}
	sent := 0
	for {
		n := min(total-sent, sendChunk)
		data, err := gather(t, iovs, sent, n)
		if err != nil {
			return partialInt(sent, err)
		}
		m.Data = data
		k, err := s.Send(c, m, flags, block)
		sent += k
		if err == unix.EPIPE && sent == 0 && flags&unix.MSG_NOSIGNAL == 0 {
			t.SignalSelf(unix.SIGPIPE)
		}
		if err != nil {
			return partialInt(sent, socketErr(err, timed))
		}
		if k < n || sent >= total {
			return sent, nil
		}
	}
}

// netRecv is recv for a socket of the network stack: it receives into
// iovs and returns what came and the call's result (the whole
// datagram's length with MSG_TRUNC).
func netRecv(t *kernel.Task, f *vfs.File, s socket.Socket, iovs []abi.Iovec, flags int) (socket.Received, int, error) {
	var total uint64
	for _, iov := range iovs {
		total += iov.Len
	}
	block, timed := netSocketWait(t, f, flags, false, s)
	r, err := s.Recv(caller(t), int(min(total, abi.MaxRWCount)), flags, block)
	if err != nil {
		return r, 0, socketErr(err, timed)
	}
	if err := scatter(t, iovs, r.Data); err != nil {
		return socket.Received{}, 0, err
	}
	n := len(r.Data)
	if flags&unix.MSG_TRUNC != 0 && s.Type() != unix.SOCK_STREAM {
		n = r.Len
	}
	return r, n, nil
}

// netRecvmsg is recvmsg's ending for a socket of the network stack: the
// sender's address, the family's ancillary data (what fits), the flags.
func netRecvmsg(t *kernel.Task, f *vfs.File, s socket.Socket, addr uintptr, m *msghdr, iovs []abi.Iovec, flags int) (int, error) {
	r, n, err := netRecv(t, f, s, iovs, flags)
	if err != nil {
		return 0, err
	}
	// As Linux's ____sys_recvmsg(), msg_flags keeps MSG_CMSG_CLOEXEC.
	outFlags := int32(r.Flags | flags&unix.MSG_CMSG_CLOEXEC)
	if m.Name != 0 {
		if err := copyOutSockaddr(t, uintptr(m.Name), addr+msghdrNamelen, r.From); err != nil {
			return 0, err
		}
	}
	space := int(min(m.Controllen, maxControl))
	if m.Control == 0 {
		space = 0
	}
	ctl, trunc := putCmsgs(r.Control, space)
	if trunc {
		outFlags |= unix.MSG_CTRUNC
	}
	return n, finishRecvmsg(t, addr, m, ctl, outFlags)
}

// cmsgHeader is sizeof(struct cmsghdr) on x86-64.
const cmsgHeader = 16

// putCmsgs fits the control messages of ctl into space bytes as Linux's
// put_cmsg() does, one after the other: a message that does not fit
// whole is cut, its cmsg_len saying how much of it there is, and after
// it (or when not even a header fits) nothing more comes; trunc reports
// any cut (MSG_CTRUNC).
func putCmsgs(ctl []byte, space int) (out []byte, trunc bool) {
	for len(ctl) >= cmsgHeader {
		n := int(binary.LittleEndian.Uint64(ctl))
		if n < cmsgHeader || n > len(ctl) {
			break
		}
		if space < cmsgHeader {
			return out, true
		}
		msg := append([]byte(nil), ctl[:n]...)
		if n > space {
			msg = msg[:space]
			binary.LittleEndian.PutUint64(msg, uint64(space))
			return append(out, msg...), true
		}
		aligned := min((n+7)&^7, len(ctl))
		step := min(aligned, space)
		out = append(out, ctl[:step]...)
		space -= step
		ctl = ctl[aligned:]
	}
	return out, false
}
