/*
 * memory: brk, anonymous mmap of many sizes, munmap holes, mprotect,
 * mremap, madvise(MADV_DONTNEED) and mincore. Prints checksums and
 * relations, never addresses.
 */
#include "common.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096UL

static uint64_t fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 97)
		p[i] = (unsigned char)(seed + i * 31);
	return fnv1a64(FNV_INIT, p, n);
}

static void test_brk(void)
{
	/*
	 * Nothing is printed until the break is back where it was: the
	 * first printf allocates stdout's buffer with malloc, which moves
	 * the break itself.
	 */
	uintptr_t start = syscall(SYS_brk, 0);
	uintptr_t grown = syscall(SYS_brk, start + 10 * PAGE + 123);
	unsigned char *p = (unsigned char *)start;
	uint64_t sum = fill(p, 10 * PAGE + 123, 1);
	int readback = p[97 * 3] == (unsigned char)(1 + 97 * 3 * 31);
	uintptr_t shrunk = syscall(SYS_brk, start + PAGE);
	/* Growing again gives zeroed pages (the old contents are gone). */
	uintptr_t regrown = syscall(SYS_brk, start + 4 * PAGE);
	int zero = 1;
	for (size_t i = PAGE; i < 4 * PAGE; i++)
		zero &= p[i] == 0;
	/* A break below the start fails: brk returns the current break. */
	uintptr_t bad = syscall(SYS_brk, start - 100 * PAGE);
	uintptr_t restored = syscall(SYS_brk, start);

	/* glibc's sbrk on top. */
	void *a = sbrk(0);
	void *b = sbrk(3 * PAGE);
	void *c = sbrk(0);
	sbrk(-3 * PAGE);
	void *d = sbrk(0);

	yesno("brk grew", grown == start + 10 * PAGE + 123);
	printf("brk area checksum=%016llx\n", (unsigned long long)sum);
	yesno("new brk memory reads back", readback);
	yesno("brk shrank", shrunk == start + PAGE);
	yesno("brk regrew", regrown == start + 4 * PAGE);
	yesno("regrown brk is zero", zero);
	yesno("brk below start refused", bad == start + 4 * PAGE);
	yesno("brk restored", restored == start);
	yesno("sbrk(0) is the break", a == (void *)start);
	yesno("sbrk returns the old break", a == b);
	yesno("sbrk moved the break", c == (char *)a + 3 * PAGE);
	yesno("negative sbrk moved it back", d == a);
}

static void test_mmap_sizes(void)
{
	size_t sizes[] = {1, 100, PAGE - 1, PAGE, PAGE + 1, 3 * PAGE,
			  64 * 1024, 1 << 20, (1 << 21) + 5 * PAGE, 16 << 20};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		int zero = 1;
		for (size_t j = 0; j < n; j += PAGE)
			zero &= p[j] == 0;
		zero &= p[n - 1] == 0;
		/* The rest of the last page is mapped too. */
		size_t rounded = (n + PAGE - 1) & ~(PAGE - 1);
		p[rounded - 1] = 1;
		printf("mmap %zu: aligned=%s zero=%s checksum=%016llx\n", n,
		       ((uintptr_t)p & (PAGE - 1)) == 0 ? "yes" : "no",
		       zero ? "yes" : "no",
		       (unsigned long long)fill(p, n, i));
		if (munmap(p, n) < 0)
			die("munmap");
	}
}

static void test_holes(void)
{
	size_t n = 16 * PAGE;
	unsigned char *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 0xab, n);
	/* Punch holes at pages 2-3 and 10. */
	show("munmap hole 2-3", munmap(p + 2 * PAGE, 2 * PAGE));
	show("munmap hole 10", munmap(p + 10 * PAGE, PAGE));
	show("munmap already unmapped", munmap(p + 2 * PAGE, PAGE));

	unsigned char vec[16];
	expect_err("mincore over a hole", mincore(p, n, vec));
	expect_err("mprotect over a hole", mprotect(p, n, PROT_READ));
	yesno("mincore of a mapped touched page",
	      mincore(p + 4 * PAGE, PAGE, vec) == 0 && (vec[0] & 1));

	/* Fill a hole with MAP_FIXED_NOREPLACE; over a mapping it fails. */
	unsigned char *q = mmap(p + 2 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
				-1, 0);
	yesno("MAP_FIXED_NOREPLACE in hole", q == p + 2 * PAGE);
	yesno("refilled hole is zero", q != MAP_FAILED && q[0] == 0 && q[2 * PAGE - 1] == 0);
	q = mmap(p + 5 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	yesno("MAP_FIXED_NOREPLACE over a mapping fails with EEXIST",
	      q == MAP_FAILED && errno == EEXIST);

	/* MAP_FIXED replaces pages 6-7 with fresh zero pages. */
	q = mmap(p + 6 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	yesno("MAP_FIXED replaced", q == p + 6 * PAGE && q[0] == 0);
	yesno("neighbours kept", p[5 * PAGE] == 0xab && p[8 * PAGE] == 0xab);
	show("munmap everything", munmap(p, n));
}

static void test_mprotect(void)
{
	unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 0x5a, 4 * PAGE);
	show("mprotect read-only", mprotect(p + PAGE, 2 * PAGE, PROT_READ));
	yesno("read-only pages still readable", p[PAGE] == 0x5a && p[3 * PAGE - 1] == 0x5a);
	show("mprotect none", mprotect(p + PAGE, PAGE, PROT_NONE));
	show("mprotect back to read-write", mprotect(p, 4 * PAGE, PROT_READ | PROT_WRITE));
	p[PAGE] = 1;
	p[2 * PAGE] = 2;
	yesno("writable again", p[PAGE] == 1 && p[2 * PAGE] == 2 && p[PAGE + 1] == 0x5a);
	expect_err("mprotect unaligned", mprotect(p + 1, PAGE, PROT_READ));
	expect_err("mprotect bad prot", mprotect(p, PAGE, 0x100));
	munmap(p, 4 * PAGE);
	expect_err("mprotect unmapped", mprotect(p, PAGE, PROT_READ));
}

static void test_mremap(void)
{
	size_t n = 8 * PAGE;
	/*
	 * One more page than needed: it stays mapped (as a guard) so that the
	 * region cannot grow in place and MREMAP_MAYMOVE has to move it.
	 */
	unsigned char *p = mmap(NULL, n + PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	unsigned char *guard = p + n;
	uint64_t before = fill(p, n, 7);
	void *r = mremap(p, n, 4 * n, 0);
	yesno("mremap grow in place blocked (ENOMEM)", r == MAP_FAILED && errno == ENOMEM);
	unsigned char *q = mremap(p, n, 4 * n, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		die("mremap MAYMOVE");
	yesno("mremap moved", q != p);
	yesno("contents kept", fnv1a64(FNV_INIT, q, n) == before);
	int zero = 1;
	for (size_t i = n; i < 4 * n; i++)
		zero &= q[i] == 0;
	yesno("grown part is zero", zero);
	unsigned char vec[1];
	expect_err("old range unmapped (mincore)", mincore(p, PAGE, vec));
	memset(q + n, 0x11, 3 * n);
	/* Shrink in place. */
	unsigned char *s = mremap(q, 4 * n, n, 0);
	yesno("mremap shrink in place", s == q);
	yesno("shrunk contents kept", fnv1a64(FNV_INIT, s, n) == before);
	expect_err("mremap bad flags", (long)mremap(s, n, 2 * n, 0x80));
	expect_err("mremap zero new size", (long)mremap(s, n, 0, MREMAP_MAYMOVE));
	munmap(s, n);
	show("munmap guard", munmap(guard, PAGE));
}

static void test_madvise(void)
{
	size_t n = 8 * PAGE;
	unsigned char *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 0x77, n);
	show("madvise DONTNEED", madvise(p + 2 * PAGE, 3 * PAGE, MADV_DONTNEED));
	int zero = 1, kept = 1;
	for (size_t i = 0; i < n; i++) {
		if (i >= 2 * PAGE && i < 5 * PAGE)
			zero &= p[i] == 0;
		else
			kept &= p[i] == 0x77;
	}
	yesno("DONTNEED pages read as zero", zero);
	yesno("other pages kept", kept);
	show("madvise WILLNEED", madvise(p, n, MADV_WILLNEED));
	show("madvise NORMAL", madvise(p, n, MADV_NORMAL));
	expect_err("madvise bad advice", madvise(p, n, 12345));
	expect_err("madvise unaligned", madvise(p + 1, PAGE, MADV_DONTNEED));

	unsigned char vec[8];
	p[0] = 1;
	show("mincore", mincore(p, n, vec));
	yesno("touched page resident", vec[0] & 1);
	expect_err("mincore unaligned", mincore(p + 1, PAGE, vec));
	expect_err("mincore bad vector", mincore(p, PAGE, (unsigned char *)16));
	munmap(p, n);
}

static void test_msync(void)
{
	unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	p[0] = 1;
	show("msync MS_SYNC", msync(p, 4 * PAGE, MS_SYNC));
	show("msync MS_ASYNC", msync(p, PAGE, MS_ASYNC));
	expect_err("msync unaligned", msync(p + 1, PAGE, MS_SYNC));
	expect_err("msync SYNC|ASYNC", msync(p, PAGE, MS_SYNC | MS_ASYNC));
	munmap(p, 4 * PAGE);
	expect_err("msync unmapped", msync(p, PAGE, MS_SYNC));
}

static void test_errors(void)
{
	expect_err("mmap length 0", (long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	expect_err("mmap no MAP_PRIVATE/SHARED", (long)mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0));
	expect_err("mmap bad fd", (long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 999, 0));
	expect_err("mmap unaligned fixed", (long)mmap((void *)0x10000001, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	expect_err("mmap huge", (long)mmap(NULL, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	expect_err("munmap unaligned", munmap((void *)0x10001, PAGE));
	expect_err("munmap length 0", munmap((void *)0x10000, 0));
	show("munmap of nothing", munmap((void *)0x100000000, PAGE));
}

int main(void)
{
	test_brk();
	test_mmap_sizes();
	test_holes();
	test_mprotect();
	test_mremap();
	test_madvise();
	test_msync();
	test_errors();
	return 0;
}
