/* tcpbw MIB: one process sends MIB mebibytes in 64 KiB writes to another
 * over a TCP connection on 127.0.0.1; prints MB/s (10^6 bytes).
 * tcpbw -s PORT: serves: reads each connection to PORT (any address) to
 * its end, answers with one byte, and closes it; until killed.
 * tcpbw -c HOST PORT MIB: the client of a server elsewhere (across a
 * veth): sends MIB mebibytes, shuts its side down and waits for the
 * server's byte, so the time covers every byte received; prints MB/s. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char buf[64 << 10];

static int send_all(int c, long bytes)
{
	for (long left = bytes; left > 0;) {
		ssize_t k = write(c, buf, left < (long)sizeof buf ? left : (long)sizeof buf);
		if (k <= 0)
			return -1;
		left -= k;
	}
	return 0;
}

/* drain reads s to its end and returns the bytes read. */
static long drain(int s)
{
	long total = 0;
	for (;;) {
		ssize_t k = read(s, buf, sizeof buf);
		if (k < 0)
			return -1;
		if (k == 0)
			return total;
		total += k;
	}
}

static double since(struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int serve(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 16) < 0) {
		perror("listen");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int s = accept(l, NULL, NULL);
		if (s < 0)
			continue;
		if (drain(s) >= 0)
			write(s, "k", 1);
		close(s);
	}
}

static int client(const char *host, int port, long mib)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || c < 0 ||
	    connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
		perror(host);
		return 1;
	}
	memset(buf, 'x', sizeof buf);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char k;
	if (send_all(c, mib << 20) < 0 || shutdown(c, SHUT_WR) < 0 || read(c, &k, 1) != 1) {
		perror("send");
		return 1;
	}
	printf("%.1f\n", (mib << 20) / since(&t0) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "-s") == 0)
		return serve(atoi(argv[2]));
	if (argc > 4 && strcmp(argv[1], "-c") == 0)
		return client(argv[2], atoi(argv[3]), atol(argv[4]));
	long mib = argc > 1 ? atol(argv[1]) : 256;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return 1;
	memset(buf, 'x', sizeof buf);
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0 || send_all(c, mib << 20) < 0)
			_exit(1);
		close(c);
		_exit(0);
	}
	int s = accept(l, NULL, NULL);
	if (s < 0)
		return 1;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long total = drain(s);
	double secs = since(&t0);
	waitpid(pid, NULL, 0);
	if (total != mib << 20)
		return 1;
	printf("%.1f\n", total / secs / 1e6);
	return 0;
}
