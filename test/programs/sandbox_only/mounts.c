/*
 * mounts: mount(2), umount2(2) and pivot_root(2) inside the sandbox act
 * on the sandbox's own mount tree. The program mounts a tmpfs (and one
 * over it), binds a directory and a file, remounts the bind read-only and
 * back, binds recursively a directory carrying a submount, mounts proc
 * and sysfs elsewhere, moves a mount, unmounts each (with the errors
 * Linux gives), and checks after every step what /proc/self/mountinfo
 * shows. Last, a child process pivots into a fresh tmpfs. It prints one
 * line per answer; the Go test (mounts_test.go) checks them and that the
 * host's mount table did not change.
 *
 * DANGER: natively, as root, this program would mount and pivot_root on
 * the host. So before anything else it checks that it runs inside the
 * sandbox -- PID 1, parent 0, host name "magawa", and the token the test
 * passes both in the environment and as argv[1] -- and exits 99 if not.
 *
 * Usage (by the test only): mounts TOKEN
 */
#include "../common.h"
#include "report.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOT_IN_SANDBOX 99

/* Everything happens below B. */
#define B "/tmp/magawa-mnt"

/* One line of /proc/self/mountinfo. */
struct mnt {
	char root[512], point[512], opts[256], fstype[64], source[256];
};

/* find_mount looks up mount point path in mountinfo (the one at
 * mountinfo_path) and returns how many mounts sit there, filling m with
 * the last (topmost) one. */
static int find_mount(const char *mountinfo_path, const char *path, struct mnt *m)
{
	FILE *f = fopen(mountinfo_path, "r");
	if (f == NULL)
		return -1;
	char l[4096];
	int n = 0;
	while (fgets(l, sizeof l, f)) {
		struct mnt cur;
		char *dash = strstr(l, " - ");
		if (dash == NULL ||
		    sscanf(l, "%*d %*d %*s %511s %511s %255s", cur.root, cur.point, cur.opts) != 3 ||
		    sscanf(dash + 3, "%63s %255s", cur.fstype, cur.source) != 2)
			continue;
		if (strcmp(cur.point, path) == 0) {
			n++;
			if (m)
				*m = cur;
		}
	}
	fclose(f);
	return n;
}

/* count_below counts the mounts at or below path. */
static int count_below(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	if (f == NULL)
		return -1;
	char l[4096], point[512];
	size_t n = strlen(path);
	int count = 0;
	while (fgets(l, sizeof l, f)) {
		if (sscanf(l, "%*d %*d %*s %*s %511s", point) != 1)
			continue;
		if (strncmp(point, path, n) == 0 && (point[n] == 0 || point[n] == '/'))
			count++;
	}
	fclose(f);
	return count;
}

/* show_mount prints "mountinfo PATH: none" or "mountinfo PATH: FSTYPE
 * RW-OR-RO", and for several mounts stacked there, how many. */
static void show_mount(const char *path)
{
	struct mnt m;
	int n = find_mount("/proc/self/mountinfo", path, &m);
	if (n < 0) {
		line("mountinfo %s: errno %s", path, errname(errno));
		return;
	}
	if (n == 0) {
		line("mountinfo %s: none", path);
		return;
	}
	char rw[8];
	snprintf(rw, sizeof rw, "%.2s", m.opts);
	if (n == 1)
		line("mountinfo %s: %s %s", path, m.fstype, rw);
	else
		line("mountinfo %s: %s %s, %d stacked", path, m.fstype, rw, n);
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die(path);
	close(fd);
}

/* show_file prints "what: CONTENT" (first line) or "what: errno NAME". */
static void show_file(const char *what, const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		line("%s: errno %s", what, errname(errno));
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	line("%s: %s", what, buf);
}

/* list_dir prints the names in path, sorted, "." and ".." left out. */
static void list_dir(const char *what, const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL) {
		line("%s: errno %s", what, errname(errno));
		return;
	}
	char *names[64];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 64)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	closedir(d);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	char all[2048] = "";
	for (int i = 0; i < n; i++) {
		strcat(all, " ");
		strncat(all, names[i], 64);
		free(names[i]);
	}
	line("%s:%s", what, n ? all : " (empty)");
}

static void mkdirs(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
}

/* ---- tmpfs, stacked ---- */

static void tmpfs(void)
{
	mkdirs(B "/tmpfs");
	TRY("mount tmpfs", mount("tmpfs", B "/tmpfs", "tmpfs", 0, "size=64k,mode=700"));
	show_mount(B "/tmpfs");
	struct stat st;
	if (stat(B "/tmpfs", &st) == 0)
		line("tmpfs root mode: %o", st.st_mode & 07777);
	struct statfs sf;
	if (statfs(B "/tmpfs", &sf) == 0)
		line("tmpfs statfs: type %s, size %ld", sf.f_type == 0x01021994 ? "tmpfs" : "other",
		     (long)(sf.f_blocks * sf.f_bsize));
	write_file(B "/tmpfs/f", "on the tmpfs\n");
	show_file("tmpfs file", B "/tmpfs/f");

	TRY("mount tmpfs over tmpfs", mount("tmpfs", B "/tmpfs", "tmpfs", 0, NULL));
	show_mount(B "/tmpfs");
	show_file("tmpfs file under the second tmpfs", B "/tmpfs/f");
	TRY("umount the second tmpfs", umount2(B "/tmpfs", 0));
	show_mount(B "/tmpfs");
	show_file("tmpfs file uncovered", B "/tmpfs/f");

	/* Errors of mount itself. */
	mkdirs(B "/plain");
	write_file(B "/plain/file", "plain file\n");
	TRY("mount on a missing directory", mount("tmpfs", B "/missing", "tmpfs", 0, NULL));
	TRY("mount tmpfs on a file", mount("tmpfs", B "/plain/file", "tmpfs", 0, NULL));
	TRY("mount an unknown type", mount("none", B "/plain", "magawa-nosuchfs", 0, NULL));
	TRY("mount tmpfs with bad options", mount("tmpfs", B "/plain", "tmpfs", 0, "size=lots"));
	show_mount(B "/plain");
}

/* ---- bind mounts, read-only remount ---- */

static void binds(void)
{
	mkdirs(B "/src");
	mkdirs(B "/src/dir");
	write_file(B "/src/file", "source file\n");
	mkdirs(B "/bind");
	TRY("bind a directory", mount(B "/src", B "/bind", NULL, MS_BIND, NULL));
	show_mount(B "/bind");
	struct mnt m, rootm;
	if (find_mount("/proc/self/mountinfo", B "/bind", &m) == 1 &&
	    find_mount("/proc/self/mountinfo", "/", &rootm) >= 1) {
		line("bind mountinfo root: %s", m.root);
		line("bind file system same as /: %s", strcmp(m.fstype, rootm.fstype) == 0 ? "yes" : "no");
	}
	show_file("bind file", B "/bind/file");
	struct stat a, b;
	if (stat(B "/src/file", &a) == 0 && stat(B "/bind/file", &b) == 0)
		line("bind same inode: %s", a.st_dev == b.st_dev && a.st_ino == b.st_ino ? "yes" : "no");
	write_file(B "/bind/new", "made through the bind\n");
	show_file("bind write seen at the source", B "/src/new");

	/* Read-only. */
	TRY("remount the bind read-only", mount(NULL, B "/bind", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
	show_mount(B "/bind");
	struct statvfs sv;
	if (statvfs(B "/bind", &sv) == 0)
		line("read-only bind statvfs ST_RDONLY: %s", sv.f_flag & ST_RDONLY ? "yes" : "no");
	TRY("read-only bind create", open(B "/bind/x", O_WRONLY | O_CREAT, 0644));
	TRY("read-only bind open for writing", open(B "/bind/file", O_WRONLY));
	TRY("read-only bind mkdir", mkdir(B "/bind/d", 0755));
	TRY("read-only bind unlink", unlink(B "/bind/file"));
	TRY("read-only bind rename", rename(B "/bind/file", B "/bind/file2"));
	TRY("read-only bind chmod", chmod(B "/bind/file", 0600));
	TRY("read-only bind truncate", truncate(B "/bind/file", 0));
	TRY("read-only bind symlink", symlink("x", B "/bind/link"));
	TRY("read-only bind utimes", utimensat(AT_FDCWD, B "/bind/file", NULL, 0));
	TRY("read-only bind access W_OK", access(B "/bind/file", W_OK));
	show_file("read-only bind read", B "/bind/file");
	int fd = TRY("source still writable", open(B "/src/file", O_WRONLY | O_APPEND));
	if (fd >= 0) {
		if (write(fd, "more\n", 5) != 5)
			die("write");
		close(fd);
	}
	TRY("remount the bind read-write", mount(NULL, B "/bind", NULL, MS_REMOUNT | MS_BIND, NULL));
	show_mount(B "/bind");
	fd = TRY("read-write bind create", open(B "/bind/x", O_WRONLY | O_CREAT, 0644));
	if (fd >= 0)
		close(fd);
	unlink(B "/bind/x");
	TRY("remount a directory that is no mount point",
	    mount(NULL, B "/src/dir", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));

	/* Bind errors, and a file bound on a file. */
	TRY("bind a missing source", mount(B "/nothing", B "/plain", NULL, MS_BIND, NULL));
	TRY("bind a file on a directory", mount(B "/src/file", B "/plain", NULL, MS_BIND, NULL));
	TRY("bind a directory on a file", mount(B "/src", B "/plain/file", NULL, MS_BIND, NULL));
	write_file(B "/filetarget", "the target\n");
	TRY("bind a file on a file", mount(B "/src/file", B "/filetarget", NULL, MS_BIND, NULL));
	show_mount(B "/filetarget");
	show_file("file bind reads the source", B "/filetarget");
	TRY("umount the file bind", umount2(B "/filetarget", 0));
	show_file("file bind target after umount", B "/filetarget");
}

/* ---- recursive binds ---- */

static void rbinds(void)
{
	mkdirs(B "/src/sub");
	TRY("mount tmpfs on src/sub", mount("tmpfs", B "/src/sub", "tmpfs", 0, NULL));
	write_file(B "/src/sub/inner", "inner\n");
	mkdirs(B "/rbind");
	mkdirs(B "/bind2");
	TRY("recursive bind", mount(B "/src", B "/rbind", NULL, MS_BIND | MS_REC, NULL));
	TRY("non-recursive bind", mount(B "/src", B "/bind2", NULL, MS_BIND, NULL));
	show_mount(B "/rbind");
	show_mount(B "/rbind/sub");
	show_mount(B "/bind2");
	show_mount(B "/bind2/sub");
	show_file("recursive bind carries the submount", B "/rbind/sub/inner");
	show_file("non-recursive bind does not", B "/bind2/sub/inner");
	/* The earlier bind was made before the submount: private, so it
	 * does not get it either. */
	show_file("earlier bind does not", B "/bind/sub/inner");
	write_file(B "/rbind/sub/through", "through the copy\n");
	show_file("submount copy shares the file system", B "/src/sub/through");
}

/* ---- proc and sysfs elsewhere ---- */

static void pseudo(void)
{
	mkdirs(B "/p2");
	TRY("mount proc", mount("proc", B "/p2", "proc", 0, NULL));
	show_mount(B "/p2");
	FILE *f = fopen(B "/p2/self/status", "r");
	char l[256], name[64] = "?";
	long pid = -1;
	while (f && fgets(l, sizeof l, f)) {
		sscanf(l, "Name: %63s", name);
		sscanf(l, "Pid: %ld", &pid);
	}
	if (f)
		fclose(f);
	else
		line("proc status: errno %s", errname(errno));
	line("second proc status: name %s, pid %ld", name, pid);
	int n = find_mount(B "/p2/self/mountinfo", B "/p2", NULL);
	line("second proc mountinfo lists itself: %s", n == 1 ? "yes" : "no");

	mkdirs(B "/s2");
	TRY("mount sysfs", mount("sysfs", B "/s2", "sysfs", 0, NULL));
	show_mount(B "/s2");
	char online[64] = "";
	int fd = open(B "/s2/devices/system/cpu/online", O_RDONLY);
	if (fd < 0 || read(fd, online, sizeof online - 1) < 0)
		line("second sysfs cpu online: errno %s", errname(errno));
	else
		line("second sysfs cpu online starts with 0: %s", online[0] == '0' ? "yes" : "no");
	if (fd >= 0)
		close(fd);
	mkdirs(B "/s3");
	TRY("mount sysfs read-only", mount("sysfs", B "/s3", "sysfs", MS_RDONLY, NULL));
	show_mount(B "/s3");
}

/* ---- MS_MOVE and propagation ---- */

static void move_and_propagation(void)
{
	mkdirs(B "/movefrom");
	mkdirs(B "/moveto");
	TRY("mount tmpfs to move", mount("tmpfs", B "/movefrom", "tmpfs", 0, NULL));
	write_file(B "/movefrom/moved", "moved\n");
	TRY("move the mount", mount(B "/movefrom", B "/moveto", NULL, MS_MOVE, NULL));
	show_mount(B "/movefrom");
	show_mount(B "/moveto");
	show_file("moved mount's file", B "/moveto/moved");
	TRY("make / private recursively", mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL));
	TRY("make a bind a slave", mount(NULL, B "/bind", NULL, MS_SLAVE, NULL));
	TRY("propagation of a directory that is no mount point", mount(NULL, B "/src/dir", NULL, MS_PRIVATE, NULL));
}

/* ---- umount2 ---- */

static void umounts(void)
{
	TRY("umount a directory that is no mount point", umount2(B "/src/dir", 0));
	TRY("umount a file that is no mount point", umount2(B "/src/file", 0));
	TRY("umount a missing path", umount2(B "/missing", 0));
	TRY("umount with unknown flags", umount2(B "/s3", 0x100));
	TRY("umount with MNT_EXPIRE|MNT_DETACH", umount2(B "/s3", MNT_EXPIRE | MNT_DETACH));
	TRY("umount MNT_EXPIRE first time", umount2(B "/s3", MNT_EXPIRE));

	TRY("umount sysfs", umount2(B "/s2", 0));
	show_mount(B "/s2");
	list_dir("after umount sysfs", B "/s2");
	TRY("umount sysfs again", umount2(B "/s2", 0));
	TRY("umount read-only sysfs", umount2(B "/s3", 0));
	show_mount(B "/s3");
	TRY("umount proc", umount2(B "/p2", 0));
	show_mount(B "/p2");
	list_dir("after umount proc", B "/p2");

	/* Busy: a file open on it (Linux: EBUSY unless MNT_DETACH). */
	int fd = open(B "/tmpfs/f", O_RDONLY);
	if (fd < 0)
		die("open tmpfs/f");
	errno = 0;
	long r = umount2(B "/tmpfs", 0);
	line("umount tmpfs with a file open: %s", r == 0 ? "ok" : errname(errno));
	if (r < 0)
		TRY("umount tmpfs with a file open MNT_DETACH", umount2(B "/tmpfs", MNT_DETACH));
	show_mount(B "/tmpfs");
	char buf[64] = "";
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n < 0 ? 0 : n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	line("read through the descriptor after umount: %s", buf);
	close(fd);
	show_file("tmpfs file after umount", B "/tmpfs/f");

	/* Busy: a mount below it (Linux: EBUSY unless MNT_DETACH). */
	errno = 0;
	r = umount2(B "/rbind", 0);
	line("umount recursive bind with a submount: %s", r == 0 ? "ok" : errname(errno));
	if (r < 0) {
		TRY("umount the submount of the recursive bind", umount2(B "/rbind/sub", 0));
		TRY("umount recursive bind after its submount", umount2(B "/rbind", 0));
	}
	line("mounts at or below rbind: %d", count_below(B "/rbind"));
	show_file("rbind after umount", B "/rbind/sub/inner");
	show_mount(B "/src/sub");
	TRY("umount non-recursive bind with MNT_DETACH", umount2(B "/bind2", MNT_DETACH));
	show_mount(B "/bind2");
	TRY("umount the bind", umount2(B "/bind", 0));
	show_mount(B "/bind");
	list_dir("bind directory after umount", B "/bind");
	show_file("source after umount", B "/src/file");
	TRY("umount src/sub", umount2(B "/src/sub", 0));
	/* Where the moved tmpfs is (should the move have failed, it is still
	 * where it was: unmount it there, not to fail every line below). */
	const char *moved = find_mount("/proc/self/mountinfo", B "/moveto", NULL) > 0 ? B "/moveto" : B "/movefrom";
	if (symlink(moved, B "/movelink") < 0)
		die("symlink");
	TRY("umount a symlink to a mount with UMOUNT_NOFOLLOW", umount2(B "/movelink", UMOUNT_NOFOLLOW));
	TRY("umount the moved mount through a symlink", umount2(B "/movelink", 0));
	line("moved mount after umount: %s", find_mount("/proc/self/mountinfo", moved, NULL) == 0 ? "gone" : "still there");
	line("mounts left below " B ": %d", count_below(B));
}

/* ---- pivot_root, in a child ---- */

static void pivot_child(void)
{
	mkdirs(B "/newroot");
	if (TRY("pivot: mount tmpfs for the new root", mount("tmpfs", B "/newroot", "tmpfs", 0, NULL)) < 0)
		_exit(1);
	mkdirs(B "/newroot/old");
	write_file(B "/elsewhere", "x\n");
	TRY("pivot_root to a directory that is no mount point",
	    syscall(SYS_pivot_root, B "/newroot/old", B "/newroot/old"));
	mkdirs(B "/other");
	TRY("pivot: mount tmpfs elsewhere", mount("tmpfs", B "/other", "tmpfs", 0, NULL));
	TRY("pivot_root with put_old outside the new root", syscall(SYS_pivot_root, B "/newroot", B "/other"));
	TRY("pivot_root with put_old on the root's mount", syscall(SYS_pivot_root, B "/newroot", B "/src"));
	TRY("pivot_root to a directory on the root's mount", syscall(SYS_pivot_root, B "/src", B "/src/dir"));
	TRY("pivot_root to a missing directory", syscall(SYS_pivot_root, B "/newroot/missing", B "/newroot/old"));
	TRY("pivot_root to a file", syscall(SYS_pivot_root, B "/elsewhere", B "/newroot/old"));
	if (TRY("pivot_root", syscall(SYS_pivot_root, B "/newroot", B "/newroot/old")) < 0)
		_exit(1);
	TRY("pivot: chdir /", chdir("/"));
	char cwd[256];
	line("pivot: getcwd: %s", getcwd(cwd, sizeof cwd) ? cwd : errname(errno));
	list_dir("pivot: / holds", "/");
	int fd = open("/old/etc/os-release", O_RDONLY);
	line("pivot: /old/etc/os-release readable: %s", fd >= 0 ? "yes" : errname(errno));
	if (fd >= 0)
		close(fd);
	struct mnt m;
	int n = find_mount("/old/proc/self/mountinfo", "/", &m);
	line("pivot: mountinfo /: %s", n >= 1 ? m.fstype : "none");
	n = find_mount("/old/proc/self/mountinfo", "/old", &m);
	line("pivot: mountinfo /old: %s", n >= 1 ? "yes" : "none");
	n = find_mount("/old/proc/self/mountinfo", "/old/proc", &m);
	line("pivot: mountinfo /old/proc: %s", n >= 1 ? m.fstype : "none");
	n = find_mount("/old/proc/self/mountinfo", B "/newroot", &m);
	line("pivot: mountinfo still lists " B "/newroot: %s", n >= 1 ? "yes" : "no");
	TRY("pivot: umount2 /old MNT_DETACH", umount2("/old", MNT_DETACH));
	list_dir("pivot: /old after detach", "/old");
	TRY("pivot: /proc gone with it", access("/old/proc/self", F_OK));
	TRY("pivot: chroot .. stays in the new root", chroot(".."));
	list_dir("pivot: / after chroot ..", "/");
	_exit(0);
}

/*
 * setuid_exec: a set-user-ID root copy of this program on a tmpfs mounted
 * with flags, exec'd by user 1000: the effective user it runs as (the
 * copy, run as "mounts euid", prints it).
 */
static void setuid_exec(const char *what, unsigned long flags)
{
	const char *dir = B "/suid";
	mkdirs(dir);
	if (mount("tmpfs", dir, "tmpfs", flags, "mode=755") < 0)
		die("mount tmpfs for setuid");
	int in = open("/proc/self/exe", O_RDONLY), out = open(B "/suid/prog", O_WRONLY | O_CREAT, 0755);
	char buf[65536];
	ssize_t n;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			die("copy");
	close(in);
	close(out);
	if (chmod(B "/suid/prog", 04755) < 0)
		die("chmod");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setresuid(1000, 1000, 1000) < 0)
			die("setresuid");
		execl(B "/suid/prog", "mounts", "euid", (char *)NULL);
		die("exec");
	}
	int status;
	waitpid(pid, &status, 0);
	if (umount2(dir, 0) < 0)
		die("umount setuid tmpfs");
	(void)what;
}

int main(int argc, char **argv)
{
	/* A set-user-ID copy of this program (setuid_exec) reports. */
	if (argc == 2 && strcmp(argv[1], "euid") == 0) {
		printf("set-user-ID root program run by user %u: effective user %u\n", getuid(), geteuid());
		return 0;
	}
	/* The safety checks come first, before any other call. */
	struct utsname u;
	const char *token = getenv("MAGAWA_HOSTILE_TOKEN");
	if (argc != 2 || token == NULL || strlen(token) < 16 ||
	    strcmp(token, argv[1]) != 0 || getpid() != 1 || getppid() != 0 ||
	    uname(&u) != 0 || strcmp(u.nodename, "magawa") != 0) {
		static const char msg[] =
			"mounts: not inside the magawa sandbox; refusing to run\n";
		if (write(2, msg, sizeof(msg) - 1) < 0) {
			/* nothing more to do */
		}
		_exit(NOT_IN_SANDBOX);
	}
	line("inside the sandbox: yes");
	umask(022);
	if (chdir("/") < 0)
		die("chdir /");
	mkdirs(B);
	int before = count_below("/");
	line("== tmpfs");
	tmpfs();
	line("== bind");
	binds();
	line("== recursive bind");
	rbinds();
	line("== proc and sysfs");
	pseudo();
	line("== move and propagation");
	move_and_propagation();
	line("== umount");
	umounts();
	line("== nosuid");
	setuid_exec("plain", 0);
	setuid_exec("nosuid", MS_NOSUID);
	line("mounts in all as at the start: %s", count_below("/") == before ? "yes" : "no");

	/* pivot_root moves the root and working directory of every process
	 * whose root or working directory was the old root (Linux:
	 * chroot_fs_refs()), this one's too: so it comes last. */
	line("== pivot_root");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		pivot_child();
	int status;
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	line("pivot child: %s %d", WIFEXITED(status) ? "exit" : "signal",
	     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	/* The child's pivot_root moved this process's root too, to the tmpfs
	 * that holds only the (now empty) "old". */
	DIR *d = opendir("/");
	struct dirent *e;
	int others = 0, old = 0;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, "old") == 0)
			old++;
		else if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			others++;
	if (d)
		closedir(d);
	line("parent after the child's pivot_root: / holds %s", others == 0 && old == 1 ? "only old" : "the old root's entries");
	line("survived: yes");
	return 0;
}
