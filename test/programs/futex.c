/*
 * futex: 8 threads increment a counter under a lock built on raw futex
 * calls (Drepper's three-state mutex), then the edges of futex(2):
 * FUTEX_WAIT on a changed value, timeouts (relative, and absolute with
 * FUTEX_WAIT_BITSET), FUTEX_WAKE counts, FUTEX_CMP_REQUEUE, bad
 * arguments, and a shared (not private) futex between two processes.
 */
#include "proc.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>

#define NT 8
#define ITER 100000

static long futex(atomic_int *uaddr, int op, int val, const struct timespec *ts, atomic_int *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

/* lock: 0 unlocked, 1 locked, 2 locked with waiters. */
static atomic_int lock_word;
static long counter;
static atomic_long waits;

static void lock(atomic_int *l)
{
	int c = 0;
	if (atomic_compare_exchange_strong(l, &c, 1))
		return;
	if (c != 2)
		c = atomic_exchange(l, 2);
	while (c != 0) {
		atomic_fetch_add(&waits, 1);
		futex(l, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
		c = atomic_exchange(l, 2);
	}
}

static void unlock(atomic_int *l)
{
	if (atomic_fetch_sub(l, 1) != 1) {
		atomic_store(l, 0);
		futex(l, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
}

static void *incrementer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITER; i++) {
		lock(&lock_word);
		counter++;
		if (i % 1000 == 0)
			sched_yield(); /* hold the lock a while, so that others wait */
		unlock(&lock_word);
	}
	return NULL;
}

/* waiters on one word, woken together */
static atomic_int gate, gate2, arrived;

static void *gate_waiter(void *arg)
{
	atomic_int *g = arg;
	atomic_fetch_add(&arrived, 1);
	while (atomic_load(g) == 0)
		futex(g, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

int main(void)
{
	printf("-- %d threads, %d increments each, under a futex lock\n", NT, ITER);
	pthread_t t[NT];
	for (int i = 0; i < NT; i++)
		if (pthread_create(&t[i], NULL, incrementer, NULL))
			die("pthread_create");
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	printf("counter: %ld (want %d)\n", counter, NT * ITER);
	yesno("lock free at the end", atomic_load(&lock_word) == 0);

	printf("-- FUTEX_WAIT and FUTEX_WAKE edges\n");
	atomic_int w = 5;
	expect_err("FUTEX_WAIT, value differs", futex(&w, FUTEX_WAIT_PRIVATE, 6, NULL, NULL, 0));
	struct timespec rel = {0, 10 * 1000 * 1000};
	expect_err("FUTEX_WAIT, 10ms timeout", futex(&w, FUTEX_WAIT_PRIVATE, 5, &rel, NULL, 0));
	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	expect_err("FUTEX_WAIT_BITSET, absolute deadline just past",
		   futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 5, &abs, NULL, FUTEX_BITSET_MATCH_ANY));
	clock_gettime(CLOCK_REALTIME, &abs);
	expect_err("FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, deadline just past",
		   futex(&w, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 5, &abs, NULL, FUTEX_BITSET_MATCH_ANY));
	printf("FUTEX_WAKE with no waiters: %ld\n", futex(&w, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
	struct timespec bad = {0, 1000000000L};
	expect_err("FUTEX_WAIT, bad timeout", futex(&w, FUTEX_WAIT_PRIVATE, 5, &bad, NULL, 0));
	expect_err("FUTEX_WAIT, bad address", futex((atomic_int *)16, FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0));
	expect_err("FUTEX_WAIT, misaligned address",
		   futex((atomic_int *)((char *)&w + 1), FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0));
	expect_err("FUTEX_WAIT_BITSET, bitset 0", futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0));
	expect_err("unknown futex op", futex(&w, 99, 0, NULL, NULL, 0));

	printf("-- 4 waiters woken by FUTEX_WAKE\n");
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, gate_waiter, &gate);
	wait_flag(&arrived, 4);
	atomic_store(&gate, 1);
	long woken = 0;
	/* Waiters not asleep yet see gate set and do not sleep: wake until all joined. */
	woken += futex(&gate, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	yesno("FUTEX_WAKE woke at most 4", woken >= 0 && woken <= 4);
	printf("all 4 waiters returned\n");

	printf("-- FUTEX_CMP_REQUEUE\n");
	atomic_store(&arrived, 0);
	atomic_int from = 0;
	expect_err("FUTEX_CMP_REQUEUE, value differs",
		   futex(&from, FUTEX_CMP_REQUEUE_PRIVATE, 0, (struct timespec *)(uintptr_t)1, &gate2, 1));
	long r = futex(&from, FUTEX_CMP_REQUEUE_PRIVATE, 0, (struct timespec *)(uintptr_t)1, &gate2, 0);
	printf("FUTEX_CMP_REQUEUE with no waiters: %ld\n", r);

	printf("-- a shared futex between two processes\n");
	atomic_int *sh = shared_mem(2 * sizeof(atomic_int));
	pid_t pid = xfork();
	if (pid == 0) {
		/* Wait (not private) until the parent sets the word. */
		atomic_store(&sh[1], 1);
		while (atomic_load(&sh[0]) == 0)
			futex(&sh[0], FUTEX_WAIT, 0, NULL, NULL, 0);
		_exit(atomic_load(&sh[0]));
	}
	wait_flag(&sh[1], 1);
	atomic_store(&sh[0], 33);
	futex(&sh[0], FUTEX_WAKE, 1, NULL, NULL, 0);
	printf("child woken: %s\n", status_str(reap(pid)));
	return 0;
}
