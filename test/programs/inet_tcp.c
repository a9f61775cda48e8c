/*
 * inet_tcp: TCP over the loopback, IPv4 (127.0.0.1) and IPv6 (::1), the
 * same checks run once for each family. The socket and its options
 * (SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ACCEPTCONN, SO_KEEPALIVE,
 * TCP_NODELAY), bind's errors; listen, connect and accept4 with its
 * flags, getsockname and getpeername (family, kind of address, whether
 * ports agree: never the numbers); non-blocking connect (EINPROGRESS,
 * POLLOUT, SO_ERROR, connect again); connect to a port nobody listens on
 * (ECONNREFUSED, blocking and through SO_ERROR); accept with nothing
 * pending; data: MSG_DONTWAIT, FIONREAD, MSG_PEEK, MSG_WAITALL,
 * MSG_TRUNC; half-close with SHUT_WR and its poll bits; EPIPE and
 * SIGPIPE after the peer closed; epoll on a connected pair;
 * SO_RCVTIMEO; EADDRINUSE and SO_REUSEADDR (two bound sockets, a port in
 * TIME_WAIT); listen's backlog; IPV6_V6ONLY and v4-mapped connections to
 * a dual-stack listener; 100 MiB from a child, hashed on both sides.
 *
 * Natively this runs on the host's loopback beside other copies of
 * itself: it binds port 0, or a port it already holds (SO_REUSEADDR),
 * never a fixed one; everything that arrives asynchronously is waited
 * for (with a deadline) before it is checked.
 */
#include "inet.h"
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int sigpipes;
static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* listener returns a socket of af listening on the loopback's port 0,
 * and its port in *port. */
static int listener(int af, int backlog, uint16_t *port)
{
	int l = lo_socket(af, SOCK_STREAM);
	if (listen(l, backlog) < 0)
		die("listen");
	*port = local_port(l);
	return l;
}

/* accept_wait waits for a connection on l (the handshake's last ACK
 * may still be on its way when connect returns) and accepts it. */
static int accept_wait(int l)
{
	if (!(wait_for(l, POLLIN) & POLLIN)) {
		errno = ETIMEDOUT;
		die("waiting for a connection");
	}
	int s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	return s;
}

/* pair makes a connected client *c and server *s over af. */
static void pair(int af, int *c, int *s)
{
	uint16_t port;
	int l = listener(af, 5, &port);
	*c = socket(af, SOCK_STREAM, 0);
	if (*c < 0 || connect_lo(*c, af, port) < 0)
		die("connect");
	*s = accept_wait(l);
	close(l);
}

/* wait_bytes waits until n bytes are readable on fd (FIONREAD). */
static void wait_bytes(int fd, int n)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int v = 0;
	while (ioctl(fd, FIONREAD, &v) == 0 && v < n && ms_since(&t0) < WAIT_MS)
		usleep(1000);
}

static void sockerr(const char *what, int fd)
{
	int e = getint(fd, SOL_SOCKET, SO_ERROR);
	printf("%s: %s\n", what, e == 0 ? "0" : e > 0 ? errname(e) : "getsockopt failed");
}

static void flags_of(const char *what, int fd)
{
	printf("%s: O_NONBLOCK %d, FD_CLOEXEC %d\n", what, !!(fcntl(fd, F_GETFL) & O_NONBLOCK),
	       fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static void the_socket(int af)
{
	section(af, "the socket");
	int s = socket(af, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (show("socket SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK", s) < 0)
		exit(2);
	flags_of("flags", s);
	optval("SO_TYPE", s, SOL_SOCKET, SO_TYPE);
	optval("SO_DOMAIN", s, SOL_SOCKET, SO_DOMAIN);
	optval("SO_PROTOCOL", s, SOL_SOCKET, SO_PROTOCOL);
	optval("SO_ACCEPTCONN", s, SOL_SOCKET, SO_ACCEPTCONN);
	optval("SO_ERROR", s, SOL_SOCKET, SO_ERROR);
	optval("SO_KEEPALIVE", s, SOL_SOCKET, SO_KEEPALIVE);
	optval("SO_REUSEADDR", s, SOL_SOCKET, SO_REUSEADDR);
	optval("TCP_NODELAY", s, IPPROTO_TCP, TCP_NODELAY);
	int one = 1, five = 5;
	show("set SO_KEEPALIVE 1", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
	optval("SO_KEEPALIVE", s, SOL_SOCKET, SO_KEEPALIVE);
	show("set TCP_NODELAY 5", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &five, sizeof five));
	optval("TCP_NODELAY", s, IPPROTO_TCP, TCP_NODELAY);
	int zero = 0;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof zero);
	optval("TCP_NODELAY after 0", s, IPPROTO_TCP, TCP_NODELAY);
	int idle = 30, intvl = 7, cnt = 4, uto = 1500;
	show("set TCP_KEEPIDLE 30", setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle));
	optval("TCP_KEEPIDLE", s, IPPROTO_TCP, TCP_KEEPIDLE);
	show("set TCP_KEEPINTVL 7", setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl));
	optval("TCP_KEEPINTVL", s, IPPROTO_TCP, TCP_KEEPINTVL);
	show("set TCP_KEEPCNT 4", setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt));
	optval("TCP_KEEPCNT", s, IPPROTO_TCP, TCP_KEEPCNT);
	expect_err("set TCP_KEEPIDLE 0", setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &zero, sizeof zero));
	show("set TCP_USER_TIMEOUT 1500", setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof uto));
	optval("TCP_USER_TIMEOUT", s, IPPROTO_TCP, TCP_USER_TIMEOUT);
	struct linger lg = {1, 3}, lgot;
	socklen_t lglen = sizeof lgot;
	show("set SO_LINGER on, 3 s", setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
	show("get SO_LINGER", getsockopt(s, SOL_SOCKET, SO_LINGER, &lgot, &lglen));
	printf("SO_LINGER: on %d, %d s, length %u\n", lgot.l_onoff, lgot.l_linger, (unsigned)lglen);
	lg.l_onoff = 0;
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	struct tcp_info ti;
	socklen_t tilen = sizeof ti;
	show("TCP_INFO", getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tilen));
	printf("TCP_INFO state of a new socket: %d (TCP_CLOSE %d)\n", ti.tcpi_state, TCP_CLOSE);
	if (af == AF_INET)
		optval("IPV6_V6ONLY of an IPv4 socket", s, IPPROTO_IPV6, IPV6_V6ONLY);
	else
		optval("IPV6_V6ONLY (default)", s, IPPROTO_IPV6, IPV6_V6ONLY);

	describe("unbound name", s, 0, 0);
	describe("unbound peer", s, 1, 0);
	char buf[8];
	expect_err("recv unconnected", recv(s, buf, sizeof buf, 0));
	sigpipes = 0;
	expect_err("send unconnected (MSG_NOSIGNAL)", send(s, "x", 1, MSG_NOSIGNAL));
	printf("SIGPIPE: %d\n", sigpipes);

	struct sockaddr_storage ss;
	socklen_t len = lo_addr(af, &ss, 0);
	expect_err("bind a short address", bind(s, (struct sockaddr *)&ss, 8));
	struct sockaddr_storage other;
	socklen_t olen = lo_addr(af == AF_INET ? AF_INET6 : AF_INET, &other, 0);
	expect_err("bind the other family's address", bind(s, (struct sockaddr *)&other, olen));
	show("bind the loopback, port 0", bind(s, (struct sockaddr *)&ss, len));
	describe("bound name", s, 0, 0);
	expect_err("bind again", bind(s, (struct sockaddr *)&ss, len));
	show("listen", listen(s, 4));
	optval("SO_ACCEPTCONN", s, SOL_SOCKET, SO_ACCEPTCONN);
	describe("listener's peer", s, 1, 0);
	show("listen again", listen(s, 8));
	close(s);
}

static void connections(int af)
{
	section(af, "connect and accept");
	uint16_t lport;
	int l = listener(af, 5, &lport);
	pollbits("listener, none waiting", l);
	int c = socket(af, SOCK_STREAM, 0);
	show("connect", connect_lo(c, af, lport));
	describe("client's name", c, 0, 0);
	describe("client's peer", c, 1, lport);
	int r = wait_for(l, POLLIN);
	yesno("the listener becomes readable", r & POLLIN);
	pollbits("listener, one waiting", l);
	struct sockaddr_storage pa;
	memset(&pa, 0x55, sizeof pa);
	socklen_t pl = sizeof pa;
	int s = accept4(l, (struct sockaddr *)&pa, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (show("accept4 SOCK_CLOEXEC|SOCK_NONBLOCK", s) < 0)
		exit(2);
	describe_from("accept4's address", &pa, pl, local_port(c));
	flags_of("accepted", s);
	struct tcp_info ti;
	socklen_t tilen = sizeof ti;
	getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tilen);
	printf("TCP_INFO state of the accepted socket: %d (TCP_ESTABLISHED %d)\n", ti.tcpi_state, TCP_ESTABLISHED);
	getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &tilen);
	printf("TCP_INFO state of the listener: %d (TCP_LISTEN %d)\n", ti.tcpi_state, TCP_LISTEN);
	describe("server's name", s, 0, lport);
	describe("server's peer", s, 1, local_port(c));
	optval("SO_ACCEPTCONN of the accepted socket", s, SOL_SOCKET, SO_ACCEPTCONN);
	optval("SO_TYPE of the accepted socket", s, SOL_SOCKET, SO_TYPE);
	pollbits("client, connected", c);
	pollbits("server, connected", s);

	char buf[64];
	send(c, "ping", 4, 0);
	wait_for(s, POLLIN);
	ssize_t n = recv(s, buf, sizeof buf, 0);
	printf("server got %zd: %.*s\n", n, (int)(n > 0 ? n : 0), buf);
	send(s, "pong", 4, 0);
	n = recv(c, buf, sizeof buf, 0);
	printf("client got %zd: %.*s\n", n, (int)(n > 0 ? n : 0), buf);

	/* A connected socket ignores sendto's address. */
	struct sockaddr_storage elsewhere;
	socklen_t elen = lo_addr(af, &elsewhere, 9);
	n = sendto(c, "to", 2, 0, (struct sockaddr *)&elsewhere, elen);
	printf("sendto another address on a connected socket: %zd\n", n);
	wait_bytes(s, 2);
	n = recv(s, buf, sizeof buf, 0);
	printf("the peer got it: %zd\n", n);

	int c2 = socket(af, SOCK_STREAM, 0);
	show("a second connect", connect_lo(c2, af, lport));
	wait_for(l, POLLIN);
	int s2 = accept(l, NULL, NULL);
	show("accept", s2);
	flags_of("accepted without flags", s2);
	expect_err("accept4 with a bad flag", accept4(l, NULL, NULL, 0x1000));
	fcntl(l, F_SETFL, O_NONBLOCK);
	expect_err("accept, non-blocking, nothing pending", accept(l, NULL, NULL));
	fcntl(l, F_SETFL, 0);
	expect_err("connect a connected socket", connect_lo(c, af, lport));
	expect_err("listen on a connected socket", listen(c, 1));
	expect_err("accept on a connected socket", accept(c, NULL, NULL));
	expect_err("accept on a socket not listening", accept(socket(af, SOCK_STREAM, 0), NULL, NULL));
	close(c2);
	close(s2);
	close(c);
	close(s);
	close(l);
}

static void nonblocking_connect(int af)
{
	section(af, "non-blocking connect");
	uint16_t lport;
	int l = listener(af, 5, &lport);
	int c = socket(af, SOCK_STREAM | SOCK_NONBLOCK, 0);
	expect_err("connect", connect_lo(c, af, lport));
	int r = wait_for(c, POLLOUT);
	yesno("POLLOUT", r & POLLOUT);
	sockerr("SO_ERROR", c);
	pollbits("connected", c);
	show("connect again once connected", connect_lo(c, af, lport));
	expect_err("and again", connect_lo(c, af, lport));
	describe("peer", c, 1, lport);
	int s = accept_wait(l);
	char buf[8];
	expect_err("recv, nothing sent", recv(c, buf, sizeof buf, 0));
	send(s, "hi", 2, 0);
	wait_for(c, POLLIN);
	printf("recv: %zd\n", recv(c, buf, sizeof buf, 0));
	close(s);
	close(c);
	close(l);
}

static void refused(int af)
{
	section(af, "connect to a port nobody listens on");
	/* A socket bound but not listening: the SYN is answered with a
	 * reset, and keeping the port bound keeps anybody else off it. */
	int b = socket(af, SOCK_STREAM, 0);
	if (bind_lo(b, af, 0) < 0)
		die("bind");
	uint16_t port = local_port(b);
	int c = socket(af, SOCK_STREAM, 0);
	expect_err("blocking connect", connect_lo(c, af, port));
	sockerr("SO_ERROR after it", c);
	describe("peer", c, 1, 0);
	close(c);

	c = socket(af, SOCK_STREAM | SOCK_NONBLOCK, 0);
	expect_err("non-blocking connect", connect_lo(c, af, port));
	int r = wait_for(c, POLLOUT);
	yesno("POLLOUT", r & POLLOUT);
	pollbits("refused", c);
	sockerr("SO_ERROR", c);
	sockerr("SO_ERROR again", c);
	close(c);
	close(b);
}

static void data(int af)
{
	section(af, "data");
	int c, s;
	pair(af, &c, &s);
	char buf[64];
	int v = -1;
	expect_err("recv MSG_DONTWAIT, nothing there", recv(s, buf, sizeof buf, MSG_DONTWAIT));
	ioctl(s, FIONREAD, &v);
	printf("FIONREAD: %d\n", v);
	send(c, "hello world", 11, 0);
	wait_bytes(s, 11);
	ioctl(s, FIONREAD, &v);
	printf("FIONREAD: %d\n", v);
	ssize_t n = recv(s, buf, 5, MSG_PEEK);
	printf("peek 5: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
	ioctl(s, FIONREAD, &v);
	printf("FIONREAD after the peek: %d\n", v);
	n = recv(s, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
	printf("peek all: %zd\n", n);
	n = recv(s, buf, sizeof buf, 0);
	printf("recv: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
	ioctl(s, FIONREAD, &v);
	printf("FIONREAD: %d\n", v);

	send(c, "abcdef", 6, 0);
	wait_bytes(s, 6);
	n = recv(s, buf, 4, MSG_TRUNC);
	printf("recv 4 with MSG_TRUNC (discards): %zd\n", n);
	n = recv(s, buf, sizeof buf, 0);
	printf("what is left: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);

	/* MSG_WAITALL waits for all of it, across writes. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		for (int i = 0; i < 4; i++) {
			usleep(20000);
			if (send(c, "0123456789", 10, 0) != 10)
				_exit(1);
		}
		_exit(0);
	}
	n = recv(s, buf, 40, MSG_WAITALL);
	printf("MSG_WAITALL 40 from four writes: %zd\n", n);
	int status;
	waitpid(pid, &status, 0);
	printf("writer: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");

	/* Writes glue together in the stream. */
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	send(c, "one", 3, 0);
	send(c, "two", 3, 0);
	write(c, "three", 5);
	wait_bytes(s, 11);
	n = read(s, buf, sizeof buf);
	printf("three writes read at once: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
	close(c);
	close(s);
}

static void halfclose(int af)
{
	section(af, "half-close");
	int c, s;
	pair(af, &c, &s);
	char buf[64];
	show("client shutdown SHUT_WR", shutdown(c, SHUT_WR));
	int r = wait_for(s, POLLRDHUP);
	yesno("the server sees POLLRDHUP", r & POLLRDHUP);
	pollbits("server", s);
	pollbits("client", c);
	printf("server reads: %zd (EOF)\n", recv(s, buf, sizeof buf, 0));
	printf("and again: %zd\n", recv(s, buf, sizeof buf, 0));
	sigpipes = 0;
	expect_err("client sends after SHUT_WR (MSG_NOSIGNAL)", send(c, "x", 1, MSG_NOSIGNAL));
	printf("SIGPIPE: %d\n", sigpipes);
	ssize_t n = send(s, "reply", 5, 0);
	printf("server still writes: %zd\n", n);
	wait_for(c, POLLIN);
	n = recv(c, buf, sizeof buf, 0);
	printf("client reads: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
	close(s);
	r = wait_for(c, POLLRDHUP);
	yesno("then the server closes: the client sees POLLRDHUP", r & POLLRDHUP);
	pollbits("client", c);
	printf("client reads: %zd (EOF)\n", recv(c, buf, sizeof buf, 0));
	close(c);

	pair(af, &c, &s);
	show("shutdown SHUT_RDWR", shutdown(c, SHUT_RDWR));
	wait_for(s, POLLRDHUP);
	pollbits("its peer", s);
	pollbits("itself", c);
	printf("it reads: %zd\n", recv(c, buf, sizeof buf, 0));
	expect_err("shutdown with how 3", shutdown(c, 3));
	close(c);
	close(s);
	c = socket(af, SOCK_STREAM, 0);
	expect_err("shutdown unconnected", shutdown(c, SHUT_WR));
	close(c);
}

static void peer_closed(int af)
{
	section(af, "send after the peer closed");
	int c, s;
	pair(af, &c, &s);
	char buf[8];
	close(s);
	int r = wait_for(c, POLLRDHUP);
	yesno("POLLRDHUP", r & POLLRDHUP);
	pollbits("peer closed", c);
	printf("recv: %zd (EOF)\n", recv(c, buf, sizeof buf, 0));
	sigpipes = 0;
	ssize_t n = send(c, "x", 1, MSG_NOSIGNAL);
	printf("the first send is accepted: %zd\n", n);
	/* The closed peer answers it with a reset. */
	r = wait_for(c, POLLHUP);
	yesno("then POLLHUP", r & POLLHUP);
	pollbits("reset", c);
	expect_err("send MSG_NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL));
	printf("SIGPIPE: %d\n", sigpipes);
	expect_err("send", send(c, "x", 1, 0));
	printf("SIGPIPE: %d\n", sigpipes);
	expect_err("write", write(c, "x", 1));
	printf("SIGPIPE: %d\n", sigpipes);
	sockerr("SO_ERROR", c);
	printf("recv: %zd\n", recv(c, buf, sizeof buf, 0));
	describe("peer", c, 1, 0);
	close(c);
}

/* epoll_until waits on ep until an event has one of want's bits, and
 * prints the number of events and their bits. */
static void epoll_until(const char *what, int ep, uint32_t want)
{
	struct epoll_event evs[4];
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int n;
	for (;;) {
		n = epoll_wait(ep, evs, 4, want ? 100 : 0);
		if (n < 0)
			die("epoll_wait");
		if (!want || (n > 0 && (evs[0].events & want)) || ms_since(&t0) > WAIT_MS)
			break;
	}
	printf("%s: %d event%s", what, n, n == 1 ? "" : "s");
	for (int i = 0; i < n; i++) {
		uint32_t e = evs[i].events;
		printf(" [%s%s%s%s%s]", e & EPOLLIN ? " IN" : "", e & EPOLLOUT ? " OUT" : "",
		       e & EPOLLERR ? " ERR" : "", e & EPOLLHUP ? " HUP" : "", e & EPOLLRDHUP ? " RDHUP" : "");
	}
	printf("\n");
}

static void epolled(int af)
{
	section(af, "epoll");
	int c, s;
	pair(af, &c, &s);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.fd = s};
	show("EPOLL_CTL_ADD", epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	epoll_until("nothing sent", ep, 0);
	send(c, "ping", 4, 0);
	epoll_until("after data", ep, EPOLLIN);
	char buf[8];
	recv(s, buf, sizeof buf, 0);
	epoll_until("after reading it", ep, 0);
	shutdown(c, SHUT_WR);
	epoll_until("after the peer's SHUT_WR", ep, EPOLLRDHUP);
	ev.events = EPOLLIN | EPOLLET;
	show("EPOLL_CTL_MOD edge-triggered", epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev));
	epoll_until("edge-triggered, first wait", ep, EPOLLIN);
	epoll_until("second wait", ep, 0);
	close(c);
	close(s);
	epoll_until("after closing the socket", ep, 0);
	close(ep);
}

static void rcvtimeo(int af)
{
	section(af, "SO_RCVTIMEO");
	int c, s;
	pair(af, &c, &s);
	struct timeval tv = {0, 100000};
	show("set SO_RCVTIMEO 100ms", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char buf[8];
	expect_err("recv, nothing sent", recv(s, buf, sizeof buf, 0));
	yesno("it waited 100ms", ms_since(&t0) >= 100);
	send(c, "late", 4, 0);
	wait_for(s, POLLIN);
	ssize_t n = recv(s, buf, sizeof buf, 0);
	printf("then recv: %zd\n", n);
	close(c);
	close(s);
}

static void reuse(int af)
{
	section(af, "EADDRINUSE and SO_REUSEADDR");
	int one = 1;
	int b1 = socket(af, SOCK_STREAM, 0), b2 = socket(af, SOCK_STREAM, 0), b3 = socket(af, SOCK_STREAM, 0);
	/* SO_REUSEADDR before bind, as programs set it: the sandbox's stack
	 * takes a socket's sharing options at bind, where Linux reads them
	 * at every later bind (docs/compatibility.md). */
	setsockopt(b1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind_lo(b1, af, 0) < 0)
		die("bind");
	uint16_t port = local_port(b1);
	expect_err("bind a port another socket holds", bind_lo(b2, af, port));
	setsockopt(b2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	show("bind it with SO_REUSEADDR on both, neither listening", bind_lo(b2, af, port));
	show("listen on the second", listen(b2, 1));
	expect_err("listen on the first", listen(b1, 1));
	setsockopt(b3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	expect_err("bind it with SO_REUSEADDR while a listener holds it", bind_lo(b3, af, port));
	close(b1);
	close(b2);
	close(b3);

	/* The server closes first: its side of the connection waits in
	 * TIME_WAIT on the listener's port after the listener is gone. */
	int l = socket(af, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind_lo(l, af, 0) < 0 || listen(l, 1) < 0)
		die("listen");
	port = local_port(l);
	int c = socket(af, SOCK_STREAM, 0);
	if (connect_lo(c, af, port) < 0)
		die("connect");
	int s = accept_wait(l);
	optval("the accepted socket inherits SO_REUSEADDR", s, SOL_SOCKET, SO_REUSEADDR);
	close(s);
	wait_for(c, POLLRDHUP);
	char buf[4];
	printf("client reads EOF: %zd\n", recv(c, buf, sizeof buf, 0));
	close(c);
	close(l);
	int n1 = socket(af, SOCK_STREAM, 0);
	expect_err("bind the port in TIME_WAIT without SO_REUSEADDR", bind_lo(n1, af, port));
	int n2 = socket(af, SOCK_STREAM, 0);
	setsockopt(n2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	show("bind it with SO_REUSEADDR", bind_lo(n2, af, port));
	show("listen", listen(n2, 1));
	c = socket(af, SOCK_STREAM, 0);
	show("connect to the new listener", connect_lo(c, af, port));
	close(accept_wait(n2));
	close(c);
	close(n1);
	close(n2);
}

static void backlog(int af)
{
	section(af, "listen backlog");
	uint16_t port;
	int l = listener(af, 1, &port);
	/* Backlog 1 queues two connections: the third's SYN is dropped
	 * (so it stays unconnected however long it waits) and sent again
	 * a second later, when there is room. */
	int c[3];
	for (int i = 0; i < 3; i++) {
		c[i] = socket(af, SOCK_STREAM | SOCK_NONBLOCK, 0);
		expect_err("non-blocking connect", connect_lo(c[i], af, port));
		struct pollfd p = {.fd = c[i], .events = POLLOUT};
		int r = poll(&p, 1, i < 2 ? WAIT_MS : 500);
		printf("client %d connects: %s\n", i + 1, r == 1 && (p.revents & POLLOUT) ? "yes" : "no");
		/* Let the handshake's last ACK reach the listener. */
		usleep(100000);
	}
	close(accept_wait(l));
	close(accept_wait(l));
	/* The SYN is sent again 1s, 3s, 7s... after the first. */
	struct pollfd p = {.fd = c[2], .events = POLLOUT};
	int r = poll(&p, 1, 10000);
	yesno("the third connects once two are accepted", r == 1 && (p.revents & POLLOUT));
	sockerr("its SO_ERROR", c[2]);
	close(accept_wait(l));
	for (int i = 0; i < 3; i++)
		close(c[i]);
	close(l);
}

/* IPv6 only: a listener on :: takes IPv4 connections too, unless
 * IPV6_V6ONLY. */
static void dualstack(void)
{
	section(AF_INET6, "dual stack");
	int l = socket(AF_INET6, SOCK_STREAM, 0);
	optval("IPV6_V6ONLY", l, IPPROTO_IPV6, IPV6_V6ONLY);
	struct sockaddr_storage ss;
	socklen_t len = any_addr(AF_INET6, &ss, 0);
	show("bind [::]:0", bind(l, (struct sockaddr *)&ss, len));
	describe("listener's name", l, 0, 0);
	show("listen", listen(l, 5));
	uint16_t port = local_port(l);

	int c4 = socket(AF_INET, SOCK_STREAM, 0);
	show("IPv4 connect to 127.0.0.1", connect_lo(c4, AF_INET, port));
	describe("IPv4 client's name", c4, 0, 0);
	struct sockaddr_storage pa;
	socklen_t pl = sizeof pa;
	wait_for(l, POLLIN);
	int s = accept(l, (struct sockaddr *)&pa, &pl);
	describe_from("accepted peer", &pa, pl, local_port(c4));
	describe("accepted name", s, 0, port);
	send(c4, "v4", 2, 0);
	char buf[8];
	ssize_t n = recv(s, buf, sizeof buf, 0);
	printf("got: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
	close(s);
	close(c4);

	int c6 = socket(AF_INET6, SOCK_STREAM, 0);
	len = mapped_addr(&ss, port);
	show("IPv6 connect to ::ffff:127.0.0.1", connect(c6, (struct sockaddr *)&ss, len));
	describe("its name", c6, 0, 0);
	describe("its peer", c6, 1, port);
	pl = sizeof pa;
	wait_for(l, POLLIN);
	s = accept(l, (struct sockaddr *)&pa, &pl);
	describe_from("accepted peer", &pa, pl, local_port(c6));
	close(s);
	close(c6);

	c6 = socket(AF_INET6, SOCK_STREAM, 0);
	show("IPv6 connect to ::1", connect_lo(c6, AF_INET6, port));
	pl = sizeof pa;
	wait_for(l, POLLIN);
	s = accept(l, (struct sockaddr *)&pa, &pl);
	describe_from("accepted peer", &pa, pl, local_port(c6));
	close(s);
	close(c6);
	close(l);

	int one = 1;
	l = socket(AF_INET6, SOCK_STREAM, 0);
	show("set IPV6_V6ONLY", setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
	optval("IPV6_V6ONLY", l, IPPROTO_IPV6, IPV6_V6ONLY);
	len = any_addr(AF_INET6, &ss, 0);
	show("bind [::]:0", bind(l, (struct sockaddr *)&ss, len));
	expect_err("set IPV6_V6ONLY once bound", setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
	listen(l, 5);
	port = local_port(l);
	c4 = socket(AF_INET, SOCK_STREAM, 0);
	expect_err("IPv4 connect to it", connect_lo(c4, AF_INET, port));
	close(c4);
	c6 = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(c6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	len = mapped_addr(&ss, port);
	expect_err("a v6-only socket connects to ::ffff:127.0.0.1", connect(c6, (struct sockaddr *)&ss, len));
	close(c6);
	c6 = socket(AF_INET6, SOCK_STREAM, 0);
	show("IPv6 connect to ::1", connect_lo(c6, AF_INET6, port));
	close(accept_wait(l));
	close(c6);
	close(l);
}

#define BULK (100u << 20)

/* fill fills b with the next n bytes (n a multiple of 8) of a
 * deterministic stream. */
static void fill(unsigned char *b, size_t n, uint64_t *x)
{
	for (size_t i = 0; i < n; i += 8) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		memcpy(b + i, x, 8);
	}
}

static void bulk(int af)
{
	section(af, "100 MiB from a child");
	uint16_t port;
	int l = listener(af, 1, &port);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(l);
		int c = socket(af, SOCK_STREAM, 0);
		if (c < 0 || connect_lo(c, af, port) < 0)
			_exit(3);
		static unsigned char chunk[1 << 16];
		uint64_t x = 0x9e3779b97f4a7c15ULL, h = FNV_INIT;
		for (size_t off = 0; off < BULK; off += sizeof chunk) {
			fill(chunk, sizeof chunk, &x);
			h = fnv1a64(h, chunk, sizeof chunk);
			for (size_t done = 0; done < sizeof chunk;) {
				ssize_t w = write(c, chunk + done, sizeof chunk - done);
				if (w <= 0)
					_exit(4);
				done += w;
			}
		}
		uint64_t theirs;
		if (recv(c, &theirs, sizeof theirs, MSG_WAITALL) != sizeof theirs)
			_exit(5);
		if (send(c, &h, sizeof h, 0) != sizeof h)
			_exit(6);
		close(c);
		_exit(theirs == h ? 0 : 1);
	}
	int s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	static unsigned char in[1 << 17];
	uint64_t h = FNV_INIT, total = 0;
	while (total < BULK) {
		size_t want = BULK - total < sizeof in ? BULK - total : sizeof in;
		ssize_t n = read(s, in, want);
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		h = fnv1a64(h, in, n);
		total += n;
	}
	/* Each side sends its checksum to the other. */
	uint64_t theirs = 0;
	if (send(s, &h, sizeof h, 0) != sizeof h)
		die("send");
	ssize_t n = recv(s, &theirs, sizeof theirs, MSG_WAITALL);
	char end;
	int eof = recv(s, &end, 1, 0) == 0;
	int status;
	waitpid(pid, &status, 0);
	printf("bytes received: %llu\n", (unsigned long long)total);
	yesno("checksum match", n == sizeof theirs && theirs == h);
	yesno("then EOF", eof);
	printf("sender: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "agrees" : "failed");
	close(s);
	close(l);
}

static void family(int af)
{
	the_socket(af);
	connections(af);
	nonblocking_connect(af);
	refused(af);
	data(af);
	halfclose(af);
	peer_closed(af);
	epolled(af);
	rcvtimeo(af);
	reuse(af);
	backlog(af);
	if (af == AF_INET6)
		dualstack();
	bulk(af);
}

int main(void)
{
	signal(SIGPIPE, on_sigpipe);
	family(AF_INET);
	family(AF_INET6);
	return 0;
}
