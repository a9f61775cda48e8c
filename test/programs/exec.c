/*
 * exec: execve of another program and of itself, with chosen argv and
 * envp; of a #! script run by busybox sh; the errors (missing file or
 * interpreter, directory, not executable, no format); O_CLOEXEC and
 * FD_CLOEXEC descriptors closed across exec, others kept with their
 * offset; signal dispositions, mask and pending signals across exec; exec
 * from a multithreaded process, from the main thread and from another
 * thread; vfork then exec, and vfork then _exit.
 *
 * The files it runs sit beside it (the test harness puts them there):
 * args, exec_script.sh, exec_badinterp.sh, exec_noformat.sh. The new
 * image is this program again, told what to check by argv[1].
 */
#include "proc.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

extern char **environ;

static char self[4096], dir[4096];

static char *beside(const char *name)
{
	static char buf[4][4200];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
	return b;
}

/* --- the new images --- */

static int image_args(int argc, char **argv)
{
	printf("  new image: argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("  argv[%d]=\"%s\"\n", i, argv[i]);
	for (char **e = environ; *e; e++)
		printf("  env \"%s\"\n", *e);
	return 0;
}

static int image_fds(void)
{
	for (int fd = 10; fd <= 13; fd++) {
		int fl = fcntl(fd, F_GETFD);
		printf("  fd %d: %s", fd, fl < 0 ? errname(errno) : "open");
		if (fl >= 0)
			printf(", FD_CLOEXEC %s, offset %ld", fl & FD_CLOEXEC ? "set" : "clear", (long)lseek(fd, 0, SEEK_CUR));
		printf("\n");
	}
	return 0;
}

static int image_signals(void)
{
	struct sigaction sa;
	sigaction(SIGUSR1, NULL, &sa);
	printf("  handled SIGUSR1 now: %s\n", sa.sa_handler == SIG_DFL ? "SIG_DFL" : "not SIG_DFL");
	sigaction(SIGUSR2, NULL, &sa);
	printf("  ignored SIGUSR2 now: %s\n", sa.sa_handler == SIG_IGN ? "SIG_IGN" : "not SIG_IGN");
	sigset_t m, p;
	sigprocmask(SIG_SETMASK, NULL, &m);
	sigpending(&p);
	yesno("  SIGINT still blocked", sigismember(&m, SIGINT));
	yesno("  SIGINT still pending", sigismember(&p, SIGINT));
	stack_t ss;
	sigaltstack(NULL, &ss);
	yesno("  alternate stack disabled", ss.ss_flags == SS_DISABLE);
	return 0;
}

static int image_pid(const char *oldpid)
{
	yesno("  pid unchanged by exec", getpid() == atoi(oldpid));
	yesno("  gettid is getpid (one thread left)", gettid_() == getpid());
	return 0;
}

/* --- the tests --- */

static void run_child(const char *what, void (*fn)(void))
{
	printf("-- %s\n", what);
	pid_t pid = xfork();
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(99);
	}
	printf("%s: %s\n", what, status_str(reap(pid)));
}

static void exec_args(void)
{
	char *argv[] = {"custom-argv0", "args", "one", "two words", "", "--x", NULL};
	char *envp[] = {"A=1", "EMPTY=", "B=two words", "PATH=/bin", NULL};
	execve(self, argv, envp);
	printf("execve: %s\n", errname(errno));
}

static void exec_other(void)
{
	char *argv[] = {"args-program", "x", "y", NULL};
	char *envp[] = {"HOME=/nowhere", "ONLY=this", NULL};
	execve(beside("args"), argv, envp);
	printf("execve: %s\n", errname(errno));
}

static void exec_script(void)
{
	char *argv[] = {"script-argv0", "first", "second arg", NULL};
	char *envp[] = {"FOO=bar", "PATH=/usr/bin:/bin", NULL};
	execve(beside("exec_script.sh"), argv, envp);
	printf("execve: %s\n", errname(errno));
}

static void exec_errors(void)
{
	char *argv[] = {"x", NULL};
	char *envp[] = {NULL};
	expect_err("execve of a missing file", execve("/nonexistent-magawa-test/prog", argv, envp));
	expect_err("execve of a directory", execve(dir[0] ? dir : "/", argv, envp));
	expect_err("execve of a file without x permission", execve("/etc/passwd", argv, envp));
	expect_err("execve of a script with a missing interpreter", execve(beside("exec_badinterp.sh"), argv, envp));
	expect_err("execve of a file of no known format", execve(beside("exec_noformat.sh"), argv, envp));
	expect_err("execve with a bad argv pointer", syscall(SYS_execve, self, 16L, envp));
	expect_err("execve with a bad path pointer", syscall(SYS_execve, 16L, argv, envp));
	expect_err("execve of an empty path", execve("", argv, envp));
	printf("still running after the failed execs\n");
	fflush(stdout);
	_exit(0);
}

static void exec_fds(void)
{
	int fd = open(self, O_RDONLY);
	if (fd < 0)
		die("open self");
	if (dup2(fd, 10) != 10 || dup3(fd, 11, O_CLOEXEC) != 11 || dup2(fd, 12) != 12)
		die("dup");
	fcntl(12, F_SETFD, FD_CLOEXEC);
	int fd13 = open(self, O_RDONLY | O_CLOEXEC);
	if (fd13 < 0 || dup2(fd13, 13) != 13)
		die("open O_CLOEXEC");
	fcntl(13, F_SETFD, 0); /* cleared again: kept */
	lseek(10, 100, SEEK_SET);
	lseek(13, 200, SEEK_SET);
	close(fd);
	close(fd13);
	char *argv[] = {"exec", "fds", NULL};
	execve(self, argv, environ);
	printf("execve: %s\n", errname(errno));
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void exec_signals(void)
{
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGUSR2, SIG_IGN);
	sigset_t intr;
	sigemptyset(&intr);
	sigaddset(&intr, SIGINT);
	sigprocmask(SIG_BLOCK, &intr, NULL);
	raise(SIGINT);
	stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536};
	sigaltstack(&ss, NULL);
	char *argv[] = {"exec", "signals", NULL};
	execve(self, argv, environ);
	printf("execve: %s\n", errname(errno));
}

static void exec_pid(void)
{
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {"exec", "pid", pid, NULL};
	execve(self, argv, environ);
	printf("execve: %s\n", errname(errno));
}

/* --- exec with other threads around --- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started;
static pid_t mainpid;

static void *idle_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	started++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (;;)
		pause();
	return NULL;
}

static void *exec_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (started < 3)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", mainpid);
	char *argv[] = {"exec", "pid", pid, NULL};
	if (gettid_() == mainpid)
		printf("exec thread is the main thread?\n");
	execve(self, argv, environ);
	printf("execve: %s\n", errname(errno));
	fflush(stdout);
	_exit(98);
}

static void start_idle(int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, idle_thread, NULL))
			die("pthread_create");
	}
}

static void exec_from_main_thread(void)
{
	mainpid = getpid();
	start_idle(3);
	pthread_mutex_lock(&mu);
	while (started < 3)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	exec_pid();
}

static void exec_from_other_thread(void)
{
	mainpid = getpid();
	start_idle(3);
	pthread_t t;
	if (pthread_create(&t, NULL, exec_thread, NULL))
		die("pthread_create");
	for (;;)
		pause();
}

/* --- vfork --- */

static volatile int stored;

static void do_vfork(void)
{
	printf("-- vfork then exec\n");
	fflush(stdout);
	stored = 0;
	pid_t pid = vfork();
	if (pid == 0) {
		stored = 1;
		char *argv[] = {"exec", "exit42", NULL};
		execve(self, argv, environ);
		_exit(97);
	}
	if (pid < 0)
		die("vfork");
	yesno("parent sees the child's store (memory shared until exec)", stored == 1);
	printf("vfork+exec child: %s\n", status_str(reap(pid)));

	printf("-- vfork then _exit\n");
	stored = 0;
	pid = vfork();
	if (pid == 0) {
		stored = 2;
		_exit(5);
	}
	yesno("parent sees the child's store", stored == 2);
	printf("vfork+_exit child: %s\n", status_str(reap(pid)));
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "args") == 0)
		return image_args(argc, argv);
	if (argc > 1 && strcmp(argv[1], "fds") == 0)
		return image_fds();
	if (argc > 1 && strcmp(argv[1], "signals") == 0)
		return image_signals();
	if (argc > 2 && strcmp(argv[1], "pid") == 0)
		return image_pid(argv[2]);
	if (argc > 1 && strcmp(argv[1], "exit42") == 0)
		return 42;

	if (argv[0][0] != '/') {
		printf("FATAL run me by an absolute path\n");
		return 2;
	}
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(dir, sizeof(dir), "%s", argv[0]);
	*strrchr(dir, '/') = 0;

	run_child("exec self with argv and envp", exec_args);
	run_child("exec another program", exec_other);
	run_child("exec a #! script", exec_script);
	run_child("failing execs", exec_errors);
	run_child("descriptors across exec", exec_fds);
	run_child("signals across exec", exec_signals);
	run_child("pid across exec", exec_pid);
	run_child("exec from the main thread with 3 other threads", exec_from_main_thread);
	run_child("exec from a second thread with 3 others", exec_from_other_thread);
	do_vfork();
	return 0;
}
