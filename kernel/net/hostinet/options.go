package hostinet

import (
	"slices"

	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
)

// Socket options go to the host only from this allowlist: options whose
// values are plain numbers or structures without pointers, that change
// this socket alone and need no privilege the sandbox process lacks
// anyway. Anything else is refused with ENOPROTOOPT, as an option the
// kernel does not know, rather than handed to the host: no filters
// (SO_ATTACH_FILTER's value holds a pointer), no SO_BINDTODEVICE or
// SO_MARK, no TCP_ULP, TCP_MD5SIG, TCP_REPAIR or TCP_ZEROCOPY_RECEIVE,
// no IP_TRANSPARENT or IP_HDRINCL.

// optAccess says which of getsockopt and setsockopt an option takes.
type optAccess uint8

const (
	optGet optAccess = 1 << iota
	optSet
	optBoth = optGet | optSet
)

var allowedOptions = map[int]map[int]optAccess{
	unix.SOL_SOCKET: {
		unix.SO_TYPE: optGet, unix.SO_DOMAIN: optGet, unix.SO_PROTOCOL: optGet,
		unix.SO_ACCEPTCONN: optGet, unix.SO_ERROR: optGet,
		unix.SO_REUSEADDR: optBoth, unix.SO_REUSEPORT: optBoth, unix.SO_KEEPALIVE: optBoth,
		unix.SO_BROADCAST: optBoth, unix.SO_LINGER: optBoth, unix.SO_DONTROUTE: optBoth,
		unix.SO_RCVBUF: optBoth, unix.SO_SNDBUF: optBoth, unix.SO_RCVLOWAT: optBoth,
		unix.SO_SNDLOWAT: optGet, unix.SO_OOBINLINE: optBoth, unix.SO_PRIORITY: optBoth,
		unix.SO_TIMESTAMP: optBoth, unix.SO_TIMESTAMPNS: optBoth, unix.SO_RXQ_OVFL: optBoth,
		unix.SO_NO_CHECK: optBoth, unix.SO_BUSY_POLL: optGet, unix.SO_INCOMING_CPU: optGet,
		unix.SO_COOKIE: optGet,
	},
	unix.SOL_TCP: {
		unix.TCP_NODELAY: optBoth, unix.TCP_MAXSEG: optBoth, unix.TCP_CORK: optBoth,
		unix.TCP_KEEPIDLE: optBoth, unix.TCP_KEEPINTVL: optBoth, unix.TCP_KEEPCNT: optBoth,
		unix.TCP_SYNCNT: optBoth, unix.TCP_LINGER2: optBoth, unix.TCP_DEFER_ACCEPT: optBoth,
		unix.TCP_WINDOW_CLAMP: optBoth, unix.TCP_INFO: optGet, unix.TCP_QUICKACK: optBoth,
		unix.TCP_CONGESTION: optBoth, unix.TCP_USER_TIMEOUT: optBoth, unix.TCP_FASTOPEN: optBoth,
		unix.TCP_NOTSENT_LOWAT: optBoth, unix.TCP_FASTOPEN_CONNECT: optBoth,
	},
	unix.SOL_IP: {
		unix.IP_TOS: optBoth, unix.IP_TTL: optBoth, unix.IP_RECVERR: optBoth,
		unix.IP_PKTINFO: optBoth, unix.IP_RECVTOS: optBoth, unix.IP_RECVTTL: optBoth,
		unix.IP_MTU_DISCOVER: optBoth, unix.IP_MTU: optGet, unix.IP_FREEBIND: optBoth,
		unix.IP_BIND_ADDRESS_NO_PORT: optBoth, unix.IP_RECVORIGDSTADDR: optBoth,
		unix.IP_MULTICAST_TTL: optBoth, unix.IP_MULTICAST_LOOP: optBoth,
		unix.IP_MULTICAST_IF: optBoth, unix.IP_ADD_MEMBERSHIP: optSet,
		unix.IP_DROP_MEMBERSHIP: optSet,
	},
	unix.SOL_IPV6: {
		unix.IPV6_V6ONLY: optBoth, unix.IPV6_UNICAST_HOPS: optBoth, unix.IPV6_MULTICAST_HOPS: optBoth,
		unix.IPV6_MULTICAST_LOOP: optBoth, unix.IPV6_MULTICAST_IF: optBoth,
		unix.IPV6_JOIN_GROUP: optSet, unix.IPV6_LEAVE_GROUP: optSet,
		unix.IPV6_RECVPKTINFO: optBoth, unix.IPV6_TCLASS: optBoth, unix.IPV6_RECVTCLASS: optBoth,
		unix.IPV6_RECVHOPLIMIT: optBoth, unix.IPV6_MTU_DISCOVER: optBoth, unix.IPV6_MTU: optGet,
		unix.IPV6_RECVERR: optBoth,
	},
}

// HostOptions returns, for each level other than SOL_SOCKET, the option
// names the package may pass to the host's getsockopt and setsockopt:
// the sandbox process's seccomp filter allows those alone
// (internal/confine).
func HostOptions() map[int][]int {
	out := make(map[int][]int)
	for level, names := range allowedOptions {
		if level == unix.SOL_SOCKET {
			continue
		}
		for name := range names {
			out[level] = append(out[level], name)
		}
		slices.Sort(out[level])
	}
	return out
}

// HostIoctls are the ioctl requests the package passes to the host.
var HostIoctls = []uint32{
	unix.SIOCINQ, unix.SIOCOUTQ, unix.SIOCATMARK,
	unix.SIOCGIFFLAGS, unix.SIOCGIFINDEX, unix.SIOCGIFNAME, unix.SIOCGIFMTU,
	unix.SIOCGIFADDR, unix.SIOCGIFNETMASK, unix.SIOCGIFBRDADDR, unix.SIOCGIFHWADDR,
	unix.SIOCGIFTXQLEN, unix.SIOCGIFMETRIC, unix.SIOCGIFMAP,
}

// maxOptionSize bounds what goes to and comes from the host: more than
// the largest allowed option (struct tcp_info, a congestion control
// name, struct group_req).
const maxOptionSize = 512

// allowed reports whether the option may go to the host for access.
func allowed(level, name int, access optAccess) bool {
	return allowedOptions[level][name]&access != 0
}

// timeoutOption reports whether name is SO_RCVTIMEO or SO_SNDTIMEO (old
// or new: the same struct on x86-64), and which.
func timeoutOption(level, name int) (recv, ok bool) {
	if level != unix.SOL_SOCKET {
		return false, false
	}
	switch name {
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW:
		return true, true
	case unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		return false, true
	}
	return false, false
}

// SetSockopt implements socket.Socket.
func (s *Socket) SetSockopt(c *socket.Caller, level, name int, val []byte) error {
	if recv, ok := timeoutOption(level, name); ok {
		d, err := socket.ParseTimeval(val)
		if err != nil {
			return err
		}
		s.mu.Lock()
		if recv {
			s.rcvtimeo = d
		} else {
			s.sndtimeo = d
		}
		s.mu.Unlock()
		return nil
	}
	if !allowed(level, name, optSet) {
		return unix.ENOPROTOOPT
	}
	if len(val) > maxOptionSize {
		return unix.EINVAL
	}
	return hostErr(hostSetsockopt(s.fd, level, name, append([]byte(nil), val...)))
}

// GetSockopt implements socket.Socket.
func (s *Socket) GetSockopt(c *socket.Caller, level, name int, size int) ([]byte, error) {
	if recv, ok := timeoutOption(level, name); ok {
		rcv, snd := s.Timeouts()
		if recv {
			return socket.Timeval(rcv), nil
		}
		return socket.Timeval(snd), nil
	}
	if !allowed(level, name, optGet) {
		return nil, unix.ENOPROTOOPT
	}
	if size < 0 {
		return nil, unix.EINVAL
	}
	v, err := hostGetsockopt(s.fd, level, name, min(size, maxOptionSize))
	return v, hostErr(err)
}
