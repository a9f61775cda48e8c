/*
 * escape: tries every way a path can lead out of the sandbox's root to a
 * secret file that sits next to the root directory on the host, and
 * reports whether any read returned the secret. Run only inside magawa,
 * with a root the test prepared (never natively: it is harmless there,
 * but meaningless).
 *
 * Usage (by the test only): escape
 * Prints "tries: N", "leaks: 0" and one "LEAK: path" line per leak.
 */
#include "../common.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int leaks, tries;

static void try_open(const char *path, int flags)
{
	tries++;
	int fd = open(path, O_RDONLY | flags);
	if (fd < 0)
		return;
	char buf[64] = {0};
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && strstr(buf, "SECRET")) {
		leaks++;
		printf("LEAK: %s\n", path);
	}
}

static void try_openat2(int dirfd, const char *path, unsigned long long resolve)
{
	struct {
		unsigned long long flags, mode, resolve;
	} how = {O_RDONLY, 0, resolve};
	tries++;
	int fd = syscall(437 /* openat2 */, dirfd, path, &how, sizeof how);
	if (fd < 0)
		return;
	char buf[64] = {0};
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && strstr(buf, "SECRET")) {
		leaks++;
		printf("LEAK: openat2 %s\n", path);
	}
}

/* The host side of the test swaps /swap between a directory and a
 * symbolic link to ".." while this walks through it. */
static void *walk_swap(void *arg)
{
	for (int i = 0; i < 2000; i++) {
		try_open("/swap/secret", 0);
		try_open("/swap/../secret", 0);
		try_open("/swap/swap/secret", 0);
	}
	return NULL;
}

int main(void)
{
	static const char *paths[] = {
		"/../secret", "../secret", "../../secret", "/../../../../secret",
		"/link-abs", "/link-rel", "/dir/up/secret", "/dir/../../secret",
		"/proc/self/root/../secret", "/proc/1/root/../secret", "/proc/self/cwd/../../secret",
		"/proc/self/root/link-rel", "/dev/../../secret", "/proc/../secret", "/sys/../../secret",
		"/tmp/../../secret", "/proc/self/fd/../../../../secret",
		"/vol/../secret", "/vol/up", "/vol/abs", "/vol/../../secret", "/vol/./../vol/up",
	};
	chdir("/dir");
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		try_open(paths[i], 0);
		try_open(paths[i], O_NOFOLLOW);
	}
	int root = open("/", O_PATH | O_DIRECTORY);
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		try_openat2(root, paths[i], 0);
		try_openat2(root, paths[i], 0x10 /* RESOLVE_IN_ROOT */);
		try_openat2(root, paths[i], 0x08 /* RESOLVE_BENEATH */);
	}
	/* chroot into a subdirectory and climb. */
	if (fork() == 0) {
		chroot("/dir");
		chdir("/");
		try_open("../../secret", 0);
		try_open("/../../secret", 0);
		try_open("/up/../secret", 0);
		_exit(leaks);
	}
	int status;
	wait(&status);
	leaks += WEXITSTATUS(status);

	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, walk_swap, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);

	printf("tries: %s\n", tries > 12000 ? "many" : "few");
	printf("leaks: %d\n", leaks);
	return 0;
}
