/*
 * abort: dies of SIGABRT through abort(3) (rt_sigprocmask, then tgkill of
 * itself). Natively the wait status says signal 6; magawa exits 128+6.
 */
#include "common.h"
#include <sys/resource.h>

int main(void)
{
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);
	printf("about to abort\n");
	fflush(stdout);
	abort();
}
