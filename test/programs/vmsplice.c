/*
 * vmsplice(2): the caller's memory into a pipe, a pipe into the caller's
 * memory, SPLICE_F_NONBLOCK on an empty pipe, and its errors.
 */
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	char a[] = "hello, ", b[] = "pipe";
	struct iovec in[2] = {{a, strlen(a)}, {b, strlen(b)}};
	ssize_t n = vmsplice(p[1], in, 2, 0);
	printf("into the pipe: %zd\n", n);

	char x[5] = {0}, y[16] = {0};
	struct iovec out[2] = {{x, 4}, {y, sizeof y - 1}};
	n = vmsplice(p[0], out, 2, 0);
	printf("out of the pipe: %zd \"%s\" \"%s\"\n", n, x, y);

	n = vmsplice(p[0], out, 2, SPLICE_F_NONBLOCK);
	printf("empty pipe, nonblocking: %zd %s\n", n, n < 0 ? errname(errno) : "");
	n = vmsplice(p[0], out, 2, 0x40);
	printf("unknown flag: %zd %s\n", n, n < 0 ? errname(errno) : "");

	int f = open("/proc/self/status", O_RDONLY);
	n = vmsplice(f, out, 1, 0);
	printf("not a pipe: %zd %s\n", n, n < 0 ? errname(errno) : "");
	n = vmsplice(p[0], out, -1, 0);
	printf("negative count: %zd %s\n", n, n < 0 ? errname(errno) : "");

	/* A full pipe: nonblocking vmsplice stops with EAGAIN, or partly. */
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	static char big[65536];
	struct iovec all = {big, sizeof big};
	n = vmsplice(p[1], &all, 1, SPLICE_F_NONBLOCK);
	printf("full pipe, nonblocking: wrote %s\n", n > 0 && n <= 65536 ? "part" : "nothing");
	n = vmsplice(p[1], &all, 1, SPLICE_F_NONBLOCK);
	printf("again: %zd %s\n", n, n < 0 ? errname(errno) : "");
	return 0;
}
