/*
 * readiness: pipes (EOF, EPIPE with SIGPIPE ignored and caught, FIONREAD,
 * F_GETPIPE_SZ/F_SETPIPE_SZ, O_NONBLOCK), eventfd (counter and semaphore
 * modes, overflow), epoll (level- and edge-triggered, EPOLLONESHOT,
 * EPOLL_CTL_MOD/DEL, epoll inside epoll), poll and select.
 */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <unistd.h>

static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig) { (void)sig; sigpipes++; }

static void pipes(void)
{
	printf("-- pipes\n");
	int p[2];
	pipe2(p, O_NONBLOCK);
	char buf[16];
	ssize_t r = read(p[0], buf, sizeof(buf));
	printf("empty non-blocking read: %zd %s\n", r, r < 0 ? errname(errno) : "-");
	write(p[1], "hello", 5);
	int avail = 0;
	ioctl(p[0], FIONREAD, &avail);
	printf("FIONREAD: %d\n", avail);
	printf("F_GETPIPE_SZ: %d\n", fcntl(p[0], F_GETPIPE_SZ));
	printf("F_SETPIPE_SZ 100000: %d\n", fcntl(p[0], F_SETPIPE_SZ, 100000));
	r = read(p[0], buf, sizeof(buf));
	printf("read: %zd\n", r);
	close(p[1]);
	r = read(p[0], buf, sizeof(buf));
	printf("read after the writer closed: %zd\n", r);
	close(p[0]);

	pipe(p);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	r = write(p[1], "x", 1);
	printf("write without readers, SIGPIPE ignored: %zd %s\n", r, errname(errno));
	signal(SIGPIPE, on_sigpipe);
	r = write(p[1], "x", 1);
	printf("with a handler: %zd %s, SIGPIPE caught %d\n", r, errname(errno), (int)sigpipes);
	close(p[1]);
}

static void eventfds(void)
{
	printf("-- eventfd\n");
	int e = eventfd(3, EFD_NONBLOCK);
	uint64_t v = 0;
	read(e, &v, 8);
	printf("counter read: %llu\n", (unsigned long long)v);
	ssize_t r = read(e, &v, 8);
	printf("empty read: %zd %s\n", r, errname(errno));
	v = 0xfffffffffffffffeULL;
	write(e, &v, 8);
	v = 1;
	r = write(e, &v, 8);
	printf("overflowing write: %zd %s\n", r, errname(errno));
	close(e);
	int s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	read(s, &v, 8);
	printf("semaphore read: %llu\n", (unsigned long long)v);
	read(s, &v, 8);
	r = read(s, &v, 8);
	printf("semaphore after two reads: %zd %s\n", r, errname(errno));
	close(s);
}

static void epolls(void)
{
	printf("-- epoll\n");
	int p[2];
	pipe(p);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	struct epoll_event got[4];
	printf("nothing ready: %d\n", epoll_wait(ep, got, 4, 0));
	write(p[1], "ab", 2);
	printf("level-triggered, twice: %d %d\n", epoll_wait(ep, got, 4, 0), epoll_wait(ep, got, 4, 0));
	ev.events = EPOLLIN | EPOLLET;
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	printf("edge-triggered after MOD, twice: %d %d\n", epoll_wait(ep, got, 4, 0), epoll_wait(ep, got, 4, 0));
	write(p[1], "c", 1);
	printf("edge-triggered after new data: %d\n", epoll_wait(ep, got, 4, 0));
	ev.events = EPOLLIN | EPOLLONESHOT;
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	printf("one-shot, twice: %d %d\n", epoll_wait(ep, got, 4, 0), epoll_wait(ep, got, 4, 0));
	int outer = epoll_create1(0);
	struct epoll_event oev = {.events = EPOLLIN, .data.u32 = 9};
	epoll_ctl(outer, EPOLL_CTL_ADD, ep, &oev);
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	int n = epoll_wait(outer, got, 4, 0);
	printf("epoll inside epoll: %d, data %u\n", n, n > 0 ? got[0].data.u32 : 0);
	printf("DEL: %d, DEL again: %d %s\n", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL),
	       epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), errname(errno));
	printf("ADD a regular file: %d %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, open("/etc/os-release", O_RDONLY), &ev),
	       errname(errno));
	close(p[0]);
	close(p[1]);
}

static void polls(void)
{
	printf("-- poll and select\n");
	int p[2];
	pipe(p);
	struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
	int n = poll(pf, 2, 0);
	printf("poll: %d, read end %x, write end %x\n", n, pf[0].revents, pf[1].revents);
	close(p[1]);
	n = poll(pf, 1, 0);
	printf("after the writer closed: %d, read end %x\n", n, pf[0].revents);
	struct pollfd bad = {1000, POLLIN, 0};
	n = poll(&bad, 1, 0);
	printf("bad descriptor: %d, revents %x\n", n, bad.revents);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timeval tv = {0, 0};
	printf("select on EOF: %d, set %d\n", select(p[0] + 1, &r, NULL, NULL, &tv), FD_ISSET(p[0], &r));
	FD_ZERO(&r);
	FD_SET(999, &r);
	errno = 0;
	printf("select on a closed descriptor: %d %s\n", select(1000, &r, NULL, NULL, &tv), errname(errno));
	close(p[0]);
}

int main(void)
{
	pipes();
	eventfds();
	epolls();
	polls();
	return 0;
}
