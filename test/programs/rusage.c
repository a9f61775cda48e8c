/*
 * rusage: getrusage and times, only for sanity: every field is
 * non-negative, CPU time does not go backwards, children's times count
 * only reaped children, and the errors.
 */
#include "proc.h"
#include <sys/times.h>

static int tv_ok(struct timeval tv)
{
	return tv.tv_sec >= 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000;
}

static int ru_ok(const struct rusage *ru)
{
	return tv_ok(ru->ru_utime) && tv_ok(ru->ru_stime) && ru->ru_maxrss >= 0 && ru->ru_minflt >= 0 &&
	       ru->ru_majflt >= 0 && ru->ru_nvcsw >= 0 && ru->ru_nivcsw >= 0 && ru->ru_inblock >= 0 &&
	       ru->ru_oublock >= 0;
}

static long us(struct timeval tv)
{
	return tv.tv_sec * 1000000L + tv.tv_usec;
}

static volatile unsigned long sink;

static void burn(void)
{
	for (unsigned long i = 0; i < 20000000UL; i++)
		sink += i;
}

int main(void)
{
	struct rusage self0, self1, ch0, ch1, th;
	show("getrusage RUSAGE_SELF", getrusage(RUSAGE_SELF, &self0));
	yesno("RUSAGE_SELF fields non-negative", ru_ok(&self0));
	show("getrusage RUSAGE_CHILDREN", getrusage(RUSAGE_CHILDREN, &ch0));
	yesno("RUSAGE_CHILDREN fields non-negative", ru_ok(&ch0));
	show("getrusage RUSAGE_THREAD", getrusage(RUSAGE_THREAD, &th));
	yesno("RUSAGE_THREAD fields non-negative", ru_ok(&th));
	expect_err("getrusage(42)", getrusage(42, &th));
	expect_err("getrusage bad pointer", getrusage(RUSAGE_SELF, (void *)16));

	burn();
	getrusage(RUSAGE_SELF, &self1);
	yesno("user+system time did not go backwards",
	      us(self1.ru_utime) + us(self1.ru_stime) >= us(self0.ru_utime) + us(self0.ru_stime));

	struct tms t0, t1;
	clock_t c0 = times(&t0);
	yesno("times succeeds", c0 != (clock_t)-1);
	yesno("times fields non-negative", t0.tms_utime >= 0 && t0.tms_stime >= 0 && t0.tms_cutime >= 0 &&
						   t0.tms_cstime >= 0);
	printf("times children before any child: %s\n", t0.tms_cutime == 0 && t0.tms_cstime == 0 ? "zero" : "non-zero");
	yesno("times(NULL) succeeds", times(NULL) != (clock_t)-1);

	/* A child burns CPU; its time counts once it is reaped. */
	pid_t pid = xfork();
	if (pid == 0) {
		burn();
		_exit(0);
	}
	struct rusage ru;
	int st;
	if (wait4(pid, &st, 0, &ru) != pid)
		die("wait4");
	yesno("wait4 rusage fields non-negative", ru_ok(&ru));
	getrusage(RUSAGE_CHILDREN, &ch1);
	yesno("RUSAGE_CHILDREN fields non-negative after reaping", ru_ok(&ch1));
	yesno("children's time did not go backwards",
	      us(ch1.ru_utime) + us(ch1.ru_stime) >= us(ch0.ru_utime) + us(ch0.ru_stime));
	/* Within a tick: Linux computes the two sums separately from the
	 * child's sampled times (cputime_adjust), and natively they were
	 * seen to differ by less than one. */
	yesno("children's time at least the reaped child's",
	      us(ch1.ru_utime) + us(ch1.ru_stime) + 10000 >= us(ru.ru_utime) + us(ru.ru_stime));
	clock_t c1 = times(&t1);
	yesno("times clock did not go backwards", c1 >= c0);
	yesno("tms_cutime did not go backwards", t1.tms_cutime >= t0.tms_cutime);
	return 0;
}
