/*
 * fs_io: file I/O on a tmpfs scratch directory (/dev/shm): read/write,
 * pread/pwrite, readv/writev, preadv2/pwritev2 (offset -1, RWF_APPEND),
 * lseek beyond EOF and SEEK_DATA/SEEK_HOLE around holes, sendfile,
 * splice, copy_file_range, fallocate modes, O_APPEND with pwrite, offsets
 * shared by dup and fork, raw F_GETFL values and F_SETFL,
 * fsync/fdatasync, concurrent O_APPEND writers, and file-backed mmap
 * coherence (MAP_SHARED, MAP_PRIVATE, SIGBUS past EOF).
 */
#include "common.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif
#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x8
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#define FALLOC_FL_PUNCH_HOLE 0x02
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#define FALLOC_FL_ZERO_RANGE 0x10
#define FALLOC_FL_INSERT_RANGE 0x20
#endif

#define PG 4096

static int mkfile(const char *path, const char *content)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	size_t n = strlen(content);
	if (write(fd, content, n) != (ssize_t)n)
		die("write");
	return fd;
}

/* dump prints the content of fd from offset 0 (up to 64 bytes), with
 * NULs as '.', and the size. */
static void dump(const char *label, int fd)
{
	char buf[64];
	struct stat st;
	fstat(fd, &st);
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	printf("%s: size %lld \"", label, (long long)st.st_size);
	for (ssize_t i = 0; i < n; i++)
		putchar(buf[i] ? buf[i] : '.');
	printf("\"\n");
}

static off_t cur(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

static void basic(void)
{
	printf("== read and write\n");
	int fd = mkfile("f", "hello world");
	char buf[64];
	printf("offset after write: %lld\n", (long long)cur(fd));
	printf("read at EOF: %zd\n", read(fd, buf, sizeof(buf)));
	lseek(fd, 0, SEEK_SET);
	printf("read 0 bytes: %zd\n", read(fd, buf, 0));
	ssize_t n = read(fd, buf, 5);
	printf("read 5: %zd \"%.*s\" offset %lld\n", n, (int)n, buf, (long long)cur(fd));
	n = read(fd, buf, sizeof(buf));
	printf("read the rest: %zd \"%.*s\"\n", n, (int)n, buf);
	n = pread(fd, buf, 5, 6);
	printf("pread 5 at 6: %zd \"%.*s\" offset unchanged: %s\n", n, (int)n, buf, cur(fd) == 11 ? "yes" : "no");
	n = pwrite(fd, "HELLO", 5, 0);
	printf("pwrite at 0: %zd offset unchanged: %s\n", n, cur(fd) == 11 ? "yes" : "no");
	expect_err("pread at a negative offset", pread(fd, buf, 1, -1));
	expect_err("pwrite at a negative offset", pwrite(fd, buf, 1, -1));
	n = pread(fd, buf, 10, 100);
	printf("pread past EOF: %zd\n", n);
	dump("content", fd);
	close(fd);
	fd = open("f", O_RDONLY);
	expect_err("write on O_RDONLY", write(fd, "x", 1));
	expect_err("pwrite on O_RDONLY", pwrite(fd, "x", 1, 0));
	close(fd);
	fd = open("f", O_WRONLY);
	expect_err("read on O_WRONLY", read(fd, buf, 1));
	expect_err("read into a bad buffer", (close(fd), fd = open("f", O_RDONLY), syscall(SYS_read, fd, (void *)8, 4)));
	printf("offset after the failed read: %lld\n", (long long)cur(fd));
	close(fd);
	expect_err("read on a closed fd", read(fd, buf, 1));

	printf("== readv and writev\n");
	fd = open("v", O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
	printf("writev: %zd\n", writev(fd, iov, 3));
	char a[2], b[4], c[8];
	struct iovec riov[3] = {{a, 2}, {b, 4}, {c, 8}};
	lseek(fd, 0, SEEK_SET);
	n = readv(fd, riov, 3);
	printf("readv: %zd \"%.2s\" \"%.4s\" \"%.*s\"\n", n, a, b, (int)(n - 6), c);
	printf("readv with 0 iovecs: %zd\n", readv(fd, riov, 0));
	expect_err("readv with 1025 iovecs", syscall(SYS_readv, fd, riov, 1025));
	struct iovec bad[1] = {{a, (size_t)-1}};
	expect_err("readv with a negative length", readv(fd, bad, 1));
	n = preadv(fd, riov, 2, 2);
	printf("preadv at 2: %zd \"%.2s\" \"%.4s\"\n", n, a, b);
	lseek(fd, 1, SEEK_SET);
	n = preadv2(fd, riov, 1, -1, 0);
	printf("preadv2 offset -1: %zd \"%.2s\" offset now %lld\n", n, a, (long long)cur(fd));
	struct iovec wv[1] = {{"XY", 2}};
	n = pwritev2(fd, wv, 1, -1, 0);
	printf("pwritev2 offset -1: %zd offset now %lld\n", n, (long long)cur(fd));
	n = pwritev2(fd, wv, 1, 0, RWF_APPEND);
	printf("pwritev2 RWF_APPEND at 0: %zd offset now %lld\n", n, (long long)cur(fd));
	dump("content", fd);
	expect_err("preadv2 unknown flag", preadv2(fd, riov, 1, 0, 0x40000000));
	close(fd);
}

static void seeks(void)
{
	printf("== lseek, holes\n");
	int fd = mkfile("s", "0123456789");
	printf("SEEK_END -3: %lld\n", (long long)lseek(fd, -3, SEEK_END));
	printf("SEEK_CUR +100: %lld\n", (long long)lseek(fd, 100, SEEK_CUR));
	expect_err("SEEK_CUR to negative", lseek(fd, -1000, SEEK_CUR));
	printf("offset kept after the failed seek: %lld\n", (long long)cur(fd));
	printf("SEEK_END +4: %lld\n", (long long)lseek(fd, 4, SEEK_END));
	if (write(fd, "!", 1) != 1)
		die("write");
	dump("write past EOF", fd);
	printf("SEEK_SET LLONG_MAX: %lld\n", (long long)lseek(fd, LLONG_MAX, SEEK_SET));
	expect_err("SEEK_CUR +1 overflowing", lseek(fd, 1, SEEK_CUR));
	expect_err("write at LLONG_MAX", write(fd, "x", 1));
	expect_err("bad whence", lseek(fd, 0, 99));
	close(fd);

	/* A file with a hole: page 0 data, pages 1-2 hole, page 3 data. */
	fd = open("h", O_RDWR | O_CREAT | O_TRUNC, 0644);
	static char page[PG];
	memset(page, 'D', PG);
	if (pwrite(fd, page, PG, 0) != PG || pwrite(fd, page, PG, 3 * PG) != PG)
		die("pwrite hole file");
	printf("SEEK_DATA 0: %lld\n", (long long)lseek(fd, 0, SEEK_DATA));
	printf("SEEK_HOLE 0: %lld\n", (long long)lseek(fd, 0, SEEK_HOLE));
	printf("SEEK_DATA %d: %lld\n", PG, (long long)lseek(fd, PG, SEEK_DATA));
	printf("SEEK_DATA %d: %lld\n", PG + 100, (long long)lseek(fd, PG + 100, SEEK_DATA));
	printf("SEEK_HOLE %d: %lld\n", 3 * PG, (long long)lseek(fd, 3 * PG, SEEK_HOLE));
	printf("SEEK_HOLE %d: %lld\n", 3 * PG + 1, (long long)lseek(fd, 3 * PG + 1, SEEK_HOLE));
	expect_err("SEEK_DATA at EOF", lseek(fd, 4 * PG, SEEK_DATA));
	expect_err("SEEK_HOLE past EOF", lseek(fd, 4 * PG + 1, SEEK_HOLE));
	expect_err("SEEK_HOLE at EOF", lseek(fd, 4 * PG, SEEK_HOLE));
	expect_err("SEEK_DATA negative", lseek(fd, -1, SEEK_DATA));
	char buf[8];
	ssize_t n = pread(fd, buf, 4, PG + 10);
	printf("read in the hole: %zd zero: %s\n", n, n == 4 && !buf[0] && !buf[3] ? "yes" : "no");
	/* A hole at the end after ftruncate */
	ftruncate(fd, 6 * PG);
	printf("SEEK_DATA in a trailing hole: %s\n", lseek(fd, 4 * PG, SEEK_DATA) < 0 ? errname(errno) : "found");
	printf("SEEK_HOLE 3 pages in: %lld\n", (long long)lseek(fd, 3 * PG, SEEK_HOLE));
	struct stat st;
	fstat(fd, &st);
	printf("st_blocks of 2 data pages: %lld\n", (long long)st.st_blocks);
	close(fd);
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	expect_err("lseek on a pipe", lseek(p[0], 0, SEEK_SET));
	expect_err("pread on a pipe", pread(p[0], buf, 1, 0));
	expect_err("pwrite on a pipe", pwrite(p[1], buf, 1, 0));
	close(p[0]);
	close(p[1]);
}

static void rawflags(const char *label, int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		printf("F_GETFL %s: errno %s\n", label, errname(errno));
	else
		printf("F_GETFL %s: 0%o\n", label, fl);
}

static void getfl(void)
{
	printf("== F_GETFL raw values\n");
	int fd = mkfile("fl", "x");
	rawflags("O_RDWR|O_CREAT|O_TRUNC", fd);
	close(fd);
	fd = open("fl", O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	rawflags("O_WRONLY|O_APPEND|O_CLOEXEC|O_NOFOLLOW", fd);
	close(fd);
	fd = open("fl", O_RDONLY | O_NONBLOCK | O_NOATIME | O_SYNC);
	rawflags("O_RDONLY|O_NONBLOCK|O_NOATIME|O_SYNC", fd);
	close(fd);
	fd = open("fl", O_RDONLY | O_DSYNC);
	rawflags("O_RDONLY|O_DSYNC", fd);
	close(fd);
	fd = open(".", O_RDONLY | O_DIRECTORY);
	rawflags("O_DIRECTORY", fd);
	close(fd);
	fd = open("fl", O_PATH);
	rawflags("O_PATH", fd);
	close(fd);
	int p[2];
	if (pipe2(p, O_NONBLOCK) < 0)
		die("pipe2");
	rawflags("pipe read end", p[0]);
	rawflags("pipe write end", p[1]);
	close(p[0]);
	close(p[1]);
	fd = open(".", O_TMPFILE | O_RDWR, 0600);
	rawflags("O_TMPFILE|O_RDWR", fd);
	close(fd);
	fd = openat(AT_FDCWD, "fl", O_RDWR | O_LARGEFILE);
	fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_NOATIME | O_DIRECT);
	rawflags("after F_SETFL O_APPEND|O_NONBLOCK|O_NOATIME|O_DIRECT", fd);
	fcntl(fd, F_SETFL, 0);
	rawflags("after F_SETFL 0", fd);
	close(fd);
}

static void append(void)
{
	printf("== O_APPEND\n");
	int fd = mkfile("ap", "base");
	close(fd);
	fd = open("ap", O_WRONLY | O_APPEND);
	printf("offset at open: %lld\n", (long long)cur(fd));
	ssize_t n = pwrite(fd, "PW", 2, 0);
	printf("pwrite at 0 with O_APPEND: %zd, offset %lld\n", n, (long long)cur(fd));
	if (write(fd, "W", 1) != 1)
		die("write");
	printf("offset after write: %lld\n", (long long)cur(fd));
	int fl = fcntl(fd, F_GETFL);
	printf("F_GETFL has O_APPEND: %s\n", fl & O_APPEND ? "yes" : "no");
	show("F_SETFL without O_APPEND", fcntl(fd, F_SETFL, fl & ~O_APPEND));
	lseek(fd, 0, SEEK_SET);
	if (write(fd, "X", 1) != 1)
		die("write");
	int rd = open("ap", O_RDONLY);
	dump("after clearing O_APPEND and writing at 0", rd);
	show("F_SETFL O_APPEND again", fcntl(fd, F_SETFL, O_APPEND));
	lseek(fd, 0, SEEK_SET);
	if (write(fd, "Y", 1) != 1)
		die("write");
	dump("after setting it again", rd);
	show("F_SETFL O_RDWR (access mode ignored)", fcntl(rd, F_SETFL, O_RDWR));
	expect_err("write on the O_RDONLY fd after it", write(rd, "z", 1));
	fl = fcntl(rd, F_GETFL);
	printf("access mode still O_RDONLY: %s\n", (fl & O_ACCMODE) == O_RDONLY ? "yes" : "no");
	close(rd);
	close(fd);
}

static void shared_offsets(void)
{
	printf("== shared offsets\n");
	int fd = mkfile("so", "abcdefghij");
	lseek(fd, 2, SEEK_SET);
	int d = dup(fd);
	char c;
	if (read(d, &c, 1) != 1)
		die("read");
	printf("dup reads '%c', original offset now %lld\n", c, (long long)cur(fd));
	int other = open("so", O_RDONLY);
	printf("a separate open starts at %lld\n", (long long)cur(other));
	close(other);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		lseek(fd, 7, SEEK_SET);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("offset after the child seeked to 7: %lld\n", (long long)cur(fd));
	pid = fork();
	if (pid == 0) {
		if (write(fd, "XY", 2) != 2)
			_exit(1);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("offset after the child wrote 2 bytes: %lld\n", (long long)cur(fd));
	dump("content", fd);
	close(d);
	close(fd);
}

static void transfers(void)
{
	printf("== sendfile, splice, copy_file_range\n");
	int src = mkfile("src", "0123456789abcdef");
	int p[2];
	/* Non-blocking, so that a transfer that moved nothing cannot hang
	 * the reads below. */
	if (pipe2(p, O_NONBLOCK) < 0)
		die("pipe");
	lseek(src, 0, SEEK_SET);
	off_t off = 4;
	ssize_t n = sendfile(p[1], src, &off, 6);
	char buf[64];
	ssize_t r = read(p[0], buf, sizeof(buf));
	printf("sendfile to a pipe with an offset: %zd \"%.*s\" off now %lld, file offset %lld\n", n,
	       r < 0 ? 0 : (int)r, buf, (long long)off, (long long)cur(src));
	n = sendfile(p[1], src, NULL, 3);
	r = read(p[0], buf, sizeof(buf));
	printf("sendfile without an offset: %zd \"%.*s\" file offset %lld\n", n, r < 0 ? 0 : (int)r, buf, (long long)cur(src));
	int dst = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	off = 10;
	n = sendfile(dst, src, &off, 100);
	printf("sendfile file to file past EOF: %zd off %lld, dst offset %lld\n", n, (long long)off, (long long)cur(dst));
	dump("dst", dst);
	off = 100;
	printf("sendfile at an offset past EOF: %zd\n", sendfile(dst, src, &off, 5));
	int rd = open("src", O_RDONLY);
	expect_err("sendfile to an O_RDONLY fd", sendfile(rd, src, NULL, 1));
	expect_err("sendfile from a pipe to a file", (write(p[1], "zz", 2), sendfile(dst, p[0], NULL, 2)));
	char junk[8];
	ssize_t left = read(p[0], junk, sizeof(junk));
	printf("bytes it left in the pipe: %zd\n", left < 0 ? 0 : left);
	off = -1;
	expect_err("sendfile with a negative offset", sendfile(dst, src, &off, 1));

	/* splice */
	off_t in_off = 2;
	n = splice(src, &in_off, p[1], NULL, 4, 0);
	printf("splice file to pipe: %zd, in_off %lld\n", n, (long long)in_off);
	off_t out_off = 1;
	n = splice(p[0], NULL, dst, &out_off, 4, SPLICE_F_NONBLOCK);
	printf("splice pipe to file: %zd, out_off %lld\n", n, (long long)out_off);
	dump("dst", dst);
	expect_err("splice file to file", splice(src, NULL, dst, NULL, 4, 0));
	expect_err("splice with an offset on the pipe side", splice(src, NULL, p[1], &out_off, 4, 0));
	close(p[0]);
	close(p[1]);

	/* copy_file_range */
	int cf = open("cf", O_RDWR | O_CREAT | O_TRUNC, 0644);
	off_t io = 0, oo = 3;
	n = copy_file_range(src, &io, cf, &oo, 8, 0);
	printf("copy_file_range 8 to offset 3: %zd io %lld oo %lld cf offset %lld\n", n, (long long)io,
	       (long long)oo, (long long)cur(cf));
	dump("cf", cf);
	lseek(src, 10, SEEK_SET);
	n = copy_file_range(src, NULL, cf, NULL, 100, 0);
	printf("copy_file_range with file offsets: %zd src offset %lld cf offset %lld\n", n,
	       (long long)cur(src), (long long)cur(cf));
	dump("cf", cf);
	io = 100;
	printf("copy_file_range past EOF: %zd\n", copy_file_range(src, &io, cf, NULL, 5, 0));
	io = 0;
	oo = 2;
	expect_err("copy_file_range overlapping in one file", copy_file_range(cf, &io, cf, &oo, 4, 0));
	io = 0;
	oo = 8;
	n = copy_file_range(cf, &io, cf, &oo, 4, 0);
	printf("copy_file_range within one file, no overlap: %zd\n", n);
	dump("cf", cf);
	expect_err("copy_file_range bad flags", copy_file_range(src, NULL, cf, NULL, 1, 1));
	expect_err("copy_file_range to an O_RDONLY fd", copy_file_range(src, NULL, rd, NULL, 1, 0));
	int dirfd = open(".", O_RDONLY | O_DIRECTORY);
	expect_err("copy_file_range from a dir", copy_file_range(dirfd, NULL, cf, NULL, 1, 0));
	close(dirfd);
	close(rd);
	close(cf);
	close(dst);
	close(src);
}

static void fallocates(void)
{
	printf("== fallocate\n");
	int fd = mkfile("fa", "ABCDEFGHIJ");
	struct stat st;
	show("fallocate mode 0 to 8192", fallocate(fd, 0, 0, 8192));
	fstat(fd, &st);
	printf("size %lld\n", (long long)st.st_size);
	show("fallocate KEEP_SIZE to 20000", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 20000));
	fstat(fd, &st);
	printf("size %lld, blocks cover the allocation: %s\n", (long long)st.st_size,
	       st.st_blocks * 512 >= 20000 ? "yes" : "no");
	ftruncate(fd, 10);
	show("fallocate PUNCH_HOLE|KEEP_SIZE 2..5", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 3));
	dump("content", fd);
	expect_err("fallocate PUNCH_HOLE without KEEP_SIZE", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 1));
	int r = fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 1);
	printf("fallocate ZERO_RANGE: %s\n", r < 0 ? errname(errno) : "ok");
	r = fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, PG);
	printf("fallocate COLLAPSE_RANGE: %s\n", r < 0 ? errname(errno) : "ok");
	expect_err("fallocate length 0", fallocate(fd, 0, 0, 0));
	expect_err("fallocate negative offset", fallocate(fd, 0, -1, 10));
	show("fallocate at an offset past EOF grows the file", fallocate(fd, 0, 100, 50));
	fstat(fd, &st);
	printf("size %lld\n", (long long)st.st_size);
	dump("content", fd);
	close(fd);
	fd = open("fa", O_RDONLY);
	expect_err("fallocate on O_RDONLY", fallocate(fd, 0, 0, 10));
	show("posix_fadvise", -(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) != 0));
	show("readahead", readahead(fd, 0, 100));
	close(fd);
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	expect_err("fallocate on a pipe", fallocate(p[1], 0, 0, 10));
	printf("posix_fadvise on a pipe: %s\n", errname(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL)));

	printf("== fsync\n");
	fd = mkfile("sy", "x");
	show("fsync on a file", fsync(fd));
	show("fdatasync on a file", fdatasync(fd));
	show("sync_file_range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
	show("syncfs", syncfs(fd));
	expect_err("fsync on a pipe", fsync(p[1]));
	expect_err("fdatasync on a pipe", fdatasync(p[0]));
	expect_err("sync_file_range on a pipe", sync_file_range(p[0], 0, 0, SYNC_FILE_RANGE_WRITE));
	close(fd);
	fd = open(".", O_RDONLY | O_DIRECTORY);
	show("fsync on a dir", fsync(fd));
	close(fd);
	fd = open("sy", O_RDONLY);
	show("fsync on an O_RDONLY file", fsync(fd));
	close(fd);
	close(p[0]);
	close(p[1]);
}

static sigjmp_buf jb;
static void on_sigbus(int sig)
{
	siglongjmp(jb, sig);
}

/* probe reads one byte at p, returning the signal caught or 0. */
static int probe(volatile char *p, char *out)
{
	int sig = sigsetjmp(jb, 1);
	if (sig)
		return sig;
	*out = *p;
	return 0;
}

static int probe_write(volatile char *p, char v)
{
	int sig = sigsetjmp(jb, 1);
	if (sig)
		return sig;
	*p = v;
	return 0;
}

/*
 * concurrent_append: four processes, each with its own O_APPEND open
 * file description, append fixed-size records; none may be lost or
 * torn.
 */
static void concurrent_append(void)
{
	printf("== concurrent O_APPEND writers\n");
	enum { WRITERS = 4, RECORDS = 300, RECLEN = 64 };
	int fd = open("log", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open log");
	fflush(stdout);
	pid_t pids[WRITERS];
	for (int c = 0; c < WRITERS; c++) {
		pids[c] = fork();
		if (pids[c] < 0)
			die("fork");
		if (pids[c] == 0) {
			int w = open("log", O_WRONLY | O_APPEND);
			if (w < 0)
				_exit(1);
			char rec[RECLEN];
			for (int i = 0; i < RECORDS; i++) {
				memset(rec, 'a' + c, sizeof(rec));
				snprintf(rec, sizeof(rec), "writer %d record %04d ", c, i);
				rec[strlen(rec)] = 'a' + c;
				rec[RECLEN - 1] = '\n';
				if (write(w, rec, RECLEN) != RECLEN)
					_exit(2);
			}
			_exit(0);
		}
	}
	int failed = 0;
	for (int c = 0; c < WRITERS; c++) {
		int st;
		waitpid(pids[c], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	printf("writers that failed: %d\n", failed);
	struct stat st;
	fstat(fd, &st);
	printf("size: %lld (expected %d)\n", (long long)st.st_size, WRITERS * RECORDS * RECLEN);
	static char all[WRITERS * RECORDS * RECLEN];
	ssize_t n = pread(fd, all, sizeof(all), 0);
	int next[WRITERS] = {0};
	int torn = 0, order = 0;
	for (ssize_t off = 0; off + RECLEN <= n; off += RECLEN) {
		char *r = all + off;
		int c, i;
		if (sscanf(r, "writer %d record %d ", &c, &i) != 2 || c < 0 || c >= WRITERS || r[RECLEN - 1] != '\n' ||
		    r[RECLEN - 2] != 'a' + c) {
			torn++;
			continue;
		}
		if (i != next[c])
			order++;
		next[c] = i + 1;
	}
	printf("torn records: %d, out-of-order records: %d\n", torn, order);
	close(fd);
}

static void mmaps(void)
{
	printf("== mmap coherence\n");
	struct sigaction sa = {0};
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);

	int fd = open("m", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ftruncate(fd, 2 * PG);
	char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap shared");
	memcpy(m + 10, "shared", 6);
	memcpy(m + PG - 3, "ACROSS", 6);
	char buf[16];
	pread(fd, buf, 6, 10);
	printf("read() sees a MAP_SHARED store: \"%.6s\"\n", buf);
	pread(fd, buf, 6, PG - 3);
	printf("across the page boundary: \"%.6s\"\n", buf);
	pwrite(fd, "written", 7, 100);
	pwrite(fd, "SPANNING", 8, PG - 4);
	printf("the mapping sees write(): \"%.7s\" \"%.8s\"\n", m + 100, m + PG - 4);
	show("msync MS_SYNC", msync(m, 2 * PG, MS_SYNC));
	show("msync MS_ASYNC", msync(m, PG, MS_ASYNC));
	expect_err("msync unaligned", msync(m + 1, PG, MS_SYNC));
	expect_err("msync MS_SYNC|MS_ASYNC", msync(m, PG, MS_SYNC | MS_ASYNC));

	/* A second shared mapping of the same file sees the first. */
	char *m2 = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	m[200] = 'Q';
	printf("a second MAP_SHARED mapping sees the store: %s\n", m2[200] == 'Q' ? "yes" : "no");
	munmap(m2, PG);

	/* MAP_PRIVATE */
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap private");
	printf("MAP_PRIVATE sees the file: \"%.6s\"\n", p + 10);
	memcpy(p + 10, "PRIVAT", 6);
	pread(fd, buf, 6, 10);
	printf("read() after a MAP_PRIVATE store: \"%.6s\"\n", buf);
	printf("MAP_SHARED after a MAP_PRIVATE store: \"%.6s\"\n", m + 10);
	pwrite(fd, "LATER!", 6, 10);
	printf("the written private page keeps its copy: \"%.6s\"\n", p + 10);
	pwrite(fd, "UNTOUCHED", 9, PG + 100);
	printf("an untouched private page sees a later write(): \"%.9s\"\n", p + PG + 100);
	munmap(p, 2 * PG);

	/* Past EOF */
	ftruncate(fd, PG + 10);
	char v = 0;
	int sig = probe(m + PG + 5, &v);
	printf("read within the last page, before EOF: %s\n", sig ? strsignal(sig) : "ok");
	sig = probe(m + PG + 100, &v);
	printf("read within the last page, after EOF: %s, value %d\n", sig ? strsignal(sig) : "ok", v);
	sig = probe_write(m + PG + 200, 'Z');
	printf("store after EOF in the last page: %s\n", sig ? strsignal(sig) : "ok");
	struct stat st;
	fstat(fd, &st);
	printf("size unchanged by it: %lld\n", (long long)st.st_size);
	ssize_t n = pread(fd, buf, 16, PG);
	printf("read() returns only up to EOF: %zd\n", n);
	ftruncate(fd, PG);
	sig = probe(m + PG + 5, &v);
	printf("read of a page entirely past EOF: %s\n", sig ? strsignal(sig) : "ok");
	ftruncate(fd, 2 * PG);
	sig = probe(m + PG + 200, &v);
	printf("after growing again, the page reads: %s, value %d\n", sig ? strsignal(sig) : "ok", v);
	munmap(m, 2 * PG);

	/* Mapping larger than the file */
	char *big = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, fd, 0);
	sig = probe(big + 3 * PG, &v);
	printf("read of a mapped page past EOF: %s\n", sig ? strsignal(sig) : "ok");
	munmap(big, 4 * PG);
	close(fd);

	/* Access modes */
	fd = open("m", O_RDONLY);
	expect_err("MAP_SHARED PROT_WRITE of an O_RDONLY fd",
		   (long)mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == -1 ? -1 : 0);
	char *q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	show("MAP_PRIVATE PROT_WRITE of an O_RDONLY fd", q == MAP_FAILED ? -1 : 0);
	if (q != MAP_FAILED)
		munmap(q, PG);
	q = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	expect_err("mprotect PROT_WRITE of a shared read-only mapping", mprotect(q, PG, PROT_READ | PROT_WRITE));
	munmap(q, PG);
	close(fd);
	fd = open("m", O_WRONLY);
	expect_err("mmap of an O_WRONLY fd", (long)mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0) == -1 ? -1 : 0);
	close(fd);
	fd = open("m", O_RDWR | O_APPEND);
	q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	show("MAP_SHARED PROT_WRITE of an O_APPEND fd", q == MAP_FAILED ? -1 : 0);
	if (q != MAP_FAILED)
		munmap(q, PG);
	close(fd);
	fd = open(".", O_RDONLY | O_DIRECTORY);
	expect_err("mmap of a dir", (long)mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0) == -1 ? -1 : 0);
	close(fd);

	/* The mapping outlives the fd and the name. */
	fd = mkfile("keep", "persistent mapping");
	q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	unlink("keep");
	printf("mapping after close and unlink: \"%.18s\"\n", q);
	q[0] = 'P';
	printf("still writable: %c\n", q[0]);
	munmap(q, PG);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
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
	basic();
	seeks();
	getfl();
	append();
	shared_offsets();
	transfers();
	fallocates();
	concurrent_append();
	mmaps();
	if (chdir("/") < 0)
		die("chdir /");
	rm_rf(AT_FDCWD, scratch);
	struct stat st;
	if (lstat(scratch, &st) == 0)
		printf("scratch directory left behind\n");
	return 0;
}
