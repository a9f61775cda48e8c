package netlink

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// This file is netlink's wire format: message headers (struct
// nlmsghdr), attributes (struct nlattr) and the fixed headers of the
// route family, in the host's byte order as Linux has them. Building
// never fails; parsing never trusts a length it has not checked against
// what the caller holds.

var ne = binary.NativeEndian

const (
	hdrLen     = unix.NLMSG_HDRLEN // sizeof(struct nlmsghdr)
	attrHdrLen = unix.SizeofNlAttr

	// nlaTypeMask strips NLA_F_NESTED and NLA_F_NET_BYTEORDER from an
	// attribute's type.
	nlaTypeMask = 0x3fff
)

// align rounds n up to NLMSG_ALIGN and NLA_ALIGN (both 4).
func align(n int) int { return (n + 3) &^ 3 }

// header is struct nlmsghdr.
type header struct {
	Len   uint32
	Type  uint16
	Flags uint16
	Seq   uint32
	PID   uint32
}

// parseHeader reads the header at the start of b, which holds at least
// hdrLen bytes.
func parseHeader(b []byte) header {
	return header{
		Len:   ne.Uint32(b),
		Type:  ne.Uint16(b[4:]),
		Flags: ne.Uint16(b[6:]),
		Seq:   ne.Uint32(b[8:]),
		PID:   ne.Uint32(b[12:]),
	}
}

func (h header) put(b []byte) {
	ne.PutUint32(b, h.Len)
	ne.PutUint16(b[4:], h.Type)
	ne.PutUint16(b[6:], h.Flags)
	ne.PutUint32(b[8:], h.Seq)
	ne.PutUint32(b[12:], h.PID)
}

// message builds one netlink message: a header, a fixed part and
// attributes, each padded to 4 bytes as Linux's nlmsg_put and nla_put
// do, the padding counted in the message's length.
type message struct {
	b []byte
}

func newMessage(typ, flags uint16, seq, pid uint32) *message {
	m := &message{b: make([]byte, hdrLen, 256)}
	header{Type: typ, Flags: flags, Seq: seq, PID: pid}.put(m.b)
	return m
}

// fixed appends the message's fixed part (ifinfomsg, rtmsg...).
func (m *message) fixed(b []byte) {
	m.b = append(m.b, b...)
	m.pad()
}

func (m *message) pad() {
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
}

func (m *message) attr(typ uint16, data []byte) {
	var h [attrHdrLen]byte
	ne.PutUint16(h[:], uint16(attrHdrLen+len(data)))
	ne.PutUint16(h[2:], typ)
	m.b = append(m.b, h[:]...)
	m.b = append(m.b, data...)
	m.pad()
}

func (m *message) u8(typ uint16, v uint8) { m.attr(typ, []byte{v}) }

func (m *message) u16(typ uint16, v uint16) {
	var b [2]byte
	ne.PutUint16(b[:], v)
	m.attr(typ, b[:])
}

func (m *message) u32(typ uint16, v uint32) {
	var b [4]byte
	ne.PutUint32(b[:], v)
	m.attr(typ, b[:])
}

// str appends a NUL-terminated string (NLA_STRING as Linux sends it).
func (m *message) str(typ uint16, s string) { m.attr(typ, append([]byte(s), 0)) }

// nest starts a nested attribute; the returned function ends it. Its
// type does not have NLA_F_NESTED: the route family's nests never had
// it (Linux's nla_nest_start_noflag()).
func (m *message) nest(typ uint16) (end func()) {
	start := len(m.b)
	m.attr(typ, nil)
	return func() { ne.PutUint16(m.b[start:], uint16(len(m.b)-start)) }
}

// bytes ends the message: its header gets its length.
func (m *message) bytes() []byte {
	ne.PutUint32(m.b, uint32(len(m.b)))
	return m.b
}

// ifinfomsg is struct ifinfomsg.
type ifinfomsg struct {
	Family uint8
	Type   uint16
	Index  int32
	Flags  uint32
	Change uint32
}

const sizeofIfinfomsg = unix.SizeofIfInfomsg

func parseIfinfomsg(b []byte) ifinfomsg {
	return ifinfomsg{
		Family: b[0],
		Type:   ne.Uint16(b[2:]),
		Index:  int32(ne.Uint32(b[4:])),
		Flags:  ne.Uint32(b[8:]),
		Change: ne.Uint32(b[12:]),
	}
}

func (i ifinfomsg) bytes() []byte {
	b := make([]byte, sizeofIfinfomsg)
	b[0] = i.Family
	ne.PutUint16(b[2:], i.Type)
	ne.PutUint32(b[4:], uint32(i.Index))
	ne.PutUint32(b[8:], i.Flags)
	ne.PutUint32(b[12:], i.Change)
	return b
}

// ifaddrmsg is struct ifaddrmsg.
type ifaddrmsg struct {
	Family    uint8
	PrefixLen uint8
	Flags     uint8
	Scope     uint8
	Index     uint32
}

const sizeofIfaddrmsg = unix.SizeofIfAddrmsg

func parseIfaddrmsg(b []byte) ifaddrmsg {
	return ifaddrmsg{Family: b[0], PrefixLen: b[1], Flags: b[2], Scope: b[3], Index: ne.Uint32(b[4:])}
}

func (a ifaddrmsg) bytes() []byte {
	b := []byte{a.Family, a.PrefixLen, a.Flags, a.Scope, 0, 0, 0, 0}
	ne.PutUint32(b[4:], a.Index)
	return b
}

// rtmsg is struct rtmsg; struct fib_rule_hdr has the same layout (its
// rtm_protocol, rtm_scope and rtm_type are res1, res2 and action).
type rtmsg struct {
	Family   uint8
	DstLen   uint8
	SrcLen   uint8
	TOS      uint8
	Table    uint8
	Protocol uint8
	Scope    uint8
	Type     uint8
	Flags    uint32
}

const sizeofRtmsg = 12

func parseRtmsg(b []byte) rtmsg {
	return rtmsg{
		Family: b[0], DstLen: b[1], SrcLen: b[2], TOS: b[3],
		Table: b[4], Protocol: b[5], Scope: b[6], Type: b[7],
		Flags: ne.Uint32(b[8:]),
	}
}

func (r rtmsg) bytes() []byte {
	b := []byte{r.Family, r.DstLen, r.SrcLen, r.TOS, r.Table, r.Protocol, r.Scope, r.Type, 0, 0, 0, 0}
	ne.PutUint32(b[8:], r.Flags)
	return b
}

// attrs are a message's attributes by type, as Linux's nla_parse
// leaves them: the last of a type wins.
type attrs map[uint16][]byte

func (a attrs) has(typ uint16) bool {
	_, ok := a[typ]
	return ok
}

// u32 returns an attribute's value; parse checked its length.
func (a attrs) u32(typ uint16) uint32 { return ne.Uint32(a[typ]) }

// str returns an NLA_STRING's value: up to its first NUL.
func (a attrs) str(typ uint16) string {
	b := a[typ]
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// policy is what a request's attributes may be: each type up to max,
// with at least min[type] bytes, and the string types (strMax) at most
// that many bytes before a trailing NUL. Linux: lib/nlattr.c,
// validate_nla().
type policy struct {
	max    uint16
	min    map[uint16]int
	strMax map[uint16]int
}

// parseError is a request Linux refuses: the errno of its NLMSG_ERROR
// (or NLMSG_DONE) and the extended-ack message, if Linux gives one.
type parseError struct {
	errno unix.Errno
	msg   string
}

func errMsg(e unix.Errno, msg string) *parseError { return &parseError{errno: e, msg: msg} }

// parseAttrs reads the attributes in b. Linux's deprecated parsing,
// which every request here gets unless the socket asked for strict
// checking, skips attributes of unknown types and ignores bytes left
// after the last well-formed attribute; strict checking refuses both.
// An attribute too short for its type fails either way (ERANGE).
// Linux: lib/nlattr.c, __nla_validate_parse().
func parseAttrs(b []byte, p *policy, strict bool) (attrs, *parseError) {
	a := attrs{}
	for len(b) >= attrHdrLen {
		n := int(ne.Uint16(b))
		if n < attrHdrLen || n > len(b) {
			break
		}
		typ := ne.Uint16(b[2:]) & nlaTypeMask
		data := b[attrHdrLen:n]
		b = b[min(align(n), len(b)):]
		if typ == 0 || typ > p.max {
			if strict {
				return nil, errMsg(unix.EINVAL, "Unknown attribute type")
			}
			continue
		}
		if len(data) < p.min[typ] {
			return nil, errMsg(unix.ERANGE, "Attribute failed policy validation")
		}
		if m, ok := p.strMax[typ]; ok {
			s := data
			if len(s) > 0 && s[len(s)-1] == 0 {
				s = s[:len(s)-1]
			}
			if len(s) > m {
				return nil, errMsg(unix.ERANGE, "Attribute failed policy validation")
			}
		}
		a[typ] = data
	}
	if strict && len(b) > 0 {
		return nil, errMsg(unix.EINVAL, "bytes leftover after parsing attributes")
	}
	return a, nil
}
