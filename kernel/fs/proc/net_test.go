package proc

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	unixsock "magawa/kernel/ipc/unix"
	"magawa/kernel/net/inet"
	"magawa/kernel/socket"
	"magawa/kernel/vfs"
)

// What Linux 6.18 shows in a new network namespace with lo up
// (`unshare -n sh -c 'ip link set lo up; cat /proc/net/...'`): the
// sandbox's stack with nothing open must show the same, except the
// reference counts of ipv6_route (normalized by refcounts1).
var linuxFreshNamespace = map[string]string{
	"dev": "Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
		"    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n",
	"if_inet6": "00000000000000000000000000000001 01 80 10 80       lo\n",
	"route":    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       \n",
	"ipv6_route": "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n" +
		"00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n" +
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n",
	"tcp":  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     \n",
	"udp":  "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            \n",
	"tcp6": "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
	"udp6": "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
	"unix": "Num       RefCount Protocol Flags    Type St Inode Path\n",
}

// refcounts1 sets ipv6_route's reference counts to 1: they count the
// kernel's holders of a route.
func refcounts1(s string) string {
	return regexp.MustCompile(`(?m)^((?:\S+ ){6})[0-9a-f]{8}`).ReplaceAllString(s, "${1}00000001")
}

func TestNetDirectory(t *testing.T) {
	w := newWorld(t)
	p := w.addProcess(1000, 1, 2)
	ctx := w.ctxOf(p.threads[0])
	if got, err := w.readlink(ctx, "/proc/net"); err != nil || got != "self/net" {
		t.Errorf("/proc/net -> %q, %v; want self/net", got, err)
	}
	if !slices.Contains(w.list(ctx, "/proc"), "net") {
		t.Error("/proc does not list net")
	}
	if !slices.Contains(w.list(ctx, "/proc/1"), "net") || !slices.Contains(w.list(ctx, "/proc/1/task/2"), "net") {
		t.Error("a process or thread directory lacks net")
	}
	want := []string{".", "..", "dev", "tcp", "udp", "tcp6", "udp6", "unix", "route", "if_inet6", "ipv6_route"}
	for _, dir := range []string{"/proc/net", "/proc/self/net", "/proc/1/task/2/net"} {
		if got := w.list(ctx, dir); !slices.Equal(got, want) {
			t.Errorf("%s lists %q, want %q", dir, got, want)
		}
	}
	// The directory and its files are root's, read-only for all,
	// whoever the process is.
	for name, mode := range map[string]uint16{"/proc/1/net": unix.S_IFDIR | 0o555, "/proc/1/net/tcp": unix.S_IFREG | 0o444} {
		pth, err := w.k.v.Resolve(ctx, w.root, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		st, err := pth.Stat(ctx, unix.STATX_BASIC_STATS)
		if err != nil || st.Uid != 0 || st.Mode != mode {
			t.Errorf("%s: uid %d mode %o, %v; want uid 0 mode %o", name, st.Uid, st.Mode, err, mode)
		}
	}
	if err := w.write(ctx, "/proc/net/dev", "x"); err != unix.EACCES {
		t.Errorf("writing /proc/net/dev: %v, want EACCES", err)
	}
	w.k.mu.Lock()
	p.reaped = true
	delete(w.k.procs, 1)
	w.k.mu.Unlock()
	q := w.addProcess(0, 5)
	if _, err := w.tryRead(w.ctxOf(q.threads[0]), "/proc/1/net/dev"); err != unix.ENOENT {
		t.Errorf("a reaped process's net/dev: %v, want ENOENT", err)
	}
}

func TestNetFreshStack(t *testing.T) {
	w := newWorld(t)
	ctx := w.ctxOf(w.addProcess(0, 1).threads[0])
	for name, want := range linuxFreshNamespace {
		got := w.read(ctx, "/proc/net/"+name)
		if name == "ipv6_route" {
			got, want = refcounts1(got), refcounts1(want)
		}
		if got != want {
			t.Errorf("%s:\n%q\nwant (Linux)\n%q", name, got, want)
		}
	}
}

// TestNetHostLike gives the stack the interfaces, addresses and routes
// of a host (a podman machine) and compares with what its Linux showed.
func TestNetHostLike(t *testing.T) {
	w := newWorld(t)
	ctx := w.ctxOf(w.addProcess(0, 1).threads[0])
	st, err := w.k.network()
	if err != nil {
		t.Fatal(err)
	}
	up := uint32(unix.IFF_UP | unix.IFF_RUNNING)
	st.ifcs = []inet.Interface{
		{Index: 1, Name: "lo", Flags: up | unix.IFF_LOOPBACK},
		{Index: 4, Name: "eth0", Flags: up | unix.IFF_BROADCAST},
		{Index: 9, Name: "down0", Flags: unix.IFF_BROADCAST},
		{Index: 0x34, Name: "cni-podman0", Flags: up | unix.IFF_BROADCAST},
	}
	pfx := netip.MustParsePrefix
	st.addrs = []inet.InterfaceAddress{
		{Index: 1, Prefix: pfx("127.0.0.1/8")}, {Index: 1, Prefix: pfx("::1/128")},
		{Index: 4, Prefix: pfx("192.0.2.2/24")}, {Index: 4, Prefix: pfx("fd00::2/64")},
		{Index: 4, Prefix: pfx("fe80::fc:ff:fe00:1/64")},
		{Index: 9, Prefix: pfx("198.51.100.1/24")},
		{Index: 0x34, Prefix: pfx("10.88.0.1/16")}, {Index: 0x34, Prefix: pfx("fe80::ecf7:30ff:fe14:bf0e/64")},
	}
	// The routes as netstack holds them: each address's subnet, then
	// the routes given.
	st.routes = []inet.Route{
		{Dst: pfx("127.0.0.0/8"), Index: 1}, {Dst: pfx("::1/128"), Index: 1},
		{Dst: pfx("192.0.2.0/24"), Index: 4}, {Dst: pfx("fd00::/64"), Index: 4}, {Dst: pfx("fe80::/64"), Index: 4},
		{Dst: pfx("198.51.100.0/24"), Index: 9},
		{Dst: pfx("10.88.0.0/16"), Index: 0x34}, {Dst: pfx("fe80::/64"), Index: 0x34},
		{Dst: pfx("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.1"), Index: 4},
		{Dst: pfx("::/0"), Gateway: netip.MustParseAddr("fd00::1"), Index: 4},
	}
	st.stats = map[int32]inet.InterfaceStats{
		1:    {RxBytes: 17977966075, RxPackets: 726049, TxBytes: 17977966075, TxPackets: 726049},
		4:    {RxBytes: 182103994, RxPackets: 8932, TxBytes: 802333, TxPackets: 8970},
		0x34: {RxBytes: 1878, RxPackets: 24, RxMulticast: 10, TxBytes: 1914, TxPackets: 23, TxDropped: 2},
	}
	for name, want := range map[string]string{
		"route": "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       \n" +
			"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0                                                                               \n" +
			"cni-podman0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0                                                                        \n" +
			"eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                                                                               \n",
		"ipv6_route": "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0\n" +
			"fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n" +
			"fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 cni-podman0\n" +
			"00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0\n" +
			"00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000004 00000000 80200001       lo\n" +
			"fd000000000000000000000000000002 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000005 00000000 80200001     eth0\n" +
			"fe8000000000000000fc00fffe000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000004 00000000 80200001     eth0\n" +
			"fe80000000000000ecf730fffe14bf0e 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001 cni-podman0\n" +
			"ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n" +
			"ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001 cni-podman0\n" +
			"00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n",
		// Linux's lines in interface order (it lists them in hash
		// order), with Linux's flags of a manual address.
		"if_inet6": "00000000000000000000000000000001 01 80 10 80       lo\n" +
			"fd000000000000000000000000000002 04 40 00 80     eth0\n" +
			"fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n" +
			"fe80000000000000ecf730fffe14bf0e 34 40 20 80 cni-podman0\n",
		"dev": netDevHeader +
			"    lo: 17977966075  726049    0    0    0     0          0         0 17977966075  726049    0    0    0     0       0          0\n" +
			"  eth0: 182103994    8932    0    0    0     0          0         0   802333    8970    0    0    0     0       0          0\n" +
			" down0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n" +
			"cni-podman0:    1878      24    0    0    0     0          0        10     1914      23    0    2    0     0       0          0\n",
	} {
		got := w.read(ctx, "/proc/net/"+name)
		if name == "ipv6_route" {
			got, want = refcounts1(got), refcounts1(want)
		}
		if got != want {
			t.Errorf("%s:\n%s\nwant (Linux)\n%s", name, got, want)
		}
	}
}

// waitFor is a Blocker that waits for the event at most a few seconds.
func waitFor(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-time.After(5 * time.Second):
		return unix.ETIMEDOUT
	}
}

// sockaddr4 and sockaddr6 are the loopback addresses of port as struct
// sockaddr.
func sockaddr4(port uint16) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b, unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], []byte{127, 0, 0, 1})
	return b
}

func sockaddr6(port uint16) []byte {
	b := make([]byte, 28)
	binary.LittleEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], port)
	b[23] = 1
	return b
}

func portOf(t *testing.T, s socket.Socket) uint16 {
	t.Helper()
	sa, err := s.SockName()
	if err != nil || len(sa) < 4 {
		t.Fatalf("getsockname: %v", err)
	}
	return binary.BigEndian.Uint16(sa[2:])
}

// TestNetSockets opens sockets on the stack, held by a process of
// user 1000, and finds them in tcp, udp6 and unix.
func TestNetSockets(t *testing.T) {
	w := newWorld(t)
	p := w.addProcess(1000, 1)
	ctx := w.ctxOf(p.threads[0])
	st, err := w.k.network()
	if err != nil {
		t.Fatal(err)
	}
	c := &socket.Caller{PID: 1, UID: 1000, GID: 1000, HasCap: func(int) bool { return false }}
	files := p.threads[0].files
	install := func(impl vfs.FileImpl) {
		t.Helper()
		f := vfs.NewFile(impl, unix.O_RDWR)
		if _, err := files.Install(f, 0, false, 1024); err != nil {
			t.Fatal(err)
		}
		f.DecRef()
	}
	newSock := func(family, typ int) *inet.Socket {
		t.Helper()
		s, err := inet.New(st.Stack, family, typ, 0, c, false)
		if err != nil {
			t.Fatal(err)
		}
		install(s)
		return s
	}

	l := newSock(unix.AF_INET, unix.SOCK_STREAM)
	if err := l.Bind(c, sockaddr4(0)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(8); err != nil {
		t.Fatal(err)
	}
	lport := portOf(t, l)
	client := newSock(unix.AF_INET, unix.SOCK_STREAM)
	if err := client.Connect(c, sockaddr4(lport), waitFor); err != nil {
		t.Fatal(err)
	}
	acc, err := l.Accept(c, waitFor)
	if err != nil {
		t.Fatal(err)
	}
	install(acc)
	if _, err := client.Send(c, &socket.Message{Data: []byte("hello")}, 0, waitFor); err != nil {
		t.Fatal(err)
	}
	bound := newSock(unix.AF_INET, unix.SOCK_STREAM) // bound only: not listed
	if err := bound.Bind(c, sockaddr4(0)); err != nil {
		t.Fatal(err)
	}
	newSock(unix.AF_INET, unix.SOCK_DGRAM) // unbound: not listed
	u6 := newSock(unix.AF_INET6, unix.SOCK_DGRAM)
	if err := u6.Bind(c, sockaddr6(0)); err != nil {
		t.Fatal(err)
	}
	// The accepted side's queue fills asynchronously.
	accInode := acc.(*inet.Socket).Inode()
	deadline := time.Now().Add(5 * time.Second)
	var tcp string
	for {
		tcp = w.read(ctx, "/proc/1/net/tcp")
		if strings.Contains(tcp, " 01 00000000:00000005 ") || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSuffix(tcp, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("tcp has %d lines, want a header and 3:\n%s", len(lines), tcp)
	}
	for _, l := range lines {
		if len(l) != tcp4Width {
			t.Errorf("a tcp line is %d long, not padded to %d: %q", len(l), tcp4Width, l)
		}
	}
	hexPort := func(p uint16) string { return fmt.Sprintf("%04X", p) }
	cport := portOf(t, client)
	for i, want := range []string{
		fmt.Sprintf("   0: 0100007F:%s 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 %d 1 0000000000000000 100 0 0 10 0",
			hexPort(lport), l.Inode()),
		fmt.Sprintf("   1: 0100007F:%s 0100007F:%s 01 00000000:00000000 00:00000000 00000000  1000        0 %d 1 0000000000000000 ",
			hexPort(cport), hexPort(lport), client.Inode()),
		fmt.Sprintf("   2: 0100007F:%s 0100007F:%s 01 00000000:00000005 00:00000000 00000000  1000        0 %d 1 0000000000000000 ",
			hexPort(lport), hexPort(cport), accInode),
	} {
		if !strings.HasPrefix(lines[i+1], want) {
			t.Errorf("tcp line %d:\n%q\nwant\n%q...", i+1, lines[i+1], want)
		}
	}
	// A connection's RTO is in ticks, its slow-start threshold -1 in
	// the initial slow start.
	if f := strings.Fields(lines[2]); len(f) != 17 || f[16] != "-1" || f[12] == "0" {
		t.Errorf("connection's last columns: %q", f[11:])
	}
	want := fmt.Sprintf("    0: 00000000000000000000000001000000:%s 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 %d 2 0000000000000000 0\n",
		hexPort(portOf(t, u6)), u6.Inode())
	if got := w.read(ctx, "/proc/net/udp6"); got != udp6Header+want {
		t.Errorf("udp6:\n%q\nwant\n%q", got, udp6Header+want)
	}
	if got := w.read(ctx, "/proc/net/udp"); got != linuxFreshNamespace["udp"] {
		t.Errorf("udp lists an unbound socket:\n%s", got)
	}
	if got := w.read(ctx, "/proc/net/tcp6"); got != linuxFreshNamespace["tcp6"] {
		t.Errorf("tcp6 lists IPv4 sockets:\n%s", got)
	}
	// What passed over lo: Linux counts each packet's Ethernet header.
	dev := w.read(ctx, "/proc/net/dev")
	f := strings.Fields(strings.Split(dev, "\n")[2])
	if f[0] != "lo:" || f[1] != f[9] || f[2] != f[10] || f[2] == "0" {
		t.Errorf("lo's counters: rx and tx differ, or nothing passed:\n%s", dev)
	}
}

func TestNetUnix(t *testing.T) {
	w := newWorld(t)
	p := w.addProcess(0, 1)
	ctx := w.ctxOf(p.threads[0])
	ns := unixsock.NewNamespace(w.k.v)
	files := p.threads[0].files
	install := func(s *unixsock.Socket) {
		t.Helper()
		f := vfs.NewFile(s, unix.O_RDWR)
		if _, err := files.Install(f, 0, false, 1024); err != nil {
			t.Fatal(err)
		}
		f.DecRef()
	}
	creds := unixsock.Creds{PID: 1}
	l := unixsock.New(ns, unixsock.Stream, 0, 0, creds)
	install(l)
	if err := l.Bind(ctx, "\x00abs"); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(8, creds); err != nil {
		t.Fatal(err)
	}
	client := unixsock.New(ns, unixsock.Stream, 0, 0, creds)
	install(client)
	if err := client.Connect(ctx, "\x00abs", creds, nil); err != nil {
		t.Fatal(err)
	}
	a, b := unixsock.NewPair(ns, unixsock.Stream, 0, 0, creds, creds)
	install(a)
	install(b)
	d := unixsock.New(ns, unixsock.Datagram, 0, 0, creds)
	install(d)
	if err := d.Bind(ctx, "\x00d\x00x"); err != nil {
		t.Fatal(err)
	}
	ino := func(s *unixsock.Socket) uint64 { return s.ProcNetInfo().Inode }
	// Linux's lines for the same sockets (in another order), the
	// listener's pending connection without an inode.
	want := unixHeader +
		fmt.Sprintf("0000000000000000: 00000002 00000000 00010000 0001 01 %5d @abs\n", ino(l)) +
		"0000000000000000: 00000003 00000000 00000000 0001 02     0 @abs\n" +
		fmt.Sprintf("0000000000000000: 00000003 00000000 00000000 0001 03 %5d\n", ino(client)) +
		fmt.Sprintf("0000000000000000: 00000003 00000000 00000000 0001 03 %5d\n", ino(a)) +
		fmt.Sprintf("0000000000000000: 00000003 00000000 00000000 0001 03 %5d\n", ino(b)) +
		fmt.Sprintf("0000000000000000: 00000002 00000000 00000000 0002 01 %5d @d@x\n", ino(d))
	if got := w.read(ctx, "/proc/net/unix"); got != want {
		t.Errorf("unix:\n%s\nwant\n%s", got, want)
	}
	// A socket held twice (a forked table) is listed once.
	q := w.addProcess(0, 2)
	q.threads[0].files = files.Fork()
	if got := w.read(ctx, "/proc/net/unix"); got != want {
		t.Errorf("unix with the sockets in two tables:\n%s", got)
	}
}

// TestNetFormatEdges checks formats on values the stack rarely has.
func TestNetFormatEdges(t *testing.T) {
	got := formatRoute([]route4{{iface: "eth0", dst: netip.MustParsePrefix("203.0.113.7/32"), gateway: netip.MustParseAddr("192.0.2.1")}})
	want := "eth0\t077100CB\t010200C0\t0007\t0\t0\t0\tFFFFFFFF\t0\t0\t0"
	if l := strings.Split(got, "\n")[1]; strings.TrimRight(l, " ") != want || len(l) != routeWidth {
		t.Errorf("host route: %q, want %q padded to %d", l, want, routeWidth)
	}
	// An IPv4-mapped peer of an IPv6 socket, a long interface name, a
	// listener with a waiting connection.
	s := netSocket{inode: 7, ProcNetInfo: inet.ProcNetInfo{
		Local:  netip.MustParseAddrPort("[::ffff:127.0.0.1]:80"),
		Remote: netip.MustParseAddrPort("[::ffff:10.0.0.2]:40000"),
		State:  inet.TCPEstablished, RxQueue: 3, RTO: 204 * time.Millisecond, Cwnd: 10, Ssthresh: 7,
	}}
	got = formatTCP([]netSocket{s}, true)
	want = tcp6Header + "   0: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000200000A:9C40 01 00000000:00000003 00:00000000 00000000     0        0 7 1 0000000000000000 20 0 0 10 7\n"
	if got != want {
		t.Errorf("tcp6:\n%q\nwant\n%q", got, want)
	}
	if got := formatNetDev([]netDevice{{name: "averyveryverylongname"}}); !strings.HasPrefix(strings.Split(got, "\n")[2], "averyveryverylongname:       0") {
		t.Errorf("long name: %q", got)
	}
}

// TestNetConcurrent reads the socket files while sockets come and go
// (run with -race).
func TestNetConcurrent(t *testing.T) {
	w := newWorld(t)
	p := w.addProcess(0, 1)
	ctx := w.ctxOf(p.threads[0])
	st, err := w.k.network()
	if err != nil {
		t.Fatal(err)
	}
	ns := unixsock.NewNamespace(w.k.v)
	files := p.threads[0].files
	c := &socket.Caller{PID: 1, HasCap: func(int) bool { return true }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			s, err := inet.New(st.Stack, unix.AF_INET6, unix.SOCK_STREAM, 0, c, false)
			if err != nil {
				t.Error(err)
				return
			}
			f := vfs.NewFile(s, unix.O_RDWR)
			fd, err := files.Install(f, 0, false, 1024)
			f.DecRef()
			if err != nil {
				t.Error(err)
				return
			}
			s.Bind(c, sockaddr6(0))
			s.Listen(1)
			a, b := unixsock.NewPair(ns, unixsock.Stream, 0, 0, unixsock.Creds{}, unixsock.Creds{})
			fa, fb := vfs.NewFile(a, unix.O_RDWR), vfs.NewFile(b, unix.O_RDWR)
			fda, _ := files.Install(fa, 0, false, 1024)
			fa.DecRef()
			fb.DecRef() // b goes at once: a's peer closes
			files.Remove(fd)
			files.Remove(fda)
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		for _, name := range []string{"tcp6", "unix", "dev"} {
			if _, err := w.tryRead(ctx, "/proc/net/"+name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestNetDevCounts sends datagrams over lo and compares its counters
// with Linux's for the same datagrams (measured in a new network
// namespace): a 3-byte datagram over IPv4 and an 8-byte one over IPv6.
func TestNetDevCounts(t *testing.T) {
	w := newWorld(t)
	ctx := w.ctxOf(w.addProcess(0, 1).threads[0])
	st, err := w.k.network()
	if err != nil {
		t.Fatal(err)
	}
	c := &socket.Caller{PID: 1, HasCap: func(int) bool { return true }}
	for _, d := range []struct {
		family int
		addr   func(uint16) []byte
		data   string
		want   string
	}{
		{unix.AF_INET, sockaddr4, "abc", "    lo:      31       1    0    0    0     0          0         0       31       1    0    0    0     0       0          0"},
		{unix.AF_INET6, sockaddr6, "abcdefgh", "    lo:      87       2    0    0    0     0          0         0       87       2    0    0    0     0       0          0"},
	} {
		r, err := inet.New(st.Stack, d.family, unix.SOCK_DGRAM, 0, c, false)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		if err := r.Bind(c, d.addr(0)); err != nil {
			t.Fatal(err)
		}
		s, err := inet.New(st.Stack, d.family, unix.SOCK_DGRAM, 0, c, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Release()
		if _, err := s.Send(c, &socket.Message{Data: []byte(d.data), To: d.addr(portOf(t, r))}, 0, waitFor); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Recv(c, 64, 0, waitFor); err != nil {
			t.Fatal(err)
		}
		if got := strings.Split(w.read(ctx, "/proc/net/dev"), "\n")[2]; got != d.want {
			t.Errorf("lo after a datagram:\n%q\nwant (Linux)\n%q", got, d.want)
		}
	}
}
