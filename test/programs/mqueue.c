/*
 * mqueue: POSIX message queues. mq_open's names, flags, attributes and
 * errors; the descriptor (close-on-exec, status flags, the status line
 * read(2) gives, poll); messages by priority, EMSGSIZE, EAGAIN with
 * O_NONBLOCK (mq_setattr), absolute timeouts (ETIMEDOUT), a receiver
 * blocked in another process, interruption (restarted with SA_RESTART,
 * EINTR without); mq_notify with SIGEV_SIGNAL and SIGEV_NONE, EBUSY;
 * mq_unlink with the queue still open; permissions of another user.
 *
 * It runs on the host too: queue names are derived from the PID, never
 * printed, and removed at exit, also on failure (atexit).
 */
#include "proc.h"
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/stat.h>

static char names[8][64];
static int nnames;
static pid_t parent;
static atomic_int *shared;

static void cleanup(void)
{
	if (getpid() != parent)
		return;
	for (int i = 0; i < nnames; i++)
		mq_unlink(names[i]);
}

/* qname returns the i-th name of this run, remembered for cleanup. */
static const char *qname(int i)
{
	snprintf(names[i], sizeof(names[i]), "/magawa-mq-%d-%d", parent, i);
	if (i >= nnames)
		nnames = i + 1;
	return names[i];
}

static mqd_t open_attr(const char *name, int flags, long maxmsg, long msgsize)
{
	struct mq_attr a = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
	return mq_open(name, flags, 0600, &a);
}

static void attrs(const char *what, mqd_t q)
{
	struct mq_attr a;
	if (mq_getattr(q, &a) < 0)
		die("mq_getattr");
	printf("%s: flags %s maxmsg %ld msgsize %ld curmsgs %ld\n", what, a.mq_flags & O_NONBLOCK ? "O_NONBLOCK" : "0",
	       a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs);
}

static void receive(const char *what, mqd_t q, size_t size)
{
	char buf[9000];
	unsigned prio = 99;
	ssize_t n = mq_receive(q, buf, size, &prio);
	if (n < 0)
		printf("%s: errno %s\n", what, errname(errno));
	else
		printf("%s: \"%.*s\" prio %u\n", what, (int)n, buf, prio);
}

/*
 * status prints the line read(2) gives for queue i, without the PID at
 * its end. It reads a new descriptor: a read advances the file position.
 */
static void status(const char *what, int i)
{
	char buf[200] = {0};
	mqd_t q = mq_open(names[i], O_RDONLY);
	ssize_t n = q < 0 ? -1 : read(q, buf, sizeof(buf) - 1);
	char *pid = strstr(buf, "NOTIFY_PID:");
	if (n < 0 || !pid) {
		printf("%s: errno %s\n", what, errname(errno));
		if (q >= 0)
			mq_close(q);
		return;
	}
	mq_close(q);
	int registered = atoi(pid + strlen("NOTIFY_PID:")) != 0;
	*pid = 0;
	printf("%s: %s(registered: %s)\n", what, buf, registered ? "yes" : "no");
}

static struct timespec in_ms(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static void names_and_flags(void)
{
	printf("-- names and flags\n");
	expect_err("missing", mq_open(qname(0), O_RDWR));
	expect_err("no leading slash (glibc)", mq_open("magawa", O_RDWR));
	expect_err("empty name", syscall(SYS_mq_open, "", O_RDWR, 0, NULL));
	expect_err("slash inside", syscall(SYS_mq_open, "a/b", O_RDWR | O_CREAT, 0600, NULL));
	expect_err("dot", syscall(SYS_mq_open, ".", O_RDWR, 0, NULL));
	expect_err("dot dot", syscall(SYS_mq_open, "..", O_RDWR | O_CREAT, 0600, NULL));
	char longname[300];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	expect_err("256 bytes", syscall(SYS_mq_open, longname + 43, O_RDWR | O_CREAT, 0600, NULL));
	expect_err("bad name pointer", syscall(SYS_mq_open, (char *)8, O_RDWR, 0, NULL));
	expect_err("bad attr pointer", syscall(SYS_mq_open, qname(0) + 1, O_RDWR | O_CREAT, 0600, (void *)8));
	expect_err("maxmsg 0", open_attr(qname(0), O_RDWR | O_CREAT, 0, 64));
	expect_err("msgsize 0", open_attr(qname(0), O_RDWR | O_CREAT, 4, 0));
	expect_err("maxmsg 65537", open_attr(qname(0), O_RDWR | O_CREAT, 65537, 64));
	expect_err("msgsize 16 MiB + 1", open_attr(qname(0), O_RDWR | O_CREAT, 1, (16 << 20) + 1));

	mqd_t q = open_attr(qname(0), O_RDWR | O_CREAT | O_EXCL, 4, 64);
	show("create", q);
	if (q < 0)
		die("mq_open");
	attrs("attributes", q);
	yesno("close-on-exec", fcntl(q, F_GETFD) == FD_CLOEXEC);
	printf("status flags %o\n", fcntl(q, F_GETFL));
	struct stat st;
	fstat(q, &st);
	printf("mode %o\n", st.st_mode);
	expect_err("O_EXCL again", open_attr(qname(0), O_RDWR | O_CREAT | O_EXCL, 4, 64));
	mqd_t q2 = mq_open(qname(0), O_RDWR | O_CREAT, 0600, NULL);
	show("O_CREAT on an existing queue", q2);
	attrs("  its attributes", q2);
	expect_err("O_RDWR|O_WRONLY", mq_open(qname(0), O_RDWR | O_WRONLY));
	mqd_t nb = mq_open(qname(0), O_RDONLY | O_NONBLOCK);
	attrs("O_NONBLOCK", nb);
	mq_close(nb);
	mq_close(q2);

	mqd_t d = mq_open(qname(1), O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	attrs("default attributes", d);
	mq_close(d);
	mq_unlink(qname(1));
	mq_close(q);
}

static void messages(void)
{
	printf("-- messages\n");
	mqd_t q = mq_open(qname(0), O_RDWR);
	if (q < 0)
		die("mq_open");
	struct pollfd p = {q, POLLIN | POLLOUT, 0};
	poll(&p, 1, 0);
	printf("poll empty: %s%s\n", p.revents & POLLIN ? "in " : "", p.revents & POLLOUT ? "out" : "");
	show("send low 1", mq_send(q, "low", 3, 1));
	show("send high 5", mq_send(q, "high", 4, 5));
	show("send mid 3", mq_send(q, "mid", 3, 3));
	show("send high again 5", mq_send(q, "high2", 5, 5));
	attrs("four queued", q);
	status("status", 0);
	p.revents = 0;
	poll(&p, 1, 0);
	printf("poll full: %s%s\n", p.revents & POLLIN ? "in " : "", p.revents & POLLOUT ? "out" : "");
	struct timespec ts = in_ms(30);
	expect_err("full, timeout", mq_timedsend(q, "x", 1, 0, &ts));
	struct mq_attr na = {.mq_flags = O_NONBLOCK}, old;
	show("mq_setattr O_NONBLOCK", mq_setattr(q, &na, &old));
	printf("old flags %s, F_GETFL has O_NONBLOCK: %s\n", old.mq_flags ? "O_NONBLOCK" : "0",
	       fcntl(q, F_GETFL) & O_NONBLOCK ? "yes" : "no");
	expect_err("full, O_NONBLOCK", mq_send(q, "x", 1, 0));
	na.mq_flags = O_NONBLOCK | O_APPEND;
	expect_err("mq_setattr O_APPEND", mq_setattr(q, &na, NULL));
	receive("1st", q, 64);
	receive("2nd", q, 64);
	receive("3rd", q, 64);
	receive("4th", q, 64);
	expect_err("empty, O_NONBLOCK", mq_receive(q, (char[64]){0}, 64, NULL));
	na.mq_flags = 0;
	mq_setattr(q, &na, NULL);
	ts = in_ms(30);
	expect_err("empty, timeout", mq_timedreceive(q, (char[64]){0}, 64, NULL, &ts));
	ts.tv_nsec = 1000000000;
	expect_err("bad timeout, empty", mq_timedreceive(q, (char[64]){0}, 64, NULL, &ts));
	expect_err("bad timeout, room", mq_timedsend(q, "x", 1, 0, &ts));
	ts.tv_sec = -1;
	ts.tv_nsec = 0;
	expect_err("negative timeout", mq_timedsend(q, "x", 1, 0, &ts));
	ts = (struct timespec){0, 0};
	show("timeout in the past, room", mq_timedsend(q, "past", 4, 0, &ts));
	receive("it", q, 64);
	expect_err("timeout in the past, empty", mq_timedreceive(q, (char[64]){0}, 64, NULL, &ts));
	char big[65];
	memset(big, 'b', sizeof(big));
	expect_err("65 bytes", mq_send(q, big, 65, 0));
	show("64 bytes", mq_send(q, big, 64, 0));
	show("0 bytes", mq_send(q, "", 0, 2));
	expect_err("receive into 63 bytes", mq_receive(q, big, 63, NULL));
	receive("empty message first", q, 64);
	expect_err("priority 32768", mq_send(q, "x", 1, 32768));
	show("priority 32767", mq_send(q, "x", 1, 32767));
	receive("top priority", q, 100);
	receive("64 bytes", q, 64);
	expect_err("send to stdin", mq_send(0, "x", 1, 0));
	expect_err("receive from stdin", mq_receive(0, big, 64, NULL));
	expect_err("getattr of stdin", mq_getattr(0, &old));
	expect_err("send from a bad buffer", mq_send(q, (char *)8, 10, 0));
	show("send", mq_send(q, "lost", 4, 0));
	expect_err("receive to a bad buffer", mq_receive(q, (char *)8, 64, NULL));
	attrs("the message went anyway", q);
	expect_err("write(2)", write(q, "x", 1));

	mqd_t ro = mq_open(qname(0), O_RDONLY);
	mqd_t wo = mq_open(qname(0), O_WRONLY);
	expect_err("send on O_RDONLY", mq_send(ro, "x", 1, 0));
	expect_err("receive on O_WRONLY", mq_receive(wo, big, 64, NULL));
	mq_close(ro);
	mq_close(wo);
	mq_close(q);
}

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&shared[1], 1);
}

static void processes(void)
{
	printf("-- processes\n");
	mqd_t q = mq_open(qname(0), O_RDWR);
	if (q < 0)
		die("mq_open");
	pid_t pid = xfork();
	if (pid == 0) {
		receive("  child receives", q, 64);
		_exit(0);
	}
	sleep_ms(20);
	mq_send(q, "to the child", 12, 0);
	reap(pid);

	/* A handler with SA_RESTART: the receive goes on. */
	atomic_store(&shared[0], 0);
	atomic_store(&shared[1], 0);
	pid = xfork();
	if (pid == 0) {
		struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
		sigaction(SIGUSR1, &sa, NULL);
		atomic_store(&shared[0], 1);
		receive("  receive across an SA_RESTART handler", q, 64);
		_exit(0);
	}
	wait_flag(&shared[0], 1);
	sleep_ms(20);
	kill(pid, SIGUSR1);
	wait_flag(&shared[1], 1);
	mq_send(q, "after the signal", 16, 0);
	reap(pid);

	/* Without SA_RESTART: EINTR. */
	atomic_store(&shared[0], 0);
	pid = xfork();
	if (pid == 0) {
		struct sigaction sa = {.sa_handler = on_usr1};
		sigaction(SIGUSR1, &sa, NULL);
		atomic_store(&shared[0], 1);
		while (mq_receive(q, (char[64]){0}, 64, NULL) >= 0)
			;
		printf("  receive with a handler: errno %s\n", errname(errno));
		atomic_store(&shared[0], 2);
		_exit(0);
	}
	wait_flag(&shared[0], 1);
	while (atomic_load(&shared[0]) != 2) {
		kill(pid, SIGUSR1);
		sleep_ms(5);
	}
	reap(pid);
	mq_close(q);
}

static void notify(void)
{
	printf("-- mq_notify\n");
	mqd_t q = mq_open(qname(0), O_RDWR);
	if (q < 0)
		die("mq_open");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
	ev.sigev_value.sival_int = 42;
	show("register SIGUSR2", mq_notify(q, &ev));
	expect_err("register again", mq_notify(q, &ev));
	status("status", 0);
	show("a close by the process ended it: register again", mq_notify(q, &ev));
	pid_t pid = xfork();
	if (pid == 0) {
		expect_err("  another process registers", mq_notify(q, &ev));
		show("  another process unregisters (nothing)", mq_notify(q, NULL));
		show("  another process sends", mq_send(q, "wake", 4, 0));
		_exit(0);
	}
	reap(pid);
	siginfo_t si;
	struct timespec zero = {0, 0};
	int sig = sigtimedwait(&set, &si, &zero);
	printf("signal: %s code %s value %d pid is the child: %s\n", sig > 0 ? signame(sig) : errname(errno),
	       si.si_code == SI_MESGQ ? "SI_MESGQ" : "other", si.si_value.sival_int, si.si_pid == pid ? "yes" : "no");
	status("status after", 0);
	show("send to a non-empty queue", mq_send(q, "more", 4, 0));
	show("register", mq_notify(q, &ev));
	show("send to a non-empty queue", mq_send(q, "more", 4, 0));
	receive("drain", q, 64);
	receive("drain", q, 64);
	receive("drain", q, 64);
	printf("pending: %s\n", sigtimedwait(&set, &si, &zero) > 0 ? "yes" : "no");
	show("send to the empty queue", mq_send(q, "now", 3, 0));
	printf("pending: %s\n", sigtimedwait(&set, &si, &zero) > 0 ? "yes" : "no");
	receive("drain", q, 64);
	show("unregister", mq_notify(q, NULL));
	show("unregister again", mq_notify(q, NULL));
	ev.sigev_notify = SIGEV_NONE;
	show("register SIGEV_NONE", mq_notify(q, &ev));
	status("status", 0);
	mq_send(q, "quiet", 5, 0);
	status("after a message", 0);
	printf("pending: %s\n", sigtimedwait(&set, &si, &zero) > 0 ? "yes" : "no");
	receive("drain", q, 64);
	ev.sigev_notify = 77;
	expect_err("sigev_notify 77", mq_notify(q, &ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = 65;
	expect_err("signal 65", mq_notify(q, &ev));
	expect_err("bad sigevent pointer", syscall(SYS_mq_notify, q, (struct sigevent *)8));
	expect_err("stdin", mq_notify(0, NULL));
	mq_close(q);
}

static void unlink_and_perms(void)
{
	printf("-- mq_unlink and permissions\n");
	mqd_t q = mq_open(qname(0), O_RDWR);
	if (q < 0)
		die("mq_open");
	mqd_t p = mq_open(qname(2), O_RDWR | O_CREAT | O_EXCL, 0644, NULL);
	if (p < 0)
		die("mq_open 0644");
	pid_t pid = xfork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			die("drop privileges");
		expect_err("  other: open 0600", mq_open(qname(0), O_RDONLY));
		mqd_t r = mq_open(qname(2), O_RDONLY);
		show("  other: open 0644 read-only", r);
		expect_err("  other: open 0644 write-only", mq_open(qname(2), O_WRONLY));
		expect_err("  other: maxmsg 11", open_attr("/magawa-mq-other", O_RDWR | O_CREAT, 11, 64));
		expect_err("  other: msgsize 8193", open_attr("/magawa-mq-other", O_RDWR | O_CREAT, 1, 8193));
		_exit(0);
	}
	reap(pid);
	mq_close(p);
	show("unlink 0644", mq_unlink(qname(2)));
	mq_send(q, "kept", 4, 0);
	show("unlink", mq_unlink(qname(0)));
	expect_err("unlink again", mq_unlink(qname(0)));
	expect_err("open after unlink", mq_open(qname(0), O_RDWR));
	receive("the open queue still works", q, 64);
	mqd_t n = mq_open(qname(0), O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	show("a new queue of that name", n);
	attrs("  empty", n);
	mq_close(n);
	mq_unlink(qname(0));
	mq_close(q);
	expect_err("unlink of nothing", mq_unlink(qname(3)));
	expect_err("unlink empty name", syscall(SYS_mq_unlink, ""));
	expect_err("unlink a/b", syscall(SYS_mq_unlink, "a/b"));
}

int main(void)
{
	parent = getpid();
	atexit(cleanup);
	setvbuf(stdout, NULL, _IOLBF, 0);
	shared = shared_mem(4096);
	names_and_flags();
	messages();
	processes();
	notify();
	unlink_and_perms();
	return 0;
}
