/*
 * bigmem: maps 512 MiB, touches every 64th page, checksums what it wrote
 * and checks that the untouched pages are zero.
 */
#include "common.h"
#include <sys/mman.h>

#define SIZE (512UL << 20)
#define PAGE 4096UL
#define STRIDE (64 * PAGE)

int main(void)
{
	unsigned char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap 512 MiB");
	size_t touched = 0;
	for (size_t off = 0; off < SIZE; off += STRIDE) {
		uint64_t v = off * 0x9e3779b97f4a7c15ULL;
		memcpy(p + off, &v, sizeof(v));
		touched++;
	}
	uint64_t sum = FNV_INIT;
	int zero = 1;
	for (size_t off = 0; off < SIZE; off += STRIDE) {
		sum = fnv1a64(sum, p + off, 8);
		zero &= p[off + PAGE] == 0 && p[off + STRIDE / 2 + 123] == 0;
	}
	printf("touched %zu pages of %lu\n", touched, SIZE / PAGE);
	printf("checksum=%016llx\n", (unsigned long long)sum);
	yesno("untouched pages zero", zero);
	yesno("last byte zero", p[SIZE - 1] == 0);
	if (munmap(p, SIZE) < 0)
		die("munmap");
	printf("unmapped\n");
	return 0;
}
