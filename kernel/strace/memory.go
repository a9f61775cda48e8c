package strace

import (
	"bytes"
	"encoding/binary"
)

const (
	// maxStrLen is how many bytes of a buffer or string strace shows
	// before "..." (its -s default); it also caps array elements.
	maxStrLen = 32
	// maxPath bounds path reads, as PATH_MAX does in the kernel.
	maxPath = 4096
	// pageSize splits string reads so that a string ending just before
	// an unmapped page is still read.
	pageSize = 4096
	// stringChunk is how much of a string is read at a time: most are
	// short, and PATH_MAX would be a lot to copy for every path.
	stringChunk = 256
)

// read fills b from the program's memory at addr; it reports false when
// any byte could not be read.
func (c *call) read(addr uintptr, b []byte) bool { return c.copyIn(addr, b) == len(b) }

// copyIn reads what it can of b and returns how many bytes it got.
func (c *call) copyIn(addr uintptr, b []byte) int {
	if c.mem == nil {
		return 0
	}
	n, _ := c.mem.CopyIn(addr, b)
	if n < 0 || n > len(b) {
		// A broken Memory; trust none of it.
		return 0
	}
	return n
}

// readU64 reads a little-endian 64-bit word.
func (c *call) readU64(addr uintptr) (uint64, bool) {
	var b [8]byte
	if !c.read(addr, b[:]) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:]), true
}

// readU32 reads a little-endian 32-bit word.
func (c *call) readU32(addr uintptr) (uint32, bool) {
	var b [4]byte
	if !c.read(addr, b[:]) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[:]), true
}

// readCString reads a NUL-terminated string of at most limit bytes (the NUL
// not counted). It returns the bytes before the NUL, whether the NUL was
// found, and false if the memory could not be read.
func (c *call) readCString(addr uintptr, limit int) (s []byte, terminated, ok bool) {
	for len(s) < limit {
		// Read in small pieces that never cross a page: the next page
		// may be unmapped while the string ends before it.
		n := pageSize - int(addr%pageSize)
		n = min(n, stringChunk, limit-len(s))
		buf := make([]byte, n)
		got := c.copyIn(addr, buf)
		if i := bytes.IndexByte(buf[:got], 0); i >= 0 {
			return append(s, buf[:i]...), true, true
		}
		if got < n {
			return nil, false, false
		}
		s = append(s, buf...)
		next := addr + uintptr(n)
		if next < addr {
			// The string runs to the end of the address space.
			return s, false, true
		}
		addr = next
	}
	return s, false, true
}

// le64, le32 and le16 decode fields of a struct already copied in.
func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
