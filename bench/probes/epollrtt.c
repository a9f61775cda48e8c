/* epollrtt N: like pipertt, but each side waits in epoll_wait before it
 * reads; prints the nanoseconds per round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int waiter(int fd) {
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return ep;
}

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 10000;
	int ping[2], pong[2];
	if (pipe(ping) < 0 || pipe(pong) < 0)
		return 1;
	char c = 'x';
	struct epoll_event ev;
	pid_t pid = fork();
	if (pid == 0) {
		int ep = waiter(ping[0]);
		for (long i = 0; i < n; i++) {
			if (epoll_wait(ep, &ev, 1, -1) != 1 || read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	int ep = waiter(pong[0]);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		if (write(ping[1], &c, 1) != 1 || epoll_wait(ep, &ev, 1, -1) != 1 || read(pong[0], &c, 1) != 1)
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	waitpid(pid, NULL, 0);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (n > 0 ? n : 1));
	return 0;
}
