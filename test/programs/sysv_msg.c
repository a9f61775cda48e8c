/*
 * sysv_msg: System V message queues. msgget and keys, msgsnd and msgrcv
 * by type (0, > 0, < 0, MSG_EXCEPT), E2BIG and MSG_NOERROR, MSG_COPY,
 * IPC_NOWAIT (ENOMSG, EAGAIN), the byte and message limits of a queue
 * (msg_qbytes), blocked senders and receivers woken by other processes,
 * a message handed to a waiting receiver, interruption (EINTR with a
 * handler, a transparent restart after SIGSTOP/SIGCONT), removal
 * (EIDRM), msgctl (IPC_STAT, IPC_SET, IPC_RMID, MSG_STAT, IPC_INFO),
 * permissions of another user, and errors.
 *
 * It runs on the host too, in the host's IPC namespace: everything it
 * makes is removed at exit, also on failure (atexit), and keys are
 * derived from the PID, never printed.
 */
#include "proc.h"
#include <sys/ipc.h>
#include <sys/msg.h>

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif

static int made[64];
static int nmade;
static pid_t parent;

static void cleanup(void)
{
	if (getpid() != parent)
		return;
	for (int i = 0; i < nmade; i++)
		msgctl(made[i], IPC_RMID, NULL);
}

static int newq(void)
{
	int id = msgget(IPC_PRIVATE, 0600);
	if (id < 0)
		die("msgget");
	if (nmade < 64)
		made[nmade++] = id;
	return id;
}

struct msg {
	long mtype;
	char mtext[8200]; /* room for the 8193 bytes of a message too long */
};

static struct msg m;

static int send(int id, long type, const char *text, int flags)
{
	m.mtype = type;
	size_t n = strlen(text);
	memcpy(m.mtext, text, n);
	return msgsnd(id, &m, n, flags);
}

static int sendn(int id, long type, size_t n, int flags)
{
	m.mtype = type;
	memset(m.mtext, 'a', n);
	return msgsnd(id, &m, n, flags);
}

/* recv prints what msgrcv returns. */
static void recv(const char *what, int id, size_t size, long type, int flags)
{
	struct msg r;
	memset(&r, 0, sizeof(r));
	ssize_t n = msgrcv(id, &r, size, type, flags);
	if (n < 0)
		printf("%s: errno %s\n", what, errname(errno));
	else if (n > 40)
		printf("%s: type %ld, %zd bytes\n", what, r.mtype, n);
	else
		printf("%s: type %ld \"%.*s\" (%zd)\n", what, r.mtype, (int)n, r.mtext, n);
}

static struct msqid_ds stat_of(int id)
{
	struct msqid_ds ds;
	if (msgctl(id, IPC_STAT, &ds) < 0)
		die("msgctl IPC_STAT");
	return ds;
}

static void counts(const char *what, int id)
{
	struct msqid_ds ds = stat_of(id);
	printf("%s: qnum %lu cbytes %lu\n", what, (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes);
}

static void wait_stopped(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st))
		die("waitpid WUNTRACED");
}

static void on_usr1(int sig) { (void)sig; }

static atomic_int *ready;

/*
 * about_to_block tells the parent that the caller is about to sleep in
 * msgsnd or msgrcv; wait_blocked waits for that and a little more.
 * Nothing the program prints depends on the child being asleep already:
 * a message sent early is queued and taken just the same, a signal sent
 * early is sent again, and a queue removed early fails the call with
 * EINVAL instead of EIDRM, which are printed alike.
 */
static void about_to_block(void) { atomic_store(ready, 1); }

static void wait_blocked(pid_t pid)
{
	(void)pid;
	wait_flag(ready, 1);
	atomic_store(ready, 0);
	sleep_ms(20);
}

/* gone names the failure of a call on a queue removed meanwhile. */
static const char *gone(int r)
{
	if (r >= 0)
		return "ok";
	if (errno == EIDRM || errno == EINVAL)
		return "queue removed (EIDRM, or EINVAL if it was gone before the call)";
	return errname(errno);
}

static unsigned long sysctl(const char *name)
{
	char path[128], buf[64];
	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	FILE *f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		die(path);
	fclose(f);
	return strtoul(buf, NULL, 10);
}

static void basics(void)
{
	printf("-- basics\n");
	int id = newq();
	struct msqid_ds ds = stat_of(id);
	printf("mode %o key %d qnum %lu cbytes %lu\n", ds.msg_perm.mode, ds.msg_perm.__key,
	       (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes);
	yesno("qbytes is msgmnb", ds.msg_qbytes == sysctl("msgmnb"));
	yesno("times and pids zero", ds.msg_stime == 0 && ds.msg_rtime == 0 && ds.msg_lspid == 0 && ds.msg_lrpid == 0);
	yesno("ctime set", ds.msg_ctime != 0);
	show("send 1 one", send(id, 1, "one", 0));
	show("send 2 two", send(id, 2, "two", 0));
	show("send 3 three", send(id, 3, "three", 0));
	show("send 2 deux", send(id, 2, "deux", 0));
	show("send 1 un", send(id, 1, "un", 0));
	show("send 5 empty", send(id, 5, "", 0));
	counts("six sent", id);
	ds = stat_of(id);
	yesno("lspid me, stime set", ds.msg_lspid == getpid() && ds.msg_stime != 0);
	recv("type 2", id, 100, 2, 0);
	recv("type 0", id, 100, 0, 0);
	recv("type -3", id, 100, -3, 0);
	recv("except 1", id, 100, 1, MSG_EXCEPT);
	recv("type 5", id, 100, 5, 0);
	ds = stat_of(id);
	yesno("lrpid me, rtime set", ds.msg_lrpid == getpid() && ds.msg_rtime != 0);
	counts("left", id);
	recv("copy 0", id, 100, 0, MSG_COPY | IPC_NOWAIT);
	recv("copy 1", id, 100, 1, MSG_COPY | IPC_NOWAIT);
	recv("copy 2", id, 100, 2, MSG_COPY | IPC_NOWAIT);
	recv("copy without IPC_NOWAIT", id, 100, 0, MSG_COPY);
	recv("copy with MSG_EXCEPT", id, 100, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT);
	recv("copy, small buffer", id, 2, 0, MSG_COPY | IPC_NOWAIT);
	recv("copy, small buffer, MSG_NOERROR", id, 2, 0, MSG_COPY | MSG_NOERROR | IPC_NOWAIT);
	counts("copies take nothing", id);
	recv("small buffer", id, 3, 0, 0);
	counts("still there", id);
	recv("MSG_NOERROR", id, 3, 0, MSG_NOERROR);
	send(id, 3, "trois", 0);
	send(id, 1, "uno", 0);
	recv("type -1", id, 100, -1, 0);
	recv("type -2", id, 100, -2, IPC_NOWAIT);
	recv("type -3", id, 100, -3, 0);
	recv("empty, IPC_NOWAIT", id, 100, 0, IPC_NOWAIT);
	recv("type 9, IPC_NOWAIT", id, 100, 9, IPC_NOWAIT);
	counts("empty", id);
	recv("type LONG_MIN, IPC_NOWAIT", id, 100, -9223372036854775807L - 1, IPC_NOWAIT);

	printf("-- errors\n");
	expect_err("type 0", send(id, 0, "x", 0));
	expect_err("type -1", send(id, -1, "x", 0));
	expect_err("8193 bytes", sendn(id, 1, 8193, 0));
	show("8192 bytes", sendn(id, 1, 8192, 0));
	expect_err("bad message", msgsnd(id, (void *)8, 1, 0));
	m.mtype = 1;
	expect_err("bad text", msgsnd(id, (char *)8 - sizeof(long) + 4096 * 1000, 1, 0));
	expect_err("id -1", send(-1, 1, "x", 0));
	expect_err("stale id", send(id + 32768 * 5, 1, "x", 0));
	expect_err("receive id -1", msgrcv(-1, &m, 10, 0, 0));
	expect_err("receive size -1", msgrcv(id, &m, (size_t)-1, 0, 0));
	expect_err("receive to a bad buffer", msgrcv(id, (void *)8, 8192, 0, 0));
	counts("the message went anyway", id);
	struct msqid_ds ds2;
	expect_err("bad command", msgctl(id, 99, &ds2));
	expect_err("IPC_STAT to a bad buffer", msgctl(id, IPC_STAT, (void *)8));
}

static void limits(void)
{
	printf("-- queue limits\n");
	int id = newq();
	show("8192", sendn(id, 1, 8192, 0));
	show("8192", sendn(id, 2, 8192, 0));
	expect_err("1 more, IPC_NOWAIT", sendn(id, 3, 1, IPC_NOWAIT));
	show("0 bytes", sendn(id, 4, 0, IPC_NOWAIT));
	counts("full", id);
	pid_t pid = xfork();
	if (pid == 0) {
		about_to_block();
		_exit(sendn(id, 3, 100, 0) == 0 ? 0 : errno);
	}
	wait_blocked(pid);
	recv("take type 2", id, 8192, 2, MSG_NOERROR);
	printf("blocked sender: %s\n", status_str(reap(pid)));
	counts("sender done", id);

	struct msqid_ds ds = stat_of(id);
	ds.msg_qbytes = 3;
	show("qbytes 3", msgctl(id, IPC_SET, &ds));
	expect_err("now 1 byte", sendn(id, 3, 1, IPC_NOWAIT));
	while (msgrcv(id, &m, 8192, 0, IPC_NOWAIT) >= 0)
		;
	show("0 bytes", sendn(id, 1, 0, IPC_NOWAIT));
	show("0 bytes", sendn(id, 1, 0, IPC_NOWAIT));
	show("1 byte, a 3rd message", sendn(id, 1, 1, IPC_NOWAIT));
	expect_err("a 4th message of 0 bytes", sendn(id, 1, 0, IPC_NOWAIT));
	ds = stat_of(id);
	ds.msg_qbytes = 3;
	msgctl(id, IPC_SET, &ds);
	pid = xfork();
	if (pid == 0) {
		about_to_block();
		int r = sendn(id, 1, 100, 0);
		printf("  sender on a removed queue: %s\n", gone(r));
		_exit(0);
	}
	wait_blocked(pid);
	long r = msgctl(id, IPC_RMID, NULL);
	reap(pid);
	show("IPC_RMID", r);
}

static void receivers(void)
{
	printf("-- receivers\n");
	int id = newq();
	pid_t pid = xfork();
	if (pid == 0) {
		about_to_block();
		recv("  waiting for type 5", id, 100, 5, 0);
		_exit(0);
	}
	wait_blocked(pid);
	send(id, 4, "four", 0);
	send(id, 5, "five", 0);
	reap(pid);
	counts("type 4 left", id);
	recv("type 4", id, 100, 4, 0);

	pid = xfork();
	if (pid == 0) {
		about_to_block();
		recv("  waiting with 2 bytes", id, 2, 0, 0);
		_exit(0);
	}
	wait_blocked(pid);
	send(id, 1, "too long", 0);
	reap(pid);
	counts("queued instead", id);
	recv("take it", id, 100, 0, 0);

	pid = xfork();
	if (pid == 0) {
		struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
		sigaction(SIGUSR1, &sa, NULL);
		about_to_block();
		while (msgrcv(id, &m, 100, 0, 0) >= 0)
			;
		printf("  msgrcv with an SA_RESTART handler: errno %s\n", errname(errno));
		atomic_store(ready, 2);
		_exit(0);
	}
	wait_flag(ready, 1);
	while (atomic_load(ready) != 2) {
		kill(pid, SIGUSR1);
		sleep_ms(5);
	}
	atomic_store(ready, 0);
	reap(pid);

	pid = xfork();
	if (pid == 0) {
		about_to_block();
		recv("  msgrcv across SIGSTOP, SIGCONT", id, 100, 0, 0);
		_exit(0);
	}
	wait_blocked(pid);
	kill(pid, SIGSTOP);
	wait_stopped(pid);
	kill(pid, SIGCONT);
	sleep_ms(20);
	send(id, 7, "after the stop", 0);
	reap(pid);

	pid = xfork();
	if (pid == 0) {
		about_to_block();
		int r = msgrcv(id, &m, 100, 0, 0);
		printf("  msgrcv on a removed queue: %s\n", gone(r));
		_exit(0);
	}
	wait_blocked(pid);
	long r = msgctl(id, IPC_RMID, NULL);
	reap(pid);
	show("IPC_RMID", r);
	struct msqid_ds ds;
	expect_err("IPC_STAT after IPC_RMID", msgctl(id, IPC_STAT, &ds));
}

static void perms(void)
{
	printf("-- permissions\n");
	int id = newq();
	struct msqid_ds ds = stat_of(id);
	ds.msg_perm.mode = 0604;
	show("IPC_SET 0604", msgctl(id, IPC_SET, &ds));
	send(id, 1, "hi", 0);
	pid_t pid = xfork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			die("drop privileges");
		struct msqid_ds d;
		show("  other: IPC_STAT", msgctl(id, IPC_STAT, &d));
		recv("  other: receive", id, 100, 0, IPC_NOWAIT);
		expect_err("  other: send", send(id, 1, "x", IPC_NOWAIT));
		expect_err("  other: IPC_SET", msgctl(id, IPC_SET, &d));
		expect_err("  other: IPC_RMID", msgctl(id, IPC_RMID, NULL));
		_exit(0);
	}
	reap(pid);
	ds = stat_of(id);
	ds.msg_perm.uid = 65534;
	ds.msg_perm.mode = 0600;
	show("give it to 65534", msgctl(id, IPC_SET, &ds));
	pid = xfork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			die("drop privileges");
		struct msqid_ds d = stat_of(id);
		show("  owner: send", send(id, 1, "x", IPC_NOWAIT));
		d.msg_qbytes = 16385;
		expect_err("  owner: qbytes above msgmnb", msgctl(id, IPC_SET, &d));
		d.msg_qbytes = 100;
		show("  owner: qbytes 100", msgctl(id, IPC_SET, &d));
		show("  owner: IPC_RMID", msgctl(id, IPC_RMID, NULL));
		_exit(0);
	}
	reap(pid);
}

static void keys_and_info(void)
{
	printf("-- keys and limits\n");
	key_t key = 0x5c000000 | (getpid() & 0xffffff);
	expect_err("no such key", msgget(key, 0600));
	int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	show("create", id);
	if (id >= 0 && nmade < 64)
		made[nmade++] = id;
	expect_err("IPC_EXCL again", msgget(key, IPC_CREAT | IPC_EXCL | 0600));
	yesno("found", msgget(key, 0) == id);
	show("IPC_RMID", msgctl(id, IPC_RMID, NULL));
	expect_err("key gone", msgget(key, 0));

	struct msginfo mi;
	int max = msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
	show("IPC_INFO", max);
	yesno("limits as /proc", mi.msgmax == (int)sysctl("msgmax") && mi.msgmnb == (int)sysctl("msgmnb") &&
					 mi.msgmni == (int)sysctl("msgmni"));
	printf("msgssz %d msgseg %d msgpool %d msgmap %d msgtql %d\n", mi.msgssz, mi.msgseg, mi.msgpool,
	       mi.msgmap, mi.msgtql);
	id = newq();
	send(id, 1, "counted", 0);
	max = msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
	int found = 0, found_any = 0;
	for (int i = 0; i <= max; i++) {
		struct msqid_ds ds;
		if (msgctl(i, MSG_STAT, &ds) == id)
			found = 1;
		if (msgctl(i, MSG_STAT_ANY, &ds) == id)
			found_any = 1;
	}
	yesno("MSG_STAT finds it", found);
	yesno("MSG_STAT_ANY finds it", found_any);
	msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
	yesno("MSG_INFO counts it", mi.msgpool >= 1 && mi.msgmap >= 1 && mi.msgtql >= 7);
}

int main(void)
{
	parent = getpid();
	atexit(cleanup);
	ready = shared_mem(4096);
	setvbuf(stdout, NULL, _IOLBF, 0);
	basics();
	limits();
	receivers();
	perms();
	keys_and_info();
	return 0;
}
