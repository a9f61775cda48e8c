package network

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/internal/network/rtnl"
)

// Traffic control, as `tc` sets it up, for joining two interfaces of a
// namespace: an ingress qdisc on each, and on it a u32 filter matching
// every frame whose action, mirred, redirects the frame to the other
// interface's egress. The layouts are the kernel's uapi headers':
// linux/pkt_sched.h (struct tcmsg, the handles), linux/pkt_cls.h (u32,
// actions), linux/tc_act/tc_mirred.h. u32 rather than matchall: every
// kernel that has tc filters has u32 (this one lacks matchall), and a
// selector of one key that masks nothing matches everything.

const (
	// tcHIngress is TC_H_INGRESS, the ingress qdisc's parent.
	tcHIngress = 0xFFFFFFF1
	// ingressHandle is ffff:, the ingress qdisc's handle and the
	// parent of its filters.
	ingressHandle = 0xFFFF0000

	// linux/pkt_cls.h.
	tcaU32Sel      = 5 // TCA_U32_SEL
	tcaU32Act      = 7 // TCA_U32_ACT
	tcU32Terminal  = 1 // TC_U32_TERMINAL
	tcaActKind     = 1 // TCA_ACT_KIND
	tcaActOptions  = 2 // TCA_ACT_OPTIONS
	tcActStolen    = 4 // TC_ACT_STOLEN: the frame is the redirect's
	tcaMirredParms = 2 // TCA_MIRRED_PARMS, linux/tc_act/tc_mirred.h
	tcaEgressRedir = 1 // TCA_EGRESS_REDIR

	// sizeofTcMsg is struct tcmsg's size; sizeofTcMirred struct
	// tc_mirred's (tc_gen's five 32-bit fields, eaction, ifindex).
	sizeofTcMsg    = 20
	sizeofTcMirred = 28
	// sizeofU32Sel is struct tc_u32_sel's without its keys, and
	// sizeofU32Key one struct tc_u32_key's.
	sizeofU32Sel = 16
	sizeofU32Key = 16

	// redirectPrio is the filter's priority.
	redirectPrio = 1
)

// tcmsg is a struct tcmsg.
func tcmsg(index int32, handle, parent, info uint32) []byte {
	b := make([]byte, sizeofTcMsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], handle)
	binary.NativeEndian.PutUint32(b[12:], parent)
	binary.NativeEndian.PutUint32(b[16:], info)
	return b
}

// ingressQdisc is `tc qdisc add dev INDEX ingress`: its header and
// attributes.
func ingressQdisc(index int32) ([]byte, []rtnl.Attr) {
	return tcmsg(index, ingressHandle, tcHIngress, 0), []rtnl.Attr{rtnl.String(unix.TCA_KIND, "ingress")}
}

// redirectFilter is `tc filter add dev FROM parent ffff: protocol all
// prio 1 u32 match u8 0 0 action mirred egress redirect dev TO`: every
// frame that comes in on from leaves through to, and from's stack never
// sees it.
func redirectFilter(from, to int32) ([]byte, []rtnl.Attr) {
	// tcm_info: the priority above, the protocol (network order) below.
	info := uint32(redirectPrio)<<16 | uint32(htons(unix.ETH_P_ALL))
	mirred := make([]byte, sizeofTcMirred)
	binary.NativeEndian.PutUint32(mirred[8:], tcActStolen)     // action
	binary.NativeEndian.PutUint32(mirred[20:], tcaEgressRedir) // eaction
	binary.NativeEndian.PutUint32(mirred[24:], uint32(to))     // ifindex
	// One key: mask 0, value 0 at offset 0, which every frame matches;
	// terminal, since the filter has an action.
	sel := make([]byte, sizeofU32Sel+sizeofU32Key)
	sel[0], sel[2] = tcU32Terminal, 1 // flags, nkeys
	return tcmsg(from, 0, ingressHandle, info), []rtnl.Attr{
		rtnl.String(unix.TCA_KIND, "u32"),
		rtnl.Nest(unix.TCA_OPTIONS,
			rtnl.Nest(tcaU32Act,
				rtnl.Nest(1, // the first action of the list
					rtnl.String(tcaActKind, "mirred"),
					// tc marks this nest, and only this one, as such.
					rtnl.Nest(tcaActOptions|unix.NLA_F_NESTED, rtnl.Attr{Type: tcaMirredParms, Value: mirred}),
				),
			),
			rtnl.Attr{Type: tcaU32Sel, Value: sel},
		),
	}
}

// addIngressQdisc adds an ingress qdisc to interface index: EEXIST if
// it has one.
func addIngressQdisc(index int32) error {
	h, attrs := ingressQdisc(index)
	return rtnl.Request(unix.RTM_NEWQDISC, unix.NLM_F_CREATE|unix.NLM_F_EXCL, h, attrs...)
}

// deleteIngressQdisc removes the ingress qdisc of interface index, and
// its filters with it.
func deleteIngressQdisc(index int32) error {
	h, attrs := ingressQdisc(index)
	return rtnl.Request(unix.RTM_DELQDISC, 0, h, attrs...)
}

// addRedirect adds redirectFilter to from's ingress qdisc.
func addRedirect(from, to int32) error {
	h, attrs := redirectFilter(from, to)
	return rtnl.Request(unix.RTM_NEWTFILTER, unix.NLM_F_CREATE|unix.NLM_F_EXCL, h, attrs...)
}

// ingressActions lists the actions of the filters of index's ingress
// qdisc: for a mirred action its target's index (0 once the target is
// gone: the kernel forgets it), for another kind -1. own says that every
// filter is a u32 one that has actions or is one of u32's hash tables
// (the entries a u32 filter comes with), as redirectFilter makes them.
func ingressActions(index int32) (targets []int32, own bool, err error) {
	msgs, err := rtnl.Dump(unix.RTM_GETTFILTER, tcmsg(index, 0, ingressHandle, 0))
	if err != nil {
		return nil, false, fmt.Errorf("listing the ingress filters: %w", err)
	}
	own = true
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWTFILTER || len(m.Data) < sizeofTcMsg {
			continue
		}
		attrs, err := rtnl.ParseAttrs(m.Data[sizeofTcMsg:])
		if err != nil {
			return nil, false, err
		}
		kind, _ := rtnl.Find(attrs, unix.TCA_KIND)
		if rtnl.CString(kind) != "u32" {
			own = false
			continue
		}
		opts, ok := rtnl.Find(attrs, unix.TCA_OPTIONS)
		if !ok {
			continue
		}
		u32, err := rtnl.ParseAttrs(opts)
		if err != nil {
			return nil, false, err
		}
		acts, ok := rtnl.Find(u32, tcaU32Act)
		if !ok {
			continue
		}
		list, err := rtnl.ParseAttrs(acts)
		if err != nil {
			return nil, false, err
		}
		for _, a := range list {
			act, err := rtnl.ParseAttrs(a.Value)
			if err != nil {
				return nil, false, err
			}
			target := int32(-1)
			if k, _ := rtnl.Find(act, tcaActKind); rtnl.CString(k) == "mirred" {
				if o, ok := rtnl.Find(act, tcaActOptions); ok {
					mo, err := rtnl.ParseAttrs(o)
					if err != nil {
						return nil, false, err
					}
					if p, ok := rtnl.Find(mo, tcaMirredParms); ok && len(p) >= sizeofTcMirred {
						target = int32(binary.NativeEndian.Uint32(p[24:]))
					}
				}
			}
			targets = append(targets, target)
		}
	}
	return targets, own, nil
}
