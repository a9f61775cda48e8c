package lock

import (
	"math"

	"golang.org/x/sys/unix"
)

// MaxOffset is the last byte a lock can cover. A range that ends there
// runs to the end of the file, however far the file grows (l_len 0).
const MaxOffset = math.MaxInt64

// Range is an inclusive byte range [Start, End] with 0 <= Start <= End.
type Range struct {
	Start int64
	End   int64
}

// Whole is the range of the whole file, from 0 to its end.
var Whole = Range{Start: 0, End: MaxOffset}

// Len returns the range's length as struct flock reports it: 0 for a range
// that runs to the end of the file.
// Linux: fs/locks.c, posix_lock_to_flock().
func (r Range) Len() int64 {
	if r.End == MaxOffset {
		return 0
	}
	return r.End - r.Start + 1
}

func (r Range) valid() bool { return r.Start >= 0 && r.Start <= r.End }

func (r Range) overlaps(o Range) bool { return r.Start <= o.End && o.Start <= r.End }

// RangeOf converts struct flock's l_whence, l_start and l_len into a
// Range, given the description's offset (for SEEK_CUR) and the file's size
// (for SEEK_END). l_len 0 means "to the end of the file"; a negative l_len
// covers the -l_len bytes before the start. A start past MaxOffset is
// EOVERFLOW; a range reaching below 0 or an unknown whence is EINVAL.
// Linux: fs/locks.c, flock64_to_posix_lock().
func RangeOf(whence int, start, length, offset, size int64) (Range, error) {
	var base int64
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		base = offset
	case unix.SEEK_END:
		base = size
	default:
		return Range{}, unix.EINVAL
	}
	// An offset or a size is never negative; refusing one keeps the
	// overflow check below to the one direction a positive start can go.
	if base < 0 {
		return Range{}, unix.EINVAL
	}
	if start > MaxOffset-base {
		return Range{}, unix.EOVERFLOW
	}
	start += base
	if start < 0 {
		return Range{}, unix.EINVAL
	}
	switch {
	case length > 0:
		if length-1 > MaxOffset-start {
			return Range{}, unix.EOVERFLOW
		}
		return Range{Start: start, End: start + length - 1}, nil
	case length < 0:
		// start >= 0 and length < 0: the sum cannot overflow.
		if start+length < 0 {
			return Range{}, unix.EINVAL
		}
		return Range{Start: start + length, End: start - 1}, nil
	default:
		return Range{Start: start, End: MaxOffset}, nil
	}
}
