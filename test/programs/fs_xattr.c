/*
 * fs_xattr: extended attributes on a tmpfs scratch directory (/dev/shm):
 * user.* (tmpfs has them since Linux 6.6) and trusted.* (root) on files
 * and directories; set/get/list/remove and their f* and l* forms,
 * XATTR_CREATE/XATTR_REPLACE, size queries, ERANGE, ENODATA, name and
 * value limits, user.* refused on symlinks and FIFOs, hard links sharing
 * attributes, and ctime.
 */
#include "common.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static void mkfile(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	close(fd);
}

static void get(const char *label, const char *path, const char *name)
{
	char buf[256];
	ssize_t n = getxattr(path, name, buf, sizeof(buf));
	if (n < 0)
		printf("%s: errno %s\n", label, errname(errno));
	else
		printf("%s: %zd \"%.*s\"\n", label, n, (int)n, buf);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list prints the sorted names of listxattr(path), or its error. */
static void list(const char *label, const char *path, int nofollow)
{
	static char buf[65536];
	ssize_t n = nofollow ? llistxattr(path, buf, sizeof(buf)) : listxattr(path, buf, sizeof(buf));
	if (n < 0) {
		printf("%s: errno %s\n", label, errname(errno));
		return;
	}
	char *names[256];
	int k = 0;
	int terminated = n == 0 || buf[n - 1] == 0;
	for (ssize_t off = 0; off < n && k < 256; off += strlen(buf + off) + 1)
		names[k++] = buf + off;
	qsort(names, k, sizeof(names[0]), cmpstr);
	printf("%s: %zd bytes, %d names%s:", label, n, k, terminated ? "" : " (not NUL-terminated!)");
	for (int i = 0; i < k; i++)
		printf(" %s", names[i]);
	printf("\n");
}

static void basics(const char *ns)
{
	char name[64], name2[64];
	snprintf(name, sizeof(name), "%s.color", ns);
	snprintf(name2, sizeof(name2), "%s.shape", ns);
	printf("== %s.* on a file\n", ns);
	mkfile("f");
	get("get before any set", "f", name);
	list("list of a fresh file", "f", 0);
	show("setxattr", setxattr("f", name, "blue", 4, 0));
	printf("size query: %zd\n", getxattr("f", name, NULL, 0));
	get("getxattr", "f", name);
	char small[2];
	expect_err("getxattr into 2 bytes", getxattr("f", name, small, sizeof(small)));
	expect_err("XATTR_CREATE on an existing name", setxattr("f", name, "red", 3, XATTR_CREATE));
	show("XATTR_REPLACE on an existing name", setxattr("f", name, "green", 5, XATTR_REPLACE));
	get("after the replace", "f", name);
	expect_err("XATTR_REPLACE on a missing name", setxattr("f", name2, "round", 5, XATTR_REPLACE));
	expect_err("XATTR_CREATE|XATTR_REPLACE", setxattr("f", name2, "x", 1, XATTR_CREATE | XATTR_REPLACE));
	expect_err("unknown flag", setxattr("f", name2, "x", 1, 0x10));
	show("XATTR_CREATE on a new name", setxattr("f", name2, "square", 6, XATTR_CREATE));
	show("overwrite with a shorter value", setxattr("f", name2, "sq", 2, 0));
	get("read back", "f", name2);
	list("list", "f", 0);
	printf("list size query: %zd\n", listxattr("f", NULL, 0));
	char lbuf[4];
	expect_err("list into 4 bytes", listxattr("f", lbuf, sizeof(lbuf)));
	show("empty value", setxattr("f", name2, "", 0, 0));
	printf("empty value size: %zd\n", getxattr("f", name2, NULL, 0));
	get("empty value", "f", name2);
	show("removexattr", removexattr("f", name2));
	expect_err("removexattr again", removexattr("f", name2));
	get("removed", "f", name2);
	list("list after remove", "f", 0);

	int fd = open("f", O_RDONLY);
	show("fsetxattr on an O_RDONLY fd", fsetxattr(fd, name2, "fd", 2, 0));
	char buf[16];
	ssize_t n = fgetxattr(fd, name2, buf, sizeof(buf));
	printf("fgetxattr: %zd \"%.*s\"\n", n, n < 0 ? 0 : (int)n, buf);
	printf("flistxattr size: %zd\n", flistxattr(fd, NULL, 0));
	show("fremovexattr", fremovexattr(fd, name2));
	close(fd);
	fd = open("f", O_PATH);
	expect_err("fgetxattr on O_PATH", fgetxattr(fd, name, buf, sizeof(buf)));
	expect_err("fsetxattr on O_PATH", fsetxattr(fd, name, "x", 1, 0));
	expect_err("flistxattr on O_PATH", flistxattr(fd, buf, sizeof(buf)));
	close(fd);

	/* Directories */
	mkdir("d", 0755);
	show("setxattr on a dir", setxattr("d", name, "dir", 3, 0));
	get("getxattr on a dir", "d", name);

	/* Symlinks: getxattr follows, lgetxattr does not. */
	symlink("f", "sl");
	get("getxattr through a symlink", "sl", name);
	char lb[16];
	expect_err("lgetxattr on the symlink", lgetxattr("sl", name, lb, sizeof(lb)));
	show("setxattr through a symlink", setxattr("sl", name2, "via", 3, 0));
	get("it landed on the target", "f", name2);
	int r = lsetxattr("sl", name, "link", 4, 0);
	if (r < 0)
		printf("lsetxattr on the symlink: errno %s\n", errname(errno));
	else
		printf("lsetxattr on the symlink: ok\n");
	list("llistxattr of the symlink", "sl", 1);
	expect_err("lremovexattr on the symlink", lremovexattr("sl", name2));
	list("target still has", "f", 0);

	/* FIFO */
	mknod("fifo", S_IFIFO | 0644, 0);
	r = setxattr("fifo", name, "p", 1, 0);
	if (r < 0)
		printf("setxattr on a FIFO: errno %s\n", errname(errno));
	else
		printf("setxattr on a FIFO: ok\n");

	/* Hard links share, renames keep. */
	link("f", "hard");
	list("the hard link", "hard", 0);
	rename("f", "moved");
	list("after rename", "moved", 0);

	/* ctime */
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	utimensat(AT_FDCWD, "moved", old, 0);
	struct stat before, after;
	stat("moved", &before);
	struct timespec pause = {0, 20000000};
	nanosleep(&pause, NULL);
	setxattr("moved", name, "ctime", 5, 0);
	stat("moved", &after);
	yesno("setxattr changes ctime",
	      after.st_ctim.tv_sec != before.st_ctim.tv_sec || after.st_ctim.tv_nsec != before.st_ctim.tv_nsec);
	yesno("setxattr leaves mtime", after.st_mtim.tv_sec == 1000000000);
	stat("moved", &before);
	nanosleep(&pause, NULL);
	removexattr("moved", name);
	stat("moved", &after);
	yesno("removexattr changes ctime",
	      after.st_ctim.tv_sec != before.st_ctim.tv_sec || after.st_ctim.tv_nsec != before.st_ctim.tv_nsec);
	stat("moved", &before);
	nanosleep(&pause, NULL);
	getxattr("moved", name2, NULL, 0);
	stat("moved", &after);
	yesno("getxattr leaves ctime",
	      after.st_ctim.tv_sec == before.st_ctim.tv_sec && after.st_ctim.tv_nsec == before.st_ctim.tv_nsec);

	rm_rf(AT_FDCWD, "moved");
	rm_rf(AT_FDCWD, "hard");
	rm_rf(AT_FDCWD, "sl");
	rm_rf(AT_FDCWD, "d");
	rm_rf(AT_FDCWD, "fifo");
}

static void limits(void)
{
	printf("== names and limits\n");
	mkfile("g");
	expect_err("a name without a namespace", setxattr("g", "color", "x", 1, 0));
	expect_err("an unknown namespace", setxattr("g", "bogus.color", "x", 1, 0));
	expect_err("an empty name after user.", setxattr("g", "user.", "x", 1, 0));
	expect_err("an empty name", setxattr("g", "", "x", 1, 0));
	expect_err("getxattr an empty name", getxattr("g", "", NULL, 0));
	expect_err("getxattr an unknown namespace", getxattr("g", "bogus.x", NULL, 0));
	expect_err("getxattr no namespace", getxattr("g", "color", NULL, 0));
	char name[300];
	memcpy(name, "user.", 5);
	memset(name + 5, 'n', 250);
	name[255] = 0;
	show("a 255-byte name", setxattr("g", name, "x", 1, 0));
	printf("read back size: %zd\n", getxattr("g", name, NULL, 0));
	name[255] = 'n';
	name[256] = 0;
	expect_err("a 256-byte name", setxattr("g", name, "x", 1, 0));
	expect_err("getxattr a 256-byte name", getxattr("g", name, NULL, 0));
	static char big[65537];
	memset(big, 'v', sizeof(big));
	int r = setxattr("g", "user.big", big, 65536, 0);
	printf("a 65536-byte value: %s\n", r < 0 ? errname(errno) : "ok");
	if (r == 0)
		printf("read back size: %zd\n", getxattr("g", "user.big", NULL, 0));
	expect_err("a 65537-byte value", setxattr("g", "user.big2", big, 65537, 0));
	removexattr("g", "user.big");
	show("a 4000-byte value", setxattr("g", "user.mid", big, 4000, 0));
	static char rb[65536];
	ssize_t n = getxattr("g", "user.mid", rb, sizeof(rb));
	printf("read back: %zd, equal: %s\n", n, n == 4000 && memcmp(rb, big, 4000) == 0 ? "yes" : "no");
	show("a value with NUL bytes", setxattr("g", "user.bin", "a\0b\0", 4, 0));
	n = getxattr("g", "user.bin", rb, sizeof(rb));
	printf("read back: %zd, equal: %s\n", n, n == 4 && memcmp(rb, "a\0b\0", 4) == 0 ? "yes" : "no");
	expect_err("getxattr on a missing file", getxattr("missing", "user.x", NULL, 0));
	expect_err("setxattr with a bad value pointer", syscall(SYS_setxattr, "g", "user.bad", (void *)8, 10, 0));
	int many = 0;
	for (int i = 0; i < 100; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "user.many%03d", i);
		if (setxattr("g", nm, "v", 1, 0) == 0)
			many++;
	}
	printf("set 100 small attributes: %d ok\n", many);
	printf("list size: %zd\n", listxattr("g", NULL, 0));
	unlink("g");
}

int main(void)
{
	umask(022);
	if (!mkdtemp(scratch))
		die("mkdtemp");
	scratch_owner = getpid();
	atexit(remove_scratch_at_exit);
	if (chdir(scratch) < 0)
		die("chdir scratch");
	basics("user");
	basics("trusted");
	limits();
	if (chdir("/") < 0)
		die("chdir /");
	rm_rf(AT_FDCWD, scratch);
	struct stat st;
	if (lstat(scratch, &st) == 0)
		printf("scratch directory left behind\n");
	return 0;
}
