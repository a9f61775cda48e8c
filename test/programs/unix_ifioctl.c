/*
 * unix_ifioctl: the netdevice(7) queries made on a Unix socket. Linux
 * answers SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFFLAGS... on a socket of any
 * family (net/socket.c, sock_do_ioctl() falls back to dev_ioctl()), and
 * glibc's if_nametoindex and if_indextoname ask an AF_UNIX datagram
 * socket (__opensock), so they fail where only Internet sockets answer.
 * Only the loopback is looked at: it is index 1 natively and in the
 * sandbox; other interfaces differ.
 */
#include "common.h"
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

static void query(const char *what, int type)
{
	int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket");
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	int r = ioctl(s, SIOCGIFINDEX, &ifr);
	printf("%s SIOCGIFINDEX lo: %d index %d\n", what, r, r == 0 ? ifr.ifr_ifindex : -1);

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_ifindex = 1;
	r = ioctl(s, SIOCGIFNAME, &ifr);
	printf("%s SIOCGIFNAME 1: %d name %s\n", what, r, r == 0 ? ifr.ifr_name : "-");

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	r = ioctl(s, SIOCGIFFLAGS, &ifr);
	int want = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	printf("%s SIOCGIFFLAGS lo: %d up, loopback, running: %s\n", what, r,
	       r == 0 && (ifr.ifr_flags & want) == want ? "yes" : "no");

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	r = ioctl(s, SIOCGIFMTU, &ifr);
	printf("%s SIOCGIFMTU lo: %d mtu %d\n", what, r, r == 0 ? ifr.ifr_mtu : -1);

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "nosuchif0");
	errno = 0;
	r = ioctl(s, SIOCGIFINDEX, &ifr);
	printf("%s SIOCGIFINDEX nosuchif0: %d %s\n", what, r, errname(errno));

	/* A terminal's request is still ENOTTY. */
	errno = 0;
	r = ioctl(s, TCGETS, &ifr);
	printf("%s TCGETS: %d %s\n", what, r, errname(errno));
	close(s);
}

int main(void)
{
	query("stream", SOCK_STREAM);
	query("dgram", SOCK_DGRAM);

	unsigned idx = if_nametoindex("lo");
	printf("if_nametoindex lo: %u\n", idx);
	char name[IF_NAMESIZE];
	const char *n = if_indextoname(1, name);
	printf("if_indextoname 1: %s\n", n ? n : "(null)");
	errno = 0;
	idx = if_nametoindex("nosuchif0");
	printf("if_nametoindex nosuchif0: %u %s\n", idx, errname(errno));
	return 0;
}
