package futex

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
)

// futex_waitv(2) and the futex2 flags. Linux: include/uapi/linux/futex.h.
const (
	// WaitvMax (FUTEX_WAITV_MAX) is the most futexes one call waits on.
	WaitvMax = 128
	// WaitvSize is sizeof(struct futex_waitv).
	WaitvSize = 24

	Futex2SizeU8   = 0x00
	Futex2SizeU16  = 0x01
	Futex2SizeU32  = 0x02
	Futex2SizeU64  = 0x03
	Futex2SizeMask = 0x03
	Futex2NUMA     = 0x04
	Futex2MPOL     = 0x08
	Futex2Private  = PrivateFlag
)

// Waitv is one entry of futex_waitv(2)'s vector (struct futex_waitv).
type Waitv struct {
	Val   uint64
	Addr  uintptr
	Flags uint32
}

// DecodeWaitv decodes a vector of struct futex_waitv copied in from the
// application: EINVAL if its length is not a multiple of WaitvSize or a
// reserved field is set. Waitv checks the rest.
func DecodeWaitv(b []byte) ([]Waitv, error) {
	if len(b)%WaitvSize != 0 {
		return nil, unix.EINVAL
	}
	vs := make([]Waitv, len(b)/WaitvSize)
	for i := range vs {
		e := b[i*WaitvSize:]
		if binary.LittleEndian.Uint32(e[20:24]) != 0 {
			return nil, unix.EINVAL
		}
		vs[i] = Waitv{
			Val:   binary.LittleEndian.Uint64(e[0:8]),
			Addr:  uintptr(binary.LittleEndian.Uint64(e[8:16])),
			Flags: binary.LittleEndian.Uint32(e[16:20]),
		}
	}
	return vs, nil
}

// checkWaitv validates one entry. Only 32-bit futexes exist; FUTEX2_MPOL
// is accepted and has no effect (there is no NUMA placement), FUTEX2_NUMA
// is EINVAL. Linux: kernel/futex/syscalls.c, futex_parse_waitv();
// kernel/futex/futex.h, futex_flags_valid().
func checkWaitv(v Waitv) error {
	if v.Flags&^(Futex2SizeMask|Futex2MPOL|Futex2Private) != 0 {
		return unix.EINVAL
	}
	if v.Flags&Futex2SizeMask != Futex2SizeU32 || v.Val>>32 != 0 {
		return unix.EINVAL
	}
	return nil
}

// Waitv is futex_waitv(2): wait on every futex of vs whose word holds its
// Val, until one is woken, the deadline (zero: none) or a signal. It
// returns the index of a woken futex (the last one, if several were), or
// EINVAL for an empty or too long vector or a bad entry, EAGAIN if a word
// differs from its Val (unless a futex queued before it was woken
// meanwhile: then that index), a Memory error, or Block's error
// (ErrTimedOut, ErrInterrupted). The system-call layer checks flags == 0
// and the clock ID, and converts the absolute timeout (see Deadline).
// Linux: kernel/futex/waitwake.c, futex_wait_multiple() and
// futex_wait_multiple_setup().
func (m *Manager) Waitv(mem Memory, b Blocker, vs []Waitv, deadline time.Time) (int, error) {
	if len(vs) == 0 || len(vs) > WaitvMax {
		return -1, unix.EINVAL
	}
	for _, v := range vs {
		if err := checkWaitv(v); err != nil {
			return -1, err
		}
	}
	keys := make([]Key, len(vs))
	for i, v := range vs {
		k, err := KeyOf(mem, v.Addr, v.Flags&Futex2Private != 0)
		if err != nil {
			return -1, err
		}
		keys[i] = k
	}
	wake := make(chan struct{}, 1)
	ws := make([]*waiter, len(vs))
	for {
		for i, v := range vs {
			w := &waiter{wake: wake, key: keys[i], bitset: BitsetMatchAny, index: i}
			err := m.queueIfValue(mem, v.Addr, uint32(v.Val), w)
			if err == nil {
				ws[i] = w
				continue
			}
			// Even on failure, a futex woken meanwhile is reported.
			if woken := m.unqueueAll(ws[:i]); woken >= 0 {
				return woken, nil
			}
			return -1, err
		}
		err := b.Block(wake, deadline)
		if woken := m.unqueueAll(ws); woken >= 0 {
			return woken, nil
		}
		if err != nil {
			return -1, err
		}
		// Spurious: nobody dequeued any; queue again, checking values.
	}
}

// unqueueAll takes the waiters of ws off their queues and returns the
// index of the last one a waker had dequeued, or -1.
// Linux: kernel/futex/waitwake.c, futex_unqueue_multiple().
func (m *Manager) unqueueAll(ws []*waiter) int {
	woken := -1
	for _, w := range ws {
		if queued, _ := m.unqueue(w); !queued {
			woken = w.index
		}
	}
	return woken
}
