package netlink

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/net/inet"
)

// This file serves links (RTM_GETLINK, RTM_NEWLINK, RTM_SETLINK,
// RTM_DELLINK): the interfaces of the Stack, described with the
// attributes, values and order of Linux 6.18's rtnl_fill_ifinfo() for
// the same device, and brought up or down.
// Linux: net/core/rtnetlink.c.

// Attributes x/sys/unix does not name yet.
const (
	iflaMaxPacingOffloadHorizon = 0x42
	iflaNetnsImmutable          = 0x43
	iflaHeadroom                = 0x44
	iflaTailroom                = 0x45
	iflaMax                     = iflaTailroom

	// ifReady is IF_READY of IFLA_INET6_FLAGS: IPv6 runs on the link.
	ifReady = 0x80000000

	// Operational states (IFLA_OPERSTATE), RFC 2863's.
	ifOperUnknown = 0
	ifOperDown    = 2
	ifOperUp      = 6

	// sizeofLinkStats64 and sizeofLinkStats are those of struct
	// rtnl_link_stats64 (with rx_otherhost_dropped) and struct
	// rtnl_link_stats; sizeofLinkIfmap of struct rtnl_link_ifmap.
	sizeofLinkStats64 = 25 * 8
	sizeofLinkStats   = 24 * 4
	sizeofLinkIfmap   = 32

	// ifnamsiz is IFNAMSIZ: names are at most ifnamsiz-1 bytes.
	ifnamsiz = 16
)

// linkPolicy is Linux's ifla_policy for the attributes read here, and
// those a request commonly carries.
var linkPolicy = &policy{
	max: iflaMax,
	min: map[uint16]int{
		unix.IFLA_MTU: 4, unix.IFLA_LINK: 4, unix.IFLA_MASTER: 4, unix.IFLA_TXQLEN: 4,
		unix.IFLA_OPERSTATE: 1, unix.IFLA_LINKMODE: 1, unix.IFLA_EXT_MASK: 4,
		unix.IFLA_GROUP: 4, unix.IFLA_TARGET_NETNSID: 4, unix.IFLA_NET_NS_PID: 4,
		unix.IFLA_NET_NS_FD: 4, unix.IFLA_PROMISCUITY: 4, unix.IFLA_CARRIER: 1,
		unix.IFLA_NUM_TX_QUEUES: 4, unix.IFLA_NUM_RX_QUEUES: 4, unix.IFLA_PROTO_DOWN: 1,
		unix.IFLA_GSO_MAX_SEGS: 4, unix.IFLA_GSO_MAX_SIZE: 4,
	},
	strMax: map[uint16]int{
		unix.IFLA_IFNAME: ifnamsiz - 1, unix.IFLA_ALT_IFNAME: 127, unix.IFLA_IFALIAS: 255,
	},
}

// linkMessage describes ifc, whose counters are stats, as Linux
// describes the same device. What a request's IFLA_EXT_MASK asks for
// changes nothing here: virtual functions and IPv6's statistics are
// what it filters.
func linkMessage(m *message, ifc inet.Interface, stats inet.InterfaceStats) []byte {
	lo := ifc.Flags&unix.IFF_LOOPBACK != 0
	m.fixed(ifinfomsg{Family: unix.AF_UNSPEC, Type: ifc.ARPType, Index: ifc.Index, Flags: ifc.Flags}.bytes())
	m.str(unix.IFLA_IFNAME, ifc.Name)
	m.u32(unix.IFLA_TXQLEN, 1000)
	m.u8(unix.IFLA_OPERSTATE, operstate(ifc))
	m.u8(unix.IFLA_LINKMODE, 0)
	m.u8(iflaNetnsImmutable, b2u8(lo))
	m.u32(unix.IFLA_MTU, ifc.MTU)
	minMTU, maxMTU := uint32(68), uint32(65535) // ether_setup()'s
	if lo {
		minMTU, maxMTU = 0, 0
	}
	m.u32(unix.IFLA_MIN_MTU, minMTU)
	m.u32(unix.IFLA_MAX_MTU, maxMTU)
	m.u32(unix.IFLA_GROUP, 0)
	m.u32(unix.IFLA_PROMISCUITY, uint32(b2u8(ifc.Flags&unix.IFF_PROMISC != 0)))
	m.u32(unix.IFLA_ALLMULTI, 0)
	m.u32(unix.IFLA_NUM_TX_QUEUES, 1)
	m.u32(unix.IFLA_GSO_MAX_SEGS, 65535)
	m.u32(unix.IFLA_GSO_MAX_SIZE, 65536)
	m.u32(unix.IFLA_GRO_MAX_SIZE, 65536)
	m.u32(unix.IFLA_GSO_IPV4_MAX_SIZE, 65536)
	m.u32(unix.IFLA_GRO_IPV4_MAX_SIZE, 65536)
	m.u32(unix.IFLA_TSO_MAX_SIZE, 524280)
	m.u32(unix.IFLA_TSO_MAX_SEGS, 65535)
	m.u32(iflaMaxPacingOffloadHorizon, 0)
	m.u32(unix.IFLA_NUM_RX_QUEUES, 1)
	m.u8(unix.IFLA_CARRIER, b2u8(lo || ifc.Flags&unix.IFF_LOWER_UP != 0))
	m.u32(unix.IFLA_CARRIER_CHANGES, 0)
	m.u32(unix.IFLA_CARRIER_UP_COUNT, 0)
	m.u32(unix.IFLA_CARRIER_DOWN_COUNT, 0)
	m.u16(iflaHeadroom, 0)
	m.u16(iflaTailroom, 0)
	m.u8(unix.IFLA_PROTO_DOWN, 0)
	if hw := hardwareAddr(ifc); hw != nil {
		m.attr(unix.IFLA_ADDRESS, hw)
		brd := make([]byte, len(hw))
		if !lo {
			for i := range brd {
				brd[i] = 0xff
			}
		}
		m.attr(unix.IFLA_BROADCAST, brd)
	}
	// Linux sends them with RTEXT_FILTER_SKIP_STATS too, which leaves
	// out only IPv6's, in IFLA_AF_SPEC.
	s64, s32 := linkStats(stats)
	m.attr(unix.IFLA_STATS64, s64)
	m.attr(unix.IFLA_STATS, s32)
	end := m.nest(unix.IFLA_XDP)
	m.u8(unix.IFLA_XDP_ATTACHED, 0)
	end()
	m.str(unix.IFLA_QDISC, "noqueue")
	endSpec := m.nest(unix.IFLA_AF_SPEC)
	end = m.nest(unix.AF_INET6)
	inet6Attrs(m, ifc)
	end()
	endSpec()
	m.attr(unix.IFLA_MAP, make([]byte, sizeofLinkIfmap))
	return m.bytes()
}

// linkStats are IFLA_STATS64 and IFLA_STATS (struct rtnl_link_stats64
// and rtnl_link_stats, whose first nine fields are these counters in
// this order; the stack counts nothing else), the latter's counters
// cut to 32 bits as Linux's copy_rtnl_link_stats() cuts them.
func linkStats(s inet.InterfaceStats) (s64, s32 []byte) {
	s64, s32 = make([]byte, sizeofLinkStats64), make([]byte, sizeofLinkStats)
	for i, v := range []uint64{s.RxPackets, s.TxPackets, s.RxBytes, s.TxBytes, s.RxErrors, s.TxErrors,
		s.RxDropped, s.TxDropped, s.RxMulticast} {
		ne.PutUint64(s64[8*i:], v)
		ne.PutUint32(s32[4*i:], uint32(v))
	}
	return s64, s32
}

// operstate is a link's IFLA_OPERSTATE.
func operstate(ifc inet.Interface) uint8 {
	switch {
	case ifc.Flags&unix.IFF_UP == 0:
		return ifOperDown
	case ifc.Flags&unix.IFF_LOOPBACK != 0:
		return ifOperUnknown // lo reports no carrier changes
	case ifc.Flags&unix.IFF_RUNNING != 0:
		return ifOperUp
	}
	return ifOperDown
}

// hardwareAddr is a link's IFLA_ADDRESS, nil for none. Linux's lo has
// an all-zero Ethernet address (and broadcast).
func hardwareAddr(ifc inet.Interface) []byte {
	switch {
	case len(ifc.HardwareAddr) > 0:
		return ifc.HardwareAddr
	case ifc.Flags&unix.IFF_LOOPBACK != 0:
		return make([]byte, 6)
	}
	return nil
}

// inet6Attrs are the IPv6 attributes of a link (in IFLA_AF_SPEC or
// IFLA_PROTINFO) that are served: whether IPv6 runs on it, and how it
// makes addresses (EUI-64). Linux also has its configuration,
// statistics, token and cache times.
func inet6Attrs(m *message, ifc inet.Interface) {
	var flags uint32
	if ifc.Flags&unix.IFF_UP != 0 {
		flags = ifReady
	}
	m.u32(unix.IFLA_INET6_FLAGS, flags)
	m.u8(unix.IFLA_INET6_ADDR_GEN_MODE, 0) // IN6_ADDR_GEN_MODE_EUI64
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// dumpLinks dumps every interface. With strict checking the header
// must be clean and filter nothing (Linux filters by IFLA_MASTER, which
// no interface here has, so such a dump is empty); without, a short
// header (struct rtgenmsg, as old programs and Go's syscall send) is
// fine and attributes that fail to parse are ignored.
// AF_BRIDGE asks for bridge ports, of which there are none; AF_INET6
// for IPv6's view of the links (dumpInet6Links).
// Linux: rtnl_dump_ifinfo() and rtnl_valid_dump_ifinfo_req();
// rtnl_bridge_getlink().
func dumpLinks(d *dumper, f uint8) {
	switch f {
	case unix.AF_BRIDGE:
		return
	case unix.AF_INET6:
		dumpInet6Links(d)
		return
	}
	p := d.r.payload()
	var a attrs
	if d.r.opts.strict {
		if len(p) < sizeofIfinfomsg {
			d.fail(errMsg(unix.EINVAL, "Invalid header for link dump"))
			return
		}
		ifm := parseIfinfomsg(p)
		if p[1] != 0 || ifm.Type != 0 || ifm.Flags != 0 || ifm.Change != 0 {
			d.fail(errMsg(unix.EINVAL, "Invalid values in header for link dump request"))
			return
		}
		if ifm.Index != 0 {
			d.fail(errMsg(unix.EINVAL, "Filter by device index not supported for link dumps"))
			return
		}
		var err *parseError
		if a, err = parseAttrs(attrsAfter(p, sizeofIfinfomsg), linkPolicy, true); err != nil {
			d.fail(err)
			return
		}
		for typ := range a {
			switch typ {
			case unix.IFLA_EXT_MASK, unix.IFLA_LINKINFO:
			case unix.IFLA_MASTER:
				if a.u32(typ) != 0 {
					d.flags |= unix.NLM_F_DUMP_FILTERED
					return // no interface has a master
				}
			case unix.IFLA_TARGET_NETNSID:
				d.fail(errMsg(unix.EINVAL, "Invalid target network namespace id"))
				return
			default:
				d.fail(errMsg(unix.EINVAL, "Unsupported attribute in link dump request"))
				return
			}
		}
	} else {
		fixed := sizeofIfinfomsg
		if len(p) < sizeofIfinfomsg {
			fixed = 1 // struct rtgenmsg
		}
		a, _ = parseAttrs(attrsAfter(p, fixed), linkPolicy, false)
	}
	stats := d.r.stack.InterfaceStats()
	for _, ifc := range d.r.stack.Interfaces() {
		d.add(linkMessage(d.start(unix.RTM_NEWLINK), ifc, stats[ifc.Index]))
	}
}

// dumpInet6Links dumps the links as IPv6 sees them (ip -6 link, ip -6
// addr ask so): the name, address, MTU and state, and IPv6's
// IFLA_PROTINFO. The request may have no attributes and, with strict
// checking, nothing in its header but the family.
// Linux: net/ipv6/addrconf.c, inet6_dump_ifinfo(), inet6_fill_ifinfo().
func dumpInet6Links(d *dumper) {
	d.foldDone = true
	if d.r.opts.strict {
		p := d.r.payload()
		if len(p) < sizeofIfinfomsg {
			d.fail(errMsg(unix.EINVAL, "ipv6: Invalid header for link dump request"))
			return
		}
		if len(p) > sizeofIfinfomsg {
			d.fail(errMsg(unix.EINVAL, "ipv6: Invalid data after header"))
			return
		}
		if ifm := parseIfinfomsg(p); p[1] != 0 || ifm != (ifinfomsg{Family: ifm.Family}) {
			d.fail(errMsg(unix.EINVAL, "ipv6: Invalid values in header for dump request"))
			return
		}
	}
	for _, ifc := range d.r.stack.Interfaces() {
		m := d.start(unix.RTM_NEWLINK)
		m.fixed(ifinfomsg{Family: unix.AF_INET6, Type: ifc.ARPType, Index: ifc.Index, Flags: ifc.Flags}.bytes())
		m.str(unix.IFLA_IFNAME, ifc.Name)
		if hw := hardwareAddr(ifc); hw != nil {
			m.attr(unix.IFLA_ADDRESS, hw)
		}
		m.u32(unix.IFLA_MTU, ifc.MTU)
		m.u8(unix.IFLA_OPERSTATE, operstate(ifc))
		end := m.nest(unix.IFLA_PROTINFO)
		inet6Attrs(m, ifc)
		end()
		d.add(m.bytes())
	}
}

// linkRequest reads the header and attributes of a request about one
// link.
func linkRequest(r *request) (ifinfomsg, attrs, *parseError) {
	p := r.payload()
	if len(p) < sizeofIfinfomsg {
		return ifinfomsg{}, nil, errMsg(unix.EINVAL, "")
	}
	a, err := parseAttrs(attrsAfter(p, sizeofIfinfomsg), linkPolicy, r.opts.strict)
	return parseIfinfomsg(p), a, err
}

// findLink returns the interface a request names: by index if it has
// one, else by IFLA_IFNAME (no interface has alternative names). It
// fails with ENODEV when the request names none, EINVAL when it names
// nothing at all. Linux: rtnl_dev_get() and its callers.
func findLink(st Stack, ifm ifinfomsg, a attrs) (inet.Interface, unix.Errno) {
	var ifc inet.Interface
	found := false
	switch {
	case ifm.Index > 0:
		ifc, found = st.InterfaceByIndex(ifm.Index)
	case a.has(unix.IFLA_IFNAME):
		ifc, found = st.InterfaceByName(a.str(unix.IFLA_IFNAME))
	case a.has(unix.IFLA_ALT_IFNAME):
	default:
		return ifc, unix.EINVAL
	}
	if !found {
		return ifc, unix.ENODEV
	}
	return ifc, 0
}

// getLink answers RTM_GETLINK for one link. Linux: rtnl_getlink() and
// rtnl_valid_getlink_req().
func getLink(r *request, _ uint8) answer {
	ifm, a, perr := linkRequest(r)
	if perr != nil {
		return failWith(perr)
	}
	if r.opts.strict {
		if r.payload()[1] != 0 || ifm.Type != 0 || ifm.Flags != 0 || ifm.Change != 0 {
			return failWith(errMsg(unix.EINVAL, "Invalid values in header for get link request"))
		}
		for typ := range a {
			switch typ {
			case unix.IFLA_IFNAME, unix.IFLA_ALT_IFNAME, unix.IFLA_EXT_MASK, unix.IFLA_TARGET_NETNSID:
			default:
				return failWith(errMsg(unix.EINVAL, "Unsupported attribute in get link request"))
			}
		}
	}
	if a.has(unix.IFLA_TARGET_NETNSID) {
		return fail(unix.EINVAL) // there are no other namespaces
	}
	ifc, e := findLink(r.stack, ifm, a)
	if e != 0 {
		return fail(e)
	}
	stats := r.stack.InterfaceStats()[ifc.Index]
	return answer{msgs: [][]byte{linkMessage(r.reply(unix.RTM_NEWLINK, 0), ifc, stats)}}
}

// newLink serves RTM_NEWLINK: on an existing link it changes what
// RTM_SETLINK does (NLM_F_EXCL fails with EEXIST, NLM_F_REPLACE with
// EOPNOTSUPP); making links is not served (EOPNOTSUPP, as Linux answers
// for a kind it does not know). Linux: rtnl_newlink().
func newLink(r *request, _ uint8) answer {
	ifm, a, perr := linkRequest(r)
	if perr != nil {
		return failWith(perr)
	}
	if ifm.Index < 0 {
		return failWith(errMsg(unix.EINVAL, "ifindex can't be negative"))
	}
	ifc, e := findLink(r.stack, ifm, a)
	if e != 0 {
		if r.hdr.Flags&unix.NLM_F_CREATE == 0 {
			return fail(unix.ENODEV)
		}
		return failWith(errMsg(unix.EOPNOTSUPP, "Unknown device type"))
	}
	if r.hdr.Flags&unix.NLM_F_EXCL != 0 {
		return fail(unix.EEXIST)
	}
	if r.hdr.Flags&unix.NLM_F_REPLACE != 0 {
		return fail(unix.EOPNOTSUPP)
	}
	return answer{err: changeLink(r.stack, ifc, ifm, a)}
}

// setLink serves RTM_SETLINK. Linux: rtnl_setlink().
func setLink(r *request, _ uint8) answer {
	ifm, a, perr := linkRequest(r)
	if perr != nil {
		return failWith(perr)
	}
	ifc, e := findLink(r.stack, ifm, a)
	if e != 0 {
		return fail(e)
	}
	return answer{err: changeLink(r.stack, ifc, ifm, a)}
}

// changeableFlags are the IFF_* flags Linux lets RTM_SETLINK change.
// Linux: net/core/dev.c, __dev_change_flags().
const changeableFlags = unix.IFF_UP | unix.IFF_DEBUG | unix.IFF_NOTRAILERS | unix.IFF_NOARP |
	unix.IFF_PROMISC | unix.IFF_ALLMULTI | unix.IFF_MULTICAST | unix.IFF_PORTSEL |
	unix.IFF_AUTOMEDIA | unix.IFF_DYNAMIC

// changeLink applies a request's changes to ifc: bringing it up or
// down. Attributes that would change anything else (a rename, the MTU,
// the address...) and flags other than IFF_UP fail with EOPNOTSUPP:
// the stack cannot change them. Linux: do_setlink().
func changeLink(st Stack, ifc inet.Interface, ifm ifinfomsg, a attrs) unix.Errno {
	for typ, v := range a {
		switch typ {
		case unix.IFLA_EXT_MASK:
		case unix.IFLA_IFNAME:
			if a.str(typ) != ifc.Name {
				return unix.EOPNOTSUPP
			}
		case unix.IFLA_MTU:
			if ne.Uint32(v) != ifc.MTU {
				return unix.EOPNOTSUPP
			}
		case unix.IFLA_TXQLEN:
			if ne.Uint32(v) != 1000 {
				return unix.EOPNOTSUPP
			}
		case unix.IFLA_GROUP:
			if ne.Uint32(v) != 0 {
				return unix.EOPNOTSUPP
			}
		default:
			return unix.EOPNOTSUPP
		}
	}
	if ifm.Flags == 0 && ifm.Change == 0 {
		return 0
	}
	// ifi_change 0 means every flag is given (the old interface).
	change := ifm.Change
	if change == 0 {
		change = ^uint32(0)
	}
	want := ifm.Flags&change | ifc.Flags&^change
	if (want^ifc.Flags)&changeableFlags&^unix.IFF_UP != 0 {
		return unix.EOPNOTSUPP
	}
	if change&unix.IFF_UP == 0 {
		return 0
	}
	// Asked even when the flags say it is so already: bringing a link
	// up that is up changes nothing.
	if err := st.SetInterfaceUp(ifc.Index, want&unix.IFF_UP != 0); err != nil {
		return errno(err)
	}
	return 0
}

// delLink serves RTM_DELLINK: no interface here can be deleted (Linux's
// lo cannot either: EOPNOTSUPP). Linux: rtnl_dellink().
func delLink(r *request, _ uint8) answer {
	ifm, a, perr := linkRequest(r)
	if perr != nil {
		return failWith(perr)
	}
	if ifm.Index <= 0 && !a.has(unix.IFLA_IFNAME) && !a.has(unix.IFLA_ALT_IFNAME) {
		if a.has(unix.IFLA_GROUP) {
			if a.u32(unix.IFLA_GROUP) == 0 {
				return fail(unix.EOPNOTSUPP) // every interface is in group 0
			}
			return answer{}
		}
		return fail(unix.EINVAL)
	}
	if _, e := findLink(r.stack, ifm, a); e != 0 {
		return fail(unix.ENODEV)
	}
	return fail(unix.EOPNOTSUPP)
}

// errno is err as an errno: the Stack's errors are unix.Errno values;
// anything else is EINVAL, never a success.
func errno(err error) unix.Errno {
	if e, ok := err.(unix.Errno); ok && e != 0 {
		return e
	}
	return unix.EINVAL
}
