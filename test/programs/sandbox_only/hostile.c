/*
 * hostile: tries what a malicious program would try against the host:
 * reboot it, kill every process, load a kernel module, mount and unmount
 * file systems, change the host name and the clock. Inside magawa every
 * attempt must fail; the Go test checks the host afterwards.
 *
 * DANGER: run natively as root, these calls reboot or kill the machine.
 * So before anything else the program checks that it runs inside the
 * sandbox -- PID 1, parent 0, host name "magawa", and the token the test
 * passes both in the environment and as argv[1] -- and exits 99 if not.
 * The Go test only ever runs it through `magawa do`, itself inside fresh
 * PID, mount, UTS and IPC namespaces.
 *
 * Usage (by the test only): hostile TOKEN PROBE_DIR
 */
#include "../common.h"
#include <fcntl.h>
#include <linux/reboot.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#define NOT_IN_SANDBOX 99

static void report(const char *what, long ret, int err)
{
	if (ret == -1)
		printf("%s: -1 %s\n", what, errname(err));
	else
		printf("%s: %ld\n", what, ret);
	fflush(stdout);
}

/* Runs call, then reports "what: RESULT [ERRNO]" and flushes. */
#define TRY(what, call)                       \
	do {                                  \
		errno = 0;                    \
		long ret_ = (call);           \
		report((what), ret_, errno);  \
	} while (0)

int main(int argc, char **argv)
{
	/* The safety checks come first, before any other call. */
	struct utsname u;
	const char *token = getenv("MAGAWA_HOSTILE_TOKEN");
	if (argc != 3 || token == NULL || strlen(token) < 16 ||
	    strcmp(token, argv[1]) != 0 || getpid() != 1 || getppid() != 0 ||
	    uname(&u) != 0 || strcmp(u.nodename, "magawa") != 0) {
		static const char msg[] =
			"hostile: not inside the magawa sandbox; refusing to run\n";
		if (write(2, msg, sizeof(msg) - 1) < 0) {
			/* nothing more to do */
		}
		_exit(NOT_IN_SANDBOX);
	}
	const char *probe = argv[2];
	printf("inside the sandbox: yes\n");
	fflush(stdout);

	/* Least destructive first, so that one escape still reports the rest. */
	TRY("sethostname", sethostname("magawa-escaped", 14));
	struct timeval now;
	gettimeofday(&now, NULL);
	/* The time as the sandbox sees it: harmless even if it reached the host. */
	TRY("settimeofday", settimeofday(&now, NULL));
	TRY("mount", mount("none", probe, "tmpfs", 0, ""));
	TRY("umount2", umount2("/", 0));
	static const char image[] = "this is not a kernel module";
	TRY("init_module", syscall(SYS_init_module, image, sizeof(image), ""));
	int fd = open("/etc/os-release", O_RDONLY);
	TRY("finit_module", syscall(SYS_finit_module, fd, "", 0));
	TRY("kill(-1, SIGKILL)", kill(-1, SIGKILL));
	TRY("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
			      LINUX_REBOOT_CMD_RESTART, 0));
	printf("still running: yes\n");
	return 0;
}
