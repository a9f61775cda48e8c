package netlink

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
	"magawa/kernel/waiter"
)

// Sizes of the datagrams dumps fill. Linux: af_netlink.c,
// netlink_dump() and netlink_recvmsg().
const (
	// goodSize is NLMSG_GOODSIZE with 4 KiB pages: a dump's datagrams
	// are at least this large.
	goodSize = 3776
	// maxRecvCap is SKB_WITH_OVERHEAD(32768): a dump's datagrams grow
	// to the largest buffer a receive offered, up to this.
	maxRecvCap = 32448
)

// dump is a dump in progress: its answers, queued one datagram at a
// time as the socket is read, as Linux's netlink_dump() fills one skb
// per call.
type dump struct {
	parts [][]byte
	done  []byte
	// foldDone lets NLMSG_DONE share the parts' last datagram, as
	// Linux 6.18's rule and IPv6 address dumps have it; its other dumps
	// end with a datagram of their own.
	foldDone bool
}

// Send implements socket.Socket. A send to the kernel (no address, nl_pid
// 0, or connect's destination) serves the requests in the datagram
// before it returns, queueing the answers; a send to another socket's
// port (CAP_NET_ADMIN) queues the datagram there; what goes to a
// multicast group is dropped. Linux: af_netlink.c, netlink_sendmsg().
func (s *Socket) Send(c *socket.Caller, m *socket.Message, flags int, _ socket.Blocker) (int, error) {
	if flags&unix.MSG_OOB != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if len(m.Data) == 0 {
		return 0, unix.ENODATA
	}
	if err := checkControl(m.Control); err != nil {
		return 0, err
	}
	var dstPort, dstGroup uint32
	if len(m.To) > 0 {
		port, groups, err := parseSockaddr(m.To)
		if err != nil {
			return 0, err
		}
		dstPort, dstGroup = port, ffs(groups)
		if (dstPort != 0 || dstGroup != 0) && !hasCap(c, unix.CAP_NET_ADMIN) {
			return 0, unix.EPERM
		}
	}

	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	if len(m.To) == 0 {
		dstPort = s.dstPort
	}
	s.autobindLocked(c)
	if len(m.Data) > s.opts.sndbuf-32 {
		s.mu.Unlock()
		return 0, unix.EMSGSIZE
	}
	port, opts := s.port, s.opts
	s.mu.Unlock()

	if dstPort != 0 {
		return s.sendToPort(c, dstPort, port, m.Data)
	}
	s.serve(&request{stack: s.stack, port: port, opts: opts, netAdmin: hasCap(c, unix.CAP_NET_ADMIN)}, m.Data)
	return len(m.Data), nil
}

// sendToPort queues data in the receive queue of the socket bound to
// dst: ECONNREFUSED if there is none. A full queue fails the send with
// EAGAIN, where Linux would wait for room unless told not to.
func (s *Socket) sendToPort(c *socket.Caller, dst, from uint32, data []byte) (int, error) {
	t := s.ns.lookup(dst)
	if t == nil {
		return 0, unix.ECONNREFUSED
	}
	d := datagram{data: append([]byte(nil), data...), from: from}
	if c != nil {
		d.creds = ucred{pid: c.PID, uid: c.UID, gid: c.GID}
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return 0, unix.ECONNREFUSED
	}
	if t.rmem > t.opts.rcvbuf {
		t.mu.Unlock()
		return 0, unix.EAGAIN
	}
	t.pushLocked(d)
	t.mu.Unlock()
	t.queue.Notify(inEvents)
	return len(data), nil
}

// checkControl checks a sendmsg's ancillary data as Linux's
// __scm_send() does before netlink ignores it: well-formed records, and
// only the SOL_SOCKET types it knows.
func checkControl(b []byte) error {
	const hdr = 16 // sizeof(struct cmsghdr)
	for len(b) >= hdr {
		n := ne.Uint64(b)
		if n < hdr || n > uint64(len(b)) {
			return unix.EINVAL
		}
		if int32(ne.Uint32(b[8:])) == unix.SOL_SOCKET {
			switch int32(ne.Uint32(b[12:])) {
			case unix.SCM_RIGHTS:
			case unix.SCM_CREDENTIALS:
				if n != hdr+12 {
					return unix.EINVAL
				}
			default:
				return unix.EINVAL
			}
		}
		b = b[min(cmsgAlign(int(n)), len(b)):]
	}
	return nil
}

func cmsgAlign(n int) int { return (n + 7) &^ 7 }

// cost is what a queued datagram counts against SO_RCVBUF.
func cost(d datagram) int { return len(d.data) + skbOverhead }

func (s *Socket) pushLocked(d datagram) {
	s.rq = append(s.rq, d)
	s.rmem += cost(d)
}

// unicastLocked queues an answer of the kernel. A socket whose queue is
// over SO_RCVBUF loses it and gets ENOBUFS (unless NETLINK_NO_ENOBUFS),
// as Linux's netlink_overrun() does: the kernel never waits for a
// reader.
func (s *Socket) unicastLocked(b []byte) {
	if s.closed {
		return
	}
	if s.rmem > s.opts.rcvbuf {
		if !s.opts.noENOBUFS {
			s.err = unix.ENOBUFS
		}
		return
	}
	s.pushLocked(datagram{data: b})
}

// nextDumpLocked queues the running dump's next datagram: as many
// parts as fit in the size a reader's buffer suggests (at least one),
// then NLMSG_DONE, alone unless the dump folds it.
func (s *Socket) nextDumpLocked() {
	d := s.dump
	if d == nil || s.closed {
		return
	}
	limit := max(goodSize, s.maxRecvLen)
	var b []byte
	for len(d.parts) > 0 && (len(b) == 0 || len(b)+len(d.parts[0]) <= limit) {
		b = append(b, d.parts[0]...)
		d.parts = d.parts[1:]
	}
	if len(d.parts) == 0 && (len(b) == 0 || d.foldDone && len(b)+len(d.done) <= limit) {
		b = append(b, d.done...)
		s.dump = nil
	}
	s.pushLocked(datagram{data: b})
}

// Recv implements socket.Socket: one datagram, cut to size (MSG_TRUNC
// says so; Len is its whole length), from the kernel's address or the
// sending socket's. A pending error is reported first, once. Reading
// makes room for the next part of a running dump.
// Linux: af_netlink.c, netlink_recvmsg().
func (s *Socket) Recv(_ *socket.Caller, size, flags int, block socket.Blocker) (socket.Received, error) {
	if flags&unix.MSG_OOB != 0 {
		return socket.Received{}, unix.EOPNOTSUPP
	}
	size = max(size, 0)
	if flags&unix.MSG_DONTWAIT != 0 {
		block = nil
	}
	var r socket.Received
	err := socket.Retry(&s.queue, inEvents|waiter.EventErr, block, func() error {
		got, err, ok := s.tryRecv(size, flags)
		if !ok {
			return unix.EAGAIN
		}
		r = got
		return err
	})
	if err != nil {
		return socket.Received{}, err
	}
	return r, nil
}

// tryRecv receives what is there; ok is false when there is nothing.
func (s *Socket) tryRecv(size, flags int) (r socket.Received, err error, ok bool) {
	s.mu.Lock()
	if s.err != 0 {
		err, s.err = s.err, 0
		s.mu.Unlock()
		return socket.Received{}, err, true
	}
	if len(s.rq) == 0 {
		s.mu.Unlock()
		return socket.Received{}, nil, false
	}
	d := s.rq[0]
	if flags&unix.MSG_PEEK == 0 {
		s.rq[0] = datagram{}
		s.rq = s.rq[1:]
		s.rmem -= cost(d)
	}
	s.maxRecvLen = min(max(s.maxRecvLen, size), maxRecvCap)
	n := min(size, len(d.data))
	r = socket.Received{
		Data:    append([]byte(nil), d.data[:n]...),
		Len:     len(d.data),
		From:    sockaddr(d.from, 0),
		Control: s.controlLocked(d),
	}
	if n < len(d.data) {
		r.Flags |= unix.MSG_TRUNC
	}
	queued := false
	if s.dump != nil && s.rmem <= s.opts.rcvbuf/2 {
		s.nextDumpLocked()
		queued = true
	}
	s.mu.Unlock()
	if queued {
		s.queue.Notify(inEvents)
	}
	return r, nil, true
}

// controlLocked is the ancillary data a receive of d carries:
// NETLINK_PKTINFO (the multicast group, 0 for unicast) and
// SCM_CREDENTIALS (the sender's; the kernel's are all 0), in Linux's
// x86-64 layout, each record padded to 8 bytes.
func (s *Socket) controlLocked(d datagram) []byte {
	var b []byte
	if s.opts.pktinfo {
		b = appendCmsg(b, unix.SOL_NETLINK, unix.NETLINK_PKTINFO, make([]byte, 4))
	}
	if s.opts.passcred {
		c := make([]byte, 12)
		ne.PutUint32(c, uint32(d.creds.pid))
		ne.PutUint32(c[4:], d.creds.uid)
		ne.PutUint32(c[8:], d.creds.gid)
		b = appendCmsg(b, unix.SOL_SOCKET, unix.SCM_CREDENTIALS, c)
	}
	return b
}

func appendCmsg(b []byte, level, typ int32, data []byte) []byte {
	h := make([]byte, 16, 16+cmsgAlign(len(data)))
	ne.PutUint64(h, uint64(16+len(data)))
	ne.PutUint32(h[8:], uint32(level))
	ne.PutUint32(h[12:], uint32(typ))
	h = append(h, data...)
	for len(h)%8 != 0 {
		h = append(h, 0)
	}
	return append(b, h...)
}
