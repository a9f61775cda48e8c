/*
 * symlink: lstat/stat/readlink of the merged-/usr symlinks of Debian
 * (/bin -> usr/bin, /lib64/ld-linux-x86-64.so.2 -> an absolute path),
 * path walks through them, and getcwd after chdir through a symlink.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *kind(mode_t m)
{
	if (S_ISLNK(m)) return "symlink";
	if (S_ISDIR(m)) return "dir";
	if (S_ISREG(m)) return "file";
	return "other";
}

static void lstat_and_stat(const char *path)
{
	struct stat st;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		printf("lstat %s: errno %s\n", path, errname(errno));
	} else {
		printf("lstat %s: %s", path, kind(st.st_mode));
		if (S_ISLNK(st.st_mode))
			printf(" size=%lld", (long long)st.st_size);
		printf("\n");
	}
	if (fstatat(AT_FDCWD, path, &st, 0) < 0)
		printf("stat %s: errno %s\n", path, errname(errno));
	else
		printf("stat %s: %s mode=%04o uid=%u gid=%u\n", path,
		       kind(st.st_mode), st.st_mode & 07777, st.st_uid,
		       st.st_gid);
}

static void show_readlink(const char *path, size_t size)
{
	char buf[4096];
	memset(buf, 'X', sizeof(buf));
	ssize_t n = readlink(path, buf, size);
	if (n < 0) {
		printf("readlink %s [%zu]: errno %s\n", path, size, errname(errno));
		return;
	}
	printf("readlink %s [%zu]: %zd \"%.*s\"", path, size, n, (int)n, buf);
	yesno(" (not NUL-terminated)", (size_t)n < sizeof(buf) && buf[n] == 'X');
}

int main(void)
{
	lstat_and_stat("/bin");
	lstat_and_stat("/bin/");
	lstat_and_stat("/bin/sh");
	lstat_and_stat("/lib64/ld-linux-x86-64.so.2");
	lstat_and_stat("/etc/os-release");
	lstat_and_stat("/bin/../local");
	lstat_and_stat("/usr/bin/../../etc/./os-release");
	lstat_and_stat("//usr///bin//");
	lstat_and_stat("/nonexistent-magawa-test");
	lstat_and_stat("/etc/os-release/");

	show_readlink("/bin", 4096);
	show_readlink("/bin", 3);
	show_readlink("/etc/os-release", 4096);
	show_readlink("/lib64/ld-linux-x86-64.so.2", 4096);
	show_readlink("/bin/sh", 4096);
	show_readlink("/etc", 4096);
	show_readlink("/nonexistent-magawa-test", 4096);
	show_readlink("/bin", 0);

	/* readlinkat relative to a directory descriptor. */
	int root = open("/", O_RDONLY | O_DIRECTORY);
	char buf[64];
	ssize_t n = readlinkat(root, "bin", buf, sizeof(buf));
	printf("readlinkat(/, bin): %.*s\n", n < 0 ? 0 : (int)n, buf);

	/* fstatat relative to a directory, and AT_EMPTY_PATH on the fd. */
	struct stat a, b;
	if (fstatat(root, "etc/os-release", &a, 0) < 0)
		die("fstatat relative");
	int fd = open("/usr/lib/os-release", O_RDONLY);
	if (fd < 0)
		die("open os-release");
	if (fstatat(fd, "", &b, AT_EMPTY_PATH) < 0)
		die("fstatat AT_EMPTY_PATH");
	yesno("symlinked and direct stat agree",
	      a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size);
	expect_err("fstatat empty path without AT_EMPTY_PATH", fstatat(fd, "", &b, 0));
	expect_err("fstatat relative to a file", fstatat(fd, "x", &b, 0));
	close(fd);
	close(root);

	/* chdir through a symlink; getcwd reports the physical path. */
	char cwd[256];
	if (chdir("/bin") < 0)
		die("chdir /bin");
	printf("getcwd after chdir(/bin): %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : errname(errno));
	if (chdir("..") < 0)
		die("chdir ..");
	printf("getcwd after chdir(..): %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : errname(errno));
	yesno("relative open after chdir", (fd = open("lib/os-release", O_RDONLY)) >= 0);
	close(fd);
	expect_err("getcwd buffer too small", syscall(SYS_getcwd, cwd, 2));
	expect_err("chdir to a file", chdir("/etc/os-release"));
	expect_err("chdir missing", chdir("/nonexistent-magawa-test"));
	return 0;
}
