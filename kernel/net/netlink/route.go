package netlink

import (
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"

	"magawa/kernel/net/inet"
)

// This file serves routes and routing rules (RTM_GETROUTE and
// RTM_GETRULE dumps). The stack has one routing table; Linux has two
// that a dump shows, and this file shows the stack's as Linux would
// hold the same: the main table has the routes added with a gateway or
// by hand and the subnet routes that come with addresses (but not with
// lo's addresses: Linux puts 127.0.0.0/8 in the local table, and ::1
// has no prefix route since Linux 6.0); the local table, which the
// stack does not have, is made from the addresses: each address, an
// IPv4 subnet of lo, IPv4 subnet broadcasts, ff00::/8 on IPv6 links
// other than lo. A link that is down keeps only its IPv4 local routes,
// as on Linux. Linux: net/ipv4/fib_frontend.c, fib_add_ifaddr();
// net/ipv6/addrconf.c; net/ipv4/fib_semantics.c, fib_dump_info();
// net/ipv6/route.c, rt6_fill_node(); net/core/fib_rules.c.

const (
	// ip6RtPrioKernel and ip6RtPrioUser are IPv6 route metrics: of the
	// routes the kernel adds, and of those added by hand.
	ip6RtPrioKernel = 256
	ip6RtPrioUser   = 1024

	// rtnlFamilyIPMR and rtnlFamilyIP6MR are RTNL_FAMILY_IPMR and
	// RTNL_FAMILY_IP6MR: multicast routes, of which there are none.
	rtnlFamilyIPMR  = 128
	rtnlFamilyIP6MR = 129

	// sizeofRtaCacheinfo is sizeof(struct rta_cacheinfo).
	sizeofRtaCacheinfo = 32
)

// routePolicy is Linux's rtm_ipv4_policy and rtm_ipv6_policy, for what
// a dump request may carry.
var routePolicy = &policy{
	max: unix.RTA_MAX,
	min: map[uint16]int{unix.RTA_TABLE: 4, unix.RTA_OIF: 4, unix.RTA_IIF: 4, unix.RTA_PRIORITY: 4, unix.RTA_MARK: 4, unix.RTA_UID: 4},
}

// route is an entry of one of Linux's tables.
type route struct {
	table, typ, protocol, scope uint8
	dst                         netip.Prefix
	gateway, prefsrc            netip.Addr
	oif                         int32
	// metric is RTA_PRIORITY: IPv6 routes always have one, IPv4 routes
	// only if it is not 0.
	metric uint32
}

// routes returns family's routes: the main table's, then the local
// table's, each in the order Linux's dumps walk them.
func routes(st Stack, fam uint8) []route {
	ifcs := map[int32]inet.Interface{}
	for _, ifc := range st.Interfaces() {
		ifcs[ifc.Index] = ifc
	}
	addrs := addresses(st, fam)
	var main, local []route
	for _, a := range addrs {
		ip := a.Prefix.Addr()
		lo := a.ifc.Flags&unix.IFF_LOOPBACK != 0
		up := a.ifc.Flags&unix.IFF_UP != 0
		bits := a.Prefix.Bits()
		local4 := route{table: unix.RT_TABLE_LOCAL, typ: unix.RTN_LOCAL, protocol: unix.RTPROT_KERNEL,
			scope: unix.RT_SCOPE_HOST, prefsrc: ip, oif: a.Index}
		if fam == unix.AF_INET6 {
			if up {
				local = append(local, route{table: unix.RT_TABLE_LOCAL, typ: unix.RTN_LOCAL,
					protocol: unix.RTPROT_KERNEL, dst: netip.PrefixFrom(ip, 128), oif: a.Index})
			}
			continue
		}
		local4.dst = netip.PrefixFrom(ip, 32)
		local = append(local, local4)
		if bits < 32 && lo {
			local4.dst = a.Prefix.Masked()
			local = append(local, local4)
		}
		if bits < 31 && up {
			local = append(local, route{table: unix.RT_TABLE_LOCAL, typ: unix.RTN_BROADCAST,
				protocol: unix.RTPROT_KERNEL, scope: unix.RT_SCOPE_LINK,
				dst: netip.PrefixFrom(broadcast(a.Prefix), 32), prefsrc: ip, oif: a.Index})
		}
	}
	if fam == unix.AF_INET6 {
		for _, ifc := range st.Interfaces() {
			if ifc.Flags&unix.IFF_UP != 0 && ifc.Flags&unix.IFF_LOOPBACK == 0 {
				local = append(local, route{table: unix.RT_TABLE_LOCAL, typ: unix.RTN_MULTICAST,
					protocol: unix.RTPROT_KERNEL, dst: netip.MustParsePrefix("ff00::/8"),
					oif: ifc.Index, metric: ip6RtPrioKernel})
			}
		}
	}
	for _, r := range st.Routes() {
		ifc, ok := ifcs[r.Index]
		if !ok || ifc.Flags&unix.IFF_UP == 0 || !r.Dst.IsValid() || family(r.Dst.Addr()) != fam {
			continue
		}
		rt := route{table: unix.RT_TABLE_MAIN, typ: unix.RTN_UNICAST, protocol: unix.RTPROT_BOOT,
			dst: r.Dst.Masked(), oif: r.Index}
		if !r.Gateway.IsValid() {
			if a, ok := subnetOf(addrs, r); ok {
				lo := ifc.Flags&unix.IFF_LOOPBACK != 0
				if fam == unix.AF_INET && lo || fam == unix.AF_INET6 && lo && a.Prefix.Addr().IsLoopback() {
					continue
				}
				rt.protocol = unix.RTPROT_KERNEL
				if fam == unix.AF_INET {
					rt.prefsrc = a.Prefix.Addr()
				}
			}
			if fam == unix.AF_INET {
				rt.scope = unix.RT_SCOPE_LINK
			}
		}
		rt.gateway = r.Gateway
		if fam == unix.AF_INET6 {
			rt.metric = ip6RtPrioUser
			if rt.protocol == unix.RTPROT_KERNEL {
				rt.metric = ip6RtPrioKernel
			}
		}
		main = append(main, rt)
	}
	order := compare4
	if fam == unix.AF_INET6 {
		order = func(a, b route) int { return inet.CompareIPv6Destinations(a.dst, b.dst) }
	}
	for _, t := range [][]route{main, local} {
		slices.SortStableFunc(t, order)
	}
	return append(dedup(main), dedup(local)...)
}

// subnetOf returns the address of r's interface whose subnet r is: r
// came with it.
func subnetOf(addrs []ifaddr, r inet.Route) (ifaddr, bool) {
	for _, a := range addrs {
		if a.Index == r.Index && a.Prefix.Masked() == r.Dst.Masked() {
			return a, true
		}
	}
	return ifaddr{}, false
}

// dedup drops routes that repeat the one before (addresses sharing a
// subnet bring it once, as Linux's secondary addresses bring none).
func dedup(t []route) []route {
	return slices.CompactFunc(t, func(a, b route) bool {
		return a.typ == b.typ && a.dst == b.dst && a.gateway == b.gateway && a.oif == b.oif
	})
}

// compare4 is the order of Linux's IPv4 tables (a trie walked by key):
// by network address, a longer prefix first among equal ones.
func compare4(a, b route) int {
	if c := a.dst.Addr().Compare(b.dst.Addr()); c != 0 {
		return c
	}
	return b.dst.Bits() - a.dst.Bits()
}

// routeMessage describes rt as Linux's fib_dump_info() (IPv4) and
// rt6_fill_node() (IPv6) do.
func routeMessage(m *message, fam uint8, rt route) []byte {
	scope := rt.scope
	if fam == unix.AF_INET6 {
		scope = unix.RT_SCOPE_UNIVERSE
	}
	m.fixed(rtmsg{Family: fam, DstLen: uint8(rt.dst.Bits()), Table: rt.table, Protocol: rt.protocol,
		Scope: scope, Type: rt.typ}.bytes())
	m.u32(unix.RTA_TABLE, uint32(rt.table))
	if rt.dst.Bits() > 0 {
		m.attr(unix.RTA_DST, rt.dst.Addr().AsSlice())
	}
	if fam == unix.AF_INET {
		if rt.metric != 0 {
			m.u32(unix.RTA_PRIORITY, rt.metric)
		}
		if rt.prefsrc.IsValid() {
			m.attr(unix.RTA_PREFSRC, rt.prefsrc.AsSlice())
		}
		if rt.gateway.IsValid() {
			m.attr(unix.RTA_GATEWAY, rt.gateway.AsSlice())
		}
		m.u32(unix.RTA_OIF, uint32(rt.oif))
		return m.bytes()
	}
	m.u32(unix.RTA_PRIORITY, rt.metric)
	if rt.gateway.IsValid() {
		m.attr(unix.RTA_GATEWAY, rt.gateway.AsSlice())
	}
	m.u32(unix.RTA_OIF, uint32(rt.oif))
	m.attr(unix.RTA_CACHEINFO, make([]byte, sizeofRtaCacheinfo))
	m.u8(unix.RTA_PREF, 0) // ICMPV6_ROUTER_PREF_MEDIUM
	return m.bytes()
}

// dumpRoutes dumps the routes of family (both for AF_UNSPEC). Without
// strict checking it dumps every route, as Linux does (ip(8) filters
// what it prints); with it, the header must be clean, and its table,
// protocol and type, RTA_TABLE and RTA_OIF filter what is dumped.
// Linux: inet_dump_fib(), inet6_dump_fib(), ip_valid_fib_dump_req().
func dumpRoutes(d *dumper, f uint8) {
	var fams []uint8
	switch f {
	case unix.AF_INET, unix.AF_INET6:
		fams = []uint8{f}
	case rtnlFamilyIPMR, rtnlFamilyIP6MR:
	default:
		fams = []uint8{unix.AF_INET, unix.AF_INET6}
	}
	var filter rtmsg
	var oif int32
	var table uint32
	if d.r.opts.strict {
		p := d.r.payload()
		if len(p) < sizeofRtmsg {
			d.fail(errMsg(unix.EINVAL, "Invalid header for FIB dump request"))
			return
		}
		filter = parseRtmsg(p)
		if filter.DstLen != 0 || filter.SrcLen != 0 || filter.TOS != 0 || filter.Scope != 0 {
			d.fail(errMsg(unix.EINVAL, "Invalid values in header for FIB dump request"))
			return
		}
		if filter.Flags&^(unix.RTM_F_CLONED|unix.RTM_F_PREFIX) != 0 {
			d.fail(errMsg(unix.EINVAL, "Invalid flags for FIB dump request"))
			return
		}
		table = uint32(filter.Table)
		a, err := parseAttrs(attrsAfter(p, sizeofRtmsg), routePolicy, true)
		if err != nil {
			d.fail(err)
			return
		}
		for typ := range a {
			switch typ {
			case unix.RTA_TABLE:
				table = a.u32(typ)
			case unix.RTA_OIF:
				oif = int32(a.u32(typ))
				if _, ok := d.r.stack.InterfaceByIndex(oif); !ok {
					d.fail(errMsg(unix.ENODEV, ""))
					return
				}
			default:
				d.fail(errMsg(unix.EINVAL, "Unsupported attribute in dump request"))
				return
			}
		}
		// Strict dumps leave out the routes cached from traffic (or
		// dump only those, with RTM_F_CLONED): their parts say they are
		// filtered; NLMSG_DONE says so when the request filters.
		d.flags |= unix.NLM_F_DUMP_FILTERED
		if filter.Flags != 0 || filter.Protocol != 0 || filter.Type != 0 || table != 0 || oif != 0 {
			d.doneFlags |= unix.NLM_F_DUMP_FILTERED
		}
		if filter.Flags != 0 {
			return // no cached routes, no prefixes from router advertisements
		}
		if table != 0 && table != unix.RT_TABLE_MAIN && table != unix.RT_TABLE_LOCAL {
			if len(fams) == 1 {
				d.fail(errMsg(unix.ENOENT, modPrefix(f)+"FIB table does not exist"))
			}
			return
		}
	}
	for _, fam := range fams {
		for _, rt := range routes(d.r.stack, fam) {
			if table != 0 && uint32(rt.table) != table || filter.Protocol != 0 && rt.protocol != filter.Protocol ||
				filter.Type != 0 && rt.typ != filter.Type || oif != 0 && rt.oif != oif {
				continue
			}
			d.add(routeMessage(d.start(unix.RTM_NEWROUTE), fam, rt))
		}
	}
}

// rule is one of the routing rules Linux starts a namespace with.
type rule struct {
	pref  uint32
	table uint8
}

// rules are each family's rules, in the order of Linux's dump of all:
// look up the local table, then the main one (then the default one, for
// IPv4); the multicast routing families have a rule each.
var rules = []struct {
	family uint8
	rules  []rule
}{
	{unix.AF_INET, []rule{{0, unix.RT_TABLE_LOCAL}, {32766, unix.RT_TABLE_MAIN}, {32767, unix.RT_TABLE_DEFAULT}}},
	{rtnlFamilyIPMR, []rule{{32767, unix.RT_TABLE_DEFAULT}}},
	{rtnlFamilyIP6MR, []rule{{32767, unix.RT_TABLE_MAIN}}},
	{unix.AF_INET6, []rule{{0, unix.RT_TABLE_LOCAL}, {32766, unix.RT_TABLE_MAIN}}},
}

// dumpRules dumps the routing rules of family (all for AF_UNSPEC),
// which are Linux's defaults. Linux: net/core/fib_rules.c,
// fib_nl_dumprule().
func dumpRules(d *dumper, f uint8) {
	d.foldDone = true
	if d.r.opts.strict {
		p := d.r.payload()
		if len(p) < sizeofRtmsg {
			d.fail(errMsg(unix.EINVAL, "Invalid header for fib rule dump request"))
			return
		}
		if h := parseRtmsg(p); h != (rtmsg{Family: h.Family}) {
			d.fail(errMsg(unix.EINVAL, "Invalid values in header for fib rule dump request"))
			return
		}
		if len(p) > sizeofRtmsg {
			d.fail(errMsg(unix.EINVAL, "Invalid data after header in fib rule dump request"))
			return
		}
	}
	found := false
	for _, fr := range rules {
		if f != unix.AF_UNSPEC && f != fr.family {
			continue
		}
		found = true
		for _, r := range fr.rules {
			m := d.start(unix.RTM_NEWRULE)
			m.fixed(rtmsg{Family: fr.family, Table: r.table, Type: unix.FR_ACT_TO_TBL}.bytes())
			m.u32(unix.FRA_TABLE, uint32(r.table))
			m.u32(unix.FRA_SUPPRESS_PREFIXLEN, 0xffffffff)
			m.u8(unix.FRA_PROTOCOL, unix.RTPROT_KERNEL)
			if r.pref != 0 {
				m.u32(unix.FRA_PRIORITY, r.pref)
			}
			d.add(m.bytes())
		}
	}
	if !found {
		d.fail(errMsg(unix.EAFNOSUPPORT, ""))
	}
}
