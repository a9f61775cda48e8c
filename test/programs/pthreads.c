/*
 * pthreads: threads made by glibc's pthread_create (clone with CLONE_VM,
 * CLONE_THREAD and friends). Thread ids, join results and pthread_exit,
 * thread-local storage (initialised and zeroed), thread-specific data
 * destructors, mutexes, condition variables (a bounded queue), a
 * barrier, a read-write lock, cancellation (deferred, at a cancellation
 * point, with cleanup handlers, and held while disabled), a robust mutex
 * whose owner dies, signals to one thread (pthread_kill) and to the
 * process (taken by the only thread not blocking it), per-thread names,
 * detached threads, and clone(CLONE_VM) without CLONE_THREAD.
 */
#include "proc.h"
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>

#define NT 8

static void check(const char *what, int err)
{
	if (err) {
		printf("FATAL %s: %s\n", what, errname(err));
		exit(2);
	}
}

/* --- ids, join results, TLS --- */

static __thread int tls_init = 42;
static __thread long tls_zero;
static __thread char tls_buf[256];
static pid_t main_pid, main_tid;

struct idinfo {
	int index;
	pid_t pid, tid;
	int tls_init_seen;
	long tls_zero_seen;
	int buf_ok;
};

static void *id_thread(void *arg)
{
	struct idinfo *in = arg;
	in->pid = getpid();
	in->tid = gettid_();
	in->tls_init_seen = tls_init;
	in->tls_zero_seen = tls_zero;
	tls_init = 1000 + in->index;
	for (int i = 0; i < 100000; i++)
		tls_zero++;
	memset(tls_buf, in->index, sizeof(tls_buf));
	sched_yield();
	int ok = tls_init == 1000 + in->index && tls_zero == 100000;
	for (size_t i = 0; i < sizeof(tls_buf); i++)
		ok &= tls_buf[i] == in->index;
	in->buf_ok = ok;
	if (in->index == 3)
		pthread_exit((void *)(intptr_t)(in->index * in->index + 1));
	return (void *)(intptr_t)(in->index * in->index);
}

static void ids_tls(void)
{
	printf("-- ids, join results, thread-local storage\n");
	pthread_t t[NT];
	struct idinfo in[NT];
	tls_init = 7;
	for (int i = 0; i < NT; i++) {
		in[i] = (struct idinfo){.index = i + 1};
		check("pthread_create", pthread_create(&t[i], NULL, id_thread, &in[i]));
	}
	long sum = 0;
	for (int i = 0; i < NT; i++) {
		void *ret;
		check("pthread_join", pthread_join(t[i], &ret));
		sum += (intptr_t)ret;
	}
	printf("sum of join results (3 used pthread_exit with +1): %ld\n", sum);
	int same_pid = 1, tid_not_pid = 1, distinct = 1, init = 1, zero = 1, buf = 1;
	for (int i = 0; i < NT; i++) {
		same_pid &= in[i].pid == main_pid;
		tid_not_pid &= in[i].tid != in[i].pid && in[i].tid > 0;
		for (int j = 0; j < i; j++)
			distinct &= in[i].tid != in[j].tid;
		init &= in[i].tls_init_seen == 42;
		zero &= in[i].tls_zero_seen == 0;
		buf &= in[i].buf_ok;
	}
	yesno("gettid is getpid in the main thread", main_tid == main_pid);
	yesno("getpid in threads is the process's", same_pid);
	yesno("gettid != getpid in threads", tid_not_pid);
	yesno("thread ids distinct", distinct);
	yesno("initialised TLS starts at its initial value in each thread", init);
	yesno("zeroed TLS starts at zero in each thread", zero);
	yesno("TLS private to each thread", buf);
	yesno("main thread's TLS untouched", tls_init == 7);
}

/* --- thread-specific data --- */

static pthread_key_t key;
static atomic_int destructed;

static void destructor(void *v)
{
	atomic_fetch_add(&destructed, (int)(intptr_t)v);
}

static void *key_thread(void *arg)
{
	pthread_setspecific(key, arg);
	return pthread_getspecific(key);
}

static void specific(void)
{
	printf("-- pthread keys\n");
	check("pthread_key_create", pthread_key_create(&key, destructor));
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		check("pthread_create", pthread_create(&t[i], NULL, key_thread, (void *)(intptr_t)(i + 1)));
	int ok = 1;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		ok &= (intptr_t)r == i + 1;
	}
	yesno("each thread saw its own value", ok);
	printf("sum of values given to destructors: %d\n", atomic_load(&destructed));
	yesno("main thread's value unset", pthread_getspecific(key) == NULL);
}

/* --- mutex, condition variable, barrier, rwlock --- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *mutex_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50000; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

#define QCAP 4
#define ITEMS 2000
static pthread_cond_t notfull = PTHREAD_COND_INITIALIZER, notempty = PTHREAD_COND_INITIALIZER;
static int queue[QCAP], qhead, qlen, produced_done;
static long consumed_sum, consumed_n;

static void *producer(void *arg)
{
	int base = (int)(intptr_t)arg;
	for (int i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&mu);
		while (qlen == QCAP)
			pthread_cond_wait(&notfull, &mu);
		queue[(qhead + qlen++) % QCAP] = base + i;
		pthread_cond_signal(&notempty);
		pthread_mutex_unlock(&mu);
	}
	pthread_mutex_lock(&mu);
	produced_done++;
	pthread_cond_broadcast(&notempty);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (qlen == 0 && produced_done < 2)
			pthread_cond_wait(&notempty, &mu);
		if (qlen == 0) {
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		int v = queue[qhead];
		qhead = (qhead + 1) % QCAP;
		qlen--;
		consumed_sum += v;
		consumed_n++;
		pthread_cond_signal(&notfull);
		pthread_mutex_unlock(&mu);
	}
}

static pthread_barrier_t barrier;
static atomic_int serial, after_barrier;

static void *barrier_thread(void *arg)
{
	(void)arg;
	for (int round = 0; round < 10; round++) {
		int r = pthread_barrier_wait(&barrier);
		if (r == PTHREAD_BARRIER_SERIAL_THREAD)
			atomic_fetch_add(&serial, 1);
		else if (r != 0)
			return (void *)1;
	}
	atomic_fetch_add(&after_barrier, 1);
	return NULL;
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_value, rw_bad;

static void *rw_thread(void *arg)
{
	int writer = (int)(intptr_t)arg;
	for (int i = 0; i < 20000; i++) {
		if (writer) {
			pthread_rwlock_wrlock(&rw);
			rw_value++;
			rw_value++;
			pthread_rwlock_unlock(&rw);
		} else {
			pthread_rwlock_rdlock(&rw);
			if (rw_value % 2)
				rw_bad++; /* racy on purpose: only ever written if the lock failed */
			pthread_rwlock_unlock(&rw);
		}
	}
	return NULL;
}

static void sync_objects(void)
{
	printf("-- mutex\n");
	pthread_t t[NT];
	for (int i = 0; i < NT; i++)
		check("pthread_create", pthread_create(&t[i], NULL, mutex_thread, NULL));
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	printf("counter: %ld (want %d)\n", counter, NT * 50000);
	check("trylock", pthread_mutex_trylock(&mu));
	printf("trylock of a held mutex: %s\n", errname(pthread_mutex_trylock(&mu)));
	pthread_mutex_unlock(&mu);

	pthread_mutex_t ec;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&ec, &a);
	pthread_mutex_lock(&ec);
	printf("error-checking mutex locked twice: %s\n", errname(pthread_mutex_lock(&ec)));
	pthread_mutex_unlock(&ec);
	printf("error-checking mutex unlocked twice: %s\n", errname(pthread_mutex_unlock(&ec)));

	printf("-- condition variables: 2 producers, 3 consumers, queue of %d\n", QCAP);
	pthread_t p[2], c[3];
	for (int i = 0; i < 3; i++)
		check("pthread_create", pthread_create(&c[i], NULL, consumer, NULL));
	for (int i = 0; i < 2; i++)
		check("pthread_create", pthread_create(&p[i], NULL, producer, (void *)(intptr_t)(i * 100000)));
	for (int i = 0; i < 2; i++)
		pthread_join(p[i], NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(c[i], NULL);
	printf("consumed %ld items, sum %ld\n", consumed_n, consumed_sum);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 10 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&mu);
	printf("pthread_cond_timedwait with nobody signalling: %s\n", errname(pthread_cond_timedwait(&notempty, &mu, &ts)));
	pthread_mutex_unlock(&mu);

	printf("-- barrier of %d, 10 rounds\n", NT);
	pthread_barrier_init(&barrier, NULL, NT);
	for (int i = 0; i < NT; i++)
		check("pthread_create", pthread_create(&t[i], NULL, barrier_thread, NULL));
	int bad = 0;
	for (int i = 0; i < NT; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += r != NULL;
	}
	printf("serial threads: %d (one per round), passed: %d, errors: %d\n", atomic_load(&serial),
	       atomic_load(&after_barrier), bad);
	pthread_barrier_destroy(&barrier);

	printf("-- rwlock: 2 writers, 4 readers\n");
	for (int i = 0; i < 6; i++)
		check("pthread_create", pthread_create(&t[i], NULL, rw_thread, (void *)(intptr_t)(i < 2)));
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	printf("value: %ld, odd values seen by readers: %ld\n", rw_value, rw_bad);
}

/* --- cancellation --- */

static atomic_int cleanups, cancel_ready;

static void cleanup(void *arg)
{
	atomic_fetch_add(&cleanups, (int)(intptr_t)arg);
}

static void *cancel_in_wait(void *arg)
{
	(void)arg;
	pthread_cleanup_push(cleanup, (void *)1);
	pthread_mutex_lock(&mu);
	pthread_cleanup_push((void (*)(void *))pthread_mutex_unlock, &mu);
	atomic_store(&cancel_ready, 1);
	for (;;)
		pthread_cond_wait(&notfull, &mu);
	pthread_cleanup_pop(1);
	pthread_cleanup_pop(1);
	return NULL;
}

static void *cancel_in_sleep(void *arg)
{
	(void)arg;
	pthread_cleanup_push(cleanup, (void *)10);
	atomic_store(&cancel_ready, 1);
	for (;;)
		sleep_ms(1000);
	pthread_cleanup_pop(0);
	return NULL;
}

static atomic_int may_enable;

static void *cancel_disabled(void *arg)
{
	(void)arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_push(cleanup, (void *)100);
	atomic_store(&cancel_ready, 1);
	wait_flag(&may_enable, 1); /* nanosleep: a cancellation point, but disabled */
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_testcancel();
	pthread_cleanup_pop(0);
	return (void *)7;
}

static void cancellation(void)
{
	printf("-- cancellation\n");
	void *(*fns[])(void *) = {cancel_in_wait, cancel_in_sleep, cancel_disabled};
	const char *names[] = {"in pthread_cond_wait", "in nanosleep", "while disabled, then at pthread_testcancel"};
	for (int i = 0; i < 3; i++) {
		pthread_t t;
		atomic_store(&cancel_ready, 0);
		check("pthread_create", pthread_create(&t, NULL, fns[i], NULL));
		wait_flag(&cancel_ready, 1);
		check("pthread_cancel", pthread_cancel(t));
		if (i == 2) {
			sleep_ms(20);
			atomic_store(&may_enable, 1);
		}
		void *r;
		pthread_join(t, &r);
		printf("cancelled %s: %s\n", names[i], r == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "not cancelled");
	}
	printf("cleanup handlers run (1+10+100): %d\n", atomic_load(&cleanups));
	yesno("mutex released by the cleanup handler", pthread_mutex_trylock(&mu) == 0);
	pthread_mutex_unlock(&mu);
}

/* --- robust mutex --- */

static pthread_mutex_t robust;

static void *die_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust);
	return NULL; /* exits holding it */
}

static void robust_mutex(void)
{
	printf("-- robust mutex whose owner exits\n");
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &a);
	pthread_t t;
	check("pthread_create", pthread_create(&t, NULL, die_holding, NULL));
	pthread_join(t, NULL);
	int r = pthread_mutex_lock(&robust);
	printf("lock: %s\n", r ? errname(r) : "0");
	if (r == EOWNERDEAD) {
		show("pthread_mutex_consistent", pthread_mutex_consistent(&robust) ? -1 : 0);
		pthread_mutex_unlock(&robust);
		r = pthread_mutex_lock(&robust);
		printf("lock again: %s\n", r ? errname(r) : "0");
		pthread_mutex_unlock(&robust);
	}
}

/* --- signals and threads --- */

static _Atomic pid_t handled_by;
static atomic_int handled_count;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_store(&handled_by, gettid_());
	atomic_fetch_add(&handled_count, 1);
}

static atomic_int sig_ready, sig_stop;
static _Atomic pid_t worker_tid;

static void *sig_worker(void *arg)
{
	int block = (int)(intptr_t)arg;
	if (block) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &s, NULL);
	} else {
		atomic_store(&worker_tid, gettid_());
	}
	atomic_fetch_add(&sig_ready, 1);
	while (!atomic_load(&sig_stop))
		sleep_ms(1);
	return NULL;
}

static void thread_signals(void)
{
	printf("-- signals and threads\n");
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t t[4];
	/* Thread 0 unblocked, threads 1-3 blocking SIGUSR1. */
	for (int i = 0; i < 4; i++)
		check("pthread_create", pthread_create(&t[i], NULL, sig_worker, (void *)(intptr_t)(i > 0)));
	wait_flag(&sig_ready, 4);

	check("pthread_kill", pthread_kill(t[0], SIGUSR1));
	while (atomic_load(&handled_count) < 1)
		sleep_ms(1);
	yesno("pthread_kill: handled by the target thread", atomic_load(&handled_by) == atomic_load(&worker_tid));

	/* Block it in main too: only thread 0 can take a process-directed signal. */
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	kill(getpid(), SIGUSR1);
	while (atomic_load(&handled_count) < 2)
		sleep_ms(1);
	yesno("kill(getpid()): handled by the only thread not blocking it",
	      atomic_load(&handled_by) == atomic_load(&worker_tid));
	show("tgkill to a thread", syscall(SYS_tgkill, getpid(), atomic_load(&worker_tid), SIGUSR1));
	while (atomic_load(&handled_count) < 3)
		sleep_ms(1);
	yesno("tgkill: handled by that thread", atomic_load(&handled_by) == atomic_load(&worker_tid));
	expect_err("tgkill with the wrong tgid", syscall(SYS_tgkill, getpid() + 1000000, atomic_load(&worker_tid), 0));
	atomic_store(&sig_stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	signal(SIGUSR1, SIG_DFL);
}

/* --- names, detached threads --- */

static char thread_name[16];
static atomic_int detached_done;

static void *name_thread(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "worker-thread");
	prctl(PR_GET_NAME, thread_name);
	return NULL;
}

static void *detached(void *arg)
{
	(void)arg;
	atomic_store(&detached_done, 1);
	return NULL;
}

static void names_detached(void)
{
	printf("-- thread names, detached threads\n");
	prctl(PR_SET_NAME, "main-thread");
	pthread_t t;
	check("pthread_create", pthread_create(&t, NULL, name_thread, NULL));
	pthread_join(t, NULL);
	char n[16];
	prctl(PR_GET_NAME, n);
	printf("thread's name: %s, main's name: %s\n", thread_name, n);

	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	check("pthread_create detached", pthread_create(&t, &a, detached, NULL));
	wait_flag(&detached_done, 1);
	yesno("detached thread ran", 1);
}

/* --- clone(CLONE_VM) without CLONE_THREAD: a process sharing our memory --- */

static volatile int shared_store;

static int vm_child(void *arg)
{
	(void)arg;
	shared_store = getpid() != main_pid ? 1 : 2;
	return 12;
}

static void clone_vm(void)
{
	printf("-- clone(CLONE_VM | SIGCHLD)\n");
	size_t sz = 256 * 1024;
	char *stack = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	fflush(stdout);
	pid_t pid = clone(vm_child, stack + sz, CLONE_VM | SIGCHLD, NULL);
	if (pid < 0)
		die("clone");
	printf("child: %s\n", status_str(reap(pid)));
	yesno("child's store visible to us (shared memory)", shared_store == 1);
	munmap(stack, sz);
}

int main(void)
{
	main_pid = getpid();
	main_tid = gettid_();
	setvbuf(stdout, NULL, _IOLBF, 0);
	ids_tls();
	specific();
	sync_objects();
	cancellation();
	robust_mutex();
	thread_signals();
	names_detached();
	clone_vm();
	return 0;
}
