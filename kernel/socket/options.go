package socket

import (
	"encoding/binary"
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
