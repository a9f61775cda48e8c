package agent

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/internal/network/rtnl"
	"magawa/internal/vm/agentapi"
)

func TestParseNetworkRequestRefuses(t *testing.T) {
	good := func() *agentapi.ConfigureNetworkRequest {
		return &agentapi.ConfigureNetworkRequest{
			Interfaces: []*agentapi.NetworkInterface{{Mac: "02:00:00:00:00:01", Name: "eth0", Mtu: 1500, Addresses: []string{"10.0.0.2/24"}}},
			Routes:     []*agentapi.NetworkRoute{{Destination: "0.0.0.0/0", Gateway: "10.0.0.1", Interface: "eth0"}},
		}
	}
	if _, _, err := parseNetworkRequest(good()); err != nil {
		t.Fatalf("a good request: %v", err)
	}
	for name, edit := range map[string]func(*agentapi.ConfigureNetworkRequest){
		"bad MAC":         func(r *agentapi.ConfigureNetworkRequest) { r.Interfaces[0].Mac = "02:00:00:00:01" },
		"long MAC":        func(r *agentapi.ConfigureNetworkRequest) { r.Interfaces[0].Mac = "02:00:00:00:00:00:00:01" },
		"multicast MAC":   func(r *agentapi.ConfigureNetworkRequest) { r.Interfaces[0].Mac = "01:00:5e:00:00:01" },
		"empty name":      func(r *agentapi.ConfigureNetworkRequest) { r.Interfaces[0].Name = "" },
		"long name":       func(r *agentapi.ConfigureNetworkRequest) { r.Interfaces[0].Name = "sixteen-chars-xx" },
		"slash in name":   func(r *agentapi.ConfigureNetworkRequest) { r.Interfaces[0].Name = "a/b" },
		"tiny MTU":        func(r *agentapi.ConfigureNetworkRequest) { r.Interfaces[0].Mtu = 10 },
		"bad address":     func(r *agentapi.ConfigureNetworkRequest) { r.Interfaces[0].Addresses[0] = "10.0.0.300/24" },
		"bare address":    func(r *agentapi.ConfigureNetworkRequest) { r.Interfaces[0].Addresses[0] = "10.0.0.2" },
		"unknown nic":     func(r *agentapi.ConfigureNetworkRequest) { r.Routes[0].Interface = "eth1" },
		"bad destination": func(r *agentapi.ConfigureNetworkRequest) { r.Routes[0].Destination = "default" },
		"mixed versions":  func(r *agentapi.ConfigureNetworkRequest) { r.Routes[0].Gateway = "fd00::1" },
		"twice":           func(r *agentapi.ConfigureNetworkRequest) { r.Interfaces = append(r.Interfaces, r.Interfaces[0]) },
	} {
		r := good()
		edit(r)
		if _, _, err := parseNetworkRequest(r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// inNewNetns runs fn on a thread of its own in a new network namespace;
// the thread is not used again.
func inNewNetns(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			t.Errorf("unshare(CLONE_NEWNET): %v", err)
			return
		}
		fn()
	}()
	<-done
}

// TestConfigureNetwork gives a NIC (one end of a veth pair, in a
// namespace of the test's) a host interface's identity, as the agent
// gives the VM's virtio-net NIC the container's veth's, and reads it
// back as ip(8) would.
func TestConfigureNetwork(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	inNewNetns(t, func() {
		if err := setLoopbackUp(); err != nil {
			t.Error(err)
			return
		}
		const vethInfoPeer = 1
		peer := append(rtnl.IfInfomsg(0, 0, 0), rtnl.String(unix.IFLA_IFNAME, "nic1").Encode()...)
		err := rtnl.Request(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, rtnl.IfInfomsg(0, 0, 0),
			rtnl.String(unix.IFLA_IFNAME, "nic0"),
			rtnl.Nest(unix.IFLA_LINKINFO, rtnl.String(unix.IFLA_INFO_KIND, "veth"),
				rtnl.Nest(unix.IFLA_INFO_DATA, rtnl.Attr{Type: vethInfoPeer, Value: peer})))
		if err != nil {
			t.Errorf("a veth pair: %v", err)
			return
		}
		req := &agentapi.ConfigureNetworkRequest{
			Interfaces: []*agentapi.NetworkInterface{{
				Mac: "02:42:0a:58:00:07", Name: "eth0", Mtu: 1400,
				Addresses: []string{"10.88.0.7/16", "fd00:88::7/64"},
			}},
			Routes: []*agentapi.NetworkRoute{
				{Destination: "0.0.0.0/0", Gateway: "10.88.0.1", Interface: "eth0"},
				{Destination: "10.88.0.0/16", Interface: "eth0"}, // the kernel's own
				{Destination: "10.200.0.0/24", Gateway: "10.88.0.254", Interface: "eth0"},
				{Destination: "::/0", Gateway: "fd00:88::1", Interface: "eth0"},
			},
		}
		if err := configureNetwork(req); err != nil {
			t.Errorf("configureNetwork: %v", err)
			return
		}
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			t.Errorf("no eth0 after: %v", err)
			return
		}
		if ifc.HardwareAddr.String() != "02:42:0a:58:00:07" || ifc.MTU != 1400 || ifc.Flags&net.FlagUp == 0 {
			t.Errorf("eth0: %s, MTU %d, %v; want the host's MAC address, MTU 1400, up", ifc.HardwareAddr, ifc.MTU, ifc.Flags)
		}
		addrs, _ := ifc.Addrs()
		var got []string
		for _, a := range addrs {
			got = append(got, a.String())
		}
		for _, want := range []string{"10.88.0.7/16", "fd00:88::7/64"} {
			if !slices.Contains(got, want) {
				t.Errorf("eth0's addresses %v lack %s", got, want)
			}
		}
		if lo, err := net.InterfaceByName("lo"); err != nil || lo.Flags&net.FlagUp == 0 {
			t.Errorf("lo is not up: %v", err)
		}
		routes := mainRoutes(t)
		for _, want := range []string{"0.0.0.0/0 via 10.88.0.1", "10.200.0.0/24 via 10.88.0.254", "::/0 via fd00:88::1", "10.88.0.0/16"} {
			if !slices.Contains(routes, want+" dev "+ifc.Name) {
				t.Errorf("routes %q lack %q", routes, want)
			}
		}
		// Again, with a second interface: eth0 keeps its NIC (found by
		// its MAC address), eth1 takes the other end of the pair, and
		// a third finds no NIC.
		eth1 := &agentapi.NetworkInterface{Mac: "02:00:00:00:00:09", Name: "eth1"}
		req = &agentapi.ConfigureNetworkRequest{Interfaces: []*agentapi.NetworkInterface{eth1, req.Interfaces[0]}}
		if err := configureNetwork(req); err != nil {
			t.Errorf("two interfaces on two NICs: %v", err)
		}
		if again, err := net.InterfaceByName("eth0"); err != nil || again.Index != ifc.Index {
			t.Errorf("eth0 moved to another NIC: %v", err)
		}
		if second, err := net.InterfaceByName("eth1"); err != nil || second.HardwareAddr.String() != eth1.Mac {
			t.Errorf("eth1: %v %v", second, err)
		}
		req.Interfaces = append(req.Interfaces, &agentapi.NetworkInterface{Mac: "02:00:00:00:00:0a", Name: "eth2"})
		if err := configureNetwork(req); err == nil || !strings.Contains(err.Error(), "no network device left") {
			t.Errorf("three interfaces on two NICs: %v", err)
		}
	})
}

// mainRoutes lists the main table's unicast routes as "DST [via GW] dev
// NAME".
func mainRoutes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, family := range []byte{unix.AF_INET, unix.AF_INET6} {
		h := make([]byte, unix.SizeofRtMsg)
		h[0] = family
		msgs, err := rtnl.Dump(unix.RTM_GETROUTE, h)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if len(m.Data) < unix.SizeofRtMsg || m.Data[4] != unix.RT_TABLE_MAIN || m.Data[7] != unix.RTN_UNICAST {
				continue
			}
			attrs, _ := rtnl.ParseAttrs(m.Data[unix.SizeofRtMsg:])
			dst := netip.IPv4Unspecified()
			if family == unix.AF_INET6 {
				dst = netip.IPv6Unspecified()
			}
			if v, ok := rtnl.Find(attrs, unix.RTA_DST); ok {
				dst, _ = netip.AddrFromSlice(v)
			}
			s := netip.PrefixFrom(dst, int(m.Data[1])).String()
			if v, ok := rtnl.Find(attrs, unix.RTA_GATEWAY); ok {
				gw, _ := netip.AddrFromSlice(v)
				s += " via " + gw.String()
			}
			if v, ok := rtnl.Find(attrs, unix.RTA_OIF); ok && len(v) == 4 {
				if ifc, err := net.InterfaceByIndex(int(binary.NativeEndian.Uint32(v))); err == nil {
					s += " dev " + ifc.Name
				}
			}
			out = append(out, s)
		}
	}
	return out
}
