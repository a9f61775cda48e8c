/*
 * fs_fifo: named pipes and other special files on a tmpfs scratch
 * directory (/dev/shm): mkfifo/mknod, the open rules (O_NONBLOCK
 * readers, ENXIO writers, O_RDWR), EOF and EPIPE, a forked writer
 * streaming through the FIFO, FIONREAD, pipe sizes and poll. (UNIX
 * socket files are in fs_sockfile.c.)
 */
#include "common.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *kind(mode_t m)
{
	if (S_ISFIFO(m)) return "fifo";
	if (S_ISREG(m)) return "file";
	if (S_ISDIR(m)) return "dir";
	if (S_ISSOCK(m)) return "socket";
	if (S_ISLNK(m)) return "symlink";
	if (S_ISCHR(m)) return "chr";
	if (S_ISBLK(m)) return "blk";
	return "other";
}

static void describe(const char *label, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		printf("%s: errno %s\n", label, errname(errno));
	else
		printf("%s: %s mode %04o size %lld nlink %lu\n", label, kind(st.st_mode), st.st_mode & 07777,
		       (long long)st.st_size, (unsigned long)st.st_nlink);
}

static const char *pollbits(short r)
{
	static char buf[64];
	buf[0] = 0;
	if (r & POLLIN) strcat(buf, " IN");
	if (r & POLLOUT) strcat(buf, " OUT");
	if (r & POLLHUP) strcat(buf, " HUP");
	if (r & POLLERR) strcat(buf, " ERR");
	if (!buf[0]) strcat(buf, " none");
	return buf;
}

static short pollfd1(int fd, short events)
{
	struct pollfd p = {fd, events, 0};
	if (poll(&p, 1, 0) < 0)
		return -1;
	return p.revents;
}

static void creation(void)
{
	printf("== creation\n");
	show("mkfifo", mkfifo("ff", 0640));
	describe("stat", "ff");
	expect_err("mkfifo existing", mkfifo("ff", 0640));
	expect_err("mkfifo in a missing dir", mkfifo("nodir/ff", 0640));
	show("mknod S_IFIFO", mknod("nf", S_IFIFO | 0600, 0));
	describe("stat", "nf");
	show("mknod S_IFREG", mknod("nr", S_IFREG | 0600, 0));
	describe("stat", "nr");
	show("mknod with type 0 (a regular file)", mknod("n0", 0600, 0));
	describe("stat", "n0");
	show("mknod S_IFSOCK", mknod("ns", S_IFSOCK | 0600, 0));
	describe("stat", "ns");
	expect_err("mknod S_IFDIR", mknod("nd", S_IFDIR | 0700, 0));
	expect_err("mknod a bogus type", mknod("nb", 0070000 | 0600, 0));
	expect_err("mknod S_IFLNK", mknod("nl", S_IFLNK | 0600, 0));
	umask(077);
	mkfifo("fu", 0666);
	describe("mkfifo 0666 with umask 077", "fu");
	umask(022);
	unlink("fu");
}

static void opens(void)
{
	printf("== open rules\n");
	int r = open("ff", O_RDONLY | O_NONBLOCK);
	show("O_RDONLY|O_NONBLOCK without a writer", r);
	char buf[64];
	ssize_t n = read(r, buf, sizeof(buf));
	if (n < 0)
		printf("read with no writer ever: errno %s\n", errname(errno));
	else
		printf("read with no writer ever: %zd\n", n);
	printf("poll of it:%s\n", pollbits(pollfd1(r, POLLIN)));
	int w = open("ff", O_WRONLY);
	show("blocking O_WRONLY with a reader", w);
	printf("poll of the reader, writer open, no data:%s\n", pollbits(pollfd1(r, POLLIN)));
	printf("poll of the writer:%s\n", pollbits(pollfd1(w, POLLOUT)));
	n = read(r, buf, sizeof(buf));
	if (n < 0)
		printf("read with a writer, no data: errno %s\n", errname(errno));
	else
		printf("read with a writer, no data: %zd\n", n);
	if (write(w, "hello fifo", 10) != 10)
		die("write");
	int avail = -1;
	ioctl(r, FIONREAD, &avail);
	printf("FIONREAD: %d\n", avail);
	describe("stat with data queued", "ff");
	printf("poll of the reader with data:%s\n", pollbits(pollfd1(r, POLLIN)));
	n = read(r, buf, 5);
	printf("read 5: \"%.*s\"\n", (int)n, buf);
	close(w);
	printf("poll of the reader after the writer closed:%s\n", pollbits(pollfd1(r, POLLIN)));
	n = read(r, buf, sizeof(buf));
	printf("read the rest after the writer closed: \"%.*s\"\n", n < 0 ? 0 : (int)n, buf);
	n = read(r, buf, sizeof(buf));
	printf("then: %zd (EOF)\n", n);
	expect_err("lseek on a FIFO", lseek(r, 0, SEEK_SET));
	expect_err("pread on a FIFO", pread(r, buf, 1, 0));
	expect_err("ftruncate on a FIFO", ftruncate(r, 0));
	int sz = fcntl(r, F_GETPIPE_SZ);
	printf("F_GETPIPE_SZ: %d\n", sz);
	printf("F_SETPIPE_SZ 8192: %d\n", fcntl(r, F_SETPIPE_SZ, 8192));
	printf("F_GETPIPE_SZ after: %d\n", fcntl(r, F_GETPIPE_SZ));
	close(r);

	expect_err("O_WRONLY|O_NONBLOCK without a reader", open("ff", O_WRONLY | O_NONBLOCK));
	int rw = open("ff", O_RDWR);
	show("O_RDWR without anyone", rw);
	if (write(rw, "self", 4) != 4)
		die("write rw");
	n = read(rw, buf, sizeof(buf));
	printf("O_RDWR reads its own write: \"%.*s\"\n", n < 0 ? 0 : (int)n, buf);
	if (write(rw, "lost", 4) != 4)
		die("write lost");
	close(rw);
	rw = open("ff", O_RDWR | O_NONBLOCK);
	n = read(rw, buf, sizeof(buf));
	if (n < 0)
		printf("data after every end closed: errno %s\n", errname(errno));
	else
		printf("data after every end closed: %zd bytes\n", n);
	int w2 = open("ff", O_WRONLY | O_NONBLOCK);
	show("O_WRONLY|O_NONBLOCK with an O_RDWR end open", w2);
	close(w2);
	close(rw);

	/* O_TRUNC and O_CREAT on an existing FIFO, and through a symlink */
	r = open("ff", O_RDONLY | O_NONBLOCK | O_TRUNC);
	show("O_TRUNC on a FIFO", r);
	close(r);
	r = open("ff", O_RDONLY | O_NONBLOCK | O_CREAT, 0644);
	show("O_CREAT on an existing FIFO", r);
	close(r);
	expect_err("O_CREAT|O_EXCL on an existing FIFO", open("ff", O_RDONLY | O_NONBLOCK | O_CREAT | O_EXCL, 0644));
	symlink("ff", "fl");
	r = open("fl", O_RDONLY | O_NONBLOCK);
	show("open through a symlink", r);
	struct stat st;
	fstat(r, &st);
	printf("fstat: %s\n", kind(st.st_mode));
	close(r);
	expect_err("O_DIRECTORY on a FIFO", open("ff", O_RDONLY | O_NONBLOCK | O_DIRECTORY));
	r = open("ff", O_PATH);
	show("O_PATH on a FIFO (no blocking)", r);
	close(r);

	/* EPIPE */
	signal(SIGPIPE, SIG_IGN);
	r = open("ff", O_RDONLY | O_NONBLOCK);
	w = open("ff", O_WRONLY);
	close(r);
	expect_err("write after the reader closed", write(w, "x", 1));
	printf("poll of a writer without readers:%s\n", pollbits(pollfd1(w, POLLOUT)));
	close(w);
	signal(SIGPIPE, SIG_DFL);

	/* A full FIFO */
	r = open("ff", O_RDONLY | O_NONBLOCK);
	w = open("ff", O_WRONLY | O_NONBLOCK);
	fcntl(w, F_SETPIPE_SZ, 4096);
	static char chunk[1024];
	long total = 0;
	for (;;) {
		ssize_t k = write(w, chunk, sizeof(chunk));
		if (k < 0) {
			printf("filling a 4096-byte FIFO stops with %s after %ld bytes\n", errname(errno), total);
			break;
		}
		total += k;
	}
	printf("poll of the full writer:%s\n", pollbits(pollfd1(w, POLLOUT)));
	close(w);
	close(r);
}

static void stream(void)
{
	printf("== a forked writer\n");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int w = open("nf", O_WRONLY); /* blocks until the parent opens */
		if (w < 0)
			_exit(1);
		static char buf[7000];
		for (int i = 0; i < 100; i++) {
			for (size_t j = 0; j < sizeof(buf); j++)
				buf[j] = (char)(i * 31 + j);
			size_t off = 0;
			while (off < sizeof(buf)) {
				ssize_t k = write(w, buf + off, sizeof(buf) - off);
				if (k <= 0)
					_exit(2);
				off += k;
			}
		}
		_exit(0);
	}
	int r = open("nf", O_RDONLY); /* blocks until the child opens */
	show("blocking O_RDONLY meets the child's blocking O_WRONLY", r);
	uint64_t h = FNV_INIT;
	long total = 0;
	static char buf[5000];
	for (;;) {
		ssize_t k = read(r, buf, sizeof(buf));
		if (k < 0)
			die("read stream");
		if (k == 0)
			break;
		h = fnv1a64(h, buf, k);
		total += k;
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child exit: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	uint64_t want = FNV_INIT;
	static char exp[7000];
	for (int i = 0; i < 100; i++) {
		for (size_t j = 0; j < sizeof(exp); j++)
			exp[j] = (char)(i * 31 + j);
		want = fnv1a64(want, exp, sizeof(exp));
	}
	printf("received %ld bytes, intact: %s\n", total, h == want ? "yes" : "no");
	close(r);

	/* The FIFO keeps working after it is unlinked. */
	r = open("nf", O_RDONLY | O_NONBLOCK);
	int w = open("nf", O_WRONLY);
	unlink("nf");
	if (write(w, "after unlink", 12) != 12)
		die("write");
	char b[32];
	ssize_t n = read(r, b, sizeof(b));
	printf("through an unlinked FIFO: \"%.*s\"\n", n < 0 ? 0 : (int)n, b);
	close(r);
	close(w);
	describe("the name", "nf");
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
	creation();
	opens();
	stream();
	if (chdir("/") < 0)
		die("chdir /");
	rm_rf(AT_FDCWD, scratch);
	struct stat st;
	if (lstat(scratch, &st) == 0)
		printf("scratch directory left behind\n");
	return 0;
}
