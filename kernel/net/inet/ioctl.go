package inet

import (
	"bytes"
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"

	"magawa/kernel/vfs"
)

// Sizes of the ioctl structures (x86-64). Linux: include/uapi/linux/if.h.
const (
	ifreqSize  = 40 // struct ifreq: a name and a 24-byte union
	ifconfSize = 16 // struct ifconf: a length and a pointer
)

// Ioctl implements vfs.IoctlImpl: the queue sizes, and the interface
// queries of netdevice(7) that programs make on any Internet socket.
// Linux: net/ipv4/af_inet.c, inet_ioctl(), and net/core/dev_ioctl.c.
func (s *Socket) Ioctl(io vfs.IO, request uint32, arg uintptr) (uintptr, error) {
	switch request {
	case unix.SIOCINQ:
		if s.stream() && s.ep.SocketOptions().GetAcceptConn() {
			return 0, unix.EINVAL
		}
		v, err := s.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
		if err != nil {
			return 0, Errno(err)
		}
		return 0, putInt32(io, arg, int32(v))
	case unix.SIOCOUTQ:
		v, err := s.ep.GetSockOptInt(tcpip.SendQueueSizeOption)
		if err != nil {
			return 0, Errno(err)
		}
		return 0, putInt32(io, arg, int32(v))
	case unix.SIOCATMARK:
		return 0, putInt32(io, arg, 0) // urgent data is inline
	}
	if IsInterfaceIoctl(request) {
		return s.stack.InterfaceIoctl(io, request, arg)
	}
	return 0, unix.ENOTTY
}

// IsInterfaceIoctl reports whether request is one of the netdevice(7)
// queries Stack.InterfaceIoctl answers.
func IsInterfaceIoctl(request uint32) bool {
	switch request {
	case unix.SIOCGIFCONF, unix.SIOCGIFFLAGS, unix.SIOCGIFINDEX, unix.SIOCGIFNAME,
		unix.SIOCGIFMTU, unix.SIOCGIFADDR, unix.SIOCGIFNETMASK, unix.SIOCGIFBRDADDR,
		unix.SIOCGIFHWADDR, unix.SIOCGIFTXQLEN, unix.SIOCGIFMETRIC, unix.SIOCGIFMAP, unix.SIOCETHTOOL:
		return true
	}
	return false
}

// InterfaceIoctl answers a netdevice(7) query (IsInterfaceIoctl) about
// st's interfaces. Linux answers them on a socket of any family, not
// only an Internet one (net/socket.c, sock_do_ioctl() falls back to
// dev_ioctl()), and glibc's if_nametoindex and if_indextoname ask a Unix
// socket, so the system-call layer calls this for the other families.
func (st *Stack) InterfaceIoctl(io vfs.IO, request uint32, arg uintptr) (uintptr, error) {
	switch {
	case request == unix.SIOCGIFCONF:
		return 0, st.interfaceConfig(io, arg)
	case request == unix.SIOCETHTOOL:
		return 0, st.ethtool(io, arg)
	case IsInterfaceIoctl(request):
		return 0, st.interfaceRequest(io, request, arg)
	}
	return 0, unix.ENOTTY
}

func putInt32(io vfs.IO, addr uintptr, v int32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	if n, err := io.CopyOut(addr, b[:]); err != nil || n != len(b) {
		return unix.EFAULT
	}
	return nil
}

// interfaceRequest answers one SIOCGIF* query about the interface named
// (or, for SIOCGIFNAME, numbered) in the struct ifreq at arg.
func (st *Stack) interfaceRequest(io vfs.IO, request uint32, arg uintptr) error {
	req := make([]byte, ifreqSize)
	if n, err := io.CopyIn(arg, req); err != nil || n != len(req) {
		return unix.EFAULT
	}
	var ifc Interface
	var ok bool
	if request == unix.SIOCGIFNAME {
		ifc, ok = st.InterfaceByIndex(int32(binary.LittleEndian.Uint32(req[16:])))
	} else {
		name := req[:unix.IFNAMSIZ]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		ifc, ok = st.InterfaceByName(string(name))
	}
	if !ok {
		return unix.ENODEV
	}
	u := req[16:]
	clear(u)
	le := binary.LittleEndian
	switch request {
	case unix.SIOCGIFNAME:
		clear(req[:16])
		copy(req[:unix.IFNAMSIZ-1], ifc.Name)
	case unix.SIOCGIFFLAGS:
		le.PutUint16(u, uint16(ifc.Flags))
	case unix.SIOCGIFINDEX:
		le.PutUint32(u, uint32(ifc.Index))
	case unix.SIOCGIFMTU:
		le.PutUint32(u, ifc.MTU)
	case unix.SIOCGIFTXQLEN:
		le.PutUint32(u, txQueueLen)
	case unix.SIOCGIFMETRIC, unix.SIOCGIFMAP:
		// Zero: no metric, no device memory map.
	case unix.SIOCGIFHWADDR:
		le.PutUint16(u, ifc.ARPType)
		copy(u[2:16], ifc.HardwareAddr)
	case unix.SIOCGIFADDR, unix.SIOCGIFNETMASK, unix.SIOCGIFBRDADDR:
		var found bool
		for _, a := range st.InterfaceAddresses() {
			if a.Index != ifc.Index || !a.Prefix.Addr().Is4() {
				continue
			}
			found = true
			ip := a.Prefix.Addr().As4()
			mask := uint32(0)
			if a.Prefix.Bits() > 0 {
				mask = ^uint32(0) << (32 - a.Prefix.Bits())
			}
			var v [4]byte
			switch request {
			case unix.SIOCGIFADDR:
				v = ip
			case unix.SIOCGIFNETMASK:
				binary.BigEndian.PutUint32(v[:], mask)
			case unix.SIOCGIFBRDADDR:
				if ifc.Flags&unix.IFF_BROADCAST != 0 {
					binary.BigEndian.PutUint32(v[:], binary.BigEndian.Uint32(ip[:])|^mask)
				}
			}
			le.PutUint16(u, unix.AF_INET)
			copy(u[4:8], v[:])
			break
		}
		if !found {
			return unix.EADDRNOTAVAIL
		}
	}
	if n, err := io.CopyOut(arg, req); err != nil || n != len(req) {
		return unix.EFAULT
	}
	return nil
}

// txQueueLen is the transmit queue length Linux gives loopback and
// Ethernet interfaces alike (DEFAULT_TX_QUEUE_LEN).
const txQueueLen = 1000

// interfaceConfig answers SIOCGIFCONF: one struct ifreq with the name
// and IPv4 address per interface address, as many as the buffer holds;
// without a buffer, the length needed. Linux: net/ipv4/devinet.c,
// inet_gifconf().
func (st *Stack) interfaceConfig(io vfs.IO, arg uintptr) error {
	conf := make([]byte, ifconfSize)
	if n, err := io.CopyIn(arg, conf); err != nil || n != len(conf) {
		return unix.EFAULT
	}
	le := binary.LittleEndian
	length := int32(le.Uint32(conf))
	buf := uintptr(le.Uint64(conf[8:]))
	var out []byte
	for _, a := range st.InterfaceAddresses() {
		if !a.Prefix.Addr().Is4() {
			continue
		}
		ifc, ok := st.InterfaceByIndex(a.Index)
		if !ok {
			continue
		}
		req := make([]byte, ifreqSize)
		copy(req[:unix.IFNAMSIZ-1], ifc.Name)
		le.PutUint16(req[16:], unix.AF_INET)
		ip := a.Prefix.Addr().As4()
		copy(req[20:24], ip[:])
		out = append(out, req...)
	}
	if buf == 0 {
		le.PutUint32(conf, uint32(len(out)))
	} else {
		n := min(int(max(length, 0))/ifreqSize*ifreqSize, len(out))
		if n > 0 {
			if k, err := io.CopyOut(buf, out[:n]); err != nil || k != n {
				return unix.EFAULT
			}
		}
		le.PutUint32(conf, uint32(n))
	}
	if n, err := io.CopyOut(arg, conf[:4]); err != nil || n != 4 {
		return unix.EFAULT
	}
	return nil
}

// Sizes of the ethtool structures (include/uapi/linux/ethtool.h).
const (
	ethtoolValueSize  = 8  // struct ethtool_value: cmd, data
	ethtoolTSInfoSize = 44 // struct ethtool_ts_info
)

// ethtool answers SIOCETHTOOL, the queries libpcap makes of an interface
// before it captures: its time stamping (ETHTOOL_GET_TS_INFO: software
// receive time stamps only, no PTP clock, what Linux reports of a
// device whose driver says nothing, as veth and lo do), and its offloads
// (ETHTOOL_GGRO and the like, which size libpcap's ring frames): an
// Ethernet interface hands the sandbox frames the host aggregated, up to
// 64 KiB (AttachEthernet), which is what generic receive offload looks
// like to a capture; nothing else is offloaded (netstack sends frames of
// at most the MTU). Other commands, the settings included, are
// EOPNOTSUPP, as for a driver without them. Linux: net/ethtool/ioctl.c,
// dev_ethtool().
func (st *Stack) ethtool(io vfs.IO, arg uintptr) error {
	req := make([]byte, ifreqSize)
	if n, err := io.CopyIn(arg, req); err != nil || n != len(req) {
		return unix.EFAULT
	}
	name := req[:unix.IFNAMSIZ]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	ifc, ok := st.InterfaceByName(string(name))
	if !ok {
		return unix.ENODEV
	}
	le := binary.LittleEndian
	data := uintptr(le.Uint64(req[16:]))
	cmd := make([]byte, 4)
	if n, err := io.CopyIn(data, cmd); err != nil || n != len(cmd) {
		return unix.EFAULT
	}
	var out []byte
	switch c := le.Uint32(cmd); c {
	case unix.ETHTOOL_GET_TS_INFO:
		out = make([]byte, ethtoolTSInfoSize)
		le.PutUint32(out, c)
		le.PutUint32(out[4:], unix.SOF_TIMESTAMPING_RX_SOFTWARE|unix.SOF_TIMESTAMPING_SOFTWARE)
		le.PutUint32(out[8:], ^uint32(0)) // phc_index -1: no PTP clock
	case unix.ETHTOOL_GGRO, unix.ETHTOOL_GTSO, unix.ETHTOOL_GUFO, unix.ETHTOOL_GGSO, unix.ETHTOOL_GFLAGS:
		out = make([]byte, ethtoolValueSize)
		le.PutUint32(out, c)
		if c == unix.ETHTOOL_GGRO && ifc.ARPType == unix.ARPHRD_ETHER {
			le.PutUint32(out[4:], 1)
		}
	default:
		return unix.EOPNOTSUPP
	}
	if n, err := io.CopyOut(data, out); err != nil || n != len(out) {
		return unix.EFAULT
	}
	return nil
}
