/*
 * Helpers shared by the process, thread and signal programs: forking with
 * stdout flushed, describing wait statuses and signals by name, memory
 * shared with children, and waiting on a shared flag.
 *
 * Synchronisation between processes goes through MAP_SHARED memory and
 * short sleeps rather than pipes, so that these programs exercise
 * processes and signals even where pipes are not there yet. A wait loop
 * never times anything: it only waits for a flag to be set.
 */
#ifndef MAGAWA_TEST_PROC_H
#define MAGAWA_TEST_PROC_H

#include "common.h"
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* signame returns "SIGUSR1", "SIGRTMIN+2" and so on. */
static inline const char *signame(int sig)
{
	static char buf[8][32];
	static int next;
	char *b = buf[next++ % 8];
	if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(b, 32, "SIGRTMIN+%d", sig - SIGRTMIN);
	else if (sigabbrev_np(sig))
		snprintf(b, 32, "SIG%s", sigabbrev_np(sig));
	else
		snprintf(b, 32, "signal %d", sig);
	return b;
}

/* status_str describes a wait status: "exited 3", "killed by SIGTERM". */
static inline const char *status_str(int st)
{
	static char buf[4][64];
	static int next;
	char *b = buf[next++ % 4];
	if (WIFEXITED(st))
		snprintf(b, 64, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(b, 64, "killed by %s%s", signame(WTERMSIG(st)),
			 WCOREDUMP(st) ? " (core dumped)" : "");
	else if (WIFSTOPPED(st))
		snprintf(b, 64, "stopped by %s", signame(WSTOPSIG(st)));
	else if (WIFCONTINUED(st))
		snprintf(b, 64, "continued");
	else
		snprintf(b, 64, "unknown status %#x", st);
	return b;
}

/* code_str names the si_code of a SIGCHLD or a sent signal. */
static inline const char *code_str(int code)
{
	switch (code) {
	case CLD_EXITED: return "CLD_EXITED";
	case CLD_KILLED: return "CLD_KILLED";
	case CLD_DUMPED: return "CLD_DUMPED";
	case CLD_TRAPPED: return "CLD_TRAPPED";
	case CLD_STOPPED: return "CLD_STOPPED";
	case CLD_CONTINUED: return "CLD_CONTINUED";
	case SI_USER: return "SI_USER";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_TKILL: return "SI_TKILL";
	case SI_TIMER: return "SI_TIMER";
	case SI_KERNEL: return "SI_KERNEL";
	}
	static char b[32];
	snprintf(b, sizeof(b), "si_code %d", code);
	return b;
}

/* xfork flushes stdout (so that no buffered line is printed twice) and forks. */
static inline pid_t xfork(void)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	return pid;
}

/* reap waits for pid and returns its status; dies if waitpid fails. */
static inline int reap(pid_t pid)
{
	int st;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r < 0 && errno == EINTR);
	if (r != pid)
		die("waitpid");
	return st;
}

/* shared_mem returns n zeroed bytes shared with the children forked after. */
static inline void *shared_mem(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap MAP_SHARED|MAP_ANONYMOUS");
	return p;
}

/* sleep_ms sleeps for ms milliseconds, resuming after signal handlers. */
static inline void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* wait_flag waits until *flag is at least v. */
static inline void wait_flag(atomic_int *flag, int v)
{
	while (atomic_load(flag) < v)
		sleep_ms(1);
}

/*
 * no_core_dumps makes sure a crash of this process never writes a core
 * file on the host, whatever its core_pattern (a pipe ignores
 * RLIMIT_CORE, not PR_SET_DUMPABLE).
 */
static inline void no_core_dumps(void)
{
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0);
}

static inline pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

#endif
