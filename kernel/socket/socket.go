package socket

import (
	"time"

	"magawa/kernel/vfs"
)

// Blocker waits until ch is ready, the caller is interrupted (an error
// the system-call layer turns into EINTR or a restart) or its deadline
// passes.
type Blocker func(ch <-chan struct{}) error

// Caller is what a socket operation may need to know of the calling
// task.
type Caller struct {
	// PID is the caller's thread-group ID, UID and GID its effective
	// IDs: what an address or a message records of its creator.
	PID      int32
	UID, GID uint32
	// HasCap reports whether the caller has a capability in the
	// sandbox's user namespace.
	HasCap func(capability int) bool
}

// Message is what a send passes to the family.
type Message struct {
	// Data is the payload. A stream send may take only part of it.
	Data []byte
	// To is the destination address of sendto and sendmsg, raw
	// (struct sockaddr as the application wrote it), nil for none.
	To []byte
	// Control is the ancillary data of sendmsg, raw (struct cmsghdr
	// records).
	Control []byte
}

// Received is what a receive returns.
type Received struct {
	// Data is what was read.
	Data []byte
	// Len is the whole datagram's length, for MSG_TRUNC (len(Data) for
	// streams).
	Len int
	// From is the sender's address, raw; nil if it has none.
	From []byte
	// Control is ancillary data, as struct cmsghdr records, that the
	// family produced for this message (IP_PKTINFO, timestamps): the
	// system-call layer copies what fits and sets MSG_CTRUNC otherwise.
	Control []byte
	// Flags are the MSG_* flags recvmsg reports (MSG_TRUNC, MSG_EOR...).
	Flags int
}

// Socket is a socket of a family served by the network stack.
type Socket interface {
	vfs.FileImpl
	vfs.Waitable

	// Family, Type and Protocol are SO_DOMAIN, SO_TYPE and SO_PROTOCOL.
	Family() int
	Type() int
	Protocol() int

	Bind(c *Caller, sa []byte) error
	Listen(backlog int) error
	// Accept returns the next connection, as a new socket that the
	// caller wraps in a file.
	Accept(c *Caller, block Blocker) (Socket, error)
	Connect(c *Caller, sa []byte, block Blocker) error
	// SockName and PeerName return raw struct sockaddr bytes.
	SockName() ([]byte, error)
	PeerName() ([]byte, error)
	Shutdown(how int) error

	// Send sends m with the MSG_* flags and returns the bytes taken.
	// A stream socket takes all of m.Data unless the Blocker gives up or
	// an error ends it early, in which case it reports what it took.
	Send(c *Caller, m *Message, flags int, block Blocker) (int, error)
	// Recv receives at most size bytes with the MSG_* flags.
	Recv(c *Caller, size int, flags int, block Blocker) (Received, error)

	// SetSockopt and GetSockopt serve options at every level, including
	// SOL_SOCKET. GetSockopt is given the caller's buffer length and may
	// return more; the system-call layer cuts it.
	SetSockopt(c *Caller, level, name int, val []byte) error
	GetSockopt(c *Caller, level, name int, size int) ([]byte, error)

	// Timeouts returns SO_RCVTIMEO and SO_SNDTIMEO (0: none).
	Timeouts() (recv, send time.Duration)
}

// Of returns the socket behind an open file.
func Of(f *vfs.File) (Socket, bool) {
	s, ok := f.Impl.(Socket)
	return s, ok
}
