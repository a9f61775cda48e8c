/* rlimit: prlimit64 and getrlimit on this process. Values are not printed. */
#include "common.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct rlimit64 old;
	if (show("prlimit64 NOFILE get", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &old)) == 0) {
		yesno("NOFILE soft >= 1", old.rlim_cur >= 1);
		yesno("NOFILE soft <= hard", old.rlim_cur <= old.rlim_max);
	}
	struct rlimit r;
	if (show("getrlimit STACK", getrlimit(RLIMIT_STACK, &r)) == 0)
		yesno("STACK soft <= hard", r.rlim_cur <= r.rlim_max);
	show("getrlimit AS", getrlimit(RLIMIT_AS, &r));
	show("getrlimit CORE", getrlimit(RLIMIT_CORE, &r));
	expect_err("prlimit64 bad resource", syscall(SYS_prlimit64, 0, 1000, NULL, &old));
	expect_err("getrlimit bad resource", getrlimit(1000, &r));
	expect_err("prlimit64 bad pointer", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, (void *)16));
	return 0;
}
