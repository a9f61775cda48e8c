package suite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Veth is a network namespace with one end of a veth pair in it, the
// other end on the host, as a container engine sets one up: the
// network cases' servers run in the namespace (in a container whose
// bundle names it, or natively under `ip netns exec`) and their clients
// on the host.
type Veth struct {
	NS        string // the namespace's name in /run/netns
	Host      string // the host's end
	Peer      string // the namespace's end
	HostAddr  string
	PeerAddr  string // the server's address
	prefixLen int
}

// NewVeth makes the namespace and the veth with ip(8). The names and the
// subnet are this process's own, so two runs do not collide.
func NewVeth(ctx context.Context) (*Veth, error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("ip is not installed (apt-get install iproute2)")
	}
	pid := os.Getpid()
	v := &Veth{
		NS:       fmt.Sprintf("mbench-%d", pid),
		Host:     fmt.Sprintf("mbh%d", pid),
		Peer:     fmt.Sprintf("mbc%d", pid),
		HostAddr: fmt.Sprintf("10.219.%d.1", pid%250),
		PeerAddr: fmt.Sprintf("10.219.%d.2", pid%250), prefixLen: 24,
	}
	steps := [][]string{
		{"netns", "add", v.NS},
		{"link", "add", v.Host, "type", "veth", "peer", "name", v.Peer},
		{"link", "set", v.Peer, "netns", v.NS},
		{"addr", "add", fmt.Sprintf("%s/%d", v.HostAddr, v.prefixLen), "dev", v.Host},
		{"link", "set", v.Host, "up"},
		{"-n", v.NS, "link", "set", "lo", "up"},
	}
	for _, args := range steps {
		if err := ip(ctx, args...); err != nil {
			v.Close()
			return nil, err
		}
	}
	if err := v.Reset(ctx); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// Path is the namespace's file, as a bundle's linux.namespaces names it.
func (v *Veth) Path() string { return "/run/netns/" + v.NS }

// Reset gives the namespace's end its address and the default route
// again. A netstack that takes the interface over (magawa's and runsc's
// --network=sandbox) takes its addresses away from the host's stack and
// leaves them gone when it exits; each server starts from the same
// state.
func (v *Veth) Reset(ctx context.Context) error {
	for _, args := range [][]string{
		{"-n", v.NS, "addr", "flush", "dev", v.Peer},
		{"-n", v.NS, "addr", "add", fmt.Sprintf("%s/%d", v.PeerAddr, v.prefixLen), "dev", v.Peer},
		{"-n", v.NS, "link", "set", v.Peer, "up"},
		{"-n", v.NS, "route", "replace", "default", "via", v.HostAddr},
	} {
		if err := ip(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// NewLoopbackNS makes a network namespace with only its loopback
// interface, up, and returns its name: the namespace of every container
// outside the veth cases, as an engine (Docker, CNI) would set one up.
// A namespace the runtime makes itself has lo down, and a netstack that
// copies the namespace's interfaces (runsc's --network=sandbox) then has
// no loopback at all.
func NewLoopbackNS(ctx context.Context) (string, error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return "", fmt.Errorf("ip is not installed (apt-get install iproute2)")
	}
	name := fmt.Sprintf("mbench-lo-%d", os.Getpid())
	if err := ip(ctx, "netns", "add", name); err != nil {
		return "", err
	}
	if err := ip(ctx, "-n", name, "link", "set", "lo", "up"); err != nil {
		DeleteNS(name)
		return "", err
	}
	return name, nil
}

// DeleteNS removes the network namespace name.
func DeleteNS(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exec.CommandContext(ctx, "ip", "netns", "del", name).Run()
}

// Close removes the namespace (and with it the veth's end in it, and so
// the pair) and the host's end if it is still there.
func (v *Veth) Close() {
	DeleteNS(v.NS)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exec.CommandContext(ctx, "ip", "link", "del", v.Host).Run()
}

func ip(ctx context.Context, args ...string) error {
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
