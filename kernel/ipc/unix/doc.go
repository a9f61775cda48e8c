// Package unix implements Unix domain sockets (AF_UNIX): stream,
// datagram and sequenced-packet sockets, their names (paths bound
// through the VFS, abstract names, autobind), connections with a listen
// backlog, data with Linux's send-buffer accounting, shutdown,
// readiness, and the ancillary data they carry (descriptors and
// credentials). Importers name it unixsock, beside x/sys/unix.
//
// Model. A Socket is the open file's implementation (vfs.FileImpl and
// vfs.Waitable). Every socket has a receive queue of messages; sending
// puts a message in the receiver's queue and charges its bytes (plus a
// fixed overhead, as Linux charges an skb's truesize) to the sender,
// which may not have more than SO_SNDBUF in flight: the receiver
// consuming a message releases the charge. Stream sockets read messages
// as one byte stream (stopping after a message that carries
// descriptors, and, with SO_PASSCRED, between messages from different
// senders); datagram and sequenced-packet sockets read one message at a
// time. A connect to a listening socket makes the server's socket at
// once and queues it in the listener's backlog, so the client can send
// before accept, as on Linux.
//
// Waiting. Operations never sleep by themselves: those that may wait
// take a Blocker from the caller (the system-call layer, which knows
// about signals and SO_RCVTIMEO/SO_SNDTIMEO deadlines) and return its
// error when it gives up. A nil Blocker means the caller does not wait
// (O_NONBLOCK, MSG_DONTWAIT, read and write through the FileImpl): the
// operation fails with EAGAIN instead.
//
// Descriptors in flight. A message holds a reference to each file it
// carries until it is received or its queue is purged. A socket whose
// own file is in flight in its own queue (directly or through a cycle
// of sockets) keeps itself alive: there is no garbage collector of such
// cycles as Linux's net/unix/garbage.c, so they leak until the sandbox
// ends.
//
// read(2) and write(2). The FileImpl's ReadAt and WriteAt are a receive
// and a send without flags, for callers that see one buffer at a time.
// The system-call layer does better when it routes the read and write
// families to its socket code (kernel/syscalls/sys_socket.go,
// socketReadv and socketWritev): one datagram across all of readv's
// buffers, an empty write sending an empty datagram, SO_RCVTIMEO and
// SO_SNDTIMEO, SIGPIPE for streams only, and the writer's own
// credentials; through the FileImpl, a write carries the credentials of
// the socket's creator.
//
// Not implemented: out-of-band data (MSG_OOB), SO_PEEK_OFF, timestamps
// (SO_TIMESTAMP and friends), SO_PASSPIDFD and SO_PASSSEC, socket
// filters, and fchmod of a socket before bind changing the mode of the
// file bind makes. SIOCOUTQ counts the per-message overhead, as Linux
// counts truesize, so its values differ from Linux's; SO_RCVTIMEO and
// SO_SNDTIMEO are kept exactly, where Linux rounds them to clock ticks.
//
// Locking. Socket.mu guards a socket's state, options and receive
// queue. At most one Socket.mu is held at a time, with one exception: a
// stream connect holds the connecting socket's mu and then the
// listener's (a listening socket never connects, so the order is
// fixed). The waiter queues (Socket.queue, Socket.peerWait) are never
// registered on, unregistered from or notified with a Socket.mu held:
// epoll holds its own lock while it asks a socket's readiness, and its
// callbacks run under the queue's lock. Socket.relayMu serializes the
// relay of a connected datagram socket's peer's peerWait to its own
// queue and is taken with no Socket.mu held. Namespace.mu guards the
// abstract names and is taken with no Socket.mu held, or under the
// binding socket's bindMu. The wmem counters are atomic.
package unix
