/* seqio MIB PATH: writes MIB mebibytes to PATH in 1 MiB writes, fsyncs,
 * reads them back in 1 MiB reads, removes PATH, and prints
 * "WRITE_MBPS READ_MBPS". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double since(struct timespec *a) {
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) + (b.tv_nsec - a->tv_nsec) / 1e9;
}

int main(int argc, char **argv) {
	long mib = argc > 1 ? atol(argv[1]) : 256;
	const char *path = argc > 2 ? argv[2] : "/tmp/magawa-seqio";
	static char buf[1 << 20];
	memset(buf, 'x', sizeof buf);
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	struct timespec a;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < mib; i++) {
		if (write(fd, buf, sizeof buf) != sizeof buf) {
			perror("write");
			return 1;
		}
	}
	fsync(fd);
	double w = since(&a);
	lseek(fd, 0, SEEK_SET);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < mib; i++) {
		if (read(fd, buf, sizeof buf) != sizeof buf) {
			perror("read");
			return 1;
		}
	}
	double r = since(&a);
	close(fd);
	unlink(path);
	printf("%.1f %.1f\n", mib / w, mib / r);
	return 0;
}
