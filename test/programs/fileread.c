/*
 * fileread: reads /etc/os-release every way a read-only file can be read
 * and prints checksums that must all agree.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define PATH "/etc/os-release"

static char whole[1 << 16];

int main(void)
{
	int fd = open(PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open");

	printf("first fd=%d\n", fd);

	struct stat st;
	if (fstat(fd, &st) < 0)
		die("fstat");
	yesno("regular file", S_ISREG(st.st_mode));
	printf("mode=%04o size=%lld\n", st.st_mode & 07777,
	       (long long)st.st_size);
	if (st.st_size <= 0 || st.st_size >= (off_t)sizeof(whole)) {
		printf("unexpected size\n");
		return 1;
	}

	/* Read in odd-sized chunks until EOF. */
	size_t total = 0;
	int reads = 0;
	for (;;) {
		ssize_t n = read(fd, whole + total, 37);
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		total += n;
		reads++;
	}
	printf("chunked read: %zu bytes in %d reads\n", total, reads);
	yesno("size matches fstat", (off_t)total == st.st_size);
	uint64_t sum = fnv1a64(FNV_INIT, whole, total);
	printf("checksum=%016llx\n", (unsigned long long)sum);
	char extra;
	printf("read at EOF returns %zd\n", read(fd, &extra, 1));

	/* lseek. */
	printf("lseek SEEK_SET 10 -> %lld\n", (long long)lseek(fd, 10, SEEK_SET));
	printf("lseek SEEK_CUR 5 -> %lld\n", (long long)lseek(fd, 5, SEEK_CUR));
	printf("lseek SEEK_CUR -3 -> %lld\n", (long long)lseek(fd, -3, SEEK_CUR));
	char small[8];
	ssize_t n = read(fd, small, sizeof(small));
	yesno("read after lseek matches", n == 8 && memcmp(small, whole + 12, 8) == 0);
	yesno("lseek SEEK_END 0 is size", lseek(fd, 0, SEEK_END) == st.st_size);
	yesno("lseek SEEK_END -4", lseek(fd, -4, SEEK_END) == st.st_size - 4);
	n = read(fd, small, sizeof(small));
	yesno("read at SEEK_END-4 gives 4", n == 4 && memcmp(small, whole + total - 4, 4) == 0);
	yesno("lseek past EOF allowed", lseek(fd, st.st_size + 100, SEEK_SET) == st.st_size + 100);
	printf("read past EOF returns %zd\n", read(fd, small, sizeof(small)));

	/* pread does not move the offset. */
	off_t before = lseek(fd, 3, SEEK_SET);
	uint64_t psum = FNV_INIT;
	for (off_t off = 0; off < st.st_size; off += 50) {
		char b[50];
		ssize_t m = pread(fd, b, sizeof(b), off);
		if (m < 0)
			die("pread");
		psum = fnv1a64(psum, b, m);
	}
	yesno("pread checksum matches", psum == sum);
	yesno("pread kept the offset", lseek(fd, 0, SEEK_CUR) == before);
	printf("pread past EOF returns %zd\n", pread(fd, small, sizeof(small), st.st_size + 1));

	/* readv scatters into several buffers, including an empty one. */
	char a[5], b[1], c[100];
	struct iovec iov[4] = {
		{a, sizeof(a)}, {b, 0}, {b, sizeof(b)}, {c, sizeof(c)},
	};
	lseek(fd, 0, SEEK_SET);
	n = readv(fd, iov, 4);
	printf("readv returned %zd\n", n);
	yesno("readv contents match",
	      memcmp(a, whole, 5) == 0 && b[0] == whole[5] &&
		      memcmp(c, whole + 6, n - 6) == 0);
	yesno("readv advanced the offset", lseek(fd, 0, SEEK_CUR) == n);

	/* preadv at an offset. */
	iov[0].iov_len = 3;
	n = preadv(fd, iov, 1, 7);
	yesno("preadv at 7", n == 3 && memcmp(a, whole + 7, 3) == 0);

	/* A second descriptor of the same file has its own offset. */
	int fd2 = open(PATH, O_RDONLY);
	if (fd2 < 0)
		die("open 2");
	yesno("new fd is the lowest free", fd2 == fd + 1);
	printf("second fd offset=%lld\n", (long long)lseek(fd2, 0, SEEK_CUR));

	/* dup shares the offset. */
	int fd3 = dup(fd);
	lseek(fd, 20, SEEK_SET);
	printf("dup offset=%lld\n", (long long)lseek(fd3, 0, SEEK_CUR));
	close(fd3);
	close(fd2);

	/* stat by path agrees with fstat. */
	struct stat st2;
	if (stat(PATH, &st2) < 0)
		die("stat");
	yesno("stat agrees with fstat",
	      st2.st_size == st.st_size && st2.st_mode == st.st_mode &&
		      st2.st_ino == st.st_ino && st2.st_dev == st.st_dev);

	if (close(fd) < 0)
		die("close");
	expect_err("read after close", read(fd, small, 1));
	return 0;
}
