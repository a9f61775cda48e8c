/*
 * call IMAGE VVAR CGT TOD TIME GETCPU GETRES MODE [N]
 *
 * Maps the vDSO image IMAGE as the loader does (read+exec), with the
 * file VVAR mapped read-only and shared (the test's later writes show)
 * in the page right below it, as the kernel maps the vvar page, and
 * calls the image's functions, found at the offsets CGT... on the host.
 * MODE:
 *
 *   fallback  VVAR is zeros: every function makes its system call,
 *             served by the host kernel; compare with libc.
 *   table     print each call's result with the TSC just before and
 *             just after it, for the test to compare with Data.Read.
 *   live      the test keeps VVAR up to date from the host's clocks:
 *             N calls never go back and agree with libc (the host's own
 *             vDSO); print the largest differences seen.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

typedef long (*clock_fn)(long, struct timespec *);
typedef long (*tod_fn)(struct timeval *, void *);
typedef long (*time_fn)(long *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

static clock_fn cgt, cgr;
static tod_fn tod;
static time_fn tm;
static getcpu_fn gc;
static volatile const uint64_t *vvar;

#define CHECK(c)                                                   \
	do {                                                       \
		if (!(c)) {                                        \
			printf("FAIL line %d: %s\n", __LINE__, #c); \
			exit(1);                                   \
		}                                                  \
	} while (0)

/* tsc reads the TSC ordered with the code around it, so that a vDSO
 * call between two readings reads the TSC between them. */
static uint64_t tsc(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

static int64_t ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static int fallback(void)
{
	struct timespec a, b, r1, r2;
	CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
	CHECK(cgt(CLOCK_MONOTONIC, &b) == 0);
	CHECK(ns(b) >= ns(a));
	CHECK(cgt(CLOCK_REALTIME, &b) == 0);
	CHECK(cgt(-1000, &b) == -EINVAL);
	struct timeval tv;
	CHECK(tod(&tv, NULL) == 0);
	CHECK(tv.tv_sec - b.tv_sec < 5 && b.tv_sec - tv.tv_sec < 5);
	long t1 = 0, t2 = tm(&t1);
	CHECK(t1 == t2 && t2 - tv.tv_sec < 5 && tv.tv_sec - t2 < 5);
	CHECK(tm(NULL) >= t2);
	unsigned cpu = ~0u, node = ~0u;
	CHECK(gc(&cpu, &node, NULL) == 0);
	CHECK(cpu < (unsigned)sysconf(_SC_NPROCESSORS_CONF) && node != ~0u);
	CHECK(clock_getres(CLOCK_MONOTONIC, &r1) == 0);
	CHECK(cgr(CLOCK_MONOTONIC, &r2) == 0);
	CHECK(r1.tv_sec == r2.tv_sec && r1.tv_nsec == r2.tv_nsec);
	CHECK(cgr(CLOCK_MONOTONIC, NULL) == 0);
	/* The system call reports a bad pointer; the page's code, like
	 * Linux's vDSO, would fault. */
	CHECK(cgt(CLOCK_MONOTONIC, (void *)8) == -EFAULT);
	printf("ok\n");
	return 0;
}

static int table(void)
{
	/* -6 is MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED): this process's
	 * CPU clock; 16 and up have no entry in the page. */
	static const long ids[] = {-1, -6, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 1000};
	for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		struct timespec ts = {0, 0}, sts;
		uint64_t t1 = tsc();
		long rc = cgt(ids[i], &ts);
		uint64_t t2 = tsc();
		long src = syscall(SYS_clock_gettime, ids[i], &sts) == 0 ? 0 : -errno;
		printf("cgt %ld %ld %ld %lu %lu %ld %ld\n", ids[i], rc, src, t1, t2, (long)ts.tv_sec, ts.tv_nsec);
	}
	struct timeval tv = {0, 0};
	uint64_t t1 = tsc();
	long rc = tod(&tv, NULL);
	uint64_t t2 = tsc();
	printf("tod %ld %lu %lu %ld %ld\n", rc, t1, t2, (long)tv.tv_sec, (long)tv.tv_usec);
	long stored = -1;
	t1 = tsc();
	rc = tm(&stored);
	t2 = tsc();
	printf("time %ld %lu %lu %ld\n", rc, t1, t2, stored);
	t1 = tsc();
	rc = tm(NULL);
	t2 = tsc();
	printf("time %ld %lu %lu %ld\n", rc, t1, t2, rc);
	return 0;
}

/* The clocks compared with the host's in live mode; the coarse ones
 * with the host's fine clocks, as the page serves them. */
static const struct {
	long id, host;
	const char *name;
} live_clocks[] = {
	{CLOCK_REALTIME, CLOCK_REALTIME, "REALTIME"},
	{CLOCK_MONOTONIC, CLOCK_MONOTONIC, "MONOTONIC"},
	{CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"},
	{CLOCK_REALTIME_COARSE, CLOCK_REALTIME, "REALTIME_COARSE"},
	{CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC, "MONOTONIC_COARSE"},
	{CLOCK_BOOTTIME, CLOCK_BOOTTIME, "BOOTTIME"},
	{CLOCK_TAI, CLOCK_TAI, "TAI"},
};
#define NLIVE (sizeof live_clocks / sizeof live_clocks[0])

/* served says whether the page serves clock id (its mult is not 0). */
static int served(long id) { return vvar[(64 + 32 * id) / 8] != 0; }

static int live(long n)
{
	int64_t maxerr[NLIVE] = {0}, todErr = 0, timeErr = 0, prev = 0;
	for (unsigned c = 0; c < NLIVE; c++)
		CHECK(served(live_clocks[c].id));
	for (long i = 0; i < n; i++) {
		struct timespec t;
		CHECK(cgt(CLOCK_MONOTONIC, &t) == 0);
		CHECK(t.tv_nsec >= 0 && t.tv_nsec < 1000000000);
		if (ns(t) < prev) {
			printf("FAIL: CLOCK_MONOTONIC went back %lld ns at call %ld\n", (long long)(prev - ns(t)), i);
			return 1;
		}
		prev = ns(t);
		if (i % 1024 != 0)
			continue;
		for (unsigned c = 0; c < NLIVE; c++) {
			struct timespec a, v, b;
			CHECK(clock_gettime(live_clocks[c].host, &a) == 0);
			CHECK(cgt(live_clocks[c].id, &v) == 0);
			CHECK(clock_gettime(live_clocks[c].host, &b) == 0);
			CHECK(v.tv_nsec >= 0 && v.tv_nsec < 1000000000);
			int64_t e = ns(v) < ns(a) ? ns(a) - ns(v) : ns(v) > ns(b) ? ns(v) - ns(b) : 0;
			if (e > maxerr[c])
				maxerr[c] = e;
		}
		struct timespec a, b;
		struct timeval tv;
		CHECK(clock_gettime(CLOCK_REALTIME, &a) == 0);
		CHECK(tod(&tv, NULL) == 0);
		long secs = tm(NULL);
		CHECK(clock_gettime(CLOCK_REALTIME, &b) == 0);
		CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
		/* The microsecond and the second read must overlap [a, b]. */
		int64_t lo = (tv.tv_sec * 1000000LL + tv.tv_usec) * 1000, hi = lo + 1000;
		int64_t e = lo > ns(b) ? lo - ns(b) : hi <= ns(a) ? ns(a) - hi + 1 : 0;
		if (e > todErr)
			todErr = e;
		lo = secs * 1000000000LL, hi = lo + 1000000000LL;
		e = lo > ns(b) ? lo - ns(b) : hi <= ns(a) ? ns(a) - hi + 1 : 0;
		if (e > timeErr)
			timeErr = e;
	}
	CHECK(served(CLOCK_MONOTONIC));
	for (unsigned c = 0; c < NLIVE; c++)
		printf("maxerr %s %lld\n", live_clocks[c].name, (long long)maxerr[c]);
	printf("maxerr gettimeofday %lld\n", (long long)todErr);
	printf("maxerr time %lld\n", (long long)timeErr);
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	CHECK(argc >= 9);
	static char buf[1 << 16];
	FILE *f = fopen(argv[1], "rb");
	CHECK(f);
	size_t n = fread(buf, 1, sizeof buf, f);
	CHECK(n > 0 && n < sizeof buf);
	size_t len = (n + 4095) & ~4095UL;
	char *area = mmap(NULL, 4096 + len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(area != MAP_FAILED);
	int fd = open(argv[2], O_RDONLY);
	CHECK(fd >= 0);
	CHECK(mmap(area, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == area);
	vvar = (volatile const uint64_t *)area;
	char *base = area + 4096;
	CHECK(mmap(base, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == base);
	memcpy(base, buf, n);
	CHECK(mprotect(base, len, PROT_READ | PROT_EXEC) == 0);
	cgt = (clock_fn)(base + strtoul(argv[3], 0, 0));
	tod = (tod_fn)(base + strtoul(argv[4], 0, 0));
	tm = (time_fn)(base + strtoul(argv[5], 0, 0));
	gc = (getcpu_fn)(base + strtoul(argv[6], 0, 0));
	cgr = (clock_fn)(base + strtoul(argv[7], 0, 0));
	if (strcmp(argv[8], "fallback") == 0)
		return fallback();
	if (strcmp(argv[8], "table") == 0)
		return table();
	if (strcmp(argv[8], "live") == 0)
		return live(argc > 9 ? atol(argv[9]) : 1000000);
	CHECK(!"unknown mode");
	return 1;
}
