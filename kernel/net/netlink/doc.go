// Package netlink implements AF_NETLINK sockets of protocol
// NETLINK_ROUTE: the requests through which ip(8), busybox ip, glibc's
// getifaddrs() and if_nameindex(), and Go's net.Interfaces() read the
// sandbox's links, addresses, routes and routing rules, and change the
// links' state and the addresses. Socket owns a socket's binding (port
// ID, multicast groups, connect's destination), options, receive queue
// and the dump it has running; the links, addresses and routes are the
// Stack's (kernel/net/inet), described with the attributes, values and
// order Linux 6.18 gives the same devices.
//
// Model. Linux serves a request within the sendmsg that carries it, and
// so does Send: each message of the datagram is read and served in turn
// (netlink_rcv_skb()), its answers, acknowledgment or NLMSG_ERROR
// queued on the sender's receive queue before Send returns. A dump's
// answers are made at once but queued a datagram at a time, the next
// when the reader has taken enough (at most half of SO_RCVBUF queued),
// each datagram as large as the reader's largest buffer (at least
// NLMSG_GOODSIZE, at most 32 KiB), and NLMSG_DONE in a datagram of its
// own (but for the dumps Linux ends in their last datagram), as
// Linux's netlink_dump() does; a socket runs one dump at a time
// (EBUSY). Answers that find the queue over SO_RCVBUF are dropped and
// the next receive fails with ENOBUFS. Recv returns one datagram, from
// the kernel's address (port 0).
//
// Rights. Every request but a GET needs CAP_NET_ADMIN in the sandbox's
// user namespace, checked on the sending Caller (EPERM); Linux also
// requires it of the socket's opener, unless the send names its
// destination, which New, knowing no caller, does not check. A send
// through the FileImpl (WriteAt) has no caller and no capabilities.
//
// Port IDs. Sockets of one Stack share a space of port IDs (Linux's
// per-namespace netlink table): bind takes one that is free
// (EADDRINUSE), and autobind (a bind to port 0, or the first send or
// connect) takes the caller's process ID if it is free, else a random
// negative one, as Linux does.
//
// Not implemented: multicast notifications (a socket may join groups,
// by bind or NETLINK_ADD_MEMBERSHIP, and they are recorded and
// reported, but no RTM_NEWADDR or RTM_NEWLINK is sent to them: nothing
// tells listeners of changes), and multicast sends from sockets, which
// are dropped; unicast between sockets is served, but a send to a full
// queue fails with EAGAIN where Linux waits. Other protocols than
// NETLINK_ROUTE (EPROTONOSUPPORT). Of the route family: RTM_GETROUTE
// for one destination (ip route get), adding and deleting routes and
// rules, making and deleting links, changing a link other than up and
// down (name, MTU, flags: EOPNOTSUPP), neighbors (an empty dump),
// traffic control, netconf, and of IPv6's link attributes (IFLA_AF_SPEC,
// IFLA_PROTINFO) all but its flags and address generation mode; a link
// has no peer (IFLA_LINK) nor kind (IFLA_LINKINFO), and the stack's
// counters (packets, bytes, errors, drops, multicast) are its only
// statistics. Addresses have no cache times (0), no lifetimes but
// forever, no labels but their interface's name and are never
// tentative; they come in the Stack's order; an IPv4 address's scope is
// host for 127.0.0.0/8 and global otherwise (a scope asked for is not
// kept), and its broadcast address the last of its subnet on a link
// with IFF_BROADCAST; a second IPv4 address with another prefix length
// fails with EEXIST. Extended acknowledgments carry Linux's message
// where it has one, never the offending attribute's offset. Socket
// filters (SO_ATTACH_FILTER) and timestamps are not implemented.
//
// Locking. Socket.sendMu serializes a socket's sends, so that answers
// queue in the order requests are served; it is taken before
// Socket.mu, which guards the socket's state, options, queue and dump
// and is never held while the Stack is called or a waiter queue is
// notified (epoll holds its own lock while it asks a socket's
// readiness, and its callbacks run under the queue's lock). A unicast
// to another socket takes that socket's mu with the sender's sendMu
// held and its mu not. namespace.mu guards a Stack's port IDs; it is
// taken under a Socket.mu (bind, autobind) and never held while taking
// one. The package's namespaces lock guards the namespace of each Stack
// and is taken before a namespace.mu.
package netlink
