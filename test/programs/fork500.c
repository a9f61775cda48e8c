/*
 * fork500: 500 children alive at once, each exiting with its own code;
 * the parent reaps them in the order it forked them and sums the codes,
 * then wait(-1) finds no child left. The children wait in sigsuspend
 * until the parent has forked them all and sends each a SIGUSR1.
 */
#include "proc.h"

#define N 500

static void on_usr1(int sig)
{
	(void)sig;
}

int main(void)
{
	static pid_t pids[N];
	int distinct = 1, positive = 1;
	sigset_t usr1, none;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&none);
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	sigprocmask(SIG_BLOCK, &usr1, NULL);

	for (int i = 0; i < N; i++) {
		pid_t pid = xfork();
		if (pid == 0) {
			/* Every child is alive until all have been forked. */
			sigsuspend(&none);
			_exit(i % 251);
		}
		pids[i] = pid;
		if (pid <= 0)
			positive = 0;
		for (int j = 0; j < i; j++)
			if (pids[j] == pid)
				distinct = 0;
	}
	printf("forked %d children\n", N);
	yesno("every child pid > 0", positive);
	yesno("child pids distinct", distinct);
	yesno("child pids differ from ours", ({
		      int ok = 1;
		      for (int i = 0; i < N; i++)
			      ok &= pids[i] != getpid();
		      ok;
	      }));
	int sent = 1;
	for (int i = 0; i < N; i++)
		if (kill(pids[i], SIGUSR1) < 0)
			sent = 0;
	yesno("SIGUSR1 sent to every child", sent);

	long sum = 0;
	int exited = 0, in_order = 1;
	for (int i = 0; i < N; i++) {
		int st = reap(pids[i]);
		if (WIFEXITED(st)) {
			exited++;
			sum += WEXITSTATUS(st);
			if (WEXITSTATUS(st) != i % 251)
				in_order = 0;
		}
	}
	printf("children exited normally: %d\n", exited);
	printf("sum of exit codes: %ld\n", sum);
	yesno("each code matches its child", in_order);
	expect_err("wait with no child left", wait(NULL));
	return 0;
}
