/*
 * blocked_interrupt: a child forges a signal frame whose mask blocks
 * SIGUSR2, calls rt_sigreturn with it at the systrap stub's own
 * rt_sigreturn instruction (found by its bytes in the stub's page, which
 * the application can read), so that its host thread blocks the signal
 * the platform interrupts it with, and then spins for ever. Its parent
 * kills it and must see it die by SIGKILL: the sandbox can still stop a
 * thread that makes no system call and blocks the interrupt signal.
 * Where the stub has no such instruction (ptrace), the child makes the
 * same call from its own code. Never run natively.
 */
#include "../common.h"
#include "report.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The stub's page (platform.MaxUserAddress) and its rt_sigreturn site:
 * mov $15, %eax; syscall. */
#define STUB_PAGE 0x7ff000000000UL
static const unsigned char sigreturn_site[] = {0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};

extern void spin_forever(void);
extern void own_sigreturn(void);
__asm__(".text\n"
	".globl spin_forever\n"
	"spin_forever: jmp spin_forever\n"
	".globl own_sigreturn\n"
	"own_sigreturn: syscall\n"
	"ud2\n");

/* The kernel's struct ucontext, 64-bit: flags, link, stack (3 words),
 * sigcontext (32 words: r8-r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp,
 * rip, eflags, cs/gs/fs/ss, err, trapno, oldmask, cr2, fpstate, 8
 * reserved), sigmask. */
static uint64_t frame[38] __attribute__((aligned(64)));

static uintptr_t find_site(void)
{
	const unsigned char *page = (const unsigned char *)STUB_PAGE;
	for (size_t i = 0; i + sizeof sigreturn_site <= 4096; i++)
		if (memcmp(page + i, sigreturn_site, sizeof sigreturn_site) == 0)
			return (uintptr_t)(page + i + 5);
	return 0;
}

static void child(uintptr_t site)
{
	static char stack[4096] __attribute__((aligned(16)));
	uint64_t *sc = frame + 5;
	sc[15] = (uint64_t)(stack + sizeof stack); /* rsp */
	sc[16] = (uint64_t)spin_forever;             /* rip */
	sc[17] = 0x202;                              /* eflags */
	sc[18] = 0x33 | (uint64_t)0x2b << 48;        /* cs, ss */
	frame[37] = 1UL << (SIGUSR2 - 1);            /* the mask */
	if (!site)
		site = (uintptr_t)own_sigreturn;
	/* rt_sigreturn finds the ucontext at rsp. */
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "mov $15, %%eax\n\t"
			 "jmp *%1"
			 :
			 : "D"(frame), "c"(site)
			 : "memory");
	__builtin_unreachable();
}

int main(void)
{
	/* The stub's page is readable where there is one (the sandbox). */
	uintptr_t site = find_site();
	line("site: %s", site ? "stub" : "own");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		child(site);
	struct timespec pause = {0, 300 * 1000 * 1000};
	nanosleep(&pause, NULL);
	TRY("kill", kill(pid, SIGKILL));
	int status;
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (WIFSIGNALED(status))
		line("child: killed by signal %d", WTERMSIG(status));
	else
		line("child: status %#x", status);
	line("parent: alive");
	return 0;
}
