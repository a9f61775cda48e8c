package unix

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// SendArgs are a send's arguments.
type SendArgs struct {
	// Ctx resolves To when it is a path.
	Ctx *vfs.Context
	// To is sendto's destination; nil sends to the connected peer.
	To *Address
	// Data is sent; the socket keeps it (the caller must not reuse it).
	Data []byte
	// Files are the descriptors to pass (SCM_RIGHTS); the socket takes
	// its own references.
	Files []*vfs.File
	// Creds are explicit credentials (SCM_CREDENTIALS), already checked
	// against the sender's rights.
	Creds *Creds
	// Self are the sender's process ID and real user and group IDs,
	// attached when the receiver or the sender asked for credentials.
	Self Creds
	// Flags are the MSG_* flags.
	Flags int
}

// RecvArgs are a receive's arguments.
type RecvArgs struct {
	// Size is the room for data.
	Size int
	// Flags are the MSG_* flags: MSG_PEEK, MSG_WAITALL and MSG_OOB
	// matter here.
	Flags int
}

// Received is what a receive got.
type Received struct {
	// Data are the bytes read.
	Data []byte
	// Len is the whole message's length (datagrams: recv with MSG_TRUNC
	// returns it), len(Data) for a stream.
	Len int
	// Trunc is set when the message was longer than the room for it.
	Trunc bool
	// From is the sender's name.
	From Address
	// Creds are the sender's credentials for an SCM_CREDENTIALS message,
	// when the receiver has SO_PASSCRED.
	Creds *Creds
	// Files are descriptors received (SCM_RIGHTS): the caller owns a
	// reference to each.
	Files []*vfs.File
}

// DropFiles closes the received descriptors the caller has no room for.
func (r *Received) DropFiles() {
	for _, f := range r.Files {
		f.DecRef()
	}
	r.Files = nil
}

// Send sends a message (a datagram or a sequenced packet) or bytes (a
// stream), and returns the bytes sent. A stream send takes everything,
// waiting for room with block, unless block is nil (it then sends what
// fits, or fails with EAGAIN); EPIPE on a stream is the caller's cue
// for SIGPIPE. Linux: net/unix/af_unix.c, unix_stream_sendmsg() and
// unix_dgram_sendmsg().
func (s *Socket) Send(a *SendArgs, block Blocker) (int, error) {
	if len(a.Files) > ScmMaxFD {
		return 0, unix.EINVAL
	}
	if a.Flags&unix.MSG_OOB != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if s.typ == Stream {
		return s.sendStream(a, block)
	}
	return s.sendPacket(a, block)
}

// attachCreds returns the credentials a message carries: explicit ones,
// else the sender's when the sender, the receiver (or a receiver not
// accepted yet) asked for them. Linux: maybe_add_creds().
func attachCreds(a *SendArgs, senderPasscred bool, r *Socket) *Creds {
	if a.Creds != nil {
		c := *a.Creds
		return &c
	}
	if senderPasscred || r.opts.passcred || r.embryo {
		c := a.Self
		return &c
	}
	return nil
}

// takeFiles returns references of its own to the files of a send.
func takeFiles(files []*vfs.File) []*vfs.File {
	if len(files) == 0 {
		return nil
	}
	out := make([]*vfs.File, len(files))
	for i, f := range files {
		f.IncRef()
		out[i] = f
	}
	return out
}

func (s *Socket) sendStream(a *SendArgs, block Blocker) (int, error) {
	s.mu.Lock()
	st, peer, shut := s.state, s.peer, s.shutdown
	s.mu.Unlock()
	if a.To != nil {
		if st == stateConnected {
			return 0, unix.EISCONN
		}
		return 0, unix.EOPNOTSUPP
	}
	if peer == nil {
		return 0, unix.ENOTCONN
	}
	if shut&shutWrite != 0 {
		return 0, unix.EPIPE
	}
	var w waitReg
	defer w.done()
	sent := 0
	for sent < len(a.Data) {
		s.mu.Lock()
		sndbuf, shut, passcred, addr := s.opts.sndbuf, s.shutdown, s.opts.passcred, s.addr
		s.mu.Unlock()
		if shut&shutWrite != 0 {
			return partial(sent, unix.EPIPE)
		}
		if s.wmem.Load() >= int64(sndbuf) {
			if block == nil {
				return partial(sent, unix.EAGAIN)
			}
			if err := w.wait(block, &s.queue); err != nil {
				return partial(sent, err)
			}
			continue
		}
		// Pieces of half the buffer keep two in flight, as Linux does.
		n := min(len(a.Data)-sent, max(sndbuf/2-64, 1))
		m := &message{data: a.Data[sent : sent+n], from: s, charge: chargeOf(n), addr: addr}
		if sent == 0 {
			m.files = takeFiles(a.Files)
		}
		s.wmem.Add(m.charge)
		if err := peer.deliver(m, a, passcred, false); err != nil {
			dropMessages([]*message{m})
			return partial(sent, err)
		}
		sent += n
	}
	return sent, nil
}

// partial returns the bytes moved if any, else the error.
func partial(n int, err error) (int, error) {
	if n > 0 {
		return n, nil
	}
	return 0, err
}

// deliver puts m in r's queue for a sender whose arguments are a:
// EPIPE if r is closed or shut for reading; for a datagram from a
// sender r is not connected to (checkQueue), EAGAIN if r's queue is
// full.
func (r *Socket) deliver(m *message, a *SendArgs, senderPasscred, checkQueue bool) error {
	r.mu.Lock()
	if r.closed || r.shutdown&shutRead != 0 {
		r.mu.Unlock()
		return unix.EPIPE
	}
	if checkQueue && r.rq.len() > maxDgramQlen {
		r.mu.Unlock()
		return unix.EAGAIN
	}
	m.creds = attachCreds(a, senderPasscred, r)
	r.rq.push(m)
	r.mu.Unlock()
	r.queue.Notify(inEvents)
	return nil
}

func (s *Socket) sendPacket(a *SendArgs, block Blocker) (int, error) {
	s.mu.Lock()
	if s.typ == SeqPacket {
		if err := s.err; err != 0 {
			s.err = 0
			s.mu.Unlock()
			return 0, err
		}
		if s.state != stateConnected {
			s.mu.Unlock()
			return 0, unix.ENOTCONN
		}
	}
	peer, passcred, bound := s.peer, s.opts.passcred, s.addr != ""
	s.mu.Unlock()
	to := a.To
	if s.typ == SeqPacket {
		to = nil // connected: the address is ignored
	} else if to == nil && peer == nil {
		return 0, unix.ENOTCONN
	}
	if passcred && !bound {
		if err := s.Bind(a.Ctx, ""); err != nil {
			return 0, err
		}
	}
	s.mu.Lock()
	sndbuf := s.opts.sndbuf
	if len(a.Data) > sndbuf-32 {
		s.mu.Unlock()
		return 0, unix.EMSGSIZE
	}
	if err := s.err; err != 0 {
		s.err = 0
		s.mu.Unlock()
		return 0, err
	}
	if s.shutdown&shutWrite != 0 {
		s.mu.Unlock()
		return 0, unix.EPIPE
	}
	s.mu.Unlock()

	var w waitReg
	defer w.done()
	for s.wmem.Load() >= int64(sndbuf) {
		if block == nil {
			return 0, unix.EAGAIN
		}
		if err := w.wait(block, &s.queue); err != nil {
			return 0, err
		}
		s.mu.Lock()
		shut := s.shutdown
		s.mu.Unlock()
		if shut&shutWrite != 0 {
			return 0, unix.EPIPE
		}
	}

	target := peer
	if to != nil {
		var err error
		if target, err = s.ns.lookup(a.Ctx, *to, s.typ); err != nil {
			return 0, err
		}
	}
	for {
		err := s.sendTo(target, a, passcred)
		if err != unix.EAGAIN {
			if err == unix.ECONNREFUSED && to == nil {
				s.disconnect(target)
			}
			if err != nil {
				return 0, err
			}
			return len(a.Data), nil
		}
		// The receiver's queue is full: wait for it to drain.
		if block == nil {
			return 0, unix.EAGAIN
		}
		if err := w.wait(block, &target.peerWait); err != nil {
			return 0, err
		}
	}
}

// sendTo delivers one datagram or packet to target, with Linux's checks:
// a closed target refuses it, one connected to another socket does not
// take it (EPERM), one shut for reading fails with EPIPE, and one that
// is not s's peer's may be full (EAGAIN).
func (s *Socket) sendTo(target *Socket, a *SendArgs, passcred bool) error {
	target.mu.Lock()
	closed, tpeer := target.closed, target.peer
	target.mu.Unlock()
	if closed {
		if s.typ == SeqPacket {
			return unix.EPIPE
		}
		return unix.ECONNREFUSED
	}
	if tpeer != nil && tpeer != s {
		return unix.EPERM
	}
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	m := &message{data: a.Data, from: s, charge: chargeOf(len(a.Data)), addr: addr, files: takeFiles(a.Files)}
	s.wmem.Add(m.charge)
	if err := target.deliver(m, a, passcred, tpeer != s); err != nil {
		dropMessages([]*message{m})
		return err
	}
	return nil
}

// Recv receives into room for a.Size bytes. A stream receive returns
// once it has something (everything asked for with MSG_WAITALL),
// waiting with block, or 0 at end of file; a datagram or packet receive
// returns one message. Linux: net/unix/af_unix.c,
// unix_stream_read_generic() and unix_dgram_recvmsg().
func (s *Socket) Recv(a RecvArgs, block Blocker) (Received, error) {
	if a.Flags&unix.MSG_OOB != 0 {
		if s.typ == Stream {
			return Received{}, unix.EINVAL // no out-of-band data
		}
		return Received{}, unix.EOPNOTSUPP
	}
	if s.typ == Stream {
		return s.recvStream(a, block)
	}
	return s.recvPacket(a, block)
}

func (s *Socket) recvStream(a RecvArgs, block Blocker) (Received, error) {
	peek := a.Flags&unix.MSG_PEEK != 0
	s.mu.Lock()
	if s.state != stateConnected {
		s.mu.Unlock()
		return Received{}, unix.EINVAL
	}
	target := int(s.opts.rcvlowat)
	s.mu.Unlock()
	if a.Flags&unix.MSG_WAITALL != 0 || target > a.Size {
		target = a.Size
	}
	target = max(target, 1)

	var (
		r         Received
		w         waitReg
		buf       []byte
		gotCreds  bool
		creds     *Creds
		gotAddr   bool
		sawData   bool // a zero-sized receive returns once data is there
		errResult error
	)
	defer w.done()
	for {
		s.mu.Lock()
		passcred := s.opts.passcred
		if buf == nil && a.Size > 0 {
			buf = make([]byte, 0, min(a.Size, max(s.rq.bytes, 1)))
		}
		var consumed []*message
		stop := false
		// A peek starts after what it already copied.
		idx, skip := 0, 0
		if peek {
			skip = len(buf)
		}
		for idx < s.rq.len() && skip >= len(s.rq.at(idx).data) {
			skip -= len(s.rq.at(idx).data)
			idx++
		}
		if s.rq.len() > idx {
			sawData = true
		}
		// A zero-sized receive still takes the first message's
		// descriptors, as Linux's does.
		for idx < s.rq.len() && (len(buf) < a.Size || a.Size == 0) {
			m := s.rq.at(idx)
			if passcred {
				if gotCreds && !sameCreds(creds, m.creds) {
					stop = true
					break
				}
				gotCreds, creds = true, m.creds
			}
			if !gotAddr {
				r.From, gotAddr = m.addr, true
			}
			n := min(len(m.data)-skip, a.Size-len(buf))
			buf = append(buf, m.data[skip:skip+n]...)
			skip = 0
			if peek {
				if m.files != nil {
					r.Files = append(r.Files, takeFiles(m.files)...)
					stop = true
					break
				}
				if a.Size == 0 {
					break
				}
				idx++
				continue
			}
			m.data = m.data[n:]
			s.rq.bytes -= n
			hadFiles := m.files != nil
			if hadFiles {
				r.Files = append(r.Files, m.files...)
				m.files = nil
			}
			if len(m.data) > 0 {
				break // the room is full
			}
			consumed = append(consumed, s.rq.pop())
			if hadFiles {
				stop = true
				break
			}
		}
		wait := false
		switch {
		case stop || len(buf) >= target || (a.Size == 0 && sawData):
		case s.err != 0:
			if len(buf) == 0 {
				errResult = s.err
			}
			s.err = 0
		case s.shutdown&shutRead != 0:
		case block == nil:
			if len(buf) == 0 {
				errResult = unix.EAGAIN
			}
		default:
			wait = true
		}
		s.mu.Unlock()
		for _, m := range consumed {
			m.finish()
		}
		if !wait {
			break
		}
		if err := w.wait(block, &s.queue); err != nil {
			if len(buf) == 0 {
				errResult = err
			}
			break
		}
	}
	if errResult != nil {
		r.DropFiles()
		return Received{}, errResult
	}
	r.Data, r.Len = buf, len(buf)
	if s.passCred() {
		switch {
		case !gotCreds:
			r.Creds = &Creds{} // nothing read
		case creds == nil:
			r.Creds = &noCreds
		default:
			r.Creds = creds
		}
	}
	return r, nil
}

func (s *Socket) passCred() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.passcred
}

func (s *Socket) recvPacket(a RecvArgs, block Blocker) (Received, error) {
	var w waitReg
	defer w.done()
	s.mu.Lock()
	if s.typ == SeqPacket && s.state != stateConnected {
		s.mu.Unlock()
		return Received{}, unix.ENOTCONN
	}
	for {
		if err := s.err; err != 0 {
			s.err = 0
			s.mu.Unlock()
			return Received{}, err
		}
		if s.rq.len() > 0 {
			break
		}
		if s.shutdown&shutRead != 0 {
			s.mu.Unlock()
			return Received{}, nil
		}
		s.mu.Unlock()
		if block == nil {
			return Received{}, unix.EAGAIN
		}
		if err := w.wait(block, &s.queue); err != nil {
			return Received{}, err
		}
		s.mu.Lock()
	}
	m := s.rq.front()
	n := min(a.Size, len(m.data))
	r := Received{Data: m.data[:n], Len: len(m.data), Trunc: n < len(m.data), From: m.addr}
	if s.opts.passcred {
		r.Creds = m.creds
		if r.Creds == nil {
			r.Creds = &noCreds
		}
	}
	peek := a.Flags&unix.MSG_PEEK != 0
	if peek {
		r.Files = takeFiles(m.files)
	} else {
		s.rq.pop()
		r.Files, m.files = m.files, nil
	}
	s.mu.Unlock()
	if !peek {
		m.finish()
		s.peerWait.Notify(outEvents)
	}
	return r, nil
}
