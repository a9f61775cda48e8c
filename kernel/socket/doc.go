// Package socket is the contract between the socket system calls
// (kernel/syscalls/sys_socket.go) and the socket families served by the
// network stack: Internet sockets (kernel/net/inet) and netlink sockets
// (kernel/net/netlink). A family's socket is an open file's
// implementation (vfs.FileImpl, vfs.Waitable, vfs.IoctlImpl) that also
// implements Socket; the system-call layer decodes the calls' arguments,
// copies memory, installs descriptors and decides how a call waits, and
// the family does the rest.
//
// Unix domain sockets (kernel/ipc/unix) predate this package and keep
// their own path through the system-call layer: they carry descriptors
// and credentials, which no other family does.
//
// Waiting. As for Unix sockets, operations never sleep by themselves:
// an operation that may wait takes a Blocker from the caller and returns
// its error when it gives up; a nil Blocker means EAGAIN instead.
//
// Locking. The package has no state; each family documents its own.
package socket
