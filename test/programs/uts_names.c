/*
 * uts_names: sethostname and setdomainname, read back through uname and
 * /proc/sys/kernel. Natively the program first moves into a UTS
 * namespace of its own, so the host's names are never changed; the
 * sandbox refuses new namespaces (EPERM) and its names are its own
 * anyway. The checks in Linux's order: the length (EINVAL), the memory
 * (EFAULT), and CAP_SYS_ADMIN (EPERM) for a user without it.
 */
#define _GNU_SOURCE
#include "common.h"
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void names(const char *what)
{
	struct utsname u;
	if (uname(&u) < 0)
		die("uname");
	char h[80] = "", d[80] = "";
	FILE *f = fopen("/proc/sys/kernel/hostname", "r");
	if (f) {
		if (!fgets(h, sizeof(h), f))
			h[0] = 0;
		fclose(f);
	}
	f = fopen("/proc/sys/kernel/domainname", "r");
	if (f) {
		if (!fgets(d, sizeof(d), f))
			d[0] = 0;
		fclose(f);
	}
	h[strcspn(h, "\n")] = 0;
	d[strcspn(d, "\n")] = 0;
	printf("%s: nodename %s domainname %s; proc %s %s\n", what, u.nodename,
	       u.domainname, h, d);
}

static void check(const char *what, int r)
{
	printf("%s: %d %s\n", what, r, r < 0 ? errname(errno) : "");
}

int main(void)
{
	if (getuid() != 0) {
		printf("needs root\n");
		return 0;
	}
	/* Never the host's names: natively the program needs a UTS
	 * namespace of its own. The sandbox refuses one (EPERM), and there
	 * the names are the sandbox's (its nodename is magawa's); anywhere
	 * else a failed unshare ends the program before any change. */
	if (unshare(CLONE_NEWUTS) < 0) {
		struct utsname u;
		if (uname(&u) < 0 || strcmp(u.nodename, "magawa") != 0) {
			printf("no UTS namespace of its own: %s\n", errname(errno));
			return 1;
		}
	}

	check("sethostname", sethostname("uts-one", 7));
	check("setdomainname", setdomainname("dom.example", 11));
	names("set");
	/* The length counts, not a NUL: "uts-twoXX" cut to 7 bytes. */
	check("sethostname 7 of 9", sethostname("uts-twoXX", 7));
	/* A NUL inside the length ends the name. */
	check("sethostname with NUL", sethostname("ab\0cd", 5));
	names("cut");
	check("sethostname empty", sethostname("", 0));
	names("empty");
	char long_name[66];
	memset(long_name, 'x', sizeof(long_name));
	check("sethostname 64", sethostname(long_name, 64));
	check("sethostname 65", sethostname(long_name, 65));
	check("sethostname -1", (int)syscall(SYS_sethostname, long_name, -1L));
	check("sethostname bad pointer", (int)syscall(SYS_sethostname, 8L, 4L));
	check("setdomainname 65", setdomainname(long_name, 65));

	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (setuid(1000) < 0)
			die("setuid");
		check("sethostname as uid 1000", sethostname("nope", 4));
		check("setdomainname as uid 1000", setdomainname("nope", 4));
		fflush(stdout);
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	names("after the child");
	return 0;
}
