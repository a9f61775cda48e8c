/*
 * pgrp: process groups and sessions. setpgid from the child and from
 * the parent, moving a process into another group, the errors of
 * setpgid and setsid, setsid in a child (new session and group, no
 * terminal), getsid and getpgid of other processes, kill(0, sig) to
 * one's own group and kill(-pgid, sig) to another.
 */
#include "proc.h"

static volatile sig_atomic_t got;

static void on_sig(int sig)
{
	(void)sig;
	got++;
}

/* A child's report: relations it checked, as bits of its exit code. */
static void child_report(const char *what, int st, const char *const bits[])
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) >= 128) {
		printf("%s: %s\n", what, status_str(st));
		return;
	}
	printf("%s:", what);
	for (int i = 0; bits[i]; i++)
		printf(" %s=%s", bits[i], WEXITSTATUS(st) & (1 << i) ? "yes" : "no");
	printf("\n");
}

static void groups(void)
{
	printf("-- setpgid\n");
	atomic_int *ready = shared_mem(sizeof(atomic_int) * 2);
	pid_t a = xfork();
	if (a == 0) {
		int ok = setpgid(0, 0) == 0;
		atomic_store(&ready[0], 1);
		wait_flag(&ready[1], 1);
		_exit(ok | (getpgrp() == getpid()) << 1 | (getpgid(0) == getpid()) << 2);
	}
	wait_flag(&ready[0], 1);
	yesno("getpgid(child) is the child after its setpgid(0, 0)", getpgid(a) == a);
	yesno("our group unchanged", getpgrp() != a);
	yesno("child in our session", getsid(a) == getsid(0));

	/* b is put into a's group by the parent. */
	pid_t b = xfork();
	if (b == 0) {
		wait_flag(&ready[1], 1);
		_exit(getpgrp() == getpgid(0));
	}
	show("setpgid(b, a) from the parent", setpgid(b, a));
	yesno("getpgid(b) is a", getpgid(b) == a);
	show("setpgid(b, b): a group of its own", setpgid(b, b));
	yesno("getpgid(b) is b", getpgid(b) == b);
	show("setpgid(b, getpgrp()): back to ours", setpgid(b, getpgrp()));
	yesno("getpgid(b) is ours", getpgid(b) == getpgrp());
	expect_err("setpgid(b, -1)", setpgid(b, -1));
	pid_t gone = xfork();
	if (gone == 0)
		_exit(0);
	reap(gone);
	expect_err("setpgid(b, pid of a reaped child: no such group)", setpgid(b, gone));
	atomic_store(&ready[1], 1);
	static const char *const abits[] = {"setpgid(0,0) ok", "getpgrp is self", "getpgid(0) is self", NULL};
	child_report("child a", reap(a), abits);
	printf("child b: %s\n", status_str(reap(b)));
	expect_err("getpgid of a reaped child", getpgid(a));
	expect_err("setpgid of a reaped child", setpgid(a, a));
	expect_err("getsid of a reaped child", getsid(a));
	munmap(ready, sizeof(atomic_int) * 2);
}

static void sessions(void)
{
	printf("-- setsid\n");
	atomic_int *ready = shared_mem(sizeof(atomic_int) * 2);
	pid_t oldsid = getsid(0);
	pid_t c = xfork();
	if (c == 0) {
		pid_t s = setsid();
		int bits = (s == getpid()) | (getsid(0) == getpid()) << 1 | (getpgrp() == getpid()) << 2 |
			   (getsid(0) != oldsid) << 3;
		errno = 0;
		bits |= (setsid() < 0 && errno == EPERM) << 4;
		errno = 0;
		bits |= (setpgid(0, getppid()) < 0 && errno == EPERM) << 5;
		atomic_store(&ready[0], 1);
		wait_flag(&ready[1], 1);
		_exit(bits);
	}
	wait_flag(&ready[0], 1);
	yesno("getsid(child) is the child", getsid(c) == c);
	yesno("getpgid(child) is the child", getpgid(c) == c);
	yesno("our session unchanged", getsid(0) == oldsid);
	expect_err("setpgid(child in another session)", setpgid(c, getpgrp()));
	atomic_store(&ready[1], 1);
	static const char *const bits[] = {"setsid returns pid", "getsid(0) is self", "group leader",
					   "new session", "second setsid EPERM", "setpgid across sessions EPERM", NULL};
	child_report("child", reap(c), bits);

	/* A group leader cannot start a session. */
	pid_t d = xfork();
	if (d == 0) {
		setpgid(0, 0);
		errno = 0;
		_exit(setsid() < 0 && errno == EPERM);
	}
	printf("setsid in a group leader fails with EPERM: %s\n", WEXITSTATUS(reap(d)) ? "yes" : "no");
	munmap(ready, sizeof(atomic_int) * 2);
}

/*
 * kill0 runs in a child that leads a new group of itself and three
 * children: kill(0, SIGUSR1) reaches them all. The grandchildren keep the
 * default action and die; the leader has a handler. Its exit code is the
 * number of grandchildren killed by SIGUSR1, plus 10 if its own handler
 * ran once.
 */
static void kill0(void)
{
	printf("-- kill(0, SIGUSR1) in a group of four\n");
	atomic_int *ready = shared_mem(sizeof(atomic_int));
	pid_t leader = xfork();
	if (leader == 0) {
		/* Never signal a group we did not make. */
		if (setpgid(0, 0) < 0 || getpgrp() != getpid())
			_exit(101);
		pid_t kids[3];
		for (int i = 0; i < 3; i++) {
			kids[i] = xfork();
			if (kids[i] == 0) {
				atomic_fetch_add(ready, 1);
				for (;;)
					pause();
			}
		}
		struct sigaction sa = {.sa_handler = on_sig};
		sigaction(SIGUSR1, &sa, NULL);
		wait_flag(ready, 3);
		got = 0;
		if (kill(0, SIGUSR1) < 0)
			_exit(100);
		int killed = 0;
		for (int i = 0; i < 3; i++) {
			int st = reap(kids[i]);
			killed += WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1;
		}
		_exit(killed + (got == 1 ? 10 : 0));
	}
	int st = reap(leader);
	printf("leader: %s (3 killed + 10 for its handler = 13)\n", status_str(st));
	yesno("we were not signalled", got == 0);
	munmap(ready, sizeof(atomic_int));
}

/*
 * killpg: the parent signals another group with kill(-pgid, SIGTERM).
 * The group's leader catches SIGTERM, reaps its two children (killed by
 * it) and exits with their count.
 */
static void killpg_(void)
{
	printf("-- kill(-pgid, SIGTERM) to another group\n");
	atomic_int *ready = shared_mem(sizeof(atomic_int));
	sigset_t term, none;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigemptyset(&none);
	pid_t leader = xfork();
	if (leader == 0) {
		if (setpgid(0, 0) < 0)
			_exit(101);
		pid_t kids[2];
		for (int i = 0; i < 2; i++) {
			kids[i] = xfork();
			if (kids[i] == 0) {
				atomic_fetch_add(ready, 1);
				for (;;)
					pause();
			}
		}
		sigprocmask(SIG_BLOCK, &term, NULL);
		struct sigaction sa = {.sa_handler = on_sig};
		sigaction(SIGTERM, &sa, NULL);
		atomic_fetch_add(ready, 1);
		got = 0;
		while (!got)
			sigsuspend(&none);
		int killed = 0;
		for (int i = 0; i < 2; i++) {
			int st = reap(kids[i]);
			killed += WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
		}
		_exit(killed);
	}
	setpgid(leader, leader);
	wait_flag(ready, 3);
	if (getpgid(leader) != leader || leader == getpgrp())
		die("the leader's group"); /* never signal our own group */
	show("kill(-pgid, 0)", kill(-leader, 0));
	show("kill(-pgid, SIGTERM)", kill(-leader, SIGTERM));
	printf("leader: %s (2 children killed)\n", status_str(reap(leader)));
	expect_err("kill(-pgid, 0) after the group is gone", kill(-leader, 0));
	expect_err("killpg(pgid, 0) after the group is gone", killpg(leader, 0));
	munmap(ready, sizeof(atomic_int));
}

int main(void)
{
	groups();
	sessions();
	kill0();
	killpg_();
	return 0;
}
