/*
 * sysv_sem: System V semaphores. semget's checks and keys, semctl
 * (GETVAL, SETVAL, GETALL, SETALL, GETPID, GETNCNT, GETZCNT, IPC_STAT,
 * IPC_SET, IPC_RMID, SEM_STAT, IPC_INFO), semop's all-or-nothing
 * operations, IPC_NOWAIT, ERANGE, EFBIG, E2BIG; waiters woken in order
 * by other processes, semtimedop's timeout (EAGAIN), interruption
 * (EINTR even with SA_RESTART, and after SIGSTOP/SIGCONT), removal
 * (EIDRM); SEM_UNDO applied at exit (clamped, kept across exec, shared
 * by threads, forgotten by SETVAL); permissions of another user.
 *
 * It runs on the host too, in the host's IPC namespace: everything it
 * makes is removed at exit, also on failure (atexit), and keys are
 * derived from the PID, never printed.
 */
#include "proc.h"
#include <pthread.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

static int made[64];
static int nmade;
static pid_t parent;
static atomic_int *flags;

static void cleanup(void)
{
	if (getpid() != parent)
		return;
	for (int i = 0; i < nmade; i++)
		semctl(made[i], 0, IPC_RMID);
}

static int track(int id)
{
	if (id >= 0 && nmade < 64)
		made[nmade++] = id;
	return id;
}

static int newset(int n)
{
	int id = track(semget(IPC_PRIVATE, n, 0600));
	if (id < 0)
		die("semget");
	return id;
}

static int val(int id, int n)
{
	int v = semctl(id, n, GETVAL);
	if (v < 0)
		die("GETVAL");
	return v;
}

static void setval(int id, int n, int v)
{
	if (semctl(id, n, SETVAL, (union semun){.val = v}) < 0)
		die("SETVAL");
}

static void showall(const char *what, int id, int n)
{
	unsigned short a[8];
	if (semctl(id, 0, GETALL, (union semun){.array = a}) < 0)
		die("GETALL");
	printf("%s:", what);
	for (int i = 0; i < n; i++)
		printf(" %u", a[i]);
	printf("\n");
}

static int op(int id, int num, int delta, int flg)
{
	struct sembuf b = {.sem_num = num, .sem_op = delta, .sem_flg = flg};
	return semop(id, &b, 1);
}

/* wait_count waits until GETNCNT (or GETZCNT) of semaphore num is n. */
static void wait_count(int id, int num, int cmd, int n)
{
	while (semctl(id, num, cmd) != n)
		sleep_ms(1);
}

static void wait_stopped(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st))
		die("waitpid WUNTRACED");
}

static void on_usr1(int sig) { (void)sig; }

static void basics(void)
{
	printf("-- basics\n");
	expect_err("nsems 0", semget(IPC_PRIVATE, 0, 0600));
	expect_err("nsems -1", semget(IPC_PRIVATE, -1, 0600));
	expect_err("nsems 32001", semget(IPC_PRIVATE, 32001, 0600));
	int id = newset(3);
	struct semid_ds ds;
	show("IPC_STAT", semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
	printf("nsems %lu mode %o key %d otime %ld\n", ds.sem_nsems, ds.sem_perm.mode, ds.sem_perm.__key,
	       (long)ds.sem_otime);
	yesno("owner is me", ds.sem_perm.uid == geteuid() && ds.sem_perm.cgid == getegid());
	yesno("ctime set", ds.sem_ctime != 0);
	showall("initial", id, 3);
	yesno("GETPID 0", semctl(id, 0, GETPID) == 0);
	setval(id, 0, 5);
	printf("GETVAL %d\n", val(id, 0));
	yesno("GETPID me", semctl(id, 0, GETPID) == getpid());
	unsigned short set[3] = {1, 2, 3};
	show("SETALL", semctl(id, 0, SETALL, (union semun){.array = set}));
	showall("after SETALL", id, 3);
	expect_err("SETVAL -1", semctl(id, 0, SETVAL, (union semun){.val = -1}));
	expect_err("SETVAL 32768", semctl(id, 0, SETVAL, (union semun){.val = 32768}));
	show("SETVAL 32767", semctl(id, 2, SETVAL, (union semun){.val = 32767}));
	expect_err("SETVAL semnum 3", semctl(id, 3, SETVAL, (union semun){.val = 1}));
	expect_err("GETVAL semnum -1", semctl(id, -1, GETVAL));
	unsigned short bad[3] = {1, 40000, 3};
	expect_err("SETALL 40000", semctl(id, 0, SETALL, (union semun){.array = bad}));
	expect_err("SETALL from a bad buffer", semctl(id, 0, SETALL, (union semun){.array = (void *)8}));
	expect_err("GETALL to a bad buffer", semctl(id, 0, GETALL, (union semun){.array = (void *)8}));
	showall("unchanged", id, 3);
	expect_err("bad command", semctl(id, 0, 99));
	expect_err("id -1", semctl(-1, 0, GETVAL));

	printf("-- semop\n");
	show("sem0 -1", op(id, 0, -1, 0));
	expect_err("sem0 -1 IPC_NOWAIT", op(id, 0, -1, IPC_NOWAIT));
	expect_err("wait for zero on sem1 IPC_NOWAIT", op(id, 1, 0, IPC_NOWAIT));
	show("wait for zero on sem0", op(id, 0, 0, 0));
	struct sembuf two[2] = {{1, -1, 0}, {2, -32767, 0}};
	show("two at once", semop(id, two, 2));
	showall("now", id, 3);
	struct sembuf nope[2] = {{1, 1, 0}, {0, -1, IPC_NOWAIT}};
	expect_err("all or nothing", semop(id, nope, 2));
	showall("unchanged", id, 3);
	struct sembuf same[3] = {{0, 2, 0}, {0, -1, 0}, {0, -1, 0}};
	show("three on one semaphore", semop(id, same, 3));
	setval(id, 0, 32767);
	expect_err("past SEMVMX", op(id, 0, 1, 0));
	struct sembuf range[2] = {{1, 1, 0}, {0, 1, 0}};
	expect_err("past SEMVMX second", semop(id, range, 2));
	showall("unchanged", id, 3);
	expect_err("semnum 3", op(id, 3, 1, 0));
	expect_err("nsops 0", semop(id, two, 0));
	static struct sembuf many[501];
	expect_err("nsops 501", semop(id, many, 501));
	expect_err("bad sops", semop(id, (struct sembuf *)8, 1));
	expect_err("id -1", op(-1, 0, 1, 0));
	struct timespec ts = {0, 1000000000};
	expect_err("bad timeout", semtimedop(id, two, 1, &ts));
	expect_err("timeout at a bad address", semtimedop(id, two, 1, (struct timespec *)8));
	ts.tv_nsec = 0;
	setval(id, 1, 0);
	expect_err("timeout 0", semtimedop(id, two, 1, &ts));
	ts.tv_nsec = 30000000;
	expect_err("timeout 30ms", semtimedop(id, two, 1, &ts));
	ds.sem_otime = 0;
	semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
	yesno("otime set", ds.sem_otime != 0);
}

static void waiters(void)
{
	printf("-- waiters\n");
	int id = newset(2);
	pid_t a = xfork();
	if (a == 0) {
		int r = op(id, 0, -2, 0);
		atomic_store(&flags[0], 1);
		printf("  A (-2): %s\n", r == 0 ? "ok" : errname(errno));
		_exit(0);
	}
	wait_count(id, 0, GETNCNT, 1);
	pid_t b = xfork();
	if (b == 0) {
		int r = op(id, 0, -1, 0);
		printf("  B (-1): %s\n", r == 0 ? "ok" : errname(errno));
		atomic_store(&flags[1], 1);
		_exit(0);
	}
	wait_count(id, 0, GETNCNT, 2);
	printf("GETNCNT 2\n");
	op(id, 0, 1, 0);
	wait_flag(&flags[1], 1);
	reap(b);
	printf("after +1: A done %d, B done %d, value %d, GETNCNT %d\n", atomic_load(&flags[0]),
	       atomic_load(&flags[1]), val(id, 0), semctl(id, 0, GETNCNT));
	op(id, 0, 1, 0);
	printf("after +1: A done %d, value %d\n", atomic_load(&flags[0]), val(id, 0));
	op(id, 0, 1, 0);
	reap(a);
	printf("after +1: A done %d, value %d\n", atomic_load(&flags[0]), val(id, 0));
	yesno("GETPID is A", semctl(id, 0, GETPID) == a);

	setval(id, 1, 3);
	pid_t z = xfork();
	if (z == 0) {
		struct sembuf w[2] = {{0, 1, 0}, {1, 0, 0}};
		int r = semop(id, w, 2);
		printf("  zero waiter: %s\n", r == 0 ? "ok" : errname(errno));
		_exit(0);
	}
	wait_count(id, 1, GETZCNT, 1);
	printf("GETZCNT 1, GETNCNT of sem0 %d, GETZCNT of sem0 %d\n", semctl(id, 0, GETNCNT),
	       semctl(id, 0, GETZCNT));
	op(id, 1, -2, 0);
	printf("value of sem0 still %d\n", val(id, 0));
	op(id, 1, -1, 0);
	reap(z);
	printf("zero reached: sem0 %d\n", val(id, 0));
}

static void interruptions(void)
{
	printf("-- interruptions\n");
	int id = newset(1);
	pid_t pid = xfork();
	if (pid == 0) {
		struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
		sigaction(SIGUSR1, &sa, NULL);
		int r = op(id, 0, -1, 0);
		printf("  semop with an SA_RESTART handler: %s\n", r == 0 ? "ok" : errname(errno));
		_exit(0);
	}
	wait_count(id, 0, GETNCNT, 1);
	kill(pid, SIGUSR1);
	reap(pid);

	pid = xfork();
	if (pid == 0) {
		int r = op(id, 0, -1, 0);
		printf("  semop after SIGSTOP, SIGCONT: %s\n", r == 0 ? "ok" : errname(errno));
		_exit(0);
	}
	wait_count(id, 0, GETNCNT, 1);
	kill(pid, SIGSTOP);
	wait_stopped(pid);
	kill(pid, SIGCONT);
	reap(pid);

	pid = xfork();
	if (pid == 0) {
		int r = op(id, 0, -1, 0);
		printf("  semop while removed: %s\n", r == 0 ? "ok" : errname(errno));
		_exit(0);
	}
	wait_count(id, 0, GETNCNT, 1);
	long r = semctl(id, 0, IPC_RMID);
	reap(pid);
	show("IPC_RMID", r);
	expect_err("GETVAL after IPC_RMID", semctl(id, 0, GETVAL));
}

static void *thread_up(void *arg)
{
	int id = *(int *)arg;
	op(id, 0, 1, SEM_UNDO);
	return NULL;
}

static void undo(const char *self)
{
	printf("-- SEM_UNDO\n");
	int id = newset(3);
	setval(id, 0, 1);
	pid_t pid = xfork();
	if (pid == 0) {
		op(id, 0, 3, SEM_UNDO);
		op(id, 1, 2, SEM_UNDO);
		op(id, 0, -2, SEM_UNDO);
		printf("  child: %d %d\n", val(id, 0), val(id, 1));
		_exit(0);
	}
	reap(pid);
	printf("after exit: %d %d\n", val(id, 0), val(id, 1));

	pid = xfork();
	if (pid == 0) {
		op(id, 2, 2, SEM_UNDO);
		char arg[32];
		snprintf(arg, sizeof(arg), "%d", id);
		execl(self, self, "exec-child", arg, (char *)NULL);
		_exit(127);
	}
	reap(pid);
	printf("after exec and exit: %d\n", val(id, 2));

	atomic_store(&flags[2], 0);
	pid = xfork();
	if (pid == 0) {
		op(id, 1, 1, SEM_UNDO); /* adjustment -1 */
		atomic_store(&flags[2], 1);
		wait_flag(&flags[2], 2);
		_exit(0);
	}
	wait_flag(&flags[2], 1);
	op(id, 1, -1, 0);
	atomic_store(&flags[2], 2);
	reap(pid);
	printf("clamped at 0: %d\n", val(id, 1));

	pid = xfork();
	if (pid == 0) {
		op(id, 1, 5, SEM_UNDO);
		setval(id, 1, 10);
		_exit(0);
	}
	reap(pid);
	printf("SETVAL forgets adjustments: %d\n", val(id, 1));

	pid = xfork();
	if (pid == 0) {
		pthread_t th;
		pthread_create(&th, NULL, thread_up, &id);
		pthread_join(th, NULL);
		printf("  after the thread exits: %d\n", val(id, 0));
		_exit(0);
	}
	reap(pid);
	printf("after the process exits: %d\n", val(id, 0));

	pid = xfork();
	if (pid == 0) {
		setval(id, 0, 32767);
		show("  down 32767 with undo", op(id, 0, -32767, SEM_UNDO));
		op(id, 0, 32767, 0);
		expect_err("  down 1 more: adjustment out of range", op(id, 0, -1, SEM_UNDO));
		_exit(0);
	}
	reap(pid);

	printf("clamped at SEMVMX: %d\n", val(id, 0));

	setval(id, 0, 0);
	pid = xfork();
	if (pid == 0) {
		op(id, 0, 1, SEM_UNDO);
		atomic_store(&flags[3], 1);
		wait_flag(&flags[3], 2);
		_exit(0);
	}
	wait_flag(&flags[3], 1);
	show("IPC_RMID with an adjustment pending", semctl(id, 0, IPC_RMID));
	int id2 = newset(1);
	atomic_store(&flags[3], 2);
	reap(pid);
	printf("a new set is not adjusted: %d\n", val(id2, 0));
}

static void perms(void)
{
	printf("-- permissions\n");
	int id = newset(1);
	struct semid_ds ds;
	semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
	ds.sem_perm.mode = 0644;
	show("IPC_SET 0644", semctl(id, 0, IPC_SET, (union semun){.buf = &ds}));
	semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
	printf("mode %o\n", ds.sem_perm.mode);
	pid_t pid = xfork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			die("drop privileges");
		show("  other: GETVAL", semctl(id, 0, GETVAL));
		show("  other: wait for zero", op(id, 0, 0, IPC_NOWAIT));
		expect_err("  other: semop +1", op(id, 0, 1, 0));
		expect_err("  other: SETVAL", semctl(id, 0, SETVAL, (union semun){.val = 1}));
		expect_err("  other: IPC_RMID", semctl(id, 0, IPC_RMID));
		_exit(0);
	}
	reap(pid);
	ds.sem_perm.mode = 0600;
	semctl(id, 0, IPC_SET, (union semun){.buf = &ds});
	pid = xfork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			die("drop privileges");
		struct semid_ds d;
		expect_err("  other, 0600: GETVAL", semctl(id, 0, GETVAL));
		expect_err("  other, 0600: IPC_STAT", semctl(id, 0, IPC_STAT, (union semun){.buf = &d}));
		expect_err("  other, 0600: wait for zero", op(id, 0, 0, IPC_NOWAIT));
		_exit(0);
	}
	reap(pid);
}

static void keys_and_info(void)
{
	printf("-- keys and limits\n");
	key_t key = 0x5b000000 | (getpid() & 0xffffff);
	expect_err("no such key", semget(key, 1, 0600));
	int id = track(semget(key, 2, IPC_CREAT | IPC_EXCL | 0600));
	show("create", id);
	expect_err("IPC_EXCL again", semget(key, 2, IPC_CREAT | IPC_EXCL | 0600));
	yesno("nsems 0 finds it", semget(key, 0, 0) == id);
	yesno("nsems 1 finds it", semget(key, 1, 0) == id);
	expect_err("nsems 3", semget(key, 3, 0));
	show("IPC_RMID", semctl(id, 0, IPC_RMID));
	expect_err("key gone", semget(key, 1, 0));

	struct seminfo si;
	int max = semctl(0, 0, IPC_INFO, (union semun){.__buf = &si});
	show("IPC_INFO", max);
	FILE *f = fopen("/proc/sys/kernel/sem", "r");
	int msl, mns, opm, mni;
	if (!f || fscanf(f, "%d %d %d %d", &msl, &mns, &opm, &mni) != 4)
		die("/proc/sys/kernel/sem");
	fclose(f);
	yesno("limits as /proc", si.semmsl == msl && si.semmns == mns && si.semopm == opm && si.semmni == mni);
	printf("semvmx %d semaem %d semume %d semusz %d\n", si.semvmx, si.semaem, si.semume, si.semusz);
	id = newset(2);
	max = semctl(0, 0, IPC_INFO, (union semun){.__buf = &si});
	int found = 0, found_any = 0;
	for (int i = 0; i <= max; i++) {
		struct semid_ds ds;
		if (semctl(i, 0, SEM_STAT, (union semun){.buf = &ds}) == id)
			found = 1;
		if (semctl(i, 0, SEM_STAT_ANY, (union semun){.buf = &ds}) == id)
			found_any = 1;
	}
	yesno("SEM_STAT finds it", found);
	yesno("SEM_STAT_ANY finds it", found_any);
	semctl(0, 0, SEM_INFO, (union semun){.__buf = &si});
	yesno("SEM_INFO counts it", si.semusz >= 1 && si.semaem >= 2);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exec-child") == 0) {
		printf("  exec'd child: %d\n", val(atoi(argv[2]), 2));
		return 0;
	}
	parent = getpid();
	atexit(cleanup);
	setvbuf(stdout, NULL, _IOLBF, 0);
	flags = shared_mem(4096);
	basics();
	waiters();
	interruptions();
	undo(argv[0][0] == '/' ? argv[0] : "/proc/self/exe");
	perms();
	keys_and_info();
	return 0;
}
