package socket

import (
	"encoding/binary"
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// TimevalSize is sizeof(struct timeval), SO_RCVTIMEO's value.
const TimevalSize = 16

// ParseTimeval decodes SO_RCVTIMEO's and SO_SNDTIMEO's struct timeval:
// {0, 0} is no timeout, a negative one never waits (-1).
// Linux: net/core/sock.c, sock_set_timeout().
func ParseTimeval(val []byte) (time.Duration, error) {
	if len(val) < TimevalSize {
		return 0, unix.EINVAL
	}
	sec := int64(binary.LittleEndian.Uint64(val))
	usec := int64(binary.LittleEndian.Uint64(val[8:]))
	if usec < 0 || usec >= 1e6 {
		return 0, unix.EDOM
	}
	if sec < 0 {
		return -1, nil
	}
	if sec == 0 && usec == 0 {
		return 0, nil
	}
	const maxSec = int64(1<<63-1) / int64(time.Second)
	if sec >= maxSec {
		return 0, nil // as good as forever
	}
	return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond, nil
}

// Timeval encodes a timeout as getsockopt reports it.
func Timeval(d time.Duration) []byte {
	b := make([]byte, TimevalSize)
	if d > 0 {
		binary.LittleEndian.PutUint64(b, uint64(d/time.Second))
		binary.LittleEndian.PutUint64(b[8:], uint64(d%time.Second/time.Microsecond))
	}
	return b
}

// Int encodes an int option's value.
func Int(v int32) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(v))
	return b
}

// Bool encodes a boolean option's value (0 or 1).
func Bool(b bool) []byte {
	if b {
		return Int(1)
	}
	return Int(0)
}

// Linux's sizes for a socket's buffers on x86-64 (net/core/sock.c,
// include/net/sock.h), shared by every family the kernel serves.
const (
	// DefaultBuffer is net.core.rmem_default and wmem_default: a new
	// socket's SO_RCVBUF and SO_SNDBUF.
	DefaultBuffer = 212992
	// MaxBuffer is net.core.rmem_max and wmem_max: SO_RCVBUF and
	// SO_SNDBUF take at most this (and double it).
	MaxBuffer = 212992
	// MinSndbuf and MinRcvbuf are SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF.
	MinSndbuf = 4608
	MinRcvbuf = 2304
)

// BufferSize is the size SO_RCVBUF or SO_SNDBUF with value v give a
// buffer (force: their FORCE forms, which need CAP_NET_ADMIN), before
// the minimum: Linux doubles the value for its bookkeeping overhead,
// reads the plain forms' value as unsigned, so that a negative one is
// MaxBuffer, and lets the FORCE forms past MaxBuffer (but not past what
// an int holds doubled). Linux: net/core/sock.c, sk_setsockopt().
func BufferSize(v int32, force bool) int {
	if force {
		return int(min(max(v, 0), math.MaxInt32/2)) * 2
	}
	return int(min(uint32(v), MaxBuffer)) * 2
}
