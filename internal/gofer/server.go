package gofer

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
)

// Export is one directory tree the gofer serves.
type Export struct {
	// Path is the tree's host directory. A gofer process (Start) also
	// takes a regular file, which it serves as a directory holding only
	// that file under its base name (path.Base(Path)); NewServer alone
	// takes directories only.
	Path string
	// ReadOnly refuses every change with EROFS.
	ReadOnly bool
}

// maxChannels bounds the channels a client may open, so a hostile client
// cannot exhaust the gofer's descriptors or memory (each channel has a
// goroutine and a MaxMessage buffer).
const maxChannels = 64

// Server serves exports over channels. It holds each export's root open;
// every other host descriptor it opens lives for one request.
type Server struct {
	exports []export

	mu       sync.Mutex
	channels int // open channels, the control channel included
	wg       sync.WaitGroup
}

// NewServer opens the exports' roots. A server on its own confines only
// paths (openat2 beneath each root); the gofer process (Start) adds its
// mount namespace, nodev mounts and dropped capabilities, so NewServer
// outside it is for tests.
func NewServer(exports []Export) (*Server, error) {
	s := &Server{}
	for _, e := range exports {
		fd, err := unix.Open(e.Path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			s.closeRoots()
			return nil, fmt.Errorf("opening export %s: %w", e.Path, err)
		}
		s.exports = append(s.exports, export{root: fd, readOnly: e.ReadOnly})
	}
	return s, nil
}

// ReadOnly returns each export's read-only flag, for Hello.
func (s *Server) ReadOnly() []bool {
	ro := make([]bool, len(s.exports))
	for i, e := range s.exports {
		ro[i] = e.readOnly
	}
	return ro
}

// Serve serves the control channel (whose descriptor it takes) and the
// channels opened through it, and returns when the control channel's
// client goes away. Other channels go on until their clients close them.
func (s *Server) Serve(control int) error {
	s.mu.Lock()
	s.channels++
	s.wg.Add(1)
	s.mu.Unlock()
	return s.serveChannel(control)
}

// Close waits for every channel to end, then closes the exports' roots.
func (s *Server) Close() {
	s.wg.Wait()
	s.closeRoots()
}

func (s *Server) closeRoots() {
	for _, e := range s.exports {
		unix.Close(e.root)
	}
	s.exports = nil
}

// serveChannel answers requests on fd until the client closes it.
func (s *Server) serveChannel(fd int) error {
	defer func() {
		unix.Close(fd)
		s.mu.Lock()
		s.channels--
		s.mu.Unlock()
		s.wg.Done()
	}()
	buf := make([]byte, wire.MaxMessage)
	var out wire.Encoder
	for {
		n, _, err := wire.Recv(fd, buf, nil, time.Time{})
		out.Reset()
		pass := -1
		switch {
		case err == io.EOF || err == unix.ECONNRESET:
			return nil
		case err == wire.ErrMalformed:
			// Too long, or it came with descriptors (which the
			// kernel dropped: we offer no control buffer).
			out.U32(uint32(unix.EINVAL))
		case err != nil:
			return fmt.Errorf("receiving a request: %w", err)
		default:
			pass = s.handle(buf[:n], &out)
		}
		err = wire.Send(fd, out.Bytes(), pass)
		if pass >= 0 {
			unix.Close(pass)
		}
		if err != nil {
			if err == unix.EPIPE || err == unix.ECONNRESET {
				return nil
			}
			return fmt.Errorf("sending a reply: %w", err)
		}
	}
}

// handle serves one request, encoding the reply into out. It returns a
// descriptor to send with the reply (which the caller closes), or -1.
func (s *Server) handle(msg []byte, out *wire.Encoder) int {
	d := wire.NewDecoder(msg)
	var h wire.Header
	h.Decode(d)
	if !h.Op.Valid() {
		out.U32(uint32(unix.ENOSYS))
		return -1
	}
	if h.Op == wire.OpChannel {
		if d.Err() != nil {
			out.U32(uint32(unix.EINVAL))
			return -1
		}
		fd, err := s.newChannel()
		reply(out, err, &wire.Empty{})
		return fd
	}
	if uint64(h.Export) >= uint64(len(s.exports)) {
		out.U32(uint32(unix.EINVAL))
		return -1
	}
	x := &s.exports[h.Export]
	switch h.Op {
	case wire.OpAttach:
		var req wire.Attach
		if decode(d, &req, out) {
			var r wire.AttachReply
			var err error
			r.Root, err = x.stat("")
			r.ReadOnly = x.readOnly
			reply(out, err, &r)
		}
	case wire.OpStat:
		var req wire.PathReq
		if decode(d, &req, out) {
			a, err := x.stat(req.Path)
			reply(out, err, &a)
		}
	case wire.OpReaddir:
		var req wire.ReaddirReq
		if decode(d, &req, out) {
			r, err := x.readdir(&req)
			reply(out, err, r)
		}
	case wire.OpReadlink:
		var req wire.PathReq
		if decode(d, &req, out) {
			t, err := x.readlink(req.Path)
			reply(out, err, &wire.ReadlinkReply{Target: t})
		}
	case wire.OpOpen:
		var req wire.OpenReq
		if decode(d, &req, out) {
			fd, a, err := x.open(&req)
			reply(out, err, &a)
			if err == nil {
				return fd
			}
		}
	case wire.OpCreate, wire.OpMkdir, wire.OpSymlink:
		var req wire.CreateReq
		if decode(d, &req, out) {
			r, err := x.create(h.Op, &req)
			reply(out, err, &r)
		}
	case wire.OpLink:
		var req wire.LinkReq
		if decode(d, &req, out) {
			r, err := x.link(&req)
			reply(out, err, &r)
		}
	case wire.OpUnlink:
		var req wire.UnlinkReq
		if decode(d, &req, out) {
			r, err := x.unlink(&req)
			reply(out, err, &r)
		}
	case wire.OpRename:
		var req wire.RenameReq
		if decode(d, &req, out) {
			r, err := x.rename(&req)
			reply(out, err, &r)
		}
	case wire.OpSetAttr:
		var req wire.SetAttrReq
		if decode(d, &req, out) {
			a, err := x.setAttr(&req)
			reply(out, err, &a)
		}
	case wire.OpGetXattr:
		var req wire.XattrReq
		if decode(d, &req, out) {
			v, err := x.getXattr(&req)
			reply(out, err, &wire.XattrValue{Value: v})
		}
	case wire.OpSetXattr:
		var req wire.XattrReq
		if decode(d, &req, out) {
			reply(out, x.setXattr(&req), &wire.Empty{})
		}
	case wire.OpListXattr:
		var req wire.XattrReq
		if decode(d, &req, out) {
			names, err := x.listXattr(&req)
			reply(out, err, &wire.XattrList{Names: names})
		}
	case wire.OpRemoveXattr:
		var req wire.XattrReq
		if decode(d, &req, out) {
			reply(out, x.removeXattr(&req), &wire.Empty{})
		}
	case wire.OpStatfs:
		var req wire.PathReq
		if decode(d, &req, out) {
			st, err := x.statfs(req.Path)
			reply(out, err, &st)
		}
	default:
		out.U32(uint32(unix.ENOSYS))
	}
	return -1
}

// decode reads a request's body; a malformed one is answered EINVAL.
func decode(d *wire.Decoder, m wire.Message, out *wire.Encoder) bool {
	m.Decode(d)
	if d.Err() != nil {
		out.U32(uint32(unix.EINVAL))
		return false
	}
	return true
}

// reply encodes err's errno, and body on success.
func reply(out *wire.Encoder, err error, body wire.Message) {
	if err != nil {
		out.U32(uint32(errnoOf(err)))
		return
	}
	out.U32(0)
	body.Encode(out)
}

// errnoOf turns a host error into the errno sent to the client.
func errnoOf(err error) unix.Errno {
	var errno unix.Errno
	if errors.As(err, &errno) && errno != 0 {
		return errno
	}
	return unix.EIO
}

// newChannel opens a channel for the client, served by a goroutine of
// its own, and returns the client's end.
func (s *Server) newChannel() (int, error) {
	s.mu.Lock()
	if s.channels >= maxChannels {
		s.mu.Unlock()
		return -1, unix.EMFILE
	}
	s.channels++
	s.wg.Add(1)
	s.mu.Unlock()
	fds, err := wire.SocketPair()
	if err != nil {
		s.mu.Lock()
		s.channels--
		s.mu.Unlock()
		s.wg.Done()
		return -1, err
	}
	go s.serveChannel(fds[0])
	return fds[1], nil
}
