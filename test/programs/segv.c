/*
 * segv: dies of SIGSEGV by writing through a NULL pointer. Natively the
 * wait status says "killed by signal 11"; magawa exits 128+11.
 */
#include "common.h"
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
	/* No core file natively; the result does not matter in the sandbox. */
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);

	printf("about to write through NULL\n");
	fflush(stdout);
	*(volatile int *)0 = 1;
	printf("still alive after the NULL write\n");
	return 0;
}
