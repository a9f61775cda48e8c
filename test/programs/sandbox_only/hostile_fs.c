/*
 * hostile_fs: feeds the sandbox's file systems hostile input and prints
 * what each call answers: paths of 100 KiB and of 4096 bytes, a name of
 * 256 bytes, symbolic link loops and chains one link too long, a tree
 * 1,000 directories deep, a small tmpfs filled to its size and its
 * nr_inodes, a 1 TiB sparse file, creation modes with every bit set,
 * 10,000 files in one directory, xattr values of the maximum size and
 * above, and a process at its descriptor limit. Every call must get a
 * clear answer (Linux's) and the program must reach its last line,
 * "survived: yes". The Go test (hostilefs_test.go) checks the lines and
 * that the host's mount table and /tmp are unchanged.
 *
 * DANGER: natively, as root, this program mounts a tmpfs on the host and
 * fills it. So before anything else it checks that it runs inside the
 * sandbox -- PID 1, parent 0, host name "magawa", and the token the test
 * passes both in the environment and as argv[1] -- and exits 99 if not.
 *
 * Every name it makes starts with "magawa-hfs-", so that the test can
 * tell that none reached the host's /tmp.
 *
 * Usage (by the test only): hostile_fs TOKEN
 */
#include "../common.h"
#include "report.h"
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define NOT_IN_SANDBOX 99

#define KiB (1024L)
#define MiB (1024L * KiB)
#define TiB (1024L * 1024L * MiB)

/* meminfo returns a /proc/meminfo value in kB, or -1. */
static long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char l[256];
	long v = -1;
	size_t n = strlen(key);
	while (f && fgets(l, sizeof l, f)) {
		if (strncmp(l, key, n) == 0 && l[n] == ':') {
			v = atol(l + n + 1);
			break;
		}
	}
	if (f)
		fclose(f);
	return v;
}

static int all_zero(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* ---- long paths and names ---- */

static void long_paths(void)
{
	const size_t huge_len = 100 * KiB;
	char *huge = malloc(huge_len + 1);
	strcpy(huge, "/tmp/");
	for (size_t i = 5; i < huge_len; i++)
		huge[i] = (i % 2) ? 'a' : '/';
	huge[huge_len] = 0;
	TRY("100KiB path open", open(huge, O_RDONLY));
	TRY("100KiB path open O_CREAT", open(huge, O_WRONLY | O_CREAT, 0644));
	struct stat st;
	TRY("100KiB path stat", stat(huge, &st));
	TRY("100KiB path lstat", lstat(huge, &st));
	TRY("100KiB path mkdir", mkdir(huge, 0755));
	TRY("100KiB path chdir", chdir(huge));
	TRY("100KiB path access", access(huge, F_OK));
	TRY("100KiB path unlink", unlink(huge));
	TRY("100KiB path rename", rename(huge, "/tmp/magawa-hfs-renamed"));
	TRY("100KiB path symlink target", symlink(huge, "/tmp/magawa-hfs-symlink"));
	char rl[64];
	TRY("100KiB path readlink", readlink(huge, rl, sizeof rl));
	TRY("100KiB path truncate", truncate(huge, 0));
	TRY("100KiB path mount target", mount("tmpfs", huge, "tmpfs", 0, ""));
	char *argv[] = {huge, NULL};
	TRY("100KiB path execve", execve(huge, argv, argv + 1));
	free(huge);

	/* PATH_MAX counts the terminating NUL: 4095 bytes is the longest. */
	char p[4097];
	memset(p, '/', sizeof p);
	strcpy(p + 4092, "tmp"); /* 4095 bytes */
	line("4095-byte path length: %zu", strlen(p));
	TRY("4095-byte path stat", stat(p, &st));
	int fd = TRY("4095-byte path open O_DIRECTORY", open(p, O_RDONLY | O_DIRECTORY));
	if (fd >= 0)
		close(fd);
	memset(p, '/', sizeof p);
	strcpy(p + 4093, "tmp"); /* 4096 bytes */
	line("4096-byte path length: %zu", strlen(p));
	TRY("4096-byte path stat", stat(p, &st));
	TRY("4096-byte path open", open(p, O_RDONLY));
	TRY("4096-byte path mkdir", mkdir(p, 0755));
	TRY("4096-byte path chdir", chdir(p));
	/* 4095 bytes of real, long components: resolved, just missing. */
	size_t n = strlen(strcpy(p, "/tmp"));
	while (n < 4095) {
		p[n++] = '/';
		for (int i = 0; i < 200 && n < 4095; i++)
			p[n++] = 'y';
	}
	p[n] = 0;
	if (p[n - 1] == '/')
		p[n - 1] = 'y';
	TRY("4095-byte path of long names stat", stat(p, &st));

	char name[300];
	strcpy(name, "/tmp/magawa-hfs-");
	size_t pre = strlen(name);
	/* A name of 255 bytes works, one of 256 does not. */
	memset(name + pre, 'n', 255 - (pre - 5));
	name[5 + 255] = 0;
	fd = TRY("255-byte name create", open(name, O_WRONLY | O_CREAT | O_EXCL, 0644));
	if (fd >= 0)
		close(fd);
	TRY("255-byte name stat", stat(name, &st));
	TRY("255-byte name unlink", unlink(name));
	memset(name + pre, 'n', 256 - (pre - 5));
	name[5 + 256] = 0;
	line("256-byte name length: %zu", strlen(name + 5));
	TRY("256-byte name create", open(name, O_WRONLY | O_CREAT | O_EXCL, 0644));
	TRY("256-byte name stat", stat(name, &st));
	TRY("256-byte name mkdir", mkdir(name, 0755));
	TRY("256-byte name symlink", symlink("target", name));
	TRY("256-byte name mknod", mknod(name, S_IFIFO | 0644, 0));
	int src = open("/tmp/magawa-hfs-rename", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (src >= 0)
		close(src);
	TRY("256-byte name rename to", rename("/tmp/magawa-hfs-rename", name));
	unlink("/tmp/magawa-hfs-rename");
	strcat(name, "/x");
	TRY("256-byte name inside a path stat", stat(name, &st));
	/* The same on the sandbox's tmpfs. */
	char shm[300] = "/dev/shm/";
	memset(shm + 9, 'n', 256);
	shm[9 + 256] = 0;
	TRY("256-byte name on tmpfs create", open(shm, O_WRONLY | O_CREAT | O_EXCL, 0644));
	TRY("256-byte name on tmpfs stat", stat(shm, &st));
}

/* ---- symbolic links ---- */

#define LINKS "/tmp/magawa-hfs-links"

static int open_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, size - 1);
	buf[r < 0 ? 0 : r] = 0;
	close(fd);
	return 0;
}

static void symlinks(void)
{
	char path[8192], target[64], buf[64];
	struct stat st;
	if (mkdir(LINKS, 0755) < 0 || chdir(LINKS) < 0)
		die("mkdir " LINKS);
	int fd = open("file", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, "end\n", 4) != 4)
		die("file");
	close(fd);

	if (symlink("loop_b", "loop_a") < 0 || symlink("loop_a", "loop_b") < 0 || symlink("self", "self") < 0)
		die("symlink");
	TRY("symlink loop open", open("loop_a", O_RDONLY));
	TRY("symlink loop stat", stat("loop_a", &st));
	TRY("symlink loop lstat", lstat("loop_a", &st));
	TRY("symlink loop chdir", chdir("loop_a"));
	TRY("symlink loop create", open("loop_a", O_WRONLY | O_CREAT, 0644));
	TRY("symlink loop as directory", stat("loop_a/x", &st));
	TRY("symlink to itself open", open("self", O_RDONLY));
	TRY("symlink O_NOFOLLOW open", open("loop_a", O_RDONLY | O_NOFOLLOW));
	TRY("symlink loop truncate", truncate("self", 0));

	/* chain_1 -> file, chain_N -> chain_{N-1}: opening chain_N follows
	 * N links, and Linux follows at most 40 in one lookup. */
	for (int i = 1; i <= 41; i++) {
		snprintf(path, sizeof path, "chain_%d", i);
		if (i == 1)
			strcpy(target, "file");
		else
			snprintf(target, sizeof target, "chain_%d", i - 1);
		if (symlink(target, path) < 0)
			die("symlink chain");
	}
	TRY("chain of 40 links open", open_read("chain_40", buf, sizeof buf));
	line("chain of 40 links content: %s", strcmp(buf, "end\n") == 0 ? "end" : "wrong");
	TRY("chain of 41 links open", open("chain_41", O_RDONLY));
	TRY("chain of 41 links stat", stat("chain_41", &st));
	TRY("chain of 41 links lstat", lstat("chain_41", &st));
	/* The same absolute. */
	TRY("chain of 41 links absolute open", open(LINKS "/chain_41", O_RDONLY));

	/* "up" -> ".": every "up/" in a path follows one link. */
	if (symlink(".", "up") < 0)
		die("symlink up");
	strcpy(path, "");
	for (int i = 0; i < 40; i++)
		strcat(path, "up/");
	strcat(path, "file");
	TRY("40 links in one path open", open_read(path, buf, sizeof buf));
	strcpy(path, "up/");
	for (int i = 0; i < 40; i++)
		strcat(path, "up/");
	strcat(path, "file");
	TRY("41 links in one path open", open(path, O_RDONLY));
	/* 39 in the path and two more at its end. */
	strcpy(path, "");
	for (int i = 0; i < 39; i++)
		strcat(path, "up/");
	strcat(path, "chain_2");
	TRY("39 links then a chain of 2 open", open(path, O_RDONLY));

	if (chdir("/") < 0)
		die("chdir /");
	for (int i = 1; i <= 41; i++) {
		snprintf(path, sizeof path, LINKS "/chain_%d", i);
		unlink(path);
	}
	unlink(LINKS "/loop_a");
	unlink(LINKS "/loop_b");
	unlink(LINKS "/self");
	unlink(LINKS "/up");
	unlink(LINKS "/file");
	TRY("links cleanup rmdir", rmdir(LINKS));
}

/* ---- a deep tree ---- */

#define DEEP "/tmp/magawa-hfs-deep"
#define DEPTH 1000

static void deep_tree(void)
{
	if (mkdir(DEEP, 0755) < 0 || chdir(DEEP) < 0)
		die("mkdir " DEEP);
	int level = 0;
	for (; level < DEPTH; level++) {
		if (mkdir("d", 0755) < 0 || chdir("d") < 0)
			break;
	}
	if (level == DEPTH)
		line("deep mkdir and chdir %d levels: ok", DEPTH);
	else
		line("deep mkdir and chdir %d levels: errno %s at level %d", DEPTH, errname(errno), level);
	size_t want = strlen(DEEP) + 2 * (size_t)level;
	char *big = malloc(16384);
	char *cwd = getcwd(big, 16384);
	if (cwd == NULL) {
		line("deep getcwd big buffer: errno %s", errname(errno));
	} else {
		line("deep getcwd big buffer: ok");
		int good = strlen(cwd) == want && strncmp(cwd, DEEP "/d/d/", strlen(DEEP) + 5) == 0 &&
			   strcmp(cwd + want - 4, "/d/d") == 0;
		line("deep getcwd length %zu: %s", want, good ? "matches" : "wrong");
	}
	char small[100];
	errno = 0;
	cwd = getcwd(small, sizeof small);
	if (cwd == NULL)
		line("deep getcwd small buffer: errno %s", errname(errno));
	else
		line("deep getcwd small buffer: unexpected success");
	/* The raw system call too, with a buffer one byte short. */
	errno = 0;
	long r = syscall(SYS_getcwd, big, want);
	line("deep getcwd syscall one byte short: %s", r < 0 ? errname(errno) : "unexpected success");
	r = syscall(SYS_getcwd, big, want + 1);
	line("deep getcwd syscall exact: %s", r == (long)want + 1 ? "ok" : "wrong");
	/* The bottom by its absolute path. */
	struct stat st;
	if (cwd == NULL && getcwd(big, 16384) != NULL)
		TRY("deep stat absolute", stat(big, &st));
	int fd = TRY("deep create at bottom", open("leaf", O_WRONLY | O_CREAT | O_EXCL, 0644));
	if (fd >= 0)
		close(fd);
	unlink("leaf");
	free(big);

	int up = 0;
	for (; up < level; up++) {
		if (chdir("..") < 0 || rmdir("d") < 0)
			break;
	}
	if (up == level)
		line("deep rmdir back up: ok");
	else
		line("deep rmdir back up: errno %s at %d", errname(errno), up);
	if (chdir("/") < 0)
		die("chdir /");
	TRY("deep cleanup rmdir", rmdir(DEEP));
}

/* ---- a small tmpfs, filled ---- */

#define SMALL "/tmp/magawa-hfs-small"

static void small_tmpfs(void)
{
	struct statfs sf;
	char path[256];
	if (mkdir(SMALL, 0755) < 0)
		die("mkdir " SMALL);
	if (TRY("small tmpfs mount", mount("tmpfs", SMALL, "tmpfs", 0, "size=1m,nr_inodes=100")) < 0)
		return;
	if (statfs(SMALL, &sf) == 0) {
		line("small tmpfs statfs size: %ld", (long)(sf.f_blocks * sf.f_bsize));
		line("small tmpfs statfs files: %ld", (long)sf.f_files);
	}

	/* Fill it. */
	static char chunk[64 * KiB];
	memset(chunk, 'x', sizeof chunk);
	int fd = open(SMALL "/fill", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		die("create fill");
	long total = 0;
	int writes = 0;
	ssize_t w;
	errno = 0;
	while ((w = write(fd, chunk, sizeof chunk)) > 0 && writes++ < 1000)
		total += w;
	if (w < 0)
		line("small tmpfs fill: errno %s", errname(errno));
	else
		line("small tmpfs fill: never failed after %ld bytes", total);
	line("small tmpfs fill total: %ld", total);
	line("small tmpfs fill within size: %s", total > 512 * KiB && total <= MiB ? "yes" : "no");
	TRY("small tmpfs write when full", write(fd, "y", 1));
	TRY("small tmpfs fallocate past size", fallocate(fd, 0, 0, 2 * MiB));
	if (statfs(SMALL, &sf) == 0)
		line("small tmpfs statfs free blocks when full: %ld", (long)sf.f_bfree);
	close(fd);
	TRY("small tmpfs unlink fill", unlink(SMALL "/fill"));
	fd = open(SMALL "/again", O_WRONLY | O_CREAT | O_EXCL, 0644);
	errno = 0;
	w = fd < 0 ? -1 : write(fd, chunk, sizeof chunk);
	line("small tmpfs write after delete: %s", w == (ssize_t)sizeof chunk ? "ok" : errname(errno));
	if (fd >= 0)
		close(fd);
	unlink(SMALL "/again");
	/* A sparse size past the limit is only a size. */
	fd = open(SMALL "/sparse", O_WRONLY | O_CREAT | O_EXCL, 0644);
	TRY("small tmpfs ftruncate past size", ftruncate(fd, 64 * MiB));
	close(fd);
	unlink(SMALL "/sparse");

	/* Run out of inodes. */
	int files = 0;
	errno = 0;
	for (; files < 200; files++) {
		snprintf(path, sizeof path, SMALL "/i%03d", files);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			break;
		close(fd);
	}
	if (files < 200)
		line("small tmpfs create past nr_inodes: errno %s", errname(errno));
	else
		line("small tmpfs create past nr_inodes: never failed");
	line("small tmpfs files created: %d", files);
	line("small tmpfs files within nr_inodes: %s", files >= 90 && files < 100 ? "yes" : "no");
	TRY("small tmpfs mkdir past nr_inodes", mkdir(SMALL "/dir", 0755));
	TRY("small tmpfs symlink past nr_inodes", symlink("x", SMALL "/link"));
	TRY("small tmpfs mknod past nr_inodes", mknod(SMALL "/fifo", S_IFIFO | 0644, 0));
	TRY("small tmpfs unlink one", unlink(SMALL "/i000"));
	fd = TRY("small tmpfs create after delete", open(SMALL "/i000", O_WRONLY | O_CREAT | O_EXCL, 0644));
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof path, SMALL "/i%03d", i);
		unlink(path);
	}
	TRY("small tmpfs mkdir after cleanup", mkdir(SMALL "/dir", 0755));
	rmdir(SMALL "/dir");
	TRY("small tmpfs umount", umount2(SMALL, 0));
	TRY("small tmpfs rmdir mount point", rmdir(SMALL));
}

/* ---- a huge sparse file ---- */

#define SPARSE "/tmp/magawa-hfs-sparse"

static void sparse(void)
{
	long free_before = meminfo("MemFree");
	int fd = open(SPARSE, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		die("create " SPARSE);
	TRY("sparse ftruncate 1TiB", ftruncate(fd, TiB));
	struct stat st;
	if (fstat(fd, &st) < 0)
		die("fstat");
	line("sparse size: %lld", (long long)st.st_size);
	line("sparse blocks small: %s", st.st_blocks * 512L < MiB ? "yes" : "no");
	static char buf[4096];
	memset(buf, 1, sizeof buf);
	ssize_t r = pread(fd, buf, sizeof buf, TiB - (long)sizeof buf);
	line("sparse read at end: %zd %s", r, r > 0 && all_zero(buf, r) ? "zeros" : "not zeros");
	memset(buf, 1, sizeof buf);
	r = pread(fd, buf, sizeof buf, TiB / 2 + 12345);
	line("sparse read in the middle: %zd %s", r, r > 0 && all_zero(buf, r) ? "zeros" : "not zeros");
	r = pread(fd, buf, sizeof buf, TiB);
	line("sparse read at EOF: %zd", r);
	r = pread(fd, buf, sizeof buf, TiB - 10);
	line("sparse read across EOF: %zd", r);
	TRY("sparse write last byte", pwrite(fd, "Z", 1, TiB - 1));
	buf[0] = 0;
	r = pread(fd, buf, 1, TiB - 1);
	line("sparse read last byte: %s", r == 1 && buf[0] == 'Z' ? "Z" : "wrong");
	if (fstat(fd, &st) == 0)
		line("sparse size after write: %lld", (long long)st.st_size);
	/* Map all of it and touch three pages far apart. */
	char *m = mmap(NULL, TiB, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		line("sparse mmap 1TiB: errno %s", errname(errno));
	} else {
		line("sparse mmap 1TiB: ok");
		int z = m[0] == 0 && m[TiB / 3] == 0 && m[TiB - 2] == 0;
		line("sparse mmap reads: %s %c", z ? "zeros" : "not zeros", m[TiB - 1]);
		munmap(m, TiB);
	}
	TRY("sparse ftruncate negative", ftruncate(fd, -1));
	long free_after = meminfo("MemFree");
	line("sparse memory not consumed: %s",
	     free_before > 0 && free_after > 0 && free_before - free_after < 16 * 1024 ? "yes" : "no");
	if (free_before - free_after >= 16 * 1024)
		line("sparse memory used kB: %ld", free_before - free_after);
	TRY("sparse ftruncate back to 0", ftruncate(fd, 0));
	close(fd);
	TRY("sparse unlink", unlink(SPARSE));
}

/* ---- absurd creation modes ---- */

#define MODE "/tmp/magawa-hfs-mode"

static void show_mode(const char *what, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		line("%s: errno %s", what, errname(errno));
		return;
	}
	const char *type = S_ISREG(st.st_mode) ? "regular" : S_ISDIR(st.st_mode) ? "directory" : "other";
	line("%s: %s %o", what, type, st.st_mode & 07777);
}

static void modes(void)
{
	umask(022);
	int fd = TRY("create with mode 0xffffffff", open(MODE "1", O_WRONLY | O_CREAT | O_EXCL, 0xffffffffu));
	if (fd >= 0)
		close(fd);
	show_mode("mode 0xffffffff gives", MODE "1");
	fd = TRY("create with mode S_IFDIR|0644", open(MODE "2", O_WRONLY | O_CREAT | O_EXCL, S_IFDIR | 0644));
	if (fd >= 0)
		close(fd);
	show_mode("mode S_IFDIR|0644 gives", MODE "2");
	fd = TRY("create with mode 0 for writing", open(MODE "3", O_RDWR | O_CREAT | O_EXCL, 0));
	if (fd >= 0) {
		TRY("write to the mode 0 file", write(fd, "x", 1));
		close(fd);
	}
	show_mode("mode 0 gives", MODE "3");
	TRY("chmod 0xffffffff", chmod(MODE "3", 0xffffffffu));
	show_mode("chmod 0xffffffff gives", MODE "3");
	TRY("mkdir with mode 0xffffffff", mkdir(MODE "4", 0xffffffffu));
	show_mode("mkdir mode 0xffffffff gives", MODE "4");
	TRY("mknod with mode 0xffffffff", mknod(MODE "5", 0xffffffffu, 0));
	TRY("mknod with mode S_IFREG|07777", mknod(MODE "6", S_IFREG | 07777, 0));
	show_mode("mknod S_IFREG|07777 gives", MODE "6");
	struct open_how how = {.flags = O_WRONLY | O_CREAT | O_EXCL, .mode = 0xffffffffu};
	TRY("openat2 with mode 0xffffffff", syscall(SYS_openat2, AT_FDCWD, MODE "7", &how, sizeof how));
	how = (struct open_how){.flags = O_RDONLY, .mode = 0644};
	TRY("openat2 with a mode but no O_CREAT", syscall(SYS_openat2, AT_FDCWD, "/tmp", &how, sizeof how));
	how = (struct open_how){.flags = 0xffffffffffffffffULL};
	TRY("openat2 with every flag", syscall(SYS_openat2, AT_FDCWD, "/tmp", &how, sizeof how));
	TRY("open with every flag", open(MODE "8", -1, 0644));
	for (int i = 1; i <= 8; i++) {
		char p[64];
		snprintf(p, sizeof p, MODE "%d", i);
		if (unlink(p) < 0 && errno == EISDIR)
			rmdir(p);
	}
	rmdir(MODE "4");
}

/* ---- 10,000 files in one directory ---- */

#define MANY "/tmp/magawa-hfs-many"
#define NFILES 10000

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* read_entries reads the directory from fd's offset to its end, marking
 * seen[] and counting; it stops after max_calls getdents64 calls (0: no
 * limit) and returns the offset of the last entry read. */
static int64_t read_entries(int fd, unsigned char *seen, int *entries, int *dups, int *dots, int *bad, int max_calls)
{
	static char buf[32 * 1024];
	int64_t off = 0;
	for (int calls = 0; max_calls == 0 || calls < max_calls; calls++) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (n <= 0) {
			if (n < 0)
				(*bad)++;
			break;
		}
		for (long pos = 0; pos < n;) {
			struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + pos);
			pos += e->d_reclen;
			off = e->d_off;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
				(*dots)++;
				continue;
			}
			int i;
			char end;
			if (sscanf(e->d_name, "f%05d%c", &i, &end) != 1 || i < 0 || i >= NFILES || e->d_type != DT_REG) {
				(*bad)++;
				continue;
			}
			if (seen[i]++)
				(*dups)++;
			(*entries)++;
		}
	}
	return off;
}

static void many_files(void)
{
	char path[64];
	if (mkdir(MANY, 0755) < 0)
		die("mkdir " MANY);
	int made = 0;
	for (; made < NFILES; made++) {
		snprintf(path, sizeof path, MANY "/f%05d", made);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			break;
		close(fd);
	}
	if (made == NFILES)
		line("create %d files: ok", NFILES);
	else
		line("create %d files: errno %s after %d", NFILES, errname(errno), made);

	static unsigned char seen[NFILES];
	int entries = 0, dups = 0, dots = 0, bad = 0;
	int fd = open(MANY, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		die("open " MANY);
	read_entries(fd, seen, &entries, &dups, &dots, &bad, 0);
	line("readdir entries: %d, duplicates: %d, dots: %d, bad: %d", entries, dups, dots, bad);
	int missing = 0;
	for (int i = 0; i < NFILES; i++)
		missing += seen[i] == 0;
	line("readdir missing: %d", missing);

	/* Again from the start. */
	memset(seen, 0, sizeof seen);
	entries = dups = dots = bad = 0;
	lseek(fd, 0, SEEK_SET);
	read_entries(fd, seen, &entries, &dups, &dots, &bad, 0);
	line("readdir after rewind: %d, duplicates: %d, dots: %d, bad: %d", entries, dups, dots, bad);

	/* Stop after one batch and resume by the last d_off, on a new
	 * descriptor. */
	memset(seen, 0, sizeof seen);
	entries = dups = dots = bad = 0;
	lseek(fd, 0, SEEK_SET);
	int64_t off = read_entries(fd, seen, &entries, &dups, &dots, &bad, 1);
	int fd2 = open(MANY, O_RDONLY | O_DIRECTORY);
	if (fd2 < 0 || lseek(fd2, off, SEEK_SET) < 0)
		line("readdir resume by d_off: errno %s", errname(errno));
	read_entries(fd2, seen, &entries, &dups, &dots, &bad, 0);
	line("readdir resumed: %d, duplicates: %d, dots: %d, bad: %d", entries, dups, dots, bad);
	close(fd2);

	/* Delete everything while reading. */
	memset(seen, 0, sizeof seen);
	entries = dups = dots = bad = 0;
	lseek(fd, 0, SEEK_SET);
	read_entries(fd, seen, &entries, &dups, &dots, &bad, 1);
	int removed = 0;
	for (int i = 0; i < made; i++) {
		snprintf(path, sizeof path, MANY "/f%05d", i);
		removed += unlink(path) == 0;
	}
	read_entries(fd, seen, &entries, &dups, &dots, &bad, 0);
	line("unlink all while reading: %d removed, duplicates: %d, bad: %d", removed, dups, bad);
	close(fd);
	fd = open(MANY, O_RDONLY | O_DIRECTORY);
	entries = dups = dots = bad = 0;
	memset(seen, 0, sizeof seen);
	read_entries(fd, seen, &entries, &dups, &dots, &bad, 0);
	line("readdir emptied: %d, dots: %d", entries, dots);
	close(fd);
	TRY("many cleanup rmdir", rmdir(MANY));
}

/* ---- extended attributes of the maximum size ---- */

#define XATTR "/dev/shm/magawa-hfs-xattr"

static void xattrs(void)
{
	int fd = open(XATTR, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		die("create " XATTR);
	close(fd);
	const size_t max = 64 * KiB;
	char *v = malloc(max + 2), *got = malloc(max + 2);
	for (size_t i = 0; i < max + 2; i++)
		v[i] = (char)(i * 7 + 3);
	TRY("xattr 64KiB set", setxattr(XATTR, "trusted.magawa-big", v, max, 0));
	long n = getxattr(XATTR, "trusted.magawa-big", NULL, 0);
	line("xattr 64KiB size: %ld", n);
	n = getxattr(XATTR, "trusted.magawa-big", got, max + 2);
	line("xattr 64KiB get: %ld %s", n, n == (long)max && memcmp(v, got, max) == 0 ? "same" : "different");
	TRY("xattr get with a small buffer", getxattr(XATTR, "trusted.magawa-big", got, 100));
	TRY("xattr 64KiB+1 set", setxattr(XATTR, "trusted.magawa-bigger", v, max + 1, 0));
	TRY("xattr 64KiB+1 get after", getxattr(XATTR, "trusted.magawa-bigger", got, max + 2));
	TRY("xattr 1GiB size set", syscall(SYS_setxattr, XATTR, "trusted.magawa-huge", v, 1L << 30, 0));
	char name[300] = "trusted.";
	memset(name + 8, 'n', 256 - 8);
	name[256] = 0;
	TRY("xattr name of 256 bytes set", setxattr(XATTR, name, "v", 1, 0));
	name[255] = 0;
	TRY("xattr name of 255 bytes set", setxattr(XATTR, name, "v", 1, 0));
	TRY("xattr list with a small buffer", listxattr(XATTR, got, 4));
	TRY("xattr replace 64KiB", setxattr(XATTR, "trusted.magawa-big", v + 1, max, XATTR_REPLACE));
	n = getxattr(XATTR, "trusted.magawa-big", got, max);
	line("xattr replaced: %s", n == (long)max && memcmp(v + 1, got, max) == 0 ? "same" : "different");
	TRY("xattr remove", removexattr(XATTR, "trusted.magawa-big"));
	free(v);
	free(got);
	TRY("xattr cleanup unlink", unlink(XATTR));
}

/* ---- descriptor exhaustion ---- */

static void fd_exhaustion(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit");
	rlim_t hard = rl.rlim_max;
	rl.rlim_cur = 256;
	TRY("setrlimit NOFILE 256", setrlimit(RLIMIT_NOFILE, &rl));
	int highest = -1, opened = 0, fd;
	while ((fd = open("/dev/null", O_RDONLY)) >= 0 && opened < 100000) {
		highest = fd;
		opened++;
	}
	line("open until the limit: errno %s", fd < 0 ? errname(errno) : "none");
	line("highest descriptor: %d", highest);
	int pfd[2];
	TRY("pipe at the limit", pipe(pfd));
	TRY("dup at the limit", dup(0));
	TRY("epoll_create1 at the limit", epoll_create1(0));
	TRY("timerfd_create at the limit", timerfd_create(CLOCK_MONOTONIC, 0));
	TRY("eventfd at the limit", syscall(SYS_eventfd2, 0, 0));
	TRY("dup2 to the limit", dup2(0, 256));
	TRY("fcntl F_DUPFD from the limit", fcntl(0, F_DUPFD, 256));
	for (int i = 3; i <= highest; i++)
		close(i);
	fd = open("/dev/null", O_RDONLY);
	line("open after closing all: %d", fd);
	close(fd);

	/* The largest table Linux allows (fs.nr_open, 1 << 20 by default). */
	rl.rlim_cur = rl.rlim_max = (1 << 20) + 1;
	TRY("setrlimit NOFILE above nr_open", setrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = 1 << 20;
	rl.rlim_max = hard > (1 << 20) ? hard : 1 << 20;
	TRY("setrlimit NOFILE to nr_open", setrlimit(RLIMIT_NOFILE, &rl));
	TRY("dup2 to the last descriptor", dup2(0, (1 << 20) - 1));
	TRY("close the last descriptor", close((1 << 20) - 1));
	TRY("fcntl F_DUPFD past nr_open", fcntl(0, F_DUPFD, 1 << 20));
	rl.rlim_cur = 1024;
	rl.rlim_max = hard;
	TRY("setrlimit NOFILE back", setrlimit(RLIMIT_NOFILE, &rl));
	fd = open("/dev/null", O_RDONLY);
	line("open after all that: %d", fd);
	close(fd);
}

int main(int argc, char **argv)
{
	/* The safety checks come first, before any other call. */
	struct utsname u;
	const char *token = getenv("MAGAWA_HOSTILE_TOKEN");
	if (argc != 2 || token == NULL || strlen(token) < 16 ||
	    strcmp(token, argv[1]) != 0 || getpid() != 1 || getppid() != 0 ||
	    uname(&u) != 0 || strcmp(u.nodename, "magawa") != 0) {
		static const char msg[] =
			"hostile_fs: not inside the magawa sandbox; refusing to run\n";
		if (write(2, msg, sizeof(msg) - 1) < 0) {
			/* nothing more to do */
		}
		_exit(NOT_IN_SANDBOX);
	}
	line("inside the sandbox: yes");
	if (chdir("/") < 0)
		die("chdir /");

	line("== long paths");
	long_paths();
	line("== symbolic links");
	symlinks();
	line("== deep tree");
	deep_tree();
	line("== small tmpfs");
	small_tmpfs();
	line("== sparse file");
	sparse();
	line("== modes");
	modes();
	line("== many files");
	many_files();
	line("== xattrs");
	xattrs();
	line("== descriptors");
	fd_exhaustion();

	/* Whatever is left is visible to the test's snapshot of /tmp. */
	DIR *d = opendir("/tmp");
	struct dirent *e;
	int left = 0;
	while (d && (e = readdir(d)))
		left += strncmp(e->d_name, "magawa-hfs-", 11) == 0;
	if (d)
		closedir(d);
	line("magawa-hfs- names left in /tmp: %d", left);
	line("survived: yes");
	return 0;
}
