/*
 * readonly: tries to change the host's files through the sandbox's
 * read-only view of the root file system. Every attempt must fail (the
 * test then checks the files on the host). Never run natively: as root it
 * would modify the files it is given.
 *
 * Usage (by the test only): readonly EXISTING_FILE NEW_PATH DIR
 */
#include "../common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static void report(const char *what, long ret, int err)
{
	if (ret < 0)
		printf("%s: -1 %s\n", what, errname(err));
	else
		printf("%s: %ld\n", what, ret);
}

#define TRY(what, call)                      \
	do {                                 \
		errno = 0;                   \
		long ret_ = (call);          \
		report((what), ret_, errno); \
	} while (0)

int main(int argc, char **argv)
{
	if (argc != 4 || getpid() != 1) {
		fprintf(stderr, "readonly: run only by the test, inside magawa\n");
		return 99;
	}
	const char *file = argv[1], *newpath = argv[2], *dir = argv[3];
	char buf[512];

	TRY("open O_WRONLY", open(file, O_WRONLY));
	TRY("open O_RDWR", open(file, O_RDWR));
	TRY("open O_RDONLY|O_TRUNC", open(file, O_RDONLY | O_TRUNC));
	TRY("open O_WRONLY|O_APPEND", open(file, O_WRONLY | O_APPEND));
	TRY("open O_CREAT new", open(newpath, O_WRONLY | O_CREAT, 0644));
	TRY("open O_CREAT|O_EXCL new", open(newpath, O_RDWR | O_CREAT | O_EXCL, 0644));
	TRY("openat O_TMPFILE", open(dir, O_RDWR | O_TMPFILE, 0600));
	TRY("creat new", creat(newpath, 0644));
	TRY("creat existing", creat(file, 0644));
	TRY("truncate", syscall(SYS_truncate, file, 0));
	TRY("unlink", syscall(SYS_unlink, file));
	TRY("rename", syscall(SYS_rename, file, newpath));
	TRY("link", syscall(SYS_link, file, newpath));
	TRY("symlink", syscall(SYS_symlink, file, newpath));
	TRY("mkdir", syscall(SYS_mkdir, newpath, 0755));
	TRY("rmdir", syscall(SYS_rmdir, dir));
	TRY("chmod", syscall(SYS_chmod, file, 0777));
	TRY("chown", syscall(SYS_chown, file, 1, 1));
	TRY("utimes", syscall(SYS_utimes, file, NULL));
	TRY("mknod", syscall(SYS_mknod, newpath, S_IFIFO | 0644, 0));
	TRY("setxattr", syscall(SYS_setxattr, file, "user.magawa", "x", 1, 0));

	/* A descriptor opened read-only cannot be written either. */
	int fd = open(file, O_RDONLY);
	TRY("write to O_RDONLY fd", write(fd, "x", 1));
	TRY("pwrite to O_RDONLY fd", pwrite(fd, "x", 1, 0));
	TRY("ftruncate", syscall(SYS_ftruncate, fd, 0));
	TRY("fchmod", syscall(SYS_fchmod, fd, 0777));
	TRY("fallocate", syscall(SYS_fallocate, fd, 0, 0, 4096));
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = 0;
	printf("content: %s\n", buf);
	return 0;
}
