/*
 * stdio: what the standard descriptors are. The tests connect stdin to
 * /dev/null (natively and through magawa), and stdout and stderr to pipes
 * or, with the argument "file", stdout to a regular file.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind(mode_t m)
{
	if (S_ISFIFO(m)) return "fifo";
	if (S_ISCHR(m)) return "char device";
	if (S_ISREG(m)) return "file";
	if (S_ISSOCK(m)) return "socket";
	return "other";
}

int main(int argc, char **argv)
{
	int to_file = argc > 1 && strcmp(argv[1], "file") == 0;
	static const char raw[] = "raw write first\n";
	if (write(1, raw, sizeof(raw) - 1) != sizeof(raw) - 1)
		die("write");

	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			printf("fd %d: errno %s\n", fd, errname(errno));
			continue;
		}
		int fl = fcntl(fd, F_GETFL);
		printf("fd %d: %s, isatty=%d, %s\n", fd, kind(st.st_mode), isatty(fd),
		       (fl & O_ACCMODE) == O_RDONLY ? "O_RDONLY"
		       : (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "O_RDWR");
	}
	/* Offsets and positional I/O: a pipe has none, a file does. */
	off_t off = lseek(1, 0, SEEK_CUR);
	if (to_file)
		printf("lseek stdout -> %lld\n", (long long)off);
	else
		expect_err("lseek stdout", off);
	expect_err("pread stdout", pread(1, &off, 1, 0));
	long w = pwrite(1, "P", 1, 0);
	if (to_file)
		printf("pwrite stdout at 0 -> %ld\n", w);
	else
		expect_err("pwrite stdout", w);
	char buf[16];
	printf("read stdin -> %zd\n", read(0, buf, sizeof(buf)));
	expect_err("fd 3 is not open", fcntl(3, F_GETFD));
	return 0;
}
