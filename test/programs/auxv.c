/*
 * auxv: the ELF auxiliary vector and initial process state the loader
 * sets up. Addresses are not printed, only whether they are sane.
 */
#include "common.h"
#include <elf.h>
#include <sys/auxv.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	(void)argc;
	printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
	printf("AT_UID=%lu AT_EUID=%lu AT_GID=%lu AT_EGID=%lu\n",
	       getauxval(AT_UID), getauxval(AT_EUID), getauxval(AT_GID),
	       getauxval(AT_EGID));
	printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
	printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
	yesno("AT_PHDR set", getauxval(AT_PHDR) != 0);
	yesno("AT_PHNUM set", getauxval(AT_PHNUM) != 0);
	yesno("AT_ENTRY set", getauxval(AT_ENTRY) != 0);
	yesno("AT_RANDOM set", getauxval(AT_RANDOM) != 0);
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	yesno("AT_EXECFN is argv[0]", execfn && strcmp(execfn, argv[0]) == 0);
	const char *platform = (const char *)getauxval(AT_PLATFORM);
	printf("AT_PLATFORM=%s\n", platform ? platform : "(none)");
	printf("sysconf(_SC_PAGESIZE)=%ld\n", sysconf(_SC_PAGESIZE));

	/* The initial stack is 16-byte aligned at _start, so locals are too. */
	long aligned __attribute__((aligned(16))) = 0;
	yesno("stack local aligned", ((uintptr_t)&aligned & 15) == 0);
	return 0;
}
