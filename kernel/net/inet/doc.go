// Package inet implements Internet sockets (AF_INET and AF_INET6:
// TCP, UDP and ICMP echo) over netstack, the user-space TCP/IP stack of
// gvisor.dev/gvisor/pkg/tcpip, and owns a sandbox's network stack: its
// interfaces, addresses and routes (Stack). The host's network stack
// never sees the container's sockets: packets between them are
// netstack's, on its loopback interface or on the link endpoints the
// sandbox attaches.
//
// Model. A Socket is the open file's implementation (vfs.FileImpl,
// vfs.Waitable, vfs.IoctlImpl) and a socket.Socket for the system-call
// layer; it wraps one netstack endpoint. netstack's readiness events
// are relayed to the socket's waiter queue by a listener registered on
// the endpoint's queue for the socket's life, so poll, epoll and the
// blocking calls wait on the kernel's own queues.
//
// Locking. netstack locks its endpoints itself. Socket.mu guards the
// socket's own options (timeouts) and is never held across a call into
// netstack that may notify waiters. Stack.mu serializes changes of
// addresses and routes.
package inet
