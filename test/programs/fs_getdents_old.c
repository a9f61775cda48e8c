/*
 * getdents(2), the call before getdents64 that old C libraries (uClibc's
 * busybox) still make: every entry of a directory with each kind of
 * file, its type in the record's last byte, read through a buffer small
 * enough to take several calls.
 */
#include "common.h"
#include "scratch.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

struct old_dirent {
	unsigned long d_ino;
	unsigned long d_off;
	unsigned short d_reclen;
	char d_name[];
};

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	scratch_setup();
	int dir = open(scratch, O_RDONLY | O_DIRECTORY);
	close(openat(dir, "regular", O_CREAT | O_WRONLY, 0644));
	mkdirat(dir, "directory", 0755);
	symlinkat("regular", dir, "symlink");
	mkfifoat(dir, "fifo", 0644);
	for (int i = 0; i < 40; i++) {
		char name[64];
		snprintf(name, sizeof name, "file-with-a-longer-name-%02d", i);
		close(openat(dir, name, O_CREAT | O_WRONLY, 0644));
	}

	char buf[256];
	char *lines[128];
	int n = 0, calls = 0;
	for (;;) {
		long got = syscall(SYS_getdents, dir, buf, sizeof buf);
		if (got < 0) {
			printf("getdents: %s\n", strerror(errno));
			break;
		}
		if (got == 0)
			break;
		calls++;
		for (long pos = 0; pos < got;) {
			struct old_dirent *d = (struct old_dirent *)(buf + pos);
			char type = buf[pos + d->d_reclen - 1];
			if (n < 128) {
				lines[n] = malloc(128);
				snprintf(lines[n], 128, "%s type %d reclen%%8 %d", d->d_name, type, d->d_reclen % 8);
				n++;
			}
			pos += d->d_reclen;
		}
	}
	qsort(lines, n, sizeof *lines, by_name);
	for (int i = 0; i < n; i++)
		puts(lines[i]);
	printf("entries %d, more than one call: %s\n", n, calls > 1 ? "yes" : "no");
	char tiny[8];
	lseek(dir, 0, SEEK_SET);
	long r = syscall(SYS_getdents, dir, tiny, sizeof tiny);
	printf("buffer too small: %ld %s\n", r, r < 0 ? strerror(errno) : "");
	close(dir);
	scratch_cleanup();
	return 0;
}
