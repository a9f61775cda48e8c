/*
 * inet_cmsg: ancillary data of UDP datagrams on the loopback, IPv4 and
 * IPv6: what a receiver asks for (IP_PKTINFO, IP_RECVTTL, IP_RECVTOS;
 * IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS) comes in Linux's
 * order; what a sender asks of one datagram (IP_TTL, IP_TOS;
 * IPV6_HOPLIMIT, IPV6_TCLASS) is what the receiver sees; control
 * buffers too small are cut as put_cmsg() cuts them (MSG_CTRUNC,
 * cmsg_len of the part that fit); malformed records are refused.
 */
#include "common.h"
#include "inet.h"
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void print_cmsgs(struct msghdr *m)
{
	printf("  flags:%s%s\n", m->msg_flags & MSG_CTRUNC ? " CTRUNC" : "", m->msg_flags & MSG_TRUNC ? " TRUNC" : "");
	printf("  controllen: %zu\n", (size_t)m->msg_controllen);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		printf("  cmsg level %d type %d len %zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
		size_t n = c->cmsg_len > CMSG_LEN(0) ? c->cmsg_len - CMSG_LEN(0) : 0;
		unsigned char *d = CMSG_DATA(c);
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && n >= sizeof(struct in_pktinfo)) {
			struct in_pktinfo pi;
			memcpy(&pi, d, sizeof pi);
			printf(": ifindex %d, dst loopback %s", pi.ipi_ifindex, pi.ipi_addr.s_addr == htonl(INADDR_LOOPBACK) ? "yes" : "no");
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && n >= sizeof(struct in6_pktinfo)) {
			struct in6_pktinfo pi;
			memcpy(&pi, d, sizeof pi);
			printf(": ifindex %d, dst loopback %s", pi.ipi6_ifindex, IN6_IS_ADDR_LOOPBACK(&pi.ipi6_addr) ? "yes" : "no");
		} else if (n == 4) {
			int v;
			memcpy(&v, d, 4);
			printf(": %d", v);
		} else if (n == 1) {
			printf(": %d", d[0]);
		} else {
			printf(": %zu bytes", n);
		}
		printf("\n");
	}
}

/* receive reads one datagram with a control buffer of space bytes. */
static void receive(const char *what, int s, size_t space)
{
	char buf[64];
	union {
		char b[256];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct iovec iov = {buf, sizeof buf};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = space ? ctl.b : NULL, .msg_controllen = space};
	ssize_t n = recvmsg(s, &m, 0);
	if (n < 0) {
		printf("%s: recvmsg: errno %s\n", what, errname(errno));
		return;
	}
	printf("%s: %zd bytes\n", what, n);
	print_cmsgs(&m);
}

/* send_with sends "x" from c to s with one control message. */
static void send_with(const char *what, int c, int level, int type, const void *val, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct iovec iov = {"x", 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = CMSG_SPACE(len)};
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = level;
	h->cmsg_type = type;
	h->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(h), val, len);
	show(what, sendmsg(c, &m, 0));
}

static void family(int af)
{
	printf("== %s\n", af == AF_INET ? "IPv4" : "IPv6");
	int s = lo_socket(af, SOCK_DGRAM), c = socket(af, SOCK_DGRAM, 0), one = 1;
	if (c < 0 || connect_lo(c, af, local_port(s)) < 0)
		die("connect");
	int v4 = af == AF_INET;
	int lvl = v4 ? IPPROTO_IP : IPPROTO_IPV6;
	show("ask for packet info", setsockopt(s, lvl, v4 ? IP_PKTINFO : IPV6_RECVPKTINFO, &one, sizeof one));
	show("ask for the TTL/hop limit", setsockopt(s, lvl, v4 ? IP_RECVTTL : IPV6_RECVHOPLIMIT, &one, sizeof one));
	show("ask for the TOS/traffic class", setsockopt(s, lvl, v4 ? IP_RECVTOS : IPV6_RECVTCLASS, &one, sizeof one));
	int got = 0;
	socklen_t gl = sizeof got;
	getsockopt(s, lvl, v4 ? IP_RECVTTL : IPV6_RECVHOPLIMIT, &got, &gl);
	printf("the option reads back: %d\n", got);

	show("plain send", send(c, "x", 1, 0));
	receive("all three", s, 256);

	int ttl = 7, tos = 0x20;
	send_with("send with a TTL/hop limit of 7", c, lvl, v4 ? IP_TTL : IPV6_HOPLIMIT, &ttl, sizeof ttl);
	receive("its ancillary data", s, 256);
	send_with("send with a TOS/traffic class of 0x20", c, lvl, v4 ? IP_TOS : IPV6_TCLASS, &tos, sizeof tos);
	receive("its ancillary data", s, 256);

	/* Buffers too small for all of it: the first message alone, its
	 * header only, a part of it, nothing. */
	size_t first = v4 ? CMSG_SPACE(sizeof(struct in_pktinfo)) : CMSG_SPACE(sizeof(struct in6_pktinfo));
	size_t sizes[] = {first, CMSG_LEN(0), CMSG_LEN(0) + 2, 8, 0};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		send(c, "x", 1, 0);
		char what[64];
		snprintf(what, sizeof what, "control buffer of %zu", sizes[i]);
		receive(what, s, sizes[i]);
	}

	int bad = 300;
	send_with("a TTL/hop limit of 300", c, lvl, v4 ? IP_TTL : IPV6_HOPLIMIT, &bad, sizeof bad);
	send_with("a record of another family", c, v4 ? IPPROTO_IPV6 : IPPROTO_IP, v4 ? IPV6_HOPLIMIT : IP_TTL, &ttl, sizeof ttl);
	send_with("SCM_RIGHTS on an Internet socket", c, SOL_SOCKET, SCM_RIGHTS, &s, sizeof s);
	close(s);
	close(c);
}

int main(void)
{
	family(AF_INET);
	family(AF_INET6);
	return 0;
}
