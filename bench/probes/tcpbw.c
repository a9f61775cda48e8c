/* tcpbw MIB: one process sends MIB mebibytes in 64 KiB writes to another
 * over a TCP connection on 127.0.0.1; prints MB/s (10^6 bytes). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 256;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return 1;
	static char buf[64 << 10];
	memset(buf, 'x', sizeof buf);
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0)
			_exit(1);
		for (long left = mib << 20; left > 0;) {
			ssize_t k = write(c, buf, left < (long)sizeof buf ? left : (long)sizeof buf);
			if (k <= 0)
				_exit(1);
			left -= k;
		}
		close(c);
		_exit(0);
	}
	int s = accept(l, NULL, NULL);
	if (s < 0)
		return 1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long total = 0;
	for (;;) {
		ssize_t k = read(s, buf, sizeof buf);
		if (k < 0)
			return 1;
		if (k == 0)
			break;
		total += k;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waitpid(pid, NULL, 0);
	if (total != mib << 20)
		return 1;
	double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%.1f\n", total / secs / 1e6);
	return 0;
}
