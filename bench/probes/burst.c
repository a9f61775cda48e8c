/* burst N MS: N threads make system calls (getppid) for MS milliseconds,
 * then every thread sleeps: prints "idle" once they all do, and waits
 * to be killed. What the runtime's host processes spend afterwards is
 * its idle cost. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long ms;

static void *run(void *arg) {
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (int i = 0; i < 1000; i++)
			getppid();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
	return arg;
}

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 16;
	ms = argc > 2 ? atol(argv[2]) : 500;
	pthread_t *t = calloc(n, sizeof *t);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, run, NULL) != 0)
			return 1;
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("idle\n");
	fflush(stdout);
	for (;;)
		pause();
}
