/*
 * selfkill: kill(getpid(), SIGTERM) with the default disposition ends the
 * process: natively the wait status says signal 15; magawa exits 128+15.
 */
#include "common.h"
#include <signal.h>
#include <unistd.h>

int main(void)
{
	printf("sending SIGTERM to myself\n");
	fflush(stdout);
	kill(getpid(), SIGTERM);
	printf("still alive after SIGTERM\n");
	return 0;
}
