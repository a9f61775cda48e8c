/*
 * fs_procfd: /proc/self/fd, /proc/self/fdinfo and /proc/self/cwd for
 * files of a tmpfs scratch directory (/dev/shm): the link text after
 * rename and unlink (" (deleted)"), O_TMPFILE and pipe names, reopening
 * through /proc/self/fd (a new offset, deleted files too), linkat of an
 * O_TMPFILE through it, and fdinfo's pos and flags. The scratch path is
 * printed as $SCRATCH; inode numbers are never printed.
 */
#include "common.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkfile(const char *path, const char *content)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	size_t n = strlen(content);
	if (write(fd, content, n) != (ssize_t)n)
		die("write");
	return fd;
}

/* sanitize replaces the scratch prefix with $SCRATCH and digit runs
 * after '#' or '[' (inode numbers) with N. */
static void sanitize(const char *in, char *out, size_t outsz)
{
	size_t sl = strlen(scratch);
	size_t o = 0;
	if (strncmp(in, scratch, sl) == 0) {
		o = snprintf(out, outsz, "$SCRATCH");
		in += sl;
	}
	while (*in && o + 2 < outsz) {
		if ((*in == '#' || *in == '[') && in[1] >= '0' && in[1] <= '9') {
			out[o++] = *in++;
			while (*in >= '0' && *in <= '9')
				in++;
			out[o++] = 'N';
			continue;
		}
		out[o++] = *in++;
	}
	out[o] = 0;
}

static void link_of(const char *label, const char *path)
{
	char buf[4096], clean[4200];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0) {
		printf("%s: errno %s\n", label, errname(errno));
		return;
	}
	buf[n] = 0;
	sanitize(buf, clean, sizeof(clean));
	printf("%s: %s\n", label, clean);
}

static void fdlink(const char *label, int fd)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	link_of(label, p);
}

/* fdinfo prints the pos: and flags: lines of /proc/self/fdinfo/fd. */
static void fdinfo(const char *label, int fd)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	int f = open(p, O_RDONLY);
	if (f < 0) {
		printf("%s: errno %s\n", label, errname(errno));
		return;
	}
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n < 0) {
		printf("%s: read errno %s\n", label, errname(errno));
		return;
	}
	buf[n] = 0;
	printf("%s:", label);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "pos:", 4) == 0 || strncmp(line, "flags:", 6) == 0) {
			for (char *c = line; *c; c++)
				if (*c == '\t')
					*c = ' ';
			printf(" [%s]", line);
		}
	}
	printf("\n");
}

int main(void)
{
	umask(022);
	if (!mkdtemp(scratch))
		die("mkdtemp");
	scratch_owner = getpid();
	atexit(remove_scratch_at_exit);
	if (chdir(scratch) < 0)
		die("chdir scratch");

	printf("== link text\n");
	int fd = mkfile("f", "0123456789");
	fdlink("a file", fd);
	rename("f", "renamed");
	fdlink("after rename", fd);
	mkdir("sub", 0755);
	rename("renamed", "sub/moved");
	fdlink("after a move to a subdir", fd);
	rename("sub", "sub2");
	fdlink("after renaming the subdir", fd);
	unlink("sub2/moved");
	fdlink("after unlink", fd);
	int dfd = open("sub2", O_RDONLY | O_DIRECTORY);
	fdlink("a dir", dfd);
	int pfd = open("sub2", O_PATH);
	fdlink("an O_PATH fd", pfd);
	close(pfd);
	symlink("sub2", "sl");
	pfd = open("sl", O_PATH | O_NOFOLLOW);
	fdlink("an O_PATH|O_NOFOLLOW fd of a symlink", pfd);
	close(pfd);
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	fdlink("a pipe", p[0]);
	int t = open(".", O_TMPFILE | O_RDWR, 0600);
	fdlink("an O_TMPFILE", t);
	link_of("/proc/self/cwd", "/proc/self/cwd");
	if (chdir("sub2") < 0)
		die("chdir");
	link_of("/proc/self/cwd in sub2", "/proc/self/cwd");
	rmdir("../sub2");
	link_of("/proc/self/cwd after rmdir", "/proc/self/cwd");
	fdlink("the dir fd after rmdir", dfd);
	close(dfd);
	if (chdir(scratch) < 0)
		die("chdir back");

	printf("== stat through /proc/self/fd\n");
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct stat a, b, l;
	fstat(fd, &a);
	show("stat of the link of a deleted file", stat(path, &b));
	yesno("same inode as fstat", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	printf("its nlink: %lu\n", (unsigned long)b.st_nlink);
	lstat(path, &l);
	printf("lstat: %s, mode %04o\n", S_ISLNK(l.st_mode) ? "symlink" : "not a symlink", l.st_mode & 07777);

	printf("== reopening\n");
	lseek(fd, 3, SEEK_SET);
	int re = open(path, O_RDONLY);
	show("reopen a deleted file through /proc/self/fd", re);
	char buf[32];
	ssize_t n = read(re, buf, 4);
	printf("the reopened fd has its own offset: \"%.*s\"\n", n < 0 ? 0 : (int)n, buf);
	printf("the original offset: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
	close(re);
	int rofd = open(".", O_TMPFILE | O_RDWR, 0644);
	if (write(rofd, "tmp", 3) != 3)
		die("write tmpfile");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", rofd);
	show("linkat AT_SYMLINK_FOLLOW of an O_TMPFILE through /proc/self/fd",
	     linkat(AT_FDCWD, path, AT_FDCWD, "fromtmp", AT_SYMLINK_FOLLOW));
	int c = open("fromtmp", O_RDONLY);
	n = read(c, buf, sizeof(buf));
	printf("it reads: \"%.*s\"\n", n < 0 ? 0 : (int)n, buf);
	close(c);
	fdlink("the O_TMPFILE fd after linking", rofd);
	close(rofd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	expect_err("linkat AT_SYMLINK_FOLLOW of an unlinked file", linkat(AT_FDCWD, path, AT_FDCWD, "revive", AT_SYMLINK_FOLLOW));
	show("linkat without AT_SYMLINK_FOLLOW links the magic link itself?",
	     linkat(AT_FDCWD, path, AT_FDCWD, "proclink", 0));
	struct stat pl;
	if (lstat("proclink", &pl) == 0)
		printf("the result is: %s\n", S_ISLNK(pl.st_mode) ? "a symlink" : S_ISREG(pl.st_mode) ? "a file" : "other");
	unlink("proclink");
	int ro = open("fromtmp", O_RDONLY);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ro);
	int rw = open(path, O_RDWR);
	show("reopen an O_RDONLY fd read-write through /proc (root)", rw);
	close(rw);
	rw = open(path, O_RDWR | O_TRUNC);
	struct stat ts;
	fstat(ro, &ts);
	printf("O_TRUNC through /proc truncates: size %lld\n", (long long)ts.st_size);
	close(rw);
	close(ro);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	int pr = open(path, O_WRONLY);
	show("reopen a pipe's read end for writing", pr);
	if (pr >= 0) {
		if (write(pr, "pp", 2) != 2)
			die("write pipe");
		n = read(p[0], buf, sizeof(buf));
		printf("the pipe reads: \"%.*s\"\n", n < 0 ? 0 : (int)n, buf);
		close(pr);
	}

	printf("== fdinfo\n");
	int w = open("fromtmp", O_WRONLY | O_APPEND);
	fdinfo("O_WRONLY|O_APPEND at 0", w);
	show("append 3 bytes", write(w, "xyz", 3) == 3 ? 0 : -1);
	fdinfo("after appending 3 bytes", w);
	close(w);
	int rc = open("fromtmp", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	lseek(rc, 2, SEEK_SET);
	fdinfo("O_RDONLY|O_CLOEXEC|O_NONBLOCK at 2", rc);
	close(rc);
	fdinfo("a pipe", p[1]);
	int d2 = open(".", O_RDONLY | O_DIRECTORY);
	fdinfo("a dir", d2);
	close(d2);
	fdinfo("a closed fd", 99);

	close(t);
	close(fd);
	close(p[0]);
	close(p[1]);
	if (chdir("/") < 0)
		die("chdir /");
	rm_rf(AT_FDCWD, scratch);
	struct stat st;
	if (lstat(scratch, &st) == 0)
		printf("scratch directory left behind\n");
	return 0;
}
