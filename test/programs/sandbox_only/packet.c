/*
 * packet: AF_PACKET sockets on the sandbox's Ethernet interface, driven
 * by TestSandboxNetworkPacket (test/network_test.go) from the host's end
 * of a veth. Arguments: the interface, the host's address, the sandbox's
 * address, the host's UDP port.
 *
 * The host sends UDP datagrams "hello from the host" to the sandbox's
 * port 7777 until it has the two this program sends back to its port
 * from port 7778: one written as a whole Ethernet frame on a SOCK_RAW
 * socket, one as an IP datagram on a SOCK_DGRAM socket, to the host's
 * hardware address as the first frame told it. A socket with a
 * TPACKET_V2 receive ring, mapped, finds the host's datagram in a slot.
 * Needs CAP_NET_RAW. Never run natively: it would capture on one of the
 * host's interfaces.
 */
#include "../common.h"
#include "report.h"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SANDBOX_PORT 7777
#define REPLY_PORT 7778

static const char hello[] = "hello from the host";
static struct in_addr host_ip, our_ip;

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return sum;
}

/* udp4 writes an IPv4 UDP datagram with its checksums into b. */
static size_t udp4(uint8_t *b, struct in_addr src, struct in_addr dst, int sport, int dport, const char *payload)
{
	size_t plen = strlen(payload), len = 20 + 8 + plen;
	memset(b, 0, 28);
	b[0] = 0x45;
	b[2] = len >> 8, b[3] = len;
	b[8] = 64;
	b[9] = IPPROTO_UDP;
	memcpy(b + 12, &src, 4);
	memcpy(b + 16, &dst, 4);
	uint16_t c = ~sum16(0, b, 20);
	b[10] = c >> 8, b[11] = c;
	uint8_t *u = b + 20;
	u[0] = sport >> 8, u[1] = sport;
	u[2] = dport >> 8, u[3] = dport;
	u[4] = (8 + plen) >> 8, u[5] = 8 + plen;
	memcpy(u + 8, payload, plen);
	uint8_t pseudo[12] = {0};
	memcpy(pseudo, &src, 4);
	memcpy(pseudo + 4, &dst, 4);
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = (8 + plen) >> 8, pseudo[11] = 8 + plen;
	c = ~sum16(sum16(0, pseudo, 12), u, 8 + plen);
	u[6] = c >> 8, u[7] = c;
	return len;
}

/*
 * is_hello reports whether ip (n bytes) is the host's datagram: IPv4 UDP
 * from the host to us, port 7777, "hello from the host".
 */
static int is_hello(const uint8_t *ip, size_t n)
{
	if (n < 28 || ip[0] != 0x45 || ip[9] != IPPROTO_UDP)
		return 0;
	if (memcmp(ip + 12, &host_ip, 4) || memcmp(ip + 16, &our_ip, 4))
		return 0;
	const uint8_t *u = ip + 20;
	if ((u[2] << 8 | u[3]) != SANDBOX_PORT)
		return 0;
	return n == 28 + strlen(hello) && !memcmp(u + 8, hello, strlen(hello));
}

/*
 * next_hello receives on fd until the host's datagram comes (at offset
 * off of the frame), skipping the other frames (ARP, ICMP, our own
 * answers); it returns the frame's length, 0 when the receive timed out.
 */
static ssize_t next_hello(int fd, size_t off, uint8_t *buf, size_t size, struct sockaddr_ll *from, socklen_t *fromlen)
{
	for (;;) {
		*fromlen = sizeof *from;
		ssize_t n = recvfrom(fd, buf, size, 0, (struct sockaddr *)from, fromlen);
		if (n < 0) {
			line("receive: errno %s", errname(errno));
			return 0;
		}
		if ((size_t)n > off && is_hello(buf + off, n - off))
			return n;
	}
}

static void timeout(int fd)
{
	struct timeval tv = {20, 0};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
		die("SO_RCVTIMEO");
}

static int packet_socket(int type, int proto, int ifindex)
{
	int fd = socket(AF_PACKET, type | SOCK_CLOEXEC, htons(proto));
	if (fd < 0)
		die("socket(AF_PACKET)");
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
		die("bind(AF_PACKET)");
	timeout(fd);
	return fd;
}

/*
 * The receive ring: TPACKET_V2, 4 bytes reserved before each frame, 8
 * blocks of a page, two frames each.
 */
#define RING_BLOCK 4096
#define RING_BLOCKS 8
#define RING_FRAME 2048
#define RING_FRAMES (RING_BLOCKS * RING_BLOCK / RING_FRAME)

static int ring_socket(int ifindex, uint8_t **ring)
{
	int fd = packet_socket(SOCK_RAW, ETH_P_IP, ifindex);
	int v = TPACKET_V3;
	socklen_t len = sizeof v;
	expect_err("PACKET_HDRLEN of TPACKET_V3", getsockopt(fd, SOL_PACKET, PACKET_HDRLEN, &v, &len));
	expect_err("PACKET_VERSION TPACKET_V3", setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v));
	v = TPACKET_V2;
	TRY("PACKET_HDRLEN of TPACKET_V2", getsockopt(fd, SOL_PACKET, PACKET_HDRLEN, &v, &len));
	line("TPACKET_V2 header: %d bytes", v);
	v = TPACKET_V2;
	TRY("PACKET_VERSION TPACKET_V2", setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v));
	v = 4;
	TRY("PACKET_RESERVE", setsockopt(fd, SOL_PACKET, PACKET_RESERVE, &v, sizeof v));
	struct tpacket_req bad = {RING_BLOCK, RING_BLOCKS, RING_FRAME, RING_FRAMES - 1};
	expect_err("PACKET_RX_RING of a wrong frame count", setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &bad, sizeof bad));
	struct tpacket_req req = {RING_BLOCK, RING_BLOCKS, RING_FRAME, RING_FRAMES};
	TRY("PACKET_RX_RING", setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req));
	expect_err("PACKET_RX_RING again", setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req));
	errno = 0;
	void *p = mmap(NULL, RING_BLOCK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	expect_err("mmap of less than the ring", p == MAP_FAILED ? -1 : 0);
	p = mmap(NULL, RING_BLOCK * RING_BLOCKS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	line("mmap of the ring: %s", p == MAP_FAILED ? errname(errno) : "ok");
	if (p == MAP_FAILED)
		exit(1);
	*ring = p;
	return fd;
}

/*
 * ring_hello waits for the ring to be readable, then looks through its
 * slots for the host's datagram, handing every slot back, and reports
 * what the slot's header says of it.
 */
static void ring_hello(int fd, uint8_t *ring, int ifindex, const uint8_t *host_mac)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	line("ring: poll readable: %s", poll(&p, 1, 20000) == 1 && p.revents == POLLIN ? "yes" : "no");
	int found = 0;
	for (int i = 0; i < RING_FRAMES; i++) {
		struct tpacket2_hdr *h = (void *)(ring + i / (RING_BLOCK / RING_FRAME) * RING_BLOCK + i % (RING_BLOCK / RING_FRAME) * RING_FRAME);
		uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
		if (!(status & TP_STATUS_USER))
			continue;
		struct sockaddr_ll *sll = (void *)((uint8_t *)h + TPACKET_ALIGN(sizeof *h));
		uint8_t *frame = (uint8_t *)h + h->tp_mac;
		if (!found && h->tp_snaplen > 14 && is_hello(frame + 14, h->tp_snaplen - 14)) {
			found = 1;
			long age = time(NULL) - (long)h->tp_sec;
			line("ring: status %#x, tp_len %s tp_snaplen, tp_mac %u, tp_net %u, stamped now %s, VLAN %u %u", status, h->tp_len == h->tp_snaplen ? "==" : "!=", h->tp_mac, h->tp_net, age >= 0 && age < 30 ? "yes" : "no",
			     h->tp_vlan_tci, h->tp_vlan_tpid);
			line("ring: address family %d, protocol %#x, our interface %s, hatype %d, pkttype %d, halen %d, the host's %s",
			     sll->sll_family, ntohs(sll->sll_protocol), sll->sll_ifindex == ifindex ? "yes" : "no", sll->sll_hatype,
			     sll->sll_pkttype, sll->sll_halen, memcmp(sll->sll_addr, host_mac, 6) ? "no" : "yes");
		}
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	}
	line("ring: the host's datagram: %s", found ? "yes" : "no");
	struct tpacket_req none = {0};
	expect_err("PACKET_RX_RING teardown while mapped", setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &none, sizeof none));
	TRY("munmap of the ring", munmap(ring, RING_BLOCK * RING_BLOCKS));
	TRY("PACKET_RX_RING teardown", setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &none, sizeof none));
}

/* drop_net_raw takes CAP_NET_RAW out of the calling process's sets. */
static void drop_net_raw(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		die("capget");
	d[0].effective &= ~(1u << CAP_NET_RAW);
	d[0].permitted &= ~(1u << CAP_NET_RAW);
	if (syscall(SYS_capset, &h, d) < 0)
		die("capset");
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: packet IFNAME HOST-IP OUR-IP HOST-PORT\n");
		return 2;
	}
	const char *ifname = argv[1];
	if (inet_pton(AF_INET, argv[2], &host_ip) != 1 || inet_pton(AF_INET, argv[3], &our_ip) != 1)
		die("inet_pton");
	int host_port = atoi(argv[4]);

	/* The interface, asked of a packet socket (the netdevice ioctls). */
	int raw = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (raw < 0)
		die("socket(AF_PACKET, SOCK_RAW)");
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	TRY("SIOCGIFINDEX on a packet socket", ioctl(raw, SIOCGIFINDEX, &ifr));
	int ifindex = ifr.ifr_ifindex;
	line("if_nametoindex agrees: %s", if_nametoindex(ifname) == (unsigned)ifindex ? "yes" : "no");
	TRY("SIOCGIFHWADDR on a packet socket", ioctl(raw, SIOCGIFHWADDR, &ifr));
	uint8_t our_mac[6], host_mac[6];
	memcpy(our_mac, ifr.ifr_hwaddr.sa_data, 6);
	line("hardware type: %d", ifr.ifr_hwaddr.sa_family);

	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};
	TRY("bind SOCK_RAW to the interface", bind(raw, (struct sockaddr *)&sll, sizeof sll));
	timeout(raw);
	struct sockaddr_ll name;
	socklen_t namelen = sizeof name;
	memset(&name, 0xaa, sizeof name);
	TRY("getsockname", getsockname(raw, (struct sockaddr *)&name, &namelen));
	line("name: length %u, family %d, protocol %#x, our interface %s, hatype %d, halen %d, our address %s",
	     namelen, name.sll_family, ntohs(name.sll_protocol), name.sll_ifindex == ifindex ? "yes" : "no",
	     name.sll_hatype, name.sll_halen, memcmp(name.sll_addr, our_mac, 6) ? "no" : "yes");

	int cooked = packet_socket(SOCK_DGRAM, ETH_P_IP, ifindex);
	/* A filter keeping IPv4 UDP to port 7777 alone. */
	int filtered = packet_socket(SOCK_RAW, ETH_P_ALL, ifindex);
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 5),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 3),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_PORT, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
	};
	struct sock_fprog fprog = {sizeof prog / sizeof prog[0], prog};
	TRY("SO_ATTACH_FILTER", setsockopt(filtered, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog));
	/* SO_GET_FILTER counts in instructions: 0 asks for the count. */
	socklen_t flen = 0;
	TRY("SO_GET_FILTER of the count", getsockopt(filtered, SOL_SOCKET, SO_GET_FILTER, NULL, &flen));
	struct sock_filter back[16];
	socklen_t blen = 16;
	TRY("SO_GET_FILTER", getsockopt(filtered, SOL_SOCKET, SO_GET_FILTER, back, &blen));
	line("filter: %u instructions, read back the same: %s", flen, blen == flen && !memcmp(back, prog, sizeof prog) ? "yes" : "no");
	uint8_t *ring;
	int ringfd = ring_socket(ifindex, &ring);
	int unused = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(0x88b5));
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(SANDBOX_PORT)};
	if (udp < 0 || bind(udp, (struct sockaddr *)&sin, sizeof sin) < 0)
		die("udp socket");
	timeout(udp);
	line("ready");

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, raw, &ev) < 0)
		die("epoll");
	line("epoll: SOCK_RAW readable: %s", epoll_wait(ep, &ev, 1, 20000) == 1 && ev.events == EPOLLIN ? "yes" : "no");

	uint8_t buf[2048];
	struct sockaddr_ll from;
	socklen_t fromlen;
	ssize_t n = next_hello(raw, 14, buf, sizeof buf, &from, &fromlen);
	if (n == 0)
		return 1;
	memcpy(host_mac, buf + 6, 6);
	line("SOCK_RAW: the host's datagram, IP and UDP headers and payload: yes");
	line("SOCK_RAW: Ethernet destination ours: %s, type %#x", memcmp(buf, our_mac, 6) ? "no" : "yes", buf[12] << 8 | buf[13]);
	line("SOCK_RAW: from length %u, family %d, protocol %#x, our interface %s, hatype %d, pkttype %d, halen %d, the frame's source %s",
	     fromlen, from.sll_family, ntohs(from.sll_protocol), from.sll_ifindex == ifindex ? "yes" : "no", from.sll_hatype,
	     from.sll_pkttype, from.sll_halen, memcmp(from.sll_addr, host_mac, 6) ? "no" : "yes");

	ring_hello(ringfd, ring, ifindex, host_mac);

	n = next_hello(cooked, 0, buf, sizeof buf, &from, &fromlen);
	if (n == 0)
		return 1;
	line("SOCK_DGRAM: the host's datagram from its IP header: yes");
	line("SOCK_DGRAM: from protocol %#x, pkttype %d, the host's address %s", ntohs(from.sll_protocol), from.sll_pkttype,
	     memcmp(from.sll_addr, host_mac, 6) ? "no" : "yes");

	ssize_t whole = recv(filtered, buf, 4, MSG_PEEK | MSG_TRUNC);
	fromlen = sizeof from;
	n = recvfrom(filtered, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
	line("filtered: MSG_PEEK|MSG_TRUNC into 4 bytes gave the frame's length: %s", whole == n ? "yes" : "no");
	line("filtered: first frame the host's datagram: %s", n > 14 && is_hello(buf + 14, n - 14) ? "yes" : "no");
	struct tpacket_stats st;
	socklen_t stlen = sizeof st;
	TRY("PACKET_STATISTICS", getsockopt(filtered, SOL_PACKET, PACKET_STATISTICS, &st, &stlen));
	line("filtered: counted: %s", st.tp_packets >= 1 ? "yes" : "no");

	n = recv(udp, buf, sizeof buf, 0);
	line("UDP socket: %.*s", n > 0 ? (int)n : 0, (char *)buf);
	errno = 0;
	n = recv(unused, buf, sizeof buf, 0);
	line("non-blocking receive with nothing queued: %s", n < 0 ? errname(errno) : "data");

	/* The answers: a whole frame, then a datagram the kernel frames. */
	memcpy(buf, host_mac, 6);
	memcpy(buf + 6, our_mac, 6);
	buf[12] = ETH_P_IP >> 8, buf[13] = ETH_P_IP & 0xff;
	size_t len = 14 + udp4(buf + 14, our_ip, host_ip, REPLY_PORT, host_port, "raw from the sandbox");
	sll = (struct sockaddr_ll){.sll_family = AF_PACKET, .sll_ifindex = ifindex};
	n = sendto(raw, buf, len, 0, (struct sockaddr *)&sll, sizeof sll);
	line("send of a frame on SOCK_RAW: %s", n == (ssize_t)len ? "whole" : errname(errno));
	len = udp4(buf, our_ip, host_ip, REPLY_PORT, host_port, "cooked from the sandbox");
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, host_mac, 6);
	n = sendto(cooked, buf, len, 0, (struct sockaddr *)&sll, sizeof sll);
	line("send of a datagram on SOCK_DGRAM: %s", n == (ssize_t)len ? "whole" : errname(errno));

	/* What is refused. */
	errno = 0;
	expect_err("socket(AF_PACKET, SOCK_STREAM)", socket(AF_PACKET, SOCK_STREAM, 0));
	struct tpacket_req req = {4096, 4, 2048, 8};
	expect_err("PACKET_TX_RING", setsockopt(raw, SOL_PACKET, PACKET_TX_RING, &req, sizeof req));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		drop_net_raw();
		expect_err("socket(AF_PACKET) without CAP_NET_RAW", socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
		expect_err("socket(AF_PACKET, SOCK_DGRAM) without CAP_NET_RAW", socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP)));
		fflush(stdout);
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || status != 0)
		die("waitpid");
	line("done");
	return 0;
}
