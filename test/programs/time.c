/*
 * time: clocks advance, resolutions, nanosleep sleeps at least as long as
 * asked, and the realtime views (gettimeofday, time, clock_gettime) agree.
 * Only relations are printed.
 */
#include "common.h"
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t)
{
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* raw_gettime bypasses the vDSO, so the system call itself is tested. */
static long raw_gettime(clockid_t c, struct timespec *t)
{
	return syscall(SYS_clock_gettime, c, t);
}

int main(void)
{
	struct timespec r0, r1, m0, m1, b0;

	if (raw_gettime(CLOCK_REALTIME, &r0) < 0 || raw_gettime(CLOCK_MONOTONIC, &m0) < 0)
		die("clock_gettime");
	if (raw_gettime(CLOCK_BOOTTIME, &b0) < 0)
		die("clock_gettime BOOTTIME");
	yesno("realtime after 2020", r0.tv_sec > 1577836800);
	yesno("tv_nsec in range", r0.tv_nsec >= 0 && r0.tv_nsec < 1000000000 &&
				       m0.tv_nsec >= 0 && m0.tv_nsec < 1000000000);
	yesno("boottime >= monotonic", ns(b0) >= ns(m0));

	struct timespec req = {0, 10 * 1000 * 1000}, rem = {1, 1};
	show("nanosleep 10ms", nanosleep(&req, &rem));
	if (raw_gettime(CLOCK_REALTIME, &r1) < 0 || raw_gettime(CLOCK_MONOTONIC, &m1) < 0)
		die("clock_gettime");
	long long dm = ns(m1) - ns(m0);
	yesno("monotonic advanced", dm > 0);
	yesno("slept at least 10ms (monotonic)", dm >= 10 * 1000 * 1000);
	yesno("slept less than 10s (monotonic)", dm < 10 * 1000000000LL);
	yesno("realtime advanced", ns(r1) > ns(r0));

	struct timespec c0, c1;
	show("clock_nanosleep relative 1ms", ({
		     struct timespec d = {0, 1000 * 1000};
		     raw_gettime(CLOCK_MONOTONIC, &c0);
		     long e = clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
		     raw_gettime(CLOCK_MONOTONIC, &c1);
		     e == 0 ? 0 : (errno = e, -1);
	     }));
	yesno("clock_nanosleep slept at least 1ms", ns(c1) - ns(c0) >= 1000 * 1000);
	show("clock_nanosleep absolute in the past", ({
		     long e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &m0, NULL);
		     e == 0 ? 0 : (errno = e, -1);
	     }));

	/* Many reads in a row never go backwards. */
	int monotonic = 1;
	struct timespec prev = m1, cur;
	for (int i = 0; i < 1000; i++) {
		raw_gettime(CLOCK_MONOTONIC, &cur);
		monotonic &= ns(cur) >= ns(prev);
		prev = cur;
	}
	yesno("1000 monotonic reads non-decreasing", monotonic);

	/* Resolutions. */
	struct timespec res;
	clockid_t fine[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
	const char *fine_names[] = {"REALTIME", "MONOTONIC", "BOOTTIME"};
	for (int i = 0; i < 3; i++) {
		if (syscall(SYS_clock_getres, fine[i], &res) < 0)
			printf("clock_getres %s: errno %s\n", fine_names[i], errname(errno));
		else
			printf("clock_getres %s: %ld.%09ld\n", fine_names[i],
			       (long)res.tv_sec, res.tv_nsec);
	}
	clockid_t coarse[] = {CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE};
	for (int i = 0; i < 2; i++) {
		res.tv_sec = res.tv_nsec = 0;
		long e = syscall(SYS_clock_getres, coarse[i], &res);
		yesno("coarse clock_getres positive", e == 0 && ns(res) > 0);
	}
	show("clock_getres NULL", syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL));
	show("clock_gettime PROCESS_CPUTIME", raw_gettime(CLOCK_PROCESS_CPUTIME_ID, &res));
	show("clock_gettime THREAD_CPUTIME", raw_gettime(CLOCK_THREAD_CPUTIME_ID, &res));
	expect_err("clock_gettime bad clock", raw_gettime(12345, &res));
	expect_err("clock_gettime bad pointer", raw_gettime(CLOCK_MONOTONIC, (struct timespec *)16));
	expect_err("clock_getres bad clock", syscall(SYS_clock_getres, 12345, &res));

	/* The realtime views agree within a second. */
	struct timeval tv;
	struct timespec rt;
	if (syscall(SYS_gettimeofday, &tv, NULL) < 0)
		die("gettimeofday");
	time_t t = syscall(SYS_time, NULL);
	raw_gettime(CLOCK_REALTIME, &rt);
	long long diff = ns(rt) - (tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL);
	yesno("gettimeofday agrees with clock_gettime", diff >= 0 && diff < 1000000000LL);
	yesno("time agrees with clock_gettime", rt.tv_sec - t >= 0 && rt.tv_sec - t <= 1);
	yesno("gettimeofday usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	time_t t2;
	yesno("time stores through its pointer", syscall(SYS_time, &t2) >= t && t2 >= t);

	/* Bad arguments. */
	struct timespec bad = {0, 1000000000};
	expect_err("nanosleep tv_nsec too large", nanosleep(&bad, NULL));
	bad.tv_sec = -1;
	bad.tv_nsec = 0;
	expect_err("nanosleep negative", nanosleep(&bad, NULL));
	expect_err("nanosleep bad pointer", syscall(SYS_nanosleep, (void *)16, NULL));
	struct timespec zero = {0, 0};
	show("nanosleep zero", nanosleep(&zero, NULL));
	return 0;
}
