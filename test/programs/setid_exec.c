/*
 * setid_exec: exec of set-user-ID and set-group-ID programs. As root, it
 * copies itself into a fresh directory as a set-ID root program and as a
 * plain one, then a child takes user and group 1000 and execs each: the
 * set-ID program runs with effective IDs 0 (AT_SECURE set, not
 * dumpable), the plain one with the caller's (dumpable again after
 * exec), and under no_new_privs the bits are ignored.
 */
#include "common.h"
#include <fcntl.h>
#include <grp.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	printf("%s: uid=%u,%u,%u gid=%u,%u,%u secure=%lu dumpable=%d\n", what, r, e, s, gr, ge, gs,
	       getauxval(AT_SECURE), prctl(PR_GET_DUMPABLE));
}

static int copy(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0700);
	if (in < 0 || out < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	close(out);
	return chmod(to, mode); /* after the writes, which would clear the bits */
}

/* run execs prog as user and group 1000 in a child, no_new_privs if nnp. */
static void run(const char *prog, const char *what, int nnp)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) {
			printf("%s: dropping to 1000: errno %s\n", what, errname(errno));
			_exit(1);
		}
		if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
			printf("%s: no_new_privs: errno %s\n", what, errname(errno));
			_exit(1);
		}
		/* Not dumpable before: exec makes it dumpable again, unless set-ID. */
		prctl(PR_SET_DUMPABLE, 0);
		execl(prog, prog, "report", what, (char *)NULL);
		printf("%s: exec: errno %s\n", what, errname(errno));
		_exit(1);
	}
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		printf("%s: child status %#x\n", what, status);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "report") == 0) {
		report(argv[2]);
		return 0;
	}
	if (getuid() != 0) {
		printf("needs root\n");
		return 1;
	}
	char dir[] = "/tmp/setid_exec.XXXXXX";
	if (!mkdtemp(dir) || chmod(dir, 0755)) {
		printf("mkdtemp: errno %s\n", errname(errno));
		return 1;
	}
	char setid[64], plain[64];
	snprintf(setid, sizeof setid, "%s/setid", dir);
	snprintf(plain, sizeof plain, "%s/plain", dir);
	if (copy("/proc/self/exe", setid, 06755) || copy("/proc/self/exe", plain, 0755)) {
		printf("copy: errno %s\n", errname(errno));
		return 1;
	}
	struct stat st;
	stat(setid, &st);
	printf("mode %o\n", st.st_mode & 07777);
	run(setid, "set-ID", 0);
	run(plain, "plain", 0);
	run(setid, "set-ID under no_new_privs", 1);
	/* Set-group-ID without group execute is not set-group-ID. */
	chmod(setid, 02745);
	run(setid, "set-group-ID without group execute", 0);
	unlink(setid);
	unlink(plain);
	rmdir(dir);
	return 0;
}
