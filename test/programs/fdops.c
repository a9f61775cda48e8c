/*
 * fdops: the file-descriptor table and open flags: dup/dup2/dup3, fcntl,
 * close-on-exec, O_PATH, O_NOFOLLOW, access, statx, SEEK_DATA/SEEK_HOLE,
 * and the errors of descriptors that are not files.
 */
#include "common.h"
#include <fcntl.h>
#include <limits.h>
#include <linux/stat.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

static void flags(const char *what, int fd)
{
	int fdfl = fcntl(fd, F_GETFD);
	int fl = fcntl(fd, F_GETFL);
	if (fdfl < 0 || fl < 0) {
		printf("%s: errno %s\n", what, errname(errno));
		return;
	}
	const char *acc = (fl & O_ACCMODE) == O_RDONLY ? "O_RDONLY"
			  : (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
							 : "O_RDWR";
	printf("%s: cloexec=%d %s%s%s\n", what, fdfl & FD_CLOEXEC, acc,
	       fl & O_NONBLOCK ? " O_NONBLOCK" : "",
	       fl & O_APPEND ? " O_APPEND" : "");
}

int main(void)
{
	int fd = open("/etc/os-release", O_RDONLY);
	if (fd < 0)
		die("open");
	printf("open -> %d\n", fd);
	flags("plain", fd);
	int ce = open("/etc/os-release", O_RDONLY | O_CLOEXEC);
	printf("open O_CLOEXEC -> %d\n", ce);
	flags("O_CLOEXEC", ce);

	/* dup takes the lowest free number and never copies close-on-exec. */
	close(fd);
	int d = dup(ce);
	printf("dup into the freed slot -> %d\n", d);
	flags("dup of O_CLOEXEC", d);
	printf("dup2 -> %d\n", dup2(ce, 10));
	flags("dup2", 10);
	printf("dup2 onto itself -> %d\n", dup2(10, 10));
	printf("dup3 O_CLOEXEC -> %d\n", dup3(ce, 11, O_CLOEXEC));
	flags("dup3 O_CLOEXEC", 11);
	expect_err("dup3 onto itself", dup3(11, 11, 0));
	expect_err("dup3 bad flags", dup3(ce, 12, 0x1));
	printf("F_DUPFD 20 -> %d\n", fcntl(ce, F_DUPFD, 20));
	printf("F_DUPFD_CLOEXEC 20 -> %d\n", fcntl(ce, F_DUPFD_CLOEXEC, 20));
	flags("F_DUPFD_CLOEXEC", 21);
	show("F_SETFD cloexec", fcntl(10, F_SETFD, FD_CLOEXEC));
	flags("after F_SETFD", 10);
	show("F_SETFL O_NONBLOCK", fcntl(10, F_SETFL, O_NONBLOCK));
	flags("after F_SETFL (shared by dups)", ce);
	fcntl(10, F_SETFL, 0);
	expect_err("fcntl bad cmd", fcntl(10, 12345));
	expect_err("F_DUPFD negative", fcntl(ce, F_DUPFD, -1));
	expect_err("dup2 to a huge fd", dup2(ce, INT_MAX));
	for (int i = 10; i <= 21; i++)
		close(i);
	close(d);

	/* lseek SEEK_DATA / SEEK_HOLE on a file without holes. */
	struct stat st;
	fstat(ce, &st);
	yesno("SEEK_DATA 0 is 0", lseek(ce, 0, SEEK_DATA) == 0);
	yesno("SEEK_HOLE 0 is the size", lseek(ce, 0, SEEK_HOLE) == st.st_size);
	expect_err("SEEK_DATA past EOF", lseek(ce, st.st_size + 1, SEEK_DATA));

	/* Descriptors that are not regular files. */
	struct termios tio;
	expect_err("TCGETS on a file", ioctl(ce, TCGETS, &tio));
	expect_err("TCGETS on stdin (/dev/null)", ioctl(0, TCGETS, &tio));
	close(ce);

	/* O_NOFOLLOW and O_PATH on a symlink. */
	expect_err("O_NOFOLLOW on a symlink", open("/bin", O_RDONLY | O_NOFOLLOW));
	int p = open("/bin", O_PATH | O_NOFOLLOW);
	yesno("O_PATH|O_NOFOLLOW opens the symlink", p >= 0 &&
	      fstat(p, &st) == 0 && S_ISLNK(st.st_mode));
	close(p);
	p = open("/etc/os-release", O_PATH);
	char c;
	expect_err("read from O_PATH fd", read(p, &c, 1));
	yesno("fstat of O_PATH fd", fstat(p, &st) == 0 && S_ISREG(st.st_mode));
	close(p);
	expect_err("O_DIRECTORY|O_NOFOLLOW on a dir symlink",
		   open("/bin", O_RDONLY | O_DIRECTORY | O_NOFOLLOW));

	/* access. */
	show("access R_OK", access("/etc/os-release", R_OK));
	show("access F_OK", access("/etc/os-release", F_OK));
	show("access X_OK on a directory", access("/etc", X_OK));
	expect_err("access X_OK on a non-executable", access("/usr/lib/os-release", X_OK));
	expect_err("access missing", access("/nonexistent-magawa-test", F_OK));
	expect_err("access bad mode", access("/etc", 0x100));

	/* statx agrees with stat. */
	struct statx sx;
	if (syscall(SYS_statx, AT_FDCWD, "/etc/os-release", 0, STATX_BASIC_STATS, &sx) < 0) {
		printf("statx: errno %s\n", errname(errno));
	} else {
		stat("/etc/os-release", &st);
		yesno("statx size matches", sx.stx_size == (uint64_t)st.st_size);
		yesno("statx mode matches", sx.stx_mode == st.st_mode);
		yesno("statx ino matches", sx.stx_ino == st.st_ino);
		yesno("statx basic mask", (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
	}

	/* Path length limits. */
	static char longname[300], longpath[PATH_MAX + 10];
	memset(longname, 'a', sizeof(longname) - 1);
	memcpy(longname, "/", 1);
	expect_err("component longer than NAME_MAX", open(longname, O_RDONLY));
	memset(longpath, '/', sizeof(longpath) - 1);
	expect_err("path longer than PATH_MAX", open(longpath, O_RDONLY));

	/* fchdir. */
	int dir = open("/usr/lib", O_RDONLY | O_DIRECTORY);
	char cwd[256];
	show("fchdir /usr/lib", fchdir(dir));
	printf("getcwd after fchdir: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : errname(errno));
	close(dir);
	int file = open("/etc/os-release", O_RDONLY);
	expect_err("fchdir to a file", fchdir(file));
	close(file);
	expect_err("fchdir bad fd", fchdir(999));

	/* The lowest free descriptor after closing everything above 2. */
	printf("lowest free -> %d\n", open("/etc/os-release", O_RDONLY));
	return 0;
}
