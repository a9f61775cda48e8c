/*
 * scratch.h: the scratch directory of the file-system programs: a fresh
 * directory under /dev/shm (a tmpfs both natively and in the sandbox),
 * removed at the end and also when a failing check exits early, by the
 * process that made it only.
 */
#ifndef SCRATCH_H
#define SCRATCH_H

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[] = "/dev/shm/fs-XXXXXX";

static void rm_rf(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd >= 0) {
			DIR *d = fdopendir(fd);
			struct dirent *e;
			while (d && (e = readdir(d)) != NULL) {
				if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
					rm_rf(fd, e->d_name);
			}
			if (d)
				closedir(d);
		}
		unlinkat(dirfd, name, AT_REMOVEDIR);
	} else {
		unlinkat(dirfd, name, 0);
	}
}
/* A failing check (die) exits early: remove the scratch directory then
 * too, in the process that made it only. */
static pid_t scratch_owner;
static void remove_scratch_at_exit(void)
{
	struct stat st;
	if (getpid() != scratch_owner || lstat(scratch, &st) < 0)
		return;
	if (chdir("/") == 0)
		rm_rf(AT_FDCWD, scratch);
}

/* scratch_setup makes the scratch directory and enters it;
 * scratch_cleanup leaves and removes it, saying if anything stayed. */
static inline void scratch_setup(void)
{
	if (!mkdtemp(scratch))
		die("mkdtemp");
	scratch_owner = getpid();
	atexit(remove_scratch_at_exit);
	if (chdir(scratch) < 0)
		die("chdir scratch");
}

static inline void scratch_cleanup(void)
{
	if (chdir("/") < 0)
		die("chdir /");
	rm_rf(AT_FDCWD, scratch);
	struct stat st;
	if (lstat(scratch, &st) == 0)
		printf("scratch directory left behind\n");
}

#endif
