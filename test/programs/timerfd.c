/*
 * timerfd: one-shot and periodic timers read blocking and non-blocking,
 * expiration counts, gettime of a disarmed and an armed timer, absolute
 * times, epoll on a timer, the argument errors.
 */
#include "common.h"
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static struct itimerspec its(long value_ms, long interval_ms)
{
	struct itimerspec t = {
		.it_value = {value_ms / 1000, (value_ms % 1000) * 1000000},
		.it_interval = {interval_ms / 1000, (interval_ms % 1000) * 1000000},
	};
	return t;
}

int main(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	printf("timerfd_create: %s\n", fd >= 0 ? "ok" : "failed");
	struct itimerspec cur;
	timerfd_gettime(fd, &cur);
	printf("disarmed gettime is zero: %s\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 ? "yes" : "no");

	struct itimerspec one = its(20, 0);
	printf("settime 20ms: %d\n", timerfd_settime(fd, 0, &one, NULL));
	timerfd_gettime(fd, &cur);
	printf("armed gettime within 20ms: %s\n",
	       cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000 ? "yes" : "no");
	uint64_t n = 0;
	ssize_t r = read(fd, &n, sizeof(n));
	printf("blocking read: %zd, expirations %llu\n", r, (unsigned long long)n);

	int nb = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	r = read(nb, &n, sizeof(n));
	printf("non-blocking read of a disarmed timer: %zd, errno %s\n", r, r < 0 ? errname(errno) : "-");
	struct itimerspec periodic = its(10, 10);
	timerfd_settime(nb, 0, &periodic, NULL);
	usleep(55000);
	r = read(nb, &n, sizeof(n));
	printf("periodic 10ms after 55ms: %zd, at least 4 expirations: %s\n", r, n >= 4 ? "yes" : "no");
	struct itimerspec off = its(0, 0), old;
	timerfd_settime(nb, 0, &off, &old);
	printf("disarm returns the interval: %s\n", old.it_interval.tv_nsec == 10000000 ? "yes" : "no");

	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct itimerspec abs = {.it_value = now};
	abs.it_value.tv_nsec += 15000000;
	if (abs.it_value.tv_nsec >= 1000000000) {
		abs.it_value.tv_sec++;
		abs.it_value.tv_nsec -= 1000000000;
	}
	printf("absolute settime: %d\n", timerfd_settime(fd, TFD_TIMER_ABSTIME, &abs, NULL));
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	struct epoll_event got;
	int k = epoll_wait(ep, &got, 1, 2000);
	printf("epoll_wait on the timer: %d, data %u\n", k, got.data.u32);
	r = read(fd, &n, sizeof(n));
	printf("read after epoll: %zd, expirations %llu\n", r, (unsigned long long)n);

	char small[4];
	timerfd_settime(fd, 0, &one, NULL);
	r = read(fd, small, sizeof(small));
	printf("short read buffer: %zd, errno %s\n", r, r < 0 ? errname(errno) : "-");
	errno = 0;
	int bad = timerfd_create(12345, 0);
	printf("bad clock: %d %s\n", bad, errname(errno));
	errno = 0;
	bad = timerfd_create(CLOCK_MONOTONIC, 0x1234);
	printf("bad flags: %d %s\n", bad, errname(errno));
	struct itimerspec badv = its(10, 0);
	badv.it_value.tv_nsec = 1000000000;
	errno = 0;
	bad = timerfd_settime(fd, 0, &badv, NULL);
	printf("bad nsec: %d %s\n", bad, errname(errno));
	errno = 0;
	bad = timerfd_settime(ep, 0, &one, NULL);
	printf("settime on a non-timer: %d %s\n", bad, errname(errno));
	return 0;
}
