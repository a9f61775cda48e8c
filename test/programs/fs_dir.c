/*
 * fs_dir: directories on a tmpfs scratch directory (/dev/shm):
 * getdents64 listings (sorted, big and tiny buffers, d_type, d_ino),
 * entries created and removed during a listing, resuming at a d_off with
 * lseek, lseek on directories, the cwd after its parent is renamed and
 * after it is removed, the *at calls relative to directory descriptors,
 * and AT_EMPTY_PATH.
 */
#include "common.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void mkfile(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	close(fd);
}

struct ent {
	char name[256];
	unsigned char type;
	ino_t ino;
	off_t off;
};

#define MAXENT 1024
static struct ent ents[MAXENT];
static char dbuf[65536];

static int cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name);
}

static const char *tname(unsigned char t)
{
	switch (t) {
	case DT_REG: return "reg";
	case DT_DIR: return "dir";
	case DT_LNK: return "lnk";
	case DT_FIFO: return "fifo";
	case DT_SOCK: return "sock";
	case DT_CHR: return "chr";
	case DT_UNKNOWN: return "unknown";
	}
	return "?";
}

/*
 * readall reads fd to the end with bufsize-byte getdents64 calls into
 * ents (unsorted), returns the count, or -1 with errno.
 */
static int readall(int fd, size_t bufsize, int *calls)
{
	int n = 0;
	if (calls)
		*calls = 0;
	for (;;) {
		long got = syscall(SYS_getdents64, fd, dbuf, bufsize);
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		if (calls)
			(*calls)++;
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(dbuf + off);
			if (n < MAXENT) {
				snprintf(ents[n].name, sizeof(ents[n].name), "%s", d->d_name);
				ents[n].type = d->d_type;
				ents[n].ino = d->d_ino;
				ents[n].off = d->d_off;
				n++;
			}
			off += d->d_reclen;
		}
	}
	return n;
}

static int count_name(int n, const char *name)
{
	int c = 0;
	for (int i = 0; i < n; i++)
		if (strcmp(ents[i].name, name) == 0)
			c++;
	return c;
}

static void listing(void)
{
	printf("== listing\n");
	mkdir("l", 0755);
	char name[64];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "l/file%02d", i);
		mkfile(name);
	}
	mkdir("l/subdir", 0755);
	symlink("file00", "l/link");
	mknod("l/fifo", S_IFIFO | 0644, 0);
	char longname[256];
	memset(longname, 'L', 255);
	longname[255] = 0;
	char longpath[300];
	mkdir("ln", 0755);
	mkfile("ln/a");
	mkfile("ln/b");
	snprintf(longpath, sizeof(longpath), "ln/%s", longname);
	mkfile(longpath);

	int fd = open("l", O_RDONLY | O_DIRECTORY);
	int calls;
	int n = readall(fd, sizeof(dbuf), &calls);
	printf("entries: %d in %s call%s\n", n, calls == 1 ? "one" : "several", calls == 1 ? "" : "s");
	qsort(ents, n, sizeof(ents[0]), cmp);
	for (int i = 0; i < n; i++) {
		if (strncmp(ents[i].name, "file", 4) == 0 && strcmp(ents[i].name, "file00") &&
		    strcmp(ents[i].name, "file39"))
			continue;
		printf("  %s %s\n", strlen(ents[i].name) > 64 ? "<255 L>" : ents[i].name, tname(ents[i].type));
	}
	int inos_ok = 1;
	for (int i = 0; i < n; i++) {
		struct stat st;
		char p[300];
		snprintf(p, sizeof(p), "l/%.255s", ents[i].name);
		if (lstat(p, &st) < 0 || st.st_ino != ents[i].ino)
			inos_ok = 0;
	}
	yesno("d_ino matches lstat for every entry (incl. . and ..)", inos_ok);
	printf("getdents64 after the end: %ld\n", syscall(SYS_getdents64, fd, dbuf, sizeof(dbuf)));

	/* tiny buffers */
	lseek(fd, 0, SEEK_SET);
	int n2 = readall(fd, 64, &calls);
	printf("64-byte buffer: %d entries, several calls: %s\n", n2, calls > 1 ? "yes" : "no");
	lseek(fd, 0, SEEK_SET);
	expect_err("getdents64 with a 16-byte buffer", syscall(SYS_getdents64, fd, dbuf, 16));
	expect_err("getdents64 with a 0-byte buffer", syscall(SYS_getdents64, fd, dbuf, 0));
	close(fd);

	/* A 255-byte name */
	fd = open("ln", O_RDONLY | O_DIRECTORY);
	n2 = readall(fd, 280, &calls);
	printf("280-byte buffer (one 255-byte name fits): %d entries\n", n2);
	qsort(ents, n2, sizeof(ents[0]), cmp);
	for (int i = 0; i < n2; i++)
		printf("  %s %s\n", strlen(ents[i].name) > 64 ? "<255 L>" : ents[i].name, tname(ents[i].type));
	/* A buffer big enough for some entries but not the 255-byte one. */
	lseek(fd, 0, SEEK_SET);
	int shortfail = 0, total = 0;
	for (;;) {
		long got = syscall(SYS_getdents64, fd, dbuf, 200);
		if (got < 0) {
			shortfail = errno;
			break;
		}
		if (got == 0)
			break;
		for (long off = 0; off < got; total++)
			off += ((struct dirent64 *)(dbuf + off))->d_reclen;
	}
	printf("200-byte buffer: stops with %s\n", shortfail ? errname(shortfail) : "no error");
	close(fd);

	fd = open("l/file00", O_RDONLY);
	expect_err("getdents64 on a file", syscall(SYS_getdents64, fd, dbuf, sizeof(dbuf)));
	close(fd);
	expect_err("getdents64 on a bad fd", syscall(SYS_getdents64, 999, dbuf, sizeof(dbuf)));
	fd = open("l", O_RDONLY | O_DIRECTORY);
	expect_err("getdents64 into a bad buffer", syscall(SYS_getdents64, fd, (void *)8, sizeof(dbuf)));
	close(fd);

	mkdir("empty", 0755);
	fd = open("empty", O_RDONLY | O_DIRECTORY);
	n = readall(fd, sizeof(dbuf), NULL);
	qsort(ents, n, sizeof(ents[0]), cmp);
	printf("empty dir:");
	for (int i = 0; i < n; i++)
		printf(" %s(%s)", ents[i].name, tname(ents[i].type));
	printf("\n");
	close(fd);

	/* The listing of a removed directory */
	fd = open("empty", O_RDONLY | O_DIRECTORY);
	rmdir("empty");
	long got = syscall(SYS_getdents64, fd, dbuf, sizeof(dbuf));
	if (got < 0)
		printf("getdents64 of a removed dir: errno %s\n", errname(errno));
	else
		printf("getdents64 of a removed dir: %ld bytes\n", got);
	close(fd);

	struct stat st;
	stat("l", &st);
	printf("dir nlink with one subdir: %lu\n", (unsigned long)st.st_nlink);
}

static void mutation(void)
{
	printf("== changes during a listing\n");
	mkdir("m", 0755);
	char name[64];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "m/old%03d", i);
		mkfile(name);
	}
	int fd = open("m", O_RDONLY | O_DIRECTORY);
	/* Read a few entries, then add many, then finish. */
	int n = 0;
	long got = syscall(SYS_getdents64, fd, dbuf, 128);
	for (long off = 0; off < got;) {
		struct dirent64 *d = (struct dirent64 *)(dbuf + off);
		snprintf(ents[n].name, sizeof(ents[n].name), "%s", d->d_name);
		n++;
		off += d->d_reclen;
	}
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "m/new%03d", i);
		mkfile(name);
	}
	for (int i = 0; i < 100; i += 2) {
		snprintf(name, sizeof(name), "m/old%03d", i);
		/* keep the ones already seen, remove half of the rest */
		int seen = 0;
		for (int j = 0; j < n; j++)
			if (strcmp(ents[j].name, name + 2) == 0)
				seen = 1;
		if (!seen)
			unlink(name);
	}
	for (;;) {
		got = syscall(SYS_getdents64, fd, dbuf, 128);
		if (got <= 0)
			break;
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(dbuf + off);
			if (n < MAXENT) {
				snprintf(ents[n].name, sizeof(ents[n].name), "%s", d->d_name);
				n++;
			}
			off += d->d_reclen;
		}
	}
	int once = 0, bad = 0, removed_seen_twice = 0;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "old%03d", i);
		char p[80];
		snprintf(p, sizeof(p), "m/%s", name);
		int c = count_name(n, name);
		if (access(p, F_OK) == 0) {
			if (c == 1)
				once++;
			else
				bad++;
		} else if (c > 1) {
			removed_seen_twice++;
		}
	}
	int newdup = 0;
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "new%03d", i);
		if (count_name(n, name) > 1)
			newdup++;
	}
	printf("surviving old entries seen exactly once: %d, otherwise: %d\n", once, bad);
	printf("removed entries seen twice: %d\n", removed_seen_twice);
	printf("new entries seen twice: %d\n", newdup);
	printf(". and .. seen once: %s\n", count_name(n, ".") == 1 && count_name(n, "..") == 1 ? "yes" : "no");
	/* After a rewind, the new entries are all there. */
	lseek(fd, 0, SEEK_SET);
	n = readall(fd, sizeof(dbuf), NULL);
	printf("after rewind: %d entries\n", n);
	close(fd);
}

static void seeking(void)
{
	printf("== seeking in directories\n");
	int fd = open("l", O_RDONLY | O_DIRECTORY);
	int n = readall(fd, sizeof(dbuf), NULL);
	static struct ent first[MAXENT];
	memcpy(first, ents, sizeof(ents[0]) * n);
	int ok = 1, checked = 0;
	for (int k = 0; k < n - 1; k += 7) {
		if (lseek(fd, first[k].off, SEEK_SET) < 0) {
			printf("lseek to d_off: errno %s\n", errname(errno));
			ok = 0;
			break;
		}
		long got = syscall(SYS_getdents64, fd, dbuf, sizeof(dbuf));
		struct dirent64 *d = (struct dirent64 *)dbuf;
		if (got <= 0 || strcmp(d->d_name, first[k + 1].name) != 0)
			ok = 0;
		checked++;
	}
	yesno("lseek to an entry's d_off resumes at the next entry", ok && checked > 3);
	off_t last = first[n - 1].off;
	lseek(fd, last, SEEK_SET);
	printf("getdents64 at the last d_off: %ld\n", syscall(SYS_getdents64, fd, dbuf, sizeof(dbuf)));
	yesno("lseek SEEK_SET 0 rewinds", lseek(fd, 0, SEEK_SET) == 0 && readall(fd, sizeof(dbuf), NULL) == n);
	lseek(fd, 0, SEEK_SET);
	long got = syscall(SYS_getdents64, fd, dbuf, 64);
	off_t lastoff = -1;
	for (long off = 0; off < got; off += ((struct dirent64 *)(dbuf + off))->d_reclen)
		lastoff = ((struct dirent64 *)(dbuf + off))->d_off;
	off_t cur = lseek(fd, 0, SEEK_CUR);
	yesno("SEEK_CUR after a partial read is the last d_off returned", cur == lastoff);
	expect_err("lseek SEEK_SET negative", lseek(fd, -1, SEEK_SET));
	off_t e = lseek(fd, 0, SEEK_END);
	if (e < 0)
		printf("lseek SEEK_END: errno %s\n", errname(errno));
	else
		printf("lseek SEEK_END: ok\n");
	expect_err("lseek SEEK_DATA on a dir", lseek(fd, 0, SEEK_DATA));
	expect_err("lseek bad whence", lseek(fd, 0, 17));
	close(fd);

	/* telldir/seekdir through libc */
	DIR *d = opendir("l");
	for (int i = 0; i < 5; i++)
		readdir(d);
	long pos = telldir(d);
	struct dirent *de = readdir(d);
	char want[256];
	snprintf(want, sizeof(want), "%s", de->d_name);
	for (int i = 0; i < 10; i++)
		readdir(d);
	seekdir(d, pos);
	de = readdir(d);
	yesno("seekdir(telldir()) returns the same entry", de && strcmp(de->d_name, want) == 0);
	rewinddir(d);
	int cnt = 0;
	while (readdir(d))
		cnt++;
	printf("rewinddir then readdir to the end: %d\n", cnt);
	closedir(d);
}

static void print_cwd(const char *label)
{
	char buf[PATH_MAX];
	long r = syscall(SYS_getcwd, buf, sizeof(buf));
	if (r < 0) {
		printf("%s: errno %s\n", label, errname(errno));
		return;
	}
	size_t sl = strlen(scratch);
	if (strncmp(buf, scratch, sl) == 0)
		printf("%s: $SCRATCH%s (returned %ld)\n", label, buf + sl, r - (long)sl);
	else
		printf("%s: %s (returned %ld)\n", label, buf, r);
}

static void cwd(void)
{
	printf("== the working directory\n");
	int home = open(".", O_RDONLY | O_DIRECTORY);
	mkdir("a", 0755);
	mkdir("a/b", 0755);
	mkdir("a/b/c", 0755);
	if (chdir("a/b") < 0)
		die("chdir a/b");
	print_cwd("getcwd in a/b");
	if (rename("../../a", "../../z") < 0)
		die("rename a z");
	print_cwd("getcwd after renaming the parent a to z");
	show("chdir c", chdir("c"));
	print_cwd("getcwd");
	show("chdir ../..", chdir("../.."));
	print_cwd("getcwd");
	if (fchdir(home) < 0)
		die("fchdir home");
	int zb = open("z/b", O_RDONLY | O_DIRECTORY);
	if (rename("z", "y") < 0)
		die("rename z y");
	show("fchdir to a dir fd whose path was renamed", fchdir(zb));
	print_cwd("getcwd");
	close(zb);
	char buf[PATH_MAX];
	long len = syscall(SYS_getcwd, buf, sizeof(buf));
	expect_err("getcwd with a buffer one byte short", syscall(SYS_getcwd, buf, len - 1));
	printf("getcwd with an exact buffer: %s\n", syscall(SYS_getcwd, buf, len) == len ? "ok" : "fail");
	expect_err("getcwd with size 0", syscall(SYS_getcwd, buf, 0));
	expect_err("getcwd into a bad buffer", syscall(SYS_getcwd, (void *)8, sizeof(buf)));

	if (chdir("c") < 0)
		die("chdir c");
	if (rmdir("../c") < 0)
		die("rmdir cwd");
	print_cwd("getcwd after rmdir of the cwd");
	char *g = getcwd(buf, sizeof(buf));
	printf("libc getcwd after rmdir of the cwd: %s\n", g ? "returned a path" : errname(errno));
	expect_err("open . in a removed cwd with O_CREAT of a child", open("x", O_CREAT | O_WRONLY, 0644));
	struct stat st;
	show("stat . in a removed cwd", stat(".", &st));
	printf("its nlink: %lu\n", (unsigned long)st.st_nlink);
	show("chdir .. from a removed cwd", chdir(".."));
	print_cwd("getcwd");
	if (fchdir(home) < 0)
		die("fchdir home");
	print_cwd("getcwd after fchdir home");
	close(home);
}

static void at_calls(void)
{
	printf("== *at calls\n");
	mkdir("at", 0755);
	mkdir("at/sub", 0755);
	int dfd = open("at", O_RDONLY | O_DIRECTORY);
	int sfd = open("at/sub", O_RDONLY | O_DIRECTORY);
	int fd = openat(dfd, "f", O_WRONLY | O_CREAT, 0644);
	show("openat O_CREAT relative to a dirfd", fd);
	if (write(fd, "abc", 3) != 3)
		die("write");
	close(fd);
	show("access the result by path", access("at/f", F_OK));
	char abs[300];
	snprintf(abs, sizeof(abs), "%s/at/f", scratch);
	show("openat with an absolute path and a bad dirfd", fd = openat(999, abs, O_RDONLY));
	close(fd);
	expect_err("openat relative with a bad dirfd", openat(999, "f", O_RDONLY));
	fd = openat(dfd, "f", O_RDONLY);
	expect_err("openat relative to a file fd", openat(fd, "x", O_RDONLY));
	expect_err("openat empty path relative to a file fd", openat(fd, "", O_RDONLY));
	close(fd);
	show("mkdirat", mkdirat(sfd, "d", 0755));
	show("symlinkat", symlinkat("../f", sfd, "l"));
	char buf[64];
	ssize_t n = readlinkat(sfd, "l", buf, sizeof(buf));
	printf("readlinkat: %.*s\n", n < 0 ? 0 : (int)n, buf);
	show("renameat across dirfds", renameat(dfd, "f", sfd, "moved"));
	show("linkat across dirfds", linkat(sfd, "moved", dfd, "back", 0));
	struct stat st;
	fstatat(dfd, "back", &st, 0);
	printf("nlink: %lu\n", (unsigned long)st.st_nlink);
	show("fstatat AT_EMPTY_PATH on a dirfd", fstatat(dfd, "", &st, AT_EMPTY_PATH));
	printf("is a dir: %s nlink %lu\n", S_ISDIR(st.st_mode) ? "yes" : "no", (unsigned long)st.st_nlink);
	expect_err("fstatat empty path without AT_EMPTY_PATH", fstatat(dfd, "", &st, 0));
	show("fstatat AT_FDCWD \"\" AT_EMPTY_PATH is the cwd", fstatat(AT_FDCWD, "", &st, AT_EMPTY_PATH));
	expect_err("fstatat bad flags", fstatat(dfd, "back", &st, 0x1));
	expect_err("unlinkat AT_REMOVEDIR on a non-empty dir", unlinkat(dfd, "sub", AT_REMOVEDIR));
	show("unlinkat AT_REMOVEDIR", unlinkat(sfd, "d", AT_REMOVEDIR));
	expect_err("unlinkat without AT_REMOVEDIR on a dir", unlinkat(dfd, "sub", 0));
	show("unlinkat a file", unlinkat(sfd, "moved", 0));
	show("unlinkat a symlink", unlinkat(sfd, "l", 0));
	show("unlinkat AT_REMOVEDIR now empty", unlinkat(dfd, "sub", AT_REMOVEDIR));
	expect_err("openat O_CREAT in the removed dir via its fd", openat(sfd, "x", O_WRONLY | O_CREAT, 0644));
	expect_err("mkdirat in the removed dir", mkdirat(sfd, "x", 0755));
	show("fstatat AT_EMPTY_PATH of the removed dir", fstatat(sfd, "", &st, AT_EMPTY_PATH));
	printf("its nlink: %lu\n", (unsigned long)st.st_nlink);
	close(sfd);
	if (rename("at", "at2") < 0)
		die("rename at");
	show("openat relative to a renamed dir's fd", fd = openat(dfd, "back", O_RDONLY));
	n = read(fd, buf, sizeof(buf));
	printf("reads: %.*s\n", n < 0 ? 0 : (int)n, buf);
	close(fd);
	fd = openat(dfd, "..", O_RDONLY | O_DIRECTORY);
	struct stat a, b;
	fstat(fd, &a);
	stat(".", &b);
	yesno("openat(dirfd, \"..\") is the parent", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
	close(dfd);
	stat("at2", &st);
	printf("tmpfs dir st_size with one entry: %lld\n", (long long)st.st_size);
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
	listing();
	mutation();
	seeking();
	cwd();
	at_calls();
	if (chdir("/") < 0)
		die("chdir /");
	rm_rf(AT_FDCWD, scratch);
	struct stat st;
	if (lstat(scratch, &st) == 0)
		printf("scratch directory left behind\n");
	return 0;
}
