/*
 * sighandlers: running signal handlers. SA_SIGINFO fields for kill,
 * sigqueue, tgkill and faults (SIGSEGV, SIGFPE, SIGILL, recovered with
 * siglongjmp); the mask inside a handler; nested handlers, with and
 * without the second signal in sa_mask; SA_NODEFER; SA_RESETHAND;
 * sigaltstack, with a handler running on it, and a stack overflow
 * caught there.
 */
#include "proc.h"
#include <setjmp.h>
#include <stdint.h>

static char trace[512];

static void note(const char *s)
{
	strcat(trace, s);
	strcat(trace, " ");
}

static void show_trace(const char *what)
{
	printf("%s: %s\n", what, trace);
	trace[0] = 0;
}

/* --- siginfo --- */

static siginfo_t got;
static int got_uc;

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	got = *si;
	got_uc = uc != NULL;
}

static void show_info(const char *what)
{
	printf("%s: %s, %s, si_pid matches: %s, si_uid matches: %s, ucontext: %s\n", what,
	       signame(got.si_signo), code_str(got.si_code), got.si_pid == getpid() ? "yes" : "no",
	       got.si_uid == getuid() ? "yes" : "no", got_uc ? "yes" : "no");
	memset(&got, 0, sizeof(got));
}

static void siginfo_fields(void)
{
	printf("-- SA_SIGINFO\n");
	struct sigaction sa = {.sa_sigaction = on_info, .sa_flags = SA_SIGINFO};
	sigaction(SIGUSR1, &sa, NULL);
	kill(getpid(), SIGUSR1);
	show_info("kill");
	union sigval v = {.sival_int = 1234};
	sigqueue(getpid(), SIGUSR1, v);
	printf("sigqueue si_value: %d\n", got.si_value.sival_int);
	show_info("sigqueue");
	syscall(SYS_tgkill, getpid(), gettid_(), SIGUSR1);
	show_info("tgkill");
	raise(SIGUSR1);
	show_info("raise");
	siginfo_t si = {0};
	si.si_signo = SIGUSR1;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = 77;
	show("rt_sigqueueinfo to self", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si));
	printf("rt_sigqueueinfo si_value: %d\n", got.si_value.sival_int);
	show_info("rt_sigqueueinfo");
	si.si_code = SI_KERNEL;
	/* Linux refuses a non-negative si_code only when sent to another process. */
	show("rt_sigqueueinfo to self with si_code SI_KERNEL", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si));
	show_info("rt_sigqueueinfo SI_KERNEL");
	signal(SIGUSR1, SIG_DFL);
}

/* --- faults --- */

static sigjmp_buf jb;
static volatile void *fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got = *si;
	siglongjmp(jb, sig);
}

static const char *fault_code(int sig, int code)
{
	switch (sig) {
	case SIGSEGV: return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "?";
	case SIGFPE: return code == FPE_INTDIV ? "FPE_INTDIV" : "?";
	case SIGILL: return code == ILL_ILLOPN ? "ILL_ILLOPN" : code == ILL_ILLOPC ? "ILL_ILLOPC" : "?";
	case SIGBUS: return code == BUS_ADRERR ? "BUS_ADRERR" : "?";
	case SIGTRAP: return code == SI_KERNEL ? "SI_KERNEL" : "?";
	}
	return "?";
}

static void show_fault(const char *what, int sig, int check_addr)
{
	printf("%s: %s %s", what, signame(sig), fault_code(sig, got.si_code));
	if (check_addr)
		printf(", si_addr is the address: %s", got.si_addr == fault_addr ? "yes" : "no");
	printf("\n");
}

static int zero = 0;

static void faults(void)
{
	printf("-- faults\n");
	struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER};
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	int sig;

	fault_addr = (void *)0x10;
	if ((sig = sigsetjmp(jb, 1)) == 0)
		*(volatile int *)fault_addr = 1;
	show_fault("write to 0x10", sig, 1);

	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fault_addr = ro + 8;
	if ((sig = sigsetjmp(jb, 1)) == 0)
		*(volatile char *)fault_addr = 1;
	show_fault("write to a read-only page", sig, 1);
	munmap(ro, 4096);

	if ((sig = sigsetjmp(jb, 1)) == 0) {
		int q;
		__asm__ volatile("cltd; idivl %2" : "=a"(q) : "a"(1), "r"(zero) : "edx");
		printf("not reached %d\n", q);
	}
	show_fault("integer division by zero", sig, 0);

	if ((sig = sigsetjmp(jb, 1)) == 0)
		__asm__ volatile("ud2");
	show_fault("ud2", sig, 0);

	if ((sig = sigsetjmp(jb, 1)) == 0)
		__asm__ volatile("int3");
	show_fault("int3", sig, 0);

	/* Fault handlers stay installed after siglongjmp: a second fault is caught. */
	fault_addr = (void *)0x20;
	if ((sig = sigsetjmp(jb, 1)) == 0)
		*(volatile int *)fault_addr = 1;
	show_fault("second write to 0x20", sig, 1);

	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	yesno("SIGSEGV unblocked after siglongjmp", !sigismember(&cur, SIGSEGV));
	signal(SIGSEGV, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGTRAP, SIG_DFL);
}

/* --- masks and nesting --- */

static void mask_note(const char *who)
{
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	char b[64];
	snprintf(b, sizeof(b), "%s[usr1=%d,usr2=%d,int=%d]", who, sigismember(&cur, SIGUSR1),
		 sigismember(&cur, SIGUSR2), sigismember(&cur, SIGINT));
	note(b);
}

static void on_usr2(int sig)
{
	(void)sig;
	mask_note("usr2");
}

static void on_usr1_raise_usr2(int sig)
{
	(void)sig;
	mask_note("usr1-begin");
	raise(SIGUSR2);
	note("usr1-end");
}

static void nesting(void)
{
	printf("-- nesting and masks\n");
	struct sigaction sa = {.sa_handler = on_usr2};
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_usr1_raise_usr2;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	show_trace("USR2 raised in the USR1 handler");
	mask_note("after");
	show_trace("mask restored");

	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	show_trace("same with USR2 in sa_mask");
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
}

/* --- SA_NODEFER and SA_RESETHAND --- */

static int depth, entries;

static void on_recursive(int sig)
{
	char b[32];
	depth++;
	snprintf(b, sizeof(b), "enter%d", depth);
	note(b);
	if (++entries == 1)
		raise(sig);
	snprintf(b, sizeof(b), "leave%d", depth);
	note(b);
	depth--;
}

static void on_resethand(int sig)
{
	struct sigaction cur;
	sigaction(sig, NULL, &cur);
	note(cur.sa_handler == SIG_DFL ? "inside:SIG_DFL" : "inside:handler");
	mask_note("inside");
}

static void nodefer_resethand(void)
{
	printf("-- SA_NODEFER, SA_RESETHAND\n");
	struct sigaction sa = {.sa_handler = on_recursive};
	sigaction(SIGUSR1, &sa, NULL);
	entries = 0;
	raise(SIGUSR1);
	show_trace("handler raising its own signal");
	entries = 0;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	show_trace("same with SA_NODEFER");

	sa.sa_handler = on_resethand;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	show_trace("SA_RESETHAND");
	struct sigaction cur;
	sigaction(SIGUSR1, NULL, &cur);
	yesno("disposition is SIG_DFL after the first delivery", cur.sa_handler == SIG_DFL);
	yesno("SA_RESETHAND still in sa_flags", cur.sa_flags & SA_RESETHAND);

	sa.sa_flags = SA_RESETHAND | SA_SIGINFO;
	sa.sa_sigaction = on_info;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	sigaction(SIGUSR2, NULL, &cur);
	yesno("SA_SIGINFO|SA_RESETHAND: SIG_DFL after the first delivery", cur.sa_handler == SIG_DFL);
	yesno("SA_SIGINFO still in sa_flags", cur.sa_flags & SA_SIGINFO);
	memset(&got, 0, sizeof(got));
}

/* --- sigaltstack --- */

static char *alt;
static size_t altsize;

static int on_alt(void *p)
{
	return (char *)p >= alt && (char *)p < alt + altsize;
}

static void on_stackcheck(int sig)
{
	(void)sig;
	volatile int local;
	stack_t cur;
	sigaltstack(NULL, &cur);
	note(on_alt((void *)&local) ? "on-alt-stack" : "on-normal-stack");
	note(cur.ss_flags & SS_ONSTACK ? "SS_ONSTACK" : "not-SS_ONSTACK");
	stack_t other = {.ss_sp = alt, .ss_size = altsize};
	errno = 0;
	if (sigaltstack(&other, NULL) < 0) {
		char b[48];
		snprintf(b, sizeof(b), "change:%s", errname(errno));
		note(b);
	} else {
		note("change:ok");
	}
}

static volatile int overflowed;
static sigjmp_buf ojb;

static void on_overflow(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	volatile int local;
	overflowed = on_alt((void *)&local) ? 1 : 2;
	siglongjmp(ojb, 1);
}

static volatile int no_limit = 1 << 30;

static int recurse(volatile char *prev, int n)
{
	volatile char buf[1024];
	if (n > no_limit)
		return 0;
	buf[0] = (char)n;
	buf[1023] = prev ? prev[0] : 0;
	return recurse(buf, n + 1) + buf[1023];
}

static void altstack(void)
{
	printf("-- sigaltstack\n");
	stack_t cur;
	show("sigaltstack query", sigaltstack(NULL, &cur));
	yesno("initially disabled", cur.ss_flags == SS_DISABLE);
	altsize = 64 * 1024;
	alt = malloc(altsize);
	stack_t ss = {.ss_sp = alt, .ss_size = altsize};
	show("sigaltstack set", sigaltstack(&ss, NULL));
	sigaltstack(NULL, &cur);
	yesno("read back", cur.ss_sp == alt && cur.ss_size == altsize && cur.ss_flags == 0);
	stack_t small = {.ss_sp = alt, .ss_size = 512};
	expect_err("sigaltstack too small", sigaltstack(&small, NULL));
	stack_t badflags = {.ss_sp = alt, .ss_size = altsize, .ss_flags = 0x1234};
	expect_err("sigaltstack bad flags", sigaltstack(&badflags, NULL));

	struct sigaction sa = {.sa_handler = on_stackcheck, .sa_flags = SA_ONSTACK};
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	show_trace("handler with SA_ONSTACK");
	sa.sa_flags = 0;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	show_trace("handler without SA_ONSTACK");
	signal(SIGUSR1, SIG_DFL);

	/* The reason for sigaltstack: catching a stack overflow. */
	sa.sa_sigaction = on_overflow;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(ojb, 1) == 0)
		recurse(NULL, 0);
	printf("stack overflow caught: %s\n", overflowed == 1 ? "on the alternate stack" : overflowed == 2 ? "on the normal stack" : "no");
	signal(SIGSEGV, SIG_DFL);

	stack_t dis = {.ss_flags = SS_DISABLE};
	show("sigaltstack disable", sigaltstack(&dis, NULL));
	sigaltstack(NULL, &cur);
	yesno("disabled", cur.ss_flags == SS_DISABLE);
}

int main(void)
{
	/* The stack overflow must never leave a core file on the host. */
	no_core_dumps();
	siginfo_fields();
	faults();
	nesting();
	nodefer_resethand();
	altstack();
	return 0;
}
