/*
 * fs_attr: inode attributes on a tmpfs scratch directory (/dev/shm):
 * stat fields after creation, umask, chmod/fchmod/fchmodat/fchmodat2,
 * chown as root (and the set-user-ID bit it clears), setgid directories,
 * utimensat/futimens (UTIME_NOW, UTIME_OMIT, exact nanoseconds, the
 * link's own times), truncate/ftruncate, the timestamps that write,
 * read, chmod and link update, and access/faccessat as root.
 */
#include "common.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

static void mkfile(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	size_t n = strlen(content);
	if (write(fd, content, n) != (ssize_t)n)
		die("write");
	close(fd);
}

static struct stat lst(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		die(path);
	return st;
}

static void mode(const char *label, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		printf("%s: errno %s\n", label, errname(errno));
	else
		printf("%s: %06o\n", label, st.st_mode);
}

static void owner(const char *label, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		printf("%s: errno %s\n", label, errname(errno));
	else
		printf("%s: %u:%u\n", label, st.st_uid, st.st_gid);
}

static int ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

static void pause_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

/* near_now says whether t is within two seconds of the current time. */
static int near_now(struct timespec t)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return t.tv_sec >= now.tv_sec - 2 && t.tv_sec <= now.tv_sec + 2;
}

static void set_old_times(const char *path)
{
	struct timespec ts[2] = {{1000000000, 111111111}, {1000000000, 222222222}};
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		die("utimensat old");
}

static void print_times(const char *label, const char *path)
{
	struct stat st = lst(path);
	printf("%s: atime %lld.%09ld mtime %lld.%09ld\n", label,
	       (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static void creation(void)
{
	printf("== creation and umask\n");
	umask(022);
	int fd = open("f", O_WRONLY | O_CREAT | O_EXCL, 0666);
	struct stat st;
	fstat(fd, &st);
	printf("new file: mode %06o nlink %lu size %lld uid %u gid %u\n", st.st_mode,
	       (unsigned long)st.st_nlink, (long long)st.st_size, st.st_uid, st.st_gid);
	yesno("new file times are now", near_now(st.st_mtim) && near_now(st.st_atim) && near_now(st.st_ctim));
	yesno("new file atime == mtime == ctime",
	      ts_cmp(st.st_atim, st.st_mtim) == 0 && ts_cmp(st.st_mtim, st.st_ctim) == 0);
	yesno("st_blksize is a positive power of two",
	      st.st_blksize > 0 && (st.st_blksize & (st.st_blksize - 1)) == 0);
	printf("st_blocks of an empty file: %lld\n", (long long)st.st_blocks);
	if (write(fd, "x", 1) != 1)
		die("write");
	fstat(fd, &st);
	printf("st_blocks after 1 byte: %lld\n", (long long)st.st_blocks);
	close(fd);
	mkdir("d", 0777);
	mode("mkdir 0777 with umask 022", "d");
	struct stat dst = lst("d");
	printf("new dir: nlink %lu uid %u gid %u\n", (unsigned long)dst.st_nlink, dst.st_uid, dst.st_gid);
	umask(077);
	close(open("f077", O_WRONLY | O_CREAT, 0666));
	mode("open 0666 with umask 077", "f077");
	mkdir("d077", 0777);
	mode("mkdir 0777 with umask 077", "d077");
	printf("umask returns the old mask: %03o\n", umask(0));
	close(open("fall", O_WRONLY | O_CREAT, 07777));
	mode("open 07777 with umask 0", "fall");
	mkdir("dall", 07777);
	mode("mkdir 07777 with umask 0", "dall");
	mknod("fifo", S_IFIFO | 0666, 0);
	mode("mkfifo 0666 with umask 0", "fifo");
	symlink("f", "sl");
	mode("symlink mode ignores umask", "sl");
	umask(0777);
	close(open("fnone", O_WRONLY | O_CREAT, 0666));
	mode("open 0666 with umask 0777", "fnone");
	int fd2 = open("fnone", O_RDWR);
	show("root opens the 0000 file read-write", fd2);
	close(fd2);
	umask(022);
}

static void chmods(void)
{
	printf("== chmod\n");
	show("chmod 0750", chmod("f", 0750));
	mode("after chmod", "f");
	show("chmod 07777", chmod("f", 07777));
	mode("after chmod 07777", "f");
	show("chmod with S_IFDIR bits", chmod("f", S_IFDIR | 0600));
	mode("type bits ignored", "f");
	int fd = open("f", O_RDONLY);
	show("fchmod on a read-only fd", fchmod(fd, 0640));
	mode("after fchmod", "f");
	close(fd);
	show("fchmodat", fchmodat(AT_FDCWD, "f", 0644, 0));
	mode("after fchmodat", "f");
	show("chmod through a symlink", chmod("sl", 0604));
	mode("target after", "f");
	mode("link after", "sl");
	show("fchmodat2 AT_SYMLINK_NOFOLLOW on a file",
	     syscall(SYS_fchmodat2, AT_FDCWD, "f", 0644, AT_SYMLINK_NOFOLLOW));
	expect_err("fchmodat2 AT_SYMLINK_NOFOLLOW on a symlink",
		   syscall(SYS_fchmodat2, AT_FDCWD, "sl", 0600, AT_SYMLINK_NOFOLLOW));
	mode("link after the refused chmod", "sl");
	mode("target after the refused chmod", "f");
	expect_err("fchmodat2 bad flags", syscall(SYS_fchmodat2, AT_FDCWD, "f", 0644, 0x1));
	fd = open("f", O_RDONLY);
	show("fchmodat2 AT_EMPTY_PATH", syscall(SYS_fchmodat2, fd, "", 0640, AT_EMPTY_PATH));
	mode("after it", "f");
	close(fd);
	fchmod(open("f", O_RDONLY), 0644);
	expect_err("chmod missing", chmod("missing", 0644));
	show("chmod a dir 01777", chmod("d", 01777));
	mode("dir after", "d");

	/* ctime advances on chmod, mtime does not. */
	set_old_times("f");
	struct stat a = lst("f");
	pause_ms(20);
	chmod("f", 0600);
	struct stat b = lst("f");
	yesno("chmod advances ctime", ts_cmp(b.st_ctim, a.st_ctim) > 0);
	yesno("chmod leaves mtime", ts_cmp(b.st_mtim, a.st_mtim) == 0);
	yesno("chmod leaves atime", ts_cmp(b.st_atim, a.st_atim) == 0);
	chmod("f", 0644);
}

static void chowns(void)
{
	printf("== chown\n");
	show("chown 1000:2000", chown("f", 1000, 2000));
	owner("after", "f");
	show("chown -1:-1", chown("f", -1, -1));
	owner("after", "f");
	show("chown -1:3000", chown("f", -1, 3000));
	owner("after", "f");
	show("chown through a symlink", chown("sl", 4000, 4000));
	owner("target", "f");
	owner("link", "sl");
	show("lchown on a symlink", lchown("sl", 5000, 5000));
	owner("link after lchown", "sl");
	owner("target after lchown", "f");
	int fd = open("f", O_RDONLY);
	show("fchown", fchown(fd, 0, 0));
	show("fchownat AT_EMPTY_PATH", fchownat(fd, "", 6000, 6000, AT_EMPTY_PATH));
	owner("after", "f");
	close(fd);
	show("fchownat AT_SYMLINK_NOFOLLOW", fchownat(AT_FDCWD, "sl", 7, 7, AT_SYMLINK_NOFOLLOW));
	owner("link", "sl");
	expect_err("fchownat bad flags", fchownat(AT_FDCWD, "f", 0, 0, 0x1));
	chown("f", 0, 0);

	/* Privilege bits and chown */
	chmod("f", 06755);
	mode("before chown", "f");
	chown("f", 1000, 1000);
	mode("setuid+setgid group-exec file after chown", "f");
	chmod("f", 06744);
	chown("f", 0, 0);
	mode("setuid+setgid no-group-exec file after chown", "f");
	chmod("f", 04755);
	chown("f", -1, -1);
	mode("setuid file after chown -1:-1", "f");
	chmod("f", 04755);
	fd = open("f", O_WRONLY);
	if (write(fd, "y", 1) != 1)
		die("write");
	close(fd);
	mode("setuid file after a write by root", "f");
	chmod("d", 02755);
	chown("d", 1000, 1000);
	mode("setgid dir after chown", "d");
	chmod("f", 0644);
	chown("f", 0, 0);

	/* ctime advances on chown */
	set_old_times("f");
	struct stat a = lst("f");
	pause_ms(20);
	chown("f", 1, 1);
	struct stat b = lst("f");
	yesno("chown advances ctime", ts_cmp(b.st_ctim, a.st_ctim) > 0);
	yesno("chown leaves mtime", ts_cmp(b.st_mtim, a.st_mtim) == 0);
	chown("f", 0, 0);
}

static void setgid_dirs(void)
{
	printf("== setgid directories\n");
	mkdir("sg", 0755);
	chown("sg", 0, 1234);
	chmod("sg", 02775);
	close(open("sg/file", O_WRONLY | O_CREAT, 02755));
	owner("file in a setgid dir", "sg/file");
	mode("its mode (setgid kept as root, group matches)", "sg/file");
	mkdir("sg/sub", 0755);
	owner("subdir of a setgid dir", "sg/sub");
	mode("its mode", "sg/sub");
	mkdir("sg/sub/deeper", 0700);
	owner("its own subdir", "sg/sub/deeper");
	mode("mode", "sg/sub/deeper");
	symlink("x", "sg/link");
	owner("symlink in a setgid dir", "sg/link");
	chmod("sg", 0775);
	close(open("sg/file2", O_WRONLY | O_CREAT, 0644));
	owner("file after setgid is cleared", "sg/file2");
}

static void times(void)
{
	printf("== utimensat and futimens\n");
	struct timespec ts[2] = {{1234567890, 123456789}, {987654321, 987654321}};
	show("utimensat explicit", utimensat(AT_FDCWD, "f", ts, 0));
	print_times("read back", "f");
	struct stat st = lst("f");
	yesno("ctime is now", near_now(st.st_ctim));
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 5;
	ts[1].tv_nsec = 0;
	show("UTIME_OMIT atime", utimensat(AT_FDCWD, "f", ts, 0));
	print_times("read back", "f");
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_OMIT;
	show("UTIME_NOW atime", utimensat(AT_FDCWD, "f", ts, 0));
	st = lst("f");
	yesno("atime is now", near_now(st.st_atim));
	printf("mtime: %lld.%09ld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	set_old_times("f");
	struct stat before = lst("f");
	pause_ms(20);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_OMIT;
	show("both UTIME_OMIT", utimensat(AT_FDCWD, "f", ts, 0));
	st = lst("f");
	yesno("both UTIME_OMIT leaves ctime", ts_cmp(st.st_ctim, before.st_ctim) == 0);
	show("utimensat NULL", utimensat(AT_FDCWD, "f", NULL, 0));
	st = lst("f");
	yesno("atime and mtime are now", near_now(st.st_atim) && near_now(st.st_mtim));
	yesno("atime == mtime", ts_cmp(st.st_atim, st.st_mtim) == 0);
	ts[0] = (struct timespec){1, 1000000000};
	ts[1] = (struct timespec){1, 0};
	expect_err("tv_nsec 1e9", utimensat(AT_FDCWD, "f", ts, 0));
	ts[0] = (struct timespec){1, -1};
	expect_err("tv_nsec -1", utimensat(AT_FDCWD, "f", ts, 0));
	ts[0] = (struct timespec){-1, 5};
	ts[1] = (struct timespec){-100000, 0};
	show("negative seconds", utimensat(AT_FDCWD, "f", ts, 0));
	print_times("read back", "f");
	expect_err("utimensat bad flags", utimensat(AT_FDCWD, "f", NULL, 0x1));
	expect_err("utimensat missing", utimensat(AT_FDCWD, "missing", NULL, 0));

	/* The link's own times */
	ts[0] = (struct timespec){111, 1};
	ts[1] = (struct timespec){222, 2};
	utimensat(AT_FDCWD, "f", ts, 0);
	ts[0] = (struct timespec){333, 3};
	ts[1] = (struct timespec){444, 4};
	show("utimensat AT_SYMLINK_NOFOLLOW on a symlink", utimensat(AT_FDCWD, "sl", ts, AT_SYMLINK_NOFOLLOW));
	print_times("link", "sl");
	print_times("target", "f");
	ts[0] = (struct timespec){555, 5};
	ts[1] = (struct timespec){666, 6};
	show("utimensat through a symlink", utimensat(AT_FDCWD, "sl", ts, 0));
	st = lst("sl");
	printf("link mtime: %lld.%09ld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	yesno("following the link updated its atime (older than its mtime)", near_now(st.st_atim));
	print_times("target", "f");

	int fd = open("f", O_RDONLY);
	ts[0] = (struct timespec){777, 7};
	ts[1] = (struct timespec){888, 8};
	show("futimens on a read-only fd", futimens(fd, ts));
	print_times("read back", "f");
	show("utimensat(fd, NULL)", syscall(SYS_utimensat, fd, NULL, NULL, 0));
	st = lst("f");
	yesno("now", near_now(st.st_mtim));
	close(fd);
	fd = open("f", O_PATH);
	ts[1] = (struct timespec){999, 9};
	show("utimensat AT_EMPTY_PATH on an O_PATH fd", utimensat(fd, "", ts, AT_EMPTY_PATH));
	print_times("read back", "f");
	close(fd);
	struct utimbuf ub = {100, 200};
	show("utime", utime("f", &ub));
	print_times("read back", "f");
	struct timeval tv[2] = {{300, 5}, {400, 6}};
	show("utimes (microseconds)", utimes("f", tv));
	print_times("read back", "f");
	show("futimesat", syscall(SYS_futimesat, AT_FDCWD, "f", tv));
	/* utimensat on a dir */
	ts[0] = (struct timespec){10, 0};
	ts[1] = (struct timespec){20, 0};
	show("utimensat on a dir", utimensat(AT_FDCWD, "d", ts, 0));
	print_times("read back", "d");
}

static void truncation(void)
{
	printf("== truncate\n");
	mkfile("t", "0123456789");
	show("truncate to 4", truncate("t", 4));
	struct stat st = lst("t");
	printf("size: %lld\n", (long long)st.st_size);
	show("truncate to 8", truncate("t", 8));
	st = lst("t");
	printf("size: %lld\n", (long long)st.st_size);
	char buf[32];
	int fd = open("t", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf));
	printf("read %zd:", n);
	for (ssize_t i = 0; i < n; i++)
		printf(" %02x", (unsigned char)buf[i]);
	printf("\n");
	expect_err("ftruncate on an O_RDONLY fd", ftruncate(fd, 0));
	close(fd);
	fd = open("t", O_WRONLY | O_APPEND);
	show("ftruncate on an O_APPEND fd", ftruncate(fd, 2));
	expect_err("ftruncate negative", ftruncate(fd, -1));
	close(fd);
	expect_err("truncate negative", truncate("t", -1));
	expect_err("truncate a dir", truncate("d", 0));
	expect_err("truncate missing", truncate("missing", 0));
	expect_err("truncate file/", truncate("t/", 0));
	show("truncate through a symlink", (symlink("t", "tl"), truncate("tl", 1)));
	st = lst("t");
	printf("target size: %lld\n", (long long)st.st_size);
	fd = open("d", O_RDONLY);
	expect_err("ftruncate on a dir fd", ftruncate(fd, 0));
	close(fd);
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	expect_err("ftruncate on a pipe", ftruncate(p[1], 0));
	close(p[0]);
	close(p[1]);
	show("truncate to 1 TiB", truncate("t", 1LL << 40));
	st = lst("t");
	printf("size: %lld, blocks small: %s\n", (long long)st.st_size, st.st_blocks < 64 ? "yes" : "no");
	fd = open("t", O_RDONLY);
	n = pread(fd, buf, 4, (1LL << 40) - 2);
	printf("pread at the end of it: %zd\n", n);
	close(fd);
	show("truncate back to 0", truncate("t", 0));

	/* Shrink then grow: the old data is gone. */
	mkfile("t2", "ABCDEFGH");
	truncate("t2", 2);
	truncate("t2", 6);
	fd = open("t2", O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	printf("after shrink to 2 and grow to 6:");
	for (ssize_t i = 0; i < n; i++)
		printf(" %02x", (unsigned char)buf[i]);
	printf("\n");
	close(fd);

	/* Which truncations update mtime/ctime */
	set_old_times("t2");
	struct stat a = lst("t2");
	truncate("t2", 6);
	st = lst("t2");
	yesno("truncate to the same size changes mtime", ts_cmp(st.st_mtim, a.st_mtim) != 0);
	yesno("truncate to the same size changes ctime", ts_cmp(st.st_ctim, a.st_ctim) != 0);
	set_old_times("t2");
	a = lst("t2");
	fd = open("t2", O_WRONLY);
	ftruncate(fd, 6);
	st = lst("t2");
	yesno("ftruncate to the same size changes mtime", ts_cmp(st.st_mtim, a.st_mtim) != 0);
	set_old_times("t2");
	ftruncate(fd, 3);
	st = lst("t2");
	yesno("ftruncate shrinking changes mtime", ts_cmp(st.st_mtim, a.st_mtim) != 0 && near_now(st.st_mtim));
	set_old_times("t2");
	truncate("t2", 5);
	st = lst("t2");
	yesno("truncate growing changes mtime", ts_cmp(st.st_mtim, a.st_mtim) != 0 && near_now(st.st_mtim));
	close(fd);
	fd = open("t2", O_WRONLY | O_TRUNC);
	close(fd);
	set_old_times("t2");
	a = lst("t2");
	fd = open("t2", O_WRONLY | O_TRUNC);
	close(fd);
	st = lst("t2");
	yesno("O_TRUNC of an empty file changes mtime", ts_cmp(st.st_mtim, a.st_mtim) != 0);
	mkfile("t2", "abc");
	set_old_times("t2");
	a = lst("t2");
	fd = open("t2", O_WRONLY | O_TRUNC);
	close(fd);
	st = lst("t2");
	yesno("O_TRUNC of a non-empty file changes mtime", ts_cmp(st.st_mtim, a.st_mtim) != 0);
}

static void io_times(void)
{
	printf("== timestamps of I/O\n");
	mkfile("w", "data");
	set_old_times("w");
	struct stat a = lst("w");
	int fd = open("w", O_RDWR);
	if (write(fd, "", 0) != 0)
		die("write 0");
	struct stat st = lst("w");
	yesno("a zero-length write changes mtime", ts_cmp(st.st_mtim, a.st_mtim) != 0);
	if (write(fd, "DA", 2) != 2)
		die("write");
	st = lst("w");
	yesno("write sets mtime to now", near_now(st.st_mtim));
	yesno("write sets ctime to now", near_now(st.st_ctim));
	yesno("write leaves atime", ts_cmp(st.st_atim, a.st_atim) == 0);
	set_old_times("w");
	char buf[8];
	lseek(fd, 0, SEEK_SET);
	if (read(fd, buf, sizeof(buf)) < 0)
		die("read");
	st = lst("w");
	yesno("read updates an atime from 2001", near_now(st.st_atim));
	yesno("read leaves mtime", st.st_mtim.tv_sec == 1000000000);
	set_old_times("w");
	lseek(fd, 0, SEEK_END);
	if (read(fd, buf, sizeof(buf)) != 0)
		die("read at EOF");
	st = lst("w");
	yesno("a read at EOF updates atime", near_now(st.st_atim));
	close(fd);
	fd = open("w", O_RDONLY | O_NOATIME);
	show("O_NOATIME as the owner", fd);
	set_old_times("w");
	if (read(fd, buf, sizeof(buf)) < 0)
		die("read noatime");
	st = lst("w");
	yesno("read through O_NOATIME leaves atime", st.st_atim.tv_sec == 1000000000);
	close(fd);

	/* Directory times */
	mkdir("dt", 0755);
	set_old_times("dt");
	mkfile("dt/new", "");
	st = lst("dt");
	yesno("creating an entry changes the dir mtime", near_now(st.st_mtim));
	yesno("and its ctime", near_now(st.st_ctim));
	set_old_times("dt");
	mkfile("dt/new", "overwrite");
	st = lst("dt");
	yesno("rewriting an entry's file leaves the dir mtime", st.st_mtim.tv_sec == 1000000000);
	rename("dt/new", "dt/new2");
	st = lst("dt");
	yesno("rename within the dir changes its mtime", near_now(st.st_mtim));
	set_old_times("dt");
	set_old_times("dt/new2");
	pause_ms(20);
	a = lst("dt/new2");
	rename("dt/new2", "dt/new3");
	st = lst("dt/new3");
	yesno("rename changes the renamed file's ctime", ts_cmp(st.st_ctim, a.st_ctim) > 0);
	yesno("rename leaves the renamed file's mtime", st.st_mtim.tv_sec == 1000000000);
	a = lst("dt/new3");
	pause_ms(20);
	link("dt/new3", "dt/hard");
	st = lst("dt/new3");
	yesno("link changes the file's ctime", ts_cmp(st.st_ctim, a.st_ctim) > 0);
	a = st;
	pause_ms(20);
	unlink("dt/hard");
	st = lst("dt/new3");
	yesno("unlink of another link changes the file's ctime", ts_cmp(st.st_ctim, a.st_ctim) > 0);
	set_old_times("dt");
	unlink("dt/new3");
	st = lst("dt");
	yesno("unlink changes the dir mtime", near_now(st.st_mtim));
	set_old_times("dt");
	DIR *dir = opendir("dt");
	while (readdir(dir))
		;
	closedir(dir);
	st = lst("dt");
	yesno("listing a dir updates its atime", near_now(st.st_atim));
}

static void accesses(void)
{
	printf("== access as root\n");
	mkfile("a000", "");
	chmod("a000", 0);
	mkfile("a644", "");
	mkfile("a010", "");
	chmod("a010", 0010);
	mkdir("d000", 0);
	show("F_OK", access("a000", F_OK));
	show("R_OK on 0000", access("a000", R_OK));
	show("W_OK on 0000", access("a000", W_OK));
	expect_err("X_OK on 0000", access("a000", X_OK));
	expect_err("X_OK on 0644", access("a644", X_OK));
	show("X_OK on 0010", access("a010", X_OK));
	show("X_OK on a 0000 dir", access("d000", X_OK));
	show("R_OK|W_OK|X_OK on a 0000 dir", access("d000", R_OK | W_OK | X_OK));
	expect_err("F_OK missing", access("missing", F_OK));
	expect_err("bad mode", access("a644", 0x10));
	expect_err("F_OK file/", access("a644/", F_OK));
	symlink("missing", "dl");
	expect_err("faccessat on a dangling link", faccessat(AT_FDCWD, "dl", F_OK, 0));
	show("faccessat2 AT_SYMLINK_NOFOLLOW on a dangling link",
	     syscall(SYS_faccessat2, AT_FDCWD, "dl", F_OK, AT_SYMLINK_NOFOLLOW));
	show("faccessat2 AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, "a000", R_OK, AT_EACCESS));
	expect_err("faccessat2 bad flags", syscall(SYS_faccessat2, AT_FDCWD, "a000", R_OK, 0x1));
	int fd = open("a644", O_RDONLY);
	show("faccessat2 AT_EMPTY_PATH", syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH));
	close(fd);
	show("root opens a 0000 file read-write", fd = open("a000", O_RDWR));
	close(fd);
	show("root lists a 0000 dir", fd = open("d000", O_RDONLY | O_DIRECTORY));
	close(fd);
	show("root creates in a 0000 dir", fd = open("d000/x", O_WRONLY | O_CREAT, 0644));
	close(fd);
	char *argv[] = {"a644", NULL};
	expect_err("root executes a 0644 file", execve("a644", argv, argv + 1));
	expect_err("root executes a 0000 file", execve("a000", argv, argv + 1));
	expect_err("root executes a dir", execve("d000", argv, argv + 1));
	/* (No exec of a 0755 file: the sandbox's /dev/shm is noexec, as
	 * in a container, and the native one is not.) */
}

int main(void)
{
	scratch_setup();
	creation();
	chmods();
	chowns();
	setgid_dirs();
	times();
	truncation();
	io_times();
	accesses();
	scratch_cleanup();
	return 0;
}
