/*
 * unix_epoll: a thousand clients over Unix socket pairs, multiplexed
 * with epoll on both sides. The parent serves the server ends with one
 * epoll instance (level-triggered, EPOLLRDHUP); a child holds the
 * client ends in another (edge-triggered), sends a request on each,
 * reads the answers as they become ready, for several rounds, then
 * closes its ends: the server counts the hang-ups. Then a listener with
 * a hundred connections accepted through epoll.
 */
#include "common.h"
#include <fcntl.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS 1000
#define ROUNDS 5

static int server_end[CLIENTS], client_end[CLIENTS];

/* answer is what the server sends back for a request. */
static int answer(char *out, size_t size, const char *req, size_t n)
{
	uint64_t h = fnv1a64(FNV_INIT, req, n);
	return snprintf(out, size, "%.*s => %08llx", (int)n, req, (unsigned long long)(h & 0xffffffff));
}

static int client(void)
{
	for (int i = 0; i < CLIENTS; i++)
		close(server_end[i]);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return 10;
	for (int i = 0; i < CLIENTS; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = i};
		if (fcntl(client_end[i], F_SETFL, O_NONBLOCK) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, client_end[i], &ev) < 0)
			return 11;
	}
	uint64_t h = FNV_INIT;
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < CLIENTS; i++) {
			char req[64];
			int n = snprintf(req, sizeof req, "round %d client %d", round, i);
			if (write(client_end[i], req, n) != n)
				return 12;
		}
		int pending = CLIENTS;
		static char got[CLIENTS];
		memset(got, 0, sizeof got);
		while (pending > 0) {
			struct epoll_event evs[64];
			int k = epoll_wait(ep, evs, 64, 10000);
			if (k <= 0)
				return 13;
			for (int j = 0; j < k; j++) {
				int i = evs[j].data.u32;
				/* Edge-triggered: read until EAGAIN. */
				for (;;) {
					char buf[128];
					ssize_t n = read(client_end[i], buf, sizeof buf);
					if (n < 0 && errno == EAGAIN)
						break;
					if (n <= 0)
						return 14;
					char req[64], want[128];
					int rn = snprintf(req, sizeof req, "round %d client %d", round, i);
					int wn = answer(want, sizeof want, req, rn);
					if (n != wn || memcmp(buf, want, n) || got[i])
						return 15;
					got[i] = 1;
					h = fnv1a64(h, buf, n);
					pending--;
				}
			}
		}
	}
	for (int i = 0; i < CLIENTS; i++)
		close(client_end[i]);
	/* The hash of all answers, in a fixed order per round, goes back
	 * through the exit status's low bits only as a check. */
	return (int)(h % 7);
}

static void thousand(void)
{
	printf("== %d clients over socket pairs\n", CLIENTS);
	for (int i = 0; i < CLIENTS; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			die("socketpair");
		server_end[i] = sv[0];
		client_end[i] = sv[1];
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(client());
	for (int i = 0; i < CLIENTS; i++)
		close(client_end[i]);
	int ep = epoll_create1(0);
	for (int i = 0; i < CLIENTS; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = i};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, server_end[i], &ev) < 0)
			die("epoll_ctl");
	}
	long requests = 0, hangups = 0, rdhups = 0, wakeups = 0;
	int open_ends = CLIENTS;
	uint64_t h = FNV_INIT;
	while (open_ends > 0) {
		struct epoll_event evs[128];
		int k = epoll_wait(ep, evs, 128, 10000);
		if (k < 0)
			die("epoll_wait");
		if (k == 0)
			break;
		wakeups++;
		for (int j = 0; j < k; j++) {
			int i = evs[j].data.u32;
			if (evs[j].events & EPOLLRDHUP)
				rdhups++;
			char buf[128], out[128];
			ssize_t n = read(server_end[i], buf, sizeof buf);
			if (n < 0)
				die("server read");
			if (n == 0) {
				if (evs[j].events & EPOLLHUP)
					hangups++;
				epoll_ctl(ep, EPOLL_CTL_DEL, server_end[i], NULL);
				close(server_end[i]);
				open_ends--;
				continue;
			}
			requests++;
			h = fnv1a64(h, buf, n);
			int m = answer(out, sizeof out, buf, n);
			if (write(server_end[i], out, m) != m)
				die("server write");
		}
	}
	int status;
	waitpid(pid, &status, 0);
	printf("requests served: %ld\n", requests);
	printf("ends closed by the clients: %d of %d, with EPOLLHUP %ld, EPOLLRDHUP %ld\n", CLIENTS - open_ends, CLIENTS,
	       hangups, rdhups);
	printf("several ready per wake-up: %s\n", wakeups < requests ? "yes" : "no");
	printf("client: %s\n", WIFEXITED(status) && WEXITSTATUS(status) < 7 ? "all answers right" : "failed");
	close(ep);
}

static void listener(void)
{
	printf("== a listener and epoll\n");
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	/* Unique on the host: parallel native runs share its abstract names. */
	int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "epoll-listener-%08x", (unsigned)getpid());
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	if (bind(l, (struct sockaddr *)&a, len) < 0 || listen(l, 128) < 0)
		die("listen");
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	struct epoll_event got;
	printf("nothing ready: %d\n", epoll_wait(ep, &got, 1, 0));
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 100; i++) {
			int c = socket(AF_UNIX, SOCK_STREAM, 0);
			if (connect(c, (struct sockaddr *)&a, len) < 0)
				_exit(1);
			char b = (char)i;
			if (write(c, &b, 1) != 1 || read(c, &b, 1) != 1 || b != (char)(i + 1))
				_exit(2);
			close(c);
		}
		_exit(0);
	}
	int accepted = 0, answered = 0;
	while (answered < 100) {
		struct epoll_event evs[16];
		int k = epoll_wait(ep, evs, 16, 10000);
		if (k <= 0)
			die("epoll_wait");
		for (int j = 0; j < k; j++) {
			if (evs[j].data.fd == l) {
				int c;
				while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event cev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
					accepted++;
				}
				if (errno != EAGAIN)
					die("accept4");
				continue;
			}
			char b;
			if (read(evs[j].data.fd, &b, 1) != 1)
				die("read");
			b++;
			write(evs[j].data.fd, &b, 1);
			epoll_ctl(ep, EPOLL_CTL_DEL, evs[j].data.fd, NULL);
			close(evs[j].data.fd);
			answered++;
		}
	}
	int status;
	waitpid(pid, &status, 0);
	printf("accepted %d, answered %d, client %s\n", accepted, answered,
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
	close(ep);
	close(l);
}

int main(void)
{
	struct rlimit rl = {4096, 4096};
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit");
	thousand();
	listener();
	return 0;
}
