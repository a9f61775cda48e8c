package strace

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// fakeMem is a sparse address space for tests: bytes outside the regions
// written fault, as unmapped memory does.
type fakeMem struct {
	bytes map[uintptr]byte
	// reads counts CopyIn calls, to check that hostile sizes are not read.
	reads int
}

func newMem() *fakeMem { return &fakeMem{bytes: map[uintptr]byte{}} }

func (m *fakeMem) CopyIn(addr uintptr, dst []byte) (int, error) {
	m.reads++
	for i := range dst {
		b, ok := m.bytes[addr+uintptr(i)]
		if !ok {
			return i, unix.EFAULT
		}
		dst[i] = b
	}
	return len(dst), nil
}

func (m *fakeMem) put(addr uintptr, b []byte) *fakeMem {
	for i, v := range b {
		m.bytes[addr+uintptr(i)] = v
	}
	return m
}

// str stores s with its NUL.
func (m *fakeMem) str(addr uintptr, s string) *fakeMem {
	return m.put(addr, append([]byte(s), 0))
}

func (m *fakeMem) u32s(addr uintptr, vs ...uint32) *fakeMem {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return m.put(addr, b)
}

func (m *fakeMem) u64s(addr uintptr, vs ...uint64) *fakeMem {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return m.put(addr, b)
}

// zero maps n zero bytes.
func (m *fakeMem) zero(addr uintptr, n int) *fakeMem { return m.put(addr, make([]byte, n)) }

// statBuf builds an x86-64 struct stat.
func statBuf(mode uint32, rdev uint64, size int64) []byte {
	b := make([]byte, 144)
	binary.LittleEndian.PutUint32(b[24:], mode)
	binary.LittleEndian.PutUint64(b[40:], rdev)
	binary.LittleEndian.PutUint64(b[48:], uint64(size))
	return b
}

// termiosBuf builds a struct termios with the given flag words.
func termiosBuf(i, o, c, l uint32) []byte {
	b := make([]byte, 36)
	binary.LittleEndian.PutUint32(b[0:], i)
	binary.LittleEndian.PutUint32(b[4:], o)
	binary.LittleEndian.PutUint32(b[8:], c)
	binary.LittleEndian.PutUint32(b[12:], l)
	return b
}
