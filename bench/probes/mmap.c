/* mmap N PAGES: times N rounds of an anonymous mmap of PAGES pages, a
 * write to each page (a fault each) and munmap; prints the nanoseconds
 * per round. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 1000;
	long pages = argc > 2 ? atol(argv[2]) : 16;
	long page = sysconf(_SC_PAGESIZE);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		for (long j = 0; j < pages; j++)
			p[j * page] = 1;
		if (munmap(p, pages * page) < 0) {
			perror("munmap");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (n > 0 ? n : 1));
	return 0;
}
