package wire

import (
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// MaxFDs is the most descriptors a message may carry; a message with
// more is malformed (and the extra ones are closed).
const MaxFDs = 1

// OOBSize is the control buffer Recv needs: room for more descriptors
// than a message may carry, so that a peer sending too many is caught
// rather than silently truncated.
var OOBSize = unix.CmsgSpace(4 * 8)

// Send sends msg on the channel fd, with the descriptor pass in
// SCM_RIGHTS when it is not negative.
func Send(fd int, msg []byte, pass int) error {
	var oob []byte
	if pass >= 0 {
		oob = unix.UnixRights(pass)
	}
	for {
		err := unix.Sendmsg(fd, msg, oob, nil, unix.MSG_NOSIGNAL)
		if err != unix.EINTR {
			return err
		}
	}
}

// Recv receives one message into buf and returns its length and the
// descriptors that came with it (close-on-exec). It fails with io.EOF
// when the peer has closed the channel, with ErrMalformed for a
// message longer than buf or with more than MaxFDs descriptors (closing
// them), and with EAGAIN when the socket's receive timeout passes or,
// after a signal interrupted the wait, deadline (if not zero) has
// passed.
func Recv(fd int, buf, oob []byte, deadline time.Time) (int, []int, error) {
	for {
		n, oobn, flags, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			if !deadline.IsZero() && time.Now().After(deadline) {
				return 0, nil, unix.EAGAIN
			}
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		fds := parseRights(oob[:oobn])
		if n == 0 && oobn == 0 && flags&unix.MSG_TRUNC == 0 {
			return 0, nil, io.EOF
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || len(fds) > MaxFDs {
			closeAll(fds)
			return 0, nil, ErrMalformed
		}
		return n, fds, nil
	}
}

// parseRights returns the descriptors in a control buffer, ignoring
// other control messages.
func parseRights(oob []byte) []int {
	if len(oob) == 0 {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// SocketPair returns a connected pair of channel sockets (close-on-exec,
// blocking) with send buffers large enough for MaxMessage.
func SocketPair() ([2]int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fds, err
	}
	for _, fd := range fds {
		// A datagram must fit the send buffer whole. The kernel
		// doubles the value and caps it at wmem_max; the default
		// (208 KiB) is already enough, so a failure is harmless.
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 2*MaxMessage)
	}
	return fds, nil
}

// IsChannel reports whether fd is a Unix SOCK_SEQPACKET socket, as every
// channel is: a descriptor received as a channel is checked before use.
func IsChannel(fd int) bool {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_SEQPACKET {
		return false
	}
	dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	return err == nil && dom == unix.AF_UNIX
}
