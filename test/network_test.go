package test

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The sandbox network (--network=sandbox, the default): a container
// joins a network namespace set up beforehand with a veth, as podman,
// CNI and Docker set them up, and the sandbox serves that interface from
// its own TCP/IP stack. The host's stack keeps the interface but loses
// its addresses: what answers is the sandbox.

// testNetwork is a network namespace with a veth pair: the host's end
// Host with HostAddr, the namespace's end with ContainerAddr.
type testNetwork struct {
	NS, Host, Container       string
	HostAddr, ContainerAddr   string
	HostAddr6, ContainerAddr6 string
}

// newTestNetwork makes the namespace and the veth with ip(8); they go
// away with the test.
func newTestNetwork(t *testing.T, n int) *testNetwork {
	t.Helper()
	requireRoot(t)
	requireHostTool(t, "ip")
	id := os.Getpid()%10000*10 + n
	tn := &testNetwork{
		NS:             fmt.Sprintf("magawa-test-%d", id),
		Host:           fmt.Sprintf("mgh%d", id),
		Container:      fmt.Sprintf("mgc%d", id),
		HostAddr:       fmt.Sprintf("10.213.%d.1", n),
		ContainerAddr:  fmt.Sprintf("10.213.%d.2", n),
		HostAddr6:      fmt.Sprintf("fd00:213:%d::1", n),
		ContainerAddr6: fmt.Sprintf("fd00:213:%d::2", n),
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", tn.NS)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", tn.NS).Run()
		exec.Command("ip", "link", "del", tn.Host).Run()
	})
	ip("link", "add", tn.Host, "type", "veth", "peer", "name", tn.Container)
	ip("link", "set", tn.Container, "netns", tn.NS)
	ip("addr", "add", tn.HostAddr+"/24", "dev", tn.Host)
	ip("addr", "add", tn.HostAddr6+"/64", "dev", tn.Host, "nodad")
	ip("link", "set", tn.Host, "up")
	ip("-n", tn.NS, "addr", "add", tn.ContainerAddr+"/24", "dev", tn.Container)
	ip("-n", tn.NS, "addr", "add", tn.ContainerAddr6+"/64", "dev", tn.Container, "nodad")
	ip("-n", tn.NS, "link", "set", tn.Container, "up")
	ip("-n", tn.NS, "link", "set", "lo", "up")
	ip("-n", tn.NS, "route", "add", "default", "via", tn.HostAddr)
	return tn
}

// nsAddresses lists the addresses the host's stack has on the
// namespace's end of the veth.
func (tn *testNetwork) nsAddresses(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", tn.NS, "-o", "addr", "show", "dev", tn.Container).CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr show: %v\n%s", err, out)
	}
	return string(out)
}

// httpGet fetches url, retrying while the server is not up yet.
func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %v %v", url, resp.Status, err)
			}
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSandboxNetwork serves HTTP from a container over a veth, both
// ways and on both IP versions, with a transfer large enough for the
// host to hand the sandbox segmentation-offloaded frames; hostile
// traffic (a port scan, a SYN flood, malformed frames) sent at it from
// the host side leaves it serving.
func TestSandboxNetwork(t *testing.T) {
	r := newOCIRuntime(t)
	tn := newTestNetwork(t, 1)
	big := make([]byte, 24<<20)
	rand.Read(big)
	bundle := r.makeBundle([]string{"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"}, func(spec map[string]any) {
		linux := spec["linux"].(map[string]any)
		for _, ns := range linux["namespaces"].([]any) {
			if m := ns.(map[string]any); m["type"] == "network" {
				m["path"] = "/run/netns/" + tn.NS
			}
		}
	})
	rootfs := filepath.Join(bundle, "rootfs")
	os.MkdirAll(filepath.Join(rootfs, "www"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "www/index.html"), []byte("served by the sandbox\n"), 0o644)
	os.WriteFile(filepath.Join(rootfs, "www/big"), big, 0o644)
	for _, name := range []string{"wget", "ip", "ifconfig", "md5sum"} {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", name))
	}
	const id = "net-sandbox"
	r.create(id, bundle)
	r.must("start", id)

	base := "http://" + net.JoinHostPort(tn.ContainerAddr, "8080")
	if got := httpGet(t, base+"/index.html"); string(got) != "served by the sandbox\n" {
		t.Errorf("GET / from the host: %q", got)
	}
	if got := httpGet(t, base+"/big"); sha256.Sum256(got) != sha256.Sum256(big) {
		t.Errorf("GET /big from the host: %d bytes, not the file's %d", len(got), len(big))
	}
	base6 := "http://" + net.JoinHostPort(tn.ContainerAddr6, "8080")
	if got := httpGet(t, base6+"/index.html"); string(got) != "served by the sandbox\n" {
		t.Errorf("GET / over IPv6 from the host: %q", got)
	}
	if addrs := tn.nsAddresses(t); strings.Contains(addrs, "inet") {
		t.Errorf("the host's stack still has addresses on the container's interface:\n%s", addrs)
	}

	// The other way: a client in the sandbox, a server on the host.
	ln, err := net.Listen("tcp", net.JoinHostPort(tn.HostAddr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Write(big[:5<<20])
	}))
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	out := r.must("exec", id, "/bin/sh", "-c", "wget -q -O - http://"+tn.HostAddr+":"+port+"/x | md5sum")
	if want := fmt.Sprintf("%x", md5.Sum(big[:5<<20])); !strings.HasPrefix(out, want) {
		t.Errorf("wget of the host's server in the sandbox: %q, want md5 %s", out, want)
	}

	hostile(t, tn)
	if got := httpGet(t, base+"/index.html"); string(got) != "served by the sandbox\n" {
		t.Errorf("GET / after the hostile traffic: %q", got)
	}
	r.must("kill", id, "KILL")
	r.must("delete", "--force", id)
}

// hostile sends the sandbox, from the host's end of the veth, a port
// scan, a SYN flood from spoofed addresses and malformed frames.
func hostile(t *testing.T, tn *testNetwork) {
	t.Helper()
	// A connect scan of the first thousand ports.
	for port := 1; port <= 1000; port++ {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(tn.ContainerAddr, fmt.Sprint(port)), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
	}
	ifc, err := net.InterfaceByName(tn.Host)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	dst := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
	mac := containerMAC(t, tn)
	copy(dst.Addr[:], mac)
	send := func(frame []byte) {
		if err := unix.Sendto(fd, frame, 0, dst); err != nil && err != unix.ENOBUFS {
			t.Fatalf("sending a frame: %v", err)
		}
	}
	ether := func(typ uint16) []byte {
		h := make([]byte, 14)
		copy(h, mac)
		copy(h[6:], ifc.HardwareAddr)
		binary.BigEndian.PutUint16(h[12:], typ)
		return h
	}
	srcIP := net.ParseIP(tn.HostAddr).To4()
	dstIP := net.ParseIP(tn.ContainerAddr).To4()
	// A SYN flood at the server's port, from addresses of the subnet
	// that do not exist (the sandbox's SYN-ACKs go nowhere).
	for i := range 5000 {
		ip := make([]byte, 20)
		ip[0], ip[8], ip[9] = 0x45, 64, unix.IPPROTO_TCP
		binary.BigEndian.PutUint16(ip[2:], 40)
		copy(ip[12:], srcIP[:3])
		ip[15] = byte(10 + i%200)
		copy(ip[16:], dstIP)
		binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
		tcp := make([]byte, 20)
		binary.BigEndian.PutUint16(tcp, uint16(1024+i))
		binary.BigEndian.PutUint16(tcp[2:], 8080)
		binary.BigEndian.PutUint32(tcp[4:], uint32(i*7919))
		tcp[12], tcp[13] = 5<<4, 0x02
		binary.BigEndian.PutUint16(tcp[14:], 65535)
		send(append(append(ether(unix.ETH_P_IP), ip...), tcp...))
	}
	// Malformed frames: random bytes as IPv4, IPv6 and ARP, headers
	// cut short, lengths that lie.
	for i := range 3000 {
		body := make([]byte, i%200)
		rand.Read(body)
		typ := []uint16{unix.ETH_P_IP, unix.ETH_P_IPV6, unix.ETH_P_ARP}[i%3]
		if typ == unix.ETH_P_IP && len(body) > 20 {
			body[0] = 0x45
			binary.BigEndian.PutUint16(body[2:], uint16(i*13))
			copy(body[16:], dstIP)
		}
		send(append(ether(typ), body...))
	}
}

// containerMAC is the MAC address of the namespace's end of the veth.
func containerMAC(t *testing.T, tn *testNetwork) net.HardwareAddr {
	t.Helper()
	out, err := exec.Command("ip", "-n", tn.NS, "-o", "link", "show", "dev", tn.Container).CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show: %v\n%s", err, out)
	}
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "link/ether" && i+1 < len(f) {
			mac, err := net.ParseMAC(f[i+1])
			if err == nil {
				return mac
			}
		}
	}
	t.Fatalf("no MAC address in %q", out)
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// TestSandboxNetworkLoad puts ab's 20,000 requests over 50 kept-alive
// connections on a Go HTTP server in the sandbox, across the veth: no
// request fails, and afterwards neither the server in the sandbox nor
// the sandbox process on the host holds more descriptors than before.
func TestSandboxNetworkLoad(t *testing.T) {
	r := newOCIRuntime(t)
	ab := requireHostTool(t, "ab")
	tn := newTestNetwork(t, 2)
	server := filepath.Join(t.TempDir(), "httpserve")
	build := exec.Command("go", "build", "-trimpath", "-o", server, "./testdata/httpserve")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/httpserve: %v\n%s", err, out)
	}
	bundle := r.makeBundle([]string{"/bin/httpserve", ":8080"}, func(spec map[string]any) {
		linux := spec["linux"].(map[string]any)
		for _, ns := range linux["namespaces"].([]any) {
			if m := ns.(map[string]any); m["type"] == "network" {
				m["path"] = "/run/netns/" + tn.NS
			}
		}
	})
	b, err := os.ReadFile(server)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "rootfs/bin/httpserve"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	const id = "net-load"
	stdout := r.create(id, bundle)
	r.must("start", id)
	url := "http://" + net.JoinHostPort(tn.ContainerAddr, "8080") + "/"
	httpGet(t, url)
	pid := int(r.state(id)["pid"].(float64))
	fdsInside := func() string {
		return strings.TrimSpace(r.must("exec", id, "/bin/sh", "-c", "ls /proc/1/fd | wc -l"))
	}
	insideBefore, hostBefore := fdsInside(), countFDs(t, pid)

	out, err := exec.Command(ab, "-k", "-n", "20000", "-c", "50", "-s", "30", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ab: %v\n%s", err, out)
	}
	report := string(out)
	for _, want := range []string{"Complete requests:      20000", "Failed requests:        0"} {
		if !strings.Contains(report, want) {
			t.Errorf("ab's report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "Non-2xx responses") {
		t.Errorf("ab got errors:\n%s", report)
	}
	// ab's connections close as it exits; give the server a moment to
	// see them go.
	deadline := time.Now().Add(10 * time.Second)
	for {
		inside, host := fdsInside(), countFDs(t, pid)
		if inside == insideBefore && host == hostBefore {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("descriptors after the load: in the sandbox %s (before %s), the sandbox process %d (before %d)", inside, insideBefore, host, hostBefore)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b, _ := os.ReadFile(stdout); !strings.Contains(string(b), "listening") {
		t.Errorf("the server's output: %q", b)
	}
	r.must("kill", id, "KILL")
	r.must("delete", "--force", id)
}

// countFDs counts a host process's open descriptors.
func countFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestSandboxNetworkDNS resolves a name through the sandbox's stack:
// the bundle's /etc/resolv.conf names a DNS server on the host's end of
// the veth (a minimal one the test runs), and busybox's nslookup in the
// container asks it over UDP.
func TestSandboxNetworkDNS(t *testing.T) {
	r := newOCIRuntime(t)
	tn := newTestNetwork(t, 3)
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(tn.HostAddr, "53"))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	const name, answer = "sandbox.magawa.test", "10.213.3.99"
	go serveDNS(pc, name, net.ParseIP(answer).To4())
	bundle := r.makeBundle([]string{"/bin/sleep", "1000"}, func(spec map[string]any) {
		linux := spec["linux"].(map[string]any)
		for _, ns := range linux["namespaces"].([]any) {
			if m := ns.(map[string]any); m["type"] == "network" {
				m["path"] = "/run/netns/" + tn.NS
			}
		}
	})
	rootfs := filepath.Join(bundle, "rootfs")
	os.WriteFile(filepath.Join(rootfs, "etc/resolv.conf"), []byte("nameserver "+tn.HostAddr+"\n"), 0o644)
	os.Symlink("busybox", filepath.Join(rootfs, "bin/nslookup"))
	const id = "net-dns"
	r.create(id, bundle)
	r.must("start", id)
	out := r.must("exec", id, "/bin/nslookup", name)
	if !strings.Contains(out, "Address: "+answer) {
		t.Errorf("nslookup %s in the sandbox:\n%s", name, out)
	}
	r.must("kill", id, "KILL")
	r.must("delete", "--force", id)
}

// TestSandboxNetworkPacket runs programs/sandbox_only/packet.c in a
// container on a veth, as TestSandboxNetwork's, with CAP_NET_RAW: its
// packet sockets on the sandbox's interface (SOCK_RAW of ETH_P_ALL,
// SOCK_DGRAM of ETH_P_IP, one with a socket filter) see the UDP
// datagrams the host sends to the sandbox's address, with their
// Ethernet, IP and UDP headers, as does one with a TPACKET_V2 receive
// ring it maps, and the frames they send reach the host's UDP socket;
// without CAP_NET_RAW, socket(2) is EPERM.
func TestSandboxNetworkPacket(t *testing.T) {
	r := newOCIRuntime(t)
	prog := programs(t)["sandbox_only/packet"]
	tn := newTestNetwork(t, 4)
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(tn.HostAddr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	argv := []string{"/bin/packet", tn.Container, tn.HostAddr, tn.ContainerAddr, fmt.Sprint(port)}
	bundle := r.makeBundle(argv, func(spec map[string]any) {
		linux := spec["linux"].(map[string]any)
		for _, ns := range linux["namespaces"].([]any) {
			if m := ns.(map[string]any); m["type"] == "network" {
				m["path"] = "/run/netns/" + tn.NS
			}
		}
		caps := []string{"CAP_NET_RAW", "CAP_KILL"}
		spec["process"].(map[string]any)["capabilities"] = map[string]any{
			"bounding": caps, "effective": caps, "permitted": caps,
		}
	})
	exe, err := os.ReadFile(prog.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "rootfs/bin/packet"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	const id = "net-packet"
	stdout := r.create(id, bundle)
	r.must("start", id)

	// The sandbox's two answers, each from its port 7778.
	answers := make(chan string, 2)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if a := from.(*net.UDPAddr); a.IP.String() == tn.ContainerAddr && a.Port == 7778 {
				answers <- string(buf[:n])
			}
		}
	}()
	conn, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(tn.HostAddr)}, &net.UDPAddr{IP: net.ParseIP(tn.ContainerAddr), Port: 7777})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := map[string]bool{}
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for len(got) < 2 {
		select {
		case a := <-answers:
			got[a] = true
		case <-tick.C:
			conn.Write([]byte("hello from the host"))
		case <-deadline:
			b, _ := os.ReadFile(stdout)
			t.Fatalf("the sandbox's frames did not reach the host (got %v); its output:\n%s", got, b)
		}
	}
	for _, want := range []string{"raw from the sandbox", "cooked from the sandbox"} {
		if !got[want] {
			t.Errorf("the host did not receive %q; it received %v", want, got)
		}
	}
	r.waitStatus(id, "stopped")
	b, _ := os.ReadFile(stdout)
	want := strings.Join([]string{
		"SIOCGIFINDEX on a packet socket: ok",
		"if_nametoindex agrees: yes",
		"SIOCGIFHWADDR on a packet socket: ok",
		"hardware type: 1",
		"bind SOCK_RAW to the interface: ok",
		"getsockname: ok",
		"name: length 18, family 17, protocol 0x3, our interface yes, hatype 1, halen 6, our address yes",
		"SO_ATTACH_FILTER: ok",
		"SO_GET_FILTER of the count: ok",
		"SO_GET_FILTER: ok",
		"filter: 9 instructions, read back the same: yes",
		"PACKET_HDRLEN of TPACKET_V3: errno EINVAL",
		"PACKET_VERSION TPACKET_V3: errno EINVAL",
		"PACKET_HDRLEN of TPACKET_V2: ok",
		"TPACKET_V2 header: 32 bytes",
		"PACKET_VERSION TPACKET_V2: ok",
		"PACKET_RESERVE: ok",
		"PACKET_RX_RING of a wrong frame count: errno EINVAL",
		"PACKET_RX_RING: ok",
		"PACKET_RX_RING again: errno EBUSY",
		"mmap of less than the ring: errno EINVAL",
		"mmap of the ring: ok",
		"ready",
		"epoll: SOCK_RAW readable: yes",
		"SOCK_RAW: the host's datagram, IP and UDP headers and payload: yes",
		"SOCK_RAW: Ethernet destination ours: yes, type 0x800",
		"SOCK_RAW: from length 20, family 17, protocol 0x800, our interface yes, hatype 1, pkttype 0, halen 6, the frame's source yes",
		"ring: poll readable: yes",
		"ring: status 0x1, tp_len == tp_snaplen, tp_mac 70, tp_net 84, stamped now yes, VLAN 0 0",
		"ring: address family 17, protocol 0x800, our interface yes, hatype 1, pkttype 0, halen 6, the host's yes",
		"ring: the host's datagram: yes",
		"PACKET_RX_RING teardown while mapped: errno EBUSY",
		"munmap of the ring: ok",
		"PACKET_RX_RING teardown: ok",
		"SOCK_DGRAM: the host's datagram from its IP header: yes",
		"SOCK_DGRAM: from protocol 0x800, pkttype 0, the host's address yes",
		"filtered: MSG_PEEK|MSG_TRUNC into 4 bytes gave the frame's length: yes",
		"filtered: first frame the host's datagram: yes",
		"PACKET_STATISTICS: ok",
		"filtered: counted: yes",
		"UDP socket: hello from the host",
		"non-blocking receive with nothing queued: EAGAIN",
		"send of a frame on SOCK_RAW: whole",
		"send of a datagram on SOCK_DGRAM: whole",
		"socket(AF_PACKET, SOCK_STREAM): errno ESOCKTNOSUPPORT",
		"PACKET_TX_RING: errno ENOPROTOOPT",
		"socket(AF_PACKET) without CAP_NET_RAW: errno EPERM",
		"socket(AF_PACKET, SOCK_DGRAM) without CAP_NET_RAW: errno EPERM",
		"done",
	}, "\n") + "\n"
	if string(b) != want {
		t.Errorf("packet sockets in the sandbox (- want, + got):\n%s", lineDiff(want, string(b)))
	}
	r.must("delete", "--force", id)
}

// serveDNS answers A queries for name with addr, and every other query
// with no answer, until pc is closed.
func serveDNS(pc net.PacketConn, name string, addr net.IP) {
	buf := make([]byte, 512)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		q := buf[:n]
		if len(q) < 12 {
			continue
		}
		// The question: labels, then type and class.
		i, labels := 12, []string{}
		for i < len(q) && q[i] != 0 {
			l := int(q[i])
			if i+1+l > len(q) {
				break
			}
			labels = append(labels, string(q[i+1:i+1+l]))
			i += 1 + l
		}
		if i+5 > len(q) {
			continue
		}
		qtype := binary.BigEndian.Uint16(q[i+1:])
		question := q[12 : i+5]
		resp := make([]byte, 12, 512)
		copy(resp, q[:2])
		binary.BigEndian.PutUint16(resp[2:], 0x8180) // a response, recursion available
		binary.BigEndian.PutUint16(resp[4:], 1)
		resp = append(resp, question...)
		if strings.Join(labels, ".") == name && qtype == 1 {
			binary.BigEndian.PutUint16(resp[6:], 1)
			resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
			resp = append(resp, addr...)
		} else if strings.Join(labels, ".") != name {
			binary.BigEndian.PutUint16(resp[2:], 0x8183) // NXDOMAIN
		}
		pc.WriteTo(resp, from)
	}
}

// TestPing runs busybox's ping, which as root uses raw ICMP sockets, on
// the sandbox's loopback over IPv4 and IPv6.
func TestPing(t *testing.T) {
	magawaBin(t)
	requireStaticBusybox(t)
	for _, argv := range [][]string{{"ping", "-c", "2", "127.0.0.1"}, {"ping6", "-c", "2", "::1"}} {
		r := run(t, runSpec{Argv: sandboxArgv(t, "ptrace", nil, busybox, argv...)})
		if r.Status != (exitStatus{}) || !strings.Contains(string(r.Stdout), "2 packets transmitted, 2 packets received, 0% packet loss") {
			t.Errorf("busybox %s in the sandbox: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), r.Status, r.Stdout, r.Stderr)
		}
	}
}

// TestDoNetwork: `magawa do` as root gives the sandbox a network of its
// own (a veth, the host's end its gateway): a program in it reaches a
// server on one of the host's addresses, and nothing of the network is
// left on the host afterwards.
func TestDoNetwork(t *testing.T) {
	magawaBin(t)
	requireRoot(t)
	requireStaticBusybox(t)
	var hostIP net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() && !strings.HasPrefix(n.IP.String(), "10.222.") {
			hostIP = n.IP
			break
		}
	}
	if hostIP == nil {
		skip(t, "the host has no global IPv4 address for the sandbox to reach")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(hostIP.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "the host answers %s", r.URL.Path)
	}))
	// The rule a `magawa do` killed with SIGKILL leaves (its veth went
	// with its namespace): the next one sweeps it.
	stale := []string{"POSTROUTING", "-s", "10.222.255.252/30", "!", "-o", "magawa99999999", "-m", "comment", "--comment", "magawa do magawa99999999", "-j", "MASQUERADE"}
	if out, err := exec.Command("iptables", append([]string{"-w", "-t", "nat", "-A"}, stale...)...).CombinedOutput(); err != nil {
		t.Fatalf("planting a stale rule: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("iptables", append([]string{"-w", "-t", "nat", "-D"}, stale...)...).Run() })
	r := run(t, runSpec{Argv: sandboxArgv(t, "ptrace", []string{"--network=sandbox"}, busybox, "wget", "-q", "-O", "-", "http://"+ln.Addr().String()+"/from-the-sandbox")})
	if string(r.Stdout) != "the host answers /from-the-sandbox" || r.Status != (exitStatus{}) {
		t.Errorf("wget of a host server in magawa do: %v\nstdout:\n%s\nstderr:\n%s", r.Status, r.Stdout, r.Stderr)
	}
	// The host's end of the veth is named after the magawa process;
	// other sandboxes may have theirs meanwhile.
	link := fmt.Sprintf("magawa%d", r.Pid%100000000)
	if links := hostLinks(t); slices.Contains(strings.Fields(links), link) {
		t.Errorf("the veth of magawa do (%s) is left on the host: %s", link, links)
	}
	if out, err := exec.Command("iptables", "-w", "-t", "nat", "-S").CombinedOutput(); err == nil && strings.Contains(string(out), "magawa do "+link+"\"") {
		t.Errorf("the masquerading rule of magawa do is left:\n%s", out)
	}
	if out, err := exec.Command("iptables", "-w", "-t", "nat", "-S").CombinedOutput(); err == nil && strings.Contains(string(out), "magawa do magawa99999999") {
		t.Errorf("the stale rule of a killed magawa do was not swept:\n%s", out)
	}
}

// hostLinks lists the host's interfaces by name, space-separated.
func hostLinks(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ifc := range ifs {
		names = append(names, ifc.Name)
	}
	return strings.Join(names, " ")
}

// TestHostNetworkContainer: a container made with --network=host serves
// on the host's own loopback, where the host reaches it directly.
func TestHostNetworkContainer(t *testing.T) {
	r := newOCIRuntime(t)
	port := fmt.Sprint(freeTCPPort(t))
	bundle := r.makeBundle([]string{"/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:" + port, "-h", "/www"}, nil)
	rootfs := filepath.Join(bundle, "rootfs")
	os.MkdirAll(filepath.Join(rootfs, "www"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "www/index.html"), []byte("on the host's network\n"), 0o644)
	const id = "net-host"
	runDetached := func(bundle, id string) {
		t.Helper()
		// The container's output goes to a file: a pipe would stay open
		// in the detached sandbox.
		logPath := filepath.Join(t.TempDir(), "stdout")
		f, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := r.cmd("--network=host", "run", "--detach", "--bundle", bundle, id)
		cmd.Stdout, cmd.Stderr = f, f
		err = cmd.Run()
		f.Close()
		if err != nil {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("run --network=host: %v\n%s", err, b)
		}
		t.Cleanup(func() { r.run("delete", "--force", id) })
	}
	runDetached(bundle, id)
	if got := httpGet(t, "http://127.0.0.1:"+port+"/index.html"); string(got) != "on the host's network\n" {
		t.Errorf("GET from the host: %q", got)
	}
	r.must("kill", id, "KILL")
	r.must("delete", "--force", id)

	// A bundle naming a network namespace (a CNI plugin's veth): the
	// container's sockets are the host stack's in that namespace, so
	// its server answers on the veth's address, and the interface keeps
	// its addresses (nothing is taken over).
	tn := newTestNetwork(t, 5)
	inNS := r.makeBundle([]string{"/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"}, func(spec map[string]any) {
		linux := spec["linux"].(map[string]any)
		var nss []any
		for _, ns := range linux["namespaces"].([]any) {
			if ns.(map[string]any)["type"] != "network" {
				nss = append(nss, ns)
			}
		}
		linux["namespaces"] = append(nss, map[string]any{"type": "network", "path": "/run/netns/" + tn.NS})
	})
	os.MkdirAll(filepath.Join(inNS, "rootfs/www"), 0o755)
	os.WriteFile(filepath.Join(inNS, "rootfs/www/index.html"), []byte("in the bundle's namespace\n"), 0o644)
	runDetached(inNS, id+"-ns")
	if got := httpGet(t, "http://"+tn.ContainerAddr+"/index.html"); string(got) != "in the bundle's namespace\n" {
		t.Errorf("GET across the veth: %q", got)
	}
	if addrs := tn.nsAddresses(t); !strings.Contains(addrs, tn.ContainerAddr+"/24") {
		t.Errorf("the namespace's interface lost its address with --network=host:\n%s", addrs)
	}
	r.must("kill", id+"-ns", "KILL")
	r.must("delete", "--force", id+"-ns")
}

// freeTCPPort returns a port of the host's loopback that was free a
// moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// tcpdumpScript runs the host's tcpdump ($TCPDUMP) with the arguments
// given, in the background, while it sends UDP datagrams "ping\n" to
// port 9999 of each address in $DSTS (the word "gateway" standing for
// the default route's), ten a second through bash's /dev/udp, until
// tcpdump exits; then it prints "exit STATUS".
const tcpdumpScript = `
gw=$("$IP" -4 route show default | cut -d' ' -f3)
echo "gateway $gw"
"$TCPDUMP" "$@" &
pid=$!
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 200 ]; do
	for dst in $DSTS; do
		[ $dst = gateway ] && dst=$gw
		echo ping > /dev/udp/$dst/9999
	done
	i=$((i+1))
	sleep 0.1
done
wait $pid
echo "exit $?"
`

// TestTcpdump runs the host's tcpdump (dynamically linked, libpcap 1.10)
// in magawa do with its network: libpcap captures only through a
// TPACKET_V2 receive ring (TPACKET_V3 refused, so that it falls back),
// mapped from the packet socket and polled, and sizes it with the
// ethtool queries. On lo, promiscuous as tcpdump asks by default, it
// sees the datagrams the sandbox sends itself; on eth0 (with -p:
// promiscuous mode is refused there, honestly, since the sandbox's
// link never sees other hosts' frames) those it sends its gateway, the
// host; on any, both, cooked, with each interface's name and direction.
func TestTcpdump(t *testing.T) {
	magawaBin(t)
	requireRoot(t)
	tcpdump := requireHostTool(t, "tcpdump")
	bash := requireHostTool(t, "bash")
	ip := requireHostTool(t, "ip")
	capture := func(t *testing.T, dsts string, args ...string) (stdout, stderr string, gateway string) {
		t.Helper()
		argv := append([]string{"-c", tcpdumpScript, "tcpdump", "-n"}, args...)
		env := append(slices.Clone(testEnv), "TCPDUMP="+tcpdump, "IP="+ip, "DSTS="+dsts)
		r := run(t, runSpec{Argv: sandboxArgv(t, "ptrace", []string{"--network=sandbox"}, bash, argv...), Env: env})
		if r.Status != (exitStatus{}) {
			t.Fatalf("bash in the sandbox: %v\nstdout:\n%s\nstderr:\n%s", r.Status, r.Stdout, r.Stderr)
		}
		stdout = string(r.Stdout)
		if m := regexp.MustCompile(`(?m)^gateway (\S+)$`).FindStringSubmatch(stdout); m != nil {
			gateway = m[1]
		}
		return stdout, string(r.Stderr), gateway
	}
	// Captured lines of tcpdump -n: a time stamp, then the packet.
	const stamp = `(?m)^\d\d:\d\d:\d\d\.\d{6} `
	expect := func(t *testing.T, stdout, stderr string, status int, lines []string, notes ...string) {
		t.Helper()
		for _, l := range lines {
			if n := len(regexp.MustCompile(stamp+l+`$`).FindAllString(stdout, -1)); n == 0 {
				t.Errorf("tcpdump printed no line like %q", l)
			}
		}
		for _, n := range notes {
			if !strings.Contains(stderr, n) {
				t.Errorf("tcpdump did not say %q", n)
			}
		}
		if !strings.Contains(stdout, fmt.Sprintf("exit %d\n", status)) {
			t.Errorf("tcpdump's exit status is not %d", status)
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
	}
	const dgram = `: UDP, length 5`
	t.Run("lo", func(t *testing.T) {
		stdout, stderr, _ := capture(t, "127.0.0.1", "-i", "lo", "-c", "3", "udp port 9999")
		expect(t, stdout, stderr, 0, []string{`IP 127\.0\.0\.1\.\d+ > 127\.0\.0\.1\.9999` + dgram},
			"listening on lo, link-type EN10MB (Ethernet)", "3 packets captured", "0 packets dropped by kernel")
		if n := len(regexp.MustCompile(stamp+`IP `).FindAllString(stdout, -1)); n != 3 {
			t.Errorf("tcpdump -c 3 printed %d packets", n)
		}
	})
	t.Run("eth0", func(t *testing.T) {
		stdout, stderr, gw := capture(t, "gateway", "-Z", "root", "-p", "-i", "eth0", "-c", "3", "udp port 9999")
		expect(t, stdout, stderr, 0, []string{`IP [0-9.]+\.\d+ > ` + regexp.QuoteMeta(gw) + `\.9999` + dgram},
			"listening on eth0, link-type EN10MB (Ethernet)", "3 packets captured")
		stdout, stderr, _ = capture(t, "gateway", "-i", "eth0", "-c", "1", "udp port 9999")
		expect(t, stdout, stderr, 1, nil, "setsockopt (PACKET_ADD_MEMBERSHIP): Operation not supported")
	})
	t.Run("any", func(t *testing.T) {
		stdout, stderr, gw := capture(t, "gateway 127.0.0.1", "-i", "any", "-c", "4", "udp port 9999")
		expect(t, stdout, stderr, 0, []string{
			`eth0  Out IP [0-9.]+\.\d+ > ` + regexp.QuoteMeta(gw) + `\.9999` + dgram,
			`lo    In  IP 127\.0\.0\.1\.\d+ > 127\.0\.0\.1\.9999` + dgram,
		}, "listening on any, link-type LINUX_SLL2", "4 packets captured")
	})
}
