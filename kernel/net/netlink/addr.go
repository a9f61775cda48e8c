package netlink

import (
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"

	"magawa/kernel/net/inet"
)

// This file serves addresses (RTM_GETADDR, RTM_NEWADDR, RTM_DELADDR):
// the Stack's, described as Linux's inet_fill_ifaddr() and
// inet6_fill_ifaddr() describe the same. Every address is permanent and
// created when the sandbox started (its cache info says so); an IPv4
// address's scope is host for 127.0.0.0/8 and global otherwise (what
// ip(8) asks for when not told: a scope asked for is not kept), an IPv6
// address's the one its kind has. Linux: net/ipv4/devinet.c,
// net/ipv6/addrconf.c.

const (
	// ifaProto and ifaProtoKernelLo are IFA_PROTO and
	// IFAPROT_KERNEL_LO (::1 on lo); ifaProtoKernelLL is
	// IFAPROT_KERNEL_LL (a link-local address the kernel made).
	ifaProto         = 0xb
	ifaProtoKernelLo = 1
	ifaProtoKernelLL = 3
	ifaMax           = ifaProto

	// infinity is INFINITY_LIFE_TIME: a permanent address's lifetimes.
	infinity = 0xffffffff
)

// addrPolicy4 and addrPolicy6 are Linux's ifa_ipv4_policy and
// ifa_ipv6_policy.
var (
	addrPolicy4 = &policy{
		max: ifaMax,
		min: map[uint16]int{
			unix.IFA_ADDRESS: 4, unix.IFA_LOCAL: 4, unix.IFA_BROADCAST: 4,
			unix.IFA_CACHEINFO: unix.SizeofIfaCacheinfo, unix.IFA_FLAGS: 4,
			unix.IFA_RT_PRIORITY: 4, unix.IFA_TARGET_NETNSID: 4, ifaProto: 1,
		},
		strMax: map[uint16]int{unix.IFA_LABEL: ifnamsiz - 1},
	}
	addrPolicy6 = &policy{
		max: ifaMax,
		min: map[uint16]int{
			unix.IFA_ADDRESS: 16, unix.IFA_LOCAL: 16,
			unix.IFA_CACHEINFO: unix.SizeofIfaCacheinfo, unix.IFA_FLAGS: 4,
			unix.IFA_RT_PRIORITY: 4, unix.IFA_TARGET_NETNSID: 4, ifaProto: 1,
		},
	}
)

// addrScope is an address's ifa_scope.
func addrScope(a netip.Addr) uint8 {
	switch {
	case a.Is4() && a.As4()[0] == 127, a.IsLoopback():
		return unix.RT_SCOPE_HOST
	case a.Is6() && a.IsLinkLocalUnicast():
		return unix.RT_SCOPE_LINK
	case a.Is6() && a.As16()[0] == 0xfe && a.As16()[1]&0xc0 == 0xc0: // fec0::/10
		return unix.RT_SCOPE_SITE
	}
	return unix.RT_SCOPE_UNIVERSE
}

// cacheinfo is IFA_CACHEINFO: lifetimes forever, created and updated at
// time 0.
func cacheinfo() []byte {
	b := make([]byte, unix.SizeofIfaCacheinfo)
	ne.PutUint32(b, infinity)
	ne.PutUint32(b[4:], infinity)
	return b
}

// addrMessage describes address a of ifc.
func addrMessage(m *message, a inet.InterfaceAddress, ifc inet.Interface) []byte {
	ip := a.Prefix.Addr()
	m.fixed(ifaddrmsg{
		Family: family(ip), PrefixLen: uint8(a.Prefix.Bits()), Flags: unix.IFA_F_PERMANENT,
		Scope: addrScope(ip), Index: uint32(a.Index),
	}.bytes())
	if ip.Is4() {
		m.attr(unix.IFA_ADDRESS, ip.AsSlice())
		m.attr(unix.IFA_LOCAL, ip.AsSlice())
		if ifc.Flags&unix.IFF_BROADCAST != 0 && a.Prefix.Bits() < 31 {
			m.attr(unix.IFA_BROADCAST, broadcast(a.Prefix).AsSlice())
		}
		m.str(unix.IFA_LABEL, ifc.Name)
		m.u32(unix.IFA_FLAGS, unix.IFA_F_PERMANENT)
		m.attr(unix.IFA_CACHEINFO, cacheinfo())
		return m.bytes()
	}
	m.attr(unix.IFA_ADDRESS, ip.AsSlice())
	m.attr(unix.IFA_CACHEINFO, cacheinfo())
	m.u32(unix.IFA_FLAGS, unix.IFA_F_PERMANENT)
	switch {
	case ip.IsLoopback() && ifc.Flags&unix.IFF_LOOPBACK != 0:
		m.u8(ifaProto, ifaProtoKernelLo)
	case ip.IsLinkLocalUnicast() && ifc.Flags&unix.IFF_LOOPBACK == 0:
		m.u8(ifaProto, ifaProtoKernelLL)
	}
	return m.bytes()
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// broadcast is the last address of p.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	for i := range 4 {
		b[i] |= byte(host >> (24 - 8*i))
	}
	return netip.AddrFrom4(b)
}

// addresses returns the stack's addresses of family (AF_INET or
// AF_INET6) with their interfaces, as Linux lists them: by interface,
// IPv4 addresses in the Stack's order (Linux's is the order they were
// added in), IPv6 ones by scope, global first.
func addresses(st Stack, fam uint8) []ifaddr {
	ifcs := map[int32]inet.Interface{}
	for _, ifc := range st.Interfaces() {
		ifcs[ifc.Index] = ifc
	}
	var out []ifaddr
	for _, a := range st.InterfaceAddresses() {
		ifc, ok := ifcs[a.Index]
		if !ok || !a.Prefix.IsValid() || family(a.Prefix.Addr()) != fam {
			continue
		}
		out = append(out, ifaddr{a, ifc})
	}
	if fam == unix.AF_INET6 {
		slices.SortStableFunc(out, func(x, y ifaddr) int {
			if x.Index != y.Index {
				return int(x.Index) - int(y.Index)
			}
			return int(addrScope(x.Prefix.Addr())) - int(addrScope(y.Prefix.Addr()))
		})
	}
	return out
}

type ifaddr struct {
	inet.InterfaceAddress
	ifc inet.Interface
}

// families are the families a request of family f covers: its own, or
// both for AF_UNSPEC and families without a handler of their own
// (Linux's rtnl_dump_all()).
func families(f uint8) []uint8 {
	switch f {
	case unix.AF_INET, unix.AF_INET6:
		return []uint8{f}
	}
	return []uint8{unix.AF_INET, unix.AF_INET6}
}

// modPrefix is the prefix Linux's messages of a family's code carry.
func modPrefix(f uint8) string {
	if f == unix.AF_INET6 {
		return "ipv6: "
	}
	return "ipv4: "
}

// dumpAddrs dumps the addresses of family. With strict checking the
// header must be clean and may filter by interface index; without, it
// filters nothing. Linux: inet_dump_ifaddr(), inet6_dump_addr() and
// their _valid_dump_ifaddr_req().
func dumpAddrs(d *dumper, f uint8) {
	// Linux 6.18's IPv6 dump ends in its last datagram; IPv4's and the
	// dump of all families end in one of their own.
	d.foldDone = f == unix.AF_INET6
	var index uint32
	if d.r.opts.strict {
		fams := families(f)
		pre := modPrefix(fams[0])
		p := d.r.payload()
		if len(p) < sizeofIfaddrmsg {
			d.fail(errMsg(unix.EINVAL, pre+"Invalid header for address dump request"))
			return
		}
		ifm := parseIfaddrmsg(p)
		if ifm.PrefixLen != 0 || ifm.Flags != 0 || ifm.Scope != 0 {
			d.fail(errMsg(unix.EINVAL, pre+"Invalid values in header for address dump request"))
			return
		}
		if index = ifm.Index; index != 0 {
			d.flags |= unix.NLM_F_DUMP_FILTERED
			d.doneFlags |= unix.NLM_F_DUMP_FILTERED
		}
		pol := addrPolicy4
		if fams[0] == unix.AF_INET6 {
			pol = addrPolicy6
		}
		a, err := parseAttrs(attrsAfter(p, sizeofIfaddrmsg), pol, true)
		if err != nil {
			d.fail(err)
			return
		}
		if len(a) > 0 {
			// IFA_TARGET_NETNSID, the one attribute Linux takes, names
			// a namespace there is not.
			d.fail(errMsg(unix.EINVAL, pre+"Unsupported attribute in dump request"))
			return
		}
		if _, ok := d.r.stack.InterfaceByIndex(int32(index)); index != 0 && !ok {
			d.fail(errMsg(unix.ENODEV, ""))
			return
		}
	}
	for _, fam := range families(f) {
		for _, a := range addresses(d.r.stack, fam) {
			if index == 0 || uint32(a.Index) == index {
				d.add(addrMessage(d.start(unix.RTM_NEWADDR), a.InterfaceAddress, a.ifc))
			}
		}
	}
}

// addrRequest reads a request about one address: its header, its
// attributes by family's policy, and its address (IFA_LOCAL, else
// IFA_ADDRESS: the IPv6 rule, which IPv4 requests follow too as they
// always carry IFA_LOCAL).
func addrRequest(r *request, f uint8) (ifaddrmsg, attrs, *parseError) {
	p := r.payload()
	if len(p) < sizeofIfaddrmsg {
		return ifaddrmsg{}, nil, errMsg(unix.EINVAL, "")
	}
	pol := addrPolicy4
	if f == unix.AF_INET6 {
		pol = addrPolicy6
	}
	a, err := parseAttrs(attrsAfter(p, sizeofIfaddrmsg), pol, r.opts.strict)
	return parseIfaddrmsg(p), a, err
}

// addrAttr returns the address of attribute typ, if a has it.
func addrAttr(a attrs, typ uint16, f uint8) (netip.Addr, bool) {
	b, ok := a[typ]
	if !ok {
		return netip.Addr{}, false
	}
	if f == unix.AF_INET {
		return netip.AddrFrom4([4]byte(b[:4])), true
	}
	return netip.AddrFrom16([16]byte(b[:16])), true
}

// ipv6Addr is the address of an IPv6 request: IFA_LOCAL, else
// IFA_ADDRESS. Linux: addrconf.c, extract_addr().
func ipv6Addr(a attrs) (netip.Addr, bool) {
	if ip, ok := addrAttr(a, unix.IFA_LOCAL, unix.AF_INET6); ok {
		return ip, true
	}
	return addrAttr(a, unix.IFA_ADDRESS, unix.AF_INET6)
}

// getAddr answers RTM_GETADDR for one IPv6 address (IPv4 has no such
// request: EOPNOTSUPP). Linux: inet6_rtm_getaddr().
func getAddr(r *request, f uint8) answer {
	if f != unix.AF_INET6 {
		return fail(unix.EOPNOTSUPP)
	}
	ifm, a, perr := addrRequest(r, f)
	if perr != nil {
		return failWith(perr)
	}
	if r.opts.strict {
		if ifm.PrefixLen != 0 || ifm.Flags != 0 || ifm.Scope != 0 {
			return failWith(errMsg(unix.EINVAL, "ipv6: Invalid values in header for get address request"))
		}
		for typ := range a {
			if typ != unix.IFA_ADDRESS && typ != unix.IFA_LOCAL {
				return failWith(errMsg(unix.EINVAL, "ipv6: Unsupported attribute in get address request"))
			}
		}
	}
	ip, ok := ipv6Addr(a)
	if !ok {
		return fail(unix.EINVAL)
	}
	_, indexOK := r.stack.InterfaceByIndex(int32(ifm.Index))
	for _, x := range addresses(r.stack, unix.AF_INET6) {
		// An index naming no interface looks everywhere, as Linux's does.
		if x.Prefix.Addr() == ip && (!indexOK || uint32(x.Index) == ifm.Index) {
			return answer{msgs: [][]byte{addrMessage(r.reply(unix.RTM_NEWADDR, 0), x.InterfaceAddress, x.ifc)}}
		}
	}
	return fail(unix.EADDRNOTAVAIL)
}

// newAddr serves RTM_NEWADDR: an address for an interface, with its
// subnet route. An address the interface has already fails with EEXIST
// unless the request replaces it (NLM_F_REPLACE without NLM_F_EXCL),
// which changes nothing here: there is nothing else an address has.
// Linux: inet_rtm_newaddr(), inet6_rtm_newaddr().
func newAddr(r *request, f uint8) answer {
	if f != unix.AF_INET && f != unix.AF_INET6 {
		return fail(unix.EOPNOTSUPP)
	}
	ifm, a, perr := addrRequest(r, f)
	if perr != nil {
		return failWith(perr)
	}
	var ip netip.Addr
	if f == unix.AF_INET {
		if ifm.PrefixLen > 32 {
			return failWith(errMsg(unix.EINVAL, "ipv4: Invalid prefix length"))
		}
		var ok bool
		if ip, ok = addrAttr(a, unix.IFA_LOCAL, f); !ok {
			return failWith(errMsg(unix.EINVAL, "ipv4: Local address is not supplied"))
		}
		if _, ok := r.stack.InterfaceByIndex(int32(ifm.Index)); !ok {
			return failWith(errMsg(unix.ENODEV, "ipv4: Device not found"))
		}
	} else {
		var ok bool
		if ip, ok = ipv6Addr(a); !ok {
			return fail(unix.EINVAL)
		}
		if _, ok := r.stack.InterfaceByIndex(int32(ifm.Index)); !ok {
			return failWith(errMsg(unix.ENODEV, "ipv6: Unable to find the interface"))
		}
	}
	for _, x := range addresses(r.stack, f) {
		if uint32(x.Index) != ifm.Index || x.Prefix.Addr() != ip {
			continue
		}
		// Linux would keep a second IPv4 address with another prefix
		// length; the stack keeps an address once.
		if r.hdr.Flags&unix.NLM_F_EXCL != 0 || r.hdr.Flags&unix.NLM_F_REPLACE == 0 ||
			x.Prefix.Bits() != int(ifm.PrefixLen) {
			if f == unix.AF_INET {
				return failWith(errMsg(unix.EEXIST, "ipv4: Address already assigned"))
			}
			return failWith(errMsg(unix.EEXIST, "ipv6: address already assigned"))
		}
		return answer{}
	}
	if f == unix.AF_INET6 && ifm.PrefixLen > 128 {
		return failWith(errMsg(unix.EINVAL, "ipv6: Invalid prefix length"))
	}
	if err := r.stack.AddAddress(int32(ifm.Index), netip.PrefixFrom(ip, int(ifm.PrefixLen))); err != nil {
		return fail(errno(err))
	}
	return answer{}
}

// delAddr serves RTM_DELADDR. An IPv4 request removes the interface's
// first address that matches what it gives (IFA_LOCAL, IFA_LABEL, and
// IFA_ADDRESS with the prefix length), so one that gives nothing
// removes the first address; an IPv6 request names its address and
// prefix length exactly. Linux: inet_rtm_deladdr(), inet6_rtm_deladdr().
func delAddr(r *request, f uint8) answer {
	if f != unix.AF_INET && f != unix.AF_INET6 {
		return fail(unix.EOPNOTSUPP)
	}
	ifm, a, perr := addrRequest(r, f)
	if perr != nil {
		return failWith(perr)
	}
	var match func(x ifaddr) bool
	if f == unix.AF_INET {
		if _, ok := r.stack.InterfaceByIndex(int32(ifm.Index)); !ok {
			return failWith(errMsg(unix.ENODEV, "ipv4: Device not found"))
		}
		local, hasLocal := addrAttr(a, unix.IFA_LOCAL, f)
		address, hasAddress := addrAttr(a, unix.IFA_ADDRESS, f)
		match = func(x ifaddr) bool {
			switch {
			case hasLocal && x.Prefix.Addr() != local:
			case a.has(unix.IFA_LABEL) && a.str(unix.IFA_LABEL) != x.ifc.Name:
			case hasAddress && (int(ifm.PrefixLen) != x.Prefix.Bits() || !x.Prefix.Masked().Contains(address)):
			default:
				return true
			}
			return false
		}
	} else {
		ip, ok := ipv6Addr(a)
		if !ok {
			return fail(unix.EINVAL)
		}
		if ifm.PrefixLen > 128 {
			return failWith(errMsg(unix.EINVAL, "ipv6: Invalid prefix length"))
		}
		if _, ok := r.stack.InterfaceByIndex(int32(ifm.Index)); !ok {
			return failWith(errMsg(unix.ENODEV, "ipv6: Unable to find the interface"))
		}
		match = func(x ifaddr) bool { return x.Prefix.Addr() == ip && x.Prefix.Bits() == int(ifm.PrefixLen) }
	}
	for _, x := range addresses(r.stack, f) {
		if uint32(x.Index) == ifm.Index && match(x) {
			if err := r.stack.RemoveAddress(x.Index, x.Prefix); err != nil {
				return fail(errno(err))
			}
			return answer{}
		}
	}
	if f == unix.AF_INET {
		return failWith(errMsg(unix.EADDRNOTAVAIL, "ipv4: Address not found"))
	}
	return failWith(errMsg(unix.EADDRNOTAVAIL, "ipv6: address not found"))
}
