/* hello: writes to stdout and stderr, with write(2) and with stdio. */
#include "common.h"
#include <unistd.h>

int main(void)
{
	static const char out[] = "hello, stdout (write)\n";
	static const char err[] = "hello, stderr (write)\n";

	if (write(1, out, sizeof(out) - 1) != sizeof(out) - 1)
		die("write stdout");
	if (write(2, err, sizeof(err) - 1) != sizeof(err) - 1)
		die("write stderr");
	/* A zero-length write succeeds and writes nothing. */
	if (write(1, out, 0) != 0)
		die("write 0");
	printf("hello, stdout (printf %d)\n", 42);
	fprintf(stderr, "hello, stderr (fprintf %s)\n", "ok");
	return 0;
}
