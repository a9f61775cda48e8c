/* sched_yield: always succeeds. */
#include "common.h"
#include <sched.h>

int main(void)
{
	int ok = 1;
	for (int i = 0; i < 100; i++)
		ok &= sched_yield() == 0;
	yesno("100 sched_yield calls returned 0", ok);
	return 0;
}
