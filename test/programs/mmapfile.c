/*
 * mmapfile: file-backed mappings of a read-only file: contents match
 * read(2), the tail of the last page is zero, private writes stay private,
 * and the permission checks of mmap(2).
 */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH "/etc/os-release"
#define PAGE 4096UL

int main(void)
{
	static char buf[1 << 16];
	int fd = open(PATH, O_RDONLY);
	if (fd < 0)
		die("open");
	ssize_t size = read(fd, buf, sizeof(buf));
	if (size <= 0 || size >= (ssize_t)PAGE) {
		printf("unexpected size\n");
		return 1;
	}

	char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	yesno("mapping matches read", memcmp(p, buf, size) == 0);
	int zero = 1;
	for (size_t i = size; i < PAGE; i++)
		zero &= p[i] == 0;
	yesno("rest of the page is zero", zero);
	printf("checksum=%016llx\n", (unsigned long long)fnv1a64(FNV_INIT, p, size));
	show("munmap", munmap(p, size));

	/* A private writable mapping of a read-only descriptor is allowed. */
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap private writable");
	p[0] ^= 0xff;
	char first;
	if (pread(fd, &first, 1, 0) != 1)
		die("pread");
	yesno("private write not in the file", first == buf[0]);
	yesno("private write visible in the mapping", p[0] == (char)(buf[0] ^ 0xff));
	munmap(p, PAGE);

	/* A second mapping sees the file, not the first one's private write. */
	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	yesno("fresh mapping sees the file", p != MAP_FAILED && p[0] == buf[0]);
	munmap(p, PAGE);

	/* A mapping may outlive its descriptor. */
	int fd2 = open(PATH, O_RDONLY);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd2, 0);
	close(fd2);
	yesno("MAP_SHARED read-only mapping after close", p != MAP_FAILED && memcmp(p, buf, size) == 0);
	munmap(p, PAGE);

	expect_err("MAP_SHARED writable on O_RDONLY fd",
		   (long)mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	expect_err("unaligned offset",
		   (long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100));
	int dir = open("/etc", O_RDONLY | O_DIRECTORY);
	expect_err("mmap a directory",
		   (long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dir, 0));
	close(dir);
	close(fd);

	/* A larger file (libc, a few MiB): mappings at several offsets agree
	 * with pread, including the partial last page. */
	fd = open("/usr/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		die("open libc.so.6");
	size_t len = st.st_size;
	char *whole = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (whole == MAP_FAILED)
		die("mmap libc.so.6");
	static char chunk[65536 + 7];
	uint64_t rsum = FNV_INIT;
	int same = 1;
	for (size_t off = 0; off < len;) {
		ssize_t m = pread(fd, chunk, sizeof(chunk), off);
		if (m <= 0)
			die("pread libc.so.6");
		same &= memcmp(chunk, whole + off, m) == 0;
		rsum = fnv1a64(rsum, chunk, m);
		off += m;
	}
	yesno("whole mapping matches pread", same);
	yesno("checksums agree", rsum == fnv1a64(FNV_INIT, whole, len));
	int offsets_ok = 1;
	for (size_t off = 0; off < len; off += 37 * PAGE) {
		char *q = mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE, fd, off);
		size_t n = len - off < 3 * PAGE ? len - off : 3 * PAGE;
		offsets_ok &= q != MAP_FAILED && memcmp(q, whole + off, n) == 0;
		if (q != MAP_FAILED)
			munmap(q, 3 * PAGE);
	}
	yesno("mappings at page offsets match", offsets_ok);
	munmap(whole, len);
	close(fd);
	return 0;
}
