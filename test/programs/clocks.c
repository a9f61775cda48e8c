/*
 * clocks: the C library's clock functions, which the vDSO answers
 * (natively the host's, in the sandbox the sandbox's, from its vvar page
 * without a system call), against the system calls themselves: reads
 * never go back, agree with the system call within 50 ms, and the
 * realtime views, resolutions and CPU clocks are consistent. Only
 * relations are printed.
 */
#include "common.h"
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

static int64_t ns(struct timespec t)
{
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long sys_gettime(clockid_t c, struct timespec *t)
{
	return syscall(SYS_clock_gettime, c, t);
}

static const struct {
	clockid_t id;
	const char *name;
} clocks[] = {
	{CLOCK_REALTIME, "REALTIME"},
	{CLOCK_MONOTONIC, "MONOTONIC"},
	{CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"},
	{CLOCK_REALTIME_COARSE, "REALTIME_COARSE"},
	{CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"},
	{CLOCK_BOOTTIME, "BOOTTIME"},
	{CLOCK_TAI, "TAI"},
};
#define NCLOCKS (sizeof clocks / sizeof clocks[0])

/* monotonic reads CLOCK_MONOTONIC at least n times and for at least
 * 250 ms (so that the sandbox's vvar page is updated meanwhile), and
 * reports whether a read ever went back. */
static int monotonic(clockid_t c, long n)
{
	struct timespec start, t;
	if (clock_gettime(c, &start) != 0)
		return 0;
	int64_t prev = ns(start);
	for (long i = 0; i < n || prev - ns(start) < 250 * MS; i++) {
		if (clock_gettime(c, &t) != 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000)
			return 0;
		if (ns(t) < prev)
			return 0;
		prev = ns(t);
	}
	return 1;
}

/* agrees reports whether the C library's reading of clock c lies
 * between two system-call readings, give or take 50 ms. */
static int agrees(clockid_t c)
{
	struct timespec a, v, b;
	for (int i = 0; i < 100; i++) {
		if (sys_gettime(c, &a) != 0 || clock_gettime(c, &v) != 0 || sys_gettime(c, &b) != 0)
			return 0;
		if (ns(v) < ns(a) - 50 * MS || ns(v) > ns(b) + 50 * MS)
			return 0;
	}
	return 1;
}

/* spin burns CPU time until clock c has advanced by 10 ms, or gives up
 * after 5 s of CLOCK_MONOTONIC; it reports whether c advanced. */
static int spin(clockid_t c)
{
	struct timespec c0, c1, m0, m1;
	if (clock_gettime(c, &c0) != 0 || clock_gettime(CLOCK_MONOTONIC, &m0) != 0)
		return 0;
	volatile unsigned long x = 0;
	do {
		for (int i = 0; i < 100000; i++)
			x += i;
		clock_gettime(c, &c1);
		clock_gettime(CLOCK_MONOTONIC, &m1);
	} while (ns(c1) - ns(c0) < 10 * MS && ns(m1) - ns(m0) < 5000 * MS);
	return ns(c1) - ns(c0) >= 10 * MS;
}

/* mapping finds the line of /proc/self/maps naming name and returns its
 * start, or 0; perms gets its permissions. */
static unsigned long mapping(const char *name, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	char line[512];
	unsigned long start = 0, s, e;
	while (fgets(line, sizeof line, f)) {
		char p[5], path[256] = "";
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255s", &s, &e, p, path) >= 3 && strcmp(path, name) == 0) {
			start = s;
			memcpy(perms, p, 5);
			break;
		}
	}
	fclose(f);
	return start;
}

int main(void)
{
	yesno("CLOCK_MONOTONIC never goes back (100k reads)", monotonic(CLOCK_MONOTONIC, 100000));
	yesno("CLOCK_MONOTONIC_RAW never goes back", monotonic(CLOCK_MONOTONIC_RAW, 10000));
	yesno("CLOCK_BOOTTIME never goes back", monotonic(CLOCK_BOOTTIME, 10000));

	for (unsigned i = 0; i < NCLOCKS; i++) {
		char what[80];
		snprintf(what, sizeof what, "%s agrees with the system call", clocks[i].name);
		yesno(what, agrees(clocks[i].id));
	}

	struct timespec m, b, r, tai;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_TAI, &tai);
	yesno("BOOTTIME >= MONOTONIC", ns(b) >= ns(m));
	yesno("TAI >= REALTIME", ns(tai) >= ns(r));
	yesno("REALTIME after 2020", r.tv_sec > 1577836800);

	/* gettimeofday and time against CLOCK_REALTIME: the microsecond
	 * and the second read must overlap the interval between two reads
	 * of it (time() may lag a tick natively: one second of slack). */
	int tod_ok = 1, time_ok = 1, usec_ok = 1;
	for (int i = 0; i < 1000; i++) {
		struct timespec a, z;
		struct timeval tv;
		clock_gettime(CLOCK_REALTIME, &a);
		int rc = gettimeofday(&tv, NULL);
		time_t t = time(NULL);
		clock_gettime(CLOCK_REALTIME, &z);
		int64_t lo = (tv.tv_sec * 1000000LL + tv.tv_usec) * 1000;
		tod_ok &= rc == 0 && lo <= ns(z) && lo + 1000 > ns(a);
		usec_ok &= tv.tv_usec >= 0 && tv.tv_usec < 1000000;
		time_ok &= t >= a.tv_sec - 1 && t <= z.tv_sec;
	}
	yesno("gettimeofday agrees with CLOCK_REALTIME", tod_ok);
	yesno("gettimeofday tv_usec in range", usec_ok);
	yesno("time agrees with CLOCK_REALTIME", time_ok);
	time_t stored = 0, ret = time(&stored);
	yesno("time stores what it returns", ret == stored && ret > 1577836800);
	struct timezone tz = {-1, -1};
	struct timeval tv;
	show("gettimeofday with a timezone", gettimeofday(&tv, &tz));
	yesno("gettimeofday filled the timezone", tz.tz_minuteswest != -1 && tz.tz_dsttime != -1);

	/* Resolutions: the C library's (the vDSO's) and the system call's
	 * agree; the coarse clocks lag the fine ones by at most about one
	 * tick, and never lead them. */
	for (unsigned i = 0; i < NCLOCKS; i++) {
		struct timespec r1 = {-1, -1}, r2 = {-2, -2};
		int e1 = clock_getres(clocks[i].id, &r1), e2 = syscall(SYS_clock_getres, clocks[i].id, &r2);
		char what[80];
		snprintf(what, sizeof what, "clock_getres %s agrees with the system call", clocks[i].name);
		yesno(what, e1 == 0 && e2 == 0 && r1.tv_sec == r2.tv_sec && r1.tv_nsec == r2.tv_nsec);
	}
	static const struct {
		clockid_t coarse, fine;
		const char *name, *fine_name;
	} coarse[] = {
		{CLOCK_REALTIME_COARSE, CLOCK_REALTIME, "REALTIME_COARSE", "REALTIME"},
		{CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC, "MONOTONIC_COARSE", "MONOTONIC"},
	};
	for (unsigned i = 0; i < 2; i++) {
		struct timespec res, f1, c, f2;
		clock_getres(coarse[i].coarse, &res);
		char what[80];
		snprintf(what, sizeof what, "%s resolution between 1 us and 10 ms", coarse[i].name);
		yesno(what, res.tv_sec == 0 && res.tv_nsec >= 1000 && res.tv_nsec <= 10 * MS);
		int ok = 1;
		for (int j = 0; j < 1000; j++) {
			clock_gettime(coarse[i].fine, &f1);
			clock_gettime(coarse[i].coarse, &c);
			clock_gettime(coarse[i].fine, &f2);
			ok &= ns(c) <= ns(f2) && ns(c) >= ns(f1) - ns(res) - 10 * MS;
		}
		snprintf(what, sizeof what, "%s within a tick of %s", coarse[i].name, coarse[i].fine_name);
		yesno(what, ok);
	}

	/* The CPU-time clocks are not the vDSO's to answer: they advance
	 * with work done. */
	yesno("CLOCK_PROCESS_CPUTIME_ID advances", spin(CLOCK_PROCESS_CPUTIME_ID));
	yesno("CLOCK_THREAD_CPUTIME_ID advances", spin(CLOCK_THREAD_CPUTIME_ID));
	struct timespec bad;
	expect_err("clock_gettime bad clock", clock_gettime(12345, &bad));
	expect_err("clock_gettime clock 12", clock_gettime(12, &bad));
	expect_err("clock_gettime clock -1", clock_gettime(-1, &bad));

	/* A forked child reads on from where its parent was. */
	struct timespec before;
	clock_gettime(CLOCK_MONOTONIC, &before);
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec after;
		clock_gettime(CLOCK_MONOTONIC, &after);
		_exit(ns(after) >= ns(before) && monotonic(CLOCK_MONOTONIC, 10000) && agrees(CLOCK_REALTIME) ? 0 : 1);
	}
	int status;
	yesno("a forked child's clocks go on", pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The vDSO and its data page, as Linux maps them. */
	char vdso_perms[5] = "", vvar_perms[5] = "";
	unsigned long vdso = mapping("[vdso]", vdso_perms), vvar = mapping("[vvar]", vvar_perms);
	yesno("AT_SYSINFO_EHDR is [vdso]", vdso != 0 && getauxval(AT_SYSINFO_EHDR) == vdso);
	yesno("[vdso] is r-xp", strcmp(vdso_perms, "r-xp") == 0);
	yesno("[vvar] below [vdso]", vvar != 0 && vvar < vdso);
	yesno("[vvar] is r--p", strcmp(vvar_perms, "r--p") == 0);
	return 0;
}
