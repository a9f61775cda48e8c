/*
 * fs_perm: permission checks for an unprivileged user on a tmpfs scratch
 * directory (/dev/shm). Root prepares files and directories, then a
 * child drops to uid/gid 1000 (no supplementary groups) and tries to
 * read, write, search, create, remove, chmod, chown and set times;
 * sticky directories, the setgid bit a non-member cannot set, and the
 * privilege bits a write clears.
 */
#include "common.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

static void mkfile(const char *path, const char *content, mode_t m, uid_t u, gid_t g)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(path);
	size_t n = strlen(content);
	if (write(fd, content, n) != (ssize_t)n)
		die("write");
	close(fd);
	if (chown(path, u, g) < 0 || chmod(path, m) < 0)
		die("chown/chmod");
}

static void mkd(const char *path, mode_t m, uid_t u, gid_t g)
{
	if (mkdir(path, 0700) < 0 || chown(path, u, g) < 0 || chmod(path, m) < 0)
		die(path);
}

static void mode(const char *label, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		printf("%s: errno %s\n", label, errname(errno));
	else
		printf("%s: %06o %u:%u\n", label, st.st_mode, st.st_uid, st.st_gid);
}

static void tryopen(const char *label, const char *path, int flags)
{
	int fd = open(path, flags, 0644);
	if (fd < 0) {
		printf("%s: errno %s\n", label, errname(errno));
		return;
	}
	printf("%s: ok\n", label);
	close(fd);
}

static void as_user(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
		die("drop privileges");
	printf("-- as uid %u gid %u\n", geteuid(), getegid());

	printf("== files\n");
	tryopen("read root's 0600 file", "root600", O_RDONLY);
	tryopen("read root's 0644 file", "root644", O_RDONLY);
	tryopen("write root's 0644 file", "root644", O_WRONLY);
	tryopen("write root's 0666 file", "root666", O_WRONLY);
	tryopen("read own 0200 file", "user200", O_RDONLY);
	tryopen("write own 0200 file", "user200", O_WRONLY);
	tryopen("read a 0060 file of my group (owner bits deny)", "grp060", O_RDONLY);
	tryopen("read a 0604 file of my group (group bits deny)", "grp604", O_RDONLY);
	tryopen("read a 0440 root:1000 file", "grp440", O_RDONLY);
	tryopen("O_TRUNC root's 0644 file", "root644", O_RDONLY | O_TRUNC);
	tryopen("O_NOATIME on root's 0644 file", "root644", O_RDONLY | O_NOATIME);
	tryopen("O_NOATIME on own file", "user200", O_WRONLY | O_NOATIME);
	expect_err("truncate root's 0644 file", truncate("root644", 0));
	show("truncate root's 0666 file", truncate("root666", 1));
	expect_err("access R_OK on root's 0600 file", access("root600", R_OK));
	show("access R_OK on root's 0644 file", access("root644", R_OK));
	expect_err("access W_OK on root's 0644 file", access("root644", W_OK));
	expect_err("access R_OK on root's 0711 file", access("root711", R_OK));
	show("access X_OK on root's 0711 file", access("root711", X_OK));
	expect_err("faccessat2 AT_EACCESS W_OK on root's 0644 file",
		   syscall(SYS_faccessat2, AT_FDCWD, "root644", W_OK, AT_EACCESS));

	printf("== directories\n");
	tryopen("create in root's 0755 dir", "d755/new", O_WRONLY | O_CREAT);
	tryopen("open a file in root's 0755 dir", "d755/f", O_RDONLY);
	tryopen("open a file in root's 0700 dir", "d700/f", O_RDONLY);
	expect_err("stat a file in root's 0700 dir", access("d700/f", F_OK));
	tryopen("open a file in root's 0711 dir", "d711/f", O_RDONLY);
	tryopen("list root's 0711 dir", "d711", O_RDONLY | O_DIRECTORY);
	tryopen("list root's 0744 dir", "d744", O_RDONLY | O_DIRECTORY);
	tryopen("open a file in root's 0744 dir", "d744/f", O_RDONLY);
	expect_err("chdir into root's 0700 dir", chdir("d700"));
	expect_err("unlink in root's 0755 dir", unlink("d755/f"));
	expect_err("mkdir in root's 0755 dir", mkdir("d755/sub", 0755));
	expect_err("rename out of root's 0755 dir", rename("d755/f", "d777/stolen"));
	expect_err("rename into root's 0755 dir", rename("d777/mine", "d755/mine"));
	expect_err("rmdir root's empty dir in root's 0755 dir", rmdir("d755/empty"));
	expect_err("symlink in root's 0755 dir", symlink("x", "d755/l"));
	expect_err("link in root's 0755 dir", link("d777/mine", "d755/l"));
	show("create in root's 0777 dir", (close(open("d777/created", O_WRONLY | O_CREAT, 0666)), 0));
	mode("it", "d777/created");
	show("unlink root's file in root's 0777 dir", unlink("d777/rootfile"));
	show("rename root's dir within a 0777 dir", rename("d777/rootdir", "d777/rootdir2"));
	expect_err("rename root's 0755 dir to another 0777 dir (needs write on it for ..)",
		   rename("d777/rootdir2", "d1777/rootdir"));
	expect_err("rename a dir into a searchable but unwritable dir", rename("d777/mydir", "d755/mydir"));

	printf("== sticky directory\n");
	expect_err("unlink root's file in a 1777 dir", unlink("d1777/rootfile"));
	expect_err("rename root's file in a 1777 dir", rename("d1777/rootfile", "d1777/x"));
	expect_err("rename over root's file in a 1777 dir", rename("d1777/myfile", "d1777/rootfile"));
	expect_err("rmdir root's empty dir in a 1777 dir", rmdir("d1777/rootempty"));
	show("unlink own file in a 1777 dir", unlink("d1777/myfile"));
	show("unlink root's file in my own 1777 dir", unlink("mine1777/rootfile"));
	show("create in a 1777 dir", (close(open("d1777/new", O_WRONLY | O_CREAT, 0644)), 0));

	printf("== chmod, chown, times\n");
	expect_err("chmod root's 0666 file", chmod("root666", 0777));
	show("chmod own file", chmod("user200", 0640));
	mode("it", "user200");
	show("chmod g+s on own file of a group I'm not in", chmod("mine_gid0", 02755));
	mode("setgid silently dropped", "mine_gid0");
	show("chmod g+s on own file of my group", chmod("user200", 02755));
	mode("setgid kept", "user200");
	show("chmod +t on own file", chmod("user200", 01644));
	mode("sticky on a file kept", "user200");
	expect_err("chown own file to root", chown("user200", 0, -1));
	expect_err("chown own file to group 0", chown("user200", -1, 0));
	show("chown own file to my own ids", chown("user200", 1000, 1000));
	show("chown own file -1:-1", chown("user200", -1, -1));
	show("chown root's file -1:-1 (no change)", chown("root666", -1, -1));
	expect_err("lchown root's symlink", lchown("rootlink", 1000, 1000));
	show("utimensat NULL on root's 0666 file", utimensat(AT_FDCWD, "root666", NULL, 0));
	expect_err("utimensat NULL on root's 0644 file", utimensat(AT_FDCWD, "root644", NULL, 0));
	struct timespec ts[2] = {{1, 0}, {2, 0}};
	expect_err("utimensat explicit on root's 0666 file", utimensat(AT_FDCWD, "root666", ts, 0));
	struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	show("utimensat UTIME_NOW on root's 0666 file", utimensat(AT_FDCWD, "root666", now, 0));
	struct timespec half[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	expect_err("utimensat UTIME_NOW+UTIME_OMIT on root's 0666 file", utimensat(AT_FDCWD, "root666", half, 0));
	show("utimensat explicit on own file", utimensat(AT_FDCWD, "user200", ts, 0));

	printf("== privilege bits cleared by writes\n");
	int fd = open("suid", O_WRONLY);
	if (fd < 0)
		die("open suid");
	if (write(fd, "x", 1) != 1)
		die("write suid");
	close(fd);
	mode("own 06755 file after a write", "suid");
	fd = open("sgid_nox", O_WRONLY);
	if (write(fd, "x", 1) != 1)
		die("write sgid_nox");
	close(fd);
	mode("own 02644 file after a write", "sgid_nox");
	show("truncate own 04755 file", truncate("suid2", 0));
	mode("after", "suid2");
	fd = open("suid3", O_WRONLY | O_TRUNC);
	close(fd);
	mode("own 04755 file after O_TRUNC", "suid3");
	show("write to root's 04777 file", (fd = open("root4777", O_WRONLY)) < 0 ? -1 : write(fd, "x", 1));
	close(fd);
	mode("after", "root4777");
	fflush(stdout);
}

int main(void)
{
	if (geteuid() != 0) {
		/* Preparing the files needs chown: nothing to compare. */
		printf("needs root: skipped\n");
		return 0;
	}
	umask(022);
	if (!mkdtemp(scratch))
		die("mkdtemp");
	scratch_owner = getpid();
	atexit(remove_scratch_at_exit);
	if (chmod(scratch, 0755) < 0 || chdir(scratch) < 0)
		die("chdir scratch");
	mkfile("root600", "secret", 0600, 0, 0);
	mkfile("root644", "public", 0644, 0, 0);
	mkfile("root666", "open", 0666, 0, 0);
	mkfile("root711", "x", 0711, 0, 0);
	mkfile("root4777", "x", 04777, 0, 0);
	mkfile("user200", "mine", 0200, 1000, 1000);
	mkfile("grp060", "g", 0060, 1000, 1000);
	mkfile("grp604", "g", 0604, 0, 1000);
	mkfile("grp440", "g", 0440, 0, 1000);
	mkfile("mine_gid0", "g", 0644, 1000, 0);
	mkfile("suid", "s", 06755, 1000, 1000);
	mkfile("sgid_nox", "s", 02644, 1000, 1000);
	mkfile("suid2", "s", 04755, 1000, 1000);
	mkfile("suid3", "s", 04755, 1000, 1000);
	symlink("root644", "rootlink");
	mkd("d755", 0755, 0, 0);
	mkfile("d755/f", "f", 0644, 0, 0);
	mkd("d755/empty", 0755, 0, 0);
	mkd("d700", 0700, 0, 0);
	mkfile("d700/f", "f", 0644, 0, 0);
	mkd("d711", 0711, 0, 0);
	mkfile("d711/f", "f", 0644, 0, 0);
	mkd("d744", 0744, 0, 0);
	mkfile("d744/f", "f", 0644, 0, 0);
	mkd("d777", 0777, 0, 0);
	mkfile("d777/rootfile", "f", 0644, 0, 0);
	mkfile("d777/mine", "f", 0644, 1000, 1000);
	mkd("d777/rootdir", 0755, 0, 0);
	mkd("d777/mydir", 0755, 1000, 1000);
	mkd("d1777", 01777, 0, 0);
	mkfile("d1777/rootfile", "f", 0666, 0, 0);
	mkfile("d1777/myfile", "f", 0644, 1000, 1000);
	mkd("d1777/rootempty", 0777, 0, 0);
	mkd("mine1777", 01777, 1000, 1000);
	mkfile("mine1777/rootfile", "f", 0644, 0, 0);

	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		as_user();
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	printf("-- child: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	mode("root-owned 0755 dir renamed by the user", "d777/rootdir2");
	mode("root's file the user unlinked", "d777/rootfile");

	if (chdir("/") < 0)
		die("chdir /");
	rm_rf(AT_FDCWD, scratch);
	struct stat st;
	if (lstat(scratch, &st) == 0)
		printf("scratch directory left behind\n");
	return 0;
}
