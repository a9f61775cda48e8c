/*
 * sigrestart: system calls interrupted by a handled signal. With
 * SA_RESTART a blocking read of a pipe and a wait4 are restarted, without
 * it they fail with EINTR; nanosleep, clock_nanosleep and sigsuspend are
 * never restarted. The interrupting signals come from a child (which
 * keeps sending until the parent is past the call) and from timers
 * (setitimer, timer_create).
 */
#include "proc.h"
#include <sys/time.h>

struct shared {
	atomic_int in_call;  /* the parent is about to block */
	atomic_int hit;      /* a handler ran while in_call was set */
	atomic_int done;     /* the parent is past the call */
	atomic_int handled;  /* handler runs */
};

static struct shared *sh;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&sh->handled, 1);
	if (atomic_load(&sh->in_call))
		atomic_store(&sh->hit, 1);
}

static void set_usr1(int flags)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = flags};
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		die("sigaction");
}

static void reset(void)
{
	atomic_store(&sh->in_call, 0);
	atomic_store(&sh->hit, 0);
	atomic_store(&sh->done, 0);
	atomic_store(&sh->handled, 0);
}

/*
 * pester forks a child that sends SIGUSR1 to the parent every few
 * milliseconds until a handler has run during the call (then, if wfd >= 0,
 * writes "data" to it and, if exit_after_hit, exits 9) or until the
 * parent is past the call.
 */
static pid_t pester(int wfd, int exit_after_hit)
{
	pid_t parent = getpid();
	pid_t pid = xfork();
	if (pid != 0)
		return pid;
	while (!atomic_load(&sh->done)) {
		if (atomic_load(&sh->hit)) {
			if (wfd >= 0) {
				if (write(wfd, "data", 4) != 4)
					_exit(3);
				wfd = -1;
			}
			if (exit_after_hit)
				_exit(9);
		}
		kill(parent, SIGUSR1);
		sleep_ms(3);
	}
	_exit(0);
}

static void pipe_read(int restart)
{
	printf("-- read of a pipe, %s\n", restart ? "SA_RESTART" : "no SA_RESTART");
	reset();
	set_usr1(restart ? SA_RESTART : 0);
	int p[2];
	if (pipe(p) < 0) {
		printf("pipe: errno %s\n", errname(errno));
		return;
	}
	pid_t pid = pester(restart ? p[1] : -1, 0);
	char buf[16] = {0};
	atomic_store(&sh->in_call, 1);
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	int e = errno;
	atomic_store(&sh->in_call, 0);
	atomic_store(&sh->done, 1);
	if (n < 0)
		printf("read: errno %s\n", errname(e));
	else
		printf("read: %zd bytes \"%s\"\n", n, buf);
	yesno("handler ran", atomic_load(&sh->handled) > 0);
	printf("child: %s\n", status_str(reap(pid)));
	close(p[0]);
	close(p[1]);
}

static void wait_restart(int restart)
{
	printf("-- wait4, %s\n", restart ? "SA_RESTART" : "no SA_RESTART");
	reset();
	set_usr1(restart ? SA_RESTART : 0);
	pid_t pid = pester(-1, restart);
	int st = 0;
	atomic_store(&sh->in_call, 1);
	pid_t r = wait4(pid, &st, 0, NULL);
	int e = errno;
	atomic_store(&sh->in_call, 0);
	atomic_store(&sh->done, 1);
	if (r < 0)
		printf("wait4: errno %s\n", errname(e));
	else
		printf("wait4: child %s\n", status_str(st));
	yesno("handler ran", atomic_load(&sh->handled) > 0);
	if (r < 0)
		printf("child: %s\n", status_str(reap(pid)));
}

static void sleep_restart(void)
{
	printf("-- nanosleep and clock_nanosleep, SA_RESTART\n");
	reset();
	set_usr1(SA_RESTART);
	pid_t pid = pester(-1, 0);
	struct timespec ts = {30, 0}, rem = {0, 0};
	atomic_store(&sh->in_call, 1);
	int r = nanosleep(&ts, &rem);
	int e = errno;
	atomic_store(&sh->in_call, 0);
	printf("nanosleep: %d, errno %s\n", r, errname(e));
	yesno("remaining time left", rem.tv_sec > 0 || rem.tv_nsec > 0);
	atomic_store(&sh->in_call, 1);
	r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem);
	atomic_store(&sh->in_call, 0);
	atomic_store(&sh->done, 1);
	printf("clock_nanosleep: returns %s\n", r ? errname(r) : "0");
	printf("child: %s\n", status_str(reap(pid)));
}

static volatile sig_atomic_t alarms;
static siginfo_t timer_si;

static void on_alarm(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	timer_si = *si;
	alarms++;
}

static void timers(void)
{
	printf("-- nanosleep interrupted by setitimer's SIGALRM\n");
	struct sigaction sa = {.sa_sigaction = on_alarm, .sa_flags = SA_SIGINFO | SA_RESTART};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {0, 20000}};
	if (show("setitimer ITIMER_REAL 20ms", setitimer(ITIMER_REAL, &it, NULL)) == 0) {
		struct timespec ts = {30, 0};
		int r = nanosleep(&ts, &ts);
		printf("nanosleep: %d, errno %s\n", r, errname(errno));
		printf("SIGALRM handled: %d, %s\n", (int)alarms, code_str(timer_si.si_code));
		struct itimerval cur;
		getitimer(ITIMER_REAL, &cur);
		yesno("one-shot timer disarmed", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
	}

	printf("-- nanosleep interrupted by a POSIX timer\n");
	alarms = 0;
	sigaction(SIGRTMIN, &sa, NULL);
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN,
			       .sigev_value = {.sival_int = 4242}};
	timer_t tm;
	if (show("timer_create CLOCK_MONOTONIC", timer_create(CLOCK_MONOTONIC, &sev, &tm)) == 0) {
		struct itimerspec its = {.it_value = {0, 20 * 1000 * 1000}};
		show("timer_settime 20ms", timer_settime(tm, 0, &its, NULL));
		struct timespec ts = {30, 0};
		int r = nanosleep(&ts, &ts);
		printf("nanosleep: %d, errno %s\n", r, errname(errno));
		printf("timer signal handled: %d, %s, si_value %d\n", (int)alarms, code_str(timer_si.si_code),
		       timer_si.si_value.sival_int);
		show("timer_delete", timer_delete(tm));
	}
}

static void suspend_never_restarts(void)
{
	printf("-- sigsuspend, SA_RESTART\n");
	reset();
	set_usr1(SA_RESTART);
	pid_t pid = pester(-1, 0);
	sigset_t none;
	sigemptyset(&none);
	int r = sigsuspend(&none);
	printf("sigsuspend: %d, errno %s\n", r, errname(errno));
	atomic_store(&sh->done, 1);
	printf("child: %s\n", status_str(reap(pid)));
}

int main(void)
{
	sh = shared_mem(sizeof(*sh));
	pipe_read(1);
	pipe_read(0);
	wait_restart(1);
	wait_restart(0);
	sleep_restart();
	suspend_never_restarts();
	timers();
	return 0;
}
