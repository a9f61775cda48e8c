/*
 * process: process-level state that has to agree with itself: process
 * group and session, the thread pointer set by arch_prctl, the TID
 * address and robust list glibc registered at start-up.
 */
#include "common.h"
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pid_t pid = getpid();
	yesno("getpgid(0) is getpgrp()", getpgid(0) == getpgrp());
	yesno("getpgid(self) is getpgrp()", getpgid(pid) == getpgrp());
	/* The inherited session may belong to an ancestor PID namespace, where
	 * getsid answers 0, so only a session of our own has a known ID. */
	yesno("getsid(0) not negative", getsid(0) >= 0);
	yesno("getsid(self) is getsid(0)", getsid(pid) == getsid(0));
	yesno("gettid is getpid (single thread)", syscall(SYS_gettid) == pid);
	expect_err("getpgid(-1)", getpgid(-1));

	pid_t child = fork();
	if (child == 0) {
		pid_t me = getpid();
		int ok = setsid() == me && getsid(0) == me && getpgrp() == me;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	waitpid(child, &status, 0);
	yesno("child setsid leads its session", WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* arch_prctl: FS is the thread pointer glibc installed. */
	unsigned long fs = 0;
	show("ARCH_GET_FS", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
	yesno("FS is the thread pointer", fs == (unsigned long)__builtin_thread_pointer());
	unsigned long self = 0;
	__asm__("mov %%fs:0, %0" : "=r"(self));
	yesno("fs:0 points to itself", self == fs);
	show("ARCH_SET_FS to the same value", syscall(SYS_arch_prctl, ARCH_SET_FS, fs));
	expect_err("arch_prctl bad code", syscall(SYS_arch_prctl, 0x9999, &fs));
	expect_err("ARCH_GET_FS bad pointer", syscall(SYS_arch_prctl, ARCH_GET_FS, (void *)16));

	/* set_tid_address returns the caller's TID. */
	static int tid_word;
	yesno("set_tid_address returns the tid", syscall(SYS_set_tid_address, &tid_word) == pid);

	/* get_robust_list: glibc registered a list of its size. */
	void *head = NULL;
	size_t len = 0;
	show("get_robust_list", syscall(SYS_get_robust_list, 0, &head, &len));
	yesno("robust list registered", head != NULL);
	printf("robust list len=%zu\n", len);
	expect_err("set_robust_list bad size", syscall(SYS_set_robust_list, head, len + 1));
	return 0;
}
