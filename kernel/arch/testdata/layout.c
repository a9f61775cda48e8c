/*
 * Prints the layout of Linux's x86-64 signal structures from the kernel's
 * own UAPI headers, for layout_test.go to compare with the Go constants.
 * struct rt_sigframe is not in the UAPI headers; it is declared here as
 * arch/x86/include/asm/sigframe.h has it for 64-bit processes.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <asm/signal.h>
#include <asm/sigcontext.h>
#include <asm/ucontext.h>
#include <asm/siginfo.h>
#include <linux/signal.h>
#include <linux/audit.h>

struct rt_sigframe_64 {
	char *pretcode;
	struct ucontext uc;
	siginfo_t info;
};

#define OFF(s, f) printf("off %s.%s %zu\n", #s, #f, offsetof(struct s, f))
#define SIZE(t) printf("size %s %zu\n", #t, sizeof(t))
#define CONST(c) printf("const %s %lld\n", #c, (long long)(c))

static void dump(const char *name, const void *p, size_t n) {
	const unsigned char *b = p;
	printf("bytes %s ", name);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

int main(void) {
	OFF(rt_sigframe_64, pretcode);
	OFF(rt_sigframe_64, uc);
	OFF(rt_sigframe_64, info);
	OFF(ucontext, uc_flags);
	OFF(ucontext, uc_link);
	OFF(ucontext, uc_stack);
	OFF(ucontext, uc_mcontext);
	OFF(ucontext, uc_sigmask);
	OFF(sigcontext, r8); OFF(sigcontext, r9); OFF(sigcontext, r10); OFF(sigcontext, r11);
	OFF(sigcontext, r12); OFF(sigcontext, r13); OFF(sigcontext, r14); OFF(sigcontext, r15);
	OFF(sigcontext, rdi); OFF(sigcontext, rsi); OFF(sigcontext, rbp); OFF(sigcontext, rbx);
	OFF(sigcontext, rdx); OFF(sigcontext, rax); OFF(sigcontext, rcx); OFF(sigcontext, rsp);
	OFF(sigcontext, rip); OFF(sigcontext, eflags);
	OFF(sigcontext, cs); OFF(sigcontext, gs); OFF(sigcontext, fs); OFF(sigcontext, ss);
	OFF(sigcontext, err); OFF(sigcontext, trapno); OFF(sigcontext, oldmask);
	OFF(sigcontext, cr2); OFF(sigcontext, fpstate); OFF(sigcontext, reserved1);
	OFF(_fpx_sw_bytes, magic1); OFF(_fpx_sw_bytes, extended_size);
	OFF(_fpx_sw_bytes, xfeatures); OFF(_fpx_sw_bytes, xstate_size);
	OFF(_fpstate_64, cwd); OFF(_fpstate_64, twd); OFF(_fpstate_64, mxcsr);
	OFF(_fpstate_64, mxcsr_mask); OFF(_fpstate_64, st_space);
	OFF(_fpstate_64, xmm_space); OFF(_fpstate_64, sw_reserved);
	OFF(_xstate, xstate_hdr); OFF(_xstate, ymmh);
	OFF(_header, xfeatures);
	SIZE(struct rt_sigframe_64);
	SIZE(struct ucontext);
	SIZE(struct sigcontext);
	SIZE(siginfo_t);
	SIZE(stack_t);
	SIZE(struct _fpx_sw_bytes);
	SIZE(struct _fpstate_64);
	SIZE(struct _header);
	printf("off stack_t.ss_sp %zu\noff stack_t.ss_flags %zu\noff stack_t.ss_size %zu\n",
	       offsetof(stack_t, ss_sp), offsetof(stack_t, ss_flags), offsetof(stack_t, ss_size));

	CONST(FP_XSTATE_MAGIC1); CONST(FP_XSTATE_MAGIC2); CONST(FP_XSTATE_MAGIC2_SIZE);
	CONST(UC_FP_XSTATE); CONST(UC_SIGCONTEXT_SS); CONST(UC_STRICT_RESTORE_SS);
	CONST(SA_NOCLDSTOP); CONST(SA_NOCLDWAIT); CONST(SA_SIGINFO); CONST(SA_RESTORER);
	CONST(SA_ONSTACK); CONST(SA_RESTART); CONST(SA_NODEFER); CONST(SA_RESETHAND);
	CONST(SS_ONSTACK); CONST(SS_DISABLE); CONST(SS_AUTODISARM); CONST(MINSIGSTKSZ);
	CONST(SI_USER); CONST(SI_KERNEL); CONST(SI_QUEUE); CONST(SI_TIMER); CONST(SI_MESGQ);
	CONST(SI_ASYNCIO); CONST(SI_SIGIO); CONST(SI_TKILL); CONST(SI_DETHREAD); CONST(SI_ASYNCNL);
	CONST(ILL_ILLOPC); CONST(ILL_ILLOPN); CONST(ILL_ILLADR); CONST(ILL_ILLTRP);
	CONST(ILL_PRVOPC); CONST(ILL_PRVREG); CONST(ILL_COPROC); CONST(ILL_BADSTK);
	CONST(FPE_INTDIV); CONST(FPE_INTOVF); CONST(FPE_FLTDIV); CONST(FPE_FLTOVF);
	CONST(FPE_FLTUND); CONST(FPE_FLTRES); CONST(FPE_FLTINV); CONST(FPE_FLTSUB);
	CONST(SEGV_MAPERR); CONST(SEGV_ACCERR); CONST(SEGV_BNDERR); CONST(SEGV_PKUERR);
	CONST(BUS_ADRALN); CONST(BUS_ADRERR); CONST(BUS_OBJERR); CONST(BUS_MCEERR_AR); CONST(BUS_MCEERR_AO);
	CONST(TRAP_BRKPT); CONST(TRAP_TRACE); CONST(TRAP_BRANCH); CONST(TRAP_HWBKPT);
	CONST(CLD_EXITED); CONST(CLD_KILLED); CONST(CLD_DUMPED); CONST(CLD_TRAPPED);
	CONST(CLD_STOPPED); CONST(CLD_CONTINUED);
	CONST(POLL_IN); CONST(POLL_OUT); CONST(POLL_MSG); CONST(POLL_ERR); CONST(POLL_PRI); CONST(POLL_HUP);
	CONST(SYS_SECCOMP); CONST(SYS_USER_DISPATCH);
	CONST(AUDIT_ARCH_X86_64);

	/* Each siginfo layout the Go accessors cover, filled field by field. */
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = 10; si.si_errno = 3; si.si_code = SI_USER;
	si.si_pid = 1234; si.si_uid = 0xfffffffe;
	dump("kill", &si, sizeof si);

	memset(&si, 0, sizeof si);
	si.si_signo = 34; si.si_code = SI_TIMER;
	si.si_tid = 7; si.si_overrun = 3; si.si_ptr = (void *)0x1122334455667788;
	dump("timer", &si, sizeof si);

	memset(&si, 0, sizeof si);
	si.si_signo = 35; si.si_code = SI_QUEUE;
	si.si_pid = 99; si.si_uid = 1000; si.si_int = -5;
	dump("rt", &si, sizeof si);

	memset(&si, 0, sizeof si);
	si.si_signo = 17; si.si_code = CLD_EXITED;
	si.si_pid = 4321; si.si_uid = 7; si.si_status = 42; si.si_utime = 100; si.si_stime = -2;
	dump("chld", &si, sizeof si);

	memset(&si, 0, sizeof si);
	si.si_signo = 11; si.si_code = SEGV_ACCERR; si.si_addr = (void *)0xdeadbeef000;
	dump("fault", &si, sizeof si);

	memset(&si, 0, sizeof si);
	si.si_signo = 29; si.si_code = POLL_IN; si.si_band = 0x41; si.si_fd = 6;
	dump("poll", &si, sizeof si);

	memset(&si, 0, sizeof si);
	si.si_signo = 31; si.si_code = SYS_SECCOMP; si.si_errno = 1;
	si.si_call_addr = (void *)0x401002; si.si_syscall = 59; si.si_arch = AUDIT_ARCH_X86_64;
	dump("sys", &si, sizeof si);

	stack_t ss = { .ss_sp = (void *)0x7f0000001000, .ss_flags = SS_AUTODISARM, .ss_size = 65536 };
	dump("stack", &ss, sizeof ss);
	return 0;
}
