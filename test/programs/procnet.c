/*
 * procnet: /proc/net describes the program's own sockets. A TCP listener
 * on 127.0.0.1 (and a connection to it), a TCP listener on ::1, a bound
 * UDP socket and a Unix socketpair are found in /proc/net/tcp, tcp6,
 * udp and unix by the inode fstat gives, and their lines are checked
 * against what the program knows (state, loopback address, the port
 * getsockname gives, empty queues, the owner's uid). /proc/net/dev
 * lists lo, if_inet6 has ::1 on lo, and /proc/net is a link to self/net.
 *
 * Natively the host has other interfaces and sockets (other copies of
 * this program among them): only the lines of this program's sockets,
 * lo's presence and ::1's line are looked at, and no number that
 * differs between hosts (inodes, ports, counters) is printed.
 */
#include "inet.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* slurp returns the whole contents of path, NUL-terminated. */
static char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1024 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		/* Small reads, to cross the file's buffer boundaries. */
		ssize_t n = read(fd, buf + len, 1000);
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

static unsigned long inode_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		die("fstat");
	return st.st_ino;
}

/* A line of /proc/net/tcp, tcp6, udp or udp6. */
struct sockline {
	char local[33], remote[33];
	unsigned lport, rport, st, txq, rxq, uid;
	unsigned long inode;
};

/* find looks for the line of inode in file (the header skipped) and
 * says whether it is there. Linux reads /proc/net/tcp a bucket at a
 * time and may list a socket twice while others come and go (a busy
 * host's), so lines are not counted. */
static int find(const char *file, unsigned long inode, struct sockline *out)
{
	char *text = slurp(file);
	char *save = NULL;
	int found = 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct sockline s;
		if (sscanf(l, " %*d: %32[0-9A-F]:%X %32[0-9A-F]:%X %X %X:%X %*x:%*x %*x %u %*d %lu",
			   s.local, &s.lport, s.remote, &s.rport, &s.st, &s.txq, &s.rxq, &s.uid, &s.inode) != 9)
			continue;
		if (s.inode == inode) {
			*out = s;
			found = 1;
		}
	}
	free(text);
	return found;
}

/* check prints what the line of fd's socket in file says. A
 * connection's send queue is left out: natively it holds what the peer
 * has not acknowledged yet, for a moment. */
static void check(const char *what, const char *file, int fd, uint16_t peer)
{
	struct sockline s;
	int n = find(file, inode_of(fd), &s);
	printf("%s: in %s: %s\n", what, file, n ? "yes" : "no");
	if (n != 1)
		return;
	printf("%s: st %02X, local %s, remote %s\n", what, s.st, s.local, s.remote);
	yesno("  local port is getsockname's", s.lport == local_port(fd));
	if (peer)
		yesno("  remote port is the peer's", s.rport == peer);
	else
		printf("  remote port: %u\n", s.rport);
	if (peer)
		printf("  receive queue: %08X\n", s.rxq);
	else
		printf("  queues: %08X:%08X\n", s.txq, s.rxq);
	yesno("  uid is the owner's", s.uid == geteuid());
}

static int tcp_listener(int af)
{
	int s = lo_socket(af, SOCK_STREAM);
	if (listen(s, 8) < 0)
		die("listen");
	return s;
}

static void sockets(void)
{
	int l = tcp_listener(AF_INET);
	uint16_t lport = local_port(l);
	check("tcp listener", "/proc/net/tcp", l, 0);

	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage ss;
	socklen_t len = lo_addr(AF_INET, &ss, lport);
	if (c < 0 || connect(c, (struct sockaddr *)&ss, len) < 0)
		die("connect");
	int a = accept(l, NULL, NULL);
	if (a < 0)
		die("accept");
	if (write(c, "hello", 5) != 5)
		die("write");
	wait_for(a, POLLIN);
	check("tcp client", "/proc/net/tcp", c, lport);
	check("tcp accepted", "/proc/net/tcp", a, local_port(c));
	close(a);
	close(c);

	int l6 = tcp_listener(AF_INET6);
	check("tcp6 listener", "/proc/net/tcp6", l6, 0);
	check("tcp6 listener", "/proc/net/tcp", l6, 0);

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	len = lo_addr(AF_INET, &ss, 0);
	if (u < 0 || bind(u, (struct sockaddr *)&ss, len) < 0)
		die("udp bind");
	check("udp", "/proc/net/udp", u, 0);
	int unbound = socket(AF_INET, SOCK_DGRAM, 0);
	if (unbound < 0)
		die("socket");
	struct sockline s;
	printf("unbound udp: in /proc/net/udp: %s\n", find("/proc/net/udp", inode_of(unbound), &s) ? "yes" : "no");

	/* The fd link names the same inode. */
	char path[64], link[64], want[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", l);
	ssize_t n = readlink(path, link, sizeof link - 1);
	link[n < 0 ? 0 : n] = 0;
	snprintf(want, sizeof want, "socket:[%lu]", inode_of(l));
	yesno("fd link names the listener's inode", strcmp(link, want) == 0);
	close(l);
	close(l6);
	close(u);
	close(unbound);
}

/* unix_sockets finds a socketpair in /proc/net/unix. */
static void unix_sockets(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	char *text = slurp("/proc/net/unix");
	char *save = NULL;
	int first = 1;
	/* Linux lists sockets in hash order: the ends are printed after. */
	char found[2][128] = {"not found", "not found"};
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (first) {
			printf("unix header: %s\n", l);
			first = 0;
			continue;
		}
		unsigned refs, proto, flags, type, st;
		unsigned long inode;
		if (sscanf(l, "%*x: %X %X %X %X %X %lu", &refs, &proto, &flags, &type, &st, &inode) != 6)
			continue;
		for (int i = 0; i < 2; i++)
			if (inode == inode_of(sv[i]))
				snprintf(found[i], sizeof found[i], "protocol %08X flags %08X type %04X st %02X",
					 proto, flags, type, st);
	}
	for (int i = 0; i < 2; i++)
		printf("socketpair end %d: %s\n", i, found[i]);
	free(text);
	close(sv[0]);
	close(sv[1]);
}

static void interfaces(void)
{
	char *dev = slurp("/proc/net/dev");
	char *save = NULL;
	int line = 0, lo = 0;
	for (char *l = strtok_r(dev, "\n", &save); l; l = strtok_r(NULL, "\n", &save), line++) {
		if (line < 2)
			printf("dev header: %s\n", l);
		else if (strncmp(l, "    lo: ", 8) == 0)
			lo++;
	}
	printf("lo lines in /proc/net/dev: %d\n", lo);
	free(dev);

	char *inet6 = slurp("/proc/net/if_inet6");
	save = NULL;
	for (char *l = strtok_r(inet6, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "00000000000000000000000000000001 ", 33) == 0)
			printf("if_inet6 ::1: %s\n", l);
	free(inet6);

	char *route = slurp("/proc/net/route");
	printf("route header: %.*s|\n", (int)strcspn(route, "\n"), route);
	free(route);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char link[64];
	ssize_t n = readlink("/proc/net", link, sizeof link - 1);
	if (n < 0)
		die("readlink /proc/net");
	link[n] = 0;
	printf("/proc/net -> %s\n", link);
	struct stat a, b;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/net/dev", getpid());
	if (stat("/proc/net/dev", &a) < 0 || stat(path, &b) < 0)
		die("stat");
	printf("/proc/net/dev: mode %o uid %u\n", a.st_mode, a.st_uid);
	yesno("/proc/PID/net/dev is the same file", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	sockets();
	unix_sockets();
	interfaces();
	return 0;
}
