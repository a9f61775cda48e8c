/* args: echoes argc, argv and the whole environment, in order. */
#include "common.h"

extern char **environ;

int main(int argc, char **argv, char **envp)
{
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=\"%s\"\n", i, argv[i]);
	yesno("argv[argc] is NULL", argv[argc] == NULL);
	yesno("envp follows argv", envp == argv + argc + 1);
	yesno("environ is envp", environ == envp);
	int n = 0;
	for (char **e = envp; *e; e++, n++)
		printf("env[%d]=\"%s\"\n", n, *e);
	printf("envc=%d\n", n);
	const char *home = getenv("HOME");
	printf("getenv(HOME)=%s\n", home ? home : "(null)");
	return 0;
}
