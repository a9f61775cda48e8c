/*
 * inet_udp: UDP over the loopback, IPv4 (127.0.0.1) and IPv6 (::1), the
 * same checks run once for each family. The socket, its options and the
 * calls it refuses; sendto and recvfrom with the sender's address
 * (loopback, the port its getsockname gives; autobind of an unbound
 * sender; a short address buffer); connect: send and recv, datagrams of
 * other senders filtered out, sendto another address anyway, AF_UNSPEC
 * dissolving the association (an autobound socket loses its port);
 * datagram boundaries, empty datagrams, MSG_PEEK, MSG_TRUNC (the full
 * length back, the flag in msg_flags); sendmsg and recvmsg with iovecs;
 * sendmmsg and recvmmsg; the largest datagram and EMSGSIZE; FIONREAD
 * (the next datagram's size); EAGAIN and poll readiness; ECONNREFUSED on
 * a connected socket after a datagram to a port nobody has (the ICMP
 * error is reported by the next call, once); EADDRINUSE and
 * SO_REUSEADDR; IPv6 only: v4-mapped addresses.
 *
 * Natively this runs on the host's loopback beside other copies of
 * itself: it binds port 0, or a port it already holds (SO_REUSEADDR),
 * never a fixed one; everything that arrives asynchronously is waited
 * for (with a deadline) before it is checked.
 */
#include "inet.h"
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

/* bound returns a UDP socket of af bound to the loopback's port 0. */
static int bound(int af)
{
	return lo_socket(af, SOCK_DGRAM);
}

/* to_lo sends n bytes of p from fd to the loopback of af at port. */
static ssize_t to_lo(int fd, int af, uint16_t port, const void *p, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = lo_addr(af, &ss, port);
	return sendto(fd, p, n, 0, (struct sockaddr *)&ss, len);
}

/* from receives one datagram on fd (waiting for it) and prints its
 * length, contents and sender, whose port should be want. */
static void from(const char *what, int fd, uint16_t want)
{
	char buf[64];
	struct sockaddr_storage ss;
	memset(&ss, 0x55, sizeof ss);
	socklen_t len = sizeof ss;
	wait_for(fd, POLLIN);
	ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
	if (n < 0) {
		printf("%s: errno %s\n", what, errname(errno));
		return;
	}
	char label[128];
	snprintf(label, sizeof label, "%s: %zd '%.*s' from", what, n, (int)n, buf);
	describe_from(label, &ss, len, want);
}

/* interface_queries asks an IPv4 socket about lo (netdevice(7)): its
 * address and netmask, and its line of SIOCGIFCONF, which lists every
 * IPv4 address of the host natively: only lo's is looked at. */
static void interface_queries(int s)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	show("SIOCGIFADDR lo", ioctl(s, SIOCGIFADDR, &ifr));
	struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
	printf("  family %d, 127.0.0.1: %s\n", a->sin_family, a->sin_addr.s_addr == htonl(INADDR_LOOPBACK) ? "yes" : "no");
	show("SIOCGIFNETMASK lo", ioctl(s, SIOCGIFNETMASK, &ifr));
	printf("  netmask %08x\n", ntohl(a->sin_addr.s_addr));
	struct ifconf conf = {.ifc_len = 0, .ifc_buf = NULL};
	show("SIOCGIFCONF, no buffer", ioctl(s, SIOCGIFCONF, &conf));
	yesno("  a length for at least one record", conf.ifc_len >= (int)sizeof(struct ifreq));
	struct ifreq reqs[64];
	conf.ifc_len = sizeof reqs;
	conf.ifc_req = reqs;
	show("SIOCGIFCONF", ioctl(s, SIOCGIFCONF, &conf));
	int lo = 0;
	for (int i = 0; i < conf.ifc_len / (int)sizeof(struct ifreq); i++) {
		struct sockaddr_in *r = (struct sockaddr_in *)&reqs[i].ifr_addr;
		if (strcmp(reqs[i].ifr_name, "lo") == 0 && r->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
			lo++;
	}
	printf("  lo with 127.0.0.1: %d\n", lo);
}

static void the_socket(int af)
{
	section(af, "the socket");
	int s = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (show("socket SOCK_DGRAM|SOCK_CLOEXEC", s) < 0)
		exit(2);
	optval("SO_TYPE", s, SOL_SOCKET, SO_TYPE);
	optval("SO_DOMAIN", s, SOL_SOCKET, SO_DOMAIN);
	optval("SO_PROTOCOL", s, SOL_SOCKET, SO_PROTOCOL);
	optval("SO_ACCEPTCONN", s, SOL_SOCKET, SO_ACCEPTCONN);
	optval("SO_ERROR", s, SOL_SOCKET, SO_ERROR);
	optval("SO_REUSEADDR", s, SOL_SOCKET, SO_REUSEADDR);
	optval("SO_BROADCAST", s, SOL_SOCKET, SO_BROADCAST);
	if (af == AF_INET)
		interface_queries(s);
	if (af == AF_INET6)
		optval("IPV6_V6ONLY", s, IPPROTO_IPV6, IPV6_V6ONLY);
	int s2 = socket(af, SOCK_DGRAM, IPPROTO_UDP);
	show("socket with IPPROTO_UDP", s2);
	close(s2);
	expect_err("socket SOCK_DGRAM with IPPROTO_TCP", socket(af, SOCK_DGRAM, IPPROTO_TCP));
	describe("unbound name", s, 0, 0);
	describe("unbound peer", s, 1, 0);
	char buf[8];
	expect_err("recv MSG_DONTWAIT", recv(s, buf, sizeof buf, MSG_DONTWAIT));
	expect_err("listen", listen(s, 1));
	expect_err("accept", accept(s, NULL, NULL));
	describe("name after those", s, 0, 0);
	int t = socket(af, SOCK_DGRAM, 0);
	expect_err("shutdown unconnected", shutdown(t, SHUT_RDWR));
	close(t);
	/* Sending binds an unbound socket to a port (of the wildcard
	 * address) before the missing address is noticed. */
	t = socket(af, SOCK_DGRAM, 0);
	expect_err("send without an address", send(t, "x", 1, 0));
	describe("name after that", t, 0, 0);
	close(t);
	struct sockaddr_storage ss;
	socklen_t len = lo_addr(af, &ss, 0);
	show("bind the loopback, port 0", bind(s, (struct sockaddr *)&ss, len));
	describe("bound name", s, 0, 0);
	expect_err("bind again", bind(s, (struct sockaddr *)&ss, len));
	pollbits("bound, nothing queued", s);
	close(s);
}

static void addresses(int af)
{
	section(af, "sendto and recvfrom");
	int a = bound(af), b = bound(af);
	uint16_t pa = local_port(a), pb = local_port(b);
	printf("sendto: %zd\n", to_lo(b, af, pa, "hello", 5));
	from("recvfrom", a, pb);

	int c = socket(af, SOCK_DGRAM, 0);
	printf("sendto from an unbound socket: %zd\n", to_lo(c, af, pa, "auto", 4));
	describe("its name now", c, 0, 0);
	from("recvfrom", a, local_port(c));
	printf("a reply to it: %zd\n", to_lo(a, af, local_port(c), "back", 4));
	from("it receives", c, pa);

	/* A short address buffer: the address is cut, its length is not. */
	to_lo(b, af, pa, "short", 5);
	wait_for(a, POLLIN);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len = 4;
	char buf[64];
	ssize_t n = recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&ss, &len);
	printf("recvfrom with a 4-byte address buffer: %zd, length %u, family %s, port %s\n", n, len, sa_famname(&ss),
	       port_of(&ss) == pb ? "matches" : "DIFFERS");
	to_lo(b, af, pa, "anon", 4);
	n = recvfrom(a, buf, sizeof buf, 0, NULL, NULL);
	printf("recvfrom without an address: %zd\n", n);
	printf("an empty datagram: %zd\n", to_lo(b, af, pa, "", 0));
	from("recvfrom", a, pb);
	close(a);
	close(b);
	close(c);
}

static void connected(int af)
{
	section(af, "connect");
	int a = bound(af), b = bound(af), d = bound(af);
	uint16_t pa = local_port(a), pb = local_port(b), pd = local_port(d);
	show("connect a to b", connect_lo(a, af, pb));
	describe("a's peer", a, 1, pb);
	describe("a's name", a, 0, pa);
	printf("send: %zd\n", send(a, "to b", 4, 0));
	from("b receives", b, pa);
	printf("b replies: %zd\n", to_lo(b, af, pa, "from b", 6));
	char buf[64];
	wait_for(a, POLLIN);
	ssize_t n = recv(a, buf, sizeof buf, MSG_DONTWAIT);
	printf("a receives: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);

	/* Only the peer's datagrams reach a connected socket: d's is
	 * dropped, b's that follows is the next one. */
	to_lo(d, af, pa, "from d", 6);
	to_lo(b, af, pa, "marker", 6);
	from("a receives", a, pb);
	expect_err("and nothing else", recv(a, buf, sizeof buf, MSG_DONTWAIT));

	printf("sendto another address from a connected socket: %zd\n", to_lo(a, af, pd, "to d", 4));
	from("d receives", d, pa);
	printf("send goes to the peer still: %zd\n", send(a, "again", 5, 0));
	from("b receives", b, pa);
	show("connect a to d instead", connect_lo(a, af, pd));
	describe("a's peer", a, 1, pd);
	send(a, "now d", 5, 0);
	from("d receives", d, pa);
	close(a);
	close(b);
	close(d);
}

static void unspec(int af)
{
	section(af, "connect AF_UNSPEC");
	int a = bound(af), b = bound(af), d = bound(af);
	uint16_t pb = local_port(b), pd = local_port(d);
	struct sockaddr us = {.sa_family = AF_UNSPEC};
	/* Bound to port 0, Linux's socket loses its port at AF_UNSPEC
	 * (bind did not choose it) and keeps its address (bind did); the
	 * sandbox's stack keeps both (docs/compatibility.md), so the name
	 * is printed only after a send has bound a port again. */
	show("AF_UNSPEC on an unconnected socket", connect(a, &us, sizeof us));
	connect_lo(a, af, pb);
	show("AF_UNSPEC on a connected one", connect(a, &us, sizeof us));
	describe("peer", a, 1, 0);
	expect_err("send", send(a, "x", 1, 0));
	describe("name after the send", a, 0, 0);

	/* A port given to bind stays. The port is found by x, and taken
	 * again with SO_REUSEADDR: no other program can take it in
	 * between. */
	int one = 1;
	int x = socket(af, SOCK_DGRAM, 0), e = socket(af, SOCK_DGRAM, 0);
	setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(e, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_storage ss;
	socklen_t len = lo_addr(af, &ss, 0);
	if (bind(x, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	uint16_t pe = local_port(x);
	len = lo_addr(af, &ss, pe);
	if (bind(e, (struct sockaddr *)&ss, len) < 0)
		die("bind a given port");
	close(x);
	connect_lo(e, af, pb);
	show("AF_UNSPEC", connect(e, &us, sizeof us));
	describe("name (bound to a given port)", e, 0, pe);
	to_lo(d, af, pe, "from d", 6);
	from("it receives from anybody again", e, pd);
	close(e);

	e = socket(af, SOCK_DGRAM, 0);
	show("connect an unbound socket", connect_lo(e, af, pb));
	describe("its name", e, 0, 0);
	show("AF_UNSPEC", connect(e, &us, sizeof us));
	describe("its name (bound by connect: undone)", e, 0, 0);
	expect_err("AF_UNSPEC with a 1-byte address", connect(e, &us, 1));
	close(a);
	close(b);
	close(d);
	close(e);
}

static void boundaries(int af)
{
	section(af, "datagrams");
	int a = bound(af), b = bound(af);
	uint16_t pa = local_port(a);
	connect_lo(b, af, pa);
	char buf[64];
	int v = -1;
	expect_err("recv MSG_DONTWAIT, nothing queued", recv(a, buf, sizeof buf, MSG_DONTWAIT));
	ioctl(a, FIONREAD, &v);
	printf("FIONREAD, nothing queued: %d\n", v);
	pollbits("nothing queued", a);
	send(b, "abc", 3, 0);
	send(b, "defgh", 5, 0);
	wait_for(a, POLLIN);
	pollbits("one queued", a);
	ioctl(a, FIONREAD, &v);
	printf("FIONREAD (the next datagram): %d\n", v);
	ssize_t n = recv(a, buf, sizeof buf, MSG_PEEK);
	printf("peek: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
	n = recv(a, buf, sizeof buf, 0);
	printf("recv: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
	wait_for(a, POLLIN);
	ioctl(a, FIONREAD, &v);
	printf("FIONREAD: %d\n", v);
	n = recv(a, buf, sizeof buf, 0);
	printf("recv: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
	ioctl(a, FIONREAD, &v);
	printf("FIONREAD: %d\n", v);

	send(b, "0123456789", 10, 0);
	wait_for(a, POLLIN);
	memset(buf, 0, sizeof buf);
	n = recv(a, buf, 4, MSG_TRUNC);
	printf("recv 4 with MSG_TRUNC: %zd '%s'\n", n, buf);
	send(b, "0123456789", 10, 0);
	wait_for(a, POLLIN);
	struct iovec io = {buf, 4};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1};
	n = recvmsg(a, &m, 0);
	printf("recvmsg into 4: %zd, msg_flags%s\n", n, m.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : " none");
	expect_err("the rest is gone", recv(a, buf, sizeof buf, MSG_DONTWAIT));
	send(b, "0123456789", 10, 0);
	wait_for(a, POLLIN);
	m.msg_flags = 0;
	n = recvmsg(a, &m, MSG_TRUNC | MSG_PEEK);
	printf("recvmsg into 4, MSG_TRUNC|MSG_PEEK: %zd, msg_flags%s\n", n, m.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : " none");
	n = read(a, buf, sizeof buf);
	printf("read: %zd\n", n);

	int fl = fcntl(a, F_GETFL);
	fcntl(a, F_SETFL, fl | O_NONBLOCK);
	expect_err("recv on an O_NONBLOCK socket, nothing queued", recv(a, buf, sizeof buf, 0));
	fcntl(a, F_SETFL, fl);
	close(a);
	close(b);
}

static void vectors(int af)
{
	section(af, "sendmsg and recvmsg");
	int a = bound(af), b = bound(af);
	uint16_t pa = local_port(a), pb = local_port(b);
	struct sockaddr_storage to;
	socklen_t tolen = lo_addr(af, &to, pa);
	struct iovec out[3] = {{"ab", 2}, {"cde", 3}, {"fghi", 4}};
	struct msghdr m = {.msg_name = &to, .msg_namelen = tolen, .msg_iov = out, .msg_iovlen = 3};
	printf("sendmsg of three iovecs: %zd\n", sendmsg(b, &m, 0));
	char b1[4], b2[10];
	memset(b2, 0, sizeof b2);
	struct iovec in[2] = {{b1, sizeof b1}, {b2, sizeof b2}};
	struct sockaddr_storage src;
	memset(&src, 0x55, sizeof src);
	struct msghdr r = {.msg_name = &src, .msg_namelen = sizeof src, .msg_iov = in, .msg_iovlen = 2};
	wait_for(a, POLLIN);
	ssize_t n = recvmsg(a, &r, 0);
	printf("recvmsg into 4+10: %zd '%.4s' '%s', msg_flags %d\n", n, b1, b2, r.msg_flags);
	describe_from("msg_name", &src, r.msg_namelen, pb);

	m.msg_name = NULL;
	m.msg_namelen = 0;
	expect_err("sendmsg without an address, unconnected", sendmsg(b, &m, 0));

	/* sendmmsg and recvmmsg. */
	enum { N = 5 };
	char data[N][16];
	struct mmsghdr mm[N];
	struct iovec iov[N];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < N; i++) {
		int len = snprintf(data[i], sizeof data[i], "message %d%.*s", i, i, "!!!!");
		iov[i] = (struct iovec){data[i], len};
		mm[i].msg_hdr = (struct msghdr){.msg_name = &to, .msg_namelen = tolen, .msg_iov = &iov[i], .msg_iovlen = 1};
	}
	int k = sendmmsg(b, mm, N, 0);
	printf("sendmmsg of %d: %d", N, k);
	for (int i = 0; i < N; i++)
		printf(" %u", mm[i].msg_len);
	printf("\n");
	char got[N + 2][32];
	struct sockaddr_storage srcs[N + 2];
	struct mmsghdr rm[N + 2];
	struct iovec riov[N + 2];
	memset(rm, 0, sizeof rm);
	for (int i = 0; i < N + 2; i++) {
		riov[i] = (struct iovec){got[i], sizeof got[i]};
		rm[i].msg_hdr = (struct msghdr){.msg_name = &srcs[i], .msg_namelen = sizeof srcs[i], .msg_iov = &riov[i], .msg_iovlen = 1};
	}
	k = recvmmsg(a, rm, N, 0, NULL);
	printf("recvmmsg of %d: %d\n", N, k);
	for (int i = 0; i < k; i++)
		printf("  %u '%.*s' port %s\n", rm[i].msg_len, (int)rm[i].msg_len, got[i],
		       port_of(&srcs[i]) == pb ? "matches" : "DIFFERS");
	expect_err("recvmmsg MSG_DONTWAIT, nothing queued", recvmmsg(a, rm, N, MSG_DONTWAIT, NULL));
	close(a);
	close(b);
}

static void big(int af)
{
	section(af, "the largest datagram");
	int a = bound(af), b = bound(af);
	uint16_t pa = local_port(a);
	/* 65535 minus the IPv4 and UDP headers; IPv6's payload length does
	 * not count its own header. */
	size_t max = af == AF_INET ? 65507 : 65527;
	static unsigned char out[70000], in[70000];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (unsigned char)(i * 31 + (i >> 9));
	ssize_t n = to_lo(b, af, pa, out, max);
	printf("send %zu: %zd\n", max, n);
	expect_err("send one more byte", to_lo(b, af, pa, out, max + 1));
	wait_for(a, POLLIN);
	int v = -1;
	ioctl(a, FIONREAD, &v);
	printf("FIONREAD: %d\n", v);
	n = recv(a, in, sizeof in, 0);
	printf("received: %zd, same bytes: %s\n", n, n == (ssize_t)max && memcmp(in, out, max) == 0 ? "yes" : "no");
	close(a);
	close(b);
}

/* provoke sends a datagram on the connected fd and waits until the
 * ICMP error it causes is pending (POLLERR). Only if none comes (ICMP
 * errors are rate-limited) does it send another, up to a few times: one
 * error at a time, never a second one on its way. */
static int provoke(int fd)
{
	for (int i = 0; i < 5; i++) {
		if (send(fd, "x", 1, 0) < 0)
			die("send");
		struct pollfd p = {.fd = fd, .events = 0};
		if (poll(&p, 1, 1000) == 1 && (p.revents & POLLERR))
			return 1;
	}
	return 0;
}

static void refused(int af)
{
	section(af, "ECONNREFUSED");
	/* A port nobody receives on: x holds it, so that no other
	 * program can take it, but x is connected to itself, so a
	 * datagram from anybody else matches no socket and is answered
	 * with an ICMP port unreachable. */
	int x = bound(af);
	uint16_t px = local_port(x);
	if (connect_lo(x, af, px) < 0)
		die("connect");
	int a = socket(af, SOCK_DGRAM, 0);
	show("connect", connect_lo(a, af, px));
	pollbits("connected", a);
	yesno("send, then POLLERR", provoke(a));
	pollbits("error pending", a);
	char buf[8];
	expect_err("recv reports it", recv(a, buf, sizeof buf, MSG_DONTWAIT));
	expect_err("then", recv(a, buf, sizeof buf, MSG_DONTWAIT));
	pollbits("error gone", a);
	yesno("POLLERR again", provoke(a));
	expect_err("send reports it", send(a, "x", 1, 0));
	yesno("POLLERR again", provoke(a));
	int e = getint(a, SOL_SOCKET, SO_ERROR);
	printf("SO_ERROR: %s\n", e > 0 ? errname(e) : e == 0 ? "0" : "failed");
	e = getint(a, SOL_SOCKET, SO_ERROR);
	printf("SO_ERROR again: %s\n", e > 0 ? errname(e) : e == 0 ? "0" : "failed");
	show("send", send(a, "x", 1, MSG_DONTWAIT));
	close(a);
	close(x);
}

static void inuse(int af)
{
	section(af, "EADDRINUSE and SO_REUSEADDR");
	int a = bound(af);
	uint16_t pa = local_port(a);
	int b = socket(af, SOCK_DGRAM, 0), one = 1;
	struct sockaddr_storage ss;
	socklen_t len = lo_addr(af, &ss, pa);
	expect_err("bind a port another socket holds", bind(b, (struct sockaddr *)&ss, len));
	setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	expect_err("with SO_REUSEADDR on the second only", bind(b, (struct sockaddr *)&ss, len));
	close(a);
	close(b);
	/* Both with SO_REUSEADDR before bind, as programs set it: the
	 * sandbox's stack takes a socket's sharing options at bind, where
	 * Linux reads them at every later bind (docs/compatibility.md). */
	a = socket(af, SOCK_DGRAM, 0);
	b = socket(af, SOCK_DGRAM, 0);
	setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	len = lo_addr(af, &ss, 0);
	if (bind(a, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	pa = local_port(a);
	len = lo_addr(af, &ss, pa);
	show("with SO_REUSEADDR on both", bind(b, (struct sockaddr *)&ss, len));
	describe("its name", b, 0, pa);
	close(a);
	close(b);
}

/* IPv6 only: v4-mapped addresses on a dual-stack socket. */
static void mapped(void)
{
	section(AF_INET6, "v4-mapped addresses");
	int r = bound(AF_INET);
	uint16_t pr = local_port(r);
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_storage ss;
	socklen_t len = mapped_addr(&ss, pr);
	printf("sendto ::ffff:127.0.0.1: %zd\n", sendto(s, "mapped", 6, 0, (struct sockaddr *)&ss, len));
	describe("the sender's name", s, 0, 0);
	from("the IPv4 socket receives", r, local_port(s));
	printf("it replies: %zd\n", to_lo(r, AF_INET, local_port(s), "reply", 5));
	from("the IPv6 socket receives", s, pr);
	int one = 1;
	int o = socket(AF_INET6, SOCK_DGRAM, 0);
	setsockopt(o, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	expect_err("a v6-only socket sends to ::ffff:127.0.0.1", sendto(o, "x", 1, 0, (struct sockaddr *)&ss, len));
	close(o);
	close(s);
	close(r);
}

static void family(int af)
{
	the_socket(af);
	addresses(af);
	connected(af);
	unspec(af);
	boundaries(af);
	vectors(af);
	big(af);
	refused(af);
	inuse(af);
	if (af == AF_INET6)
		mapped();
}

int main(void)
{
	family(AF_INET);
	family(AF_INET6);
	return 0;
}
