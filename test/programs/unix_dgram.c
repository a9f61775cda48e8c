/*
 * unix_dgram: Unix domain datagram sockets. Message boundaries, empty
 * datagrams, MSG_PEEK and MSG_TRUNC, FIONREAD; sendto and recvfrom with
 * names (bound and unbound senders, paths and abstract names); connect
 * and its rules (EPERM for a socket connected elsewhere, ECONNREFUSED
 * then ENOTCONN once the peer is gone, AF_UNSPEC, a reconnect dropping
 * queued datagrams); the receive queue's limit for unconnected senders;
 * EMSGSIZE; shutdown; poll bits; SO_PASSCRED's autobind.
 */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char scratch[] = "/tmp/unixd-XXXXXX";
static pid_t scratch_owner;

static void remove_scratch(void)
{
	if (getpid() != scratch_owner)
		return;
	char p[200];
	const char *names[] = {"a", "b", "c", NULL};
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
	return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
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

static void polled(const char *what, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP};
	if (poll(&p, 1, 0) < 0)
		die("poll");
	printf("%s:%s%s%s%s%s%s\n", what, p.revents ? "" : " none", p.revents & POLLIN ? " IN" : "",
	       p.revents & POLLOUT ? " OUT" : "", p.revents & POLLERR ? " ERR" : "",
	       p.revents & POLLHUP ? " HUP" : "", p.revents & POLLRDHUP ? " RDHUP" : "");
}

/* from prints what recvfrom reports of the sender. */
static void from(const char *what, int fd)
{
	char buf[64];
	struct sockaddr_un a;
	memset(&a, 0x55, sizeof a);
	socklen_t len = sizeof a;
	ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&a, &len);
	if (n < 0) {
		printf("%s: errno %s\n", what, errname(errno));
		return;
	}
	printf("%s: %zd '%.*s' from length %u", what, n, (int)n, buf, len);
	if (len > offsetof(struct sockaddr_un, sun_path)) {
		if (a.sun_path[0])
			printf(" path .../%s", strrchr(a.sun_path, '/') + 1);
		else
			printf(" abstract %.*s", (int)(len - offsetof(struct sockaddr_un, sun_path) - 1 - ABSTRACT_SUFFIX), a.sun_path + 1);
	}
	printf("\n");
}

static void messages(void)
{
	printf("== messages\n");
	int sv[2];
	char buf[64];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
		die("socketpair");
	polled("empty pair", sv[0]);
	send(sv[0], "one", 3, 0);
	send(sv[0], "", 0, 0);
	send(sv[0], "three33", 7, 0);
	write(sv[0], "four", 4);
	polled("with messages", sv[1]);
	int v;
	ioctl(sv[1], FIONREAD, &v);
	printf("FIONREAD (the next one): %d\n", v);
	ssize_t n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
	printf("peek: %zd '%.*s'\n", n, (int)n, buf);
	n = recv(sv[1], buf, sizeof buf, 0);
	printf("recv: %zd '%.*s'\n", n, (int)n, buf);
	printf("empty: %zd\n", recv(sv[1], buf, sizeof buf, 0));
	struct iovec io = {buf, 2};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1};
	n = recvmsg(sv[1], &m, MSG_TRUNC);
	printf("recvmsg into 2 with MSG_TRUNC: %zd '%.*s' flags%s\n", n, 2, buf, m.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : "");
	n = read(sv[1], buf, 3);
	printf("read 3 of four: %zd '%.*s'\n", n, (int)n, buf);
	expect_err("nothing left", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
	ioctl(sv[1], FIONREAD, &v);
	printf("FIONREAD empty: %d\n", v);
	struct sockaddr_un a;
	socklen_t len = sizeof a;
	n = recvfrom(sv[1], buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&a, &len);
	expect_err("recvfrom nothing", n);
	send(sv[0], "x", 1, 0);
	len = sizeof a;
	recvfrom(sv[1], buf, sizeof buf, 0, (struct sockaddr *)&a, &len);
	printf("recvfrom an unnamed peer: length %u\n", len);

	int sndbuf = 8192;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	static char big[20000];
	show("16352 bytes (buffer 16384)", send(sv[0], big, 16352, 0));
	expect_err("16353 bytes", send(sv[0], big, 16353, 0));
	n = recv(sv[1], big, sizeof big, 0);
	printf("received %zd\n", n);
	/* A connected pair is bounded by the sender's buffer only. */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	int k = 0;
	while (send(sv[0], "m", 1, 0) == 1)
		k++;
	printf("a full pair: %s after more than 11: %s\n", errname(errno), k > 11 ? "yes" : "no");
	polled("full sender", sv[0]);
	while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) > 0)
		k--;
	printf("all received: %s\n", k == 0 ? "yes" : "no");
	polled("drained sender", sv[0]);
	close(sv[0]);
	close(sv[1]);
}

static void names(void)
{
	printf("== names\n");
	struct sockaddr_un aa, ba, ca;
	socklen_t al = path_addr(&aa, "a"), bl = path_addr(&ba, "b");
	socklen_t cl = abstract_addr(&ca, "dgram-c");
	int a = socket(AF_UNIX, SOCK_DGRAM, 0), b = socket(AF_UNIX, SOCK_DGRAM, 0);
	int c = socket(AF_UNIX, SOCK_DGRAM, 0), u = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (bind(a, (struct sockaddr *)&aa, al) < 0 || bind(b, (struct sockaddr *)&ba, bl) < 0 ||
	    bind(c, (struct sockaddr *)&ca, cl) < 0)
		die("bind");
	expect_err("send unconnected without an address", send(u, "x", 1, 0));
	show("sendto a path from a path", sendto(b, "b-to-a", 6, 0, (struct sockaddr *)&aa, al));
	show("sendto a path from an abstract name", sendto(c, "c-to-a", 6, 0, (struct sockaddr *)&aa, al));
	show("sendto a path from an unnamed socket", sendto(u, "u-to-a", 6, 0, (struct sockaddr *)&aa, al));
	show("sendto an abstract name", sendto(a, "a-to-c", 6, 0, (struct sockaddr *)&ca, cl));
	from("a gets", a);
	from("a gets", a);
	from("a gets", a);
	from("c gets", c);
	struct sockaddr_un na;
	socklen_t nl = path_addr(&na, "none");
	expect_err("sendto a missing path", sendto(u, "x", 1, 0, (struct sockaddr *)&na, nl));
	nl = abstract_addr(&na, "none");
	expect_err("sendto a missing abstract name", sendto(u, "x", 1, 0, (struct sockaddr *)&na, nl));
	expect_err("sendto with the family alone", sendto(u, "x", 1, 0, (struct sockaddr *)&na, sizeof(sa_family_t)));
	int st = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa;
	socklen_t sl = abstract_addr(&sa, "dgram-stream");
	bind(st, (struct sockaddr *)&sa, sl);
	listen(st, 1);
	expect_err("sendto a stream listener's abstract name", sendto(u, "x", 1, 0, (struct sockaddr *)&sa, sl));
	close(st);

	/* The queue takes more from unconnected senders than it did from nothing, then refuses. */
	int k = 0;
	while (sendto(u, "q", 1, MSG_DONTWAIT, (struct sockaddr *)&aa, al) == 1 && k < 1000)
		k++;
	printf("an unconnected sender fills the queue: %s after %s\n", errname(errno), k > 5 && k < 100 ? "a few" : "an unexpected count");
	polled("the receiver", a);
	char buf[8];
	while (recv(a, buf, sizeof buf, MSG_DONTWAIT) > 0)
		k--;
	printf("all received: %s\n", k == 0 ? "yes" : "no");

	/* SO_PASSCRED makes an unnamed sender name itself. */
	int p = socket(AF_UNIX, SOCK_DGRAM, 0), one = 1;
	setsockopt(p, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
	sendto(p, "auto", 4, 0, (struct sockaddr *)&aa, al);
	struct sockaddr_un pa;
	socklen_t pl = sizeof pa;
	getsockname(p, (struct sockaddr *)&pa, &pl);
	printf("SO_PASSCRED sender's name after sendto: length %u\n", pl);
	pl = sizeof pa;
	recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&pa, &pl);
	printf("the receiver sees length %u\n", pl);
	close(p);
	close(u);
	close(a);
	close(b);
	close(c);
	unlink(aa.sun_path);
	unlink(ba.sun_path);
}

static void connections(void)
{
	printf("== connect\n");
	struct sockaddr_un aa, ba, ca;
	socklen_t al = abstract_addr(&aa, "conn-a"), bl = abstract_addr(&ba, "conn-b"), cl = abstract_addr(&ca, "conn-c");
	int a = socket(AF_UNIX, SOCK_DGRAM, 0), b = socket(AF_UNIX, SOCK_DGRAM, 0), c = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(a, (struct sockaddr *)&aa, al);
	bind(b, (struct sockaddr *)&ba, bl);
	bind(c, (struct sockaddr *)&ca, cl);
	expect_err("getpeername unconnected", getpeername(a, (struct sockaddr *)&(struct sockaddr_un){0}, &(socklen_t){sizeof(struct sockaddr_un)}));
	show("connect a to b", connect(a, (struct sockaddr *)&ba, bl));
	struct sockaddr_un pa;
	socklen_t pl = sizeof pa;
	getpeername(a, (struct sockaddr *)&pa, &pl);
	printf("a's peer: length %u\n", pl);
	show("a sends to its peer", send(a, "to-b", 4, 0));
	show("b answers with sendto", sendto(b, "to-a", 4, 0, (struct sockaddr *)&aa, al));
	expect_err("c sends to a (connected to b)", sendto(c, "x", 1, 0, (struct sockaddr *)&aa, al));
	expect_err("c connects to a", connect(c, (struct sockaddr *)&aa, al));
	show("a sendto c despite its peer", sendto(a, "a-to-c", 6, 0, (struct sockaddr *)&ca, cl));
	char buf[16];
	from("b gets", b);
	from("a gets", a);
	from("c gets", c);
	show("connect b to a (a two-way pair)", connect(b, (struct sockaddr *)&aa, al));
	send(b, "q1", 2, 0);
	send(b, "q2", 2, 0);
	show("a connects to c instead", connect(a, (struct sockaddr *)&ca, cl));
	expect_err("a's queued datagrams are gone", recv(a, buf, sizeof buf, MSG_DONTWAIT));
	int e;
	socklen_t el = sizeof e;
	getsockopt(b, SOL_SOCKET, SO_ERROR, &e, &el);
	printf("b's SO_ERROR: %s\n", e ? errname(e) : "0");
	show("connect a AF_UNSPEC", connect(a, (struct sockaddr *)&(struct sockaddr){AF_UNSPEC}, sizeof(struct sockaddr)));
	expect_err("a's peer", getpeername(a, (struct sockaddr *)&pa, &pl));
	expect_err("a sends without a peer", send(a, "x", 1, 0));

	close(c);
	show("b connects to a", connect(b, (struct sockaddr *)&aa, al));
	close(a);
	polled("b after its peer closed", b);
	expect_err("b sends", send(b, "x", 1, 0));
	expect_err("b sends again", send(b, "x", 1, 0));
	expect_err("b receives", recv(b, buf, sizeof buf, MSG_DONTWAIT));
	close(b);

	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	signal(SIGPIPE, SIG_IGN);
	show("SHUT_WR", shutdown(sv[0], SHUT_WR));
	expect_err("send after SHUT_WR", send(sv[0], "x", 1, 0));
	polled("self", sv[0]);
	polled("peer (not shut)", sv[1]);
	show("peer sends", send(sv[1], "y", 1, 0));
	shutdown(sv[0], SHUT_RD);
	polled("self after SHUT_RDWR", sv[0]);
	printf("self receives what was queued: %zd\n", recv(sv[0], buf, sizeof buf, 0));
	printf("then: %zd\n", recv(sv[0], buf, sizeof buf, 0));
	expect_err("peer sends to it", send(sv[1], "z", 1, 0));
	close(sv[0]);
	close(sv[1]);
}

static void across_fork(void)
{
	printf("== across fork\n");
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		char buf[64];
		for (;;) {
			ssize_t n = recv(sv[1], buf, sizeof buf, 0);
			if (n <= 0 || (n == 4 && !memcmp(buf, "done", 4)))
				break;
			for (ssize_t i = 0; i < n; i++)
				buf[i] = buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i];
			send(sv[1], buf, n, 0);
		}
		_exit(0);
	}
	close(sv[1]);
	uint64_t h = FNV_INIT;
	for (int i = 0; i < 200; i++) {
		char msg[64], reply[64];
		int n = snprintf(msg, sizeof msg, "message number %d", i);
		send(sv[0], msg, n, 0);
		ssize_t r = recv(sv[0], reply, sizeof reply, 0);
		if (r != n)
			die("reply length");
		h = fnv1a64(h, reply, r);
	}
	send(sv[0], "done", 4, 0);
	int status;
	waitpid(pid, &status, 0);
	printf("200 round trips: hash %016llx, child %s\n", (unsigned long long)h,
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
	close(sv[0]);
}

int main(void)
{
	if (!mkdtemp(scratch))
		die("mkdtemp");
	scratch_owner = getpid();
	atexit(remove_scratch);
	messages();
	names();
	connections();
	across_fork();
	return 0;
}
