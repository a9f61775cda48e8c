/*
 * dirlist: lists directories with getdents64, with a large and with a
 * tiny buffer, and prints the sorted names, their types and the count.
 */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct entry {
	char name[256];
	unsigned char type;
};

static struct entry entries[4096];

static int cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
		      ((const struct entry *)b)->name);
}

static const char *typename(unsigned char t)
{
	switch (t) {
	case DT_REG: return "reg";
	case DT_DIR: return "dir";
	case DT_LNK: return "lnk";
	case DT_CHR: return "chr";
	case DT_BLK: return "blk";
	case DT_FIFO: return "fifo";
	case DT_SOCK: return "sock";
	case DT_UNKNOWN: return "unknown";
	}
	return "?";
}

/* list reads dir with getdents64 in bufsize-byte calls. */
static int list(const char *dir, size_t bufsize, int *calls)
{
	static char buf[65536];
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		die("open dir");
	int n = 0;
	*calls = 0;
	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, bufsize);
		if (got < 0)
			die("getdents64");
		if (got == 0)
			break;
		(*calls)++;
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			if (n == (int)(sizeof(entries) / sizeof(entries[0]))) {
				printf("too many entries\n");
				exit(1);
			}
			snprintf(entries[n].name, sizeof(entries[n].name),
				 "%s", d->d_name);
			entries[n].type = d->d_type;
			n++;
			off += d->d_reclen;
		}
	}
	/* After EOF, getdents64 keeps returning 0. */
	if (syscall(SYS_getdents64, fd, buf, bufsize) != 0)
		printf("getdents64 after EOF did not return 0\n");
	close(fd);
	qsort(entries, n, sizeof(entries[0]), cmp);
	return n;
}

static void show_dir(const char *dir)
{
	int calls;
	int n = list(dir, 65536, &calls);
	printf("%s: %d entries\n", dir, n);
	uint64_t sum = FNV_INIT;
	for (int i = 0; i < n; i++) {
		printf("  %s %s\n", typename(entries[i].type), entries[i].name);
		sum = fnv1a64(sum, entries[i].name, strlen(entries[i].name) + 1);
	}

	/* A buffer for about one entry at a time gives the same names. */
	int small = list(dir, 300, &calls);
	uint64_t sum2 = FNV_INIT;
	for (int i = 0; i < small; i++)
		sum2 = fnv1a64(sum2, entries[i].name, strlen(entries[i].name) + 1);
	yesno("small-buffer listing matches", small == n && sum2 == sum);
	yesno("small buffer needed several calls", calls > 1);
}

int main(void)
{
	show_dir("/etc");
	show_dir("/usr/bin/../lib");

	char buf[8];
	int fd = open("/etc", O_RDONLY | O_DIRECTORY);
	expect_err("getdents64 buffer too small",
		   syscall(SYS_getdents64, fd, buf, sizeof(buf)));
	expect_err("getdents64 bad buffer",
		   syscall(SYS_getdents64, fd, (void *)16, 4096));
	close(fd);
	fd = open("/etc/os-release", O_RDONLY);
	expect_err("getdents64 on a file",
		   syscall(SYS_getdents64, fd, buf, sizeof(buf)));
	close(fd);
	expect_err("getdents64 bad fd",
		   syscall(SYS_getdents64, 999, buf, sizeof(buf)));
	return 0;
}
