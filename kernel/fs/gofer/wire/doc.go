// Package wire is the protocol between the gofer (internal/gofer, the
// file server outside the sandbox) and its client file system
// (kernel/fs/gofer, inside the application kernel): message layouts,
// their encoding, the validation of names and paths, and the socket
// calls that carry messages and descriptors.
//
// Transport. Every channel is one end of an AF_UNIX SOCK_SEQPACKET
// socket pair: one message per request, one per reply, so a message's
// length is the datagram's and nothing is framed by hand. A channel
// carries one request at a time: the client sends a request and waits
// for its reply on the same socket. Concurrency comes from several
// channels: the client asks for more (OpChannel) on its control channel
// and the gofer answers with a new socket in SCM_RIGHTS. OpOpen's reply
// carries the opened host file the same way, so file data never crosses
// the socket.
//
// Encoding. Little-endian fixed-width integers; strings and byte strings
// are a length (uint16 for names and paths, uint32 for values) followed
// by the bytes. A request starts with its Op and the export index; a
// reply starts with an errno (0 for success) and has a body only on
// success. Decoder never panics: a short or malformed message sets an
// error that Err reports, and both sides check it before acting.
//
// Paths. Objects are named by their path below the export's root: the
// components joined by "/", "" for the root itself. Components are never
// "", "." or "..", and never contain "/" or NUL (ValidName, ValidPath):
// the gofer refuses anything else before touching the host.
//
// Locking: none; the package holds no state.
package wire
