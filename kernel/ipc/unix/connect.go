package unix

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Bind names the socket: addr is a path (made in the VFS relative to
// ctx's working directory, with ctx's umask and permissions), an
// abstract name, or "" for an autobind (which succeeds at once on a
// named socket). A named socket cannot be named again (EINVAL); a taken
// name fails with EADDRINUSE. Linux: net/unix/af_unix.c, unix_bind(),
// unix_bind_bsd(), unix_bind_abstract() and unix_autobind().
func (s *Socket) Bind(ctx *vfs.Context, addr Address) error {
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	s.mu.Lock()
	bound := s.addr != ""
	s.mu.Unlock()
	if addr == "" {
		if bound {
			return nil
		}
		name, err := s.ns.autobind(s)
		if err != nil {
			return err
		}
		s.setName(name, nil)
		return nil
	}
	if bound && addr.IsAbstract() {
		return unix.EINVAL
	}
	if bound {
		// Linux makes the file before it sees the socket is named: a
		// name in use is EADDRINUSE, another one is made and removed.
		unbind, err := s.ns.vfs.BindSocket(ctx, ctx.Cwd, string(addr), 0o777, nil)
		if err != nil {
			return err
		}
		unbind()
		s.ns.vfs.Unlink(ctx, ctx.Cwd, string(addr))
		return unix.EINVAL
	}
	if addr.IsAbstract() {
		if err := s.ns.bindAbstract(addr, s); err != nil {
			return err
		}
		s.setName(addr, nil)
		return nil
	}
	unbind, err := s.ns.vfs.BindSocket(ctx, ctx.Cwd, string(addr), 0o777, s)
	if err != nil {
		return err
	}
	s.setName(addr, unbind)
	return nil
}

func (s *Socket) setName(addr Address, unbind func()) {
	s.mu.Lock()
	s.addr, s.unbind = addr, unbind
	s.mu.Unlock()
}

// Listen makes a bound stream or sequenced-packet socket accept
// connections, up to backlog waiting (a listener takes one more than its
// backlog, as on Linux). The caller caps backlog at the sandbox's
// net.core.somaxconn, as listen(2) does; a negative one is taken as
// Linux's default somaxconn. self are the caller's credentials, which
// connecting sockets see as SO_PEERCRED. Linux: net/unix/af_unix.c,
// unix_listen().
func (s *Socket) Listen(backlog int, self Creds) error {
	if s.typ == Datagram {
		return unix.EOPNOTSUPP
	}
	if backlog < 0 {
		backlog = somaxconn
	}
	s.mu.Lock()
	if s.addr == "" || (s.state != stateUnconnected && s.state != stateListening) {
		s.mu.Unlock()
		return unix.EINVAL
	}
	grew := backlog > s.maxBacklog
	s.maxBacklog = backlog
	s.state = stateListening
	s.peerCred, s.hasPeerCred = self, true
	s.mu.Unlock()
	if grew {
		s.peerWait.Notify(allEvents)
	}
	return nil
}

// Connect connects the socket to the socket bound to addr. A stream or
// sequenced-packet socket connects to a listener: the connection waits
// in its backlog until accepted, and a full backlog makes the connect
// wait with block (EAGAIN without). A datagram socket just takes addr's
// socket as its default destination (and, connected elsewhere before,
// loses its queued datagrams, as on Linux). self are the caller's
// credentials for the listener's SO_PEERCRED.
// Linux: net/unix/af_unix.c, unix_stream_connect() and
// unix_dgram_connect().
func (s *Socket) Connect(ctx *vfs.Context, addr Address, self Creds, block Blocker) error {
	if s.passCred() {
		if err := s.Bind(ctx, ""); err != nil {
			return err
		}
	}
	target, err := s.ns.lookup(ctx, addr, s.typ)
	if err != nil {
		return err
	}
	if s.typ == Datagram {
		return s.connectDatagram(target)
	}
	var w waitReg
	defer w.done()
	for {
		// The listener's side first: Linux reports a refused or full
		// listener before the caller's own state.
		target.mu.Lock()
		refused := target.closed || target.state != stateListening || target.shutdown&shutRead != 0
		full := len(target.backlog) > target.maxBacklog
		target.mu.Unlock()
		if refused {
			return unix.ECONNREFUSED
		}
		if full {
			if block == nil {
				return unix.EAGAIN
			}
			if err := w.wait(block, &target.peerWait); err != nil {
				return err
			}
			continue
		}
		done, err := s.connectTo(target, self)
		if done || err != nil {
			return err
		}
	}
}

// connectTo queues a new connection from s in listener's backlog. It
// returns false, with no error, when the listener changed since the
// caller looked (the caller looks again).
func (s *Socket) connectTo(listener *Socket, self Creds) (bool, error) {
	s.mu.Lock()
	switch s.state {
	case stateConnected:
		s.mu.Unlock()
		return true, unix.EISCONN
	case stateListening:
		s.mu.Unlock()
		return true, unix.EINVAL
	}
	// s is not listening, so it never comes second in this order.
	listener.mu.Lock()
	if listener.closed || listener.state != stateListening || listener.shutdown&shutRead != 0 ||
		len(listener.backlog) > listener.maxBacklog {
		listener.mu.Unlock()
		s.mu.Unlock()
		return false, nil
	}
	server := New(s.ns, s.typ, listener.uid, listener.gid, listener.creator)
	server.state = stateConnected
	server.embryo = true
	server.peer = s
	server.addr = listener.addr
	server.peerCred, server.hasPeerCred = self, true
	s.peer = server
	s.state = stateConnected
	s.peerCred, s.hasPeerCred = listener.peerCred, listener.hasPeerCred
	listener.backlog = append(listener.backlog, server)
	listener.mu.Unlock()
	s.mu.Unlock()
	listener.queue.Notify(inEvents)
	return true, nil
}

// connectDatagram makes target the default destination.
func (s *Socket) connectDatagram(target *Socket) error {
	target.mu.Lock()
	closed, tpeer := target.closed, target.peer
	target.mu.Unlock()
	if closed {
		return unix.ECONNREFUSED
	}
	if tpeer != nil && tpeer != s {
		return unix.EPERM
	}
	s.mu.Lock()
	old := s.peer
	s.peer = target
	s.state = stateConnected
	s.mu.Unlock()
	s.setRelay(target)
	if old != nil && old != target {
		s.disconnected(old)
	}
	s.queue.Notify(outEvents)
	return nil
}

// Disconnect is connect(2) with AF_UNSPEC: a datagram socket forgets its
// default destination; other sockets fail with EINVAL.
func (s *Socket) Disconnect() error {
	if s.typ != Datagram {
		return unix.EINVAL
	}
	s.mu.Lock()
	old := s.peer
	s.mu.Unlock()
	if old != nil {
		s.disconnect(old)
	}
	return nil
}

// disconnect drops a datagram socket's default destination old (gone,
// or replaced by nothing).
func (s *Socket) disconnect(old *Socket) {
	s.mu.Lock()
	if s.peer != old {
		s.mu.Unlock()
		return
	}
	s.peer = nil
	s.state = stateUnconnected
	s.mu.Unlock()
	s.setRelay(nil)
	s.disconnected(old)
}

// disconnected is what a datagram socket leaving its peer old does:
// datagrams already queued are dropped, and a peer that was connected
// back (a two-way datagram pipe) learns it with ECONNRESET.
// Linux: net/unix/af_unix.c, unix_dgram_disconnected().
func (s *Socket) disconnected(old *Socket) {
	s.mu.Lock()
	if s.rq.len() == 0 {
		s.mu.Unlock()
		return
	}
	msgs := s.rq.drain()
	s.mu.Unlock()
	dropMessages(msgs)
	s.peerWait.Notify(allEvents)
	old.mu.Lock()
	reset := !old.closed && old.peer == s
	if reset {
		old.err = unix.ECONNRESET
	}
	old.mu.Unlock()
	if reset {
		old.queue.Notify(allEvents)
	}
}

// Accept takes a connection from a listener's backlog, waiting with
// block when there is none (EAGAIN without). The new socket is owned by
// uid and gid, its writes carry creator's credentials, and it inherits
// the listener's SO_PASSCRED. Linux: net/unix/af_unix.c, unix_accept().
func (s *Socket) Accept(uid, gid uint32, creator Creds, block Blocker) (*Socket, error) {
	if s.typ == Datagram {
		return nil, unix.EOPNOTSUPP
	}
	var w waitReg
	defer w.done()
	for {
		s.mu.Lock()
		if s.state != stateListening {
			s.mu.Unlock()
			return nil, unix.EINVAL
		}
		if len(s.backlog) > 0 {
			c := s.backlog[0]
			s.backlog[0] = nil
			s.backlog = s.backlog[1:]
			passcred := s.opts.passcred
			s.mu.Unlock()
			s.peerWait.Notify(outEvents)
			c.mu.Lock()
			c.embryo = false
			c.uid, c.gid, c.creator = uid, gid, creator
			c.opts.passcred = passcred
			c.mu.Unlock()
			return c, nil
		}
		shut := s.shutdown&shutRead != 0
		s.mu.Unlock()
		if shut {
			return nil, unix.EINVAL
		}
		if block == nil {
			return nil, unix.EAGAIN
		}
		if err := w.wait(block, &s.queue); err != nil {
			return nil, err
		}
	}
}

// Shutdown shuts the socket for reading, writing or both (how is
// SHUT_RD, SHUT_WR or SHUT_RDWR); a connected stream or sequenced-packet
// peer is shut the other way. Linux: net/unix/af_unix.c,
// unix_shutdown().
func (s *Socket) Shutdown(how int) error {
	if how < unix.SHUT_RD || how > unix.SHUT_RDWR {
		return unix.EINVAL
	}
	mode := uint8(how + 1) // SHUT_RD is 0, RCV_SHUTDOWN 1
	s.mu.Lock()
	s.shutdown |= mode
	peer := s.peer
	s.mu.Unlock()
	if peer != nil && s.typ != Datagram {
		var peerMode uint8
		if mode&shutRead != 0 {
			peerMode |= shutWrite
		}
		if mode&shutWrite != 0 {
			peerMode |= shutRead
		}
		peer.mu.Lock()
		peer.shutdown |= peerMode
		peer.mu.Unlock()
		peer.queue.Notify(allEvents)
	}
	s.queue.Notify(allEvents)
	s.peerWait.Notify(allEvents)
	return nil
}
