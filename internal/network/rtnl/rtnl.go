// Package rtnl builds and sends rtnetlink (NETLINK_ROUTE) messages: the
// few requests the runtime makes of the host's network namespaces
// (package network) and the VM sandbox's agent makes of the guest's. It
// is its own package, with nothing but the standard library and
// x/sys/unix below it, so that the guest's static agent gets the
// encoding without the host-side code of package network (iptables,
// regexps).
//
// A request is made in the network namespace of the calling thread.
package rtnl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// Attr is a netlink attribute: its payload, or its nested attributes.
// Type may carry unix.NLA_F_NESTED, which some kernel parsers want on a
// nest.
type Attr struct {
	Type   uint16
	Value  []byte
	Nested []Attr
}

// Encode is the attribute as the kernel reads it: a struct nlattr, the
// payload, padding to 4 bytes.
func (a Attr) Encode() []byte {
	payload := a.Value
	if a.Nested != nil {
		payload = nil
		for _, n := range a.Nested {
			payload = append(payload, n.Encode()...)
		}
	}
	b := make([]byte, unix.SizeofRtAttr, unix.SizeofRtAttr+len(payload)+3)
	binary.NativeEndian.PutUint16(b, uint16(unix.SizeofRtAttr+len(payload)))
	binary.NativeEndian.PutUint16(b[2:], a.Type)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// String is a NUL-terminated string attribute.
func String(typ uint16, s string) Attr { return Attr{Type: typ, Value: append([]byte(s), 0)} }

// Uint32 is a 32-bit attribute in the host's byte order.
func Uint32(typ uint16, v uint32) Attr {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, v)
	return Attr{Type: typ, Value: b}
}

// Nest is an attribute holding others. An empty nest is still one.
func Nest(typ uint16, attrs ...Attr) Attr {
	if attrs == nil {
		attrs = []Attr{}
	}
	return Attr{Type: typ, Nested: attrs}
}

// Message is a whole request: the netlink header (NLM_F_REQUEST and
// NLM_F_ACK added to flags, sequence number seq), the family's header
// padded to 4 bytes, the attributes.
func Message(typ, flags uint16, seq uint32, header []byte, attrs ...Attr) []byte {
	body := slices.Clone(header)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	for _, a := range attrs {
		body = append(body, a.Encode()...)
	}
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg, uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:], seq)
	return append(msg, body...)
}

// Request sends one request and waits for its acknowledgement; a
// refusal is its errno (unix.EEXIST, ...).
func Request(typ, flags uint16, header []byte, attrs ...Attr) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, Message(typ, flags, 1, header, attrs...), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4 {
				if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
					return unix.Errno(-e)
				}
				return nil
			}
		}
	}
}

// Dump sends a dump request with a family header of the caller's (a
// struct tcmsg naming an interface, say, which syscall.NetlinkRIB's
// bare family byte cannot say) and returns the answers, up to
// NLMSG_DONE.
func Dump(typ uint16, header []byte, attrs ...Attr) ([]syscall.NetlinkMessage, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	msg := Message(typ, unix.NLM_F_DUMP, 1, header, attrs...)
	// A dump is acknowledged by its NLMSG_DONE, not by an ACK.
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var out []syscall.NetlinkMessage
	buf := make([]byte, 32<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
						return nil, unix.Errno(-e)
					}
				}
				return nil, errors.New("netlink: an error message without an errno")
			}
			// The messages keep their data: the next read reuses buf.
			m.Data = slices.Clone(m.Data)
			out = append(out, m)
		}
	}
}

// ParseAttrs splits a buffer of attributes (a message's after its
// family header, or a nest's payload). Type keeps its flag bits.
func ParseAttrs(b []byte) ([]Attr, error) {
	var out []Attr
	for len(b) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b))
		if l < unix.SizeofRtAttr || l > len(b) {
			return nil, fmt.Errorf("netlink: an attribute of %d bytes in %d", l, len(b))
		}
		out = append(out, Attr{Type: binary.NativeEndian.Uint16(b[2:]), Value: b[unix.SizeofRtAttr:l]})
		l = (l + 3) &^ 3
		if l >= len(b) {
			break
		}
		b = b[l:]
	}
	return out, nil
}

// Find returns the value of the first attribute of type typ (flag bits
// ignored).
func Find(attrs []Attr, typ uint16) ([]byte, bool) {
	for _, a := range attrs {
		if a.Type&^(unix.NLA_F_NESTED|unix.NLA_F_NET_BYTEORDER) == typ {
			return a.Value, true
		}
	}
	return nil, false
}

// IfInfomsg is a struct ifinfomsg.
func IfInfomsg(index int32, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	return b
}

// CString is a NUL-terminated string attribute's value.
func CString(b []byte) string {
	if i := slices.Index(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
