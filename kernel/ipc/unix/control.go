package unix

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// This file reads and writes ancillary data (msg_control) in Linux's
// x86-64 layout: struct cmsghdr is a 64-bit cmsg_len, then cmsg_level
// and cmsg_type, 16 bytes; each message's data follows its header and
// the next header starts CMSG_ALIGN (8 bytes) later.

const (
	cmsgHdrLen = 16
	ucredLen   = 12
)

func cmsgAlign(n int) int { return (n + 7) &^ 7 }

// CmsgLen and CmsgSpace are CMSG_LEN and CMSG_SPACE.
func CmsgLen(n int) int   { return cmsgHdrLen + n }
func CmsgSpace(n int) int { return cmsgHdrLen + cmsgAlign(n) }

// SendControl is what a sendmsg's ancillary data asks for.
type SendControl struct {
	// FDs are the descriptors of SCM_RIGHTS messages, in order.
	FDs []int32
	// Creds are the last SCM_CREDENTIALS message's credentials, not yet
	// checked against the sender's rights.
	Creds *Creds
}

// ParseControl reads a sendmsg's ancillary data. Messages of levels
// other than SOL_SOCKET are skipped; a malformed message, an unknown
// SOL_SOCKET type, or more than ScmMaxFD descriptors fail with EINVAL.
// Linux: net/core/scm.c, __scm_send() and scm_fp_copy().
func ParseControl(b []byte) (SendControl, error) {
	var c SendControl
	for off := 0; off+cmsgHdrLen <= len(b); {
		h := b[off:]
		n := binary.LittleEndian.Uint64(h)
		if n < cmsgHdrLen || n > uint64(len(b)-off) {
			return SendControl{}, unix.EINVAL
		}
		level := int32(binary.LittleEndian.Uint32(h[8:]))
		typ := int32(binary.LittleEndian.Uint32(h[12:]))
		data := h[cmsgHdrLen:n]
		if level == unix.SOL_SOCKET {
			switch typ {
			case unix.SCM_RIGHTS:
				k := len(data) / 4
				if len(c.FDs)+k > ScmMaxFD {
					return SendControl{}, unix.EINVAL
				}
				for i := range k {
					c.FDs = append(c.FDs, int32(binary.LittleEndian.Uint32(data[4*i:])))
				}
			case unix.SCM_CREDENTIALS:
				if len(data) != ucredLen {
					return SendControl{}, unix.EINVAL
				}
				c.Creds = &Creds{
					PID: int32(binary.LittleEndian.Uint32(data)),
					UID: binary.LittleEndian.Uint32(data[4:]),
					GID: binary.LittleEndian.Uint32(data[8:]),
				}
			default:
				return SendControl{}, unix.EINVAL
			}
		}
		off += cmsgAlign(int(n))
	}
	return c, nil
}

// ControlBuffer builds a recvmsg's ancillary data in a buffer of the
// receiver's msg_controllen, truncating as Linux's put_cmsg() and
// scm_detach_fds() do.
type ControlBuffer struct {
	Buf []byte
	// Used is how much of Buf the messages took: the msg_controllen
	// recvmsg returns.
	Used int
	// Trunc is set when something did not fit (MSG_CTRUNC).
	Trunc bool
}

// NewControlBuffer returns an empty buffer of size bytes.
func NewControlBuffer(size int) *ControlBuffer {
	return &ControlBuffer{Buf: make([]byte, size)}
}

func (c *ControlBuffer) free() int { return len(c.Buf) - c.Used }

// put appends one message, cutting it to the room left.
func (c *ControlBuffer) put(level, typ int32, data []byte) {
	if c.free() < cmsgHdrLen {
		c.Trunc = true
		return
	}
	n := CmsgLen(len(data))
	if c.free() < n {
		c.Trunc = true
		n = c.free()
	}
	h := c.Buf[c.Used:]
	binary.LittleEndian.PutUint64(h, uint64(n))
	binary.LittleEndian.PutUint32(h[8:], uint32(level))
	binary.LittleEndian.PutUint32(h[12:], uint32(typ))
	copy(h[cmsgHdrLen:n], data)
	c.Used += min(CmsgSpace(len(data)), c.free())
}

// PutCreds appends an SCM_CREDENTIALS message.
func (c *ControlBuffer) PutCreds(cr Creds) {
	var b [ucredLen]byte
	binary.LittleEndian.PutUint32(b[:], uint32(cr.PID))
	binary.LittleEndian.PutUint32(b[4:], cr.UID)
	binary.LittleEndian.PutUint32(b[8:], cr.GID)
	c.put(unix.SOL_SOCKET, unix.SCM_CREDENTIALS, b[:])
}

// RightsRoom is how many descriptors an SCM_RIGHTS message can hold in
// the room left.
func (c *ControlBuffer) RightsRoom() int {
	if c.free() < cmsgHdrLen {
		return 0
	}
	return (c.free() - cmsgHdrLen) / 4
}

// PutRights appends an SCM_RIGHTS message with the descriptors
// installed (at most RightsRoom); of is how many were received, so that
// a message that lost descriptors is marked truncated.
func (c *ControlBuffer) PutRights(fds []int32, of int) {
	if len(fds) < of {
		c.Trunc = true
	}
	if len(fds) == 0 {
		return
	}
	b := make([]byte, 4*len(fds))
	for i, fd := range fds {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(fd))
	}
	c.put(unix.SOL_SOCKET, unix.SCM_RIGHTS, b)
}
