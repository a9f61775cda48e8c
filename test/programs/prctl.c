/*
 * prctl: PR_SET_NAME and PR_GET_NAME (truncated to 15 bytes, inherited
 * by fork), PR_SET_PDEATHSIG (cleared by fork, sent when the parent
 * dies), PR_SET_CHILD_SUBREAPER (an orphaned grandchild is reparented to
 * the nearest subreaper, which reaps it).
 */
#include "proc.h"
#include <sys/prctl.h>

static void names(void)
{
	printf("-- PR_SET_NAME, PR_GET_NAME\n");
	char name[32];
	memset(name, 'x', sizeof(name));
	show("PR_SET_NAME short", prctl(PR_SET_NAME, "magawa-test"));
	show("PR_GET_NAME", prctl(PR_GET_NAME, name));
	printf("name: \"%s\"\n", name);
	show("PR_SET_NAME long", prctl(PR_SET_NAME, "a-name-longer-than-fifteen-bytes"));
	memset(name, 'x', sizeof(name));
	prctl(PR_GET_NAME, name);
	printf("name: \"%s\" (%zu bytes)\n", name, strlen(name));
	yesno("byte 16 untouched by PR_GET_NAME", name[16] == 'x');
	prctl(PR_SET_NAME, "");
	prctl(PR_GET_NAME, name);
	printf("empty name: \"%s\"\n", name);
	prctl(PR_SET_NAME, "parent-name");
	pid_t pid = xfork();
	if (pid == 0) {
		char n[16];
		prctl(PR_GET_NAME, n);
		_exit(strcmp(n, "parent-name") == 0);
	}
	yesno("name inherited by fork", WEXITSTATUS(reap(pid)) == 1);
	expect_err("PR_SET_NAME bad pointer", prctl(PR_SET_NAME, (void *)16));
	expect_err("PR_GET_NAME bad pointer", prctl(PR_GET_NAME, (void *)16));
	expect_err("prctl unknown option", prctl(0x7fff0000, 0, 0, 0, 0));
}

static void pdeathsig(void)
{
	printf("-- PR_SET_PDEATHSIG\n");
	int sig = -1;
	show("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig));
	printf("initial death signal: %d\n", sig);
	show("PR_SET_PDEATHSIG SIGUSR1", prctl(PR_SET_PDEATHSIG, SIGUSR1));
	prctl(PR_GET_PDEATHSIG, &sig);
	printf("death signal: %s\n", signame(sig));
	pid_t pid = xfork();
	if (pid == 0) {
		int s = -1;
		prctl(PR_GET_PDEATHSIG, &s);
		_exit(s);
	}
	printf("death signal of a forked child: %d\n", WEXITSTATUS(reap(pid)));
	expect_err("PR_SET_PDEATHSIG 65", prctl(PR_SET_PDEATHSIG, 65));
	prctl(PR_SET_PDEATHSIG, 0);
}

/*
 * subreaper: we fork S, which becomes a subreaper and forks A; A forks B
 * and exits once B is ready. B must be reparented to S (not to us, nor to
 * init); with a death signal set, B is killed by it when A exits.
 *
 * S's exit code tells what it saw: bit 0 A exited 0, bit 1 B's new parent
 * was S (B's own check), bit 2 S reaped B, bit 3 B ended as expected.
 */
static void subreaper(int with_pdeathsig)
{
	printf("-- PR_SET_CHILD_SUBREAPER, orphan %s\n",
	       with_pdeathsig ? "with PR_SET_PDEATHSIG SIGUSR2" : "waiting to be reparented");
	struct shared {
		atomic_int b_ready;
		atomic_int b_pid;
		atomic_int b_saw_s;
	} *sh = shared_mem(sizeof(struct shared));
	pid_t s = xfork();
	if (s == 0) {
		if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
			_exit(100);
		int on = 0;
		prctl(PR_GET_CHILD_SUBREAPER, &on);
		if (on != 1)
			_exit(101);
		pid_t spid = getpid();
		pid_t a = xfork();
		if (a == 0) {
			pid_t apid = getpid();
			pid_t b = xfork();
			if (b == 0) {
				if (with_pdeathsig)
					prctl(PR_SET_PDEATHSIG, SIGUSR2);
				/* A is still alive: it waits for b_ready. */
				if (getppid() != apid)
					_exit(50);
				atomic_store(&sh->b_ready, 1);
				while (getppid() == apid)
					sleep_ms(1);
				atomic_store(&sh->b_saw_s, getppid() == spid);
				/* Linux reparents before it queues the death signal:
				 * give the signal time to arrive. */
				if (with_pdeathsig)
					for (int i = 0; i < 2000; i++)
						sleep_ms(1);
				_exit(7);
			}
			atomic_store(&sh->b_pid, b);
			wait_flag(&sh->b_ready, 1);
			_exit(0);
		}
		int bits = 0;
		int st = reap(a);
		bits |= WIFEXITED(st) && WEXITSTATUS(st) == 0;
		/* The orphan is ours now. */
		pid_t r = waitpid(-1, &st, 0);
		if (!with_pdeathsig)
			bits |= atomic_load(&sh->b_saw_s) << 1;
		else
			bits |= 1 << 1; /* B died before it could look */
		bits |= (r == atomic_load(&sh->b_pid)) << 2;
		if (with_pdeathsig)
			bits |= (WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR2) << 3;
		else
			bits |= (WIFEXITED(st) && WEXITSTATUS(st) == 7) << 3;
		errno = 0;
		if (waitpid(-1, &st, 0) < 0 && errno == ECHILD)
			bits |= 1 << 4;
		_exit(bits);
	}
	int st = reap(s);
	if (!WIFEXITED(st) || WEXITSTATUS(st) >= 100) {
		printf("subreaper: %s\n", status_str(st));
		return;
	}
	int bits = WEXITSTATUS(st);
	yesno("intermediate child exited 0", bits & 1);
	if (!with_pdeathsig)
		yesno("orphan's new parent is the subreaper (getppid)", bits & 2);
	yesno("subreaper reaped the orphan", bits & 4);
	yesno(with_pdeathsig ? "orphan killed by its death signal SIGUSR2" : "orphan exited 7", bits & 8);
	yesno("nothing else to reap", bits & 16);
	munmap(sh, sizeof(struct shared));
}

int main(void)
{
	names();
	pdeathsig();
	int on = -1;
	show("PR_GET_CHILD_SUBREAPER", prctl(PR_GET_CHILD_SUBREAPER, &on));
	printf("subreaper initially: %d\n", on);
	subreaper(0);
	subreaper(1);
	return 0;
}
