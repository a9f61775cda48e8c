/* walk DIR: walks the tree at DIR as `find DIR -exec stat` would (readdir
 * and lstat of every entry) and prints the nanoseconds per entry. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static long entries;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
	struct stat again;
	lstat(path, &again);
	entries++;
	return 0;
}

int main(int argc, char **argv) {
	const char *dir = argc > 1 ? argv[1] : "/usr";
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (nftw(dir, visit, 64, FTW_PHYS) != 0) {
		perror(dir);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (entries > 0 ? entries : 1));
	return 0;
}
