/*
 * exit_thread: the only thread calls exit(2) (not exit_group): the thread
 * group ends with that status, 5.
 */
#include "common.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	static const char msg[] = "calling SYS_exit(5)\n";

	if (write(1, msg, sizeof(msg) - 1) < 0)
		die("write");
	syscall(SYS_exit, 5);
	return 1; /* not reached */
}
