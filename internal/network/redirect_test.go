package network

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testTap makes a tap device as the VM sandbox's supervisor does, in
// the calling thread's namespace, non-blocking so that reads can time
// out.
func testTap(t *testing.T, name string) *os.File {
	t.Helper()
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Skipf("no tun device: %v", err)
	}
	ifr, _ := unix.NewIfreq(name)
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		t.Fatalf("TUNSETIFF %s: %v", name, err)
	}
	return os.NewFile(uintptr(fd), name)
}

// vnetHdrLen is struct virtio_net_hdr's size, which precedes each frame
// on a tap with IFF_VNET_HDR.
const vnetHdrLen = 10

// arpFrame is an Ethernet frame with an ARP request or reply.
func arpFrame(op uint16, dst, src net.HardwareAddr, senderIP, targetIP netip.Addr) []byte {
	b := make([]byte, 14+28)
	copy(b, dst)
	copy(b[6:], src)
	binary.BigEndian.PutUint16(b[12:], unix.ETH_P_ARP)
	a := b[14:]
	binary.BigEndian.PutUint16(a, 1)                 // Ethernet
	binary.BigEndian.PutUint16(a[2:], unix.ETH_P_IP) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], op)
	copy(a[8:], src)
	s4, t4 := senderIP.As4(), targetIP.As4()
	copy(a[14:], s4[:])
	copy(a[24:], t4[:])
	return b
}

// TestRedirectToTap sets up a namespace as an engine would for a VM
// sandbox (a veth whose peer is in a second namespace, an address, a
// default route) and a tap as the supervisor makes it, redirects them,
// and checks what the VM would see: an ARP request written into the tap
// (by the guest's NIC, with the veth's MAC) reaches the peer, whose
// answer comes out of the tap. A second sandbox of the namespace finds
// the interface served; once the first tap is gone, its filters are a
// dead sandbox's and a new tap gets the interface.
func TestRedirectToTap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	ns, err := newNamespace()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	peerNS, err := newNamespace()
	if err != nil {
		t.Fatal(err)
	}
	defer peerNS.Close()
	ours := netip.MustParsePrefix("10.99.0.2/24")
	peerAddr := netip.MustParseAddr("10.99.0.1")
	var tap *os.File
	err = InNamespace(ns, func() error {
		if err := addVeth("eth0", "peer0", int(peerNS.Fd())); err != nil {
			return err
		}
		index, err := linkIndex("eth0")
		if err != nil {
			return err
		}
		if err := setUp(index); err != nil {
			return err
		}
		if err := addAddress(index, ours); err != nil {
			return err
		}
		if err := addDefaultRoute(index, peerAddr); err != nil {
			return err
		}
		tap = testTap(t, "tapvm0")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { tap.Close() }()
	err = InNamespace(peerNS, func() error {
		index, err := linkIndex("peer0")
		if err != nil {
			return err
		}
		if err := addAddress(index, netip.PrefixFrom(peerAddr, 24)); err != nil {
			return err
		}
		return setUp(index)
	})
	if err != nil {
		t.Fatal(err)
	}

	var cfg *Config
	var vethIndex, tapIndex int32
	var vethTargets, tapTargets []int32
	var left map[int32][]netip.Prefix
	err = InNamespace(ns, func() error {
		if cfg, err = redirectToTap("tapvm0"); err != nil {
			return err
		}
		vethIndex, _ = linkIndex("eth0")
		tapIndex, _ = linkIndex("tapvm0")
		if vethTargets, _, err = ingressActions(vethIndex); err != nil {
			return err
		}
		if tapTargets, _, err = ingressActions(tapIndex); err != nil {
			return err
		}
		left, err = listAddresses()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Links) != 1 || cfg.Links[0].Name != "eth0" || !slices.Equal(cfg.Links[0].Addresses[:1], []netip.Prefix{ours}) {
		t.Fatalf("config %+v: want eth0 with %v", cfg, ours)
	}
	mac := net.HardwareAddr(cfg.Links[0].HardwareAddr)
	if !slices.ContainsFunc(cfg.Routes, func(r Route) bool { return r.Dst.Bits() == 0 && r.Gateway == peerAddr }) {
		t.Errorf("routes %+v lack the default route via %v", cfg.Routes, peerAddr)
	}
	if !slices.Equal(vethTargets, []int32{tapIndex}) || !slices.Equal(tapTargets, []int32{vethIndex}) {
		t.Errorf("redirects: eth0's %v, the tap's %v; want eth0 (%d) and the tap (%d) to each other", vethTargets, tapTargets, vethIndex, tapIndex)
	}
	if len(left[vethIndex]) != 0 {
		t.Errorf("the host's stack still has %v on eth0", left[vethIndex])
	}

	// The guest asks for the peer's MAC address through the tap.
	req := arpFrame(1, net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac, ours.Addr(), peerAddr)
	if _, err := tap.Write(append(make([]byte, vnetHdrLen), req...)); err != nil {
		t.Fatalf("writing to the tap: %v", err)
	}
	tap.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 65536)
	for {
		n, err := tap.Read(buf)
		if err != nil {
			t.Fatalf("no ARP reply from the peer came out of the tap: %v", err)
		}
		f := buf[vnetHdrLen:n]
		if len(f) >= 42 && binary.BigEndian.Uint16(f[12:]) == unix.ETH_P_ARP && binary.BigEndian.Uint16(f[20:]) == 2 {
			if !bytes.Equal(f[:6], mac) || !bytes.Equal(f[28:32], peerAddr.AsSlice()) {
				t.Errorf("ARP reply %x: want it from %v to %v", f, peerAddr, mac)
			}
			break
		}
	}

	// A second VM of the namespace: the interface is the first's.
	err = InNamespace(ns, func() error {
		second := testTap(t, "tapvm1")
		defer second.Close()
		_, err := redirectToTap("tapvm1")
		return err
	})
	if !errors.Is(err, ErrServed) {
		t.Errorf("a second tap in the namespace: %v, want ErrServed", err)
	}

	// The first VM is gone; a new one gets the interface, whose
	// addresses the first took away.
	tap.Close()
	err = InNamespace(ns, func() error {
		third := testTap(t, "tapvm2")
		defer third.Close()
		cfg, err := redirectToTap("tapvm2")
		if err != nil {
			return err
		}
		if len(cfg.Links) != 1 {
			t.Errorf("after the first tap went: %+v, want eth0", cfg)
		}
		index, _ := linkIndex("tapvm2")
		targets, _, err := ingressActions(vethIndex)
		if !slices.Equal(targets, []int32{index}) {
			t.Errorf("eth0's redirects %v, want the new tap's (%d)", targets, index)
		}
		return err
	})
	if err != nil {
		t.Fatalf("a new tap after the first went: %v", err)
	}
}
