/*
 * filelock: advisory file locks between a parent and a forked child:
 * fcntl record locks (F_SETLK, F_SETLKW, F_GETLK), their splitting and
 * merging as another process sees them, blocking, deadlock detection,
 * interruption, OFD locks (F_OFD_*), flock(2), and release on close and
 * exit. The two processes take turns through pipes, so that exactly one
 * of them prints at a time; PIDs are never printed, only compared.
 */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int to_child[2], to_parent[2];
static pid_t parent_pid, child_pid;

static void send_byte(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		die("write pipe");
}

static char recv_byte(int fd)
{
	char c;
	if (read(fd, &c, 1) != 1)
		die("read pipe");
	return c;
}

/* The child's turn: wait for the parent. */
#define CHILD_WAITS() recv_byte(to_child[0])
#define PARENT_WAITS() recv_byte(to_parent[0])
#define TO_CHILD(c) send_byte(to_child[1], (c))
#define TO_PARENT(c) send_byte(to_parent[1], (c))

/* quiet reports whether the parent has heard nothing from the child. */
static int quiet(void)
{
	struct pollfd p = {.fd = to_parent[0], .events = POLLIN};
	return poll(&p, 1, 0) == 0;
}

static const char *tname(int t)
{
	switch (t) {
	case F_RDLCK:
		return "F_RDLCK";
	case F_WRLCK:
		return "F_WRLCK";
	case F_UNLCK:
		return "F_UNLCK";
	}
	return "F_?";
}

/* lk calls fcntl(fd, cmd) on a SEEK_SET range and returns its result. */
static int lk(int fd, int cmd, int type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	return fcntl(fd, cmd, &fl);
}

/* setlk prints the result of a record-lock request. */
static void setlk(const char *what, int fd, int cmd, int type, off_t start, off_t len)
{
	int r = lk(fd, cmd, type, start, len);
	if (r == -1)
		printf("%s: errno %s\n", what, errname(errno));
	else
		printf("%s: ok\n", what);
}

static void must(int fd, int cmd, int type, off_t start, off_t len)
{
	if (lk(fd, cmd, type, start, len) == -1)
		die("fcntl lock");
}

/*
 * getlk prints what F_GETLK (or F_OFD_GETLK) reports for a range: the
 * conflicting lock's type and range, and its l_pid compared with owner
 * ("-1" for an OFD lock).
 */
static struct flock getlk(const char *what, int fd, int cmd, int type,
			  off_t start, off_t len, pid_t owner)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	if (fcntl(fd, cmd, &fl) == -1) {
		printf("%s: errno %s\n", what, errname(errno));
		fl.l_type = -1;
		return fl;
	}
	if (fl.l_type == F_UNLCK) {
		printf("%s: F_UNLCK\n", what);
		return fl;
	}
	printf("%s: %s start=%lld len=%lld whence=%d pid=%s\n", what,
	       tname(fl.l_type), (long long)fl.l_start, (long long)fl.l_len,
	       fl.l_whence,
	       fl.l_pid == -1 ? "-1" : fl.l_pid == owner ? "owner" : "other");
	return fl;
}

/* list prints every lock of others on fd, in order, as F_GETLK finds them. */
static void list(const char *what, int fd, pid_t owner)
{
	off_t pos = 0;
	printf("%s:", what);
	for (int i = 0; i < 20; i++) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = pos, .l_len = 0};
		if (fcntl(fd, F_GETLK, &fl) == -1) {
			printf(" errno %s", errname(errno));
			break;
		}
		if (fl.l_type == F_UNLCK)
			break;
		printf(" %c[%lld,", fl.l_type == F_RDLCK ? 'R' : 'W', (long long)fl.l_start);
		if (fl.l_len)
			printf("+%lld]", (long long)fl.l_len);
		else
			printf("eof]");
		if (fl.l_pid != owner)
			printf("(other pid)");
		if (fl.l_len == 0)
			break;
		pos = fl.l_start + fl.l_len;
	}
	printf("\n");
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void arm(int restart)
{
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {.tv_usec = 100000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

/* The argument checks, in one process, before anything is locked. */
static void arguments(const char *path, int fd)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = -1, .l_len = 1};
	expect_err("F_SETLK start -1", fcntl(fd, F_SETLK, &fl));
	fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = -6};
	expect_err("F_SETLK len reaching below 0", fcntl(fd, F_SETLK, &fl));
	fl = (struct flock){.l_type = F_RDLCK, .l_whence = 3, .l_start = 0, .l_len = 1};
	expect_err("F_SETLK bad whence", fcntl(fd, F_SETLK, &fl));
	fl = (struct flock){.l_type = 7, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	expect_err("F_SETLK bad type", fcntl(fd, F_SETLK, &fl));
	fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = INT64_MAX, .l_len = 2};
	expect_err("F_SETLK past the largest offset", fcntl(fd, F_SETLK, &fl));
	fl = (struct flock){.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 1};
	expect_err("F_OFD_SETLK with l_pid", fcntl(fd, F_OFD_SETLK, &fl));
	fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 1};
	expect_err("F_OFD_GETLK with l_pid", fcntl(fd, F_OFD_GETLK, &fl));
	fl = (struct flock){.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	expect_err("F_GETLK with F_UNLCK", fcntl(fd, F_GETLK, &fl));
	setlk("F_SETLK len -5 from 5", fd, F_SETLK, F_RDLCK, 5, -5);
	setlk("F_SETLK unlock", fd, F_SETLK, F_UNLCK, 0, 0);

	/* Without a conflict F_GETLK changes l_type only. */
	fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = 3, .l_len = 4, .l_pid = 12345};
	int r = fcntl(fd, F_GETLK, &fl);
	yesno("F_GETLK without a conflict changes l_type only",
	      r == 0 && fl.l_type == F_UNLCK && fl.l_whence == SEEK_CUR &&
		      fl.l_start == 3 && fl.l_len == 4 && fl.l_pid == 12345);

	/* The lock type must match the descriptor's access mode. */
	int ro = open(path, O_RDONLY);
	int wo = open(path, O_WRONLY);
	if (ro < 0 || wo < 0)
		die("open");
	expect_err("F_SETLK F_WRLCK on O_RDONLY", lk(ro, F_SETLK, F_WRLCK, 0, 1));
	expect_err("F_SETLK F_RDLCK on O_WRONLY", lk(wo, F_SETLK, F_RDLCK, 0, 1));
	setlk("F_SETLK F_UNLCK on O_RDONLY", ro, F_SETLK, F_UNLCK, 0, 1);
	setlk("F_GETLK F_WRLCK on O_RDONLY", ro, F_GETLK, F_WRLCK, 0, 1);
	setlk("F_SETLK F_RDLCK on O_RDONLY", ro, F_SETLK, F_RDLCK, 0, 1);
	show("flock LOCK_EX on O_RDONLY", flock(ro, LOCK_EX));
	close(ro);
	close(wo);

	/* flock's operations. */
	expect_err("flock 0", flock(fd, 0));
	expect_err("flock LOCK_SH|LOCK_EX", flock(fd, LOCK_SH | LOCK_EX));
	show("flock LOCK_UN without a lock", flock(fd, LOCK_UN));
	expect_err("flock on a bad descriptor", flock(-1, LOCK_SH));
}

/* The child's side. a, b and c are three descriptions of the file. */
static void child(int a, int b, int c)
{
	pid_t parent = getppid();
	yesno("child: getppid is the parent", parent == parent_pid);

	/* Round 1: the parent holds W[10,19] and R[30,EOF]. */
	CHILD_WAITS();
	struct flock fl = getlk("child: F_GETLK W 0..EOF", a, F_GETLK, F_WRLCK, 0, 0, parent);
	yesno("child sees parent's pid", fl.l_pid == parent);
	getlk("child: F_GETLK R [15,15]", a, F_GETLK, F_RDLCK, 15, 1, parent);
	getlk("child: F_GETLK R 20..EOF", a, F_GETLK, F_RDLCK, 20, 0, parent);
	getlk("child: F_GETLK W 20..EOF", a, F_GETLK, F_WRLCK, 20, 0, parent);
	getlk("child: F_GETLK W [20,29]", a, F_GETLK, F_WRLCK, 20, 10, parent);
	getlk("child: F_GETLK W [29,30]", a, F_GETLK, F_WRLCK, 29, 2, parent);
	setlk("child: F_SETLK W [12,12]", a, F_SETLK, F_WRLCK, 12, 1);
	setlk("child: F_SETLK R [35,36]", a, F_SETLK, F_RDLCK, 35, 2);
	setlk("child: F_SETLK W [35,36] (upgrade under a reader)", a, F_SETLK, F_WRLCK, 35, 2);
	setlk("child: F_SETLK unlock [35,36]", a, F_SETLK, F_UNLCK, 35, 2);
	fl = getlk("child: F_OFD_GETLK W 0..EOF", b, F_OFD_GETLK, F_WRLCK, 0, 0, parent);
	yesno("child: F_OFD_GETLK sees parent's pid", fl.l_pid == parent);
	TO_PARENT('1');

	/* Rounds 2-4: the parent splits, merges, upgrades, downgrades. */
	CHILD_WAITS();
	list("child: after unlock [12,14], W [50,59], R [19,19]", a, parent);
	TO_PARENT('2');
	CHILD_WAITS();
	list("child: after W [19,41]", a, parent);
	TO_PARENT('3');
	CHILD_WAITS();
	list("child: after R 0..EOF", a, parent);
	TO_PARENT('4');

	/* Round 5: F_SETLKW waits until the parent unlocks. */
	CHILD_WAITS();
	TO_PARENT('w');
	setlk("child: F_SETLKW W [10,19]", a, F_SETLKW, F_WRLCK, 10, 10);
	TO_PARENT('g');

	/*
	 * Round 6: deadlock. The child holds W[10,19] and waits for [20,20],
	 * which the parent holds; the parent then asks for [10,10]. Whoever
	 * closes the cycle gets EDEADLK (the parent, unless the child is very
	 * slow to go to sleep) and releases what the other waits for.
	 */
	CHILD_WAITS();
	TO_PARENT('d');
	int r = lk(a, F_SETLKW, F_WRLCK, 20, 1);
	int e = errno;
	if (r == -1 && e == EDEADLK)
		must(a, F_SETLK, F_UNLCK, 0, 0);
	TO_PARENT(r == 0 ? 'o' : e == EDEADLK ? 'D' : 'E');
	CHILD_WAITS();
	must(a, F_SETLK, F_UNLCK, 0, 0);
	TO_PARENT('6');

	/* Round 7: interrupted waits. The parent holds W 0..EOF. */
	CHILD_WAITS();
	arm(0);
	setlk("child: F_SETLKW interrupted by a signal", a, F_SETLKW, F_WRLCK, 0, 1);
	yesno("child: the handler ran", alarms == 1);
	arm(1);
	TO_PARENT('r');
	setlk("child: F_SETLKW with a SA_RESTART handler", a, F_SETLKW, F_WRLCK, 0, 1);
	yesno("child: the handler ran again", alarms == 2);
	must(a, F_SETLK, F_UNLCK, 0, 0);
	TO_PARENT('7');

	/* Round 8: OFD locks. The parent's description c holds W[60,69]. */
	CHILD_WAITS();
	getlk("child: F_OFD_GETLK through the same description", c, F_OFD_GETLK, F_WRLCK, 60, 10, parent);
	getlk("child: F_OFD_GETLK through another description", b, F_OFD_GETLK, F_WRLCK, 60, 1, parent);
	getlk("child: F_GETLK of an OFD lock", a, F_GETLK, F_WRLCK, 65, 0, parent);
	setlk("child: F_SETLK W [60,60] under an OFD lock", a, F_SETLK, F_WRLCK, 60, 1);
	setlk("child: F_OFD_SETLK R [0,9] beside the parent's reader", b, F_OFD_SETLK, F_RDLCK, 0, 10);
	setlk("child: F_OFD_SETLK unlock", b, F_OFD_SETLK, F_UNLCK, 0, 0);
	TO_PARENT('8');
	CHILD_WAITS(); /* the parent closed its c */
	getlk("child: parent's R [0,9] after it closed c", a, F_GETLK, F_WRLCK, 0, 10, parent);
	getlk("child: OFD lock while the child holds c", a, F_GETLK, F_WRLCK, 60, 10, parent);
	close(c);
	getlk("child: OFD lock after the last close of c", a, F_GETLK, F_WRLCK, 60, 10, parent);
	TO_PARENT('9');

	/* Round 9: flock. The parent holds LOCK_EX on a. */
	CHILD_WAITS();
	r = flock(b, LOCK_EX | LOCK_NB);
	e = errno;
	expect_err("child: flock LOCK_EX|LOCK_NB on another description", r);
	yesno("child: that is EWOULDBLOCK", r == -1 && e == EWOULDBLOCK);
	expect_err("child: flock LOCK_SH|LOCK_NB on another description", flock(b, LOCK_SH | LOCK_NB));
	show("child: flock LOCK_EX|LOCK_NB on the shared description", flock(a, LOCK_EX | LOCK_NB));
	setlk("child: F_SETLK W 0..EOF beside a flock", b, F_SETLK, F_WRLCK, 0, 0);
	must(b, F_SETLK, F_UNLCK, 0, 0);
	TO_PARENT('a');
	CHILD_WAITS(); /* the parent converted to LOCK_SH */
	show("child: flock LOCK_SH|LOCK_NB after the downgrade", flock(b, LOCK_SH | LOCK_NB));
	expect_err("child: flock LOCK_EX|LOCK_NB conversion", flock(b, LOCK_EX | LOCK_NB));
	TO_PARENT('b');
	CHILD_WAITS(); /* the parent holds LOCK_EX again */
	TO_PARENT('w');
	show("child: flock LOCK_EX waits for LOCK_UN", flock(b, LOCK_EX));
	TO_PARENT('g');
	CHILD_WAITS(); /* the parent closed its b */
	close(b);
	TO_PARENT('c');

	/* Round 10: the child's lock goes with it. */
	CHILD_WAITS();
	must(a, F_SETLK, F_WRLCK, 0, 0);
	TO_PARENT('x');
	CHILD_WAITS();
	exit(0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char path[] = "/tmp/magawa-filelock-XXXXXX";
	int a = mkstemp(path);
	if (a < 0)
		die("mkstemp");
	char buf[100];
	memset(buf, 'x', sizeof(buf));
	if (write(a, buf, sizeof(buf)) != sizeof(buf))
		die("write");
	int b = open(path, O_RDWR);
	int c = open(path, O_RDWR);
	if (b < 0 || c < 0)
		die("open");
	arguments(path, a);
	unlink(path);

	if (pipe(to_child) || pipe(to_parent))
		die("pipe");
	parent_pid = getpid();

	/* Round 1: W[10,19]; R[30,39] through SEEK_CUR; R[40,EOF] merges. */
	must(a, F_SETLK, F_WRLCK, 10, 10);
	lseek(a, 50, SEEK_SET);
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_CUR, .l_start = -20, .l_len = 10};
	show("F_SETLK R SEEK_CUR -20 len 10", fcntl(a, F_SETLK, &fl));
	must(a, F_SETLK, F_RDLCK, 40, 0);
	getlk("own locks never conflict", a, F_GETLK, F_WRLCK, 0, 0, parent_pid);

	fflush(stdout);
	child_pid = fork();
	if (child_pid < 0)
		die("fork");
	if (child_pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		child(a, b, c);
	}
	close(to_child[0]);
	close(to_parent[1]);

	TO_CHILD('1');
	PARENT_WAITS();

	must(a, F_SETLK, F_UNLCK, 12, 3);
	must(a, F_SETLK, F_WRLCK, 50, 10);
	must(a, F_SETLK, F_RDLCK, 19, 1);
	TO_CHILD('2');
	PARENT_WAITS();
	must(a, F_SETLK, F_WRLCK, 19, 23);
	TO_CHILD('3');
	PARENT_WAITS();
	must(a, F_SETLK, F_RDLCK, 0, 0);
	TO_CHILD('4');
	PARENT_WAITS();

	/* Round 5. */
	must(a, F_SETLK, F_WRLCK, 10, 10);
	TO_CHILD('5');
	PARENT_WAITS();
	usleep(200000);
	yesno("parent: child still waiting in F_SETLKW", quiet());
	must(a, F_SETLK, F_UNLCK, 10, 10);
	yesno("parent: child got the lock after the unlock", PARENT_WAITS() == 'g');

	/* Round 6: the parent holds R[0,9] and R[20,EOF]. */
	TO_CHILD('6');
	PARENT_WAITS();
	usleep(200000);
	int r = lk(a, F_SETLKW, F_WRLCK, 10, 1);
	int e = errno;
	if (r == -1 && e == EDEADLK)
		must(a, F_SETLK, F_UNLCK, 0, 0);
	char theirs = PARENT_WAITS();
	int mine = r == 0 ? 'o' : e == EDEADLK ? 'D' : 'E';
	yesno("parent: exactly one side got EDEADLK",
	      (mine == 'D' && theirs == 'o') || (mine == 'o' && theirs == 'D'));
	must(a, F_SETLK, F_UNLCK, 0, 0);
	TO_CHILD('6');
	PARENT_WAITS();

	/* Round 7. */
	must(a, F_SETLK, F_WRLCK, 0, 0);
	TO_CHILD('7');
	PARENT_WAITS();
	usleep(400000);
	must(a, F_SETLK, F_UNLCK, 0, 0);
	PARENT_WAITS();

	/* Round 8. */
	must(c, F_OFD_SETLK, F_WRLCK, 60, 10);
	must(a, F_SETLK, F_RDLCK, 0, 10);
	TO_CHILD('8');
	PARENT_WAITS();
	getlk("parent: F_GETLK of its own OFD lock", a, F_GETLK, F_WRLCK, 60, 1, parent_pid);
	setlk("parent: F_SETLK under its own OFD lock", a, F_SETLK, F_WRLCK, 60, 1);
	getlk("parent: F_OFD_GETLK W 0..EOF (first in list order)", b, F_OFD_GETLK, F_WRLCK, 0, 0, parent_pid);
	fl = getlk("parent: F_OFD_GETLK of its own POSIX lock", b, F_OFD_GETLK, F_WRLCK, 0, 10, parent_pid);
	yesno("parent: that reports its own pid", fl.l_pid == parent_pid);
	setlk("parent: F_OFD_SETLK unlock [62,64]", c, F_OFD_SETLK, F_UNLCK, 62, 3);
	getlk("parent: F_GETLK [62,64]", a, F_GETLK, F_WRLCK, 62, 3, parent_pid);
	must(c, F_OFD_SETLK, F_WRLCK, 60, 10);
	close(c);
	TO_CHILD('8');
	PARENT_WAITS();

	/* Round 9. */
	show("parent: flock LOCK_EX", flock(a, LOCK_EX));
	TO_CHILD('9');
	PARENT_WAITS();
	show("parent: flock LOCK_SH (conversion)", flock(a, LOCK_SH));
	TO_CHILD('9');
	PARENT_WAITS();
	show("parent: flock LOCK_EX|LOCK_NB after the child's failed conversion",
	     flock(a, LOCK_EX | LOCK_NB));
	TO_CHILD('9');
	PARENT_WAITS();
	usleep(200000);
	yesno("parent: child still waiting in flock", quiet());
	if (flock(a, LOCK_UN))
		die("flock LOCK_UN");
	yesno("parent: child got the flock after LOCK_UN", PARENT_WAITS() == 'g');
	close(b);
	expect_err("parent: flock LOCK_SH|LOCK_NB while the child holds b", flock(a, LOCK_SH | LOCK_NB));
	TO_CHILD('9');
	PARENT_WAITS();
	show("parent: flock LOCK_SH|LOCK_NB after the child closed b", flock(a, LOCK_SH | LOCK_NB));

	/* Round 10: closing a dup drops the parent's locks; exit the child's. */
	must(a, F_SETLK, F_WRLCK, 0, 10);
	getlk("parent: F_OFD_GETLK sees its POSIX lock", a, F_OFD_GETLK, F_WRLCK, 0, 0, parent_pid);
	close(dup(a));
	getlk("parent: after closing a dup", a, F_OFD_GETLK, F_WRLCK, 0, 0, parent_pid);
	TO_CHILD('x');
	PARENT_WAITS();
	setlk("parent: F_SETLK under the child's lock", a, F_SETLK, F_WRLCK, 0, 1);
	TO_CHILD('x');
	int status;
	if (waitpid(child_pid, &status, 0) != child_pid)
		die("waitpid");
	yesno("parent: child exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	getlk("parent: F_GETLK after the child exited", a, F_GETLK, F_WRLCK, 0, 0, child_pid);
	setlk("parent: F_SETLK after the child exited", a, F_SETLK, F_WRLCK, 0, 1);
	return 0;
}
