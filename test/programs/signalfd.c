/*
 * signalfd: blocked signals read as signalfd_siginfo records (kill,
 * sigqueue with a value, several at once), non-blocking reads, poll on the
 * descriptor, changing the mask of an existing descriptor, the errors.
 */
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	printf("signalfd: %s\n", fd >= 0 ? "ok" : "failed");
	struct signalfd_siginfo si[4];
	ssize_t r = read(fd, si, sizeof(si));
	printf("nothing pending: %zd %s\n", r, errname(errno));
	struct pollfd pf = {fd, POLLIN, 0};
	printf("poll with nothing pending: %d\n", poll(&pf, 1, 0));
	kill(getpid(), SIGUSR1);
	union sigval v = {.sival_int = 42};
	sigqueue(getpid(), SIGRTMIN, v);
	sigqueue(getpid(), SIGRTMIN, v);
	printf("poll with signals pending: %d, revents %x\n", poll(&pf, 1, 0), pf.revents);
	r = read(fd, si, sizeof(si));
	printf("read: %zd bytes, %zd records\n", r, r / (ssize_t)sizeof(si[0]));
	for (int i = 0; i < r / (ssize_t)sizeof(si[0]); i++)
		printf("  signo %u code %d pid-is-self %d int %d\n", si[i].ssi_signo, si[i].ssi_code,
		       si[i].ssi_pid == (unsigned)getpid(), si[i].ssi_int);
	r = read(fd, si, 10);
	printf("short buffer: %zd %s\n", r, errname(errno));
	sigset_t other;
	sigemptyset(&other);
	sigaddset(&other, SIGUSR2);
	printf("change the mask: %d\n", signalfd(fd, &other, 0) == fd);
	errno = 0;
	printf("mask change on a non-signalfd: %d %s\n", signalfd(0, &other, 0), errname(errno));
	errno = 0;
	printf("bad flags: %d %s\n", signalfd(-1, &set, 0x1234), errname(errno));
	return 0;
}
