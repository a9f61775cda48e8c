package inet

import (
	"bytes"
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	gwaiter "gvisor.dev/gvisor/pkg/waiter"

	"magawa/kernel/socket"
	"magawa/kernel/waiter"
)

// Socket is an AF_INET or AF_INET6 socket: one netstack endpoint.
type Socket struct {
	socket.File
	stack    *Stack
	family   int
	typ      int
	protocol int
	ep       tcpip.Endpoint

	// endpointQueue is netstack's queue for ep; relay, registered on it
	// for the socket's life, passes its events on to queue, where the
	// kernel's waiters (poll, epoll, blocked calls) register.
	endpointQueue *gwaiter.Queue
	relay         gwaiter.Entry
	queue         waiter.Queue

	mu       sync.Mutex
	rcvtimeo time.Duration
	sndtimeo time.Duration
	// priority is SO_PRIORITY, kept for getsockopt: netstack has no
	// queueing disciplines for it to choose between.
	priority int32
	// connected is set once a connect has reported success (or the
	// socket was accepted): a connect after that is EISCONN, where
	// netstack would say nothing.
	connected bool
	// shutRead and shutWrite record shutdown(2), for the poll bits
	// Linux derives from it (netstack keeps no such flags to read).
	shutRead, shutWrite bool
	// errorTaken is set once a call or SO_ERROR has reported a
	// stream's error: Linux's poll shows POLLERR only until then.
	errorTaken bool

	// writeMu serializes the datagram sends that change a socket
	// option for one datagram (withTrafficClass).
	writeMu sync.Mutex
}

var _ socket.Socket = (*Socket)(nil)

// New returns a socket of family (AF_INET or AF_INET6), type and
// protocol on st. pingAllowed says whether the caller's group is in
// net.ipv4.ping_group_range (ICMP echo sockets); raw sockets need
// CAP_NET_RAW. Linux: net/ipv4/af_inet.c, inet_create().
func New(st *Stack, family, typ, protocol int, c *socket.Caller, pingAllowed bool) (*Socket, error) {
	network := ipv4.ProtocolNumber
	if family == unix.AF_INET6 {
		network = ipv6.ProtocolNumber
	}
	var transport tcpip.TransportProtocolNumber
	switch typ {
	case unix.SOCK_STREAM:
		if protocol != 0 && protocol != unix.IPPROTO_TCP {
			return nil, unix.EPROTONOSUPPORT
		}
		transport, protocol = tcp.ProtocolNumber, unix.IPPROTO_TCP
	case unix.SOCK_DGRAM:
		switch {
		case protocol == 0 || protocol == unix.IPPROTO_UDP:
			transport, protocol = udp.ProtocolNumber, unix.IPPROTO_UDP
		case family == unix.AF_INET && protocol == unix.IPPROTO_ICMP:
			transport = icmp.ProtocolNumber4
		case family == unix.AF_INET6 && protocol == unix.IPPROTO_ICMPV6:
			transport = icmp.ProtocolNumber6
		default:
			return nil, unix.EPROTONOSUPPORT
		}
		if transport != udp.ProtocolNumber && !pingAllowed {
			return nil, unix.EACCES
		}
	case unix.SOCK_RAW:
		// Raw sockets of one protocol, which receive the packets of
		// that protocol (with the IPv4 header, as Linux's) and send
		// payloads the stack puts a header on. Linux: net/ipv4/raw.c.
		if !c.HasCap(unix.CAP_NET_RAW) {
			return nil, unix.EPERM
		}
		if protocol <= 0 || protocol >= 256 || protocol == unix.IPPROTO_RAW {
			// IPPROTO_RAW (the caller writes the header) and the
			// protocol-less raw sockets are not served.
			return nil, unix.EPROTONOSUPPORT
		}
		q := new(gwaiter.Queue)
		ep, err := st.stack.NewRawEndpoint(tcpip.TransportProtocolNumber(protocol), network, q, true)
		if err != nil {
			return nil, Errno(err)
		}
		return newSocket(st, family, typ, protocol, ep, q), nil
	default:
		return nil, unix.ESOCKTNOSUPPORT
	}
	q := new(gwaiter.Queue)
	ep, err := st.stack.NewEndpoint(transport, network, q)
	if err != nil {
		return nil, Errno(err)
	}
	if transport == tcp.ProtocolNumber {
		// Nagle's algorithm is on by default on Linux, off in netstack.
		ep.SocketOptions().SetDelayOption(true)
	}
	return newSocket(st, family, typ, protocol, ep, q), nil
}

func newSocket(st *Stack, family, typ, protocol int, ep tcpip.Endpoint, q *gwaiter.Queue) *Socket {
	s := &Socket{
		File:  socket.File{Ino: st.NextIno()},
		stack: st, family: family, typ: typ, protocol: protocol,
		ep: ep, endpointQueue: q,
	}
	// netstack notifies with none of the locks Readiness takes held (it
	// was written for an epoll that asks readiness under its own lock),
	// so relaying synchronously keeps the kernel's lock order.
	s.relay = gwaiter.NewFunctionEntry(gwaiter.EventMask(allEvents), func(m gwaiter.EventMask) {
		events := uint32(m)
		if events&waiter.EventIn != 0 {
			// netstack reports a FIN or a reset as readable only: a
			// waiter for the hang-up bits alone must wake too.
			events |= waiter.EventRdHUp | waiter.EventHUp
		}
		s.queue.Notify(events)
	})
	q.EventRegister(&s.relay)
	st.socketsMu.Lock()
	st.sockets[s] = struct{}{}
	st.socketsMu.Unlock()
	return s
}

// allEvents are the readiness bits netstack reports.
const allEvents = waiter.EventIn | waiter.EventPri | waiter.EventOut | waiter.EventErr |
	waiter.EventHUp | waiter.EventRdNorm | waiter.EventRdHUp | 0x100 /* WRNORM */

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

// Release implements vfs.FileImpl: the last descriptor is gone. A TCP
// connection is closed gracefully (or reset, with SO_LINGER 0) by
// netstack in the background, as Linux does.
func (s *Socket) Release() {
	s.stack.socketsMu.Lock()
	delete(s.stack.sockets, s)
	s.stack.socketsMu.Unlock()
	s.endpointQueue.EventUnregister(&s.relay)
	s.ep.Close()
}

// Inode is the socket's inode number, as /proc/PID/fd and /proc/net
// show it.
func (s *Socket) Inode() uint64 { return s.Ino }

// Endpoint is the socket's netstack endpoint, for /proc/net to
// describe (its addresses, state and queues).
func (s *Socket) Endpoint() tcpip.Endpoint { return s.ep }

// Readiness implements vfs.Waitable.
//
// For TCP the bits follow Linux's tcp_poll() where netstack's differ:
// shutdown(2) of both directions is a hang-up and of reading makes the
// socket readable; an error is reported only for a connection that
// failed (netstack reports every bit of a closed one); urgent data is
// never there.
func (s *Socket) Readiness(mask uint32) uint32 {
	r := uint32(s.ep.Readiness(gwaiter.EventMask(mask)))
	if s.stream() {
		s.mu.Lock()
		shutRead, shutWrite := s.shutRead, s.shutWrite
		s.mu.Unlock()
		if shutRead {
			r |= waiter.EventIn | waiter.EventRdNorm | waiter.EventRdHUp
		}
		if shutRead && shutWrite {
			r |= waiter.EventHUp
		}
		if shutWrite {
			r |= waiter.EventOut
		}
		// A connection that failed has an error to report; so has one
		// that closed without this side's FIN, which only a reset does
		// (netstack's CLOSE_WAIT reset, Linux's EPIPE).
		state := tcp.EndpointState(s.ep.State())
		s.mu.Lock()
		failed := (state == tcp.StateError || state == tcp.StateClose && !s.shutWrite) && !s.errorTaken
		s.mu.Unlock()
		if !failed {
			r &^= waiter.EventErr
		}
		r &^= waiter.EventPri
	}
	return r & (mask | waiter.EventErr | waiter.EventHUp)
}

// EventRegister implements vfs.Waitable.
func (s *Socket) EventRegister(e *waiter.Entry) { s.queue.Register(e) }

// EventUnregister implements vfs.Waitable.
func (s *Socket) EventUnregister(e *waiter.Entry) { s.queue.Unregister(e) }

// retry is socket.Retry on the socket's queue.
func (s *Socket) retry(mask uint32, block socket.Blocker, op func() error) error {
	return socket.Retry(&s.queue, mask, block, op)
}

// Bind implements socket.Socket. Ports below
// net.ipv4.ip_unprivileged_port_start need CAP_NET_BIND_SERVICE.
func (s *Socket) Bind(c *socket.Caller, sa []byte) error {
	if s.family == unix.AF_INET6 && len(sa) < sin6LenRFC2133 {
		return unix.EINVAL // Linux checks the length before the family
	}
	a, f, err := parseAddress(s.family, sa)
	if err != nil {
		return err
	}
	if f == unix.AF_UNSPEC {
		// Linux takes AF_UNSPEC as AF_INET for INADDR_ANY only, an old
		// habit of programs.
		if s.family != unix.AF_INET || len(sa) < sockaddrInSize || !bytes.Equal(sa[4:8], []byte{0, 0, 0, 0}) {
			return unix.EAFNOSUPPORT
		}
		a, _, _ = parseAddress(unix.AF_INET, append([]byte{unix.AF_INET, 0}, sa[2:]...))
	} else if f != s.family {
		return unix.EAFNOSUPPORT
	}
	if a.Port != 0 && int32(a.Port) < s.stack.unprivilegedPortStart() && c != nil && !c.HasCap(unix.CAP_NET_BIND_SERVICE) {
		return unix.EACCES
	}
	return errno(s.ep.Bind(unmapV4(a)))
}

// Listen implements socket.Socket.
func (s *Socket) Listen(backlog int) error {
	if !s.stream() {
		return unix.EOPNOTSUPP
	}
	// Linux's queue is full past the backlog, not at it
	// (sk_acceptq_is_full()): it holds one connection more.
	return errno(s.ep.Listen(max(backlog, 0) + 1))
}

// Accept implements socket.Socket.
func (s *Socket) Accept(c *socket.Caller, block socket.Blocker) (socket.Socket, error) {
	if !s.stream() {
		return nil, unix.EOPNOTSUPP
	}
	var ns *Socket
	err := s.retry(waiter.EventIn, block, func() error {
		ep, q, err := s.ep.Accept(nil)
		if err != nil {
			return errno(err)
		}
		ns = newSocket(s.stack, s.family, s.typ, s.protocol, ep, q)
		s.inherit(ns)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ns, nil
}

// Connect implements socket.Socket. A blocking connect waits for the
// handshake; a non-blocking one reports EINPROGRESS and leaves the
// outcome to SO_ERROR. Linux: net/ipv4/af_inet.c,
// __inet_stream_connect().
func (s *Socket) Connect(c *socket.Caller, sa []byte, block socket.Blocker) error {
	if s.stream() {
		s.mu.Lock()
		connected := s.connected
		s.mu.Unlock()
		if connected {
			return unix.EISCONN
		}
		if s.family == unix.AF_INET6 && len(sa) < sin6LenRFC2133 && !isUnspec(sa) {
			return unix.EINVAL
		}
	}
	a, f, err := parseAddress(s.family, sa)
	if err != nil && !(err == unix.EAFNOSUPPORT && f == unix.AF_INET && !s.stream()) {
		return err
	}
	if f == unix.AF_UNSPEC {
		return errno(s.ep.Disconnect())
	}
	if f == unix.AF_INET && s.family == unix.AF_INET6 {
		// A datagram socket of AF_INET6 may be connected to an IPv4
		// address given as AF_INET. Linux: ip6_datagram_connect().
		if s.ep.SocketOptions().GetV6Only() {
			return unix.EAFNOSUPPORT
		}
		a, _, _ = parseAddress(unix.AF_INET, sa)
	} else if f != s.family {
		return unix.EAFNOSUPPORT
	}
	if err := s.checkMapped(a); err != nil {
		return err
	}
	a = unmapV4(a)
	if a.Addr.Len() == 0 {
		// Connecting to the unspecified address reaches this host, as on
		// Linux (ip_route_connect() takes it as the loopback address).
		if s.family == unix.AF_INET || f == unix.AF_INET {
			a.Addr = tcpip.AddrFrom4([4]byte{127, 0, 0, 1})
		} else {
			a.Addr = tcpip.AddrFrom16([16]byte{15: 1})
		}
	}
	cerr := s.ep.Connect(a)
	switch cerr.(type) {
	case nil:
		s.setConnected()
		return nil
	case *tcpip.ErrConnectStarted, *tcpip.ErrAlreadyConnecting:
		if block == nil {
			if _, again := cerr.(*tcpip.ErrAlreadyConnecting); again {
				return unix.EALREADY
			}
			return unix.EINPROGRESS
		}
	default:
		// The call reports the error: SO_ERROR does not again.
		s.takeError()
		return Errno(cerr)
	}
	err = s.retry(waiter.EventOut|waiter.EventErr|waiter.EventHUp, block, func() error {
		if s.Readiness(waiter.EventOut|waiter.EventErr|waiter.EventHUp) == 0 {
			return unix.EAGAIN
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := errno(s.takeError()); err != nil {
		return err
	}
	s.setConnected()
	return nil
}

// takeError returns the socket's pending error and clears it, as
// reading SO_ERROR does. netstack may hold a connection's error twice
// (its hard error and its last error): one read takes both.
func (s *Socket) takeError() tcpip.Error {
	err := s.ep.LastError()
	if err == nil {
		return nil
	}
	for range 2 {
		if s.ep.LastError() == nil {
			break
		}
	}
	if s.stream() {
		s.mu.Lock()
		s.errorTaken = true
		s.mu.Unlock()
	}
	return err
}

// setConnected records a connect reported successful, for a stream.
func (s *Socket) setConnected() {
	if s.stream() {
		s.mu.Lock()
		s.connected = true
		s.mu.Unlock()
	}
}

// checkMapped refuses an IPv4-mapped destination on a socket that is
// IPv6 only, with Linux's error.
func (s *Socket) checkMapped(a tcpip.FullAddress) error {
	if s.family != unix.AF_INET6 || a.Addr.Len() != 16 || !s.ep.SocketOptions().GetV6Only() {
		return nil
	}
	b := a.Addr.As16()
	if [12]byte(b[:12]) == [12]byte{10: 0xff, 11: 0xff} {
		return unix.ENETUNREACH
	}
	return nil
}

func isUnspec(sa []byte) bool {
	return len(sa) >= 2 && sa[0] == unix.AF_UNSPEC && sa[1] == 0
}

// inherit gives an accepted socket what Linux's copies from the
// listener (sk_clone_lock()): the options netstack does not carry over.
func (s *Socket) inherit(ns *Socket) {
	from, to := s.ep.SocketOptions(), ns.ep.SocketOptions()
	to.SetReuseAddress(from.GetReuseAddress())
	to.SetReusePort(from.GetReusePort())
	to.SetKeepAlive(from.GetKeepAlive())
	to.SetDelayOption(from.GetDelayOption())
	to.SetLinger(from.GetLinger())
	s.mu.Lock()
	ns.rcvtimeo, ns.sndtimeo, ns.priority = s.rcvtimeo, s.sndtimeo, s.priority
	s.mu.Unlock()
	ns.connected = true
}

// SockName implements socket.Socket.
func (s *Socket) SockName() ([]byte, error) {
	a, err := s.ep.GetLocalAddress()
	if err != nil {
		return nil, Errno(err)
	}
	return sockaddr(s.family, a), nil
}

// PeerName implements socket.Socket.
func (s *Socket) PeerName() ([]byte, error) {
	a, err := s.ep.GetRemoteAddress()
	if err != nil {
		return nil, Errno(err)
	}
	return sockaddr(s.family, a), nil
}

// Shutdown implements socket.Socket.
func (s *Socket) Shutdown(how int) error {
	var flags tcpip.ShutdownFlags
	switch how {
	case unix.SHUT_RD:
		flags = tcpip.ShutdownRead
	case unix.SHUT_WR:
		flags = tcpip.ShutdownWrite
	case unix.SHUT_RDWR:
		flags = tcpip.ShutdownRead | tcpip.ShutdownWrite
	default:
		return unix.EINVAL
	}
	if err := errno(s.ep.Shutdown(flags)); err != nil {
		return err
	}
	s.mu.Lock()
	s.shutRead = s.shutRead || flags&tcpip.ShutdownRead != 0
	s.shutWrite = s.shutWrite || flags&tcpip.ShutdownWrite != 0
	s.mu.Unlock()
	s.queue.Notify(allEvents)
	return nil
}

// Send implements socket.Socket.
func (s *Socket) Send(c *socket.Caller, m *socket.Message, flags int, block socket.Blocker) (int, error) {
	if flags&unix.MSG_OOB != 0 {
		return 0, unix.EOPNOTSUPP
	}
	var sc sendControl
	if len(m.Control) > 0 {
		var err error
		if s.stream() {
			err = checkStreamControl(m.Control)
		} else {
			sc, err = parseSendControl(s.family, m.Control)
		}
		if err != nil {
			return 0, err
		}
	}
	opts := tcpip.WriteOptions{More: flags&unix.MSG_MORE != 0, EndOfRecord: flags&unix.MSG_EOR != 0}
	opts.ControlMessages = sc.SendableControlMessages
	if m.To != nil && !s.stream() {
		a, f, err := parseAddress(s.family, m.To)
		switch {
		case err == unix.EAFNOSUPPORT && f == unix.AF_INET && s.family == unix.AF_INET6:
			a, _, _ = parseAddress(unix.AF_INET, m.To)
		case err != nil:
			return 0, err
		case f == unix.AF_UNSPEC:
			return 0, unix.EAFNOSUPPORT
		}
		if err := s.checkMapped(a); err != nil {
			return 0, err
		}
		a = unmapV4(a)
		opts.To = &a
	}
	if !s.stream() {
		opts.Atomic = true
		var n int64
		err := s.retry(waiter.EventOut, block, func() error {
			var werr tcpip.Error
			s.withTrafficClass(sc, func() {
				n, werr = s.ep.Write(bytes.NewReader(m.Data), opts)
			})
			return errno(werr)
		})
		return int(n), err
	}
	sent := 0
	err := s.retry(waiter.EventOut, block, func() error {
		for sent < len(m.Data) {
			n, werr := s.ep.Write(bytes.NewReader(m.Data[sent:]), opts)
			sent += int(n)
			if werr != nil {
				return errno(werr)
			}
			if n == 0 {
				return unix.EAGAIN
			}
		}
		return nil
	})
	if sent > 0 {
		// What was taken is reported and the error is not, as Linux's
		// sk_stream_error(): a reset or EPIPE shows on the next call.
		return sent, nil
	}
	if err != nil && err != unix.EAGAIN {
		// The call reports the connection's error: SO_ERROR does not
		// again (sk_stream_error() takes it with sock_error()).
		s.takeError()
	}
	return 0, err
}

// checkStreamControl is what TCP makes of a sendmsg's ancillary data:
// its socket-level records as any Internet socket's, the others passed
// over. Linux: tcp_sendmsg_locked() and sock_cmsg_send().
func checkStreamControl(ctl []byte) error {
	for len(ctl) >= cmsgHeader {
		n := int(binary.LittleEndian.Uint64(ctl))
		if n < cmsgHeader || n > len(ctl) {
			return unix.EINVAL
		}
		if int32(binary.LittleEndian.Uint32(ctl[8:])) == unix.SOL_SOCKET {
			if err := socketLevelCmsg(int32(binary.LittleEndian.Uint32(ctl[12:]))); err != nil {
				return err
			}
		}
		ctl = ctl[min(cmsgAlign(n), len(ctl)):]
	}
	return nil
}

// withTrafficClass runs write with the datagram's own IPV6_TCLASS or
// IP_TOS, which netstack takes only as a socket option: set for the
// write and put back after, under writeMu so that this socket's other
// sends with ancillary data do not see it.
func (s *Socket) withTrafficClass(sc sendControl, write func()) {
	if sc.tclass == nil && sc.tos == nil {
		write()
		return
	}
	opt, v := tcpip.IPv4TOSOption, sc.tos
	if sc.tclass != nil {
		opt, v = tcpip.IPv6TrafficClassOption, sc.tclass
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	old, err := s.ep.GetSockOptInt(opt)
	if err != nil {
		write()
		return
	}
	s.ep.SetSockOptInt(opt, *v)
	write()
	s.ep.SetSockOptInt(opt, old)
}

// recvBufferSize is how much a stream receive reads at once when the
// caller's buffer is larger than what is queued.
const recvBufferSize = 64 << 10

// maxDatagram is more than the largest datagram netstack delivers.
const maxDatagram = 65536

// Recv implements socket.Socket.
func (s *Socket) Recv(c *socket.Caller, size, flags int, block socket.Blocker) (socket.Received, error) {
	if flags&unix.MSG_OOB != 0 {
		return socket.Received{}, unix.EINVAL
	}
	if flags&unix.MSG_ERRQUEUE != 0 {
		// No error queue: IP_RECVERR is not served.
		return socket.Received{}, unix.EAGAIN
	}
	peek := flags&unix.MSG_PEEK != 0
	if !s.stream() {
		return s.recvDatagram(size, peek, block)
	}
	waitAll := flags&unix.MSG_WAITALL != 0 && !peek
	var out []byte
	err := s.retry(waiter.EventIn|waiter.EventRdHUp|waiter.EventHUp|waiter.EventErr, block, func() error {
		for len(out) < size {
			want := size - len(out)
			if q, err := s.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption); err == nil && q > 0 {
				want = min(want, q)
			} else {
				want = min(want, recvBufferSize)
			}
			buf := make([]byte, want)
			w := tcpip.SliceWriter(buf)
			res, rerr := s.ep.Read(&w, tcpip.ReadOptions{Peek: peek})
			if _, eof := rerr.(*tcpip.ErrClosedForReceive); eof {
				return nil
			}
			if rerr != nil {
				if len(out) > 0 {
					if _, again := rerr.(*tcpip.ErrWouldBlock); !again || !waitAll {
						return nil
					}
				}
				return errno(rerr)
			}
			if out == nil {
				out = buf[:res.Count]
			} else {
				out = append(out, buf[:res.Count]...)
			}
			if !peek {
				s.ep.ModerateRecvBuf(res.Count)
			}
			if !waitAll {
				return nil
			}
		}
		return nil
	})
	if len(out) > 0 {
		// A partial MSG_WAITALL read that was interrupted or timed out
		// returns what it has.
		err = nil
	}
	return socket.Received{Data: out, Len: len(out)}, err
}

func (s *Socket) recvDatagram(size int, peek bool, block socket.Blocker) (socket.Received, error) {
	var r socket.Received
	err := s.retry(waiter.EventIn|waiter.EventErr, block, func() error {
		buf := make([]byte, min(size, maxDatagram))
		w := tcpip.SliceWriter(buf)
		res, rerr := s.ep.Read(&w, tcpip.ReadOptions{Peek: peek, NeedRemoteAddr: true})
		if _, eof := rerr.(*tcpip.ErrClosedForReceive); eof {
			// A datagram socket shut down for reading reads nothing.
			return nil
		}
		if rerr != nil {
			return errno(rerr)
		}
		r = socket.Received{
			Data:    buf[:res.Count],
			Len:     res.Total,
			From:    sockaddr(s.family, res.RemoteAddr),
			Control: receivedControl(s.family, res.ControlMessages),
		}
		if res.Total > res.Count {
			r.Flags |= unix.MSG_TRUNC
		}
		return nil
	})
	return r, err
}

// errno is Errno for results that may be nil or the end of a stream.
func errno(err tcpip.Error) error {
	if err == nil {
		return nil
	}
	if e := Errno(err); e != 0 {
		return e
	}
	return nil
}

// Timeouts implements socket.Socket.
func (s *Socket) Timeouts() (recv, send time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcvtimeo, s.sndtimeo
}
