/*
 * Delivers signals on the host kernel and prints what the frames look
 * like, for native_amd64_test.go to recompute with SetupFrame and
 * RestoreFrame. Build with -O0 -fno-omit-frame-pointer: the handler finds
 * its entry stack pointer from its frame pointer.
 *
 * Output, one fact per line:
 *   xstate HEX                   the PTRACE_GETREGSET NT_X86_XSTATE area of a stopped child
 *   frame NAME key=value...      one delivery
 *   eflags set=X after=Y         flags set in uc_mcontext, flags seen after rt_sigreturn
 *   fp MODE lower=L upper=U      ymm0 halves restored (1 = as before the signal)
 *   fp MODE signal=S             the child died of signal S instead
 *   child NAME signal=S          how a child that could not deliver a signal died
 */
#define _GNU_SOURCE
#include <elf.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* The kernel's struct ucontext and struct sigcontext_64 (see layout.c). */
#define UC_FLAGS 0
#define UC_STACK 16
#define UC_MCONTEXT 40
#define SC_RSP (UC_MCONTEXT + 120)
#define SC_EFLAGS (UC_MCONTEXT + 136)
#define SC_FPSTATE (UC_MCONTEXT + 184)
#define UC_SIGMASK 296

#define SS_AUTODISARM_ (1u << 31)

struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static uint64_t u64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void put64(void *p, uint64_t v) { memcpy(p, &v, 8); }
static void put32(void *p, uint32_t v) { memcpy(p, &v, 4); }

struct rec {
	const char *name;
	unsigned long saflags;
	uint64_t entry, ret, restorer, uc, info, fp, sc_rsp, sc_eflags, eflags_entry;
	uint64_t uc_flags, ss_sp, ss_size, xfeatures, hdr_rest, mask;
	uint32_t ss_flags, magic1, ext, xsize, magic2;
};
static struct rec recs[128];
static int nrec;

static const char *name_usr1, *name_usr2;
static int nest;          /* SIGUSR1's handler raises SIGUSR2 */
static uint64_t set_eflags;
static int fp_mode = -1;

static long tgkill_self(int sig) {
	return syscall(SYS_tgkill, getpid(), gettid(), sig);
}

static void *restorer_of(int sig) {
	struct kernel_sigaction old;
	syscall(SYS_rt_sigaction, sig, NULL, &old, 8);
	return old.restorer;
}

static void fp_edit(unsigned char *uc);

static void handler(int sig, siginfo_t *si, void *ucv) {
	unsigned char *uc = ucv;
	uint64_t fl;
	__asm__ volatile("pushfq; popq %0" : "=r"(fl));
	uint64_t entry = (uint64_t)__builtin_frame_address(0) + 8;

	if (set_eflags) {
		put64(uc + SC_EFLAGS, set_eflags);
		return;
	}
	if (fp_mode >= 0) {
		fp_edit(uc);
		return;
	}
	struct rec *r = &recs[nrec++];
	r->name = sig == SIGUSR1 ? name_usr1 : name_usr2;
	struct sigaction sa;
	sigaction(sig, NULL, &sa);
	r->saflags = sa.sa_flags;
	r->entry = entry;
	r->ret = u64((void *)entry);
	r->restorer = (uint64_t)restorer_of(sig);
	r->uc = (uint64_t)uc;
	r->info = (uint64_t)si;
	r->eflags_entry = fl;
	r->uc_flags = u64(uc + UC_FLAGS);
	r->ss_sp = u64(uc + UC_STACK);
	r->ss_flags = u32(uc + UC_STACK + 8);
	r->ss_size = u64(uc + UC_STACK + 16);
	r->sc_rsp = u64(uc + SC_RSP);
	r->sc_eflags = u64(uc + SC_EFLAGS);
	r->mask = u64(uc + UC_SIGMASK);
	unsigned char *fp = (void *)u64(uc + SC_FPSTATE);
	r->fp = (uint64_t)fp;
	r->magic1 = u32(fp + 464);
	r->ext = u32(fp + 468);
	r->xfeatures = u64(fp + 472);
	r->xsize = u32(fp + 480);
	r->magic2 = u32(fp + r->xsize);
	r->hdr_rest = 0;
	for (int i = 520; i < 576; i++)
		r->hdr_rest |= fp[i];

	if (nest && sig == SIGUSR1)
		tgkill_self(SIGUSR2);
}

static void on(int sig, unsigned long flags) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

/* tgkill with the stack pointer k bytes lower, so that the interrupted
 * rsp takes every alignment. The frame goes below rsp-128-k, clear of the
 * compiler's red zone. */
static void raise_at(int k, int std) {
	long ret;
	long pid = getpid(), tid = gettid();
	if (std)
		__asm__ volatile("sub %[k], %%rsp\n\tstd\n\tsyscall\n\tcld\n\tadd %[k], %%rsp"
				 : "=a"(ret)
				 : "0"((long)SYS_tgkill), "D"(pid), "S"(tid), "d"((long)SIGUSR1), [k] "r"((long)k)
				 : "rcx", "r11", "memory", "cc");
	else
		__asm__ volatile("sub %[k], %%rsp\n\tsyscall\n\tadd %[k], %%rsp"
				 : "=a"(ret)
				 : "0"((long)SYS_tgkill), "D"(pid), "S"(tid), "d"((long)SIGUSR1), [k] "r"((long)k)
				 : "rcx", "r11", "memory", "cc");
}

static void print_recs(void) {
	for (int i = 0; i < nrec; i++) {
		struct rec *r = &recs[i];
		printf("frame %s saflags=%#lx entry=%#lx ret=%#lx restorer=%#lx uc=%#lx info=%#lx fp=%#lx "
		       "sc_rsp=%#lx sc_eflags=%#lx eflags_entry=%#lx uc_flags=%#lx ss_sp=%#lx ss_flags=%#x "
		       "ss_size=%#lx magic1=%#x ext=%#x xfeatures=%#lx xsize=%#x magic2=%#x hdr_rest=%#lx mask=%#lx\n",
		       r->name, r->saflags, r->entry, r->ret, r->restorer, r->uc, r->info, r->fp,
		       r->sc_rsp, r->sc_eflags, r->eflags_entry, r->uc_flags, r->ss_sp, r->ss_flags,
		       r->ss_size, r->magic1, r->ext, r->xfeatures, r->xsize, r->magic2, r->hdr_rest, r->mask);
	}
	nrec = 0;
}

static int child_signal(void (*fn)(void *), void *arg) {
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		fn(arg);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static void dump_xstate(void) {
	pid_t p = fork();
	if (p == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	static unsigned char buf[1 << 16];
	struct iovec iov = {buf, sizeof buf};
	if (ptrace(PTRACE_GETREGSET, p, NT_X86_XSTATE, &iov) == 0) {
		printf("xstate ");
		for (size_t i = 0; i < iov.iov_len; i++)
			printf("%02x", buf[i]);
		printf("\n");
	}
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
}

static char altbuf[1 << 16] __attribute__((aligned(16)));

static void overflow(void *arg) {
	(void)arg;
	static char small[2048] __attribute__((aligned(16)));
	stack_t ss = {.ss_sp = small, .ss_size = sizeof small};
	if (sigaltstack(&ss, NULL) != 0) {
		printf("child overflow sigaltstack failed\n");
		return;
	}
	on(SIGUSR1, SA_SIGINFO | SA_ONSTACK);
	tgkill_self(SIGUSR1);
}

static void norestorer(void *arg) {
	(void)arg;
	struct kernel_sigaction ka = {.handler = (void *)handler, .flags = SA_SIGINFO};
	syscall(SYS_rt_sigaction, SIGUSR1, &ka, NULL, 8);
	tgkill_self(SIGUSR1);
}

/* The FP modes: what the handler does to the frame's XSAVE area. */
static void fp_edit(unsigned char *uc) {
	unsigned char *fp = (void *)u64(uc + SC_FPSTATE);
	uint32_t xsize = u32(fp + 480);
	switch (fp_mode) {
	case 0: break;
	case 1: put32(fp + 464, 0); break;                              /* magic1 */
	case 2: put32(fp + xsize, 0); break;                            /* magic2 */
	case 3: put64(fp + 472, 3); break;                              /* xfeatures FP|SSE */
	case 4: put64(uc + SC_FPSTATE, 0); break;                       /* no fpstate */
	case 5: put64(fp + 512, u64(fp + 512) | 1ull << 63); break;     /* XSTATE_BV */
	case 6: put64(fp + 520, 1); break;                              /* XCOMP_BV */
	case 7: put32(fp + 24, u32(fp + 24) | 1u << 16); break;         /* MXCSR */
	case 8: put32(fp + 468, 0xffffffff); put32(fp + 480, 0xfffffff0); put32(fp + 0xfffffff0ul, 0); break;
	case 9: put64(fp + 512, 3); break;                              /* YMM init */
	case 10: put64(fp + 512, u64(fp + 512) & ~2ull); break;         /* SSE init */
	case 11: put64(fp + 512 + 40, 0x1234); break;                   /* header bytes 40-47 */
	case 12: put64(fp + 528, 1); break;                             /* header bytes 16-23 */
	case 13: put32(fp + 24, u32(fp + 24) | 1u << 16); put64(fp + 472, 1); break;
	case 14: put32(fp + 24, u32(fp + 24) | 1u << 16); put32(fp + 464, 0); break;
	case 15: put64(fp + 472, ~0ull); break;                         /* xfeatures all */
	}
}

static void fp_run(void *arg) {
	fp_mode = (int)(long)arg;
	static unsigned char out[32] __attribute__((aligned(32)));
	long ret;
	long pid = getpid(), tid = gettid();
	on(SIGUSR1, SA_SIGINFO);
	__asm__ volatile("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
			 "syscall\n\t"
			 "vmovdqu %%ymm0, (%[out])\n\t"
			 "vzeroupper"
			 : "=a"(ret)
			 : "0"((long)SYS_tgkill), "D"(pid), "S"(tid), "d"((long)SIGUSR1), [out] "r"(out)
			 : "rcx", "r11", "memory", "xmm0");
	int lower = 1, upper = 1;
	for (int i = 0; i < 16; i++) {
		lower &= out[i] == 0xff;
		upper &= out[16 + i] == 0xff;
	}
	printf("fp %d lower=%d upper=%d\n", fp_mode, lower, upper);
}

/* Mode 8 writes where the frame says its (huge) area ends; skip it. */
static const int fp_modes[] = {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15};

int main(void) {
	setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	dump_xstate();

	/* Every alignment of the interrupted stack pointer, no sigaltstack. */
	on(SIGUSR1, SA_SIGINFO);
	static char names[80][8];
	for (int k = 0; k < 80; k++) {
		snprintf(names[k], sizeof names[k], "rsp%d", k);
		name_usr1 = names[k];
		raise_at(k, 0);
	}
	name_usr1 = "df";
	raise_at(0, 1);
	name_usr1 = "nosiginfo";
	on(SIGUSR1, 0);
	raise_at(0, 0);

	/* The alternate stack, and a signal on top of one delivered on it. */
	stack_t ss = {.ss_sp = altbuf, .ss_size = sizeof altbuf};
	sigaltstack(&ss, NULL);
	on(SIGUSR1, SA_SIGINFO | SA_ONSTACK);
	on(SIGUSR2, SA_SIGINFO | SA_ONSTACK);
	nest = 1;
	name_usr1 = "alt";
	name_usr2 = "alt-nested";
	raise_at(0, 0);

	ss.ss_flags = SS_AUTODISARM_;
	sigaltstack(&ss, NULL);
	name_usr1 = "autodisarm";
	name_usr2 = "autodisarm-nested";
	raise_at(0, 0);
	nest = 0;

	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	name_usr1 = "disabled";
	raise_at(0, 0);
	print_recs();

	printf("child overflow signal=%d\n", child_signal(overflow, NULL));
	printf("child norestorer signal=%d\n", child_signal(norestorer, NULL));

	/* rt_sigreturn with every flag set in the frame but TF. */
	on(SIGUSR1, SA_SIGINFO);
	set_eflags = 0xffffffffffffffffull & ~0x100ull;
	uint64_t after;
	{
		long ret;
		long pid = getpid(), tid = gettid();
		__asm__ volatile("syscall\n\t"
				 "pushfq\n\t"
				 "popq %[after]\n\t"
				 "pushq $0x202\n\t"
				 "popfq"
				 : "=a"(ret), [after] "=r"(after)
				 : "0"((long)SYS_tgkill), "D"(pid), "S"(tid), "d"((long)SIGUSR1)
				 : "rcx", "r11", "memory", "cc");
	}
	printf("eflags set=%#lx after=%#lx\n", set_eflags, after);
	set_eflags = 0;

	if (__builtin_cpu_supports("avx")) {
		for (size_t i = 0; i < sizeof fp_modes / sizeof fp_modes[0]; i++) {
			int sig = child_signal(fp_run, (void *)(long)fp_modes[i]);
			if (sig)
				printf("fp %d signal=%d\n", fp_modes[i], sig);
		}
	}
	return 0;
}
