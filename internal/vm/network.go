package vm

import (
	"fmt"
	"hash/fnv"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"magawa/internal/network"
	"magawa/internal/vm/agentapi"
)

// The VM's network (--network=sandbox, Kata's "tcfilter" model): the
// supervisor, in the container's network namespace and still holding
// its capabilities, makes a tap device there at boot, which QEMU serves
// as the VM's virtio-net NIC. Once the create hooks have set the
// namespace up, the runtime (package network, RedirectToTap) joins the
// tap and the namespace's veth with traffic control filters that
// redirect every frame of one to the other, takes the veth's addresses
// from the host's stack, and hands its configuration over the control
// socket; the supervisor has the agent give it to the guest's NIC.

// TapName is the name of the tap device of the VM sandbox of container
// id in its network namespace: the runtime's create and the supervisor
// both derive it, and containers that share a namespace (a pod's) have
// taps of their own.
func TapName(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("mgwtap%08x", h.Sum32())
}

// openTap makes the tap device name in the calling thread's network
// namespace and returns its descriptor. The device is not persistent:
// it goes once every descriptor of it (QEMU's) is closed. It carries a
// virtio-net header, so that QEMU can pass the guest's checksum and
// segmentation offloads through instead of the guest computing them.
func openTap(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("the VM's network device: /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("the VM's network device %s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("the VM's network device %s: TUNSETIFF: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}

// networkRequest is the agent's request for the interfaces the runtime
// redirected to the VM. The VM has one NIC.
func networkRequest(cfg *network.Config) (*agentapi.ConfigureNetworkRequest, error) {
	if len(cfg.Links) > 1 {
		return nil, fmt.Errorf("the VM sandbox has one NIC: %d interfaces cannot be its", len(cfg.Links))
	}
	req := &agentapi.ConfigureNetworkRequest{}
	names := map[int32]string{}
	for _, l := range cfg.Links {
		if len(l.HardwareAddr) != 6 {
			return nil, fmt.Errorf("interface %s: a MAC address of %d bytes", l.Name, len(l.HardwareAddr))
		}
		nic := &agentapi.NetworkInterface{Mac: net.HardwareAddr(l.HardwareAddr).String(), Name: l.Name, Mtu: l.MTU}
		for _, p := range l.Addresses {
			nic.Addresses = append(nic.Addresses, p.String())
		}
		req.Interfaces = append(req.Interfaces, nic)
		names[l.Index] = l.Name
	}
	for _, r := range cfg.Routes {
		name, ok := names[r.Index]
		if !ok {
			continue
		}
		ar := &agentapi.NetworkRoute{Destination: r.Dst.String(), Interface: name}
		if r.Gateway.IsValid() {
			ar.Gateway = r.Gateway.String()
		}
		req.Routes = append(req.Routes, ar)
	}
	return req, nil
}
