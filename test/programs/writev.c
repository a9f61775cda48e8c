/* writev: several iovecs, empty ones, and errors. */
#include "common.h"
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	char a[] = "one ", b[] = "two ", c[] = "three\n";
	struct iovec iov[5] = {
		{a, 4}, {NULL, 0}, {b, 4}, {c, 6}, {a, 0},
	};
	ssize_t n = writev(1, iov, 5);
	char buf[64];
	int len = snprintf(buf, sizeof(buf), "writev returned %zd\n", n);
	write(1, buf, len);

	/* Many small iovecs. */
	struct iovec many[100];
	char letters[100];
	for (int i = 0; i < 100; i++) {
		letters[i] = 'a' + i % 26;
		many[i].iov_base = &letters[i];
		many[i].iov_len = 1;
	}
	n = writev(1, many, 100);
	len = snprintf(buf, sizeof(buf), "\nwritev of 100 returned %zd\n", n);
	write(1, buf, len);

	/* To stderr too. */
	struct iovec e[2] = {{"to ", 3}, {"stderr\n", 7}};
	n = writev(2, e, 2);
	len = snprintf(buf, sizeof(buf), "writev stderr returned %zd\n", n);
	write(1, buf, len);

	n = writev(1, iov, 0);
	len = snprintf(buf, sizeof(buf), "writev of 0 iovecs returned %zd\n", n);
	write(1, buf, len);

	/* Errors, reported without stdio so the output order is plain. */
	const char *what[] = {"writev iovcnt -1", "writev iovcnt 1025",
			      "writev bad base", "writev bad fd"};
	struct iovec badbase[1] = {{(void *)16, 4}};
	long rets[4];
	int errs[4];
	rets[0] = syscall(SYS_writev, 1, iov, -1);
	errs[0] = errno;
	rets[1] = syscall(SYS_writev, 1, many, 1025);
	errs[1] = errno;
	rets[2] = syscall(SYS_writev, 1, badbase, 1);
	errs[2] = errno;
	rets[3] = writev(99, iov, 1);
	errs[3] = errno;
	for (int i = 0; i < 4; i++) {
		len = snprintf(buf, sizeof(buf), "%s: %ld %s\n", what[i], rets[i],
			       rets[i] < 0 ? errname(errs[i]) : "");
		write(1, buf, len);
	}
	return 0;
}
