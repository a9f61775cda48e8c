/*
 * epoll_close: epoll forgets a file when its last descriptor closes
 * (without EPOLL_CTL_DEL), and not before: a registered descriptor that
 * is closed while a dup of it is open still reports events (epoll(7)'s
 * "Q6"), and a closed file never does, even when its descriptor number
 * is reused.
 */
#include "common.h"
#include <sys/epoll.h>
#include <unistd.h>

static int wait_count(int ep)
{
	struct epoll_event evs[4];
	return epoll_wait(ep, evs, 4, 0);
}

int main(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int p[2];
	if (ep < 0 || pipe(p) < 0)
		return 1;
	if (write(p[1], "x", 1) != 1)
		return 1;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
	show("EPOLL_CTL_ADD", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	printf("ready: %d\n", wait_count(ep));

	int d = dup(p[0]);
	close(p[0]);
	printf("registered descriptor closed, a dup open: %d\n", wait_count(ep));
	expect_err("EPOLL_CTL_DEL of the closed descriptor", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], &ev));
	close(d);
	printf("every descriptor closed: %d\n", wait_count(ep));

	/* A new pipe whose read end may take the old number: its readiness
	 * is not the old item's. */
	int q[2];
	if (pipe(q) < 0 || write(q[1], "y", 1) != 1)
		return 1;
	printf("a new file, not registered: %d\n", wait_count(ep));
	show("EPOLL_CTL_ADD of it", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev));
	printf("registered: %d\n", wait_count(ep));
	return 0;
}
