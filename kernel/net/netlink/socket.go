package netlink

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
	"magawa/kernel/waiter"
)

// Sizes and limits, Linux's defaults.
const (
	// skbOverhead is what a queued datagram costs beyond its bytes, as
	// an skb's truesize does on Linux.
	skbOverhead = 576
	// ngroups is RTNLGRP_MAX: NETLINK_ROUTE's multicast groups are 1 to
	// ngroups.
	ngroups = 39
)

// sockaddrLen is sizeof(struct sockaddr_nl).
const sockaddrLen = unix.SizeofSockaddrNetlink

// Event sets.
const (
	inEvents  = waiter.EventIn | waiter.EventRdNorm
	outEvents = waiter.EventOut | 0x100 /* WRNORM */ | 0x200 /* WRBAND */
	allEvents = inEvents | outEvents | waiter.EventErr | waiter.EventHUp
)

// Socket is a NETLINK_ROUTE socket: the implementation of its open
// file.
type Socket struct {
	socket.File
	stack Stack
	ns    *namespace
	typ   int

	// queue tells waiters about the socket's readiness.
	queue waiter.Queue

	// sendMu serializes the sends of one socket, so that answers are
	// queued in the order their requests were served (Linux serves a
	// request within its sendmsg). It is taken before mu.
	sendMu sync.Mutex

	// mu guards the fields below.
	mu     sync.Mutex
	closed bool
	bound  bool
	port   uint32
	// groups are the multicast groups the socket joined: bit g-1 for
	// group g.
	groups uint64
	// dstPort and dstGroup are connect's destination: a port ID and a
	// group number (not a mask); both 0 is the kernel.
	dstPort  uint32
	dstGroup uint32
	// rq holds the datagrams waiting to be received; rmem is what they
	// cost (bytes plus skbOverhead each).
	rq   []datagram
	rmem int
	// err is a pending error (ENOBUFS after answers were dropped): the
	// next receive and SO_ERROR report it, once.
	err unix.Errno
	// dump is the dump in progress, whose parts are queued as the
	// socket receives.
	dump *dump
	// maxRecvLen is the largest buffer a receive has offered (at most
	// maxRecvCap): dumps fill datagrams that large.
	maxRecvLen int
	opts       options
}

// datagram is one queued datagram and where it came from.
type datagram struct {
	data []byte
	// from is the sender's port ID, 0 for the kernel; creds are the
	// sender's (SCM_CREDENTIALS), the kernel's being all 0.
	from  uint32
	creds ucred
}

type ucred struct {
	pid      int32
	uid, gid uint32
}

var _ socket.Socket = (*Socket)(nil)

// lastIno numbers the sockets of Stacks that do not number them.
var lastIno atomic.Uint64

// New returns a NETLINK_ROUTE socket over stack, unbound. typ is
// socket(2)'s type without its flags: SOCK_RAW and SOCK_DGRAM are the
// same thing, as on Linux; protocol must be NETLINK_ROUTE, the only
// one served. Linux: net/netlink/af_netlink.c, netlink_create().
func New(stack Stack, typ, protocol int) (*Socket, error) {
	if typ != unix.SOCK_RAW && typ != unix.SOCK_DGRAM {
		return nil, unix.ESOCKTNOSUPPORT
	}
	if protocol != unix.NETLINK_ROUTE {
		return nil, unix.EPROTONOSUPPORT
	}
	s := &Socket{stack: stack, ns: namespaceOf(stack), typ: typ}
	if src, ok := stack.(inoSource); ok {
		s.Ino = src.NextIno()
	} else {
		s.Ino = lastIno.Add(1)
	}
	s.opts.rcvbuf = socket.DefaultBuffer
	s.opts.sndbuf = socket.DefaultBuffer
	return s, nil
}

// Family implements socket.Socket.
func (s *Socket) Family() int { return unix.AF_NETLINK }

// Type implements socket.Socket: SO_TYPE is the type the socket was
// made with.
func (s *Socket) Type() int { return s.typ }

// Protocol implements socket.Socket.
func (s *Socket) Protocol() int { return unix.NETLINK_ROUTE }

// namespace is the port IDs in use among the sockets of one Stack: a
// network namespace's netlink table. Linux: af_netlink.c, nl_table.
type namespace struct {
	stack Stack
	// mu guards the fields below. It is never held while taking a
	// Socket.mu: a socket is looked up, then locked.
	mu      sync.Mutex
	ports   map[uint32]*Socket
	sockets int
}

// namespaces holds the namespace of each Stack that has sockets.
var namespaces struct {
	sync.Mutex
	m map[Stack]*namespace
}

// namespaceOf returns stack's namespace, counting one more socket in
// it.
func namespaceOf(stack Stack) *namespace {
	namespaces.Lock()
	defer namespaces.Unlock()
	if namespaces.m == nil {
		namespaces.m = map[Stack]*namespace{}
	}
	ns := namespaces.m[stack]
	if ns == nil {
		ns = &namespace{stack: stack, ports: map[uint32]*Socket{}}
		namespaces.m[stack] = ns
	}
	ns.mu.Lock()
	ns.sockets++
	ns.mu.Unlock()
	return ns
}

// release forgets s, and the namespace with its last socket.
func (ns *namespace) release(s *Socket, port uint32, bound bool) {
	namespaces.Lock()
	defer namespaces.Unlock()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if bound && ns.ports[port] == s {
		delete(ns.ports, port)
	}
	ns.sockets--
	if ns.sockets == 0 {
		delete(namespaces.m, ns.stack)
	}
}

// insert binds s to port: EADDRINUSE if another socket has it.
func (ns *namespace) insert(s *Socket, port uint32) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if _, ok := ns.ports[port]; ok {
		return unix.EADDRINUSE
	}
	ns.ports[port] = s
	return nil
}

// autobind binds s to a free port: the caller's process ID if free,
// else a random negative one, as Linux's netlink_autobind() does.
func (ns *namespace) autobind(s *Socket, pid int32) uint32 {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	port := uint32(pid)
	for port == 0 || ns.ports[port] != nil {
		// In [S32_MIN, -4097], as Linux picks after a collision.
		port = uint32(int32(math.MinInt32 + rand.Int64N(-4096-math.MinInt32)))
	}
	ns.ports[port] = s
	return port
}

func (ns *namespace) lookup(port uint32) *Socket {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.ports[port]
}

// hasCap reports whether c has capability cp; a call without a caller
// (the FileImpl's) has none.
func hasCap(c *socket.Caller, cp int) bool {
	return c != nil && c.HasCap != nil && c.HasCap(cp)
}

// autobindLocked binds an unbound socket, as a send or connect does.
func (s *Socket) autobindLocked(c *socket.Caller) {
	if s.bound {
		return
	}
	var pid int32
	if c != nil {
		pid = c.PID
	}
	s.port = s.ns.autobind(s, pid)
	s.bound = true
}

// parseSockaddr reads a struct sockaddr_nl of sa, the caller's addrlen
// bytes: the port ID and the group mask.
func parseSockaddr(sa []byte) (port, groups uint32, err error) {
	if len(sa) < sockaddrLen || ne.Uint16(sa) != unix.AF_NETLINK {
		return 0, 0, unix.EINVAL
	}
	return ne.Uint32(sa[4:]), ne.Uint32(sa[8:]), nil
}

func sockaddr(port, groups uint32) []byte {
	b := make([]byte, sockaddrLen)
	ne.PutUint16(b, unix.AF_NETLINK)
	ne.PutUint32(b[4:], port)
	ne.PutUint32(b[8:], groups)
	return b
}

// groupMask is the nl_groups of group number g.
func groupMask(g uint32) uint32 {
	if g == 0 || g > 32 {
		return 0
	}
	return 1 << (g - 1)
}

// Bind implements socket.Socket: nl_pid 0 binds to a port of the
// kernel's choosing, another nl_pid to that port; nl_groups joins the
// first 32 multicast groups (and leaves those of them not set). A bound
// socket may bind again to its own port only, to change its groups.
// Linux: af_netlink.c, netlink_bind().
func (s *Socket) Bind(c *socket.Caller, sa []byte) error {
	port, groups, err := parseSockaddr(sa)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound && port != s.port {
		return unix.EINVAL
	}
	if groups&(groupMask(unix.RTNLGRP_IPV4_MROUTE_R)|groupMask(unix.RTNLGRP_IPV6_MROUTE_R)) != 0 &&
		!hasCap(c, unix.CAP_NET_ADMIN) {
		return unix.EPERM // Linux: rtnetlink_bind()
	}
	if !s.bound {
		if port == 0 {
			s.autobindLocked(c)
		} else {
			if err := s.ns.insert(s, port); err != nil {
				return err
			}
			s.port, s.bound = port, true
		}
	}
	s.groups = s.groups&^math.MaxUint32 | uint64(groups)
	return nil
}

// Connect implements socket.Socket: it sets the destination of sends
// without an address. AF_UNSPEC disconnects; a destination other than
// the kernel needs CAP_NET_ADMIN (NETLINK_ROUTE lets no one else send
// to other sockets). Linux: af_netlink.c, netlink_connect().
func (s *Socket) Connect(c *socket.Caller, sa []byte, _ socket.Blocker) error {
	if len(sa) < 2 {
		return unix.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ne.Uint16(sa) == unix.AF_UNSPEC {
		s.dstPort, s.dstGroup = 0, 0
		return nil
	}
	port, groups, err := parseSockaddr(sa)
	if err != nil {
		return err
	}
	if (port != 0 || groups != 0) && !hasCap(c, unix.CAP_NET_ADMIN) {
		return unix.EPERM
	}
	s.autobindLocked(c)
	s.dstPort, s.dstGroup = port, ffs(groups)
	return nil
}

// ffs is the number of the lowest bit set in v, from 1; 0 for none.
func ffs(v uint32) uint32 {
	for i := uint32(0); i < 32; i++ {
		if v&(1<<i) != 0 {
			return i + 1
		}
	}
	return 0
}

// SockName implements socket.Socket: the port (0 until bound) and the
// first 32 groups.
func (s *Socket) SockName() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sockaddr(s.port, uint32(s.groups)), nil
}

// PeerName implements socket.Socket: the destination connect set, the
// kernel's address for an unconnected socket (never ENOTCONN, as on
// Linux).
func (s *Socket) PeerName() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sockaddr(s.dstPort, groupMask(s.dstGroup)), nil
}

// Listen implements socket.Socket.
func (s *Socket) Listen(int) error { return unix.EOPNOTSUPP }

// Accept implements socket.Socket.
func (s *Socket) Accept(*socket.Caller, socket.Blocker) (socket.Socket, error) {
	return nil, unix.EOPNOTSUPP
}

// Shutdown implements socket.Socket.
func (s *Socket) Shutdown(int) error { return unix.EOPNOTSUPP }

// Timeouts implements socket.Socket: 0 waits forever, a negative
// timeout never waits.
func (s *Socket) Timeouts() (recv, send time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.rcvtimeo, s.opts.sndtimeo
}

// ReadAt implements vfs.FileImpl.
func (s *Socket) ReadAt(dst []byte, _ int64) (int, error) { return socket.Read(s, dst) }

// WriteAt implements vfs.FileImpl: write(2) is a send without flags,
// by a caller without capabilities (the FileImpl does not know its
// caller; the system-call layer routes writes to Send with theirs).
func (s *Socket) WriteAt(src []byte, _ int64) (int, error) {
	return s.Send(nil, &socket.Message{Data: append([]byte(nil), src...)}, 0, nil)
}

// EventRegister implements vfs.Waitable.
func (s *Socket) EventRegister(e *waiter.Entry) { s.queue.Register(e) }

// EventUnregister implements vfs.Waitable.
func (s *Socket) EventUnregister(e *waiter.Entry) { s.queue.Unregister(e) }

// Readiness implements vfs.Waitable: readable with a datagram queued,
// an error with one pending, always writable (a send to the kernel is
// served at once). Linux: net/core/datagram.c, datagram_poll().
func (s *Socket) Readiness(mask uint32) uint32 {
	s.mu.Lock()
	r := uint32(outEvents)
	if len(s.rq) > 0 {
		r |= inEvents
	}
	if s.err != 0 {
		r |= waiter.EventErr
	}
	s.mu.Unlock()
	return r & (mask | waiter.EventErr | waiter.EventHUp)
}

// Release implements vfs.FileImpl: the last descriptor is closed; the
// port is free again and what was queued is dropped.
func (s *Socket) Release() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.rq, s.rmem, s.dump = nil, 0, nil
	port, bound := s.port, s.bound
	s.mu.Unlock()
	s.ns.release(s, port, bound)
	s.queue.Notify(allEvents)
}
