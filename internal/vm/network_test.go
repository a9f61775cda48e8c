package vm

import (
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/internal/network"
)

func TestTapName(t *testing.T) {
	a, b := TapName("ctr-a"), TapName(strings.Repeat("f", 64))
	for _, name := range []string{a, b} {
		if len(name) >= unix.IFNAMSIZ || !strings.HasPrefix(name, "mgwtap") {
			t.Errorf("TapName = %q: want mgwtap and at most %d bytes", name, unix.IFNAMSIZ-1)
		}
	}
	if a == b || TapName("ctr-a") != a {
		t.Errorf("TapName: %q and %q: want one name per ID, always the same", a, b)
	}
}

func TestNetworkRequest(t *testing.T) {
	cfg := &network.Config{
		Links: []network.Link{{
			Index: 7, Name: "eth0", MTU: 1450, HardwareAddr: []byte{0x02, 0x42, 0x0a, 0x58, 0, 7},
			Addresses: []netip.Prefix{netip.MustParsePrefix("10.88.0.7/16"), netip.MustParsePrefix("fd00::7/64")},
		}},
		Routes: []network.Route{
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.88.0.1"), Index: 7},
			{Dst: netip.MustParsePrefix("10.88.0.0/16"), Index: 7},
			{Dst: netip.MustParsePrefix("10.1.0.0/16"), Gateway: netip.MustParseAddr("10.1.0.1"), Index: 9},
		},
	}
	req, err := networkRequest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Interfaces) != 1 {
		t.Fatalf("interfaces %v", req.Interfaces)
	}
	nic := req.Interfaces[0]
	if nic.Mac != "02:42:0a:58:00:07" || nic.Name != "eth0" || nic.Mtu != 1450 ||
		strings.Join(nic.Addresses, " ") != "10.88.0.7/16 fd00::7/64" {
		t.Errorf("interface %v", nic)
	}
	var routes []string
	for _, r := range req.Routes {
		routes = append(routes, r.Destination+" "+r.Gateway+" "+r.Interface)
	}
	if strings.Join(routes, "|") != "0.0.0.0/0 10.88.0.1 eth0|10.88.0.0/16  eth0" {
		t.Errorf("routes %q: want the interface's two, the connected one without a gateway", routes)
	}
	cfg.Links = append(cfg.Links, network.Link{Index: 9, Name: "eth1", HardwareAddr: make([]byte, 6)})
	if _, err := networkRequest(cfg); err == nil {
		t.Error("two interfaces for one NIC: accepted")
	}
}
