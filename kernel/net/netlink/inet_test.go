package netlink

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/net/inet"
)

// TestInetStack checks that the sandbox's stack, as kernel/net/inet
// makes it, answers as the fakeStack does, which answers as Linux does
// (TestAgainstLinux): the same bytes for the same requests, before and
// after changes made through netlink.
func TestInetStack(t *testing.T) {
	real, err := inet.NewStack()
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	fake := newFakeStack()
	r, f := newSock(t, real, root), newSock(t, fake, root)
	same := func(what string, msg []byte) [][]byte {
		t.Helper()
		r.send(msg)
		f.send(msg)
		rd, fd := r.recvAll(), f.recvAll()
		if strings.HasPrefix(what, "addresses") {
			// netstack keeps an interface's addresses in a map: their
			// order is not the order they came in, nor any other.
			rd, fd = sortedMessages(t, rd), sortedMessages(t, fd)
		}
		if !slices.EqualFunc(rd, fd, bytes.Equal) {
			t.Errorf("%s:\n inet %s\n fake %s", what, describe(t, rd), describe(t, fd))
			for i := range min(len(rd), len(fd)) {
				compareDatagram(t, what, rd[i], fd[i])
			}
		}
		return rd
	}
	dumps := func(when string) {
		t.Helper()
		same("links"+when, req(unix.RTM_GETLINK, dumpFlags, 1, ifi(0, 0, 0)))
		same("addresses"+when, req(unix.RTM_GETADDR, dumpFlags, 2, ifa(0, 0, 0)))
		same("routes"+when, req(unix.RTM_GETROUTE, dumpFlags, 3, rtm(0)))
	}
	dumps("")

	ip := []byte{10, 1, 2, 3}
	same("add 10.1.2.3/24", req(unix.RTM_NEWADDR, ackFlags|unix.NLM_F_CREATE|unix.NLM_F_EXCL, 4,
		ifa(unix.AF_INET, 24, 1), rattr(unix.IFA_LOCAL, ip), rattr(unix.IFA_ADDRESS, ip)))
	ip6 := []byte{0x20, 1, 0xd, 0xb8, 15: 1}
	same("add 2001:db8::1/64", req(unix.RTM_NEWADDR, ackFlags|unix.NLM_F_CREATE|unix.NLM_F_EXCL, 4,
		ifa(unix.AF_INET6, 64, 1), rattr(unix.IFA_ADDRESS, ip6)))
	dumps(" with addresses")
	same("delete 10.1.2.3/24", req(unix.RTM_DELADDR, ackFlags, 5, ifa(unix.AF_INET, 24, 1), rattr(unix.IFA_LOCAL, ip)))
	same("delete 2001:db8::1/64", req(unix.RTM_DELADDR, ackFlags, 5, ifa(unix.AF_INET6, 64, 1), rattr(unix.IFA_ADDRESS, ip6)))
	dumps(" after deletes")

	// ip link set lo down, up.
	same("lo down", req(unix.RTM_NEWLINK, ackFlags, 6, ifi(1, 0, unix.IFF_UP)))
	if ifc, _ := real.InterfaceByIndex(1); ifc.Flags&unix.IFF_UP != 0 {
		// netstack calls every interface up; only IFF_RUNNING tells a
		// disabled one.
		t.Logf("inet.Stack reports lo down as %#x, with IFF_UP", ifc.Flags)
	}
	same("lo up", req(unix.RTM_NEWLINK, ackFlags, 6, ifi(1, unix.IFF_UP, unix.IFF_UP)))
	dumps(" after down and up")
}

// sortedMessages returns the messages of ds, one per datagram, sorted.
func sortedMessages(t *testing.T, ds [][]byte) [][]byte {
	var out [][]byte
	for _, d := range ds {
		for _, m := range parseMsgs(t, d) {
			out = append(out, append(m.header.bytes(), m.payload...))
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}
