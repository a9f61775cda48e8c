package mm

import (
	"golang.org/x/sys/unix"
)

// forEachLocked calls fn on the kernel's view of each part of
// [addr, addr+n) in turn, checking that the application may access it
// with need (a PROT_* bit, or 0 for any mapped memory). Pending file
// memory must have been populated first (lockFor), and is refused if it
// was not; so is copy-on-write memory if write says fn writes. It stops
// at the first hole or protection failure and returns the bytes handled
// and EFAULT.
func (mm *MM) forEachLocked(addr uintptr, n int, need int, write bool, fn func(b []byte)) (int, error) {
	done := 0
	for done < n {
		at := addr + uintptr(done)
		if at < addr {
			return done, unix.EFAULT // wrapped around
		}
		v := mm.vmaAtLocked(at)
		if v == nil || v.prot&need != need || v.pending || (write && v.cow) {
			return done, unix.EFAULT
		}
		chunk := min(uintptr(n-done), v.end-at)
		fn(mm.mf.Slice(v.off+uint64(at-v.start), uint64(chunk)))
		done += int(chunk)
	}
	return done, nil
}

// CopyIn copies application memory at addr into dst.
func (mm *MM) CopyIn(addr uintptr, dst []byte) (int, error) {
	defer mm.lockFor(addr, len(dst), unix.PROT_READ, false)()
	off := 0
	return mm.forEachLocked(addr, len(dst), unix.PROT_READ, false, func(b []byte) {
		off += copy(dst[off:], b)
	})
}

// CopyOut copies src into application memory at addr, breaking
// copy-on-write first.
func (mm *MM) CopyOut(addr uintptr, src []byte) (int, error) {
	defer mm.lockFor(addr, len(src), unix.PROT_WRITE, true)()
	off := 0
	return mm.forEachLocked(addr, len(src), unix.PROT_WRITE, true, func(b []byte) {
		off += copy(b, src[off:])
	})
}

// WriteForce copies data to addr ignoring protection (for the loader).
func (mm *MM) WriteForce(addr uintptr, data []byte) error {
	defer mm.lockFor(addr, len(data), 0, true)()
	off := 0
	_, err := mm.forEachLocked(addr, len(data), 0, true, func(b []byte) {
		off += copy(b, data[off:])
	})
	return err
}

// CopyInString reads a NUL-terminated string of at most max bytes
// (without the NUL). It fails with ENAMETOOLONG if no NUL is found within
// max bytes, EFAULT on a bad address.
func (mm *MM) CopyInString(addr uintptr, max int) (string, error) {
	defer mm.lockFor(addr, max, unix.PROT_READ, false)()
	var buf []byte
	for len(buf) < max {
		at := addr + uintptr(len(buf))
		// Read up to the end of the page, so a string that ends just
		// before unmapped memory is still read.
		chunk := min(int(PageSize-at%PageSize), max-len(buf))
		found := false
		_, err := mm.forEachLocked(at, chunk, unix.PROT_READ, false, func(b []byte) {
			for i, c := range b {
				if c == 0 {
					buf = append(buf, b[:i]...)
					found = true
					return
				}
			}
			buf = append(buf, b...)
		})
		if found {
			return string(buf), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", unix.ENAMETOOLONG
}

// WithBytes lets fn work directly on the kernel's view of the
// application's memory [addr, addr+n), part by part, for zero-copy reads
// and writes. write says the application memory is written (needs
// PROT_WRITE), else read (PROT_READ). fn returns the bytes it handled; a
// short count or an error stops the walk.
//
// Copy-on-write memory is broken, and pending file memory populated,
// chunk by chunk as fn reaches it, so that a short read(2) into a large
// buffer copies only what it writes.
func (mm *MM) WithBytes(addr uintptr, n int, write bool, fn func(b []byte) (int, error)) (int, error) {
	need := unix.PROT_READ
	if write {
		need = unix.PROT_WRITE
	}
	mm.mu.RLock()
	if !mm.needsFixLocked(addr, n, need, write) {
		defer mm.mu.RUnlock()
		return mm.withBytesLocked(addr, n, need, write, fn)
	}
	mm.mu.RUnlock()
	done := 0
	for done < n {
		at := addr + uintptr(done)
		k := min(n-done, int(cowChunk-at%cowChunk))
		unlock := mm.lockFor(at, k, need, write)
		got, err := mm.withBytesLocked(at, k, need, write, fn)
		unlock()
		done += got
		if err != nil || got < k {
			return done, err
		}
	}
	return done, nil
}

// withBytesLocked is WithBytes over memory that needs no more
// copy-on-write breaking.
func (mm *MM) withBytesLocked(addr uintptr, n int, need int, write bool, fn func(b []byte) (int, error)) (int, error) {
	done := 0
	var fnErr error
	stopped := false
	_, err := mm.forEachLocked(addr, n, need, write, func(b []byte) {
		if stopped {
			return
		}
		k, e := fn(b)
		done += k
		if e != nil || k < len(b) {
			fnErr, stopped = e, true
		}
	})
	if fnErr != nil {
		return done, fnErr
	}
	if stopped {
		return done, nil
	}
	return done, err
}
