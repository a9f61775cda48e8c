package netlink

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
)

// TestAgainstLinux sends the same requests to Linux, in a network
// namespace of its own whose lo is up (what a container without a
// network has), and to sockets over a fakeStack holding the same, and
// compares the answers: datagram by datagram, message by message,
// headers, errors, extended acknowledgments, fixed parts and
// attributes, in order. What this package knowingly does otherwise is
// normalized away (see normalize) or left out of the steps (see the
// package doc's "Not implemented"). It needs root (unshare); the
// reference is Linux 6.18, and an older kernel answers with fewer link
// attributes.
func TestAgainstLinux(t *testing.T) {
	if os.Getuid() != 0 {
		skip(t, "needs root to make a network namespace")
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil || !strings.HasPrefix(unix.ByteSliceToString(u.Release[:]), "6.18.") {
		// Not skip: another kernel is no missing piece of the
		// environment, only another reference.
		t.Skipf("the reference is Linux 6.18; this is %s", unix.ByteSliceToString(u.Release[:]))
	}
	steps := linuxSteps()
	native, err := runNative(steps)
	if err != nil {
		skip(t, "no network namespace: %v", err)
	}
	ours := runOurs(t, steps)
	for i, st := range steps {
		n, o := native[i], ours[i]
		if n.sendErr != o.sendErr {
			t.Errorf("%s: send: %v, Linux %v", st.name, o.sendErr, n.sendErr)
			continue
		}
		if n.recvErr != o.recvErr {
			t.Errorf("%s: receive: %v, Linux %v", st.name, o.recvErr, n.recvErr)
		}
		if len(n.dgrams) != len(o.dgrams) {
			t.Errorf("%s: %d datagrams, Linux %d:\n ours  %s\n Linux %s", st.name, len(o.dgrams), len(n.dgrams),
				describe(t, o.dgrams), describe(t, n.dgrams))
			continue
		}
		for j := range n.dgrams {
			compareDatagram(t, fmt.Sprintf("%s: datagram %d", st.name, j), o.dgrams[j], n.dgrams[j])
			if !bytes.Equal(n.control[j], o.control[j]) {
				t.Errorf("%s: datagram %d: control %x, Linux %x", st.name, j, o.control[j], n.control[j])
			}
		}
	}
}

// skip skips with a reason, or fails when MAGAWA_TEST_NO_SKIP is set
// (CI provides everything, so nothing may be skipped there).
func skip(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("MAGAWA_TEST_NO_SKIP") != "" {
		t.Fatalf("MAGAWA_TEST_NO_SKIP is set, so failing instead of skipping: %s", msg)
	}
	t.Skip(msg)
}

// step is a request, sent on a new socket with the options given.
type step struct {
	name string
	opts []int // SOL_NETLINK or SOL_SOCKET options set to 1: netlinkOpt(name) or socketOpt(name)
	msg  []byte
	// unprivileged steps are sent without CAP_NET_ADMIN; they come
	// last (Linux's thread drops the capability for good).
	unprivileged bool
	// settle waits, before the step, for Linux to finish with the IPv6
	// addresses just added: they are tentative, without their local
	// routes, until duplicate address detection (which lo skips) has
	// run in a work queue.
	settle bool
}

func netlinkOpt(name int) int { return name }
func socketOpt(name int) int  { return -name }

var strictOpts = []int{netlinkOpt(unix.NETLINK_GET_STRICT_CHK), netlinkOpt(unix.NETLINK_EXT_ACK)}

func linuxSteps() []step {
	a4 := func(ip string) []byte { return netip.MustParseAddr(ip).AsSlice() }
	addAddr := func(fam, plen uint8, flags uint16, ip string) []byte {
		return req(unix.RTM_NEWADDR, ackFlags|flags, 9, ifa(fam, plen, 1), rattr(unix.IFA_LOCAL, a4(ip)), rattr(unix.IFA_ADDRESS, a4(ip)))
	}
	delAddr := func(fam, plen uint8, ip string) []byte {
		return req(unix.RTM_DELADDR, ackFlags, 10, ifa(fam, plen, 1), rattr(unix.IFA_LOCAL, a4(ip)), rattr(unix.IFA_ADDRESS, a4(ip)))
	}
	dumps := func(suffix string) []step {
		var out []step
		for _, opts := range [][]int{nil, strictOpts} {
			name := suffix
			if opts != nil {
				name += " (strict)"
			}
			out = append(out,
				step{name: "link dump" + name, opts: opts, msg: req(unix.RTM_GETLINK, dumpFlags, 1, ifi(0, 0, 0), rattr(unix.IFLA_EXT_MASK, u32b(1)))},
				step{name: "address dump" + name, opts: opts, msg: req(unix.RTM_GETADDR, dumpFlags, 2, ifa(0, 0, 0))},
				step{name: "IPv4 address dump" + name, opts: opts, msg: req(unix.RTM_GETADDR, dumpFlags, 2, ifa(unix.AF_INET, 0, 0))},
				step{name: "IPv6 address dump" + name, opts: opts, msg: req(unix.RTM_GETADDR, dumpFlags, 2, ifa(unix.AF_INET6, 0, 0))},
				step{name: "route dump" + name, opts: opts, msg: req(unix.RTM_GETROUTE, dumpFlags, 3, rtm(0))},
				step{name: "IPv4 route dump" + name, opts: opts, msg: req(unix.RTM_GETROUTE, dumpFlags, 3, rtm(unix.AF_INET))},
				step{name: "IPv6 route dump" + name, opts: opts, msg: req(unix.RTM_GETROUTE, dumpFlags, 3, rtm(unix.AF_INET6))},
			)
		}
		return append(out,
			step{name: "ip route" + suffix, opts: strictOpts, msg: req(unix.RTM_GETROUTE, dumpFlags, 4, rtm(unix.AF_INET), rattr(unix.RTA_TABLE, u32b(unix.RT_TABLE_MAIN)))},
			step{name: "ip -6 route" + suffix, opts: strictOpts, msg: req(unix.RTM_GETROUTE, dumpFlags, 4, rtm(unix.AF_INET6), rattr(unix.RTA_TABLE, u32b(unix.RT_TABLE_MAIN)))},
			step{name: "ip route show table local" + suffix, opts: strictOpts, msg: req(unix.RTM_GETROUTE, dumpFlags, 4, rtm(unix.AF_INET), rattr(unix.RTA_TABLE, u32b(unix.RT_TABLE_LOCAL)))},
		)
	}
	getLo := req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(1, 0, 0), rattr(unix.IFLA_EXT_MASK, u32b(9)))
	longHeader := req(unix.RTM_GETLINK, ackFlags, 6, ifi(1, 0, 0))
	ne.PutUint32(longHeader, 1000)
	oddLength := req(unix.RTM_GETLINK, ackFlags, 6, ifi(1, 0, 0))
	ne.PutUint32(oddLength, 17)

	steps := dumps("")
	steps = append(steps, []step{
		{name: "Go's link dump", msg: goRIBRequest(unix.RTM_GETLINK)},
		{name: "Go's address dump", msg: goRIBRequest(unix.RTM_GETADDR)},
		{name: "old route dump", msg: req(unix.RTM_GETROUTE, dumpFlags, 1, []byte{unix.AF_INET})},
		// busybox ip writes struct rtgenmsg and 3 bytes of whatever.
		{name: "busybox link dump", msg: req(unix.RTM_GETLINK, dumpFlags, 1, []byte{0, 0x9e, 0xe0, 0xdc})},
		{name: "busybox address dump", msg: req(unix.RTM_GETADDR, dumpFlags, 1, []byte{0, 0x9e, 0xe0, 0xdc})},
		{name: "busybox route dump", msg: req(unix.RTM_GETROUTE, dumpFlags, 1, []byte{unix.AF_INET, 0x9e, 0xe0, 0xdc})},
		{name: "bridge link dump", msg: req(unix.RTM_GETLINK, dumpFlags, 1, ifinfomsg{Family: unix.AF_BRIDGE}.bytes())},
		{name: "link dump of family 99", msg: req(unix.RTM_GETLINK, dumpFlags, 1, ifinfomsg{Family: 99}.bytes())},
		{name: "IPv6 link dump", msg: req(unix.RTM_GETLINK, dumpFlags, 1, ifinfomsg{Family: unix.AF_INET6}.bytes())},
		{name: "IPv6 link dump (strict)", opts: strictOpts, msg: req(unix.RTM_GETLINK, dumpFlags, 1, ifinfomsg{Family: unix.AF_INET6}.bytes())},
		{name: "IPv6 link dump by index", opts: strictOpts, msg: req(unix.RTM_GETLINK, dumpFlags, 1, ifinfomsg{Family: unix.AF_INET6, Index: 1}.bytes())},
		{name: "IPv6 link dump with attributes", opts: strictOpts, msg: req(unix.RTM_GETLINK, dumpFlags, 1, ifinfomsg{Family: unix.AF_INET6}.bytes(), rattr(unix.IFLA_EXT_MASK, u32b(1)))},
		{name: "address dump of family 99", msg: req(unix.RTM_GETADDR, dumpFlags, 1, ifa(99, 0, 0))},
		{name: "route dump of family 99", msg: req(unix.RTM_GETROUTE, dumpFlags, 1, rtm(99))},
		{name: "address dump by index", opts: strictOpts, msg: req(unix.RTM_GETADDR, dumpFlags, 1, ifa(0, 0, 1))},
		{name: "address dump by a missing index", opts: strictOpts, msg: req(unix.RTM_GETADDR, dumpFlags, 1, ifa(unix.AF_INET, 0, 5))},
		{name: "address dump, unclean header", opts: strictOpts, msg: req(unix.RTM_GETADDR, dumpFlags, 1, ifa(unix.AF_INET, 8, 0))},
		{name: "link dump by index", opts: strictOpts, msg: req(unix.RTM_GETLINK, dumpFlags, 1, ifi(1, 0, 0))},
		{name: "link dump, short header", opts: strictOpts, msg: req(unix.RTM_GETLINK, dumpFlags, 1, []byte{0})},
		{name: "link dump acknowledged", msg: req(unix.RTM_GETLINK, dumpFlags|unix.NLM_F_ACK, 1, ifi(0, 0, 0))},
		{name: "route dump, missing table", opts: strictOpts, msg: req(unix.RTM_GETROUTE, dumpFlags, 1, rtm(unix.AF_INET), rattr(unix.RTA_TABLE, u32b(7)))},
		{name: "route dump, unclean header", opts: strictOpts, msg: req(unix.RTM_GETROUTE, dumpFlags, 1, rtmsg{Family: unix.AF_INET, DstLen: 8}.bytes())},
		{name: "rule dump", msg: req(unix.RTM_GETRULE, dumpFlags, 1, rtm(0))},
		{name: "IPv4 rule dump", opts: strictOpts, msg: req(unix.RTM_GETRULE, dumpFlags, 1, rtm(unix.AF_INET))},
		{name: "IPv6 rule dump", msg: req(unix.RTM_GETRULE, dumpFlags, 1, rtm(unix.AF_INET6))},
		{name: "neighbor dump", msg: req(unix.RTM_GETNEIGH, dumpFlags, 1, []byte{0, 0, 0, 0})},
		{name: "two dumps", msg: slices.Concat(req(unix.RTM_GETLINK, dumpFlags, 1, ifi(0, 0, 0)), req(unix.RTM_GETADDR, dumpFlags, 2, ifa(0, 0, 0)))},

		{name: "get lo", msg: getLo},
		{name: "get lo with control", msg: getLo, opts: []int{netlinkOpt(unix.NETLINK_PKTINFO), socketOpt(unix.SO_PASSCRED)}},
		{name: "get lo by name", msg: req(unix.RTM_GETLINK, ackFlags, 5, ifi(0, 0, 0), rattr(unix.IFLA_IFNAME, []byte("lo\x00")))},
		{name: "get lo by a name without NUL", msg: req(unix.RTM_GETLINK, ackFlags, 5, ifi(0, 0, 0), rattr(unix.IFLA_IFNAME, []byte("lo")))},
		{name: "get no link", opts: strictOpts, msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(0, 0, 0))},
		{name: "get a missing link", msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(99, 0, 0))},
		{name: "get a missing link, capped", opts: []int{netlinkOpt(unix.NETLINK_CAP_ACK)}, msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(99, 0, 0))},
		{name: "get a missing name", msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(0, 0, 0), rattr(unix.IFLA_IFNAME, []byte("nosuch\x00")))},
		{name: "get a name too long", opts: strictOpts, msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(0, 0, 0), rattr(unix.IFLA_IFNAME, []byte("abcdefghijklmnopq\x00")))},
		{name: "get with a short attribute", msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(1, 0, 0), rattr(unix.IFLA_EXT_MASK, []byte{1, 0}))},
		{name: "get with a malformed attribute", msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(1, 0, 0), []byte{2, 0, 3, 0})},
		{name: "get with trailing bytes", msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(1, 0, 0), []byte{1, 2})},
		{name: "get with trailing bytes (strict)", opts: strictOpts, msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(1, 0, 0), []byte{1, 2})},
		{name: "get with an unclean header (strict)", opts: strictOpts, msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, ifi(1, 1, 0))},
		{name: "get a short header", msg: req(unix.RTM_GETLINK, unix.NLM_F_REQUEST, 5, []byte{0, 0, 0, 0})},
		{name: "get an IPv4 address", msg: req(unix.RTM_GETADDR, unix.NLM_F_REQUEST, 5, ifa(unix.AF_INET, 0, 0))},
		{name: "get no IPv6 address", msg: req(unix.RTM_GETADDR, unix.NLM_F_REQUEST, 5, ifa(unix.AF_INET6, 0, 0))},
		{name: "get ::1", msg: req(unix.RTM_GETADDR, unix.NLM_F_REQUEST, 5, ifa(unix.AF_INET6, 0, 0), rattr(unix.IFA_ADDRESS, a4("::1")))},

		{name: "not a request", msg: req(unix.RTM_GETLINK, unix.NLM_F_ACK, 6, ifi(1, 0, 0))},
		{name: "NLMSG_NOOP", msg: req(unix.NLMSG_NOOP, ackFlags, 6)},
		{name: "no payload", msg: req(unix.RTM_GETLINK, ackFlags, 6)},
		{name: "past RTM_MAX", msg: req(0x7c, unix.NLM_F_REQUEST, 6, []byte{0, 0, 0, 0})},
		{name: "an unknown GET", msg: req(0x7a, dumpFlags, 6, []byte{0, 0, 0, 0})},
		{name: "a length past the datagram", msg: slices.Concat(longHeader, getLo)},
		{name: "a length of 17", msg: oddLength[:20]},
		{name: "trailing bytes", msg: slices.Concat(getLo, []byte{1, 2, 3})},
		{name: "two requests", msg: slices.Concat(getLo, getLo)},

		{name: "add 10.1.2.3/24", opts: strictOpts, msg: addAddr(unix.AF_INET, 24, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "10.1.2.3")},
		{name: "add 2001:db8::1/64", opts: strictOpts, msg: addAddr(unix.AF_INET6, 64, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "2001:db8::1")},
		{name: "add fe80::5/64", opts: strictOpts, msg: addAddr(unix.AF_INET6, 64, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "fe80::5")},
		{name: "add 10.9.9.9/32", opts: strictOpts, msg: addAddr(unix.AF_INET, 32, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "10.9.9.9")},
		{name: "add 127.0.0.1/8 again", opts: strictOpts, msg: addAddr(unix.AF_INET, 8, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "127.0.0.1")},
		{name: "add ::1/128 again", opts: strictOpts, msg: addAddr(unix.AF_INET6, 128, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "::1")},
		{name: "replace 2001:db8::1/64", opts: strictOpts, msg: addAddr(unix.AF_INET6, 64, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, "2001:db8::1")},
		{name: "add to AF_UNSPEC", msg: req(unix.RTM_NEWADDR, ackFlags, 9, ifa(0, 0, 1))},
		{name: "add without IFA_LOCAL", opts: strictOpts, msg: req(unix.RTM_NEWADDR, ackFlags, 9, ifa(unix.AF_INET, 8, 1))},
		{name: "add a /33", opts: strictOpts, msg: addAddr(unix.AF_INET, 33, 0, "10.0.0.1")},
		{name: "add to a missing link", opts: strictOpts, msg: req(unix.RTM_NEWADDR, ackFlags, 9, ifa(unix.AF_INET, 8, 9), rattr(unix.IFA_LOCAL, a4("10.0.0.1")))},
		{name: "add IPv6 without address", msg: req(unix.RTM_NEWADDR, ackFlags, 9, ifa(unix.AF_INET6, 64, 1))},
		{name: "add a short IFA_LOCAL", msg: req(unix.RTM_NEWADDR, ackFlags, 9, ifa(unix.AF_INET, 8, 1), rattr(unix.IFA_LOCAL, []byte{10}))},
	}...)
	with := dumps(" with addresses")
	with[0].settle = true
	steps = append(steps, with...)
	steps = append(steps, []step{
		{name: "get 2001:db8::1", msg: req(unix.RTM_GETADDR, unix.NLM_F_REQUEST, 5, ifa(unix.AF_INET6, 0, 0), rattr(unix.IFA_ADDRESS, a4("2001:db8::1")))},
		{name: "delete 10.1.2.3/24", opts: strictOpts, msg: delAddr(unix.AF_INET, 24, "10.1.2.3")},
		{name: "delete 10.1.2.3/24 again", opts: strictOpts, msg: delAddr(unix.AF_INET, 24, "10.1.2.3")},
		{name: "delete 2001:db8::1/64", opts: strictOpts, msg: delAddr(unix.AF_INET6, 64, "2001:db8::1")},
		{name: "delete 2001:db8::1/64 again", opts: strictOpts, msg: delAddr(unix.AF_INET6, 64, "2001:db8::1")},
		{name: "delete fe80::5/64", msg: delAddr(unix.AF_INET6, 64, "fe80::5")},
		{name: "delete 10.9.9.9/32", msg: delAddr(unix.AF_INET, 32, "10.9.9.9")},
		{name: "delete from a missing link", opts: strictOpts, msg: req(unix.RTM_DELADDR, ackFlags, 10, ifa(unix.AF_INET, 8, 9))},
	}...)
	steps = append(steps, dumps(" after deletes")...)
	steps = append(steps, []step{
		{name: "ip link set lo down", msg: req(unix.RTM_NEWLINK, ackFlags, 11, ifi(1, 0, unix.IFF_UP))},
		{name: "link dump with lo down", msg: req(unix.RTM_GETLINK, dumpFlags, 1, ifi(0, 0, 0))},
		{name: "IPv4 route dump with lo down", msg: req(unix.RTM_GETROUTE, dumpFlags, 3, rtm(unix.AF_INET))},
		{name: "IPv4 address dump with lo down", msg: req(unix.RTM_GETADDR, dumpFlags, 2, ifa(unix.AF_INET, 0, 0))},
		{name: "ip link set lo up", msg: req(unix.RTM_SETLINK, ackFlags, 11, ifi(0, unix.IFF_UP, unix.IFF_UP), rattr(unix.IFLA_IFNAME, []byte("lo\x00")))},
		{name: "set nothing", msg: req(unix.RTM_NEWLINK, ackFlags, 11, ifi(1, 0, 0))},
		{name: "set a missing link", msg: req(unix.RTM_SETLINK, ackFlags, 11, ifi(9, 1, 1))},
		{name: "set no link", msg: req(unix.RTM_SETLINK, ackFlags, 11, ifi(0, 1, 1))},
		{name: "new link, exclusive", msg: req(unix.RTM_NEWLINK, ackFlags|unix.NLM_F_EXCL, 11, ifi(1, 1, 1))},
		{name: "make a link", opts: strictOpts, msg: req(unix.RTM_NEWLINK, ackFlags|unix.NLM_F_CREATE, 11, ifi(9, 1, 1))},
		{name: "new link, missing", msg: req(unix.RTM_NEWLINK, ackFlags, 11, ifi(9, 1, 1))},
		{name: "delete lo", msg: req(unix.RTM_DELLINK, ackFlags, 11, ifi(1, 0, 0))},
		{name: "delete a missing link", msg: req(unix.RTM_DELLINK, ackFlags, 11, ifi(9, 0, 0))},
	}...)
	steps = append(steps, dumps(" after down and up")...)
	return append(steps, []step{
		{name: "add without CAP_NET_ADMIN", unprivileged: true, msg: addAddr(unix.AF_INET, 24, unix.NLM_F_CREATE, "10.1.2.3")},
		{name: "set lo without CAP_NET_ADMIN", unprivileged: true, msg: req(unix.RTM_NEWLINK, ackFlags, 11, ifi(1, 0, unix.IFF_UP))},
		{name: "get lo without CAP_NET_ADMIN", unprivileged: true, msg: getLo},
	}...)
}

// result is what a step got.
type result struct {
	sendErr, recvErr error
	dgrams, control  [][]byte
}

// runNative runs steps on Linux, on a thread moved to a new network
// namespace, which it brings lo up in. The thread never returns to the
// Go scheduler: it ends with its goroutine.
func runNative(steps []step) ([]result, error) {
	type out struct {
		r   []result
		err error
	}
	ch := make(chan out)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- out{err: err}
			return
		}
		up := nativeStep(step{msg: req(unix.RTM_NEWLINK, ackFlags, 1, ifi(1, unix.IFF_UP, unix.IFF_UP))})
		if up.sendErr != nil || len(up.dgrams) != 1 {
			ch <- out{err: fmt.Errorf("bringing lo up: %v", up.sendErr)}
			return
		}
		var rs []result
		privileged := true
		for _, st := range steps {
			if st.unprivileged && privileged {
				if err := dropNetAdmin(); err != nil {
					ch <- out{err: err}
					return
				}
				privileged = false
			}
			if st.settle {
				settle()
			}
			rs = append(rs, nativeStep(st))
		}
		ch <- out{r: rs}
	}()
	o := <-ch
	return o.r, o.err
}

func nativeStep(st step) result {
	var r result
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		r.sendErr = err
		return r
	}
	defer unix.Close(fd)
	for _, o := range st.opts {
		level, name := unix.SOL_NETLINK, o
		if o < 0 {
			level, name = unix.SOL_SOCKET, -o
		}
		unix.SetsockoptInt(fd, level, name, 1)
	}
	if r.sendErr = unix.Sendto(fd, st.msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); r.sendErr != nil {
		return r
	}
	buf, oob := make([]byte, 32768), make([]byte, 256)
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_DONTWAIT)
		if err != nil {
			if err != unix.EAGAIN {
				r.recvErr = err
			}
			return r
		}
		r.dgrams = append(r.dgrams, slices.Clone(buf[:n]))
		r.control = append(r.control, slices.Clone(oob[:oobn]))
	}
}

// settle waits, for a second at most, until no IPv6 address is
// tentative.
func settle() {
	for range 100 {
		tentative := false
		for _, d := range nativeStep(step{msg: req(unix.RTM_GETADDR, dumpFlags, 1, ifa(unix.AF_INET6, 0, 0))}).dgrams {
			for b := d; len(b) >= hdrLen+sizeofIfaddrmsg; {
				h := parseHeader(b)
				if h.Len < hdrLen || int(h.Len) > len(b) {
					break
				}
				if h.Type == unix.RTM_NEWADDR && b[hdrLen+2]&unix.IFA_F_TENTATIVE != 0 {
					tentative = true
				}
				b = b[align(int(h.Len)):]
			}
		}
		if !tentative {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dropNetAdmin drops CAP_NET_ADMIN from the calling thread's effective
// set.
func dropNetAdmin() error {
	h := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	if err := unix.Capget(&h, &d[0]); err != nil {
		return err
	}
	d[0].Effective &^= 1 << unix.CAP_NET_ADMIN
	return unix.Capset(&h, &d[0])
}

// runOurs runs steps on sockets over a fakeStack, by a caller with the
// test's process ID, so that port IDs are Linux's.
func runOurs(t *testing.T, steps []step) []result {
	st := newFakeStack()
	caps := func(int) bool { return true }
	c := &socket.Caller{PID: int32(os.Getpid()), HasCap: func(cp int) bool { return caps(cp) }}
	var rs []result
	for _, step := range steps {
		if step.unprivileged {
			caps = func(cp int) bool { return cp != unix.CAP_NET_ADMIN }
		}
		s, err := New(st, unix.SOCK_RAW, unix.NETLINK_ROUTE)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range step.opts {
			level, name := unix.SOL_NETLINK, o
			if o < 0 {
				level, name = unix.SOL_SOCKET, -o
			}
			if err := s.SetSockopt(c, level, name, socket.Int(1)); err != nil {
				t.Fatal(err)
			}
		}
		var r result
		_, r.sendErr = s.Send(c, &socket.Message{Data: step.msg, To: sockaddr(0, 0)}, 0, nil)
		for r.sendErr == nil {
			got, err := s.Recv(c, 32768, unix.MSG_DONTWAIT, nil)
			if err != nil {
				if err != unix.EAGAIN {
					r.recvErr = err
				}
				break
			}
			r.dgrams = append(r.dgrams, got.Data)
			r.control = append(r.control, got.Control)
		}
		s.Release()
		rs = append(rs, r)
	}
	return rs
}

// describe lists the messages of datagrams, for a failure.
func describe(t *testing.T, ds [][]byte) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("[")
		for _, m := range parseMsgs(t, d) {
			fmt.Fprintf(&b, " %d/%#x", m.Type, m.Flags)
			if m.Type == unix.NLMSG_ERROR || m.Type == unix.NLMSG_DONE {
				fmt.Fprintf(&b, "(%v)", errOf(t, m))
			}
		}
		b.WriteString(" ]")
	}
	return b.String()
}

func compareDatagram(t *testing.T, where string, ours, linux []byte) {
	t.Helper()
	om, lm := parseMsgs(t, ours), parseMsgs(t, linux)
	if len(om) != len(lm) {
		t.Errorf("%s: %d messages, Linux %d:\n ours  %s\n Linux %s", where, len(om), len(lm),
			describe(t, [][]byte{ours}), describe(t, [][]byte{linux}))
		return
	}
	for i := range om {
		compareMessage(t, fmt.Sprintf("%s, message %d", where, i), om[i], lm[i])
	}
}

func compareMessage(t *testing.T, where string, o, l nlmsg) {
	t.Helper()
	if o.Type != l.Type || o.Seq != l.Seq || o.PID != l.PID {
		t.Errorf("%s: type %d seq %d pid %d, Linux %d %d %d", where, o.Type, o.Seq, o.PID, l.Type, l.Seq, l.PID)
		return
	}
	var fixed int
	switch o.Type {
	case unix.NLMSG_ERROR, unix.NLMSG_DONE:
		compareError(t, where, o, l)
		return
	case unix.RTM_NEWLINK:
		fixed = sizeofIfinfomsg
	case unix.RTM_NEWADDR:
		fixed = sizeofIfaddrmsg
	case unix.RTM_NEWROUTE, unix.RTM_NEWRULE:
		fixed = sizeofRtmsg
	default:
		t.Errorf("%s: type %d", where, o.Type)
		return
	}
	if o.Flags != l.Flags {
		t.Errorf("%s: flags %#x, Linux %#x", where, o.Flags, l.Flags)
	}
	l.payload = slices.Clone(l.payload)
	if o.Type == unix.RTM_NEWADDR {
		// An IPv6 address Linux has just been given is tentative until
		// its duplicate address detection, which lo skips, has run (in
		// a work queue: a dump may come first).
		l.payload[2] &^= unix.IFA_F_TENTATIVE
	}
	if !bytes.Equal(o.payload[:fixed], l.payload[:fixed]) {
		t.Errorf("%s: header %x, Linux %x", where, o.payload[:fixed], l.payload[:fixed])
	}
	oa := normalize(t, o.Type, attrList(t, o.payload[fixed:]))
	la := normalize(t, o.Type, attrList(t, l.payload[fixed:]))
	if !slices.EqualFunc(oa, la, attrEqual) {
		t.Errorf("%s: attributes\n ours  %s\n Linux %s", where, attrString(oa), attrString(la))
	}
}

// compareError compares NLMSG_ERROR and NLMSG_DONE messages: the error,
// the request echoed, and the extended acknowledgment's message (Linux
// may add the offending attribute's offset and policy, which this
// package does not; NLM_F_ACK_TLVS then differs too).
func compareError(t *testing.T, where string, o, l nlmsg) {
	t.Helper()
	if errOf(t, o) != errOf(t, l) {
		t.Errorf("%s: error %v, Linux %v", where, errOf(t, o), errOf(t, l))
		return
	}
	echo := 0
	if o.Type == unix.NLMSG_ERROR {
		echo = hdrLen
		if o.Flags&unix.NLM_F_CAPPED == 0 && len(o.payload) >= 4+hdrLen {
			echo = align(int(ne.Uint32(o.payload[4:])))
		}
	}
	if len(o.payload) < 4+echo || len(l.payload) < 4+echo || !bytes.Equal(o.payload[4:4+echo], l.payload[4:4+echo]) {
		t.Errorf("%s: echoes %x, Linux %x", where, o.payload[4:], l.payload[4:])
		return
	}
	omsg := attrMap(t, o.payload[4+echo:])[unix.NLMSGERR_ATTR_MSG]
	lmsg := attrMap(t, l.payload[4+echo:])[unix.NLMSGERR_ATTR_MSG]
	if string(omsg) != string(lmsg) {
		t.Errorf("%s: extended ack %q, Linux %q", where, omsg, lmsg)
	}
	if f := uint16(unix.NLM_F_ACK_TLVS); o.Flags&^f != l.Flags&^f || (omsg != nil) != (l.Flags&f != 0 && lmsg != nil) {
		t.Errorf("%s: flags %#x, Linux %#x", where, o.Flags, l.Flags)
	}
}

// normalize removes from a message's attributes what differs by
// design: links' counters (the stack keeps none), IFLA_AF_SPEC but its
// IPv6 flags and address generation mode, the empty nests Linux adds
// for devlink and DPLL; addresses' creation and update times.
func normalize(t *testing.T, typ uint16, as []attr) []attr {
	var out []attr
	for _, a := range as {
		a.data = slices.Clone(a.data)
		switch {
		case typ == unix.RTM_NEWLINK && (a.typ == unix.NLA_F_NESTED|0x3e || a.typ == unix.NLA_F_NESTED|0x41) && len(a.data) == 0:
			continue
		case typ == unix.RTM_NEWLINK && (a.typ == unix.IFLA_STATS64 || a.typ == unix.IFLA_STATS):
			clear(a.data)
		case typ == unix.RTM_NEWLINK && a.typ == unix.IFLA_AF_SPEC:
			var keep []byte
			for _, f := range attrList(t, a.data) {
				if f.typ == unix.AF_INET6 {
					keep = rattr(f.typ, inet6Kept(t, f.data))
				}
			}
			a.data = keep
		case typ == unix.RTM_NEWLINK && a.typ == unix.IFLA_PROTINFO:
			a.data = inet6Kept(t, a.data)
		case typ == unix.RTM_NEWADDR && a.typ == unix.IFA_CACHEINFO && len(a.data) >= 16:
			clear(a.data[8:16])
		case typ == unix.RTM_NEWADDR && a.typ == unix.IFA_FLAGS && len(a.data) == 4:
			ne.PutUint32(a.data, ne.Uint32(a.data)&^unix.IFA_F_TENTATIVE)
		}
		out = append(out, a)
	}
	return out
}

// inet6Kept is what IPv6's link attributes hold here: the flags and
// the address generation mode.
func inet6Kept(t *testing.T, b []byte) []byte {
	var keep []byte
	for _, x := range attrList(t, b) {
		if x.typ == unix.IFLA_INET6_FLAGS || x.typ == unix.IFLA_INET6_ADDR_GEN_MODE {
			keep = append(keep, rattr(x.typ, x.data)...)
		}
	}
	return keep
}

func attrString(as []attr) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, " %d:%x", a.typ, a.data)
	}
	return b.String()
}
