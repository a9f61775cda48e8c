/*
 * memfd: memfd_create's flags and names, the file it makes (mode, flags,
 * /proc/self/fd name), MAP_SHARED mappings of it across fork, and file
 * seals: F_SEAL_WRITE (EBUSY while a shared mapping may write), GROW,
 * SHRINK, FUTURE_WRITE, EXEC, SEAL, and files without seals.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

#define PAGE 4096

/* fdname prints what /proc/self/fd/N names. */
static void fdname(const char *what, int fd)
{
	char p[64], buf[512];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, buf, sizeof buf - 1);
	if (n < 0)
		die("readlink");
	buf[n] = 0;
	printf("%s: %s\n", what, buf);
}

static void seals(const char *what, int fd)
{
	int s = fcntl(fd, F_GET_SEALS);
	if (s < 0)
		printf("%s: seals errno %s\n", what, errname(errno));
	else
		printf("%s: seals 0x%x\n", what, s);
}

static void add_seals(const char *what, int fd, int s)
{
	show(what, fcntl(fd, F_ADD_SEALS, s));
}

static void mode(const char *what, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		die("fstat");
	printf("%s: mode 0%o nlink %ld size %ld\n", what, st.st_mode, (long)st.st_nlink, (long)st.st_size);
}

int main(void)
{
	/* Flags and names. */
	expect_err("MFD_EXEC|MFD_NOEXEC_SEAL", memfd_create("x", MFD_EXEC | MFD_NOEXEC_SEAL));
	expect_err("unknown flag", memfd_create("x", 0x100));
	char name[300];
	memset(name, 'n', sizeof name);
	name[249] = 0;
	int longfd = show("name of 249 bytes", memfd_create(name, 0));
	close(longfd);
	name[249] = 'n';
	name[250] = 0;
	expect_err("name of 250 bytes", memfd_create(name, 0));
	expect_err("bad name pointer", memfd_create((char *)8, 0));

	int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		die("memfd_create");
	printf("cloexec: %d\n", fcntl(fd, F_GETFD));
	printf("status flags: 0x%x\n", fcntl(fd, F_GETFL));
	mode("new memfd", fd);
	fdname("name", fd);
	int slash = memfd_create("a/b c", 0);
	fdname("name with a slash", slash);
	int empty = memfd_create("", 0);
	fdname("empty name", empty);
	seals("without MFD_ALLOW_SEALING", empty);
	add_seals("add to a file without MFD_ALLOW_SEALING", empty, F_SEAL_GROW);

	/* Data through write, ftruncate and a shared mapping. */
	show("write", write(fd, "hello, memfd", 12));
	show("ftruncate to two pages", ftruncate(fd, 2 * PAGE));
	mode("after ftruncate", fd);
	char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	printf("mapping reads: %.12s\n", m);
	memcpy(m + PAGE, "via the map", 11);
	char buf[32] = {0};
	pread(fd, buf, 11, PAGE);
	printf("pread sees the mapping's write: %s\n", buf);
	pid_t c = fork();
	if (c == 0) {
		memcpy(m, "HELLO", 5);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	pread(fd, buf, 12, 0);
	printf("parent sees the child's write: %.12s\n", buf);
	show("fallocate", fallocate(fd, 0, 0, 3 * PAGE));
	mode("after fallocate", fd);

	/* F_SEAL_WRITE waits for writable shared mappings. */
	seals("MFD_ALLOW_SEALING", fd);
	add_seals("F_SEAL_WRITE with a writable shared mapping", fd, F_SEAL_WRITE);
	munmap(m, 2 * PAGE);
	char *ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	add_seals("F_SEAL_WRITE with a read-only shared mapping", fd, F_SEAL_WRITE);
	munmap(ro, PAGE);
	char *priv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	add_seals("F_SEAL_WRITE with a private mapping", fd, F_SEAL_WRITE);
	seals("after F_SEAL_WRITE", fd);
	priv[0] = 'p';
	pread(fd, buf, 1, 0);
	printf("private write stays private: %s\n", buf[0] == 'H' ? "yes" : "no");
	munmap(priv, PAGE);
	expect_err("write when sealed", write(fd, "x", 1));
	expect_err("pwrite when sealed", pwrite(fd, "x", 1, 0));
	m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	expect_err("writable shared mmap when sealed", m == MAP_FAILED ? -1 : 0);
	ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	show("read-only shared mmap when sealed", ro == MAP_FAILED ? -1 : 0);
	expect_err("mprotect it writable", mprotect(ro, PAGE, PROT_READ | PROT_WRITE));
	expect_err("punch a hole when sealed", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE));
	show("ftruncate is not a write", ftruncate(fd, 4 * PAGE));

	/* Size seals. */
	add_seals("F_SEAL_GROW|F_SEAL_SHRINK", fd, F_SEAL_GROW | F_SEAL_SHRINK);
	expect_err("grow", ftruncate(fd, 5 * PAGE));
	expect_err("shrink", ftruncate(fd, PAGE));
	show("same size", ftruncate(fd, 4 * PAGE));
	expect_err("fallocate past the end", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 5 * PAGE));
	show("fallocate inside", fallocate(fd, 0, 0, PAGE));
	add_seals("unknown seal", fd, 0x40);
	add_seals("F_SEAL_SEAL", fd, F_SEAL_SEAL);
	add_seals("anything after F_SEAL_SEAL", fd, 0);
	seals("final", fd);

	/* F_SEAL_GROW lets writes through up to the last page boundary within the size. */
	int g = memfd_create("grow", MFD_ALLOW_SEALING);
	ftruncate(g, PAGE + 100);
	add_seals("F_SEAL_GROW", g, F_SEAL_GROW);
	static char big[3 * PAGE];
	printf("write across the end: %zd\n", pwrite(g, big, 2 * PAGE, 0));
	printf("write inside: %zd\n", pwrite(g, big, 50, PAGE + 50));
	expect_err("write past the end in the last page", pwrite(g, big, 51, PAGE + 50));
	expect_err("append", (lseek(g, 0, SEEK_END), write(g, "x", 1)));

	/* F_SEAL_FUTURE_WRITE keeps the mappings made before it. */
	int fw = memfd_create("future", MFD_ALLOW_SEALING);
	ftruncate(fw, PAGE);
	char *w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fw, 0);
	add_seals("F_SEAL_FUTURE_WRITE", fw, F_SEAL_FUTURE_WRITE);
	memcpy(w, "still", 5);
	pread(fw, buf, 5, 0);
	printf("old mapping still writes: %.5s\n", buf);
	expect_err("write after F_SEAL_FUTURE_WRITE", write(fw, "x", 1));
	char *w2 = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fw, 0);
	expect_err("new writable shared mmap", w2 == MAP_FAILED ? -1 : 0);

	/* Execute bits. */
	int nx = memfd_create("noexec", MFD_NOEXEC_SEAL);
	mode("MFD_NOEXEC_SEAL", nx);
	seals("MFD_NOEXEC_SEAL", nx);
	expect_err("fchmod +x", fchmod(nx, 0755));
	show("fchmod keeping x clear", fchmod(nx, 0600));
	int ex = memfd_create("exec", MFD_EXEC | MFD_ALLOW_SEALING);
	mode("MFD_EXEC", ex);
	add_seals("F_SEAL_EXEC on an executable memfd", ex, F_SEAL_EXEC);
	seals("it implies the write seals", ex);

	/* Another description of the same file, through /proc/self/fd. */
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fw);
	int rd = open(p, O_RDONLY);
	seals("reopened read-only", rd);
	add_seals("add through a read-only description", rd, F_SEAL_GROW);
	close(rd);

	/* Files without seals. */
	int pp[2];
	if (pipe(pp) < 0)
		die("pipe");
	seals("pipe", pp[1]);
	add_seals("add to a pipe", pp[1], F_SEAL_GROW);
	int st = open("/proc/self/status", O_RDONLY);
	seals("proc file", st);
	add_seals("add through a read-only proc file", st, F_SEAL_GROW);
	int shm = open("/dev/shm/memfd-test", O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (shm < 0)
		die("open /dev/shm");
	unlink("/dev/shm/memfd-test");
	seals("tmpfs file", shm);
	add_seals("add to a tmpfs file", shm, F_SEAL_GROW);
	return 0;
}
