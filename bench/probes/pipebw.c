/* pipebw MIB: a child writes MIB mebibytes into a pipe in 64 KiB writes,
 * the parent reads them; prints the MB/s. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	long mib = argc > 1 ? atol(argv[1]) : 256;
	int p[2];
	if (pipe(p) < 0)
		return 1;
	static char buf[64 << 10];
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (long left = mib << 20; left > 0; left -= sizeof buf)
			if (write(p[1], buf, sizeof buf) != sizeof buf)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	long total = 0;
	ssize_t k;
	while ((k = read(p[0], buf, sizeof buf)) > 0)
		total += k;
	clock_gettime(CLOCK_MONOTONIC, &b);
	waitpid(pid, NULL, 0);
	if (total != mib << 20)
		return 1;
	double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.1f\n", mib / s);
	return 0;
}
