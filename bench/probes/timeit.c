/* timeit [-n N] [-b SETUP] [-a CLEANUP] PROG [ARGS...]: runs PROG N
 * times (default 1), one after the other, its stdout sent to /dev/null,
 * and prints the mean milliseconds per run. SETUP and CLEANUP are
 * /bin/sh commands run before and after each run, outside the timing
 * (an untar needs an empty directory to start from). It is how the
 * benchmarks time host programs (tar, gzip, gcc, python3) inside a
 * sandbox: the clock is read in the sandbox, so the sandbox's own
 * start-up is not counted. Exits 1 when a run fails. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int run(char **argv, int quiet) {
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0) {
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);
			if (null < 0 || dup2(null, 1) < 0)
				_exit(126);
		}
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "timeit: %s: status %#x\n", argv[0], status);
		return -1;
	}
	return 0;
}

static int shell(const char *cmd) {
	if (!cmd)
		return 0;
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	return run(argv, 0);
}

int main(int argc, char **argv) {
	long n = 1;
	const char *setup = NULL, *cleanup = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "+n:b:a:")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'b': setup = optarg; break;
		case 'a': cleanup = optarg; break;
		default: return 2;
		}
	}
	if (optind >= argc || n < 1) {
		fprintf(stderr, "usage: timeit [-n N] [-b SETUP] [-a CLEANUP] PROG [ARGS...]\n");
		return 2;
	}
	double total = 0;
	for (long i = 0; i < n; i++) {
		if (shell(setup) < 0)
			return 1;
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (run(argv + optind, 1) < 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		total += (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
		if (shell(cleanup) < 0)
			return 1;
	}
	printf("%.3f\n", total / n);
	return 0;
}
