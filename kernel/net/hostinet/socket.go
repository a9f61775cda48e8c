package hostinet

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
	"magawa/kernel/waiter"
)

// Socket is an AF_INET or AF_INET6 socket of the host's network stack:
// a non-blocking host descriptor the kernel holds.
type Socket struct {
	socket.File
	family   int
	typ      int
	protocol int
	// fd is the host descriptor, valid until Release: the file's
	// references keep every call that uses it before Release.
	fd int

	// queue is where the kernel's waiters (poll, epoll, blocked calls)
	// register; the poller notifies it of the host's events.
	queue waiter.Queue

	// unprivilegedPortStart is the sandbox's
	// net.ipv4.ip_unprivileged_port_start (Options).
	unprivilegedPortStart func() int32

	mu sync.Mutex
	// rcvtimeo and sndtimeo are SO_RCVTIMEO and SO_SNDTIMEO: kept
	// here, since the kernel, not the host, waits (the host descriptor
	// never blocks).
	rcvtimeo time.Duration
	sndtimeo time.Duration
}

var _ socket.Socket = (*Socket)(nil)

// lastIno numbers the sockets for fstat and /proc/PID/fd, from 2^28 on:
// apart from the Unix (2^20) and netstack (2^24) sockets' numbers.
var lastIno atomic.Uint64

func nextIno() uint64 { return 1<<28 + lastIno.Add(1) }

// Options are the sandbox's settings a host socket honours.
type Options struct {
	// UnprivilegedPortStart returns the sandbox's
	// net.ipv4.ip_unprivileged_port_start: binding a lower port needs
	// CAP_NET_BIND_SERVICE in the sandbox. nil: 1024, Linux's default.
	UnprivilegedPortStart func() int32
}

// New returns a host socket of family (AF_INET or AF_INET6), type
// (SOCK_STREAM or SOCK_DGRAM) and protocol (0, or the type's TCP or UDP).
// Raw and ICMP sockets are not passed through: the sandbox process has
// no capability to make the former, and the latter would widen what the
// seccomp filter lets the kernel open.
func New(family, typ, protocol int, opts Options) (*Socket, error) {
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return nil, unix.EAFNOSUPPORT
	}
	switch typ {
	case unix.SOCK_STREAM:
		if protocol != 0 && protocol != unix.IPPROTO_TCP {
			return nil, unix.EPROTONOSUPPORT
		}
		protocol = unix.IPPROTO_TCP
	case unix.SOCK_DGRAM:
		if protocol != 0 && protocol != unix.IPPROTO_UDP {
			return nil, unix.EPROTONOSUPPORT
		}
		protocol = unix.IPPROTO_UDP
	case unix.SOCK_RAW:
		return nil, unix.EPERM
	default:
		return nil, unix.ESOCKTNOSUPPORT
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, protocol)
	if err != nil {
		return nil, hostErr(err)
	}
	sock, err := newSocket(family, typ, protocol, fd)
	if err != nil {
		return nil, err
	}
	sock.unprivilegedPortStart = opts.UnprivilegedPortStart
	return sock, nil
}

// newSocket wraps fd, which it owns from then on (closed on failure).
func newSocket(family, typ, protocol, fd int) (*Socket, error) {
	p, err := getPoller()
	if err != nil {
		unix.Close(fd)
		return nil, unix.ENOMEM
	}
	s := &Socket{family: family, typ: typ, protocol: protocol, fd: fd, File: socket.File{Ino: nextIno()}}
	if err := p.add(s); err != nil {
		unix.Close(fd)
		return nil, hostErr(err)
	}
	return s, nil
}

// hostErr is err as the application gets it: the host's errno (a
// unix.Errno already), or the Blocker's error (an interruption, a
// timeout), which the system-call layer translates.
func hostErr(err error) error {
	if err == nil {
		return nil
	}
	return err
}

// hostEvents are a host epoll or poll event mask as the kernel's
// waiters see it: the bits are Linux's in both, and a failure or a
// hang-up wakes readers and writers alike.
func hostEvents(ev uint32) uint32 {
	if ev&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		ev |= waiter.EventIn | waiter.EventOut | waiter.EventRdHUp
	}
	if ev&unix.EPOLLRDHUP != 0 {
		ev |= waiter.EventIn
	}
	return ev
}

// Family implements socket.Socket.
func (s *Socket) Family() int { return s.family }

// Type implements socket.Socket.
func (s *Socket) Type() int { return s.typ }

// Protocol implements socket.Socket.
func (s *Socket) Protocol() int { return s.protocol }

func (s *Socket) stream() bool { return s.typ == unix.SOCK_STREAM }

// ReadAt implements vfs.FileImpl.
func (s *Socket) ReadAt(dst []byte, _ int64) (int, error) { return socket.Read(s, dst) }

// WriteAt implements vfs.FileImpl: write(2) is a send without flags.
func (s *Socket) WriteAt(src []byte, _ int64) (int, error) {
	return s.Send(nil, &socket.Message{Data: src}, 0, nil)
}

// Release implements vfs.FileImpl: the last descriptor is gone, and so
// is the host's. The host closes a TCP connection gracefully (or resets
// it, with SO_LINGER 0) in the background.
func (s *Socket) Release() {
	if p, err := getPoller(); err == nil {
		p.remove(s)
	}
	unix.Close(s.fd)
}

// Readiness implements vfs.Waitable: the host's, asked with a poll that
// does not wait.
func (s *Socket) Readiness(mask uint32) uint32 {
	fds := []unix.PollFd{{Fd: int32(s.fd), Events: int16(mask &^ (waiter.EventErr | waiter.EventHUp))}}
	n, err := unix.Ppoll(fds, &unix.Timespec{}, nil)
	if err != nil || n == 0 {
		return 0
	}
	return uint32(uint16(fds[0].Revents)) & (mask | waiter.EventErr | waiter.EventHUp)
}

// EventRegister implements vfs.Waitable.
func (s *Socket) EventRegister(e *waiter.Entry) { s.queue.Register(e) }

// EventUnregister implements vfs.Waitable.
func (s *Socket) EventUnregister(e *waiter.Entry) { s.queue.Unregister(e) }

// retry is socket.Retry on the socket's queue, woken also by errors and
// hang-ups, which the poller reports as edges of their own.
func (s *Socket) retry(mask uint32, block socket.Blocker, op func() error) error {
	return socket.Retry(&s.queue, mask|waiter.EventErr|waiter.EventHUp, block, op)
}

// Address checks. The application's address reaches the host only when
// its family is one the socket takes, cut to that family's size, so the
// host reads exactly what was checked.
const (
	sockaddrInSize  = unix.SizeofSockaddrInet4 // 16
	sockaddrIn6Size = unix.SizeofSockaddrInet6 // 28
	// sin6LenRFC2133 is the older sockaddr_in6 without sin6_scope_id,
	// which Linux still takes.
	sin6LenRFC2133 = 24
)

// addrFamily is the family an address names, or -1 if it is too short
// to name one.
func addrFamily(sa []byte) int {
	if len(sa) < 2 {
		return -1
	}
	return int(binary.LittleEndian.Uint16(sa))
}

// minAddrLen is the shortest address a socket of family takes: Linux
// checks it before the family.
func minAddrLen(family int) int {
	if family == unix.AF_INET6 {
		return sin6LenRFC2133
	}
	return sockaddrInSize
}

// hostAddr returns the address to give the host for sa, whose family
// must be one of allowed: a copy of sa cut to the socket's family's
// size (a shorter one is the host's to refuse, with the error Linux
// gives). Another family never reaches the host: the call fails as
// Linux's would, with EINVAL for an address shorter than the socket's
// family takes and wrong otherwise.
func (s *Socket) hostAddr(sa []byte, wrong error, allowed ...int) ([]byte, error) {
	f := addrFamily(sa)
	if f < 0 {
		return nil, unix.EINVAL
	}
	ok := false
	for _, a := range allowed {
		ok = ok || a == f
	}
	if !ok {
		if len(sa) < minAddrLen(s.family) {
			return nil, unix.EINVAL
		}
		return nil, wrong
	}
	size := sockaddrInSize
	if f == unix.AF_INET6 || f == unix.AF_UNSPEC && s.family == unix.AF_INET6 {
		size = sockaddrIn6Size
	}
	// A copy: the host must see what was checked even if the caller's
	// slice changed.
	out := make([]byte, min(len(sa), size))
	copy(out, sa)
	return out, nil
}

// Bind implements socket.Socket. A port below the sandbox's
// ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE in the sandbox,
// checked here: the sandbox process keeps that one capability on the
// host's network (package confine), so the host would allow any port.
func (s *Socket) Bind(c *socket.Caller, sa []byte) error {
	allowed := []int{s.family}
	if s.family == unix.AF_INET {
		// Linux takes AF_UNSPEC as AF_INET for INADDR_ANY (and refuses
		// it otherwise itself).
		allowed = append(allowed, unix.AF_UNSPEC)
	}
	a, err := s.hostAddr(sa, unix.EAFNOSUPPORT, allowed...)
	if err != nil {
		return err
	}
	if port := addrPort(a); port != 0 && int32(port) < s.portStart() && c != nil && !c.HasCap(unix.CAP_NET_BIND_SERVICE) {
		return unix.EACCES
	}
	return hostErr(hostBind(s.fd, a))
}

// Listen implements socket.Socket.
func (s *Socket) Listen(backlog int) error {
	if !s.stream() {
		return unix.EOPNOTSUPP
	}
	return hostErr(unix.Listen(s.fd, max(backlog, 0)))
}

// Accept implements socket.Socket.
func (s *Socket) Accept(c *socket.Caller, block socket.Blocker) (socket.Socket, error) {
	if !s.stream() {
		return nil, unix.EOPNOTSUPP
	}
	var nfd int
	err := s.retry(waiter.EventIn, block, func() error {
		fd, _, err := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(s.fd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if err != 0 {
			return err
		}
		nfd = int(fd)
		return nil
	})
	if err != nil {
		return nil, hostErr(err)
	}
	ns, err := newSocket(s.family, s.typ, s.protocol, nfd)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	ns.rcvtimeo, ns.sndtimeo = s.rcvtimeo, s.sndtimeo
	s.mu.Unlock()
	return ns, nil
}

// Connect implements socket.Socket. A blocking connect waits for the
// handshake and reports its outcome from SO_ERROR, as Linux's does; a
// non-blocking one reports EINPROGRESS and leaves it to SO_ERROR.
func (s *Socket) Connect(c *socket.Caller, sa []byte, block socket.Blocker) error {
	allowed := []int{s.family, unix.AF_UNSPEC}
	if s.family == unix.AF_INET6 && !s.stream() {
		// A datagram socket of AF_INET6 may be connected to an IPv4
		// address given as AF_INET (the host refuses it when
		// IPV6_V6ONLY is set). Linux: ip6_datagram_connect().
		allowed = append(allowed, unix.AF_INET)
	}
	a, err := s.hostAddr(sa, unix.EAFNOSUPPORT, allowed...)
	if err != nil {
		return err
	}
	err = hostConnect(s.fd, a)
	if err != unix.EINPROGRESS && err != unix.EALREADY || block == nil {
		return hostErr(err)
	}
	// Waiting, then connect again for the outcome, as Linux's own
	// blocking connect ends (__inet_stream_connect()): the host's
	// socket then is connected (a later connect is EISCONN) or has
	// reported and cleared its error (a later one starts over).
	return s.retry(waiter.EventOut, block, func() error {
		if s.Readiness(waiter.EventOut) == 0 {
			return unix.EAGAIN
		}
		switch err := hostConnect(s.fd, a); err {
		case unix.EINPROGRESS, unix.EALREADY:
			return unix.EAGAIN
		default:
			return err
		}
	})
}

// SockName implements socket.Socket.
func (s *Socket) SockName() ([]byte, error) {
	sa, err := hostName(s.fd, false)
	return sa, hostErr(err)
}

// PeerName implements socket.Socket.
func (s *Socket) PeerName() ([]byte, error) {
	sa, err := hostName(s.fd, true)
	return sa, hostErr(err)
}

// Shutdown implements socket.Socket.
func (s *Socket) Shutdown(how int) error {
	if how != unix.SHUT_RD && how != unix.SHUT_WR && how != unix.SHUT_RDWR {
		return unix.EINVAL
	}
	return hostErr(unix.Shutdown(s.fd, how))
}

// Flags passed to the host. MSG_DONTWAIT is not: the host descriptor
// never blocks, and the kernel decides about waiting. MSG_NOSIGNAL is
// always added: SIGPIPE is the system-call layer's to raise in the
// application, never the host's to send to the sandbox process.
const (
	sendFlags = unix.MSG_OOB | unix.MSG_DONTROUTE | unix.MSG_EOR | unix.MSG_MORE | unix.MSG_CONFIRM
	recvFlags = unix.MSG_OOB | unix.MSG_PEEK | unix.MSG_TRUNC | unix.MSG_ERRQUEUE
)

// Send implements socket.Socket.
func (s *Socket) Send(c *socket.Caller, m *socket.Message, flags int, block socket.Blocker) (int, error) {
	var to []byte
	if m.To != nil && !s.stream() {
		// A stream's send ignores the address, as TCP's does.
		// AF_UNSPEC is taken as the socket's family (udp_sendmsg()) or
		// as no address (udpv6_sendmsg(), which takes AF_INET too and
		// refuses other families with EINVAL).
		allowed := []int{s.family, unix.AF_UNSPEC}
		wrong := unix.EAFNOSUPPORT
		if s.family == unix.AF_INET6 {
			allowed = append(allowed, unix.AF_INET)
			wrong = unix.EINVAL
		}
		var err error
		if to, err = s.hostAddr(m.To, wrong, allowed...); err != nil {
			return 0, err
		}
	}
	var ctl []byte
	if len(m.Control) > 0 {
		var err error
		if ctl, err = checkSendControl(m.Control); err != nil {
			return 0, err
		}
	}
	hflags := flags&sendFlags | unix.MSG_NOSIGNAL
	if !s.stream() {
		var n int
		err := s.retry(waiter.EventOut, block, func() error {
			var err error
			n, err = hostSendmsg(s.fd, m.Data, to, ctl, hflags)
			return err
		})
		return n, hostErr(err)
	}
	sent := 0
	err := s.retry(waiter.EventOut, block, func() error {
		for sent < len(m.Data) || len(m.Data) == 0 {
			n, err := hostSendmsg(s.fd, m.Data[sent:], to, ctl, hflags)
			if err != nil {
				return err
			}
			sent += n
			ctl = nil // sent with the first piece
			if len(m.Data) == 0 {
				return nil
			}
		}
		return nil
	})
	if sent > 0 {
		// What was taken is reported and the error is not, as Linux
		// does: a reset or EPIPE shows on the next call.
		return sent, nil
	}
	return 0, hostErr(err)
}

// checkSendControl returns the ancillary data of a send to hand the
// host: the records of the IP levels (IP_PKTINFO, IP_TOS,
// IPV6_HOPLIMIT...), which the host reads as plain values. Descriptors
// and credentials (SCM_RIGHTS, SCM_CREDENTIALS) are left out, as Linux
// passes over them on an Internet socket: their numbers are the
// application's, never to reach the host. Any other record is EINVAL,
// never handed to the host.
func checkSendControl(ctl []byte) ([]byte, error) {
	msgs, err := unix.ParseSocketControlMessage(ctl)
	if err != nil || len(msgs) == 0 {
		return nil, unix.EINVAL
	}
	var out []byte
	for _, m := range msgs {
		switch m.Header.Level {
		case unix.SOL_IP, unix.SOL_IPV6, unix.SOL_UDP:
			b := make([]byte, unix.CmsgSpace(len(m.Data)))
			binary.LittleEndian.PutUint64(b, uint64(unix.CmsgLen(len(m.Data))))
			binary.LittleEndian.PutUint32(b[8:], uint32(m.Header.Level))
			binary.LittleEndian.PutUint32(b[12:], uint32(m.Header.Type))
			copy(b[unix.CmsgLen(0):], m.Data)
			out = append(out, b...)
		case unix.SOL_SOCKET:
			if m.Header.Type != unix.SCM_RIGHTS && m.Header.Type != unix.SCM_CREDENTIALS {
				return nil, unix.EINVAL
			}
		default:
			return nil, unix.EINVAL
		}
	}
	return out, nil
}

// Receive sizes.
const (
	// recvBufferSize is how much a stream receive reads at once.
	recvBufferSize = 64 << 10
	// maxDatagram is more than the largest datagram (or the part of a
	// GRO-merged one) the host returns.
	maxDatagram = 65536
	// controlSize holds the ancillary data of the options the
	// allowlist lets a program ask for (packet info, TOS, TTL, an
	// extended error), many times over.
	controlSize = 512
)

// Recv implements socket.Socket.
func (s *Socket) Recv(c *socket.Caller, size, flags int, block socket.Blocker) (socket.Received, error) {
	hflags := flags & recvFlags
	if flags&unix.MSG_ERRQUEUE != 0 {
		// The error queue never blocks: the host's answer is final.
		block = nil
	}
	if !s.stream() || hflags&(unix.MSG_PEEK|unix.MSG_OOB|unix.MSG_ERRQUEUE) != 0 {
		return s.recvOnce(size, hflags, block)
	}
	waitAll := flags&unix.MSG_WAITALL != 0
	var out []byte
	var r socket.Received
	err := s.retry(waiter.EventIn|waiter.EventRdHUp, block, func() error {
		for len(out) < size {
			buf := make([]byte, min(size-len(out), recvBufferSize))
			n, _, ctl, f, err := hostRecvmsg(s.fd, buf, nil, nil, hflags)
			if err != nil {
				if len(out) > 0 && (err != unix.EAGAIN || !waitAll) {
					return nil
				}
				return err
			}
			r.Control, r.Flags = ctl, f
			out = append(out, buf[:n]...)
			if n == 0 || !waitAll {
				return nil // the end of the stream, or not asked for more
			}
		}
		return nil
	})
	if len(out) > 0 {
		// A partial MSG_WAITALL read that was interrupted or timed out
		// returns what it has.
		err = nil
	}
	r.Data, r.Len = out, len(out)
	return r, hostErr(err)
}

// recvOnce is one receive: a datagram, or a stream's peek, urgent byte
// or error queue.
func (s *Socket) recvOnce(size, hflags int, block socket.Blocker) (socket.Received, error) {
	var r socket.Received
	limit := recvBufferSize
	if !s.stream() {
		limit = maxDatagram
	}
	err := s.retry(waiter.EventIn, block, func() error {
		buf := make([]byte, min(size, limit))
		n, from, ctl, f, err := hostRecvmsg(s.fd, buf, make([]byte, maxSockaddr), make([]byte, controlSize), hflags)
		if err != nil {
			return err
		}
		r = socket.Received{Data: buf[:min(n, len(buf))], Len: n, From: from, Control: ctl, Flags: f}
		if s.stream() {
			r.From = nil
		}
		return nil
	})
	return r, hostErr(err)
}

// Timeouts implements socket.Socket.
func (s *Socket) Timeouts() (recv, send time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcvtimeo, s.sndtimeo
}

// portStart is the lowest port binding without CAP_NET_BIND_SERVICE.
func (s *Socket) portStart() int32 {
	if s.unprivilegedPortStart == nil {
		return 1024
	}
	return s.unprivilegedPortStart()
}

// addrPort is the port of a sockaddr_in or sockaddr_in6 (network byte
// order at offset 2 in both), 0 for a shorter address.
func addrPort(sa []byte) uint16 {
	if len(sa) < 4 {
		return 0
	}
	return uint16(sa[2])<<8 | uint16(sa[3])
}
