package gofer

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/memfile"
	"magawa/kernel/userns"
)

// ClientOptions tune a Client.
type ClientOptions struct {
	// Timeout bounds each request's wait for its reply; zero means 60
	// seconds. A request that times out fails with EIO and its channel is
	// closed (a late reply must not answer a later request).
	Timeout time.Duration
	// MaxChannels bounds the requests in flight at once; zero means 16.
	MaxChannels int
	// IdleFDs bounds the read-only host descriptors kept for files no
	// longer open, for opening them again without a request
	// (fdcache.go); zero means 256, negative none.
	IdleFDs int
	// MemoryFile is the kernel's memory file, where a file mapped
	// MAP_SHARED has its pages cached (pagecache.go). Without it, files
	// are not mappable shared (as files the kernel cannot map, they
	// get copies, read-only).
	MemoryFile *memfile.File
	// UIDMap and GIDMap turn the host's file owners into the
	// container's and back (package userns); nil is the identity. A
	// host owner outside a map reads as the overflow ID, and an owner
	// the container names outside it cannot be set (EINVAL).
	UIDMap, GIDMap *userns.Map
}

// Client is the connection to one gofer: its control channel and a pool
// of request channels. It is safe for concurrent use.
type Client struct {
	timeout        time.Duration
	uidMap, gidMap *userns.Map

	// ctlMu serializes the control channel, used only to open request
	// channels.
	ctlMu sync.Mutex
	ctl   *channel // nil once closed
	// ctlFD is ctl's socket, for Close to shut it down without ctlMu.
	ctlFD     atomic.Int64
	closeOnce sync.Once

	// slots holds a token per channel in use, so at most MaxChannels
	// requests are in flight and the rest wait.
	slots chan struct{}

	// mu guards idle.
	mu   sync.Mutex
	idle []*channel

	// dead is set when the gofer has gone (or Close was called): every
	// request then fails with EIO at once.
	dead atomic.Bool

	// fds are the shared read-only descriptors of every export's files.
	fds fdCache

	// mf is ClientOptions.MemoryFile.
	mf *memfile.File
}

// channel is one socket with its buffers; it serves one request at a
// time.
type channel struct {
	fd  int
	buf []byte
	oob []byte
	enc wire.Encoder
	dec wire.Decoder
}

// errDead reports a gofer that is gone.
var errDead = errors.New("gofer: connection closed")

// NewClient returns a client of the gofer whose control channel is fd.
// The client owns fd from then on, even on error.
func NewClient(fd int, opts ClientOptions) (*Client, error) {
	if !wire.IsChannel(fd) {
		unix.Close(fd)
		return nil, errors.New("gofer: control descriptor is not a SOCK_SEQPACKET socket")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxChannels <= 0 {
		opts.MaxChannels = 16
	}
	switch {
	case opts.IdleFDs == 0:
		opts.IdleFDs = 256
	case opts.IdleFDs < 0:
		opts.IdleFDs = 0
	}
	c := &Client{timeout: opts.Timeout, slots: make(chan struct{}, opts.MaxChannels), mf: opts.MemoryFile,
		uidMap: opts.UIDMap, gidMap: opts.GIDMap}
	if c.uidMap == nil {
		c.uidMap = userns.Identity
	}
	if c.gidMap == nil {
		c.gidMap = userns.Identity
	}
	c.fds.max = opts.IdleFDs
	c.ctlFD.Store(-1)
	ctl, err := c.newChannelFD(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	c.ctl = ctl
	c.ctlFD.Store(int64(fd))
	// Open the first channel now, so that a gofer that does not serve
	// fails here rather than at the first file access.
	ch, err := c.openChannel()
	if err != nil {
		c.Close()
		return nil, err
	}
	c.idle = append(c.idle, ch)
	return c, nil
}

// Close closes every channel and the idle read-only descriptors; the
// gofer exits once it sees the control channel close. Requests in flight
// fail with EIO; files already open go on reading and writing their host
// descriptors.
func (c *Client) Close() error {
	c.closeOnce.Do(c.close)
	return nil
}

func (c *Client) close() {
	c.dead.Store(true)
	// Wake a control request in flight (it holds ctlMu) rather than
	// wait for its timeout. Only close closes the socket, so the
	// number is still ours.
	if fd := c.ctlFD.Load(); fd >= 0 {
		unix.Shutdown(int(fd), unix.SHUT_RDWR)
	}
	c.ctlMu.Lock()
	if c.ctl != nil {
		c.ctlFD.Store(-1)
		unix.Close(c.ctl.fd)
		c.ctl = nil
	}
	c.ctlMu.Unlock()
	c.mu.Lock()
	for _, ch := range c.idle {
		unix.Close(ch.fd)
	}
	c.idle = nil
	c.mu.Unlock()
	c.fds.closeAll()
}

// newChannelFD wraps a channel socket, with its timeouts set.
func (c *Client) newChannelFD(fd int) (*channel, error) {
	tv := unix.NsecToTimeval(c.timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, err
	}
	// A gofer that stops reading must not block a sender forever either.
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return nil, err
	}
	return &channel{fd: fd, buf: make([]byte, wire.MaxMessage), oob: make([]byte, wire.OOBSize)}, nil
}

// openChannel asks the gofer for a new request channel.
func (c *Client) openChannel() (*channel, error) {
	c.ctlMu.Lock()
	defer c.ctlMu.Unlock()
	if c.ctl == nil {
		return nil, unix.EIO
	}
	fd, err, healthy := c.roundTrip(c.ctl, wire.OpChannel, 0, &wire.Empty{}, &wire.Empty{}, true)
	if !healthy {
		// Without a working control channel no channel can be
		// opened again: the connection is as good as gone.
		// Close closes the socket; shutting it down keeps its number
		// from being reused meanwhile.
		c.dead.Store(true)
		unix.Shutdown(c.ctl.fd, unix.SHUT_RDWR)
	}
	if err != nil {
		return nil, err
	}
	if !wire.IsChannel(fd) {
		unix.Close(fd)
		return nil, unix.EIO
	}
	ch, err := c.newChannelFD(fd)
	if err != nil {
		unix.Close(fd)
		return nil, unix.EIO
	}
	return ch, nil
}

// get returns a channel for one request, waiting while MaxChannels are
// in use.
func (c *Client) get() (*channel, error) {
	c.slots <- struct{}{}
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		ch := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return ch, nil
	}
	c.mu.Unlock()
	ch, err := c.openChannel()
	if err != nil {
		<-c.slots
		return nil, err
	}
	return ch, nil
}

// put returns a channel after a request; an unhealthy one (its state
// unknown after a transport error or a malformed reply) is closed.
func (c *Client) put(ch *channel, healthy bool) {
	if healthy && !c.dead.Load() {
		c.mu.Lock()
		if !c.dead.Load() {
			c.idle = append(c.idle, ch)
			ch = nil
		}
		c.mu.Unlock()
	}
	if ch != nil {
		unix.Close(ch.fd)
	}
	<-c.slots
}

// call sends a request for op on export and decodes the reply into
// resp. With wantFD, the reply must carry one descriptor, which is
// returned; otherwise it must carry none. Errors are errnos: the
// gofer's, validated, or EIO for anything wrong with the gofer itself.
func (c *Client) call(op wire.Op, export uint32, req, resp wire.Message, wantFD bool) (int, error) {
	if c.dead.Load() {
		return -1, unix.EIO
	}
	ch, err := c.get()
	if err != nil {
		return -1, err
	}
	fd, err, healthy := c.roundTrip(ch, op, export, req, resp, wantFD)
	c.put(ch, healthy)
	return fd, err
}

// maxErrno is the largest errno a gofer may return (EHWPOISON). The
// kernel-internal restart codes (512 and up) must never reach the task
// loop from outside.
const maxErrno = 133

// roundTrip does one request on ch. healthy is false when the channel
// must not be used again.
func (c *Client) roundTrip(ch *channel, op wire.Op, export uint32, req, resp wire.Message, wantFD bool) (fd int, err error, healthy bool) {
	ch.enc.Reset()
	h := wire.Header{Op: op, Export: export}
	h.Encode(&ch.enc)
	req.Encode(&ch.enc)
	if ch.enc.Len() > wire.MaxMessage {
		return -1, unix.ENAMETOOLONG, true
	}
	if err := wire.Send(ch.fd, ch.enc.Bytes(), -1); err != nil {
		c.transportError(err)
		return -1, unix.EIO, false
	}
	n, fds, err := wire.Recv(ch.fd, ch.buf, ch.oob, time.Now().Add(c.timeout))
	if err != nil {
		c.transportError(err)
		return -1, unix.EIO, false
	}
	d := &ch.dec
	d.Reset(ch.buf[:n])
	errno := d.U32()
	if errno != 0 {
		closeFDs(fds)
		if d.Err() != nil || errno > maxErrno || len(fds) != 0 {
			return -1, unix.EIO, false
		}
		return -1, unix.Errno(errno), true
	}
	resp.Decode(d)
	if d.Err() != nil || wantFD != (len(fds) == 1) {
		closeFDs(fds)
		return -1, unix.EIO, false
	}
	if wantFD {
		return fds[0], nil, true
	}
	return -1, nil, true
}

// transportError notes a failed send or receive: a gofer that closed
// its end is gone for good.
func (c *Client) transportError(err error) {
	switch err {
	case io.EOF, unix.ECONNRESET, unix.EPIPE, unix.ENOTCONN, unix.EBADF:
		c.dead.Store(true)
	}
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// hostOwner turns an owner the container names into the host's; -1
// ("unchanged") passes as it is.
func (c *Client) hostOwner(uid, gid uint32) (uint32, uint32, error) {
	hostUID, hostGID := uid, gid
	var ok bool
	if uid != ^uint32(0) {
		if hostUID, ok = c.uidMap.ToHost(uid); !ok {
			return 0, 0, unix.EINVAL
		}
	}
	if gid != ^uint32(0) {
		if hostGID, ok = c.gidMap.ToHost(gid); !ok {
			return 0, 0, unix.EINVAL
		}
	}
	return hostUID, hostGID, nil
}
