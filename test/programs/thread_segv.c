/*
 * thread_segv: a thread other than the main one dereferences a bad
 * pointer while the main thread waits in pthread_join and two more sleep:
 * SIGSEGV kills the whole process (exit status 139 from magawa).
 */
#include "proc.h"
#include <pthread.h>

static atomic_int sleepers;

static void *sleeper(void *arg)
{
	(void)arg;
	atomic_fetch_add(&sleepers, 1);
	for (;;)
		sleep_ms(1000);
	return NULL;
}

static void *crasher(void *arg)
{
	(void)arg;
	wait_flag(&sleepers, 2);
	static const char msg[] = "thread: about to fault\n";
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	*(volatile int *)8 = 1;
	return NULL;
}

int main(void)
{
	no_core_dumps();
	printf("main: starting threads\n");
	fflush(stdout);
	pthread_t t;
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t, NULL, sleeper, NULL))
			die("pthread_create");
	if (pthread_create(&t, NULL, crasher, NULL))
		die("pthread_create");
	pthread_join(t, NULL);
	printf("main: not reached\n");
	return 0;
}
