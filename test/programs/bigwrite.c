/*
 * bigwrite: one write(2) of 4 MiB to stdout, far more than a pipe holds,
 * then a 1 MiB writev; the sandbox must not cut either short.
 */
#include "common.h"
#include <sys/uio.h>
#include <unistd.h>

#define SIZE (4 << 20)

static char buf[SIZE];

int main(void)
{
	for (int i = 0; i < SIZE / 64; i++) {
		char line[65];
		snprintf(line, sizeof(line), "line %08d %049d\n", i, i * 7);
		memcpy(buf + i * 64, line, 64);
	}
	ssize_t n = write(1, buf, SIZE);
	fprintf(stderr, "write of %d bytes returned %zd\n", SIZE, n);
	struct iovec iov[16];
	for (int i = 0; i < 16; i++) {
		iov[i].iov_base = buf + i * (64 << 10);
		iov[i].iov_len = 64 << 10;
	}
	n = writev(1, iov, 16);
	fprintf(stderr, "writev of %d bytes returned %zd\n", 16 * (64 << 10), n);
	return 0;
}
