/*
 * getpid: what a program sees of its identity inside the sandbox. Never
 * run natively (there the answers differ by design).
 */
#include "../common.h"
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void)
{
	printf("getpid=%ld\n", (long)getpid());
	printf("getppid=%ld\n", (long)getppid());
	printf("gettid=%ld\n", (long)syscall(SYS_gettid));
	struct utsname u;
	if (uname(&u) < 0)
		die("uname");
	printf("nodename=%s\n", u.nodename);
	printf("sysname=%s\n", u.sysname);
	printf("machine=%s\n", u.machine);
	return 0;
}
