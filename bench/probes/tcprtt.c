/* tcprtt N: a byte ping-pongs N times between two processes over a TCP
 * connection on 127.0.0.1 (TCP_NODELAY); prints the nanoseconds per
 * round trip. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int connected_pair(int *client, int *server)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (*client < 0 || connect(*client, (struct sockaddr *)&a, sizeof a) < 0)
		return -1;
	*server = accept(l, NULL, NULL);
	close(l);
	int one = 1;
	setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(*server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return *server < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	int c, s;
	if (connected_pair(&c, &s) < 0)
		return 1;
	char b = 'x';
	pid_t pid = fork();
	if (pid == 0) {
		close(c);
		for (long i = 0; i < n; i++)
			if (read(s, &b, 1) != 1 || write(s, &b, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(s);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		if (write(c, &b, 1) != 1 || read(c, &b, 1) != 1)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waitpid(pid, NULL, 0);
	printf("%.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (n > 0 ? n : 1));
	return 0;
}
