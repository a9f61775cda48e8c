package unix

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Socket types.
const (
	Stream    = unix.SOCK_STREAM
	Datagram  = unix.SOCK_DGRAM
	SeqPacket = unix.SOCK_SEQPACKET
)

// Sizes and limits, Linux's defaults.
const (
	// msgOverhead is what a message costs its sender beyond its bytes
	// (counted in 64-byte units, at least one), as an skb's truesize
	// does on Linux: a small message costs 768 bytes, so a socket pair
	// takes 278 one-byte writes, as on Linux.
	msgOverhead = 704
	// maxDgramQlen is net.unix.max_dgram_qlen: a datagram socket's
	// queue takes one more message than this from senders it is not
	// connected to.
	maxDgramQlen = 10
	// somaxconn is net.core.somaxconn: listen(2) caps its backlog there.
	somaxconn = 4096
	// ScmMaxFD is SCM_MAX_FD: the most descriptors one message carries.
	ScmMaxFD = 253
)

type state uint8

const (
	stateUnconnected state = iota
	stateListening
	stateConnected
)

// Shutdown bits, as Linux's RCV_SHUTDOWN and SEND_SHUTDOWN.
const (
	shutRead  = 1
	shutWrite = 2
	shutBoth  = shutRead | shutWrite
)

// Event sets.
const (
	inEvents  = waiter.EventIn | waiter.EventRdNorm
	outEvents = waiter.EventOut | 0x100 /* WRNORM */ | 0x200 /* WRBAND */
	allEvents = inEvents | outEvents | waiter.EventErr | waiter.EventHUp | waiter.EventRdHUp
)

// Creds are the credentials a message or a connection carries (struct
// ucred), as the sandbox sees them.
type Creds struct {
	PID int32
	UID uint32
	GID uint32
}

// noCreds are what a receiver with SO_PASSCRED gets for a message sent
// without credentials: no process, the overflow user and group.
var noCreds = Creds{UID: 65534, GID: 65534}

// Socket is one Unix domain socket: the implementation of its open file.
type Socket struct {
	ns  *Namespace
	typ int
	ino uint64
	// uid and gid own the socket's inode (fstat).
	uid, gid uint32
	// creator are the credentials write(2) sends with: the FileImpl does
	// not know its caller.
	creator Creds

	// queue tells waiters about this socket's readiness.
	queue waiter.Queue
	// peerWait wakes senders waiting for room in this socket's receive
	// queue (datagrams) or backlog (connects).
	peerWait waiter.Queue
	// wmem is what this socket has sent that its receivers have not
	// consumed: bytes plus msgOverhead per message.
	wmem atomic.Int64

	// bindMu serializes binds, which run the VFS without mu held.
	bindMu sync.Mutex

	// relayMu guards relayOn: the socket whose peerWait relays to this
	// socket's queue (a datagram socket's connected peer), so that
	// poll learns when the peer's full queue drains.
	relayMu sync.Mutex
	relayOn *Socket
	relay   *waiter.Entry

	// mu guards the fields below.
	mu     sync.Mutex
	state  state
	closed bool
	// embryo is set while the socket waits in a listener's backlog.
	embryo bool
	addr   Address
	// unbind forgets a path binding.
	unbind func()
	// peer is the other end of a connection, or a datagram socket's
	// default destination. A stream socket keeps its peer after the
	// peer closes (getpeername still names it), as on Linux.
	peer     *Socket
	shutdown uint8
	// err is the pending error SO_ERROR reports (ECONNRESET).
	err unix.Errno
	rq  msgQueue
	// backlog are a listener's connections waiting for accept.
	backlog    []*Socket
	maxBacklog int
	// peerCred is SO_PEERCRED: the peer's credentials when the
	// connection was made (socketpair, connect, listen).
	peerCred    Creds
	hasPeerCred bool
	opts        options
}

// options are the socket options that are only stored or read.
type options struct {
	passcred bool
	sndbuf   int
	rcvbuf   int
	// rcvtimeo and sndtimeo: 0 waits forever, negative never waits.
	rcvtimeo time.Duration
	sndtimeo time.Duration
	rcvlowat int32
	priority int32
	linger   unix.Linger
	// flags holds the boolean options of boolOptions, bit i for
	// boolOptions[i].
	flags uint8
}

// ValidType returns the socket type a socket(2) type asks for:
// SOCK_RAW is a datagram socket, as on Linux; other types fail with
// ESOCKTNOSUPPORT. Linux: net/unix/af_unix.c, unix_create().
func ValidType(typ int) (int, error) {
	switch typ {
	case Stream, Datagram, SeqPacket:
		return typ, nil
	case unix.SOCK_RAW:
		return Datagram, nil
	}
	return 0, unix.ESOCKTNOSUPPORT
}

// New returns an unconnected socket of type typ (from ValidType), owned
// by uid and gid. creator are the credentials that write(2) sends with.
func New(ns *Namespace, typ int, uid, gid uint32, creator Creds) *Socket {
	s := &Socket{ns: ns, typ: typ, ino: ns.lastIno.Add(1), uid: uid, gid: gid, creator: creator}
	s.opts.sndbuf = socket.DefaultBuffer
	s.opts.rcvbuf = socket.DefaultBuffer
	s.opts.rcvlowat = 1
	s.relay = waiter.NewEntry(allEvents, func(uint32) { s.queue.Notify(outEvents) })
	return s
}

// NewPair returns two sockets connected to each other (socketpair(2)),
// each with creds as its peer's credentials (SO_PEERCRED).
func NewPair(ns *Namespace, typ int, uid, gid uint32, creator, creds Creds) (*Socket, *Socket) {
	a, b := New(ns, typ, uid, gid, creator), New(ns, typ, uid, gid, creator)
	for _, s := range []*Socket{a, b} {
		s.state = stateConnected
		s.peerCred, s.hasPeerCred = creds, true
	}
	a.peer, b.peer = b, a
	return a, b
}

// Type returns the socket's type (SOCK_STREAM, SOCK_DGRAM or
// SOCK_SEQPACKET).
func (s *Socket) Type() int { return s.typ }

// Of returns the socket behind an open file.
func Of(f *vfs.File) (*Socket, bool) {
	s, ok := f.Impl.(*Socket)
	return s, ok
}

// Name returns the socket's bound name ("" if unnamed): getsockname.
func (s *Socket) Name() Address {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// PeerName returns the name of the socket's peer: getpeername, ENOTCONN
// without a peer.
func (s *Socket) PeerName() (Address, error) {
	s.mu.Lock()
	p := s.peer
	s.mu.Unlock()
	if p == nil {
		return "", unix.ENOTCONN
	}
	return p.Name(), nil
}

// Timeouts returns SO_RCVTIMEO and SO_SNDTIMEO: 0 waits forever, a
// negative timeout never waits.
func (s *Socket) Timeouts() (recv, send time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.rcvtimeo, s.opts.sndtimeo
}

// ReadAt implements vfs.FileImpl: read(2) is a receive without flags,
// which drops any descriptors the data carries (there is no room for
// them), as on Linux.
func (s *Socket) ReadAt(dst []byte, _ int64) (int, error) {
	r, err := s.Recv(RecvArgs{Size: len(dst)}, nil)
	if err != nil {
		return 0, err
	}
	r.DropFiles()
	return copy(dst, r.Data), nil
}

// WriteAt implements vfs.FileImpl: write(2) is a send without flags.
// Credentials a receiver asks for (SO_PASSCRED) are the socket
// creator's: the file does not know its caller (see the package doc).
func (s *Socket) WriteAt(src []byte, _ int64) (int, error) {
	return s.Send(&SendArgs{Data: append([]byte(nil), src...), Self: s.creator}, nil)
}

// sockDev is the device number of sockfs as stat shows it.
const sockDev = 0x8

// Stat implements vfs.FileImpl: a socket inode of sockfs.
func (s *Socket) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: unix.S_IFSOCK | 0o777, Nlink: 1, Ino: s.ino, Uid: s.uid, Gid: s.gid, Blksize: 4096, Dev: sockDev}
	return nil
}

// Seekable implements vfs.FileImpl.
func (s *Socket) Seekable() bool { return false }

// ProcName names the socket in /proc/[pid]/fd.
func (s *Socket) ProcName() string { return fmt.Sprintf("socket:[%d]", s.ino) }

// EventRegister implements vfs.Waitable.
func (s *Socket) EventRegister(e *waiter.Entry) { s.queue.Register(e) }

// EventUnregister implements vfs.Waitable.
func (s *Socket) EventUnregister(e *waiter.Entry) { s.queue.Unregister(e) }

// writable reports whether a socket with this much in flight polls
// writable: at most a quarter of the send buffer used.
// Linux: net/unix/af_unix.c, unix_writable().
func (s *Socket) writable(sndbuf int) bool { return s.wmem.Load()*4 <= int64(sndbuf) }

// Readiness implements vfs.Waitable. Linux: net/unix/af_unix.c,
// unix_poll() and unix_dgram_poll().
func (s *Socket) Readiness(mask uint32) uint32 {
	s.mu.Lock()
	var r uint32
	if s.err != 0 {
		r |= waiter.EventErr
	}
	if s.shutdown == shutBoth {
		r |= waiter.EventHUp
	}
	if s.shutdown&shutRead != 0 {
		r |= waiter.EventRdHUp | inEvents
	}
	if len(s.backlog) > 0 || s.rq.len() > 0 {
		r |= inEvents
	}
	st, peer, sndbuf := s.state, s.peer, s.opts.sndbuf
	s.mu.Unlock()
	if s.typ != Datagram && st == stateUnconnected {
		r |= waiter.EventHUp
	}
	if mask&outEvents != 0 && st != stateListening && s.writable(sndbuf) {
		// A datagram socket whose peer's queue is full (and who is not
		// its peer's peer) waits for it to drain.
		if s.typ == Stream || peer == nil || !peer.queueFullFor(s) {
			r |= outEvents
		}
	}
	return r & (mask | waiter.EventErr | waiter.EventHUp)
}

// queueFullFor reports whether s's receive queue is too full to take a
// datagram from sender. Linux: unix_recvq_full(), skipped for the
// socket's own peer.
func (s *Socket) queueFullFor(sender *Socket) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.peer != sender && s.rq.len() > maxDgramQlen
}

// Release implements vfs.FileImpl: the last descriptor is closed.
func (s *Socket) Release() { s.release() }

// release closes the socket: its name goes, its queue is purged (the
// senders get their charge back, descriptors in flight are closed), its
// connected peer sees a hang-up (and ECONNRESET if data was left unread
// or the connection was never accepted), and the connections in its
// backlog are closed. Linux: net/unix/af_unix.c, unix_release_sock().
func (s *Socket) release() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	peer := s.peer
	s.peer = nil
	wasEmbryo := s.embryo
	msgs := s.rq.drain()
	pending := s.backlog
	s.backlog = nil
	unbind := s.unbind
	s.unbind = nil
	addr := s.addr
	s.mu.Unlock()

	if unbind != nil {
		unbind()
	}
	if addr.IsAbstract() {
		s.ns.unbindAbstract(addr, s)
	}
	s.setRelay(nil)
	if peer != nil && s.typ != Datagram {
		peer.mu.Lock()
		peer.shutdown = shutBoth
		if len(msgs) > 0 || wasEmbryo {
			peer.err = unix.ECONNRESET
		}
		peer.mu.Unlock()
		peer.queue.Notify(allEvents)
	}
	dropMessages(msgs)
	for _, e := range pending {
		e.release()
	}
	s.queue.Notify(allEvents)
	s.peerWait.Notify(allEvents)
}

// setRelay makes p's peerWait (nil: nobody's) relay to s's queue.
func (s *Socket) setRelay(p *Socket) {
	s.relayMu.Lock()
	defer s.relayMu.Unlock()
	if s.relayOn == p {
		return
	}
	if s.relayOn != nil {
		s.relayOn.peerWait.Unregister(s.relay)
	}
	if p != nil {
		p.peerWait.Register(s.relay)
	}
	s.relayOn = p
}

// Ioctl implements vfs.IoctlImpl: FIONREAD (SIOCINQ), SIOCOUTQ and
// SIOCATMARK. Linux: net/unix/af_unix.c, unix_ioctl().
func (s *Socket) Ioctl(io vfs.IO, request uint32, arg uintptr) (uintptr, error) {
	var v int32
	switch request {
	case unix.SIOCINQ:
		s.mu.Lock()
		listening := s.state == stateListening
		v = int32(s.inqLenLocked())
		s.mu.Unlock()
		if listening {
			return 0, unix.EINVAL
		}
	case unix.SIOCOUTQ:
		v = int32(s.wmem.Load())
	case unix.SIOCATMARK:
		v = 0 // no out-of-band data
	default:
		return 0, unix.ENOTTY
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	if n, err := io.CopyOut(arg, b[:]); err != nil || n != len(b) {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// inqLenLocked is what FIONREAD reports: the unread bytes of a stream or
// sequenced-packet socket, the next datagram's length.
// Linux: unix_inq_len().
func (s *Socket) inqLenLocked() int {
	if s.typ == Datagram {
		if m := s.rq.front(); m != nil {
			return len(m.data)
		}
		return 0
	}
	return s.rq.bytes
}

// Available returns what FIONREAD reports (0 for a listener).
func (s *Socket) Available() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inqLenLocked()
}
