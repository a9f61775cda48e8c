package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/internal/network/rtnl"
)

// ErrServed says that the namespace's interface already has its frames
// redirected to a device that is there: another VM sandbox of the same
// namespace (a pod's) serves it.
var ErrServed = errors.New("its frames already go to another sandbox's device")

// RedirectToTap gives a VM sandbox the Ethernet interface of its
// network namespace, the way Kata Containers' "tcfilter" model does:
// the supervisor, process pid, made the tap device tap in that
// namespace for QEMU's NIC; RedirectToTap adds an ingress qdisc to the
// interface and to the tap, each with a filter redirecting every frame
// to the other's egress, brings the tap up, and takes the interface's
// addresses from the host's stack, as Takeover does. It returns the
// interface's configuration (its MAC address, which the guest's NIC
// takes, so that what the veth's peer sends to it is the guest's), or
// an empty one when the namespace has no Ethernet interface that is up.
//
// The VM has one NIC: a namespace with more than one such interface is
// refused. One whose interface is already redirected to another live
// device gets ErrServed and is left alone. The caller needs
// CAP_NET_ADMIN in that namespace.
func RedirectToTap(pid int, tap string) (*Config, error) {
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, fmt.Errorf("the sandbox's network namespace: %w", err)
	}
	defer ns.Close()
	if own, err := isOwnNamespace(ns); err != nil {
		return nil, err
	} else if own {
		return nil, errors.New("the sandbox is in the host's network namespace: its interfaces are not the sandbox's to take")
	}
	var cfg *Config
	err = InNamespace(ns, func() error {
		var err error
		cfg, err = redirectToTap(tap)
		return err
	})
	return cfg, err
}

func redirectToTap(tap string) (*Config, error) {
	links, err := listLinks()
	if err != nil {
		return nil, err
	}
	kinds, err := linkKinds()
	if err != nil {
		return nil, err
	}
	var candidates []Link
	for _, l := range links {
		// Not the tap, nor another VM's (a pod's containers share a
		// namespace).
		if l.Name != tap && kinds[l.Index] != "tun" {
			candidates = append(candidates, l)
		}
	}
	if len(candidates) == 0 {
		return &Config{}, nil
	}
	if len(candidates) > 1 {
		var names []string
		for _, l := range candidates {
			names = append(names, l.Name)
		}
		return nil, fmt.Errorf("the VM sandbox has one NIC, and the namespace has %d interfaces for it: %s", len(names), strings.Join(names, ", "))
	}
	link := candidates[0]
	tapIndex, err := linkIndex(tap)
	if err != nil {
		return nil, fmt.Errorf("the VM's tap device: %w", err)
	}
	addrs, err := listAddresses()
	if err != nil {
		return nil, err
	}
	routes, err := listRoutes()
	if err != nil {
		return nil, err
	}
	link.Addresses = addrs[link.Index]
	cfg := &Config{Links: []Link{link}}
	for _, r := range routes {
		if r.Index == link.Index {
			cfg.Routes = append(cfg.Routes, r)
		}
	}
	if err := claimIngress(link); err != nil {
		return nil, err
	}
	if err := joinToTap(link, tapIndex, tap); err != nil {
		deleteIngressQdisc(link.Index)
		deleteIngressQdisc(tapIndex)
		return nil, fmt.Errorf("interface %s: %w", link.Name, err)
	}
	return cfg, nil
}

// claimIngress gives the interface an ingress qdisc of this sandbox's.
// One that is there already is a dead sandbox's when every filter of it
// redirects to a device that is gone (a container deleted while its
// namespace stays, as a namespace the bundle names does), and is
// replaced; one that redirects to a live device is another sandbox's
// (ErrServed); any other is someone else's and left alone.
func claimIngress(link Link) error {
	err := addIngressQdisc(link.Index)
	if !errors.Is(err, unix.EEXIST) {
		if err != nil {
			return fmt.Errorf("interface %s: its ingress qdisc: %w", link.Name, err)
		}
		return nil
	}
	targets, own, err := ingressActions(link.Index)
	if err != nil {
		return fmt.Errorf("interface %s: %w", link.Name, err)
	}
	if !own || len(targets) == 0 || slices.Contains(targets, -1) {
		return fmt.Errorf("interface %s has traffic control filters of its own: it is left alone", link.Name)
	}
	for _, t := range targets {
		if t > 0 {
			if linkExists(t) {
				return fmt.Errorf("interface %s: %w", link.Name, ErrServed)
			}
		}
	}
	if err := deleteIngressQdisc(link.Index); err != nil {
		return fmt.Errorf("interface %s: removing a dead sandbox's ingress qdisc: %w", link.Name, err)
	}
	if err := addIngressQdisc(link.Index); err != nil {
		return fmt.Errorf("interface %s: its ingress qdisc: %w", link.Name, err)
	}
	return nil
}

// joinToTap redirects link's frames to the tap and the tap's to link,
// brings the tap up with link's MTU, and takes link's addresses from
// the host's stack.
func joinToTap(link Link, tapIndex int32, tap string) error {
	if err := addIngressQdisc(tapIndex); err != nil {
		return fmt.Errorf("the tap's ingress qdisc: %w", err)
	}
	if err := addRedirect(link.Index, tapIndex); err != nil {
		return fmt.Errorf("redirecting its frames to the tap: %w", err)
	}
	if err := addRedirect(tapIndex, link.Index); err != nil {
		return fmt.Errorf("redirecting the tap's frames to it: %w", err)
	}
	// The host's stack has nothing to say on the tap: no IPv6
	// link-local address, router solicitations or DAD of its own.
	err := os.WriteFile("/proc/sys/net/ipv6/conf/"+tap+"/disable_ipv6", []byte("1"), 0)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("turning IPv6 off on the tap: %w", err)
	}
	err = rtnl.Request(unix.RTM_NEWLINK, 0, rtnl.IfInfomsg(tapIndex, unix.IFF_UP, unix.IFF_UP), rtnl.Uint32(unix.IFLA_MTU, link.MTU))
	if err != nil {
		return fmt.Errorf("bringing the tap up: %w", err)
	}
	return releaseAddresses(link)
}

// linkKinds returns the kind of every interface that has one ("veth",
// "tun", ...), by index.
func linkKinds() (map[int32]string, error) {
	msgs, err := rtnl.Dump(unix.RTM_GETLINK, rtnl.IfInfomsg(0, 0, 0))
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	kinds := map[int32]string{}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
			continue
		}
		attrs, err := rtnl.ParseAttrs(m.Data[unix.SizeofIfInfomsg:])
		if err != nil {
			return nil, fmt.Errorf("listing interfaces: %w", err)
		}
		info, ok := rtnl.Find(attrs, unix.IFLA_LINKINFO)
		if !ok {
			continue
		}
		infos, err := rtnl.ParseAttrs(info)
		if err != nil {
			return nil, fmt.Errorf("listing interfaces: %w", err)
		}
		if kind, ok := rtnl.Find(infos, unix.IFLA_INFO_KIND); ok {
			kinds[int32(binary.NativeEndian.Uint32(m.Data[4:]))] = rtnl.CString(kind)
		}
	}
	return kinds, nil
}

// linkExists reports whether the namespace has an interface index.
func linkExists(index int32) bool {
	_, err := net.InterfaceByIndex(int(index))
	return err == nil
}
