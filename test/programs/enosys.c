/* enosys: unknown system call numbers fail with ENOSYS. */
#include "common.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	/*
	 * Numbers Linux will not assign soon: the gaps in the x86-64 table
	 * fill up (335 became uretprobe), so only numbers far above the
	 * highest call, the x32-only range 512..547 (ENOSYS for 64-bit
	 * code) and -1 are used.
	 */
	long nrs[] = {1000, 512, 547, 4096, 100000, 0x7fffffffL, -1L};
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		errno = 0;
		long r = syscall(nrs[i], 1, 2, 3, 4, 5, 6);
		printf("syscall(%ld) = %ld errno %s\n", nrs[i], r, errname(errno));
	}
	/* The process is fine afterwards. */
	yesno("getppid works afterwards", syscall(SYS_getppid) >= 0);
	return 0;
}
