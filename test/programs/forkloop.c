/*
 * forkloop: 1000 cycles of fork, exit, wait, one child at a time (the
 * no-leaks test runs this in the sandbox and then looks for host
 * processes and descriptors left behind).
 */
#include "proc.h"

#define N 1000

int main(void)
{
	long sum = 0;
	int ok = 1;
	for (int i = 0; i < N; i++) {
		pid_t pid = xfork();
		if (pid == 0)
			_exit(i & 0x7f);
		int st = reap(pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != (i & 0x7f))
			ok = 0;
		sum += WEXITSTATUS(st);
	}
	printf("fork/exit/wait cycles: %d\n", N);
	yesno("every child exited with its code", ok);
	printf("sum of exit codes: %ld\n", sum);
	expect_err("wait with no child left", wait(NULL));
	return 0;
}
