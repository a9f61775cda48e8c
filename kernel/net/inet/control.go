package inet

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// This file is the ancillary data of Internet datagram sockets: what a
// sendmsg may ask of one datagram (IP_TTL, IP_TOS, IPV6_HOPLIMIT,
// IPV6_TCLASS, IPV6_PKTINFO) and what recvmsg reports of one when the
// socket asked for it (IP_PKTINFO, IP_TTL, IP_TOS, IPV6_PKTINFO,
// IPV6_HOPLIMIT, IPV6_TCLASS). Linux: net/ipv4/ip_sockglue.c,
// ip_cmsg_send() and ip_cmsg_recv_offset(); net/ipv6/datagram.c,
// ip6_datagram_send_ctl() and ip6_datagram_recv_common_ctl().

// cmsgHeader is sizeof(struct cmsghdr) on x86-64.
const cmsgHeader = 16

func cmsgAlign(n int) int { return (n + 7) &^ 7 }

// sendControl is what a sendmsg's ancillary data asks of its datagram.
type sendControl struct {
	tcpip.SendableControlMessages
	// tclass and tos, when set, are the datagram's traffic class or
	// type of service: netstack takes them only as socket options.
	tclass, tos *int
}

// parseSendControl reads a sendmsg's control messages for a socket of
// family: EINVAL for a malformed record, a level or type Linux would not
// take for the family, or a value out of range.
func parseSendControl(family int, ctl []byte) (sendControl, error) {
	var sc sendControl
	for len(ctl) >= cmsgHeader {
		n := int(binary.LittleEndian.Uint64(ctl))
		if n < cmsgHeader || n > len(ctl) {
			return sc, unix.EINVAL
		}
		level := int32(binary.LittleEndian.Uint32(ctl[8:]))
		typ := int32(binary.LittleEndian.Uint32(ctl[12:]))
		data := ctl[cmsgHeader:n]
		ctl = ctl[min(cmsgAlign(n), len(ctl)):]
		intValue := func() (int, error) {
			if len(data) != 4 {
				return 0, unix.EINVAL
			}
			return int(int32(binary.LittleEndian.Uint32(data))), nil
		}
		switch {
		case level == unix.SOL_SOCKET:
			if err := socketLevelCmsg(typ); err != nil {
				return sc, err
			}
		case family == unix.AF_INET && level != unix.SOL_IP, family == unix.AF_INET6 && level != unix.SOL_IPV6:
			// Another protocol's record: Linux passes over it.
		case level == unix.SOL_IP && typ == unix.IP_TTL:
			v, err := intValue()
			if err != nil || v < 1 || v > 255 {
				return sc, unix.EINVAL
			}
			sc.HasTTL, sc.TTL = true, uint8(v)
		case level == unix.SOL_IP && typ == unix.IP_TOS:
			// One byte, or an int as glibc's users often send it.
			var v int
			switch len(data) {
			case 1:
				v = int(data[0])
			case 4:
				v, _ = intValue()
			default:
				return sc, unix.EINVAL
			}
			if v < 0 || v > 255 {
				return sc, unix.EINVAL
			}
			sc.tos = &v
		case level == unix.SOL_IPV6 && typ == unix.IPV6_HOPLIMIT:
			v, err := intValue()
			if err != nil || v < -1 || v > 255 {
				return sc, unix.EINVAL
			}
			if v >= 0 {
				sc.HasHopLimit, sc.HopLimit = true, uint8(v)
			}
		case level == unix.SOL_IPV6 && typ == unix.IPV6_TCLASS:
			v, err := intValue()
			if err != nil || v < -1 || v > 255 {
				return sc, unix.EINVAL
			}
			if v >= 0 {
				sc.tclass = &v
			}
		case level == unix.SOL_IPV6 && typ == unix.IPV6_PKTINFO:
			if len(data) != 20 {
				return sc, unix.EINVAL
			}
			sc.HasIPv6PacketInfo = true
			sc.IPv6PacketInfo = tcpip.IPv6PacketInfo{
				Addr: tcpip.AddrFrom16([16]byte(data[:16])),
				NIC:  tcpip.NICID(binary.LittleEndian.Uint32(data[16:])),
			}
			if sc.IPv6PacketInfo.Addr == tcpip.AddrFrom16([16]byte{}) {
				sc.IPv6PacketInfo.Addr = tcpip.Address{}
			}
		default:
			return sc, unix.EINVAL
		}
	}
	return sc, nil
}

// socketLevelCmsg is what an Internet socket makes of a SOL_SOCKET
// record: descriptors and credentials belong to Unix sockets and are
// passed over, as Linux's __sock_cmsg_send() does; the per-message
// options it serves (SO_MARK, SO_PRIORITY, timestamping, SCM_TXTIME)
// are not served here: EINVAL, never a silent success.
func socketLevelCmsg(typ int32) error {
	if typ == unix.SCM_RIGHTS || typ == unix.SCM_CREDENTIALS {
		return nil
	}
	return unix.EINVAL
}

// appendCmsg appends one control message.
func appendCmsg(b []byte, level, typ int32, data []byte) []byte {
	h := make([]byte, cmsgHeader)
	binary.LittleEndian.PutUint64(h, uint64(cmsgHeader+len(data)))
	binary.LittleEndian.PutUint32(h[8:], uint32(level))
	binary.LittleEndian.PutUint32(h[12:], uint32(typ))
	b = append(append(b, h...), data...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

func int32Bytes(v int32) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(v))
	return b
}

// receivedControl is the ancillary data of a received datagram, in
// Linux's order, for what the socket asked for.
func receivedControl(family int, cm tcpip.ReceivableControlMessages) []byte {
	var b []byte
	if family == unix.AF_INET {
		if cm.HasIPPacketInfo {
			info := make([]byte, 12)
			binary.LittleEndian.PutUint32(info, uint32(cm.PacketInfo.NIC))
			if cm.PacketInfo.LocalAddr.Len() == 4 {
				a := cm.PacketInfo.LocalAddr.As4()
				copy(info[4:], a[:])
			}
			if cm.PacketInfo.DestinationAddr.Len() == 4 {
				a := cm.PacketInfo.DestinationAddr.As4()
				copy(info[8:], a[:])
			}
			b = appendCmsg(b, unix.SOL_IP, unix.IP_PKTINFO, info)
		}
		if cm.HasTTL {
			b = appendCmsg(b, unix.SOL_IP, unix.IP_TTL, int32Bytes(int32(cm.TTL)))
		}
		if cm.HasTOS {
			b = appendCmsg(b, unix.SOL_IP, unix.IP_TOS, []byte{cm.TOS})
		}
		return b
	}
	if cm.HasIPv6PacketInfo {
		info := make([]byte, 20)
		if cm.IPv6PacketInfo.Addr.Len() == 16 {
			a := cm.IPv6PacketInfo.Addr.As16()
			copy(info, a[:])
		}
		binary.LittleEndian.PutUint32(info[16:], uint32(cm.IPv6PacketInfo.NIC))
		b = appendCmsg(b, unix.SOL_IPV6, unix.IPV6_PKTINFO, info)
	}
	if cm.HasHopLimit {
		b = appendCmsg(b, unix.SOL_IPV6, unix.IPV6_HOPLIMIT, int32Bytes(int32(cm.HopLimit)))
	}
	if cm.HasTClass {
		b = appendCmsg(b, unix.SOL_IPV6, unix.IPV6_TCLASS, int32Bytes(int32(cm.TClass)))
	}
	return b
}
