/*
 * sigchld: SIGCHLD when a child exits, is killed, stops and continues
 * (with its siginfo), SA_NOCLDSTOP, SIGCHLD ignored and SA_NOCLDWAIT
 * (children reaped automatically), and abort() in a child reported to
 * the parent as a death by SIGABRT.
 */
#include "proc.h"

static volatile sig_atomic_t nchld;
static siginfo_t last;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	last = *si;
	nchld++;
}

static pid_t cur_child;

static void show_last(const char *what)
{
	printf("%s: SIGCHLD count %d, %s, si_status %d, si_pid matches: %s, si_uid matches: %s\n", what,
	       (int)nchld, code_str(last.si_code), last.si_status,
	       last.si_pid == cur_child ? "yes" : "no", last.si_uid == getuid() ? "yes" : "no");
	nchld = 0;
	memset(&last, 0, sizeof(last));
}

/* wait_chld waits, with SIGCHLD unblocked, for a SIGCHLD to arrive. */
static void wait_chld(void)
{
	sigset_t none;
	sigemptyset(&none);
	while (nchld == 0)
		sigsuspend(&none);
}

/*
 * drain discards a SIGCHLD left pending (a second one, for the same child,
 * may or may not have merged with the first), so that each case starts
 * clean. SIGCHLD must be blocked.
 */
static void drain(void)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&chld, NULL, &zero) > 0)
		;
	nchld = 0;
	memset(&last, 0, sizeof(last));
}

static void set_chld(void (*fn)(int, siginfo_t *, void *), void (*h)(int), int flags)
{
	struct sigaction sa = {0};
	if (fn) {
		sa.sa_sigaction = fn;
		flags |= SA_SIGINFO;
	} else {
		sa.sa_handler = h;
	}
	sa.sa_flags = flags;
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		die("sigaction SIGCHLD");
}

int main(void)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	set_chld(on_chld, NULL, 0);

	printf("-- exit\n");
	cur_child = xfork();
	if (cur_child == 0)
		_exit(7);
	wait_chld();
	show_last("child exited 7");
	printf("waitpid: %s\n", status_str(reap(cur_child)));
	drain();

	printf("-- killed\n");
	cur_child = xfork();
	if (cur_child == 0)
		for (;;)
			pause();
	show("kill SIGKILL", kill(cur_child, SIGKILL));
	wait_chld();
	show_last("child killed");
	printf("waitpid: %s\n", status_str(reap(cur_child)));
	drain();

	printf("-- stopped and continued\n");
	cur_child = xfork();
	if (cur_child == 0) {
		raise(SIGSTOP);
		_exit(8);
	}
	int st;
	if (waitpid(cur_child, &st, WUNTRACED) < 0)
		die("waitpid");
	wait_chld();
	show_last("child stopped");
	drain();
	kill(cur_child, SIGCONT);
	wait_chld();
	/* The exit may have been signalled already: count only the first. */
	printf("child continued: first SIGCHLD is %s\n", code_str(last.si_code));
	printf("waitpid: %s\n", status_str(reap(cur_child)));
	drain();

	printf("-- SA_NOCLDSTOP\n");
	set_chld(on_chld, NULL, SA_NOCLDSTOP);
	cur_child = xfork();
	if (cur_child == 0) {
		raise(SIGSTOP);
		_exit(9);
	}
	if (waitpid(cur_child, &st, WUNTRACED) < 0)
		die("waitpid");
	printf("stopped: %s\n", status_str(st));
	/* A SIGCHLD for the stop would be pending now. */
	sigset_t pend;
	sigpending(&pend);
	yesno("SIGCHLD pending after the stop", sigismember(&pend, SIGCHLD));
	kill(cur_child, SIGCONT);
	wait_chld();
	show_last("SIGCHLD with SA_NOCLDSTOP is for the exit");
	printf("waitpid: %s\n", status_str(reap(cur_child)));
	drain();

	printf("-- abort() in a child\n");
	set_chld(on_chld, NULL, 0);
	cur_child = xfork();
	if (cur_child == 0) {
		/* Not dumpable: Linux writes no core, so WCOREDUMP is clear. */
		no_core_dumps();
		abort();
	}
	wait_chld();
	show_last("child aborted");
	st = reap(cur_child);
	yesno("WIFSIGNALED", WIFSIGNALED(st));
	printf("WTERMSIG: %s\n", signame(WTERMSIG(st)));
	yesno("WCOREDUMP (not dumpable)", WCOREDUMP(st));
	drain();

	printf("-- raise(SIGSEGV) in a child\n");
	cur_child = xfork();
	if (cur_child == 0) {
		no_core_dumps();
		raise(SIGSEGV);
		_exit(1);
	}
	st = reap(cur_child);
	printf("waitpid: %s\n", status_str(st));
	drain();

	sigprocmask(SIG_UNBLOCK, &chld, NULL);

	printf("-- SIGCHLD ignored: children reaped by the kernel\n");
	set_chld(NULL, SIG_IGN, 0);
	for (int i = 0; i < 3; i++)
		if (xfork() == 0)
			_exit(i);
	expect_err("wait with SIGCHLD ignored", wait(&st));

	printf("-- SA_NOCLDWAIT\n");
	set_chld(on_chld, NULL, SA_NOCLDWAIT);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	cur_child = xfork();
	if (cur_child == 0)
		_exit(5);
	wait_chld();
	printf("SIGCHLD still sent: %s, si_status %d\n", code_str(last.si_code), last.si_status);
	expect_err("wait with SA_NOCLDWAIT", wait(&st));

	printf("-- SIGCHLD default: discarded\n");
	set_chld(NULL, SIG_DFL, 0);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
	cur_child = xfork();
	if (cur_child == 0)
		_exit(6);
	printf("waitpid: %s\n", status_str(reap(cur_child)));
	return 0;
}
