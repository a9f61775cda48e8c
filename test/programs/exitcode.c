/* exitcode: exits with argv[1] as given; the status keeps its low 8 bits. */
#include "common.h"

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 0;
	printf("exit(%d)\n", code);
	exit(code);
}
