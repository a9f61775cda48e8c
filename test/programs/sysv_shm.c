/*
 * sysv_shm: System V shared memory. Segments made with IPC_PRIVATE and
 * with a key (IPC_CREAT, IPC_EXCL, ENOENT, size checks), shmat and the
 * data it shares (between two attaches, with a forked child, across 2
 * MiB boundaries of a large segment), SHM_RDONLY (a write faults,
 * mprotect refuses PROT_WRITE), SHM_RND and SHM_REMAP, shm_nattch
 * through shmat, fork, exec, exit and shmdt (fragments included),
 * IPC_RMID while attached (SHM_DEST, private key, attachable until the
 * last detach), IPC_SET, permissions of another user, SHM_LOCK, the
 * limits (IPC_INFO against /proc/sys/kernel), SHM_STAT, and errors.
 *
 * It runs on the host too, in the host's IPC namespace: everything it
 * makes is removed at exit, also on failure (atexit), and keys are
 * derived from the PID, never printed.
 */
#include "proc.h"
#include <sys/ipc.h>
#include <sys/shm.h>

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

static int made[64];
static int nmade;
static pid_t parent;

static void cleanup(void)
{
	if (getpid() != parent)
		return;
	for (int i = 0; i < nmade; i++)
		shmctl(made[i], IPC_RMID, NULL);
}

static int track(int id)
{
	if (id >= 0 && nmade < 64)
		made[nmade++] = id;
	return id;
}

static struct shmid_ds stat_of(int id)
{
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) < 0)
		die("shmctl IPC_STAT");
	return ds;
}

static void nattch(const char *what, int id)
{
	printf("%s: nattch %lu\n", what, (unsigned long)stat_of(id).shm_nattch);
}

/* segv_on_write reports whether writing p kills a child with SIGSEGV. */
static void segv_on_write(const char *what, volatile char *p)
{
	pid_t pid = xfork();
	if (pid == 0) {
		no_core_dumps();
		*p = 1;
		_exit(0);
	}
	printf("%s: %s\n", what, status_str(reap(pid)));
}

static unsigned long sysctl(const char *name)
{
	char path[128], buf[64];
	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	FILE *f = fopen(path, "r");
	if (!f)
		die(path);
	if (!fgets(buf, sizeof(buf), f))
		die(path);
	fclose(f);
	return strtoul(buf, NULL, 10);
}

static int maps_has(const char *s)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	if (!f)
		die("/proc/self/maps");
	while (fgets(line, sizeof(line), f))
		if (strstr(line, s))
			found = 1;
	fclose(f);
	return found;
}

static void basics(void)
{
	printf("-- basics\n");
	expect_err("size 0", shmget(IPC_PRIVATE, 0, 0600));
	int id = track(shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0640));
	if (id < 0)
		die("shmget");
	struct shmid_ds ds = stat_of(id);
	printf("segsz %zu mode %o key %d nattch %lu\n", ds.shm_segsz, ds.shm_perm.mode, ds.shm_perm.__key,
	       (unsigned long)ds.shm_nattch);
	yesno("owner is me", ds.shm_perm.uid == geteuid() && ds.shm_perm.cuid == geteuid() &&
				     ds.shm_perm.gid == getegid() && ds.shm_perm.cgid == getegid());
	yesno("cpid is me", ds.shm_cpid == getpid());
	yesno("lpid, atime, dtime zero", ds.shm_lpid == 0 && ds.shm_atime == 0 && ds.shm_dtime == 0);
	yesno("ctime set", ds.shm_ctime != 0);

	char *a = shmat(id, NULL, 0);
	if (a == (void *)-1)
		die("shmat");
	yesno("zeroed", a[0] == 0 && a[9999] == 0 && a[12287] == 0);
	strcpy(a, "hello, segment");
	a[10000] = 'x'; /* past the size, in its last page */
	ds = stat_of(id);
	yesno("lpid is me, atime set", ds.shm_lpid == getpid() && ds.shm_atime != 0);
	nattch("one attach", id);
	yesno("maps names it", maps_has("/SYSV00000000 (deleted)"));

	char *b = shmat(id, NULL, SHM_RDONLY);
	if (b == (void *)-1)
		die("shmat SHM_RDONLY");
	yesno("second attach elsewhere", a != b);
	printf("read-only sees \"%s\"\n", b);
	a[1] = 'E';
	printf("after a write: \"%s\"\n", b);
	nattch("two attaches", id);
	segv_on_write("write to SHM_RDONLY", b);
	expect_err("mprotect PROT_WRITE on SHM_RDONLY", mprotect(b, 4096, PROT_READ | PROT_WRITE));

	pid_t pid = xfork();
	if (pid == 0) {
		nattch("  child after fork", id);
		printf("  child reads \"%s\"\n", b);
		strcpy(a, "from the child");
		_exit(0);
	}
	printf("child: %s\n", status_str(reap(pid)));
	printf("parent reads \"%s\"\n", a);
	nattch("after the child exits", id);

	show("shmdt read-only", shmdt(b));
	expect_err("shmdt again", shmdt(b));
	expect_err("shmdt unaligned", shmdt(a + 1));
	expect_err("shmdt of nothing", shmdt((void *)4096));
	nattch("after shmdt", id);
	ds = stat_of(id);
	yesno("dtime set", ds.shm_dtime != 0);
	show("shmdt", shmdt(a));
	nattch("all detached", id);
}

static void exec_child(int id)
{
	printf("  exec'd child: nattch %lu\n", (unsigned long)stat_of(id).shm_nattch);
}

static void across_exec(const char *self)
{
	printf("-- exec and exit\n");
	int id = track(shmget(IPC_PRIVATE, 4096, 0600));
	if (id < 0)
		die("shmget");
	if (shmat(id, NULL, 0) == (void *)-1)
		die("shmat");
	pid_t pid = xfork();
	if (pid == 0) {
		nattch("  child before exec", id);
		char arg[32];
		snprintf(arg, sizeof(arg), "%d", id);
		execl(self, self, "exec-child", arg, (char *)NULL);
		_exit(127);
	}
	printf("exec child: %s\n", status_str(reap(pid)));
	pid = xfork();
	if (pid == 0) {
		if (shmat(id, NULL, 0) == (void *)-1)
			_exit(1);
		nattch("  child attached again", id);
		_exit(0); /* no shmdt: exit detaches */
	}
	printf("exit child: %s\n", status_str(reap(pid)));
	nattch("after the child exits", id);
}

static void removal(void)
{
	printf("-- IPC_RMID while attached\n");
	int id = track(shmget(IPC_PRIVATE, 8192, 0600));
	if (id < 0)
		die("shmget");
	char *a = shmat(id, NULL, 0);
	if (a == (void *)-1)
		die("shmat");
	strcpy(a, "still here");
	show("IPC_RMID", shmctl(id, IPC_RMID, NULL));
	struct shmid_ds ds = stat_of(id);
	printf("mode %o (SHM_DEST %s) key %d nattch %lu\n", ds.shm_perm.mode & 0777,
	       ds.shm_perm.mode & SHM_DEST ? "set" : "clear", ds.shm_perm.__key, (unsigned long)ds.shm_nattch);
	printf("data \"%s\"\n", a);
	char *b = shmat(id, NULL, 0);
	yesno("attachable after IPC_RMID", b != (void *)-1);
	if (b != (void *)-1) {
		printf("second attach reads \"%s\"\n", b);
		nattch("two attaches", id);
		shmdt(b);
	}
	pid_t pid = xfork();
	if (pid == 0) {
		shmdt(a);
		nattch("  child detached", id);
		_exit(0);
	}
	reap(pid);
	show("last shmdt", shmdt(a));
	expect_err("IPC_STAT after the last detach", shmctl(id, IPC_STAT, &ds));
	expect_err("shmat after the last detach", (long)shmat(id, NULL, 0));
}

static void keys(void)
{
	printf("-- keys\n");
	key_t key = 0x5a000000 | (getpid() & 0xffffff);
	expect_err("no such key", shmget(key, 100, 0600));
	int id = track(shmget(key, 100, IPC_CREAT | IPC_EXCL | 0600));
	show("create", id);
	expect_err("IPC_EXCL again", shmget(key, 100, IPC_CREAT | IPC_EXCL | 0600));
	yesno("IPC_CREAT finds it", shmget(key, 100, IPC_CREAT | 0600) == id);
	yesno("smaller size finds it", shmget(key, 10, 0) == id);
	expect_err("larger size", shmget(key, 200, 0));
	struct shmid_ds ds = stat_of(id);
	yesno("key shown", ds.shm_perm.__key == key);
	show("IPC_RMID", shmctl(id, IPC_RMID, NULL));
	expect_err("key gone", shmget(key, 100, 0600));
	expect_err("id gone", shmctl(id, IPC_STAT, &ds));
}

static void placement(void)
{
	printf("-- placement\n");
	int id = track(shmget(IPC_PRIVATE, 3 * 4096, 0600));
	if (id < 0)
		die("shmget");
	char *area = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		die("mmap");
	expect_err("unaligned", (long)shmat(id, area + 100, 0));
	expect_err("over a mapping", (long)shmat(id, area + 4096, 0));
	expect_err("SHM_REMAP without an address", (long)shmat(id, NULL, SHM_REMAP));
	char *p = shmat(id, area + 4096 + 100, SHM_RND | SHM_REMAP);
	yesno("SHM_RND|SHM_REMAP at the page", p == area + 4096);
	if (p != (void *)-1) {
		p[0] = 7;
		/* mprotect splits the attach; shmdt takes every piece. */
		show("mprotect a middle page", mprotect(p + 4096, 4096, PROT_READ));
		show("shmdt", shmdt(p));
		unsigned char vec[3];
		expect_err("mincore of the detached range", mincore(p, 3 * 4096, vec));
		nattch("after shmdt", id);
	}
	munmap(area, 8 * 4096);
	char *q = shmat(id, NULL, 0);
	if (q == (void *)-1)
		die("shmat");
	printf("data kept: %d\n", q[0]);
	show("munmap of an attach", munmap(q, 3 * 4096));
	nattch("after munmap", id);
	expect_err("shmdt after munmap", shmdt(q));
}

static void big(void)
{
	printf("-- a large segment\n");
	size_t size = 64 << 20;
	int id = track(shmget(IPC_PRIVATE, size, 0600));
	if (id < 0)
		die("shmget");
	char *a = shmat(id, NULL, 0);
	if (a == (void *)-1)
		die("shmat");
	for (size_t off = 0; off < size; off += 1 << 20)
		a[off] = (char)(off >> 20);
	pid_t pid = xfork();
	if (pid == 0) {
		char *b = shmat(id, NULL, 0);
		if (b == (void *)-1)
			_exit(1);
		int ok = 1;
		for (size_t off = 0; off < size; off += 1 << 20)
			ok &= b[off] == (char)(off >> 20);
		b[size - 1] = 'z';
		b[(2 << 20) - 1] = 'y';
		b[2 << 20] = 'w';
		_exit(ok ? 0 : 3);
	}
	printf("child: %s\n", status_str(reap(pid)));
	printf("parent sees %c %c %c\n", a[size - 1], a[(2 << 20) - 1], a[2 << 20]);
	shmdt(a);
}

static void perms(void)
{
	printf("-- permissions\n");
	int id = track(shmget(IPC_PRIVATE, 4096, 0600));
	if (id < 0)
		die("shmget");
	struct shmid_ds ds = stat_of(id);
	ds.shm_perm.mode = 0604;
	show("IPC_SET mode 0604", shmctl(id, IPC_SET, &ds));
	printf("mode now %o\n", stat_of(id).shm_perm.mode);
	ds.shm_perm.uid = (uid_t)-1;
	expect_err("IPC_SET uid -1", shmctl(id, IPC_SET, &ds));
	pid_t pid = xfork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			die("drop privileges");
		struct shmid_ds d;
		show("  other: IPC_STAT", shmctl(id, IPC_STAT, &d));
		char *p = shmat(id, NULL, SHM_RDONLY);
		show("  other: shmat SHM_RDONLY", (long)p);
		expect_err("  other: shmat read-write", (long)shmat(id, NULL, 0));
		expect_err("  other: shmat SHM_EXEC", (long)shmat(id, NULL, SHM_RDONLY | SHM_EXEC));
		expect_err("  other: IPC_SET", shmctl(id, IPC_SET, &d));
		expect_err("  other: IPC_RMID", shmctl(id, IPC_RMID, NULL));
		expect_err("  other: SHM_LOCK", shmctl(id, SHM_LOCK, NULL));
		_exit(0);
	}
	reap(pid);
	ds = stat_of(id);
	ds.shm_perm.mode = 0600;
	shmctl(id, IPC_SET, &ds);
	pid = xfork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			die("drop privileges");
		struct shmid_ds d;
		expect_err("  other, 0600: IPC_STAT", shmctl(id, IPC_STAT, &d));
		expect_err("  other, 0600: shmat", (long)shmat(id, NULL, SHM_RDONLY));
		_exit(0);
	}
	reap(pid);
	show("SHM_LOCK", shmctl(id, SHM_LOCK, NULL));
	yesno("SHM_LOCKED set", stat_of(id).shm_perm.mode & SHM_LOCKED);
	show("SHM_UNLOCK", shmctl(id, SHM_UNLOCK, NULL));
	yesno("SHM_LOCKED set", stat_of(id).shm_perm.mode & SHM_LOCKED);
}

static void info(void)
{
	printf("-- limits and listing\n");
	struct shminfo si;
	int max = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
	show("IPC_INFO", max);
	yesno("shmmax as /proc", si.shmmax == sysctl("shmmax"));
	yesno("shmall as /proc", si.shmall == sysctl("shmall"));
	yesno("shmmni as /proc", si.shmmni == sysctl("shmmni"));
	printf("shmmin %lu shmseg %lu\n", si.shmmin, si.shmseg);
	struct shm_info used;
	show("SHM_INFO", shmctl(0, SHM_INFO, (struct shmid_ds *)&used));
	int id = track(shmget(IPC_PRIVATE, 4096, 0600));
	if (id < 0)
		die("shmget");
	max = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
	int found = 0, found_any = 0;
	for (int i = 0; i <= max; i++) {
		struct shmid_ds ds;
		if (shmctl(i, SHM_STAT, &ds) == id)
			found = 1;
		if (shmctl(i, SHM_STAT_ANY, &ds) == id)
			found_any = 1;
	}
	yesno("SHM_STAT finds it", found);
	yesno("SHM_STAT_ANY finds it", found_any);
	shmctl(0, SHM_INFO, (struct shmid_ds *)&used);
	yesno("SHM_INFO counts it", used.used_ids >= 1 && used.shm_tot >= 1);

	struct shmid_ds ds;
	expect_err("id -1", shmctl(-1, IPC_STAT, &ds));
	expect_err("bad command", shmctl(id, 99, &ds));
	expect_err("IPC_STAT to a bad buffer", shmctl(id, IPC_STAT, (struct shmid_ds *)8));
	expect_err("IPC_SET from a bad buffer", shmctl(id, IPC_SET, (struct shmid_ds *)8));
	expect_err("shmat id -1", (long)shmat(-1, NULL, 0));
	expect_err("shmat stale id", (long)shmat(id + 32768 * 7, NULL, 0));
	expect_err("huge size", shmget(IPC_PRIVATE, (size_t)-1, 0600));
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exec-child") == 0) {
		exec_child(atoi(argv[2]));
		return 0;
	}
	parent = getpid();
	atexit(cleanup);
	setvbuf(stdout, NULL, _IOLBF, 0);
	basics();
	across_exec(argv[0][0] == '/' ? argv[0] : "/proc/self/exe");
	removal();
	keys();
	placement();
	big();
	perms();
	info();
	return 0;
}
