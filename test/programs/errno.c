/* errno: the error numbers of common failing calls. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	char buf[64];

	expect_err("open missing file",
		   open("/nonexistent-magawa-test/file", O_RDONLY));
	expect_err("open missing file (openat)",
		   openat(AT_FDCWD, "/etc/nonexistent-magawa-test", O_RDONLY));
	expect_err("open empty path", open("", O_RDONLY));
	expect_err("open path through a file",
		   open("/etc/os-release/child", O_RDONLY));
	expect_err("open bad path pointer",
		   syscall(SYS_openat, AT_FDCWD, (char *)1, O_RDONLY));
	expect_err("open dir for writing", open("/etc", O_WRONLY));
	expect_err("open O_DIRECTORY on a file",
		   open("/etc/os-release", O_RDONLY | O_DIRECTORY));

	int fd = open("/etc/os-release", O_RDONLY);
	if (fd < 0)
		die("open /etc/os-release");
	expect_err("read into NULL", syscall(SYS_read, fd, NULL, 16));
	expect_err("read into bad pointer",
		   syscall(SYS_read, fd, (void *)16, 16));
	expect_err("pread negative offset",
		   syscall(SYS_pread64, fd, buf, sizeof(buf), -1L));
	expect_err("lseek bad whence", lseek(fd, 0, 42));
	expect_err("lseek negative result", lseek(fd, -1, SEEK_SET));
	expect_err("write to read-only fd", write(fd, "x", 1));
	expect_err("read dir fd", ({
			   int d = open("/etc", O_RDONLY | O_DIRECTORY);
			   long r = d < 0 ? -2 : read(d, buf, sizeof(buf));
			   if (d >= 0)
				   close(d);
			   r;
		   }));
	close(fd);

	expect_err("write from NULL", syscall(SYS_write, 1, NULL, 16));
	expect_err("write from bad pointer",
		   syscall(SYS_write, 1, (void *)16, 16));
	expect_err("writev bad iovec pointer",
		   syscall(SYS_writev, 1, (struct iovec *)16, 1));

	expect_err("close bad fd", close(12345));
	expect_err("close negative fd", close(-1));
	expect_err("read bad fd", read(9999, buf, sizeof(buf)));
	expect_err("write bad fd", write(9999, buf, 1));
	expect_err("fstat bad fd", ({
			   struct stat st;
			   fstat(777, &st);
		   }));
	expect_err("lseek bad fd", lseek(4242, 0, SEEK_SET));
	expect_err("dup bad fd", dup(4242));

	/* errno is untouched by a successful call. */
	errno = EXDEV;
	if (getppid() < 0)
		die("getppid");
	printf("errno after success: %s\n", errname(errno));
	return 0;
}
