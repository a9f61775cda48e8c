// Package packet implements AF_PACKET sockets, SOCK_RAW (whole frames)
// and SOCK_DGRAM (frames without their link header), over the sandbox's
// network stack (kernel/net/inet's netstack): the frames of the
// sandbox's interfaces, as they arrive and as they leave, to programs
// with CAP_NET_RAW in the sandbox's user namespace (arping, DHCP
// clients, LLDP and other link-layer daemons, captures of one protocol).
//
// Model. A socket registers with netstack's interfaces for the Ethernet
// protocol it receives (ETH_P_ALL: all of them, outgoing frames
// included), on one interface or all (stack.PacketEndpoint); netstack
// hands it the frames inet's tap sees between each interface's link
// endpoint and its NIC, with netstack's packet type, which the socket
// reports as Linux's (sll_pkttype). Each frame is filtered (the
// socket's classic BPF program, filter.go), counted, and queued while
// SO_RCVBUF has room (each frame costing its bytes and an skb's
// overhead), else dropped and counted (PACKET_STATISTICS); or, with a
// receive ring, written into it (below). A send builds
// one frame and hands it to netstack, which writes it on the interface
// at once: SOCK_RAW's as given, SOCK_DGRAM's with an Ethernet header to
// sll_addr; the sender does not receive its own frame back as outgoing
// (Linux's skb_loop_sk()). lo has no link header on netstack's side;
// packet sockets see and write its frames with the Ethernet header of
// zeros Linux gives them (ARPHRD_LOOPBACK, six-byte address of zeros;
// a frame written there comes back with that header, whatever header it
// was written with), and every packet between the sandbox's own
// addresses crosses lo, seen twice by an ETH_P_ALL socket there
// (outgoing, then host), as on Linux, but for those of a socket bound to
// an interface (SO_BINDTODEVICE), which netstack loops inside its
// network layer where no packet socket sees them.
//
// Receive ring (ring.go). PACKET_RX_RING makes a ring of TPACKET_V1 or
// TPACKET_V2 slots in one run of memory-file pages; mmap of the socket
// (vfs.SpecialMappableImpl: offset 0, the ring's whole length) maps
// those very pages into the application, and the kernel writes each
// frame through its own mapping of the memory file into the head slot,
// if the application has handed it back (tp_status TP_STATUS_KERNEL),
// else drops and counts it, as Linux's tpacket_rcv() does: header,
// struct sockaddr_ll, the frame at Linux's offsets, then tp_status with
// an atomic store. The ring is the application's memory too, which it
// may scribble on at any moment: the kernel reads nothing of it but
// tp_status words, takes any non-zero one as the application's, and
// writes only inside the slot it took. While a ring exists frames go
// there, not to the receive queue (but for PACKET_COPY_THRESH's whole
// copies of frames a slot cuts short), so recvmsg finds those alone.
// While an address space maps the ring (vfs.Mappable registrations) it
// can be neither replaced nor taken down (EBUSY); its pages live as long
// as the socket, and mappings hold references of their own.
//
// Served: bind (sll_protocol, sll_ifindex), getsockname, recvfrom and
// recvmsg with a full struct sockaddr_ll, MSG_PEEK, MSG_TRUNC,
// MSG_DONTWAIT and the other flags refused with Linux's EINVAL,
// sendto and sendmsg with struct sockaddr_ll (SO_MARK and SO_PRIORITY
// records), poll and epoll, SO_RCVBUF and SO_SNDBUF (and their FORCE
// forms), SO_RCVTIMEO, SO_SNDTIMEO, SO_ATTACH_FILTER, SO_DETACH_FILTER,
// SO_LOCK_FILTER, SO_GET_FILTER, SO_MARK, SO_PRIORITY,
// PACKET_ADD_MEMBERSHIP and PACKET_DROP_MEMBERSHIP (multicast and
// all-multicast, promiscuous on lo alone; see addMembership),
// PACKET_AUXDATA (tp_status is TP_STATUS_USER, with
// TP_STATUS_CSUMNOTREADY on lo), PACKET_ORIGDEV, PACKET_IGNORE_OUTGOING,
// PACKET_STATISTICS, the receive ring (PACKET_RX_RING, PACKET_VERSION,
// PACKET_HDRLEN, PACKET_RESERVE, PACKET_COPY_THRESH, mmap; PACKET_LOSS
// and PACKET_TIMESTAMP kept), SIOCINQ and SIOCOUTQ. libpcap, and so
// tcpdump, capture through the ring (with -p on an Ethernet interface).
//
// Not served, answering an error rather than pretending: SOCK_PACKET
// (ESOCKTNOSUPPORT); TPACKET_V3 (EINVAL, so libpcap falls back to
// TPACKET_V2) and the transmit ring (PACKET_TX_RING: ENOPROTOOPT);
// fanout, PACKET_VNET_HDR, timestamps (SO_TIMESTAMP...: ENOPROTOOPT);
// promiscuous mode but on lo, and extra unicast addresses (EOPNOTSUPP);
// the ancillary filter loads about netlink attributes and payload
// offsets (EINVAL). A socket bound to every interface receives from those that
// existed when it bound: the sandbox's are all there before its program
// starts. Frames for other hosts' addresses never reach the sandbox (the
// host's device and netstack's link endpoint drop them), so
// PACKET_OTHERHOST is not seen. An interface going down does not set
// ENETDOWN on the sockets bound to it.
//
// Locking. Socket.bindMu serializes the changes of a socket's
// registration (bind, Release) and is taken before Socket.mu, which
// guards the binding, the receive queue, the ring, the frames in flight
// and the options. netstack delivers frames with its lock of the
// interface's packet sockets held and takes that lock to register one,
// so mu is never held while netstack is called, and a frame is checked
// against the current binding when it arrives. Address spaces call the
// ring's vfs.Mappable methods with mm.MM.mu held, which therefore comes
// before Socket.mu, and may release the socket (munmap of its last
// mapping) with it held; nothing here takes an address space's lock.
// Waiters are notified with no lock held.
package packet
