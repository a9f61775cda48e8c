// Package hostinet implements Internet sockets (AF_INET and AF_INET6,
// TCP and UDP) over the host's network stack, for --network=host
// (gVisor's "hostinet"): each socket of the application is a host
// socket descriptor the kernel holds. It is the fast option and the
// less isolated one: the host's stack, not the sandbox's, parses the
// container's traffic, the container shares the host's addresses,
// ports and routes, and the sandbox process's seccomp filter must let
// it make Internet sockets. Unix and netlink sockets stay the
// sandbox's.
//
// What it owns. The host descriptors (non-blocking, close-on-exec,
// closed on Release), and one host epoll instance for the whole
// process with the goroutine that waits on it (poller.go). It keeps no
// copy of the host's socket state: every call goes to the host, except
// SO_RCVTIMEO and SO_SNDTIMEO, which the kernel's waiting needs.
//
// What the host is given. Addresses are the application's raw
// sockaddr bytes, after their family has been checked against the
// socket's and cut to that family's size; socket options only from an
// allowlist of plain-valued ones (options.go), ENOPROTOOPT for the
// rest; ancillary data of a send only at the IP levels; ioctls only the
// queue sizes and the fixed-size interface queries. MSG_NOSIGNAL is
// always added: the host never sends the sandbox process SIGPIPE.
//
// Waiting, as kernel/net/inet does it: operations never sleep
// themselves. A call the host answers with EAGAIN registers on the
// socket's waiter queue, tries again, and waits with the caller's
// Blocker (nil: EAGAIN). Each descriptor is in the poller's epoll
// instance, edge-triggered; the poller notifies the socket's queue of
// each change. Readiness asks the host with a poll that does not wait.
//
// Locking. Socket.mu guards the two timeouts and is a leaf. poller.mu
// guards its descriptor-to-socket map and is released before a queue
// is notified, so that waiters' callbacks may call Readiness; the queue
// notifications take only waiter.Queue.mu. Nothing here takes a lock of
// another package.
package hostinet
