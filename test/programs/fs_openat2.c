/*
 * fs_openat2: openat2(2) and statx(2) on a tmpfs scratch directory
 * (/dev/shm): struct open_how validation, RESOLVE_BENEATH,
 * RESOLVE_IN_ROOT, RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV; statx's mask,
 * flags and fields against stat, and its argument errors; statfs.
 */
#include "common.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
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

static long oa2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
	return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* try opens path with openat2 and prints the file's content or kind. */
static void try(const char *label, int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	long fd = oa2(dirfd, path, flags, 0, resolve);
	if (fd < 0) {
		printf("%s: errno %s\n", label, errname(errno));
		return;
	}
	struct stat st;
	fstat(fd, &st);
	if (S_ISREG(st.st_mode) && !(flags & O_PATH)) {
		char buf[64];
		ssize_t n = read(fd, buf, sizeof(buf));
		printf("%s: \"%.*s\"\n", label, n < 0 ? 0 : (int)n, buf);
	} else {
		printf("%s: %s\n", label, S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "symlink" : "other");
	}
	close(fd);
}

static void openat2_checks(void)
{
	printf("== open_how\n");
	mkfile("f", "top file");
	mkdir("root", 0755);
	mkfile("root/f", "file in root");
	mkdir("root/sub", 0755);
	mkfile("root/sub/g", "g in sub");
	symlink("/f", "root/abs");
	symlink("../f", "root/up");
	symlink("sub/g", "root/rel");
	symlink("../../../../../../f", "root/sub/far");
	int root = open("root", O_RDONLY | O_DIRECTORY);

	try("plain openat2", root, "f", O_RDONLY, 0);
	struct open_how how = {.flags = O_RDONLY};
	expect_err("size smaller than open_how v0", syscall(SYS_openat2, root, "f", &how, 16));
	struct {
		struct open_how how;
		uint64_t extra;
	} big = {{.flags = O_RDONLY}, 0};
	long fd = syscall(SYS_openat2, root, "f", &big, sizeof(big));
	show("a larger zero-padded struct", fd);
	if (fd >= 0)
		close(fd);
	big.extra = 1;
	expect_err("a larger struct with a non-zero tail", syscall(SYS_openat2, root, "f", &big, sizeof(big)));
	expect_err("unknown open flag bit", oa2(root, "f", O_RDONLY | (1ULL << 40), 0, 0));
	expect_err("unknown resolve bit", oa2(root, "f", O_RDONLY, 0, 1ULL << 40));
	expect_err("mode without O_CREAT", oa2(root, "f", O_RDONLY, 0644, 0));
	expect_err("mode with bits beyond 07777", oa2(root, "new", O_WRONLY | O_CREAT, 010000, 0));
	expect_err("RESOLVE_BENEATH|RESOLVE_IN_ROOT", oa2(root, "f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
	fd = oa2(root, "created", O_WRONLY | O_CREAT | O_EXCL, 0640, RESOLVE_BENEATH);
	show("O_CREAT under RESOLVE_BENEATH", fd);
	struct stat st;
	fstat(fd, &st);
	printf("its mode: %04o\n", st.st_mode & 07777);
	close(fd);
	expect_err("O_CREAT of ../escape under RESOLVE_BENEATH",
		   oa2(root, "../escape", O_WRONLY | O_CREAT, 0644, RESOLVE_BENEATH));
	yesno("nothing escaped", access("escape", F_OK) < 0);

	printf("== RESOLVE_BENEATH\n");
	try("f", root, "f", O_RDONLY, RESOLVE_BENEATH);
	try("sub/../f", root, "sub/../f", O_RDONLY, RESOLVE_BENEATH);
	try("../f", root, "../f", O_RDONLY, RESOLVE_BENEATH);
	try("sub/../../f", root, "sub/../../f", O_RDONLY, RESOLVE_BENEATH);
	try("an absolute path", root, scratch, O_RDONLY, RESOLVE_BENEATH);
	try("a symlink to /f", root, "abs", O_RDONLY, RESOLVE_BENEATH);
	try("a symlink to ../f", root, "up", O_RDONLY, RESOLVE_BENEATH);
	try("a symlink to sub/g", root, "rel", O_RDONLY, RESOLVE_BENEATH);
	try(".", root, ".", O_RDONLY, RESOLVE_BENEATH);
	try("..", root, "..", O_RDONLY, RESOLVE_BENEATH);
	try("with AT_FDCWD", AT_FDCWD, "root/f", O_RDONLY, RESOLVE_BENEATH);
	try("with AT_FDCWD and ..", AT_FDCWD, "root/../f", O_RDONLY, RESOLVE_BENEATH);

	printf("== RESOLVE_IN_ROOT\n");
	try("/f", root, "/f", O_RDONLY, RESOLVE_IN_ROOT);
	try("../f (clamped)", root, "../f", O_RDONLY, RESOLVE_IN_ROOT);
	try("../../../sub/g (clamped)", root, "../../../sub/g", O_RDONLY, RESOLVE_IN_ROOT);
	try("a symlink to /f", root, "abs", O_RDONLY, RESOLVE_IN_ROOT);
	try("a symlink to ../f", root, "up", O_RDONLY, RESOLVE_IN_ROOT);
	try("a symlink climbing far", root, "sub/far", O_RDONLY, RESOLVE_IN_ROOT);
	try("/", root, "/", O_RDONLY, RESOLVE_IN_ROOT);

	printf("== RESOLVE_NO_SYMLINKS\n");
	symlink("sub", "root/sublink");
	try("a plain path", root, "sub/g", O_RDONLY, RESOLVE_NO_SYMLINKS);
	try("a trailing symlink", root, "rel", O_RDONLY, RESOLVE_NO_SYMLINKS);
	try("a symlink in the middle", root, "sublink/g", O_RDONLY, RESOLVE_NO_SYMLINKS);
	try("a trailing symlink with O_PATH|O_NOFOLLOW", root, "rel", O_PATH | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
	try("a trailing symlink with O_NOFOLLOW", root, "rel", O_RDONLY | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
	try("O_CREAT through a dangling symlink", root, "dangling",
	    (symlink("nothere", "root/dangling"), O_WRONLY | O_CREAT), RESOLVE_NO_SYMLINKS);

	printf("== RESOLVE_NO_XDEV\n");
	try("within the mount", root, "sub/g", O_RDONLY, RESOLVE_NO_XDEV);
	try("up to the mount's root", AT_FDCWD, "..", O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);
	try("up out of the mount", AT_FDCWD, "../..", O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);
	try("/dev/shm from /", AT_FDCWD, "/dev/shm", O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);
	int top = open("/", O_RDONLY | O_DIRECTORY);
	try("dev/shm relative to /", top, "dev/shm", O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);
	close(top);
	close(root);
}

static void statx_checks(void)
{
	printf("== statx\n");
	mkfile("sx", "twelve bytes");
	struct statx sx;
	struct stat st;
	stat("sx", &st);
	memset(&sx, 0xff, sizeof(sx));
	long r = syscall(SYS_statx, AT_FDCWD, "sx", 0, STATX_BASIC_STATS | STATX_BTIME, &sx);
	show("statx", r);
	yesno("basic stats in the mask", (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
	printf("size %llu nlink %u mode %06o uid %u gid %u\n", (unsigned long long)sx.stx_size, sx.stx_nlink,
	       sx.stx_mode, sx.stx_uid, sx.stx_gid);
	yesno("ino, blocks, blksize match stat",
	      sx.stx_ino == st.st_ino && sx.stx_blocks == (uint64_t)st.st_blocks &&
		      sx.stx_blksize == (uint32_t)st.st_blksize);
	yesno("mtime matches stat",
	      sx.stx_mtime.tv_sec == st.st_mtim.tv_sec && sx.stx_mtime.tv_nsec == (uint32_t)st.st_mtim.tv_nsec);
	yesno("ctime matches stat",
	      sx.stx_ctime.tv_sec == st.st_ctim.tv_sec && sx.stx_ctime.tv_nsec == (uint32_t)st.st_ctim.tv_nsec);
	yesno("device numbers match stat",
	      makedev(sx.stx_dev_major, sx.stx_dev_minor) == st.st_dev);
	int hasbtime = (sx.stx_mask & STATX_BTIME) != 0;
	printf("STATX_BTIME in the mask: %s\n", hasbtime ? "yes" : "no");
	if (hasbtime) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		yesno("btime is recent", sx.stx_btime.tv_sec <= now.tv_sec && sx.stx_btime.tv_sec >= now.tv_sec - 10);
		yesno("btime <= mtime", sx.stx_btime.tv_sec < sx.stx_mtime.tv_sec ||
					       (sx.stx_btime.tv_sec == sx.stx_mtime.tv_sec &&
						sx.stx_btime.tv_nsec <= sx.stx_mtime.tv_nsec));
	}
	yesno("reserved fields zeroed", sx.__spare0[0] == 0);

	memset(&sx, 0, sizeof(sx));
	syscall(SYS_statx, AT_FDCWD, "sx", 0, STATX_SIZE, &sx);
	yesno("asking for STATX_SIZE only still fills size", sx.stx_size == 12);
	symlink("sx", "sxl");
	syscall(SYS_statx, AT_FDCWD, "sxl", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
	printf("AT_SYMLINK_NOFOLLOW: %s size %llu\n", S_ISLNK(sx.stx_mode) ? "symlink" : "not a symlink",
	       (unsigned long long)sx.stx_size);
	syscall(SYS_statx, AT_FDCWD, "sxl", 0, STATX_BASIC_STATS, &sx);
	printf("following: %s size %llu\n", S_ISREG(sx.stx_mode) ? "file" : "not a file",
	       (unsigned long long)sx.stx_size);
	int fd = open("sx", O_RDONLY);
	show("AT_EMPTY_PATH", syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
	r = syscall(SYS_statx, fd, NULL, AT_EMPTY_PATH, STATX_BASIC_STATS, &sx);
	printf("AT_EMPTY_PATH with a NULL path: %s\n", r < 0 ? errname(errno) : "ok");
	expect_err("empty path without AT_EMPTY_PATH", syscall(SYS_statx, fd, "", 0, STATX_BASIC_STATS, &sx));
	close(fd);
	show("AT_STATX_FORCE_SYNC", syscall(SYS_statx, AT_FDCWD, "sx", AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &sx));
	show("AT_STATX_DONT_SYNC", syscall(SYS_statx, AT_FDCWD, "sx", AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx));
	expect_err("both sync flags", syscall(SYS_statx, AT_FDCWD, "sx", AT_STATX_SYNC_TYPE, STATX_BASIC_STATS, &sx));
	expect_err("STATX__RESERVED", syscall(SYS_statx, AT_FDCWD, "sx", 0, STATX__RESERVED, &sx));
	expect_err("unknown flag", syscall(SYS_statx, AT_FDCWD, "sx", 0x1, STATX_BASIC_STATS, &sx));
	expect_err("missing", syscall(SYS_statx, AT_FDCWD, "missing", 0, STATX_BASIC_STATS, &sx));
	expect_err("a bad buffer", syscall(SYS_statx, AT_FDCWD, "sx", 0, STATX_BASIC_STATS, (void *)8));
	mkdir("sxd", 0755);
	syscall(SYS_statx, AT_FDCWD, "sxd", 0, STATX_BASIC_STATS, &sx);
	printf("a dir: %s nlink %u\n", S_ISDIR(sx.stx_mode) ? "dir" : "not a dir", sx.stx_nlink);
	mkfifo("sxf", 0600);
	syscall(SYS_statx, AT_FDCWD, "sxf", 0, STATX_BASIC_STATS, &sx);
	printf("a FIFO: %s size %llu\n", S_ISFIFO(sx.stx_mode) ? "fifo" : "not a fifo", (unsigned long long)sx.stx_size);
}

static void statfs_checks(void)
{
	printf("== statfs of /dev/shm\n");
	struct statfs a, b;
	show("statfs", statfs(".", &a));
	printf("f_type is TMPFS_MAGIC: %s\n", a.f_type == TMPFS_MAGIC ? "yes" : "no");
	printf("f_bsize %ld f_namelen %ld f_frsize %ld\n", (long)a.f_bsize, (long)a.f_namelen, (long)a.f_frsize);
	/* The sandbox mounts /dev/shm nosuid,nodev,noexec as containers do. */
	long fl = a.f_flags & ~(ST_NOSUID | ST_NODEV | ST_NOEXEC);
	printf("f_flags without nosuid/nodev/noexec: %#lx (ST_VALID %s, ST_RDONLY %s)\n", fl,
	       fl & 0x0020 ? "set" : "clear", fl & ST_RDONLY ? "set" : "clear");
	int fd = open(".", O_RDONLY | O_DIRECTORY);
	show("fstatfs", fstatfs(fd, &b));
	yesno("fstatfs agrees on the type and fsid",
	      a.f_type == b.f_type && memcmp(&a.f_fsid, &b.f_fsid, sizeof(a.f_fsid)) == 0);
	close(fd);
	yesno("free blocks <= total", a.f_bfree <= a.f_blocks && a.f_bavail <= a.f_bfree);
	expect_err("statfs missing", statfs("missing", &a));
	expect_err("statfs a bad buffer", syscall(SYS_statfs, ".", (void *)8));
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
	openat2_checks();
	statx_checks();
	statfs_checks();
	if (chdir("/") < 0)
		die("chdir /");
	rm_rf(AT_FDCWD, scratch);
	struct stat st;
	if (lstat(scratch, &st) == 0)
		printf("scratch directory left behind\n");
	return 0;
}
