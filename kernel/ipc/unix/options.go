package unix

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"magawa/kernel/socket"
)

// This file holds the SOL_SOCKET options, with the checks and value
// encodings of Linux's net/core/sock.c, sk_setsockopt() and
// sk_getsockopt(). Values are in the caller's layout (x86-64); the
// system-call layer copies them and handles the lengths.

// boolOptions are the boolean options stored and reported but that
// change nothing for a Unix socket.
var boolOptions = [...]int{unix.SO_DEBUG, unix.SO_REUSEADDR, unix.SO_KEEPALIVE, unix.SO_DONTROUTE,
	unix.SO_BROADCAST, unix.SO_OOBINLINE, unix.SO_NO_CHECK}

func boolOption(name int) (uint8, bool) {
	for i, o := range boolOptions {
		if o == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// SetSockopt sets the SOL_SOCKET option name from its value val (the
// caller's optlen bytes). netAdmin says whether the caller has
// CAP_NET_ADMIN. Options Linux has but this socket does not implement
// fail with ENOPROTOOPT.
func (s *Socket) SetSockopt(name int, val []byte, netAdmin bool) error {
	if len(val) < 4 {
		return unix.EINVAL
	}
	s.mu.Lock()
	sndbuf := s.opts.sndbuf
	err := s.setSockoptLocked(name, val, netAdmin)
	changed := s.opts.sndbuf != sndbuf
	s.mu.Unlock()
	if changed {
		s.queue.Notify(outEvents) // writability may have changed
	}
	return err
}

func (s *Socket) setSockoptLocked(name int, val []byte, netAdmin bool) error {
	v := int32(binary.LittleEndian.Uint32(val))
	o := &s.opts
	if bit, ok := boolOption(name); ok {
		if name == unix.SO_DEBUG && v != 0 && !netAdmin {
			return unix.EACCES
		}
		if v != 0 {
			o.flags |= bit
		} else {
			o.flags &^= bit
		}
		return nil
	}
	switch name {
	case unix.SO_PASSCRED:
		o.passcred = v != 0
	case unix.SO_SNDBUF, unix.SO_SNDBUFFORCE:
		if name == unix.SO_SNDBUFFORCE && !netAdmin {
			return unix.EPERM
		}
		o.sndbuf = max(socket.BufferSize(v, name == unix.SO_SNDBUFFORCE), socket.MinSndbuf)
	case unix.SO_RCVBUF, unix.SO_RCVBUFFORCE:
		if name == unix.SO_RCVBUFFORCE && !netAdmin {
			return unix.EPERM
		}
		o.rcvbuf = max(socket.BufferSize(v, name == unix.SO_RCVBUFFORCE), socket.MinRcvbuf)
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW, unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		d, err := socket.ParseTimeval(val)
		if err != nil {
			return err
		}
		if name == unix.SO_RCVTIMEO || name == unix.SO_RCVTIMEO_NEW {
			o.rcvtimeo = d
		} else {
			o.sndtimeo = d
		}
	case unix.SO_LINGER:
		if len(val) < 8 {
			return unix.EINVAL
		}
		o.linger = unix.Linger{Onoff: int32(binary.LittleEndian.Uint32(val)), Linger: int32(binary.LittleEndian.Uint32(val[4:]))}
		if o.linger.Onoff != 0 {
			o.linger.Onoff = 1
		}
	case unix.SO_RCVLOWAT:
		if v < 0 {
			v = 1<<31 - 1
		}
		o.rcvlowat = max(v, 1)
	case unix.SO_PRIORITY:
		if (v < 0 || v > 6) && !netAdmin {
			return unix.EPERM
		}
		o.priority = v
	case unix.SO_REUSEPORT:
		if v != 0 {
			return unix.EOPNOTSUPP // Linux offers it to internet sockets only
		}
	case unix.SO_PEEK_OFF:
		return unix.EOPNOTSUPP // not implemented: see the package doc
	default:
		return unix.ENOPROTOOPT
	}
	return nil
}

// GetSockopt returns the value of the SOL_SOCKET option name, in full:
// the caller copies as much as the caller's length allows. Reading
// SO_ERROR clears it.
func (s *Socket) GetSockopt(name int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.opts
	if bit, ok := boolOption(name); ok {
		return socket.Bool(o.flags&bit != 0), nil
	}
	switch name {
	case unix.SO_TYPE:
		return socket.Int(int32(s.typ)), nil
	case unix.SO_DOMAIN:
		return socket.Int(unix.AF_UNIX), nil
	case unix.SO_PROTOCOL:
		return socket.Int(0), nil
	case unix.SO_ERROR:
		e := s.err
		s.err = 0
		return socket.Int(int32(e)), nil
	case unix.SO_ACCEPTCONN:
		return socket.Bool(s.state == stateListening), nil
	case unix.SO_PASSCRED:
		return socket.Bool(o.passcred), nil
	case unix.SO_SNDBUF:
		return socket.Int(int32(o.sndbuf)), nil
	case unix.SO_RCVBUF:
		return socket.Int(int32(o.rcvbuf)), nil
	case unix.SO_RCVTIMEO, unix.SO_RCVTIMEO_NEW:
		return socket.Timeval(o.rcvtimeo), nil
	case unix.SO_SNDTIMEO, unix.SO_SNDTIMEO_NEW:
		return socket.Timeval(o.sndtimeo), nil
	case unix.SO_LINGER:
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(o.linger.Onoff))
		binary.LittleEndian.PutUint32(b[4:], uint32(o.linger.Linger))
		return b, nil
	case unix.SO_RCVLOWAT:
		return socket.Int(o.rcvlowat), nil
	case unix.SO_SNDLOWAT:
		return socket.Int(1), nil
	case unix.SO_PRIORITY:
		return socket.Int(o.priority), nil
	case unix.SO_REUSEPORT:
		return socket.Int(0), nil
	case unix.SO_PEEK_OFF:
		return socket.Int(-1), nil
	case unix.SO_BINDTODEVICE:
		return []byte{}, nil // bound to no device: an empty name
	case unix.SO_PEERCRED:
		// Without a peer: no process, user and group -1.
		c := Creds{UID: ^uint32(0), GID: ^uint32(0)}
		if s.hasPeerCred {
			c = s.peerCred
		}
		b := make([]byte, 12)
		binary.LittleEndian.PutUint32(b, uint32(c.PID))
		binary.LittleEndian.PutUint32(b[4:], c.UID)
		binary.LittleEndian.PutUint32(b[8:], c.GID)
		return b, nil
	}
	return nil, unix.ENOPROTOOPT
}
