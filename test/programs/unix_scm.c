/*
 * unix_scm: ancillary data on Unix domain sockets. SCM_RIGHTS: a pipe
 * and a socket passed across fork and used by the receiver, the sender
 * closing its copies first; MSG_CMSG_CLOEXEC; truncation (MSG_CTRUNC)
 * with a small or missing control buffer; EBADF and the SCM_MAX_FD
 * limit; MSG_PEEK; how a stream glues data around descriptors.
 * SCM_CREDENTIALS with SO_PASSCRED: default credentials, the ones root
 * may claim, the ones others may not (EPERM), ESRCH, malformed messages;
 * SO_PEERCRED of pairs, connections and unconnected sockets.
 */
#include "common.h"
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* send_fds sends data with n descriptors (n == 0: no control). */
static ssize_t send_fds(int s, const char *data, size_t len, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 300)];
	struct iovec io = {(void *)data, len};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1};
	if (n > 0) {
		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	return sendmsg(s, &m, 0);
}

/* send_creds sends one byte with an SCM_CREDENTIALS message. */
static ssize_t send_creds(int s, pid_t pid, uid_t uid, gid_t gid, size_t clen)
{
	char cbuf[CMSG_SPACE(sizeof(struct ucred))];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec io = {"c", 1};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = clen;
	struct ucred u = {pid, uid, gid};
	memcpy(CMSG_DATA(c), &u, sizeof u);
	return sendmsg(s, &m, 0);
}

static pid_t known_child;

/* received describes a recvmsg: data, flags, control length and each
 * control message (descriptors by kind, credentials by whose). Received
 * descriptors are closed unless keep is set, in which case the first is
 * returned. */
static int received(const char *what, int s, size_t room, size_t clen, int flags, int keep)
{
	char buf[64] = {0};
	char cbuf[4096];
	struct iovec io = {buf, room};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = clen ? cbuf : NULL, .msg_controllen = clen};
	ssize_t n = recvmsg(s, &m, flags);
	if (n < 0) {
		printf("%s: errno %s\n", what, errname(errno));
		return -1;
	}
	printf("%s: %zd '%.*s'%s%s controllen %zu", what, n, (int)(n < (ssize_t)room ? n : (ssize_t)room), buf,
	       m.msg_flags & MSG_CTRUNC ? " MSG_CTRUNC" : "", m.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : "",
	       (size_t)m.msg_controllen);
	int kept = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		printf(" [level %d type %d len %zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
		if (c->cmsg_type == SCM_RIGHTS) {
			int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (int i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
				struct stat st;
				fstat(fd, &st);
				printf(" %s%s", S_ISFIFO(st.st_mode) ? "fifo" : S_ISSOCK(st.st_mode) ? "socket" : "other",
				       fcntl(fd, F_GETFD) & FD_CLOEXEC ? "(cloexec)" : "");
				if (keep && kept < 0)
					kept = fd;
				else
					close(fd);
			}
		} else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred u;
			memcpy(&u, CMSG_DATA(c), sizeof u);
			printf(" pid %s uid %d gid %d",
			       u.pid == getpid() ? "self" : u.pid == known_child ? "child" : u.pid == 0 ? "0" : "other",
			       (int)u.uid, (int)u.gid);
		}
		printf("]");
	}
	printf("\n");
	return kept;
}

static void rights(void)
{
	printf("== SCM_RIGHTS\n");
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");

	/* A child makes a pipe and a socket pair, passes one end of each,
	 * closes its copies, and writes into them. */
	pid_t pid = fork();
	if (pid == 0) {
		int p[2], q[2];
		if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, q) < 0)
			_exit(2);
		int fds[2] = {p[0], q[0]};
		if (send_fds(sv[1], "here", 4, fds, 2) != 4)
			_exit(3);
		close(p[0]);
		close(q[0]);
		write(p[1], "through the pipe", 16);
		write(q[1], "through the socket", 18);
		close(p[1]);
		char buf[16];
		ssize_t n = read(q[1], buf, sizeof buf);
		_exit(n == 5 && !memcmp(buf, "reply", 5) ? 0 : 4);
	}
	known_child = pid;
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	char buf[64];
	struct iovec io = {buf, sizeof buf};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	ssize_t n = recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (n != 4 || !c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(2 * sizeof(int)))
		die("recvmsg rights");
	int fds[2];
	memcpy(fds, CMSG_DATA(c), sizeof fds);
	printf("received 2 descriptors, flags %s\n", m.msg_flags == MSG_CMSG_CLOEXEC ? "MSG_CMSG_CLOEXEC" : "other");
	yesno("both close-on-exec", (fcntl(fds[0], F_GETFD) & FD_CLOEXEC) && (fcntl(fds[1], F_GETFD) & FD_CLOEXEC));
	n = read(fds[0], buf, sizeof buf);
	printf("pipe: '%.*s', then %zd\n", (int)n, buf, read(fds[0], buf, sizeof buf));
	n = read(fds[1], buf, sizeof buf);
	printf("socket: '%.*s'\n", (int)n, buf);
	write(fds[1], "reply", 5);
	int status;
	waitpid(pid, &status, 0);
	printf("child: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
	close(fds[0]);
	close(fds[1]);

	int p[2];
	pipe(p);
	int three[3] = {p[0], p[1], sv[0]};
	send_fds(sv[0], "x", 1, three, 3);
	received("3 into room for 2", sv[1], 16, CMSG_SPACE(2 * sizeof(int)), 0, 0);
	send_fds(sv[0], "x", 1, three, 3);
	received("3 into room for 1 (20 bytes)", sv[1], 16, 20, 0, 0);
	send_fds(sv[0], "x", 1, three, 3);
	received("3 into 10 bytes", sv[1], 16, 10, 0, 0);
	send_fds(sv[0], "x", 1, three, 3);
	received("3 with no control buffer", sv[1], 16, 0, 0, 0);
	send_fds(sv[0], "x", 1, three, 3);
	received("3 with MSG_CMSG_CLOEXEC", sv[1], 16, 200, MSG_CMSG_CLOEXEC, 0);
	send_fds(sv[0], "xy", 2, three, 1);
	received("peek", sv[1], 16, 200, MSG_PEEK, 0);
	received("read 1", sv[1], 1, 200, 0, 0);
	received("read the rest", sv[1], 16, 200, 0, 0);
	send_fds(sv[0], "x", 1, three, 1);
	received("recvmsg of 0 bytes without control", sv[1], 0, 0, 0, 0);
	read(sv[1], buf, 1);

	int bad = 999;
	expect_err("a bad descriptor", send_fds(sv[0], "x", 1, &bad, 1));
	int many[254];
	for (int i = 0; i < 254; i++)
		many[i] = p[0];
	expect_err("254 descriptors", send_fds(sv[0], "x", 1, many, 254));
	show("253 descriptors", send_fds(sv[0], "x", 1, many, 253));
	received("253 received into room for 4", sv[1], 16, CMSG_SPACE(4 * sizeof(int)), 0, 0);
	show("descriptors with 0 bytes on a stream", send_fds(sv[0], "", 0, three, 1));
	expect_err("are dropped", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));

	/* A stream read glues plain data to what follows, and stops after
	 * data that carried descriptors. */
	write(sv[0], "ab", 2);
	send_fds(sv[0], "cd", 2, three, 1);
	write(sv[0], "ef", 2);
	send_fds(sv[0], "gh", 2, three, 2);
	write(sv[0], "ij", 2);
	received("stream read 1", sv[1], 64, 200, 0, 0);
	received("stream read 2", sv[1], 64, 200, 0, 0);
	received("stream read 3", sv[1], 64, 200, 0, 0);

	/* Datagrams keep descriptors with their message, truncated or not. */
	int dv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, dv);
	send_fds(dv[0], "datagram", 8, three, 2);
	received("datagram into 4", dv[1], 4, 200, 0, 0);
	send_fds(dv[0], "", 0, three, 1);
	received("empty datagram", dv[1], 4, 200, 0, 0);
	/* A socket's own descriptor in flight, then both ends closed. */
	send_fds(dv[0], "self", 4, dv, 2);
	close(dv[0]);
	close(dv[1]);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

static void credentials(void)
{
	printf("== SCM_CREDENTIALS\n");
	int sv[2], one = 1;
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	send(sv[0], "a", 1, 0);
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
	received("sent before SO_PASSCRED", sv[1], 16, 200, 0, 0);
	send(sv[0], "b", 1, 0);
	received("after", sv[1], 16, 200, 0, 0);
	send(sv[0], "c", 1, 0);
	received("no control buffer", sv[1], 16, 0, 0, 0);
	send(sv[0], "d", 1, 0);
	received("20 bytes of control", sv[1], 16, 20, 0, 0);
	int p[2];
	pipe(p);
	send_fds(sv[0], "e", 1, p, 1);
	received("with a descriptor", sv[1], 16, 200, 0, 0);
	close(p[0]);
	close(p[1]);

	show("root claims other IDs", send_creds(sv[0], getpid(), 5, 6, CMSG_LEN(sizeof(struct ucred))));
	received("claimed", sv[1], 16, 200, 0, 0);
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	known_child = pid;
	show("root claims another process", send_creds(sv[0], pid, 0, 0, CMSG_LEN(sizeof(struct ucred))));
	received("claimed", sv[1], 16, 200, 0, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	expect_err("a process that is gone", send_creds(sv[0], pid, 0, 0, CMSG_LEN(sizeof(struct ucred))));
	expect_err("uid -1", send_creds(sv[0], getpid(), -1, 0, CMSG_LEN(sizeof(struct ucred))));
	expect_err("a short message", send_creds(sv[0], getpid(), 0, 0, CMSG_LEN(sizeof(struct ucred)) - 1));
	expect_err("cmsg_len past the buffer", send_creds(sv[0], getpid(), 0, 0, 100));

	/* An unprivileged child may claim only its own IDs. */
	int res[2];
	pipe(res);
	pid = fork();
	if (pid == 0) {
		if (setgid(1000) < 0 || setuid(1000) < 0)
			_exit(2);
		char r[5];
		r[0] = send_creds(sv[0], getpid(), 0, 1000, CMSG_LEN(sizeof(struct ucred))) < 0 && errno == EPERM;
		r[1] = send_creds(sv[0], getpid(), 1000, 0, CMSG_LEN(sizeof(struct ucred))) < 0 && errno == EPERM;
		r[2] = send_creds(sv[0], getppid(), 1000, 1000, CMSG_LEN(sizeof(struct ucred))) < 0 && errno == EPERM;
		r[3] = send_creds(sv[0], getpid(), 1000, 1000, CMSG_LEN(sizeof(struct ucred))) == 1;
		r[4] = send(sv[0], "d", 1, 0) == 1;
		write(res[1], r, sizeof r);
		_exit(0);
	}
	known_child = pid;
	char r[5];
	if (read(res[0], r, sizeof r) != sizeof r)
		die("child results");
	waitpid(pid, NULL, 0);
	printf("unprivileged: uid 0 %s, gid 0 %s, another pid %s, its own %s, default %s\n", r[0] ? "EPERM" : "?",
	       r[1] ? "EPERM" : "?", r[2] ? "EPERM" : "?", r[3] ? "ok" : "?", r[4] ? "ok" : "?");
	received("its own", sv[1], 16, 200, 0, 0);
	received("its default", sv[1], 16, 200, 0, 0);
	close(res[0]);
	close(res[1]);
	close(sv[0]);
	close(sv[1]);

	/* A stream reader with SO_PASSCRED never glues different senders. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
	send(sv[0], "aa", 2, 0);
	send_creds(sv[0], getpid(), 7, 7, CMSG_LEN(sizeof(struct ucred)));
	send(sv[0], "bb", 2, 0);
	received("stream 1", sv[1], 64, 200, 0, 0);
	received("stream 2", sv[1], 64, 200, 0, 0);
	received("stream 3", sv[1], 64, 200, 0, 0);
	close(sv[0]);
	received("end of file", sv[1], 64, 200, 0, 0);
	close(sv[1]);
}

static void peercred(const char *what, int fd)
{
	struct ucred u;
	socklen_t l = sizeof u;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &u, &l) < 0) {
		printf("%s: errno %s\n", what, errname(errno));
		return;
	}
	printf("%s: len %u pid %s uid %d gid %d\n", what, l,
	       u.pid == getpid() ? "self" : u.pid == known_child ? "child" : u.pid == 0 ? "0" : "other", (int)u.uid, (int)u.gid);
}

static void peer_credentials(void)
{
	printf("== SO_PEERCRED\n");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	peercred("unconnected", s);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	peercred("socket pair", sv[0]);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	/* Unique on the host: parallel native runs share its abstract names. */
	int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "peercred-%08x", (unsigned)getpid());
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	bind(s, (struct sockaddr *)&a, len);
	listen(s, 1);
	peercred("listener", s);
	int res[2];
	pipe(res);
	pid_t pid = fork();
	if (pid == 0) {
		setgid(2000);
		setuid(1000);
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, len) < 0)
			_exit(2);
		struct ucred u;
		socklen_t l = sizeof u;
		getsockopt(c, SOL_SOCKET, SO_PEERCRED, &u, &l);
		char r = u.pid == getppid() && u.uid == 0 && u.gid == 0;
		write(res[1], &r, 1);
		read(c, &r, 1);
		_exit(0);
	}
	known_child = pid;
	int c = accept(s, NULL, NULL);
	char r;
	read(res[0], &r, 1);
	printf("the client sees the listener's: %s\n", r ? "yes" : "no");
	peercred("accepted from an unprivileged child", c);
	close(c);
	waitpid(pid, NULL, 0);
	struct ucred u;
	socklen_t l = 8;
	getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &u, &l);
	printf("into 8 bytes: len %u\n", l);
	int one = 1;
	expect_err("setsockopt SO_PEERCRED", setsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &one, sizeof one));
	close(s);
	close(sv[0]);
	close(sv[1]);
	close(res[0]);
	close(res[1]);
}

int main(void)
{
	rights();
	credentials();
	peer_credentials();
	return 0;
}
