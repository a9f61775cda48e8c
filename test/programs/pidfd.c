/*
 * pidfd: pidfd_open of a child and its errors, the file it makes, poll
 * and epoll until the child exits (readable; hung up once reaped),
 * waitid(P_PIDFD) with and without PIDFD_NONBLOCK, pidfd_send_signal
 * (scopes, siginfo rules), pidfd_getfd of a child's pipe, CLONE_PIDFD in
 * clone and clone3, and thread pidfds (PIDFD_THREAD).
 */
#include "common.h"
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef PIDFD_SIGNAL_THREAD
#define PIDFD_SIGNAL_THREAD (1UL << 0)
#define PIDFD_SIGNAL_THREAD_GROUP (1UL << 1)
#define PIDFD_SIGNAL_PROCESS_GROUP (1UL << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}
static int pidfd_getfd(int fd, int target, unsigned flags) { return syscall(SYS_pidfd_getfd, fd, target, flags); }

static void revents(const char *what, int fd, int timeout)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLPRI};
	int n = poll(&p, 1, timeout);
	printf("%s: poll %d revents%s%s%s\n", what, n, p.revents & POLLIN ? " IN" : "",
	       p.revents & POLLHUP ? " HUP" : "", p.revents & POLLOUT ? " OUT" : "");
}

static void waited(const char *what, int fd, int options)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PIDFD, fd, &si, options) < 0) {
		printf("%s: errno %s\n", what, errname(errno));
		return;
	}
	if (si.si_pid == 0) {
		printf("%s: nothing to report\n", what);
		return;
	}
	const char *code = si.si_code == CLD_EXITED ? "exited" : si.si_code == CLD_KILLED ? "killed" : "other";
	printf("%s: %s %d\n", what, code, si.si_status);
}

static volatile sig_atomic_t got_code = 99;
static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_code = si->si_code;
}

/* The thread lives until main writes to this pipe: a fixed sleep lost
 * the race to main's checks on a loaded machine. */
static int thread_release[2];

static void *thread_main(void *arg)
{
	char c;
	*(pid_t *)arg = gettid();
	while (read(thread_release[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

int main(void)
{
	/* Arguments. */
	expect_err("pid 0", pidfd_open(0, 0));
	expect_err("pid -1", pidfd_open(-1, 0));
	expect_err("unknown flag", pidfd_open(getpid(), 3));

	/* A child that waits for a byte. */
	int go[2];
	if (pipe(go) < 0)
		die("pipe");
	pid_t a = fork();
	if (a == 0) {
		char b;
		read(go[0], &b, 1);
		_exit(3);
	}
	int fd = pidfd_open(a, 0);
	if (fd < 0)
		die("pidfd_open");
	printf("close-on-exec: %d\n", fcntl(fd, F_GETFD));
	printf("status flags: 0x%x\n", fcntl(fd, F_GETFL));
	char p[64], buf[256];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("name: %s\n", buf);
	snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
	int info = open(p, O_RDONLY);
	n = read(info, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	char want[32];
	snprintf(want, sizeof want, "Pid:\t%d\n", a);
	yesno("fdinfo names the child", strstr(buf, want) != NULL);
	close(info);
	char c;
	expect_err("read", read(fd, &c, 1));
	expect_err("write", write(fd, &c, 1));
	expect_err("lseek", lseek(fd, 0, SEEK_SET));
	revents("running", fd, 0);
	int nb = pidfd_open(a, PIDFD_NONBLOCK);
	printf("PIDFD_NONBLOCK status flags: 0x%x\n", fcntl(nb, F_GETFL));
	waited("non-blocking waitid while running", nb, WEXITED);
	waited("WNOHANG waitid while running", nb, WEXITED | WNOHANG);

	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out;
	show("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	printf("epoll while running: %d\n", epoll_wait(ep, &out, 1, 0));
	write(go[1], "x", 1);
	revents("exited", fd, 5000);
	int r = epoll_wait(ep, &out, 1, 5000);
	printf("epoll after exit: %d data %u%s\n", r, out.data.u32, out.events & EPOLLIN ? " IN" : "");
	waited("WNOWAIT", fd, WEXITED | WNOWAIT);
	revents("zombie", fd, 0);
	show("signal 0 to a zombie", pidfd_send_signal(fd, 0, NULL, 0));
	show("SIGTERM to a zombie", pidfd_send_signal(fd, SIGTERM, NULL, 0));
	expect_err("pidfd_getfd of a zombie", pidfd_getfd(fd, 0, 0));
	waited("waitid", fd, WEXITED);
	revents("reaped", fd, 0);
	expect_err("signal to a reaped process", pidfd_send_signal(fd, 0, NULL, 0));
	expect_err("waitid again", waitid(P_PIDFD, fd, NULL, WEXITED));
	expect_err("pidfd_getfd of a reaped process", pidfd_getfd(fd, 0, 0));
	expect_err("pidfd_open of a reaped process", pidfd_open(a, 0));
	close(fd);
	close(nb);

	/* Killed through its pidfd. */
	pid_t b = fork();
	if (b == 0) {
		for (;;)
			pause();
	}
	fd = pidfd_open(b, 0);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGTERM;
	si.si_code = SI_USER;
	expect_err("forged SI_USER siginfo to another process", pidfd_send_signal(fd, SIGTERM, &si, 0));
	si.si_code = SI_QUEUE;
	si.si_signo = SIGINT;
	expect_err("siginfo for another signal", pidfd_send_signal(fd, SIGTERM, &si, 0));
	expect_err("two scopes", pidfd_send_signal(fd, SIGTERM, NULL, PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP));
	expect_err("unknown flag", pidfd_send_signal(fd, SIGTERM, NULL, 8));
	expect_err("invalid signal", pidfd_send_signal(fd, 100, NULL, 0));
	expect_err("not a pidfd", pidfd_send_signal(1, SIGTERM, NULL, 0));
	show("SIGTERM", pidfd_send_signal(fd, SIGTERM, NULL, 0));
	waited("waitid", fd, WEXITED);
	close(fd);

	/* Signals to oneself: si_code by scope, forged siginfo allowed. */
	struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
	sigaction(SIGUSR1, &sa, NULL);
	int self = pidfd_open(getpid(), 0);
	pidfd_send_signal(self, SIGUSR1, NULL, 0);
	printf("process scope si_code: %d\n", got_code);
	pidfd_send_signal(self, SIGUSR1, NULL, PIDFD_SIGNAL_THREAD);
	printf("thread scope si_code: %d\n", got_code);
	pidfd_send_signal(self, SIGUSR1, NULL, PIDFD_SIGNAL_THREAD_GROUP);
	printf("thread-group scope si_code: %d\n", got_code);
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR1;
	si.si_code = SI_USER;
	show("forged siginfo to oneself", pidfd_send_signal(self, SIGUSR1, &si, 0));
	printf("forged si_code: %d\n", got_code);
	expect_err("waitid on oneself", waitid(P_PIDFD, self, &si, WEXITED | WNOHANG));
	expect_err("waitid on fd -1", waitid(P_PIDFD, -1, &si, WEXITED | WNOHANG));
	expect_err("waitid on a non-pidfd", waitid(P_PIDFD, 1, &si, WEXITED | WNOHANG));

	/* pidfd_getfd of a child's pipe. */
	int tell[2], done[2];
	if (pipe(tell) < 0 || pipe(done) < 0)
		die("pipe");
	pid_t d = fork();
	if (d == 0) {
		int mine[2];
		if (pipe(mine) < 0)
			_exit(1);
		write(mine[1], "from the child", 14);
		write(tell[1], &mine[0], sizeof mine[0]);
		char b;
		read(done[0], &b, 1);
		_exit(0);
	}
	int theirs;
	if (read(tell[0], &theirs, sizeof theirs) != sizeof theirs)
		die("read");
	fd = pidfd_open(d, 0);
	expect_err("pidfd_getfd flags", pidfd_getfd(fd, theirs, 1));
	expect_err("pidfd_getfd of a closed descriptor", pidfd_getfd(fd, 999, 0));
	expect_err("pidfd_getfd through a non-pidfd", pidfd_getfd(1, theirs, 0));
	int got = pidfd_getfd(fd, theirs, 0);
	if (got < 0)
		die("pidfd_getfd");
	printf("the copy is close-on-exec: %d\n", fcntl(got, F_GETFD));
	memset(buf, 0, sizeof buf);
	read(got, buf, 14);
	printf("read through the copy: %s\n", buf);
	write(done[1], "x", 1);
	waited("waitid", fd, WEXITED);
	close(fd);

	/* CLONE_PIDFD. */
	int cfd = -1;
	pid_t k = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, 0, 0);
	if (k == 0)
		_exit(5);
	yesno("clone wrote a pidfd", cfd >= 0);
	printf("its close-on-exec: %d\n", fcntl(cfd, F_GETFD));
	waited("waitid", cfd, WEXITED);
	expect_err("CLONE_PIDFD|CLONE_PARENT_SETTID", syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd, 0, 0));
	expect_err("CLONE_PIDFD|CLONE_DETACHED", syscall(SYS_clone, CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, 0, &cfd, 0, 0));
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	int c3 = -1;
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (uintptr_t)&c3;
	ca.exit_signal = SIGCHLD;
	k = syscall(SYS_clone3, &ca, sizeof ca);
	if (k == 0)
		_exit(6);
	yesno("clone3 wrote a pidfd", c3 >= 0);
	revents("clone3 child", c3, 5000);
	waited("waitid", c3, WEXITED);
	ca.pidfd = 8;
	expect_err("clone3 with a bad pidfd pointer", syscall(SYS_clone3, &ca, sizeof ca));
	waited("no child was made", c3, WEXITED | WNOHANG);

	/* Thread pidfds. */
	pid_t tid = 0;
	pthread_t th;
	if (pipe(thread_release) < 0)
		die("pipe");
	pthread_create(&th, NULL, thread_main, &tid);
	while (__atomic_load_n(&tid, __ATOMIC_SEQ_CST) == 0)
		usleep(100);
	expect_err("pidfd_open of a thread", pidfd_open(tid, 0));
	int tfd = pidfd_open(tid, PIDFD_THREAD);
	show("pidfd_open of a thread with PIDFD_THREAD", tfd);
	revents("thread running", tfd, 0);
	if (write(thread_release[1], "x", 1) != 1)
		die("write");
	pthread_join(th, NULL);
	/* The join returns when the thread clears its TID, before Linux
	 * releases the thread: POLLHUP (released) follows shortly. */
	for (int i = 0; i < 2000; i++) {
		struct pollfd p = {.fd = tfd, .events = POLLIN};
		if (poll(&p, 1, 0) == 1 && p.revents & POLLHUP)
			break;
		usleep(1000);
	}
	revents("thread gone", tfd, 5000);
	int me = pidfd_open(getpid(), PIDFD_THREAD);
	revents("own thread", me, 0);
	return 0;
}
