/*
 * waitstop: wait4 and waitid with WNOHANG, WUNTRACED, WCONTINUED,
 * WNOWAIT; a child that stops itself with SIGSTOP, is continued with
 * SIGCONT, then exits; a child stopped by SIGTSTP and killed while
 * stopped; waitid by process group; the errors of the wait calls.
 */
#include "proc.h"

static void show_wait(const char *what, pid_t want, pid_t got, int st)
{
	if (got < 0)
		printf("%s: errno %s\n", what, errname(errno));
	else if (got == 0)
		printf("%s: 0 (nothing to report)\n", what);
	else
		printf("%s: %s%s\n", what, got == want ? "" : "OTHER PID ", status_str(st));
}

static void show_waitid(const char *what, pid_t want, int ret, siginfo_t *si)
{
	if (ret < 0) {
		printf("%s: errno %s\n", what, errname(errno));
		return;
	}
	if (si->si_pid == 0) {
		printf("%s: nothing to report\n", what);
		return;
	}
	printf("%s: si_signo %s, %s, si_status %d%s, si_pid matches: %s, si_uid matches: %s\n", what,
	       signame(si->si_signo), code_str(si->si_code), si->si_status,
	       si->si_code == CLD_EXITED ? "" : ({
		       static char b[40];
		       snprintf(b, sizeof(b), " (%s)", signame(si->si_status));
		       b;
	       }),
	       si->si_pid == want ? "yes" : "no", si->si_uid == getuid() ? "yes" : "no");
}

/*
 * A child that stops itself, then waits for *go (so that it cannot exit
 * before the parent has seen it continued) and exits with code.
 */
static pid_t stopping_child(atomic_int *go, int code)
{
	pid_t pid = xfork();
	if (pid == 0) {
		raise(SIGSTOP);
		wait_flag(go, 1);
		_exit(code);
	}
	return pid;
}

static void stop_cont_wait4(void)
{
	printf("-- wait4: SIGSTOP, SIGCONT, exit\n");
	atomic_int *go = shared_mem(sizeof(*go));
	pid_t pid = stopping_child(go, 3);
	int st = 0;
	struct rusage ru;
	pid_t r = wait4(pid, &st, WUNTRACED, &ru);
	show_wait("wait4 WUNTRACED", pid, r, st);
	r = waitpid(pid, &st, WNOHANG | WUNTRACED);
	show_wait("again WNOHANG|WUNTRACED (stop already reported)", pid, r, st);
	r = waitpid(pid, &st, WNOHANG);
	show_wait("WNOHANG while stopped", pid, r, st);
	r = waitpid(pid, &st, WNOHANG | WCONTINUED);
	show_wait("WNOHANG|WCONTINUED before SIGCONT", pid, r, st);
	show("kill SIGCONT", kill(pid, SIGCONT));
	r = waitpid(pid, &st, WCONTINUED);
	show_wait("waitpid WCONTINUED", pid, r, st);
	r = waitpid(pid, &st, WNOHANG | WCONTINUED);
	show_wait("again WNOHANG|WCONTINUED (continue already reported)", pid, r, st);
	atomic_store(go, 1);
	r = wait4(pid, &st, 0, &ru);
	show_wait("wait4", pid, r, st);
	yesno("rusage times non-negative", ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 &&
						   ru.ru_stime.tv_sec >= 0 && ru.ru_stime.tv_usec >= 0);
	r = waitpid(pid, &st, WNOHANG);
	show_wait("waitpid on the reaped child", pid, r, st);
}

static void stop_cont_waitid(void)
{
	printf("-- waitid: SIGSTOP, SIGCONT, exit\n");
	atomic_int *go = shared_mem(sizeof(*go));
	pid_t pid = stopping_child(go, 4);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	int r = waitid(P_PID, pid, &si, WSTOPPED);
	show_waitid("waitid WSTOPPED", pid, r, &si);
	memset(&si, 0xff, sizeof(si));
	r = waitid(P_PID, pid, &si, WEXITED | WNOHANG);
	show_waitid("waitid WEXITED|WNOHANG while stopped", pid, r, &si);
	show("kill SIGCONT", kill(pid, SIGCONT));
	memset(&si, 0, sizeof(si));
	r = waitid(P_PID, pid, &si, WCONTINUED);
	show_waitid("waitid WCONTINUED", pid, r, &si);
	atomic_store(go, 1);
	memset(&si, 0, sizeof(si));
	r = waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	show_waitid("waitid WEXITED|WNOWAIT", pid, r, &si);
	memset(&si, 0, sizeof(si));
	r = waitid(P_ALL, 0, &si, WEXITED);
	show_waitid("waitid P_ALL WEXITED (still there after WNOWAIT)", pid, r, &si);
	memset(&si, 0, sizeof(si));
	r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
	show_waitid("waitid P_ALL again", pid, r, &si);
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void tstp_kill(void)
{
	printf("-- SIGTSTP from the parent, SIGKILL while stopped\n");
	sigset_t usr1, none;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&none);
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	pid_t pid = xfork();
	if (pid == 0) {
		/* Wait for the parent's go, then pause until killed. */
		sigsuspend(&none);
		for (;;)
			pause();
	}
	int st = 0;
	pid_t r = waitpid(pid, &st, WNOHANG);
	show_wait("WNOHANG on a running child", pid, r, st);
	show("kill SIGUSR1", kill(pid, SIGUSR1));
	show("kill SIGTSTP", kill(pid, SIGTSTP));
	r = waitpid(-1, &st, WUNTRACED);
	show_wait("waitpid(-1) WUNTRACED", pid, r, st);
	show("kill SIGKILL while stopped", kill(pid, SIGKILL));
	r = waitpid(pid, &st, WUNTRACED | WCONTINUED);
	show_wait("waitpid WUNTRACED|WCONTINUED", pid, r, st);
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
}

static void by_group(void)
{
	printf("-- waitid P_PGID and waitpid(-pgid)\n");
	pid_t a = xfork();
	if (a == 0) {
		setpgid(0, 0);
		_exit(10);
	}
	setpgid(a, a); /* whichever of parent and child gets there first */
	pid_t b = xfork();
	if (b == 0) {
		setpgid(0, a);
		_exit(11);
	}
	setpgid(b, a);
	int st = 0;
	int seen10 = 0, seen11 = 0;
	for (int i = 0; i < 2; i++) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (i == 0) {
			if (waitid(P_PGID, a, &si, WEXITED) < 0)
				die("waitid P_PGID");
			st = si.si_status;
		} else {
			if (waitpid(-a, &st, 0) < 0)
				die("waitpid(-pgid)");
			st = WEXITSTATUS(st);
		}
		seen10 |= st == 10;
		seen11 |= st == 11;
	}
	yesno("both members of the group reaped", seen10 && seen11);
	siginfo_t si;
	errno = 0;
	expect_err("waitid P_PGID of an empty group", waitid(P_PGID, a, &si, WEXITED));
}

int main(void)
{
	stop_cont_wait4();
	stop_cont_waitid();
	tstp_kill();
	by_group();

	printf("-- errors\n");
	int st;
	siginfo_t si;
	expect_err("waitpid(-1) without children", waitpid(-1, &st, 0));
	expect_err("waitpid(-1, WNOHANG) without children", waitpid(-1, &st, WNOHANG));
	expect_err("waitpid bad options", waitpid(-1, &st, 0x100));
	expect_err("waitid without WEXITED/WSTOPPED/WCONTINUED", waitid(P_ALL, 0, &si, WNOHANG));
	expect_err("waitid bad idtype", waitid((idtype_t)42, 0, &si, WEXITED));
	expect_err("waitid P_PID of a non-child", waitid(P_PID, getpid(), &si, WEXITED));
	expect_err("wait4 of our own pid", wait4(getpid(), &st, 0, NULL));
	return 0;
}
