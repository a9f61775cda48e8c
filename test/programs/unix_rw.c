/* Pending: joins the differential programs (move it up to programs/)
 * once read(2), readv(2), write(2) and writev(2) on sockets go through
 * sys_socket.go's socketReadv and socketWritev. */
/*
 * unix_rw: read and write families on Unix sockets behave as recvmsg and
 * sendmsg without flags: one datagram across all of readv's and
 * writev's buffers, an empty write sending an empty datagram, SIGPIPE
 * for streams only, SO_RCVTIMEO and SO_SNDTIMEO, and the writer's own
 * credentials for a receiver with SO_PASSCRED.
 */
#include "common.h"
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int sigpipes;
static void on_sigpipe(int sig) { (void)sig; sigpipes++; }

int main(void)
{
	signal(SIGPIPE, on_sigpipe);
	int sv[2];
	char a[4], b[16];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	struct iovec out[2] = {{"abc", 3}, {"defgh", 5}};
	printf("writev of 2 buffers: %zd\n", writev(sv[0], out, 2));
	printf("write of 0 bytes: %zd\n", write(sv[0], "", 0));
	struct iovec in[2] = {{a, sizeof a}, {b, sizeof b}};
	ssize_t n = readv(sv[1], in, 2);
	printf("readv: %zd '%.4s' '%.*s'\n", n, a, (int)(n > 4 ? n - 4 : 0), b);
	printf("the empty datagram: %zd\n", read(sv[1], b, sizeof b));
	close(sv[1]);
	sigpipes = 0;
	expect_err("write to a closed datagram peer", write(sv[0], "x", 1));
	printf("SIGPIPE: %d\n", sigpipes);
	close(sv[0]);

	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	close(sv[1]);
	sigpipes = 0;
	expect_err("write to a closed seqpacket peer", write(sv[0], "x", 1));
	printf("SIGPIPE: %d\n", sigpipes);
	close(sv[0]);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	close(sv[1]);
	sigpipes = 0;
	expect_err("write to a closed stream peer", write(sv[0], "x", 1));
	printf("SIGPIPE: %d\n", sigpipes);
	close(sv[0]);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct timeval tv = {0, 100000};
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_err("read with SO_RCVTIMEO", read(sv[0], b, sizeof b));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	yesno("it waited", (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 100);
	static char chunk[65536];
	while (write(sv[0], chunk, sizeof chunk) > 0)
		;
	printf("write until SO_SNDTIMEO: %s\n", errname(errno));
	close(sv[0]);
	close(sv[1]);

	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	int one = 1;
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
	pid_t pid = fork();
	if (pid == 0) {
		write(sv[0], "c", 1);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	char cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec io = {b, sizeof b};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	if (recvmsg(sv[1], &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
		die("recvmsg");
	struct ucred u;
	memcpy(&u, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof u);
	yesno("write(2) from a child carries the child's pid", u.pid == pid);
	return 0;
}
