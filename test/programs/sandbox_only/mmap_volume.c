/*
 * mmap_volume DIR HOSTVIEW: MAP_SHARED mappings of a file in DIR (a
 * volume in the sandbox, the gofer's) are coherent with read(2),
 * write(2), other mappings and a forked child, and what is stored
 * through them reaches the host file at msync(MS_SYNC), fsync, the last
 * munmap and the last close of a file open for writing. HOSTVIEW is the
 * same host directory through another mount (in the sandbox a second
 * volume, whose files are separate from DIR's, so read(2) there reads
 * the host file itself); natively it is DIR again. Truncation makes the
 * pages past the end SIGBUS.
 */
#include "../common.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static char path[4096], hostpath[4096];

/* host prints what the host file holds at off. */
static void host(const char *what, off_t off, size_t n)
{
	char buf[64] = {0};
	int fd = open(hostpath, O_RDONLY);
	if (fd < 0)
		die("open the host view");
	if (pread(fd, buf, n, off) < 0)
		die("pread the host view");
	close(fd);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == 0)
			buf[i] = '0';
	printf("%s: %s\n", what, buf);
}

static sigjmp_buf jump;

static void onbus(int sig)
{
	siglongjmp(jump, sig);
}

/* touch reports the signal an access to p raises, or 0. */
static int touch(volatile char *p)
{
	int sig = sigsetjmp(jump, 1);
	if (sig == 0) {
		(void)*p;
		return 0;
	}
	return sig;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mmap_volume DIR HOSTVIEW\n");
		return 2;
	}
	snprintf(path, sizeof path, "%s/shared", argv[1]);
	snprintf(hostpath, sizeof hostpath, "%s/shared", argv[2]);
	signal(SIGBUS, onbus);

	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("create");
	if (ftruncate(fd, 3 * PAGE) < 0)
		die("ftruncate");
	if (pwrite(fd, "hello", 5, 0) != 5)
		die("pwrite");
	char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap shared writable");
	yesno("write(2) seen through the mapping", memcmp(p, "hello", 5) == 0);

	/* Stores are seen by read(2), through this and another open file. */
	memcpy(p + PAGE, "stored", 6);
	char buf[64] = {0};
	pread(fd, buf, 6, PAGE);
	yesno("read(2) sees the store", memcmp(buf, "stored", 6) == 0);
	int ro = open(path, O_RDONLY);
	memset(buf, 0, sizeof buf);
	pread(ro, buf, 6, PAGE);
	yesno("another open file sees the store", memcmp(buf, "stored", 6) == 0);
	pwrite(fd, "written", 7, PAGE + 10);
	yesno("a later write(2) seen through the mapping", memcmp(p + PAGE + 10, "written", 7) == 0);

	/* A read-only shared mapping shares the pages too. */
	char *q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, PAGE);
	if (q == MAP_FAILED)
		die("mmap shared read-only");
	yesno("read-only mapping sees the store", memcmp(q, "stored", 6) == 0);
	memcpy(p + PAGE + 20, "again", 5);
	yesno("read-only mapping sees a later store", memcmp(q + 20, "again", 5) == 0);
	pwrite(fd, "late", 4, PAGE + 30);
	yesno("read-only mapping sees a later write(2)", memcmp(q + 30, "late", 4) == 0);

	show("msync MS_SYNC", msync(p, 3 * PAGE, MS_SYNC));
	host("host after msync", PAGE, 25);

	memcpy(p + 2 * PAGE, "synced", 6);
	show("fsync", fsync(fd));
	host("host after fsync", 2 * PAGE, 6);

	/* A forked child shares the mapping, and maps the file anew. */
	pid_t pid = fork();
	if (pid == 0) {
		memcpy(p + 100, "child", 5);
		char *c = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (c == MAP_FAILED)
			_exit(3);
		memcpy(c + 200, "new map", 7);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	yesno("child exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	yesno("the child's store through the inherited mapping", memcmp(p + 100, "child", 5) == 0);
	yesno("the child's store through its own mapping", memcmp(p + 200, "new map", 7) == 0);

	/* The last munmap writes back. */
	munmap(q, PAGE);
	memcpy(p + 300, "unmapped", 8);
	munmap(p, 3 * PAGE);
	host("host after the last munmap", 300, 8);
	host("host has the child's stores", 100, 5);

	/*
	 * The last close of a file open for writing writes back, while a
	 * read-only mapping still maps the pages.
	 */
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || q == MAP_FAILED)
		die("mmap again");
	memcpy(p + 400, "closed", 6);
	munmap(p, PAGE);
	close(fd);
	host("host after the last writer closed", 400, 6);
	yesno("the read-only mapping still sees it", memcmp(q + 400, "closed", 6) == 0);
	munmap(q, PAGE);

	/* Truncation: SIGBUS past the new end, zeros past it in its page. */
	fd = open(path, O_RDWR);
	p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap for truncation");
	memset(p + PAGE, 'x', PAGE);
	if (ftruncate(fd, PAGE + 10) < 0)
		die("ftruncate down");
	printf("access past the new end: %s\n", touch(p + 2 * PAGE) == SIGBUS ? "SIGBUS" : "no signal");
	yesno("zeros past the end in the last page", p[PAGE + 10] == 0 && p[2 * PAGE - 1] == 0);
	yesno("data before the end kept", p[PAGE + 9] == 'x');
	struct stat st;
	fstat(fd, &st);
	printf("size: %ld\n", (long)st.st_size);
	if (ftruncate(fd, 3 * PAGE) < 0)
		die("ftruncate up");
	yesno("growing again reads zeros", touch(p + 2 * PAGE) == 0 && p[2 * PAGE] == 0 && p[PAGE + 10] == 0);
	memcpy(p + 2 * PAGE + 1, "regrown", 7);
	munmap(p, 3 * PAGE);
	close(fd);
	close(ro);
	host("host after growing", 2 * PAGE, 8);
	return 0;
}
