/*
 * sigwait: waiting for signals. sigsuspend; sigtimedwait and
 * sigwaitinfo, with and without timeouts; sigqueue with si_value; real-
 * time signals queued in order (and standard ones merged) when unblocked
 * at once; sigqueue to a child that collects the values with
 * sigwaitinfo; pause interrupted by a child's signal.
 */
#include "proc.h"

static char trace[1024];
static volatile sig_atomic_t handled;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	char b[64];
	snprintf(b, sizeof(b), "%s", signame(sig));
	if (si->si_code == SI_QUEUE)
		snprintf(b + strlen(b), sizeof(b) - strlen(b), "=%d", si->si_value.sival_int);
	strcat(trace, b);
	strcat(trace, " ");
	handled++;
}

static sigset_t catch_mask;

static void catch(int sig)
{
	struct sigaction sa = {.sa_sigaction = on_sig, .sa_flags = SA_SIGINFO, .sa_mask = catch_mask};
	if (sigaction(sig, &sa, NULL) < 0)
		die("sigaction");
}

static void show_pending(const char *what)
{
	sigset_t p;
	sigpending(&p);
	printf("%s:", what);
	int any = 0;
	for (int s = 1; s < 65; s++)
		if (sigismember(&p, s)) {
			printf(" %s", signame(s));
			any = 1;
		}
	printf("%s\n", any ? "" : " (none)");
}

static void suspend(void)
{
	printf("-- sigsuspend\n");
	sigset_t usr1, none, cur;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&none);
	catch(SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	raise(SIGUSR1);
	show_pending("pending before sigsuspend");
	yesno("handler not run yet", handled == 0);
	expect_err("sigsuspend", sigsuspend(&none));
	printf("handled: %s\n", trace);
	trace[0] = 0;
	handled = 0;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	yesno("USR1 blocked again after sigsuspend", sigismember(&cur, SIGUSR1));
	show_pending("pending after");
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
}

static void timedwait(void)
{
	printf("-- sigtimedwait, sigwaitinfo, sigwait\n");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct timespec zero = {0, 0}, short_ = {0, 10 * 1000 * 1000};
	siginfo_t si;
	expect_err("sigtimedwait, nothing pending, zero timeout", sigtimedwait(&set, &si, &zero));
	expect_err("sigtimedwait, nothing pending, 10ms timeout", sigtimedwait(&set, &si, &short_));
	for (int v = 1; v <= 3; v++)
		sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = v * 100});
	kill(getpid(), SIGUSR2);
	show_pending("pending");
	for (int i = 0; i < 4; i++) {
		memset(&si, 0, sizeof(si));
		int s = sigtimedwait(&set, &si, &zero);
		if (s < 0) {
			printf("sigtimedwait: errno %s\n", errname(errno));
			continue;
		}
		printf("sigtimedwait: %s, si_signo matches: %s, %s, si_value %d, si_pid matches: %s\n",
		       signame(s), si.si_signo == s ? "yes" : "no", code_str(si.si_code),
		       si.si_code == SI_QUEUE ? si.si_value.sival_int : 0, si.si_pid == getpid() ? "yes" : "no");
	}
	expect_err("sigtimedwait, all consumed", sigtimedwait(&set, &si, &zero));

	kill(getpid(), SIGUSR2);
	memset(&si, 0, sizeof(si));
	int s = sigwaitinfo(&set, &si);
	printf("sigwaitinfo: %s, %s\n", s < 0 ? errname(errno) : signame(s), code_str(si.si_code));
	sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 5});
	int got = 0;
	int r = sigwait(&set, &got);
	printf("sigwait: %d, %s\n", r, signame(got));

	struct timespec bad = {0, 2000000000L};
	expect_err("sigtimedwait bad timeout", sigtimedwait(&set, &si, &bad));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	show_pending("pending at the end");
}

/*
 * rt_order queues signals while they are blocked and unblocks them all at
 * once. Each handler blocks only its own signal unless nest is 0, so the
 * handlers nest: Linux sets up a frame for each pending signal, lowest
 * number first, and the last one set up runs first. With nest 0 every
 * handler blocks them all and they run in the order they are dequeued.
 */
static void rt_order(int nest)
{
	printf("-- queued signals, unblocked at once, %s\n", nest ? "handlers nesting" : "all blocked in the handlers");
	int rt0 = SIGRTMIN, rt1 = SIGRTMIN + 1, rt5 = SIGRTMIN + 5;
	sigemptyset(&catch_mask);
	if (!nest) {
		sigaddset(&catch_mask, SIGUSR1);
		sigaddset(&catch_mask, SIGUSR2);
		sigaddset(&catch_mask, rt0);
		sigaddset(&catch_mask, rt1);
		sigaddset(&catch_mask, rt5);
	}
	catch(SIGUSR1);
	catch(SIGUSR2);
	catch(rt0);
	catch(rt1);
	catch(rt5);
	sigset_t all, none;
	sigemptyset(&all);
	sigaddset(&all, SIGUSR1);
	sigaddset(&all, SIGUSR2);
	sigaddset(&all, rt0);
	sigaddset(&all, rt1);
	sigaddset(&all, rt5);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigqueue(getpid(), rt5, (union sigval){.sival_int = 1});
	sigqueue(getpid(), rt1, (union sigval){.sival_int = 2});
	sigqueue(getpid(), rt5, (union sigval){.sival_int = 3});
	sigqueue(getpid(), rt0, (union sigval){.sival_int = 4});
	sigqueue(getpid(), rt1, (union sigval){.sival_int = 5});
	kill(getpid(), SIGUSR2);
	kill(getpid(), SIGUSR2);
	sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 6});
	sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 7});
	sigqueue(getpid(), rt0, (union sigval){.sival_int = 8});
	show_pending("pending");
	sigprocmask(SIG_SETMASK, &none, NULL);
	printf("delivered: %s\n", trace);
	printf("handler runs: %d\n", (int)handled);
	trace[0] = 0;
	handled = 0;
	sigemptyset(&catch_mask);
}

static void to_child(void)
{
	printf("-- sigqueue to a child collecting with sigwaitinfo\n");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t pid = xfork();
	if (pid == 0) {
		int sum = 0, ok = 1;
		for (int i = 1; i <= 10; i++) {
			siginfo_t si;
			if (sigwaitinfo(&set, &si) != SIGRTMIN + 2)
				_exit(255);
			sum += si.si_value.sival_int;
			if (si.si_value.sival_int != i || si.si_code != SI_QUEUE || si.si_pid != getppid())
				ok = 0;
		}
		_exit(ok ? sum : 254);
	}
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	for (int i = 1; i <= 10; i++)
		if (sigqueue(pid, SIGRTMIN + 2, (union sigval){.sival_int = i}) < 0)
			die("sigqueue");
	siginfo_t si = {0};
	si.si_signo = SIGRTMIN + 2;
	si.si_code = SI_KERNEL;
	expect_err("rt_sigqueueinfo to a child with si_code SI_KERNEL",
		   syscall(SYS_rt_sigqueueinfo, pid, SIGRTMIN + 2, &si));
	si.si_code = SI_TKILL;
	expect_err("rt_sigqueueinfo to a child with si_code SI_TKILL",
		   syscall(SYS_rt_sigqueueinfo, pid, SIGRTMIN + 2, &si));
	printf("child (values 1..10 in order, sum): %s\n", status_str(reap(pid)));
}

static void on_plain(int sig)
{
	(void)sig;
	handled++;
}

static void pause_child(void)
{
	printf("-- pause interrupted by a child's signal\n");
	struct sigaction sa = {.sa_handler = on_plain};
	sigaction(SIGUSR2, &sa, NULL);
	atomic_int *done = shared_mem(sizeof(*done));
	pid_t parent = getpid();
	pid_t pid = xfork();
	if (pid == 0) {
		/* Until the parent has returned from pause. */
		while (!atomic_load(done)) {
			kill(parent, SIGUSR2);
			sleep_ms(5);
		}
		_exit(0);
	}
	handled = 0;
	/* A signal that arrived before pause was entered leaves it waiting for the next. */
	int r = pause();
	int e = errno;
	atomic_store(done, 1);
	printf("pause: %d, errno %s\n", r, errname(e));
	yesno("handler ran", handled > 0);
	printf("child: %s\n", status_str(reap(pid)));
	signal(SIGUSR2, SIG_DFL);
}

int main(void)
{
	suspend();
	timedwait();
	rt_order(1);
	rt_order(0);
	to_child();
	pause_child();
	return 0;
}
