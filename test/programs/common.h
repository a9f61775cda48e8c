/*
 * Helpers shared by the conformance programs. Each program prints only
 * what must be identical natively and in the sandbox: values that
 * legitimately differ (addresses, PIDs, times, inode numbers) are never
 * printed; relations between them are ("advanced: yes").
 */
#ifndef MAGAWA_TEST_COMMON_H
#define MAGAWA_TEST_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* errname returns the symbolic name of an errno value ("ENOENT"). */
static inline const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/*
 * show prints "what: ok" or "what: errno NAME" for the result of a call
 * that returns -1 and sets errno on failure, and returns ret.
 */
static inline long show(const char *what, long ret)
{
	if (ret == -1)
		printf("%s: errno %s\n", what, errname(errno));
	else
		printf("%s: ok\n", what);
	return ret;
}

/*
 * expect_err prints "what: errno NAME" for a call expected to fail, and
 * "what: unexpected success" otherwise.
 */
static inline void expect_err(const char *what, long ret)
{
	if (ret == -1)
		printf("%s: errno %s\n", what, errname(errno));
	else
		printf("%s: unexpected success (%ld)\n", what, ret);
}

/* yesno prints "what: yes" or "what: no". */
static inline void yesno(const char *what, int cond)
{
	printf("%s: %s\n", what, cond ? "yes" : "no");
}

/* fnv1a64 continues a 64-bit FNV-1a hash over n bytes of p. */
static inline uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* die reports an unexpected failure of the test itself and exits 2. */
#define die(what)                                                       \
	do {                                                            \
		printf("FATAL %s: %s (line %d)\n", (what), errname(errno), \
		       __LINE__);                                       \
		exit(2);                                                \
	} while (0)

#endif
