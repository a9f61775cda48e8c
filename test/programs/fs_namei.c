/*
 * fs_namei: path lookup and the namespace operations on a tmpfs scratch
 * directory (/dev/shm): open flags (O_CREAT|O_EXCL, O_TRUNC, O_APPEND,
 * O_DIRECTORY, O_NOFOLLOW, O_PATH, O_TMPFILE), creation through a
 * dangling symlink, trailing slashes, mkdir/rmdir/unlink errors, rename
 * and renameat2 cases, link counts, symlink/readlink, ELOOP limits,
 * ENAMETOOLONG limits, ".." and the atomicity of rename over a name.
 */
#include "common.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#define RENAME_WHITEOUT (1 << 2)
#endif

/* rm_rf removes name (relative to dirfd) and everything below it. */

static void mkfile(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	size_t n = strlen(content);
	if (write(fd, content, n) != (ssize_t)n)
		die("write");
	close(fd);
}

/* content prints the whole content of path, or the error. */
static void content(const char *what, const char *path)
{
	char buf[256];
	/* Linux counts a walk's symbolic links again when its lockless walk
	 * falls back to the locked one (fs/namei.c: total_link_count
	 * survives the retry), so under load a chain well within the limit
	 * of 40 can fail with ELOOP; one success shows the limit holds. */
	int fd = open(path, O_RDONLY);
	for (int i = 0; i < 20 && fd < 0 && errno == ELOOP; i++)
		fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("%s: errno %s\n", what, errname(errno));
		return;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		printf("%s: read errno %s\n", what, errname(errno));
	else
		printf("%s: \"%.*s\"\n", what, (int)n, buf);
}

static const char *kind(mode_t m)
{
	if (S_ISLNK(m)) return "symlink";
	if (S_ISDIR(m)) return "dir";
	if (S_ISREG(m)) return "file";
	if (S_ISFIFO(m)) return "fifo";
	return "other";
}

/* what prints the kind of path (lstat), or the error. */
static void what(const char *label, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		printf("%s: errno %s\n", label, errname(errno));
	else
		printf("%s: %s\n", label, kind(st.st_mode));
}

static void nlink(const char *label, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		printf("%s: errno %s\n", label, errname(errno));
	else
		printf("%s: %lu\n", label, (unsigned long)st.st_nlink);
}

static int same(const char *a, const char *b)
{
	struct stat x, y;
	if (stat(a, &x) < 0 || stat(b, &y) < 0)
		return 0;
	return x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static long renameat2_(const char *a, const char *b, unsigned flags)
{
	return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static void open_flags(void)
{
	printf("== open flags\n");
	int fd = open("f", O_WRONLY | O_CREAT | O_EXCL, 0644);
	show("O_CREAT|O_EXCL new", fd);
	close(fd);
	expect_err("O_CREAT|O_EXCL existing", open("f", O_WRONLY | O_CREAT | O_EXCL, 0644));
	show("O_CREAT existing", fd = open("f", O_WRONLY | O_CREAT, 0644));
	close(fd);
	expect_err("open missing without O_CREAT", open("missing", O_RDONLY));
	expect_err("open empty path", open("", O_RDONLY));
	expect_err("O_CREAT in a missing directory", open("nodir/f", O_WRONLY | O_CREAT, 0644));
	expect_err("O_CREAT below a file", open("f/g", O_WRONLY | O_CREAT, 0644));

	/* O_TRUNC */
	mkfile("t", "hello world");
	struct stat st;
	fd = open("t", O_WRONLY | O_TRUNC);
	fstat(fd, &st);
	printf("size after O_WRONLY|O_TRUNC: %lld\n", (long long)st.st_size);
	close(fd);
	mkfile("t", "hello world");
	fd = open("t", O_RDONLY | O_TRUNC);
	fstat(fd, &st);
	printf("size after O_RDONLY|O_TRUNC: %lld\n", (long long)st.st_size);
	close(fd);
	mkfile("t", "hello world");
	fd = open("t", O_RDWR);
	fstat(fd, &st);
	printf("size after O_RDWR without O_TRUNC: %lld\n", (long long)st.st_size);
	close(fd);

	/* O_APPEND writes at the end, whatever the offset. */
	mkfile("a", "");
	int plain = open("a", O_RDWR);
	int app = open("a", O_WRONLY | O_APPEND);
	if (write(plain, "AAAA", 4) != 4)
		die("write plain");
	if (write(app, "BB", 2) != 2)
		die("write append");
	printf("append fd offset after write: %lld\n", (long long)lseek(app, 0, SEEK_CUR));
	if (write(plain, "CC", 2) != 2)
		die("write plain 2");
	lseek(app, 0, SEEK_SET);
	if (write(app, "DD", 2) != 2)
		die("write append 2");
	printf("append fd offset after seek 0 and write: %lld\n", (long long)lseek(app, 0, SEEK_CUR));
	close(plain);
	close(app);
	content("O_APPEND interleaving", "a");
	char c;
	fd = open("a", O_RDONLY | O_APPEND);
	show("O_RDONLY|O_APPEND open", fd);
	printf("read at O_RDONLY|O_APPEND start: %zd\n", read(fd, &c, 1));
	close(fd);

	/* O_DIRECTORY and directories opened for writing */
	if (mkdir("d", 0755) < 0)
		die("mkdir d");
	expect_err("O_DIRECTORY on a file", open("f", O_RDONLY | O_DIRECTORY));
	show("O_DIRECTORY on a dir", fd = open("d", O_RDONLY | O_DIRECTORY));
	close(fd);
	expect_err("O_WRONLY on a dir", open("d", O_WRONLY));
	expect_err("O_RDWR on a dir", open("d", O_RDWR));
	expect_err("O_CREAT on an existing dir", open("d", O_RDONLY | O_CREAT, 0644));
	expect_err("O_CREAT|O_DIRECTORY new", open("newd", O_RDONLY | O_CREAT | O_DIRECTORY, 0755));
	what("O_CREAT|O_DIRECTORY left nothing", "newd");
	expect_err("read on a dir fd", (fd = open("d", O_RDONLY), read(fd, &c, 1)));
	expect_err("write on a dir fd", write(fd, "x", 1));
	close(fd);

	/* O_NOFOLLOW */
	if (symlink("f", "lf") < 0 || symlink("d", "ld") < 0)
		die("symlink");
	expect_err("O_NOFOLLOW on a symlink", open("lf", O_RDONLY | O_NOFOLLOW));
	expect_err("O_NOFOLLOW|O_DIRECTORY on a symlink to dir",
		   open("ld", O_RDONLY | O_NOFOLLOW | O_DIRECTORY));
	show("O_NOFOLLOW on a file", fd = open("f", O_RDONLY | O_NOFOLLOW));
	close(fd);
	show("O_NOFOLLOW with a symlink in the middle", fd = open("ld/../f", O_RDONLY | O_NOFOLLOW));
	close(fd);
	expect_err("O_CREAT|O_EXCL on a symlink", open("lf", O_WRONLY | O_CREAT | O_EXCL, 0644));
}

static void o_path(void)
{
	printf("== O_PATH\n");
	char c;
	struct stat st;
	int fd = open("f", O_PATH);
	show("O_PATH open", fd);
	show("fstat on O_PATH", fstat(fd, &st));
	yesno("fstat on O_PATH is a file", S_ISREG(st.st_mode));
	expect_err("read on O_PATH", read(fd, &c, 1));
	expect_err("write on O_PATH", write(fd, "x", 1));
	expect_err("fchmod on O_PATH", fchmod(fd, 0600));
	expect_err("ftruncate on O_PATH", ftruncate(fd, 0));
	int fl = fcntl(fd, F_GETFL);
	yesno("F_GETFL has O_PATH", fl >= 0 && (fl & O_PATH));
	int fd2 = dup(fd);
	show("dup of O_PATH", fd2);
	close(fd2);
	close(fd);

	fd = open("lf", O_PATH | O_NOFOLLOW);
	show("O_PATH|O_NOFOLLOW on a symlink", fd);
	if (fstat(fd, &st) == 0)
		printf("fstat of it: %s size=%lld\n", kind(st.st_mode), (long long)st.st_size);
	char buf[16];
	ssize_t n = readlinkat(fd, "", buf, sizeof(buf));
	if (n < 0)
		printf("readlinkat(fd, \"\"): errno %s\n", errname(errno));
	else
		printf("readlinkat(fd, \"\"): \"%.*s\"\n", (int)n, buf);
	close(fd);

	fd = open("d", O_PATH | O_DIRECTORY);
	show("O_PATH|O_DIRECTORY on a dir", fd);
	mkfile("d/inner", "inner");
	int in = openat(fd, "inner", O_RDONLY);
	show("openat relative to an O_PATH dir", in);
	close(in);
	expect_err("getdents64 on O_PATH dir", syscall(SYS_getdents64, fd, buf, sizeof(buf)));
	int cwd = open(".", O_RDONLY | O_DIRECTORY);
	show("fchdir to an O_PATH dir", fchdir(fd));
	content("relative open after it", "inner");
	if (fchdir(cwd) < 0)
		die("fchdir back");
	close(cwd);
	close(fd);
	unlink("d/inner");
}

static void o_tmpfile(void)
{
	printf("== O_TMPFILE\n");
	struct stat st;
	int fd = open(".", O_TMPFILE | O_RDWR, 0600);
	show("O_TMPFILE in a dir", fd);
	if (fd < 0)
		return;
	fstat(fd, &st);
	printf("O_TMPFILE nlink: %lu, regular: %s, mode %04o\n",
	       (unsigned long)st.st_nlink, S_ISREG(st.st_mode) ? "yes" : "no",
	       st.st_mode & 07777);
	if (write(fd, "tmpdata", 7) != 7)
		die("write tmpfile");
	int before = 0;
	DIR *d = opendir(".");
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		before++;
	closedir(d);
	show("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, "tmplinked", AT_EMPTY_PATH));
	nlink("nlink after linkat", "tmplinked");
	content("linked tmpfile content", "tmplinked");
	int after = 0;
	d = opendir(".");
	while ((e = readdir(d)) != NULL)
		after++;
	closedir(d);
	printf("directory entries added by linkat: %d\n", after - before);
	expect_err("linkat again onto the same name", linkat(fd, "", AT_FDCWD, "tmplinked", AT_EMPTY_PATH));
	close(fd);

	fd = open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600);
	show("O_TMPFILE|O_EXCL", fd);
	expect_err("linkat of O_TMPFILE|O_EXCL", linkat(fd, "", AT_FDCWD, "tmpexcl", AT_EMPTY_PATH));
	close(fd);
	expect_err("O_TMPFILE read-only", open(".", O_TMPFILE | O_RDONLY, 0600));
	expect_err("O_TMPFILE on a file", open("f", O_TMPFILE | O_RDWR, 0600));
	expect_err("O_TMPFILE on a missing dir", open("nodir", O_TMPFILE | O_RDWR, 0600));

	/* A file unlinked while open stays readable. */
	mkfile("gone", "still here");
	fd = open("gone", O_RDONLY);
	unlink("gone");
	fstat(fd, &st);
	printf("unlinked open file nlink: %lu\n", (unsigned long)st.st_nlink);
	char buf[32];
	ssize_t n = read(fd, buf, sizeof(buf));
	printf("unlinked open file read: \"%.*s\"\n", n < 0 ? 0 : (int)n, buf);
	expect_err("linkat AT_EMPTY_PATH of an unlinked file",
		   linkat(fd, "", AT_FDCWD, "revived", AT_EMPTY_PATH));
	close(fd);
}

static void dangling_and_slashes(void)
{
	printf("== dangling symlinks and trailing slashes\n");
	int fd;
	if (symlink("target1", "dangle") < 0)
		die("symlink dangle");
	what("lstat dangling", "dangle");
	expect_err("stat dangling", access("dangle", F_OK));
	expect_err("O_CREAT|O_EXCL through a dangling symlink",
		   open("dangle", O_WRONLY | O_CREAT | O_EXCL, 0644));
	what("target after O_EXCL attempt", "target1");
	show("O_CREAT through a dangling symlink", fd = open("dangle", O_WRONLY | O_CREAT, 0644));
	close(fd);
	what("target after O_CREAT", "target1");
	what("the link is still a link", "dangle");
	if (symlink("nodir/x", "dangle2") < 0)
		die("symlink dangle2");
	expect_err("O_CREAT through a link into a missing dir", open("dangle2", O_WRONLY | O_CREAT, 0644));
	if (symlink("/dev/shm/fs-nonexistent-magawa/x", "dangle3") < 0)
		die("symlink dangle3");
	expect_err("O_CREAT through an absolute link into a missing dir",
		   open("dangle3", O_WRONLY | O_CREAT, 0644));
	expect_err("mkdir over a dangling symlink", mkdir("dangle", 0755));
	expect_err("symlink over a dangling symlink", symlink("x", "dangle2"));

	expect_err("open file/", open("f/", O_RDONLY));
	expect_err("open file/.", open("f/.", O_RDONLY));
	expect_err("open file/..", open("f/..", O_RDONLY));
	expect_err("stat file/", access("f/", F_OK));
	expect_err("O_CREAT new/", open("new/", O_WRONLY | O_CREAT, 0644));
	what("O_CREAT new/ left nothing", "new");
	show("open dir/", fd = open("d/", O_RDONLY));
	close(fd);
	show("open dir//.//", fd = open("d//.//", O_RDONLY));
	close(fd);
	show("mkdir newdir/", mkdir("nd/", 0755));
	show("mkdir newdir2//", mkdir("nd2//", 0755));
	show("rmdir newdir/", rmdir("nd/"));
	expect_err("rmdir newdir2/.", rmdir("nd2/."));
	show("rmdir newdir2//", rmdir("nd2//"));
	what("stat symlink-to-dir/ (lstat follows)", "ld/");
	what("lstat symlink-to-dir", "ld");
	what("lstat symlink-to-file/", "lf/");
	expect_err("unlink symlink-to-dir/", unlink("ld/"));
	expect_err("rmdir symlink-to-dir", rmdir("ld"));
	expect_err("rmdir symlink-to-dir/", rmdir("ld/"));
	expect_err("unlink file/", unlink("f/"));
	expect_err("symlink with a trailing slash on the new name", symlink("f", "newlink/"));
	expect_err("link with a trailing slash on the new name", link("f", "newlink/"));
	expect_err("rename file/ to x", rename("f/", "x"));
	expect_err("rename file to x/", rename("f", "x/"));
	what("file still there", "f");
}

static void mkdir_rmdir_unlink(void)
{
	printf("== mkdir, rmdir, unlink\n");
	expect_err("mkdir existing dir", mkdir("d", 0755));
	expect_err("mkdir over a file", mkdir("f", 0755));
	expect_err("mkdir over a symlink", mkdir("lf", 0755));
	expect_err("mkdir in a missing dir", mkdir("nodir/x", 0755));
	expect_err("mkdir below a file", mkdir("f/x", 0755));
	expect_err("mkdir empty path", mkdir("", 0755));
	expect_err("mkdir .", mkdir(".", 0755));
	expect_err("mkdir ..", mkdir("..", 0755));

	if (mkdir("full", 0755) < 0)
		die("mkdir full");
	mkfile("full/x", "x");
	expect_err("rmdir non-empty", rmdir("full"));
	expect_err("rmdir .", rmdir("."));
	expect_err("rmdir ..", rmdir(".."));
	expect_err("rmdir full/.", rmdir("full/."));
	expect_err("rmdir full/..", rmdir("full/.."));
	expect_err("rmdir a file", rmdir("f"));
	expect_err("rmdir missing", rmdir("missing"));
	expect_err("rmdir empty path", rmdir(""));
	expect_err("unlink a dir", unlink("d"));
	expect_err("unlink missing", unlink("missing"));
	expect_err("unlink .", unlink("."));
	expect_err("unlinkat AT_REMOVEDIR on a file", unlinkat(AT_FDCWD, "f", AT_REMOVEDIR));
	expect_err("unlinkat bad flag", unlinkat(AT_FDCWD, "f", 0x1));
	unlink("full/x");
	show("rmdir emptied dir", rmdir("full"));
	what("gone", "full");

	if (symlink("f", "tounlink") < 0)
		die("symlink");
	show("unlink a symlink", unlink("tounlink"));
	what("target of the unlinked symlink", "f");
	show("unlink a dangling symlink", unlink("dangle2"));

	/* Directory link counts. */
	if (mkdir("cnt", 0755) < 0)
		die("mkdir cnt");
	nlink("new dir nlink", "cnt");
	mkdir("cnt/a", 0755);
	mkdir("cnt/b", 0755);
	mkfile("cnt/file", "");
	nlink("dir nlink with two subdirs and a file", "cnt");
	rmdir("cnt/a");
	nlink("dir nlink after rmdir of one", "cnt");
	rename("cnt/b", "moved_b");
	nlink("dir nlink after renaming a subdir out", "cnt");
	rename("moved_b", "cnt/b");
	nlink("dir nlink after renaming it back", "cnt");

	/* A removed cwd */
	int keep = open(".", O_RDONLY | O_DIRECTORY);
	mkdir("cnt/a", 0755);
	if (chdir("cnt/a") < 0)
		die("chdir cnt/a");
	static char cwdpath[300];
	snprintf(cwdpath, sizeof(cwdpath), "%s/cnt/a", scratch);
	show("rmdir of the cwd (by absolute path)", rmdir(cwdpath));
	expect_err("create in the removed cwd", open("x", O_WRONLY | O_CREAT, 0644));
	expect_err("mkdir in the removed cwd", mkdir("x", 0755));
	int dfd = open(".", O_RDONLY);
	show("open . in the removed cwd", dfd);
	struct stat st;
	fstat(dfd, &st);
	printf("removed cwd nlink: %lu\n", (unsigned long)st.st_nlink);
	close(dfd);
	what("stat .. from the removed cwd", "..");
	if (fchdir(keep) < 0)
		die("fchdir back");
	close(keep);
}

static void renames(void)
{
	printf("== rename\n");
	if (mkdir("r", 0755) < 0 || chdir("r") < 0)
		die("mkdir r");
	mkfile("src", "source");
	mkfile("dst", "destination");
	show("rename file over file", rename("src", "dst"));
	what("source after", "src");
	content("destination content", "dst");

	mkdir("d1", 0755);
	mkfile("d1/inside", "in d1");
	mkdir("d2", 0755);
	show("rename dir over empty dir", rename("d1", "d2"));
	what("old dir after", "d1");
	content("moved content", "d2/inside");

	mkdir("d3", 0755);
	mkdir("d4", 0755);
	mkfile("d4/x", "x");
	expect_err("rename dir over non-empty dir", rename("d3", "d4"));
	mkfile("file", "file");
	expect_err("rename file over dir", rename("file", "d3"));
	expect_err("rename dir over file", rename("d3", "file"));
	mkdir("d3/sub", 0755);
	expect_err("rename dir into its own subdir", rename("d3", "d3/sub/x"));
	expect_err("rename dir onto its own subdir", rename("d3", "d3/sub"));
	expect_err("rename a dir onto its non-empty parent", rename("d3/sub", "d3"));
	show("rename dir to itself", rename("d3", "d3"));
	show("rename file to itself", rename("file", "file"));
	show("rename file to itself via ./", rename("file", "./file"));
	link("file", "hard");
	show("rename between two links of one inode", rename("file", "hard"));
	what("both links remain: file", "file");
	what("both links remain: hard", "hard");
	expect_err("rename missing", rename("missing", "x"));
	expect_err("rename into a missing dir", rename("file", "nodir/x"));
	expect_err("rename below a file", rename("file", "hard/x"));
	expect_err("rename .", rename(".", "x"));
	expect_err("rename ..", rename("..", "x"));
	expect_err("rename onto .", rename("d3", "."));
	expect_err("rename onto ..", rename("d3", ".."));
	/* /tmp is another file system, natively and in the sandbox. */
	expect_err("rename to another file system", rename("file", "/tmp/magawa-fs-xdev"));
	expect_err("link to another file system", link("file", "/tmp/magawa-fs-xdev"));
	expect_err("RENAME_EXCHANGE across file systems", renameat2_("file", "/tmp", RENAME_EXCHANGE));
	unlink("/tmp/magawa-fs-xdev");
	expect_err("rename empty source", rename("", "x"));
	show("rename dir/ to dir2/", rename("d3/", "d5/"));
	what("renamed with slashes", "d5/sub");
	symlink("file", "sl");
	show("rename a symlink", rename("sl", "sl2"));
	what("renamed symlink is still a symlink", "sl2");
	content("and still points at the file", "sl2");
	show("rename file over a symlink", rename("hard", "sl2"));
	what("destination is now a file", "sl2");
	symlink("d5", "sld");
	expect_err("rename dir over a symlink to a dir", rename("d2", "sld"));

	/* renameat2 */
	mkfile("n1", "one");
	mkfile("n2", "two");
	expect_err("RENAME_NOREPLACE onto existing", renameat2_("n1", "n2", RENAME_NOREPLACE));
	show("RENAME_NOREPLACE onto new", renameat2_("n1", "n3", RENAME_NOREPLACE));
	show("RENAME_EXCHANGE two files", renameat2_("n2", "n3", RENAME_EXCHANGE));
	content("n2 after exchange", "n2");
	content("n3 after exchange", "n3");
	show("RENAME_EXCHANGE file and dir", renameat2_("n2", "d2", RENAME_EXCHANGE));
	what("n2 is now", "n2");
	what("d2 is now", "d2");
	content("d2 holds", "d2");
	content("n2/inside holds", "n2/inside");
	expect_err("RENAME_EXCHANGE with a missing target", renameat2_("n3", "missing", RENAME_EXCHANGE));
	expect_err("RENAME_EXCHANGE|RENAME_NOREPLACE",
		   renameat2_("n3", "d2", RENAME_EXCHANGE | RENAME_NOREPLACE));
	expect_err("renameat2 unknown flag", renameat2_("n3", "d2", 1u << 30));
	expect_err("RENAME_EXCHANGE dir into its own subdir", renameat2_("n2", "n2/inside", RENAME_EXCHANGE));
	show("RENAME_EXCHANGE with itself", renameat2_("n3", "n3", RENAME_EXCHANGE));
	expect_err("RENAME_NOREPLACE onto itself", renameat2_("n3", "n3", RENAME_NOREPLACE));

	/* An open file keeps its data across a rename over it. */
	mkfile("keep", "old data");
	mkfile("repl", "new data");
	int fd = open("keep", O_RDONLY);
	rename("repl", "keep");
	char buf[32];
	ssize_t n = read(fd, buf, sizeof(buf));
	printf("fd of a replaced file reads: \"%.*s\"\n", n < 0 ? 0 : (int)n, buf);
	close(fd);
	content("the name reads", "keep");
	if (chdir("..") < 0)
		die("chdir ..");
}

static void links(void)
{
	printf("== link\n");
	mkfile("l0", "linked");
	nlink("nlink of a new file", "l0");
	show("link", link("l0", "l1"));
	nlink("nlink after link", "l0");
	yesno("same inode", same("l0", "l1"));
	link("l0", "l2");
	nlink("nlink after a second link", "l1");
	unlink("l0");
	nlink("nlink after unlink of the original", "l1");
	content("content through the remaining link", "l2");
	expect_err("link to a dir", link("d", "dlink"));
	expect_err("link onto an existing name", link("l1", "l2"));
	expect_err("link of a missing file", link("missing", "x"));
	expect_err("link into a missing dir", link("l1", "nodir/x"));
	symlink("l1", "sym");
	show("link of a symlink (no follow)", link("sym", "symhard"));
	what("the new link is", "symhard");
	nlink("symlink nlink", "sym");
	show("linkat AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, "sym", AT_FDCWD, "symfollow", AT_SYMLINK_FOLLOW));
	what("the followed link is", "symfollow");
	nlink("target nlink after it", "l1");
	expect_err("linkat bad flags", linkat(AT_FDCWD, "l1", AT_FDCWD, "x", 0x1));
	expect_err("linkat empty path without AT_EMPTY_PATH", linkat(AT_FDCWD, "", AT_FDCWD, "x", 0));
	int fd = open("l1", O_RDONLY);
	show("linkat AT_EMPTY_PATH of an open file", linkat(fd, "", AT_FDCWD, "fromfd", AT_EMPTY_PATH));
	nlink("nlink after it", "l1");
	close(fd);
}

static void symlinks(void)
{
	printf("== symlink and readlink\n");
	char buf[64];
	show("symlink", symlink("some/target/path", "sl"));
	struct stat st;
	lstat("sl", &st);
	printf("lstat size: %lld, mode: %04o\n", (long long)st.st_size, st.st_mode & 07777);
	memset(buf, 'X', sizeof(buf));
	ssize_t n = readlink("sl", buf, sizeof(buf));
	printf("readlink: %zd \"%.*s\" next byte %s\n", n, n < 0 ? 0 : (int)n, buf,
	       n >= 0 && buf[n] == 'X' ? "untouched" : "written");
	memset(buf, 'X', sizeof(buf));
	n = readlink("sl", buf, 4);
	printf("readlink into 4 bytes: %zd \"%.*s\" next byte %s\n", n, n < 0 ? 0 : (int)n, buf,
	       n >= 0 && buf[n] == 'X' ? "untouched" : "written");
	expect_err("readlink of a file", readlink("f", buf, sizeof(buf)));
	expect_err("readlink of a dir", readlink("d", buf, sizeof(buf)));
	expect_err("readlink missing", readlink("missing", buf, sizeof(buf)));
	expect_err("readlink size 0", readlink("sl", buf, 0));
	expect_err("readlinkat(AT_FDCWD, \"\")", readlinkat(AT_FDCWD, "", buf, sizeof(buf)));
	expect_err("symlink with an empty target", symlink("", "empty"));
	expect_err("symlink onto an existing name", symlink("x", "sl"));
	expect_err("symlink onto a dir", symlink("x", "d"));
	char longt[4200];
	memset(longt, 'a', sizeof(longt));
	longt[4095] = 0;
	show("symlink with a 4095-byte target", symlink(longt, "longt"));
	lstat("longt", &st);
	printf("its lstat size: %lld\n", (long long)st.st_size);
	longt[4095] = 'a';
	longt[4096] = 0;
	expect_err("symlink with a 4096-byte target", symlink(longt, "longt2"));

	/* Relative targets are relative to the link's directory. */
	mkdir("sd", 0755);
	mkfile("sd/t", "in sd");
	symlink("t", "sd/rel");
	content("relative symlink in a subdir", "sd/rel");
	symlink("sd/rel", "chain");
	content("chain through it", "chain");
	symlink("../f", "sd/up");
	content("../ target", "sd/up");
	char abs[300];
	snprintf(abs, sizeof(abs), "%s/sd/t", scratch);
	symlink(abs, "absl");
	content("absolute target", "absl");

	/* ".." after a symlink is the target's parent. */
	mkdir("p", 0755);
	mkdir("p/q", 0755);
	symlink("p/q", "toq");
	yesno("toq/.. is p", same("toq/..", "p"));
	yesno("toq/../.. is .", same("toq/../..", "."));

	/* ELOOP */
	symlink("loopb", "loopa");
	symlink("loopa", "loopb");
	expect_err("stat a 2-link cycle", access("loopa", F_OK));
	expect_err("open a 2-link cycle", open("loopa", O_RDONLY));
	expect_err("O_CREAT through a 2-link cycle", open("loopa", O_WRONLY | O_CREAT, 0644));
	what("lstat a cycle member", "loopa");
	symlink("self", "self");
	expect_err("stat a self-link", access("self", F_OK));
	expect_err("stat through a self-link", access("self/x", F_OK));
	mkfile("chain_target", "end of chain");
	char name[32], target[32];
	for (int i = 0; i <= 41; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		if (i == 0)
			snprintf(target, sizeof(target), "chain_target");
		else
			snprintf(target, sizeof(target), "c%d", i - 1);
		if (symlink(target, name) < 0)
			die("symlink chain");
	}
	/* cN is N+1 links deep. */
	content("39 links deep (c38)", "c38");
	content("40 links deep (c39)", "c39");
	content("41 links deep (c40)", "c40");
	content("42 links deep (c41)", "c41");
	/* Links in the middle of a path count too. */
	mkdir("cd", 0755);
	mkfile("cd/f", "through dirs");
	for (int i = 0; i <= 40; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		if (i == 0)
			snprintf(target, sizeof(target), "cd");
		else
			snprintf(target, sizeof(target), "e%d", i - 1);
		if (symlink(target, name) < 0)
			die("symlink chain e");
	}
	content("40 dir links deep then a file (e39/f)", "e39/f");
	content("41 dir links deep then a file (e40/f)", "e40/f");
	/* 40 links in total, spread over components: e19/ then a 20-deep link */
	for (int i = 0; i <= 20; i++) {
		snprintf(name, sizeof(name), "cd/g%d", i);
		if (i == 0)
			snprintf(target, sizeof(target), "f");
		else
			snprintf(target, sizeof(target), "g%d", i - 1);
		if (symlink(target, name) < 0)
			die("symlink chain g");
	}
	content("20 dir links + 20 file links (e19/g19)", "e19/g19");
	content("20 dir links + 21 file links (e19/g20)", "e19/g20");
	content("21 dir links + 20 file links (e20/g19)", "e20/g19");
	expect_err("O_NOFOLLOW on a long chain", open("c41", O_RDONLY | O_NOFOLLOW));
	int pfd = open("c41", O_PATH | O_NOFOLLOW);
	show("O_PATH|O_NOFOLLOW on a long chain", pfd);
	close(pfd);
	expect_err("lstat through a 41-deep dir chain", access("e40/", F_OK));
}

static void long_names(void)
{
	printf("== ENAMETOOLONG\n");
	char name[300];
	memset(name, 'n', sizeof(name));
	name[255] = 0;
	int fd = open(name, O_WRONLY | O_CREAT, 0644);
	show("create a 255-byte name", fd);
	close(fd);
	what("stat it", name);
	name[255] = 'n';
	name[256] = 0;
	expect_err("create a 256-byte name", open(name, O_WRONLY | O_CREAT, 0644));
	expect_err("stat a 256-byte name", access(name, F_OK));
	expect_err("mkdir a 256-byte name", mkdir(name, 0755));
	expect_err("symlink to a 256-byte name", symlink("x", name));
	char tgt[300];
	snprintf(tgt, sizeof(tgt), "%s", name);
	expect_err("rename to a 256-byte name", rename("f", tgt));
	/* A 256-byte component in the middle of the path. */
	char mid[400];
	snprintf(mid, sizeof(mid), "%s/x", name);
	expect_err("256-byte component in the middle", access(mid, F_OK));

	/* Paths: 4095 bytes plus the NUL fit, 4096 do not. */
	static char path[8192];
	mkfile("pf", "path target");
	size_t len = 4095;
	size_t pre = len - 2;
	for (size_t i = 0; i < pre; i += 2)
		memcpy(path + i, "./", 2);
	if (pre % 2)
		path[pre - 1] = '/';
	memcpy(path + pre, "pf", 2);
	path[len] = 0;
	printf("path length %zu: ", strlen(path));
	content("open", path);
	len = 4096;
	pre = len - 2;
	for (size_t i = 0; i < pre; i += 2)
		memcpy(path + i, "./", 2);
	memcpy(path + pre, "pf", 2);
	path[len] = 0;
	printf("path length %zu: ", strlen(path));
	content("open", path);
	expect_err("stat a 4096-byte path", access(path, F_OK));
	expect_err("mkdir a 4096-byte path", mkdir(path, 0755));
	expect_err("readlink a 4096-byte path", readlink(path, name, 10));
	/* A symlink expanding into a long path is fine, its text is at most 4095 */
	char longrel[4200];
	size_t k = 0;
	while (k + 2 < 4090) {
		memcpy(longrel + k, "./", 2);
		k += 2;
	}
	memcpy(longrel + k, "pf", 3);
	symlink(longrel, "longlink");
	content("a symlink whose target is a 4092-byte path", "longlink");
}

/*
 * atomic_rename: while a child renames new files over a name again and
 * again, opening the name never fails: rename replaces atomically.
 */
static void atomic_rename(void)
{
	printf("== rename over a name is atomic\n");
	mkfile("target", "v0");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (int i = 0; i < 1000; i++) {
			int fd = open("tmpname", O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || write(fd, "vN", 2) != 2)
				_exit(1);
			close(fd);
			if (rename("tmpname", "target") < 0)
				_exit(2);
		}
		_exit(0);
	}
	int fails = 0, opens = 0, status;
	for (;;) {
		int fd = open("target", O_RDONLY);
		if (fd < 0)
			fails++;
		else
			close(fd);
		opens++;
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	printf("renamer exit: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	printf("opens of the name that failed: %d\n", fails);
	what("tmpname is gone", "tmpname");
	content("target", "target");
}

static void dotdot(void)
{
	printf("== dot-dot\n");
	yesno("/.. is /", same("/..", "/"));
	yesno("/../../.. is /", same("/../../..", "/"));
	yesno("/../dev/shm is /dev/shm", same("/../dev/shm", "/dev/shm"));
	yesno("./. is .", same("./.", "."));
	yesno("d/.. is .", same("d/..", "."));
	char up[512] = "";
	for (int i = 0; i < 20; i++)
		strcat(up, "../");
	yesno("20 x ../ from the scratch dir is /", same(up, "/"));
	int keep = open(".", O_RDONLY | O_DIRECTORY);
	if (chdir("/") < 0)
		die("chdir /");
	show("chdir .. at /", chdir(".."));
	char cwd[256];
	printf("getcwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : errname(errno));
	int root = open("/", O_RDONLY | O_DIRECTORY);
	struct stat a, b;
	fstatat(root, "..", &a, 0);
	stat("/", &b);
	yesno("fstatat(/, ..) is /", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(root);
	if (fchdir(keep) < 0)
		die("fchdir");
	close(keep);
	expect_err("file/..", access("f/..", F_OK));
	expect_err("missing/..", access("missing/..", F_OK));
}

int main(void)
{
	umask(022);
	scratch_setup();
	open_flags();
	o_path();
	o_tmpfile();
	dangling_and_slashes();
	mkdir_rmdir_unlink();
	renames();
	links();
	symlinks();
	long_names();
	dotdot();
	atomic_rename();
	scratch_cleanup();
	return 0;
}
