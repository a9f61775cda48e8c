/* getrandom: lengths, flags, that two calls differ, bad arguments. */
#include "common.h"
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned char a[1 << 20], b[1 << 20];

int main(void)
{
	size_t lens[] = {0, 1, 16, 256, 257, 4096, 1 << 20};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ssize_t n = getrandom(a, lens[i], 0);
		/* Up to 256 bytes are always returned whole; more may be short. */
		if (lens[i] <= 256)
			printf("getrandom(%zu) = %zd\n", lens[i], n);
		else
			yesno("getrandom large returns >= 256 bytes", n >= 256 && (size_t)n <= lens[i]);
	}
	if (getrandom(a, 64, 0) != 64 || getrandom(b, 64, 0) != 64)
		die("getrandom 64");
	yesno("two calls differ", memcmp(a, b, 64) != 0);
	int nonzero = 0;
	for (int i = 0; i < 64; i++)
		nonzero |= a[i];
	yesno("not all zero", nonzero != 0);
	printf("GRND_NONBLOCK: %zd\n", getrandom(a, 32, GRND_NONBLOCK));
	printf("GRND_RANDOM|GRND_NONBLOCK ok: %s\n",
	       getrandom(a, 8, GRND_RANDOM | GRND_NONBLOCK) > 0 ? "yes" : errname(errno));
	expect_err("getrandom bad flags", getrandom(a, 8, 0x100));
	expect_err("getrandom bad pointer", syscall(SYS_getrandom, (void *)16, 8, 0));
	return 0;
}
