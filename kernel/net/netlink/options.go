package netlink

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
)

// This file holds the socket options: SOL_SOCKET's, with the checks
// and encodings of Linux's net/core/sock.c, and SOL_NETLINK's, of
// net/netlink/af_netlink.c, netlink_setsockopt() and
// netlink_getsockopt(). Values are in the caller's layout (x86-64); the
// system-call layer copies them and cuts what getsockopt returns to the
// caller's buffer.

// options are the socket's options.
type options struct {
	rcvbuf, sndbuf int
	passcred       bool
	// rcvtimeo and sndtimeo: 0 waits forever, negative never waits.
	rcvtimeo, sndtimeo time.Duration
	// SOL_NETLINK flags. extAck and strict change how requests are
	// checked and answered, capAck how errors are; pktinfo adds a
	// control message to each receive; noENOBUFS keeps ENOBUFS from a
	// receiver whose answers were dropped; broadcastError is only
	// recorded (it is about multicast sends, which go nowhere).
	extAck, strict, capAck, pktinfo, noENOBUFS, broadcastError bool
	// flags are SO_REUSEADDR and the like, stored for getsockopt.
	flags map[int]bool
}

// storedOptions are the boolean SOL_SOCKET options a netlink socket
// keeps but does nothing with.
var storedOptions = map[int]bool{
	unix.SO_DEBUG: true, unix.SO_REUSEADDR: true, unix.SO_KEEPALIVE: true, unix.SO_DONTROUTE: true,
	unix.SO_BROADCAST: true, unix.SO_OOBINLINE: true, unix.SO_TIMESTAMP: true, unix.SO_TIMESTAMPNS: true,
}

// SetSockopt implements socket.Socket.
func (s *Socket) SetSockopt(c *socket.Caller, level, name int, val []byte) error {
	switch level {
	case unix.SOL_SOCKET:
		return s.setSocketOption(c, name, val)
	case unix.SOL_NETLINK:
		return s.setNetlinkOption(c, name, val)
	}
	return unix.ENOPROTOOPT
}

func (s *Socket) setSocketOption(c *socket.Caller, name int, val []byte) error {
	switch name {
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW, unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		d, err := socket.ParseTimeval(val)
		if err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if name == unix.SO_RCVTIMEO || name == unix.SO_RCVTIMEO_NEW {
			s.opts.rcvtimeo = d
		} else {
			s.opts.sndtimeo = d
		}
		return nil
	}
	if len(val) < 4 {
		return unix.EINVAL
	}
	v := int32(ne.Uint32(val))
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.opts
	switch name {
	case unix.SO_RCVBUF, unix.SO_SNDBUF, unix.SO_RCVBUFFORCE, unix.SO_SNDBUFFORCE:
		force := name == unix.SO_RCVBUFFORCE || name == unix.SO_SNDBUFFORCE
		if force && !hasCap(c, unix.CAP_NET_ADMIN) {
			return unix.EPERM
		}
		n := socket.BufferSize(v, force)
		if name == unix.SO_RCVBUF || name == unix.SO_RCVBUFFORCE {
			o.rcvbuf = max(n, socket.MinRcvbuf)
		} else {
			o.sndbuf = max(n, socket.MinSndbuf)
		}
	case unix.SO_PASSCRED:
		o.passcred = v != 0
	default:
		if !storedOptions[name] {
			return unix.ENOPROTOOPT
		}
		if name == unix.SO_DEBUG && v != 0 && !hasCap(c, unix.CAP_NET_ADMIN) {
			return unix.EACCES
		}
		if o.flags == nil {
			o.flags = map[int]bool{}
		}
		o.flags[name] = v != 0
	}
	return nil
}

// setNetlinkOption sets a SOL_NETLINK option. A value shorter than an
// int reads as 0, as on Linux.
func (s *Socket) setNetlinkOption(c *socket.Caller, name int, val []byte) error {
	var v uint32
	if len(val) >= 4 {
		v = ne.Uint32(val)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.opts
	switch name {
	case unix.NETLINK_PKTINFO:
		o.pktinfo = v != 0
	case unix.NETLINK_ADD_MEMBERSHIP, unix.NETLINK_DROP_MEMBERSHIP:
		if v == 0 || v > ngroups {
			return unix.EINVAL
		}
		if name == unix.NETLINK_DROP_MEMBERSHIP {
			s.groups &^= 1 << (v - 1)
			return nil
		}
		if (v == unix.RTNLGRP_IPV4_MROUTE_R || v == unix.RTNLGRP_IPV6_MROUTE_R) && !hasCap(c, unix.CAP_NET_ADMIN) {
			return unix.EPERM
		}
		s.groups |= 1 << (v - 1)
	case unix.NETLINK_BROADCAST_ERROR:
		o.broadcastError = v != 0
	case unix.NETLINK_NO_ENOBUFS:
		o.noENOBUFS = v != 0
	case unix.NETLINK_LISTEN_ALL_NSID:
		// There are no other namespaces to hear from, but Linux checks
		// the right first.
		if !hasCap(c, unix.CAP_NET_BROADCAST) {
			return unix.EPERM
		}
	case unix.NETLINK_CAP_ACK:
		o.capAck = v != 0
	case unix.NETLINK_EXT_ACK:
		o.extAck = v != 0
	case unix.NETLINK_GET_STRICT_CHK:
		o.strict = v != 0
	default:
		return unix.ENOPROTOOPT
	}
	return nil
}

// GetSockopt implements socket.Socket. SO_ERROR reports the pending
// error and clears it.
func (s *Socket) GetSockopt(c *socket.Caller, level, name, size int) ([]byte, error) {
	switch level {
	case unix.SOL_SOCKET:
		return s.socketOption(name)
	case unix.SOL_NETLINK:
		return s.netlinkOption(name, size)
	}
	return nil, unix.ENOPROTOOPT
}

func (s *Socket) socketOption(name int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.opts
	switch name {
	case unix.SO_TYPE:
		return socket.Int(int32(s.typ)), nil
	case unix.SO_DOMAIN:
		return socket.Int(unix.AF_NETLINK), nil
	case unix.SO_PROTOCOL:
		return socket.Int(unix.NETLINK_ROUTE), nil
	case unix.SO_ERROR:
		e := s.err
		s.err = 0
		return socket.Int(int32(e)), nil
	case unix.SO_ACCEPTCONN:
		return socket.Int(0), nil
	case unix.SO_PASSCRED:
		return socket.Bool(o.passcred), nil
	case unix.SO_RCVBUF:
		return socket.Int(int32(o.rcvbuf)), nil
	case unix.SO_SNDBUF:
		return socket.Int(int32(o.sndbuf)), nil
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW:
		return socket.Timeval(o.rcvtimeo), nil
	case unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		return socket.Timeval(o.sndtimeo), nil
	case unix.SO_RCVLOWAT, unix.SO_SNDLOWAT:
		return socket.Int(1), nil
	case unix.SO_PEERCRED:
		// No peer: no process, the overflow user and group.
		b := make([]byte, 12)
		ne.PutUint32(b[4:], 65534)
		ne.PutUint32(b[8:], 65534)
		return b, nil
	}
	if storedOptions[name] {
		return socket.Bool(o.flags[name]), nil
	}
	return nil, unix.ENOPROTOOPT
}

// netlinkOption reads a SOL_NETLINK option. The flags need an int's
// room (EINVAL); NETLINK_LIST_MEMBERSHIPS returns the group bitmap,
// whatever the room.
func (s *Socket) netlinkOption(name, size int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.opts
	var v bool
	switch name {
	case unix.NETLINK_LIST_MEMBERSHIPS:
		b := make([]byte, (ngroups+31)/32*4)
		ne.PutUint32(b, uint32(s.groups))
		ne.PutUint32(b[4:], uint32(s.groups>>32))
		return b, nil
	case unix.NETLINK_PKTINFO:
		v = o.pktinfo
	case unix.NETLINK_BROADCAST_ERROR:
		v = o.broadcastError
	case unix.NETLINK_NO_ENOBUFS:
		v = o.noENOBUFS
	case unix.NETLINK_LISTEN_ALL_NSID:
	case unix.NETLINK_CAP_ACK:
		v = o.capAck
	case unix.NETLINK_EXT_ACK:
		v = o.extAck
	case unix.NETLINK_GET_STRICT_CHK:
		v = o.strict
	default:
		return nil, unix.ENOPROTOOPT
	}
	if size < 4 {
		return nil, unix.EINVAL
	}
	return socket.Bool(v), nil
}
