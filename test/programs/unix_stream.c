/*
 * unix_stream: Unix domain stream and sequenced-packet sockets. Names
 * (paths in a scratch directory, abstract names, autobind) and their
 * lengths; listen's backlog, blocking and non-blocking connect and
 * accept; byte-stream data, MSG_PEEK, MSG_WAITALL, a large transfer
 * across fork; shutdown and hang-ups with their poll bits; EPIPE and
 * SIGPIPE; ECONNRESET for data left unread; socket options and ioctls;
 * SO_RCVTIMEO and interrupted receives; fstat and /proc/self/fd.
 */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

static char scratch[] = "/tmp/unix-XXXXXX";
static pid_t scratch_owner;

static void remove_scratch(void)
{
	if (getpid() != scratch_owner)
		return;
	char p[200];
	const char *names[] = {"srv", "dg", "reg", "mk", NULL};
	for (int i = 0; names[i]; i++) {
		snprintf(p, sizeof p, "%s/%s", scratch, names[i]);
		unlink(p);
	}
	rmdir(scratch);
}

static socklen_t path_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", scratch, name);
	return sizeof *a;
}

/* Abstract names are global on the host: natively, runs of this program
 * in parallel (its link variants, the harness's native sides) would
 * collide, so each name ends with the process ID in a fixed width
 * (ABSTRACT_SUFFIX bytes), never printed. */
#define ABSTRACT_SUFFIX 9
static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "%s-%08x", name, (unsigned)getpid());
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

/* polled prints the poll bits of fd among IN, OUT, ERR, HUP, RDHUP. */
static void polled(const char *what, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP};
	if (poll(&p, 1, 0) < 0)
		die("poll");
	printf("%s:%s%s%s%s%s%s\n", what, p.revents ? "" : " none", p.revents & POLLIN ? " IN" : "",
	       p.revents & POLLOUT ? " OUT" : "", p.revents & POLLERR ? " ERR" : "",
	       p.revents & POLLHUP ? " HUP" : "", p.revents & POLLRDHUP ? " RDHUP" : "");
}

/* describe_name prints an address's length and kind. */
static void describe_name(const char *what, int fd, int peer)
{
	struct sockaddr_un a;
	memset(&a, 0x55, sizeof a);
	socklen_t len = sizeof a;
	int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len);
	if (r < 0) {
		printf("%s: errno %s\n", what, errname(errno));
		return;
	}
	printf("%s: len %u family %d", what, len, a.sun_family);
	if (len > offsetof(struct sockaddr_un, sun_path)) {
		if (a.sun_path[0]) {
			const char *base = strrchr(a.sun_path, '/');
			printf(" path .../%s", base ? base + 1 : a.sun_path);
		} else {
			printf(" abstract of %u bytes", len - (socklen_t)offsetof(struct sockaddr_un, sun_path) - 1 - ABSTRACT_SUFFIX);
		}
	}
	printf("\n");
}

static int sigpipes, alarms;
static void on_sigpipe(int sig) { (void)sig; sigpipes++; }
static void on_alarm(int sig) { (void)sig; alarms++; }

static long elapsed_ms(struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void names(void)
{
	printf("== names\n");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	describe_name("unbound", s, 0);
	describe_name("unbound peer", s, 1);
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "srv");
	expect_err("bind length 1", bind(s, (struct sockaddr *)&a, 1));
	expect_err("bind length 111", bind(s, (struct sockaddr *)&a, 111));
	a.sun_family = AF_INET;
	expect_err("bind another family", bind(s, (struct sockaddr *)&a, len));
	a.sun_family = AF_UNIX;
	show("bind a path (exact length, no NUL)", bind(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path)));
	describe_name("bound", s, 0);
	expect_err("bind again", bind(s, (struct sockaddr *)&a, len));
	show("autobind a bound socket", bind(s, (struct sockaddr *)&a, sizeof(sa_family_t)));
	int t = socket(AF_UNIX, SOCK_STREAM, 0);
	expect_err("bind the same path", bind(t, (struct sockaddr *)&a, len));
	struct stat st;
	if (lstat(a.sun_path, &st) < 0)
		die("lstat");
	printf("file: socket %s mode %04o\n", S_ISSOCK(st.st_mode) ? "yes" : "no", st.st_mode & 07777);
	len = abstract_addr(&a, "magawa-test");
	show("bind abstract", bind(t, (struct sockaddr *)&a, len));
	describe_name("abstract", t, 0);
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	expect_err("bind the same abstract name", bind(u, (struct sockaddr *)&a, len));
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	show("bind it with another type", bind(d, (struct sockaddr *)&a, len));
	show("autobind", bind(u, (struct sockaddr *)&a, sizeof(sa_family_t)));
	describe_name("autobound", u, 0);
	len = sizeof a;
	getsockname(u, (struct sockaddr *)&a, &len);
	int hex = len == 8 && a.sun_path[0] == 0;
	for (int i = 1; hex && i < 6; i++)
		hex = strchr("0123456789abcdef", a.sun_path[i]) != NULL;
	yesno("autobind name is five hex digits", hex);
	close(s);
	close(t);
	close(u);
	close(d);
	path_addr(&a, "srv");
	if (lstat(a.sun_path, &st) == 0)
		printf("after close the file stays: yes\n");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	expect_err("bind over the file left", bind(s, (struct sockaddr *)&a, sizeof a));
	close(s);
	unlink(a.sun_path);
}

static void connections(void)
{
	printf("== connections\n");
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "srv");
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	expect_err("listen unbound", listen(l, 1));
	if (bind(l, (struct sockaddr *)&a, len) < 0)
		die("bind");
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	expect_err("connect to a bound socket not listening", connect(c, (struct sockaddr *)&a, len));
	show("listen 1", listen(l, 1));
	int v;
	socklen_t vl = sizeof v;
	getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
	printf("SO_ACCEPTCONN: %d\n", v);
	polled("listener, none waiting", l);
	show("connect", connect(c, (struct sockaddr *)&a, len));
	polled("listener, one waiting", l);
	polled("client before accept", c);
	describe_name("client's peer", c, 1);
	describe_name("client's name", c, 0);
	show("send before accept", send(c, "early", 5, 0));
	int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	show("a second connect (backlog 1 takes 2)", connect(c2, (struct sockaddr *)&a, len));
	int c3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	expect_err("a third, non-blocking", connect(c3, (struct sockaddr *)&a, len));
	fcntl(c, F_SETFL, O_NONBLOCK);
	expect_err("connect the connected one again (backlog full)", connect(c, (struct sockaddr *)&a, len));
	fcntl(c, F_SETFL, 0);
	struct sockaddr_un pa;
	socklen_t pl = sizeof pa;
	int s = accept4(l, (struct sockaddr *)&pa, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (s < 0)
		die("accept4");
	printf("accepted: peer address length %u, cloexec %d, nonblock %d\n", pl, fcntl(s, F_GETFD) & FD_CLOEXEC,
	       !!(fcntl(s, F_GETFL) & O_NONBLOCK));
	describe_name("server's name", s, 0);
	describe_name("server's peer", s, 1);
	char buf[64];
	ssize_t n = recv(s, buf, sizeof buf, 0);
	printf("server got %zd bytes: %.*s\n", n, (int)(n > 0 ? n : 0), buf);
	expect_err("connect the connected one again", connect(c, (struct sockaddr *)&a, len));
	int s2 = accept(l, NULL, NULL);
	show("accept the second", s2);
	expect_err("accept4 bad flags", accept4(l, NULL, NULL, 0x1000));
	fcntl(l, F_SETFL, O_NONBLOCK);
	expect_err("accept none waiting, non-blocking", accept(l, NULL, NULL));
	fcntl(l, F_SETFL, 0);

	/* A full backlog makes a blocking connect wait for an accept. */
	int f1 = socket(AF_UNIX, SOCK_STREAM, 0), f2 = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(f1, (struct sockaddr *)&a, len);
	connect(f2, (struct sockaddr *)&a, len);
	pid_t pid = fork();
	if (pid == 0) {
		int w = socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(connect(w, (struct sockaddr *)&a, len) == 0 ? 0 : 1);
	}
	usleep(100000);
	int status;
	yesno("a blocking connect waits while the backlog is full", waitpid(pid, &status, WNOHANG) == 0);
	close(accept(l, NULL, NULL));
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	yesno("it connects after an accept", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(accept(l, NULL, NULL));
	close(accept(l, NULL, NULL));

	int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
	expect_err("listen on a datagram socket", listen(dg, 1));
	expect_err("accept on a datagram socket", accept(dg, NULL, NULL));
	expect_err("connect a datagram socket to a stream listener", connect(dg, (struct sockaddr *)&a, len));
	expect_err("connect a seqpacket socket to it", connect(socket(AF_UNIX, SOCK_SEQPACKET, 0), (struct sockaddr *)&a, len));
	expect_err("connect to a missing path", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "/nonexistent/x"}, sizeof a));
	struct sockaddr_un ab;
	socklen_t abl = abstract_addr(&ab, "nobody-here");
	expect_err("connect to a missing abstract name", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&ab, abl));
	expect_err("connect with the family alone", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&ab, sizeof(sa_family_t)));
	expect_err("connect AF_UNSPEC", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&(struct sockaddr){AF_UNSPEC}, sizeof(struct sockaddr)));

	/* Closing a listener resets connections nobody accepted. */
	int p = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(p, (struct sockaddr *)&a, len);
	close(l);
	polled("pending client after the listener closed", p);
	expect_err("its recv", recv(p, buf, sizeof buf, 0));
	printf("then recv: %zd\n", recv(p, buf, sizeof buf, 0));
	expect_err("its send", send(p, "x", 1, MSG_NOSIGNAL));
	expect_err("connect to the closed listener's path", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, len));
	unlink(a.sun_path);

	/* An abstract listener; SHUT_RD stops new connections. */
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&ab, abl);
	listen(l, 5);
	int k = socket(AF_UNIX, SOCK_STREAM, 0);
	show("connect to an abstract listener", connect(k, (struct sockaddr *)&ab, abl));
	show("shutdown the listener SHUT_RD", shutdown(l, SHUT_RD));
	polled("listener after SHUT_RD", l);
	expect_err("connect after that", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&ab, abl));
	show("accept what was waiting", accept(l, NULL, NULL));
	expect_err("accept again", accept(l, NULL, NULL));
	for (int fd = 3; fd < 64; fd++)
		close(fd);
}

static void data(void)
{
	printf("== data\n");
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	char buf[128];
	write(sv[0], "hello ", 6);
	write(sv[0], "world", 5);
	int v;
	ioctl(sv[1], FIONREAD, &v);
	printf("FIONREAD: %d\n", v);
	ioctl(sv[0], SIOCOUTQ, &v);
	printf("SIOCOUTQ of the writer > 0: %s\n", v > 0 ? "yes" : "no");
	ssize_t n = recv(sv[1], buf, 3, MSG_PEEK);
	printf("peek 3: %zd '%.*s'\n", n, (int)n, buf);
	n = read(sv[1], buf, sizeof buf);
	printf("read: %zd '%.*s' (two writes glued)\n", n, (int)n, buf);
	ioctl(sv[0], SIOCOUTQ, &v);
	printf("SIOCOUTQ after the read: %d\n", v);
	expect_err("recv nothing, MSG_DONTWAIT", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
	show("send 0 bytes", send(sv[0], "", 0, 0));
	expect_err("which queues nothing", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
	write(sv[0], "abcdef", 6);
	printf("recv 2 with MSG_TRUNC: %zd\n", recv(sv[1], buf, 2, MSG_TRUNC));
	n = recv(sv[1], buf, sizeof buf, 0);
	printf("the rest: '%.*s'\n", (int)n, buf);

	/* MSG_WAITALL waits for all of it, across writes. */
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 4; i++) {
			usleep(20000);
			write(sv[0], "0123456789", 10);
		}
		_exit(0);
	}
	n = recv(sv[1], buf, 40, MSG_WAITALL);
	printf("MSG_WAITALL 40: %zd\n", n);
	waitpid(pid, NULL, 0);

	/* A large transfer through a child, hashed. */
	pid = fork();
	if (pid == 0) {
		static char big[1 << 20];
		for (size_t i = 0; i < sizeof big; i++)
			big[i] = (char)(i * 7 + i / 4096);
		size_t off = 0;
		while (off < sizeof big) {
			ssize_t w = write(sv[0], big + off, sizeof big - off);
			if (w <= 0)
				_exit(1);
			off += w;
		}
		_exit(0);
	}
	uint64_t h = FNV_INIT;
	size_t total = 0;
	while (total < (1 << 20)) {
		static char in[50000];
		n = read(sv[1], in, sizeof in);
		if (n <= 0)
			die("read big");
		h = fnv1a64(h, in, n);
		total += n;
	}
	int status;
	waitpid(pid, &status, 0);
	printf("1 MiB through a child: %zu bytes, hash %016llx, writer %s\n", total, (unsigned long long)h,
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");

	/* A non-blocking writer fills the buffer. */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	size_t filled = 0;
	for (;;) {
		static char chunk[4096];
		n = write(sv[0], chunk, sizeof chunk);
		if (n < 0)
			break;
		filled += n;
	}
	printf("filling: stops with %s after more than 100 KiB: %s\n", errname(errno), filled > 100 * 1024 ? "yes" : "no");
	polled("full writer", sv[0]);
	polled("its reader", sv[1]);
	while (filled > 0) {
		static char drain[65536];
		n = read(sv[1], drain, sizeof drain);
		if (n <= 0)
			die("drain");
		filled -= n;
	}
	polled("drained writer", sv[0]);
	int sndbuf;
	socklen_t sl = sizeof sndbuf;
	getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl);
	printf("SO_SNDBUF default: %d\n", sndbuf);
	sndbuf = 8192;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl);
	printf("SO_SNDBUF set 8192: %d\n", sndbuf);
	sndbuf = 1;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl);
	printf("SO_SNDBUF set 1: %d\n", sndbuf);
	filled = 0;
	while ((n = write(sv[0], buf, 100)) > 0)
		filled += n;
	printf("a small buffer fills sooner: %s\n", filled < 8192 ? "yes" : "no");
	close(sv[0]);
	close(sv[1]);
}

static void hangups(void)
{
	printf("== shutdown and hang-ups\n");
	int sv[2];
	char buf[16];
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	polled("unconnected", s);
	expect_err("recv unconnected", recv(s, buf, sizeof buf, MSG_DONTWAIT));
	expect_err("send unconnected", send(s, "x", 1, MSG_DONTWAIT));
	expect_err("getpeername unconnected", getpeername(s, (struct sockaddr *)&(struct sockaddr_un){0}, &(socklen_t){sizeof(struct sockaddr_un)}));
	show("shutdown unconnected", shutdown(s, SHUT_RDWR));
	polled("unconnected after shutdown", s);
	close(s);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	polled("connected pair", sv[0]);
	show("SHUT_WR", shutdown(sv[0], SHUT_WR));
	polled("self after SHUT_WR", sv[0]);
	polled("peer after SHUT_WR", sv[1]);
	printf("peer reads: %zd\n", read(sv[1], buf, sizeof buf));
	sigpipes = 0;
	expect_err("write after SHUT_WR", write(sv[0], "x", 1));
	printf("SIGPIPE: %d\n", sigpipes);
	show("peer still writes", write(sv[1], "back", 4));
	printf("self reads: %zd\n", read(sv[0], buf, sizeof buf));
	show("SHUT_RD", shutdown(sv[0], SHUT_RD));
	polled("self after SHUT_RDWR", sv[0]);
	polled("peer after that", sv[1]);
	printf("self reads: %zd\n", read(sv[0], buf, sizeof buf));
	sigpipes = 0;
	expect_err("peer writes, MSG_NOSIGNAL", send(sv[1], "x", 1, MSG_NOSIGNAL));
	printf("SIGPIPE: %d\n", sigpipes);
	expect_err("shutdown 3", shutdown(sv[0], 3));
	close(sv[0]);
	close(sv[1]);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[0], "unread", 6);
	write(sv[1], "left", 4);
	close(sv[1]);
	polled("after the peer closed with data unread", sv[0]);
	int e;
	socklen_t el = sizeof e;
	getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &e, &el);
	printf("SO_ERROR: %s\n", e ? errname(e) : "0");
	getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &e, &el);
	printf("SO_ERROR again: %s\n", e ? errname(e) : "0");
	ssize_t n = read(sv[0], buf, sizeof buf);
	printf("read what was sent first: %zd\n", n);
	printf("then: %zd\n", read(sv[0], buf, sizeof buf));
	sigpipes = 0;
	expect_err("write", write(sv[0], "x", 1));
	printf("SIGPIPE: %d\n", sigpipes);
	close(sv[0]);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[1], "abc", 3);
	close(sv[1]);
	n = read(sv[0], buf, sizeof buf);
	printf("peer closed after writing (all read): %zd, then %zd\n", n, read(sv[0], buf, sizeof buf));
	close(sv[0]);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[0], "x", 1);
	read(sv[1], buf, 1);
	close(sv[1]);
	polled("peer closed, nothing unread", sv[0]);
	printf("recv: %zd\n", recv(sv[0], buf, 1, MSG_DONTWAIT));
	close(sv[0]);
}

static void seqpacket(void)
{
	printf("== seqpacket\n");
	int sv[2];
	char buf[64];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		die("socketpair");
	send(sv[0], "first", 5, 0);
	send(sv[0], "second message", 14, 0);
	send(sv[0], "", 0, 0);
	int v;
	ioctl(sv[1], FIONREAD, &v);
	printf("FIONREAD (all queued bytes): %d\n", v);
	ssize_t n = recv(sv[1], buf, sizeof buf, 0);
	printf("recv: %zd '%.*s'\n", n, (int)n, buf);
	struct iovec io = {buf, 6};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1};
	n = recvmsg(sv[1], &m, 0);
	printf("recvmsg into 6: %zd, MSG_TRUNC %s\n", n, m.msg_flags & MSG_TRUNC ? "set" : "clear");
	printf("empty message: %zd\n", recv(sv[1], buf, sizeof buf, 0));
	send(sv[0], "0123456789", 10, 0);
	printf("recv 4 with MSG_TRUNC: %zd\n", recv(sv[1], buf, 4, MSG_TRUNC));
	static char big[300000];
	expect_err("a message over the send buffer", send(sv[0], big, sizeof big, 0));
	close(sv[0]);
	polled("peer closed", sv[1]);
	printf("recv: %zd\n", recv(sv[1], buf, sizeof buf, 0));
	sigpipes = 0;
	expect_err("send", send(sv[1], "x", 1, 0));
	printf("SIGPIPE: %d (not for seqpacket)\n", sigpipes);
	close(sv[1]);

	int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "seq-listener");
	bind(l, (struct sockaddr *)&a, len);
	listen(l, 2);
	int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	expect_err("send unconnected", send(c, "x", 1, 0));
	expect_err("recv unconnected", recv(c, buf, 1, 0));
	show("connect", connect(c, (struct sockaddr *)&a, len));
	int s = accept(l, NULL, NULL);
	send(c, "one", 3, 0);
	send(c, "two", 3, 0);
	n = recv(s, buf, sizeof buf, 0);
	printf("server: '%.*s'", (int)n, buf);
	n = recv(s, buf, sizeof buf, 0);
	printf(" '%.*s'\n", (int)n, buf);
	close(c);
	close(s);
	close(l);
}

static void options(void)
{
	printf("== options\n");
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	printf("F_GETFL: %#x, FD_CLOEXEC %d\n", fcntl(s, F_GETFL), fcntl(s, F_GETFD));
	int opts[] = {SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_ACCEPTCONN, SO_PASSCRED, SO_RCVBUF,
		      SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_RCVLOWAT, SO_SNDLOWAT, SO_PEEK_OFF};
	const char *names[] = {"SO_TYPE", "SO_DOMAIN", "SO_PROTOCOL", "SO_ERROR", "SO_ACCEPTCONN", "SO_PASSCRED",
			       "SO_RCVBUF", "SO_REUSEADDR", "SO_KEEPALIVE", "SO_BROADCAST", "SO_RCVLOWAT",
			       "SO_SNDLOWAT", "SO_PEEK_OFF"};
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		int v = -7;
		socklen_t l = sizeof v;
		int r = getsockopt(s, SOL_SOCKET, opts[i], &v, &l);
		if (r < 0)
			printf("%s: errno %s\n", names[i], errname(errno));
		else
			printf("%s: %d (len %u)\n", names[i], v, l);
	}
	int one = 1, v;
	socklen_t l = 2;
	getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l);
	printf("SO_TYPE into 2 bytes: len %u\n", l);
	for (size_t i = 7; i < 10; i++) {
		setsockopt(s, SOL_SOCKET, opts[i], &one, sizeof one);
		l = sizeof v;
		getsockopt(s, SOL_SOCKET, opts[i], &v, &l);
		printf("%s after setting: %d\n", names[i], v);
	}
	expect_err("setsockopt with 2 bytes", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, 2));
	expect_err("setsockopt SO_TYPE", setsockopt(s, SOL_SOCKET, SO_TYPE, &one, sizeof one));
	expect_err("setsockopt an unknown option", setsockopt(s, SOL_SOCKET, 999, &one, sizeof one));
	expect_err("getsockopt an unknown option", getsockopt(s, SOL_SOCKET, 999, &v, &l));
	expect_err("setsockopt at SOL_TCP", setsockopt(s, 6, 1, &one, sizeof one));
	expect_err("getsockopt at SOL_TCP", getsockopt(s, 6, 1, &v, &l));
	expect_err("SO_REUSEPORT", setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
	struct linger lg = {1, 5};
	show("SO_LINGER", setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
	l = sizeof lg;
	memset(&lg, 0, sizeof lg);
	getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l);
	printf("SO_LINGER: %d %d\n", lg.l_onoff, lg.l_linger);
	struct timeval tv = {2, 500000};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	l = sizeof tv;
	memset(&tv, 0, sizeof tv);
	getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &l);
	printf("SO_RCVTIMEO: %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
	tv.tv_usec = 1000000;
	expect_err("SO_RCVTIMEO usec 1000000", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	expect_err("SO_RCVTIMEO short", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, 8));
	close(s);

	expect_err("socket AF_INET6 with bad flags", socket(AF_INET6, SOCK_STREAM | 0x1000, 0));
	expect_err("socket family 12345", socket(12345, SOCK_STREAM, 0));
	expect_err("socket type 0", socket(AF_UNIX, 0, 0));
	expect_err("socket SOCK_RDM", socket(AF_UNIX, SOCK_RDM, 0));
	expect_err("socket type 12", socket(AF_UNIX, 12, 0));
	expect_err("socket protocol 2", socket(AF_UNIX, SOCK_STREAM, 2));
	s = socket(AF_UNIX, SOCK_STREAM, PF_UNIX);
	show("socket protocol PF_UNIX", s);
	close(s);
	s = socket(AF_UNIX, SOCK_RAW, 0);
	v = 0;
	l = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l);
	printf("SOCK_RAW makes SO_TYPE %d\n", v);
	close(s);
	int sv[2];
	expect_err("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, sv));
	expect_err("socketpair family 12345", socketpair(12345, SOCK_STREAM, 0, sv));
	expect_err("getsockname of a pipe", ({ int p[2]; pipe(p); getsockname(p[0], (struct sockaddr *)&(struct sockaddr_un){0}, &(socklen_t){sizeof(struct sockaddr_un)}); }));
	expect_err("shutdown of a bad descriptor", shutdown(999, SHUT_RD));
}

static void files(void)
{
	printf("== the socket as a file\n");
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct stat st, st2;
	fstat(sv[0], &st);
	fstat(sv[1], &st2);
	printf("fstat: socket %s, mode %04o, size %lld, distinct inodes %s\n", S_ISSOCK(st.st_mode) ? "yes" : "no",
	       st.st_mode & 07777, (long long)st.st_size, st.st_ino != st2.st_ino ? "yes" : "no");
	char link[64], want[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", sv[0]);
	ssize_t n = readlink(link, want, sizeof want - 1);
	want[n > 0 ? n : 0] = 0;
	char expect[64];
	snprintf(expect, sizeof expect, "socket:[%llu]", (unsigned long long)st.st_ino);
	yesno("/proc/self/fd names it socket:[inode]", strcmp(want, expect) == 0);
	expect_err("open it through /proc", open(link, O_RDWR));
	expect_err("lseek", lseek(sv[0], 0, SEEK_SET));
	expect_err("pread", pread(sv[0], want, 1, 0));
	close(sv[0]);
	close(sv[1]);
}

static void timeouts(void)
{
	printf("== timeouts and signals\n");
	int sv[2];
	char buf[8];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct timeval tv = {0, 100000};
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_err("recv with SO_RCVTIMEO 100ms", recv(sv[0], buf, sizeof buf, 0));
	yesno("it waited 100ms", elapsed_ms(&t0) >= 100);

	/* With a timeout, a signal interrupts even with SA_RESTART. */
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	sigaction(SIGALRM, &sa, NULL);
	tv.tv_sec = 5;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct itimerval it = {.it_value = {0, 50000}};
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	expect_err("recv with a timeout, interrupted (SA_RESTART)", recv(sv[0], buf, sizeof buf, 0));
	printf("alarms: %d\n", alarms);

	/* Without one, SA_RESTART restarts the receive. */
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(200000);
		write(sv[1], "late", 4);
		_exit(0);
	}
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	ssize_t n = recv(sv[0], buf, sizeof buf, 0);
	printf("recv without a timeout, interrupted (SA_RESTART): %zd '%.*s', alarms %d\n", n, (int)(n > 0 ? n : 0), buf, alarms);
	waitpid(pid, NULL, 0);
	sa.sa_flags = 0;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	expect_err("recv interrupted without SA_RESTART", recv(sv[0], buf, sizeof buf, 0));

	/* A full send buffer times out with SO_SNDTIMEO. */
	tv.tv_usec = 100000;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	static char chunk[65536];
	size_t total = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		n = send(sv[0], chunk, sizeof chunk, 0);
		if (n < 0)
			break;
		total += n;
	}
	printf("send until SO_SNDTIMEO: %s after some data: %s, waited: %s\n", errname(errno), total > 0 ? "yes" : "no",
	       elapsed_ms(&t0) >= 100 ? "yes" : "no");
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	signal(SIGPIPE, on_sigpipe);
	if (!mkdtemp(scratch))
		die("mkdtemp");
	scratch_owner = getpid();
	atexit(remove_scratch);
	names();
	connections();
	data();
	hangups();
	seqpacket();
	options();
	files();
	timeouts();
	return 0;
}
