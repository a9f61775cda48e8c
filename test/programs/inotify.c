/*
 * inotify: watches on a directory and on files in it (a tmpfs: a
 * mkdtemp directory under /dev/shm), and the events every change makes,
 * printed in order with their masks and names: creation, I/O, open and
 * close, attributes, links, renames with cookies, removal and the end of
 * watches (IN_DELETE_SELF, IN_IGNORED), IN_ONESHOT, IN_MASK_ADD,
 * IN_MASK_CREATE, IN_EXCL_UNLINK, IN_ONLYDIR, IN_DONT_FOLLOW; the
 * argument errors, coalescing, FIONREAD, short buffers, the queue's
 * overflow, blocking reads and poll; and a few events on the root file
 * system (/tmp).
 */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static int ifd;

static const char *const names[] = {
	"ACCESS", "MODIFY", "ATTRIB", "CLOSE_WRITE", "CLOSE_NOWRITE", "OPEN",
	"MOVED_FROM", "MOVED_TO", "CREATE", "DELETE", "DELETE_SELF", "MOVE_SELF",
};

/* show_events prints the events in buf: wd, mask names, cookie pairing, name. */
static void show_events(char *buf, int n)
{
	static uint32_t last_cookie;
	for (char *p = buf; p < buf + n;) {
		struct inotify_event *e = (void *)p;
		printf("  wd=%d", e->wd);
		for (int i = 0; i < 12; i++)
			if (e->mask & (1u << i))
				printf(" %s", names[i]);
		if (e->mask & IN_UNMOUNT)
			printf(" UNMOUNT");
		if (e->mask & IN_Q_OVERFLOW)
			printf(" Q_OVERFLOW");
		if (e->mask & IN_IGNORED)
			printf(" IGNORED");
		if (e->mask & IN_ISDIR)
			printf(" ISDIR");
		if (e->cookie) {
			/* Cookies differ run to run: print whether a pair matches. */
			printf(e->cookie == last_cookie ? " cookie=same" : " cookie=new");
			last_cookie = e->cookie;
		}
		if (e->len) {
			int padded = e->len % 16 == 0 && strlen(e->name) < e->len;
			printf(" name=%s%s", e->name, padded ? "" : " (bad padding)");
		}
		printf("\n");
		p += sizeof *e + e->len;
	}
}

/* drain prints every queued event under a heading. */
static void drain(const char *what)
{
	char buf[65536] __attribute__((aligned(8)));
	printf("-- %s\n", what);
	for (;;) {
		int n = read(ifd, buf, sizeof buf);
		if (n <= 0) {
			if (errno != EAGAIN)
				printf("  read: errno %s\n", errname(errno));
			break;
		}
		show_events(buf, n);
	}
}

static void touch(const char *name)
{
	int fd = open(name, O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		die("open");
	close(fd);
}

int main(void)
{
	char dir[] = "/dev/shm/inotifyXXXXXX";
	if (!mkdtemp(dir) || chdir(dir) < 0)
		die("mkdtemp");
	expect_err("inotify_init1 unknown flag", inotify_init1(1));
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0)
		die("inotify_init1");
	printf("close-on-exec: %d\n", fcntl(ifd, F_GETFD));
	printf("status flags: 0x%x\n", fcntl(ifd, F_GETFL));
	char p[64], lname[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", ifd);
	ssize_t ln = readlink(p, lname, sizeof lname - 1);
	lname[ln > 0 ? ln : 0] = 0;
	printf("name: %s\n", lname);

	/* Arguments. */
	expect_err("mask without bits", inotify_add_watch(ifd, ".", 0));
	expect_err("IN_MASK_ADD|IN_MASK_CREATE", inotify_add_watch(ifd, ".", IN_MASK_ADD | IN_MASK_CREATE | IN_OPEN));
	expect_err("missing file", inotify_add_watch(ifd, "missing", IN_ALL_EVENTS));
	expect_err("not an inotify descriptor", inotify_add_watch(1, ".", IN_ALL_EVENTS));
	expect_err("bad descriptor", inotify_add_watch(99, ".", IN_ALL_EVENTS));
	int wd = inotify_add_watch(ifd, ".", IN_ALL_EVENTS);
	printf("directory watch: %d\n", wd);
	printf("again: %d\n", inotify_add_watch(ifd, ".", IN_ALL_EVENTS));
	expect_err("IN_MASK_CREATE on it", inotify_add_watch(ifd, ".", IN_ALL_EVENTS | IN_MASK_CREATE));
	char c;
	expect_err("write to the instance", write(ifd, "x", 1));
	expect_err("read with nothing queued", read(ifd, &c, 1));

	/* A file: creation, I/O, close. */
	int fd = open("f", O_CREAT | O_WRONLY, 0644);
	drain("create");
	int wf = inotify_add_watch(ifd, "f", IN_ALL_EVENTS);
	printf("file watch: %d\n", wf);
	expect_err("IN_ONLYDIR on a file", inotify_add_watch(ifd, "f", IN_ONLYDIR | IN_ALL_EVENTS));
	write(fd, "hello", 5);
	write(fd, "hello", 5);
	drain("two writes");
	close(fd);
	drain("close");
	fd = open("f", O_RDONLY);
	char b[16];
	read(fd, b, 3);
	read(fd, b, 3);
	read(fd, b, 16);
	read(fd, b, 16);
	int queued = 0;
	ioctl(ifd, FIONREAD, &queued);
	printf("FIONREAD: %d\n", queued);
	close(fd);
	drain("open, reads, close");
	fd = open("f", O_WRONLY | O_TRUNC);
	close(fd);
	drain("O_TRUNC");

	/* Attributes. */
	truncate("f", 3);
	drain("truncate");
	chmod("f", 0600);
	drain("chmod");
	chown("f", getuid(), getgid());
	drain("chown");
	struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	utimensat(AT_FDCWD, "f", ts, 0);
	drain("utimensat atime");
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	utimensat(AT_FDCWD, "f", ts, 0);
	drain("utimensat mtime");
	utimensat(AT_FDCWD, "f", NULL, 0);
	drain("utimensat both");
	setxattr("f", "user.x", "1", 1, 0);
	drain("setxattr");
	removexattr("f", "user.x");
	drain("removexattr");
	fd = open("f", O_RDWR);
	fallocate(fd, 0, 0, 100);
	close(fd);
	drain("fallocate");

	/* Names. */
	link("f", "g");
	drain("link");
	rename("g", "h");
	drain("rename a link of the watched file");
	unlink("h");
	drain("unlink it");
	mkdir("d", 0755);
	drain("mkdir");
	int wdd = inotify_add_watch(ifd, "d", IN_ALL_EVENTS | IN_ONLYDIR);
	DIR *dd = opendir("d");
	readdir(dd);
	closedir(dd);
	drain("opendir, readdir, closedir");
	rename("f", "d/f");
	drain("rename into the subdirectory");
	rename("d/f", "f");
	drain("rename back");
	symlink("f", "s");
	drain("symlink");
	printf("IN_DONT_FOLLOW watch is new: %s\n", inotify_add_watch(ifd, "s", IN_ALL_EVENTS | IN_DONT_FOLLOW) > wdd ? "yes" : "no");
	expect_err("IN_ONLYDIR through a link to a file", inotify_add_watch(ifd, "s", IN_ALL_EVENTS | IN_ONLYDIR));
	printf("following the link watches the file: %s\n", inotify_add_watch(ifd, "s", IN_ALL_EVENTS) == wf ? "yes" : "no");
	unlink("s");
	drain("unlink the link");
	mknod("p", S_IFIFO | 0600, 0);
	drain("mknod");
	unlink("p");
	drain("unlink the fifo");
	touch("t");
	drain("create t");
	rename("t", "f");
	drain("rename over the watched file");
	rmdir("d");
	drain("rmdir the watched directory");
	expect_err("rm_watch of an ended watch", inotify_rm_watch(ifd, wdd));

	/* IN_ONESHOT and IN_MASK_ADD. */
	int once = inotify_add_watch(ifd, "f", IN_MODIFY | IN_ONESHOT);
	fd = open("f", O_WRONLY);
	write(fd, "a", 1);
	write(fd, "a", 1);
	close(fd);
	drain("IN_ONESHOT");
	expect_err("rm_watch after IN_ONESHOT", inotify_rm_watch(ifd, once));
	int w2 = inotify_add_watch(ifd, "f", IN_OPEN);
	printf("IN_MASK_ADD keeps the watch: %s\n", inotify_add_watch(ifd, "f", IN_CLOSE | IN_MASK_ADD) == w2 ? "yes" : "no");
	fd = open("f", O_WRONLY);
	write(fd, "a", 1);
	close(fd);
	drain("IN_MASK_ADD");
	show("rm_watch", inotify_rm_watch(ifd, w2));
	drain("after rm_watch");
	expect_err("rm_watch again", inotify_rm_watch(ifd, w2));
	expect_err("rm_watch of a stranger", inotify_rm_watch(ifd, 12345));

	/* IN_EXCL_UNLINK, and IN_DELETE_SELF at the last close. */
	show("rm_watch of the directory", inotify_rm_watch(ifd, wd));
	drain("after it");
	wd = inotify_add_watch(ifd, ".", IN_ALL_EVENTS | IN_EXCL_UNLINK);
	int t = open("u", O_CREAT | O_RDWR, 0600);
	unlink("u");
	write(t, "x", 1);
	close(t);
	drain("IN_EXCL_UNLINK");
	wf = inotify_add_watch(ifd, "f", IN_ALL_EVENTS);
	t = open("f", O_RDONLY);
	unlink("f");
	drain("unlink of an open file");
	close(t);
	drain("its last close");

	/* Coalescing, short buffers, blocking reads, poll. */
	touch("q");
	int wq = inotify_add_watch(ifd, "q", IN_MODIFY);
	inotify_rm_watch(ifd, wd);
	drain("setup");
	fd = open("q", O_WRONLY);
	for (int i = 0; i < 5; i++)
		write(fd, "z", 1);
	drain("five writes, one event");
	write(fd, "z", 1);
	char small[20];
	expect_err("read into 15 bytes", read(ifd, small, 15));
	printf("read into 20 bytes: %zd\n", read(ifd, small, 20));
	struct pollfd pf = {.fd = ifd, .events = POLLIN};
	printf("poll with nothing queued: %d\n", poll(&pf, 1, 0));
	int blocking = inotify_init();
	inotify_add_watch(blocking, "q", IN_MODIFY);
	pid_t kid = fork();
	if (kid == 0) {
		usleep(20000);
		write(fd, "k", 1);
		_exit(0);
	}
	char big[256] __attribute__((aligned(8)));
	int n = read(blocking, big, sizeof big);
	printf("blocking read woke with %d bytes\n", n);
	waitpid(kid, NULL, 0);
	write(fd, "z", 1);
	pf.revents = 0;
	int polled = poll(&pf, 1, 0);
	printf("poll with an event: %d revents 0x%x\n", polled, pf.revents);
	close(fd);
	inotify_rm_watch(ifd, wq);
	drain("the rest");

	/* Overflow at max_queued_events. */
	wd = inotify_add_watch(ifd, ".", IN_CREATE);
	touch("o");
	drain("setup");
	for (int i = 0; i < 20000; i++) {
		char nm[32];
		snprintf(nm, sizeof nm, "n%d", i);
		link("o", nm);
	}
	ioctl(ifd, FIONREAD, &queued);
	printf("FIONREAD when full: %d\n", queued);
	int total = 0;
	uint32_t last = 0;
	while ((n = read(ifd, big, sizeof big)) > 0) {
		for (char *q = big; q < big + n;) {
			struct inotify_event *e = (void *)q;
			total++;
			last = e->mask;
			q += sizeof *e + e->len;
		}
	}
	printf("events read: %d, the last IN_Q_OVERFLOW: %s\n", total, last == IN_Q_OVERFLOW ? "yes" : "no");
	for (int i = 0; i < 20000; i++) {
		char nm[32];
		snprintf(nm, sizeof nm, "n%d", i);
		unlink(nm);
	}
	inotify_rm_watch(ifd, wd);
	unlink("o");
	unlink("q");
	drain("cleanup");

	/* The root file system. */
	char rdir[] = "/tmp/inotifyXXXXXX";
	if (!mkdtemp(rdir) || chdir(rdir) < 0)
		die("mkdtemp /tmp");
	wd = inotify_add_watch(ifd, ".", IN_ALL_EVENTS);
	fd = open("r", O_CREAT | O_RDWR, 0644);
	write(fd, "root", 4);
	close(fd);
	rename("r", "r2");
	unlink("r2");
	drain("on /tmp");
	chdir("/");
	rmdir(rdir);
	drain("rmdir of the watched /tmp directory");
	rmdir(dir);
	return 0;
}
