/*
 * identity: user and group IDs. magawa runs programs as root (uid 0) for
 * now, the same as the native run of the test.
 */
#include "common.h"
#include <unistd.h>

int main(void)
{
	printf("uid=%u euid=%u gid=%u egid=%u\n", getuid(), geteuid(),
	       getgid(), getegid());
	uid_t r, e, s;
	gid_t gr, ge, gs;
	if (getresuid(&r, &e, &s) < 0)
		printf("getresuid: errno %s\n", errname(errno));
	else
		printf("getresuid=%u,%u,%u\n", r, e, s);
	if (getresgid(&gr, &ge, &gs) < 0)
		printf("getresgid: errno %s\n", errname(errno));
	else
		printf("getresgid=%u,%u,%u\n", gr, ge, gs);
	gid_t groups[64];
	int n = getgroups(64, groups);
	if (n < 0) {
		printf("getgroups: errno %s\n", errname(errno));
	} else {
		printf("getgroups: %d:", n);
		for (int i = 0; i < n; i++)
			printf(" %u", groups[i]);
		printf("\n");
	}
	printf("getgroups(0, NULL) = %d\n", getgroups(0, NULL));
	return 0;
}
