/*
 * Helpers shared by the AF_INET/AF_INET6 programs (inet_tcp.c,
 * inet_udp.c): loopback addresses of either family, what an address is
 * (never its numbers: natively the host's ports and interfaces show
 * through), poll bits, and waiting for readiness with a deadline.
 *
 * Natively these programs share the host's loopback with everything else
 * on it, several copies at once (link variants, repeated runs): they bind
 * port 0 and learn the port with getsockname (or rebind, with
 * SO_REUSEADDR, a port they already hold), never a fixed port.
 */
#ifndef MAGAWA_TEST_INET_H
#define MAGAWA_TEST_INET_H

#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* WAIT_MS bounds every wait for something the loopback delivers
 * asynchronously: generous, since only a failure ever waits that long. */
#define WAIT_MS 3000

static inline const char *famname(int af)
{
	return af == AF_INET ? "IPv4" : af == AF_INET6 ? "IPv6" : "AF_?";
}

/* sa_famname names the family of an address as seen by the program. */
static inline const char *sa_famname(const struct sockaddr_storage *ss)
{
	switch (ss->ss_family) {
	case AF_INET:
		return "AF_INET";
	case AF_INET6:
		return "AF_INET6";
	case AF_UNSPEC:
		return "AF_UNSPEC";
	}
	return "AF_?";
}

/* lo_addr fills ss with the loopback address of af (127.0.0.1 or ::1)
 * and port, and returns its length. */
static inline socklen_t lo_addr(int af, struct sockaddr_storage *ss, uint16_t port)
{
	memset(ss, 0, sizeof *ss);
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof *a;
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	a->sin6_addr = in6addr_loopback;
	return sizeof *a;
}

/* any_addr fills ss with the wildcard address of af and port. */
static inline socklen_t any_addr(int af, struct sockaddr_storage *ss, uint16_t port)
{
	socklen_t len = lo_addr(af, ss, port);
	if (af == AF_INET)
		((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_ANY);
	else
		((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_any;
	return len;
}

/* mapped_addr fills ss with ::ffff:127.0.0.1 and port (an AF_INET6
 * address naming IPv4's loopback). */
static inline socklen_t mapped_addr(struct sockaddr_storage *ss, uint16_t port)
{
	socklen_t len = lo_addr(AF_INET6, ss, port);
	struct in6_addr *a = &((struct sockaddr_in6 *)ss)->sin6_addr;
	memset(a, 0, sizeof *a);
	a->s6_addr[10] = a->s6_addr[11] = 0xff;
	a->s6_addr[12] = 127;
	a->s6_addr[15] = 1;
	return len;
}

static inline uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/* is_loopback: 127.0.0.0/8 or ::1 (not the v4-mapped form). */
static inline int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return 0;
}

/* is_mapped_loopback: ::ffff:127.x.y.z. */
static inline int is_mapped_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family != AF_INET6)
		return 0;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}

static inline int is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return 0;
}

/* addr_kind says what an address is: "loopback", "v4-mapped loopback",
 * "any" or "other". */
static inline const char *addr_kind(const struct sockaddr_storage *ss)
{
	if (is_loopback(ss))
		return "loopback";
	if (is_mapped_loopback(ss))
		return "v4-mapped loopback";
	if (is_any(ss))
		return "any";
	return "other";
}

/* name_of returns getsockname (peer 0) or getpeername (peer 1) of fd in
 * ss, or -1 with errno. */
static inline int name_of(int fd, int peer, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0x55, sizeof *ss);
	*len = sizeof *ss;
	return peer ? getpeername(fd, (struct sockaddr *)ss, len) : getsockname(fd, (struct sockaddr *)ss, len);
}

/* local_port is fd's bound port (0 when unbound or on error). */
static inline uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (name_of(fd, 0, &ss, &len) < 0)
		return 0;
	return port_of(&ss);
}

/* section starts a section of the output, for one family. */
static inline void section(int af, const char *what)
{
	printf("== %s: %s\n", famname(af), what);
}

/* bind_lo binds fd to the loopback of af at port. */
static inline int bind_lo(int fd, int af, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = lo_addr(af, &ss, port);
	return bind(fd, (struct sockaddr *)&ss, len);
}

/* connect_lo connects fd to the loopback of af at port. */
static inline int connect_lo(int fd, int af, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = lo_addr(af, &ss, port);
	return connect(fd, (struct sockaddr *)&ss, len);
}

/* lo_socket returns a socket of af and type bound to the loopback's
 * port 0 (dying if it cannot). */
static inline int lo_socket(int af, int type)
{
	int s = socket(af, type, 0);
	if (s < 0)
		die("socket");
	if (bind_lo(s, af, 0) < 0)
		die("bind");
	return s;
}

/*
 * describe prints fd's name (peer 0) or its peer's (peer 1): length,
 * family, what the address is, and whether the port equals want (when
 * want is nonzero) or is nonzero at all (when it is 0). Never numbers.
 */
static inline void describe(const char *what, int fd, int peer, uint16_t want)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (name_of(fd, peer, &ss, &len) < 0) {
		printf("%s: errno %s\n", what, errname(errno));
		return;
	}
	uint16_t port = port_of(&ss);
	printf("%s: len %u %s %s, port %s\n", what, len, sa_famname(&ss), addr_kind(&ss),
	       want ? (port == want ? "matches" : "DIFFERS") : (port ? "nonzero" : "0"));
}

/* describe_from is describe for an address a call returned. */
static inline void describe_from(const char *what, const struct sockaddr_storage *ss, socklen_t len, uint16_t want)
{
	uint16_t port = port_of(ss);
	printf("%s: len %u %s %s, port %s\n", what, len, sa_famname(ss), addr_kind(ss),
	       want ? (port == want ? "matches" : "DIFFERS") : (port ? "nonzero" : "0"));
}

/* pollbits prints the poll bits of fd among IN, OUT, ERR, HUP, RDHUP at
 * this instant. */
static inline void pollbits(const char *what, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP};
	if (poll(&p, 1, 0) < 0)
		die("poll");
	printf("%s:%s%s%s%s%s%s\n", what, p.revents ? "" : " none", p.revents & POLLIN ? " IN" : "",
	       p.revents & POLLOUT ? " OUT" : "", p.revents & POLLERR ? " ERR" : "",
	       p.revents & POLLHUP ? " HUP" : "", p.revents & POLLRDHUP ? " RDHUP" : "");
}

static inline long ms_since(const struct timespec *t0);

/* wait_for polls fd until one of events is reported (events may name
 * POLLERR and POLLHUP too) or WAIT_MS pass, and returns the last revents
 * (0 on timeout). The loopback delivers asynchronously: a check of what
 * arrived must first wait for it to arrive. */
static inline int wait_for(int fd, short events)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = WAIT_MS - ms_since(&t0);
		if (left < 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno != EINTR)
			die("poll");
		if (r == 0)
			return 0;
		if (r > 0 && (p.revents & (events | POLLNVAL)))
			return p.revents;
		/* Something else (ERR, HUP) is up but not what we wait for. */
		usleep(1000);
	}
}

static inline long ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* getint returns an int socket option, or -1000 - errno on failure
 * (printed through optval). */
static inline int getint(int fd, int level, int opt)
{
	int v = -7;
	socklen_t l = sizeof v;
	if (getsockopt(fd, level, opt, &v, &l) < 0)
		return -1000 - errno;
	return v;
}

/* optval prints an int option as "name: value" or "name: errno NAME". */
static inline void optval(const char *what, int fd, int level, int opt)
{
	int v = getint(fd, level, opt);
	if (v <= -1000)
		printf("%s: errno %s\n", what, errname(-1000 - v));
	else
		printf("%s: %d\n", what, v);
}

#endif
