/* exit7: exits with status 7 through exit(3), after flushing stdio. */
#include "common.h"

int main(void)
{
	printf("exiting with 7\n");
	exit(7);
}
