package network

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Private is the network `magawa do` gives its sandbox (the way `runsc
// do` does): a network namespace of its own, joined to the host's by a
// veth pair. The host's end has the first address of a /30 and the
// sandbox the second, with a default route through the host's end; the
// host forwards what the sandbox sends on, masqueraded (when iptables is
// there), so programs in the sandbox reach what the host reaches. The
// sandbox's end is served by the sandbox's stack from the start: the
// host's stack in the namespace never has an address on it.
type Private struct {
	// NS is the namespace, for the sandbox process to start in.
	NS *os.File
	// Config and Files are the interface for the sandbox to serve
	// (AttachNetwork) and its packet socket.
	Config *Config
	Files  []*os.File
	// Warning, if not empty, says what the sandbox cannot reach and
	// why (no iptables: no masquerading beyond the host).
	Warning string

	hostLink string
	nat      []string // the iptables rule's arguments, after -A or -D
}

// The sandbox's interface, named as a container's usually is.
const privateLink = "eth0"

// NewPrivate sets a private network up. The caller needs CAP_NET_ADMIN
// and CAP_NET_RAW on the host, and must Close it once the sandbox is
// gone.
func NewPrivate() (_ *Private, err error) {
	p := &Private{}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.NS, err = newNamespace(); err != nil {
		return nil, err
	}
	// Choosing a free subnet and taking it are one step for every
	// `magawa do` of the host.
	lock, err := lockPrivate()
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	sweepStaleRules()
	subnet, err := freeSubnet()
	if err != nil {
		return nil, err
	}
	hostAddr := subnet.Addr().Next()
	sandboxAddr := hostAddr.Next()
	p.hostLink = fmt.Sprintf("magawa%d", os.Getpid()%100000000)
	if err := addVeth(p.hostLink, privateLink, int(p.NS.Fd())); err != nil {
		p.hostLink = ""
		return nil, fmt.Errorf("making a veth pair: %w", err)
	}
	index, err := linkIndex(p.hostLink)
	if err != nil {
		return nil, err
	}
	if err := addAddress(index, netip.PrefixFrom(hostAddr, subnet.Bits())); err != nil {
		return nil, fmt.Errorf("the host's end of the veth: %w", err)
	}
	if err := setUp(index); err != nil {
		return nil, fmt.Errorf("the host's end of the veth: %w", err)
	}
	err = InNamespace(p.NS, func() error {
		index, err := linkIndex(privateLink)
		if err != nil {
			return err
		}
		if err := setUp(index); err != nil {
			return err
		}
		links, err := listLinks()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Index != index {
				continue
			}
			// IPv6 off: the host's stack configures none of its own.
			if err := releaseAddresses(l); err != nil {
				return err
			}
			l.Addresses = []netip.Prefix{netip.PrefixFrom(sandboxAddr, subnet.Bits())}
			f, err := packetSocket(index)
			if err != nil {
				return err
			}
			p.Files = append(p.Files, f)
			p.Config = &Config{
				Links:  []Link{l},
				Routes: []Route{{Dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Gateway: hostAddr, Index: index}},
			}
			return nil
		}
		return fmt.Errorf("the sandbox's end of the veth is not up")
	})
	if err != nil {
		return nil, fmt.Errorf("the sandbox's end of the veth: %w", err)
	}
	p.Warning = p.forward(subnet)
	return p, nil
}

// lockFile serializes the setting up of private networks.
const lockFile = "/run/magawa-do-network.lock"

// lockPrivate takes the lock; closing the file releases it.
func lockPrivate() (*os.File, error) {
	f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("the private network's lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("the private network's lock: %w", err)
	}
	return f, nil
}

// newNamespace makes a network namespace and returns a descriptor of
// it: a thread enters a new one, opens it, and goes back.
func newNamespace() (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			c <- result{nil, err}
			return
		}
		defer self.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			c <- result{nil, fmt.Errorf("a network namespace: %w", err)}
			return
		}
		ns, err := os.Open("/proc/thread-self/ns/net")
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		c <- result{ns, err}
	}()
	r := <-c
	return r.f, r.err
}

// freeSubnet picks a /30 of 10.222.0.0/16 that no route and no address
// of the host's covers.
func freeSubnet() (netip.Prefix, error) {
	routes, err := listRoutes()
	if err != nil {
		return netip.Prefix{}, err
	}
	addrs, err := listAddresses()
	if err != nil {
		return netip.Prefix{}, err
	}
	taken := func(p netip.Prefix) bool {
		for _, r := range routes {
			if r.Dst.Bits() > 0 && r.Dst.Overlaps(p) {
				return true
			}
		}
		for _, as := range addrs {
			for _, a := range as {
				if a.Overlaps(p) {
					return true
				}
			}
		}
		return false
	}
	for range 64 {
		n := rand.N(1 << 14)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 222, byte(n >> 6), byte(n<<2) & 0xfc}), 30)
		if !taken(p) {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("no free /30 in 10.222.0.0/16 for the sandbox's network")
}

// forward lets the host route the sandbox's packets on, masqueraded
// behind the host's own addresses; it returns a warning when it cannot.
// Forwarding is the host's setting for every interface, and is left on
// (as Docker and runsc leave it).
func (p *Private) forward(subnet netip.Prefix) string {
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0); err != nil {
		return fmt.Sprintf("the sandbox reaches the host only: turning forwarding on: %v", err)
	}
	iptables := findIptables()
	if iptables == "" {
		return "the sandbox reaches the host only: no iptables to masquerade its packets with"
	}
	rule := natRule(subnet.String(), p.hostLink)
	if out, err := exec.Command(iptables, append([]string{"-w", "-t", "nat", "-A"}, rule...)...).CombinedOutput(); err != nil {
		return fmt.Sprintf("the sandbox reaches the host only: iptables: %v: %s", err, out)
	}
	p.nat = rule
	return ""
}

// natRule is the masquerading rule of the private network on subnet
// whose host end is link, after iptables' -A or -D.
func natRule(subnet, link string) []string {
	return []string{"POSTROUTING", "-s", subnet, "!", "-o", link, "-m", "comment", "--comment", "magawa do " + link, "-j", "MASQUERADE"}
}

// staleRule matches a masquerading rule of natRule's as iptables -S
// prints it.
var staleRule = regexp.MustCompile(`^-A POSTROUTING -s (\S+) ! -o (magawa\d+) -m comment --comment "magawa do (magawa\d+)" -j MASQUERADE$`)

// sweepStaleRules deletes the masquerading rules of private networks
// whose veth is gone: a `magawa do` killed with SIGKILL cannot Close,
// and while its veth goes with its namespace, its rule would stay. The
// caller holds lockPrivate, so no rule is swept while its network is
// being made.
func sweepStaleRules() {
	iptables := findIptables()
	if iptables == "" {
		return
	}
	out, err := exec.Command(iptables, "-w", "-t", "nat", "-S", "POSTROUTING").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		m := staleRule.FindStringSubmatch(line)
		if m == nil || m[2] != m[3] {
			continue
		}
		if _, err := linkIndex(m[2]); err == nil {
			continue // a running sandbox's
		}
		exec.Command(iptables, append([]string{"-w", "-t", "nat", "-D"}, natRule(m[1], m[2])...)...).Run()
	}
}

// findIptables looks for iptables on PATH and where Debian puts it
// (PATH may lack the sbin directories, as a user's or a test's does).
func findIptables() string {
	if p, err := exec.LookPath("iptables"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/iptables", "/sbin/iptables"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Close takes the network down: the veth pair (the sandbox's end goes
// with the host's) and the masquerading rule.
func (p *Private) Close() {
	if p.nat != nil {
		if iptables := findIptables(); iptables != "" {
			exec.Command(iptables, append([]string{"-w", "-t", "nat", "-D"}, p.nat...)...).Run()
		}
		p.nat = nil
	}
	if p.hostLink != "" {
		deleteLink(p.hostLink)
		p.hostLink = ""
	}
	for _, f := range p.Files {
		f.Close()
	}
	p.Files = nil
	if p.NS != nil {
		p.NS.Close()
		p.NS = nil
	}
}
