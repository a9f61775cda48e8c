/* clock N: times N clock_gettime(CLOCK_MONOTONIC) calls through the C
 * library, which answers from the vDSO where there is one, and prints
 * the nanoseconds per call. The timing is taken inside the program, so
 * the sandbox's start-up does not count. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	struct timespec a, b, t;
	volatile long sink;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		sink = t.tv_nsec;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	(void)sink;
	double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
	printf("%.1f\n", ns / (n > 0 ? n : 1));
	return 0;
}
