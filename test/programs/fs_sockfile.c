/*
 * fs_sockfile: the file a UNIX socket's bind creates on a tmpfs scratch
 * directory (/dev/shm): its stat, open(2) refusing it (ENXIO), O_PATH,
 * EADDRINUSE, the file staying after close, and connect to files that
 * are not listening sockets (a mknod'd socket, a regular file, a FIFO).
 */
#include "common.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *kind(mode_t m)
{
	if (S_ISFIFO(m)) return "fifo";
	if (S_ISREG(m)) return "file";
	if (S_ISDIR(m)) return "dir";
	if (S_ISSOCK(m)) return "socket";
	if (S_ISLNK(m)) return "symlink";
	if (S_ISCHR(m)) return "chr";
	if (S_ISBLK(m)) return "blk";
	return "other";
}

static void describe(const char *label, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		printf("%s: errno %s\n", label, errname(errno));
	else
		printf("%s: %s mode %04o size %lld nlink %lu\n", label, kind(st.st_mode), st.st_mode & 07777,
		       (long long)st.st_size, (unsigned long)st.st_nlink);
}

static void sockets(void)
{
	printf("== a UNIX socket's file\n");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/sock", scratch);
	show("bind", bind(s, (struct sockaddr *)&a, sizeof(a)));
	describe("stat", "sock");
	expect_err("open it", open("sock", O_RDONLY));
	expect_err("open it O_PATH|O_DIRECTORY", open("sock", O_PATH | O_DIRECTORY));
	int p = open("sock", O_PATH);
	show("open it O_PATH", p);
	close(p);
	expect_err("bind again", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, sizeof(a)));
	close(s);
	describe("after close the file stays", "sock");
	expect_err("open the mknod'd socket", open("ns", O_RDONLY));
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/ns", scratch);
	expect_err("connect to a mknod'd socket", connect(c, (struct sockaddr *)&a, sizeof(a)));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/nr", scratch);
	expect_err("connect to a regular file", connect(c, (struct sockaddr *)&a, sizeof(a)));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/ff", scratch);
	expect_err("connect to a FIFO", connect(c, (struct sockaddr *)&a, sizeof(a)));
	close(c);
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
	if (mknod("ns", S_IFSOCK | 0600, 0) < 0 || mknod("nr", S_IFREG | 0600, 0) < 0 ||
	    mkfifo("ff", 0600) < 0)
		die("mknod");
	sockets();
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/dgram", scratch);
	umask(077);
	show("bind a datagram socket with umask 077", bind(s, (struct sockaddr *)&a, sizeof(a)));
	describe("stat", "dgram");
	umask(022);
	close(s);
	show("unlink the socket file", unlink("dgram"));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "nodir/sock");
	expect_err("bind in a missing dir", bind(s, (struct sockaddr *)&a, sizeof(a)));
	snprintf(a.sun_path, sizeof(a.sun_path), "rel");
	show("bind a relative path", bind(s, (struct sockaddr *)&a, sizeof(a)));
	describe("stat it", "rel");
	close(s);
	if (chdir("/") < 0)
		die("chdir /");
	rm_rf(AT_FDCWD, scratch);
	struct stat st;
	if (lstat(scratch, &st) == 0)
		printf("scratch directory left behind\n");
	return 0;
}
