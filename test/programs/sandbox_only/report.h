/*
 * report.h: how the sandbox-only programs report: "what: ok" or
 * "what: errno NAME" per call (TRY), and whole lines (line), flushed so
 * that a crash loses nothing.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdarg.h>
#include <stdio.h>

static long res(const char *what, long ret)
{
	if (ret < 0)
		printf("%s: errno %s\n", what, errname(errno));
	else
		printf("%s: ok\n", what);
	fflush(stdout);
	return ret;
}

#define TRY(what, call)                  \
	({                               \
		errno = 0;               \
		long r_ = (long)(call);  \
		res((what), r_);         \
	})

static void line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#endif
