/* tcprtt N: a byte ping-pongs N times between two processes over a TCP
 * connection on 127.0.0.1 (TCP_NODELAY); prints the nanoseconds per
 * round trip.
 * tcprtt -s PORT: serves: echoes every byte of each connection to
 * PORT (any address), one connection at a time, until killed.
 * tcprtt -c HOST PORT N: the client of a server elsewhere (across a
 * veth): N round trips, the nanoseconds per round trip printed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int listener(struct sockaddr_in *a)
{
	socklen_t len = sizeof *a;
	int one = 1;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		return -1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(l, (struct sockaddr *)a, sizeof *a) < 0 || listen(l, 16) < 0 ||
	    getsockname(l, (struct sockaddr *)a, &len) < 0)
		return -1;
	return l;
}

/* pingpong does n round trips on c and returns the nanoseconds each. */
static double pingpong(int c, long n)
{
	char b = 'x';
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		if (write(c, &b, 1) != 1 || read(c, &b, 1) != 1)
			return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (n > 0 ? n : 1);
}

static int serve(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int l = listener(&a);
	if (l < 0) {
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
		nodelay(s);
		char b;
		while (read(s, &b, 1) == 1 && write(s, &b, 1) == 1)
			;
		close(s);
	}
}

static int client(const char *host, int port, long n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || c < 0 ||
	    connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
		perror(host);
		return 1;
	}
	nodelay(c);
	double ns = pingpong(c, n);
	if (ns < 0)
		return 1;
	printf("%.1f\n", ns);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "-s") == 0)
		return serve(atoi(argv[2]));
	if (argc > 4 && strcmp(argv[1], "-c") == 0)
		return client(argv[2], atoi(argv[3]), atol(argv[4]));
	long n = argc > 1 ? atol(argv[1]) : 10000;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int l = listener(&a);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0)
		return 1;
	int s = accept(l, NULL, NULL);
	if (s < 0)
		return 1;
	close(l);
	nodelay(c);
	nodelay(s);
	pid_t pid = fork();
	if (pid == 0) {
		char b;
		close(c);
		for (long i = 0; i < n; i++)
			if (read(s, &b, 1) != 1 || write(s, &b, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(s);
	double ns = pingpong(c, n);
	waitpid(pid, NULL, 0);
	if (ns < 0)
		return 1;
	printf("%.1f\n", ns);
	return 0;
}
