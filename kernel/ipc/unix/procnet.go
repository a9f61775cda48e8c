package unix

// ProcNetInfo is what a line of /proc/net/unix shows of a socket.
type ProcNetInfo struct {
	// Type is SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
	Type int
	// Inode is the socket's inode number (socket:[N] in /proc/PID/fd).
	Inode     uint64
	Listening bool
	// Connected: a stream or sequenced-packet socket with a connection
	// (its peer may have closed since), a datagram socket with a
	// default destination.
	Connected bool
	// Name is the socket's name; an accepted connection has its
	// listener's, as getsockname says.
	Name Address
	// Pending are a listener's connections not yet accepted, which
	// Linux lists too (without a file, so with inode 0).
	Pending []ProcNetInfo
}

// ProcNetInfo describes the socket for /proc/net/unix. It takes the
// socket's mu, then each pending connection's, one at a time.
func (s *Socket) ProcNetInfo() ProcNetInfo {
	s.mu.Lock()
	in := ProcNetInfo{
		Type: s.typ, Inode: s.ino, Name: s.addr,
		Listening: s.state == stateListening,
		Connected: s.state == stateConnected || s.typ == Datagram && s.peer != nil,
	}
	pending := append([]*Socket(nil), s.backlog...)
	s.mu.Unlock()
	for _, p := range pending {
		pi := p.ProcNetInfo()
		pi.Pending = nil
		in.Pending = append(in.Pending, pi)
	}
	return in
}
