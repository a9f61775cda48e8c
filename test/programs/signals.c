/*
 * signals: signal masks and dispositions, without running a handler:
 * rt_sigprocmask round trips, SIGKILL and SIGSTOP cannot be blocked,
 * caught or ignored, a blocked signal sent to oneself stays pending, an
 * ignored one is discarded, kill(self, 0) probes.
 */
#include "common.h"
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static void handler(int sig)
{
	(void)sig;
}

static void show_mask(const char *what)
{
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	printf("%s:", what);
	int any = 0;
	for (int s = 1; s < 65; s++) {
		if (sigismember(&cur, s)) {
			printf(" %d", s);
			any = 1;
		}
	}
	printf("%s\n", any ? "" : " (empty)");
}

int main(void)
{
	sigset_t set;
	show_mask("initial mask");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	show("SIG_BLOCK USR1 TERM", sigprocmask(SIG_BLOCK, &set, NULL));
	show_mask("mask");
	sigemptyset(&set);
	sigaddset(&set, SIGKILL);
	sigaddset(&set, SIGSTOP);
	sigaddset(&set, SIGHUP);
	show("SIG_BLOCK KILL STOP HUP", sigprocmask(SIG_BLOCK, &set, NULL));
	show_mask("mask (KILL and STOP silently dropped)");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	show("SIG_UNBLOCK TERM", sigprocmask(SIG_UNBLOCK, &set, NULL));
	show_mask("mask");
	expect_err("sigprocmask bad how", syscall(SYS_rt_sigprocmask, 42, &set, NULL, 8));
	expect_err("rt_sigprocmask bad sigsetsize", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4));
	expect_err("rt_sigprocmask bad pointer", syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)16, NULL, 8));

	/* A blocked signal sent to oneself is held, not delivered. */
	show("kill(self, USR1) while blocked", kill(getpid(), SIGUSR1));
	show("raise(USR1) while blocked", raise(SIGUSR1));
	printf("still alive with USR1 pending\n");

	/* Dispositions. */
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	show("sigaction USR2 handler", sigaction(SIGUSR2, &sa, NULL));
	show("sigaction USR2 read back", sigaction(SIGUSR2, NULL, &old));
	yesno("handler read back", old.sa_handler == handler);
	yesno("SA_RESTART read back", (old.sa_flags & SA_RESTART) != 0);
	yesno("sa_mask read back", sigismember(&old.sa_mask, SIGINT) == 1);
	show("sigaction USR2 ignore", ({
		     struct sigaction ign = {0};
		     ign.sa_handler = SIG_IGN;
		     sigaction(SIGUSR2, &ign, &old);
	     }));
	yesno("old handler returned", old.sa_handler == handler);
	show("kill(self, USR2) while ignored", kill(getpid(), SIGUSR2));
	printf("ignored signal discarded\n");
	expect_err("sigaction KILL", sigaction(SIGKILL, &sa, NULL));
	expect_err("sigaction STOP ignore", ({
			   struct sigaction ign = {0};
			   ign.sa_handler = SIG_IGN;
			   sigaction(SIGSTOP, &ign, NULL);
		   }));
	show("sigaction KILL read", sigaction(SIGKILL, NULL, &old));
	expect_err("sigaction signal 0", sigaction(0, &sa, NULL));
	expect_err("sigaction signal 65", syscall(SYS_rt_sigaction, 65, NULL, &old, 8));
	expect_err("rt_sigaction bad sigsetsize", syscall(SYS_rt_sigaction, SIGUSR2, NULL, &old, 4));

	/* Probing. */
	show("kill(self, 0)", kill(getpid(), 0));
	show("kill(0, 0) (own process group)", kill(0, 0));
	expect_err("kill(self, 65)", kill(getpid(), 65));
	show("tgkill(self, self, 0)", syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0));
	expect_err("tgkill bad tgid", syscall(SYS_tgkill, -5, syscall(SYS_gettid), 0));
	expect_err("tkill bad tid", syscall(SYS_tkill, 0, 0));
	return 0;
}
