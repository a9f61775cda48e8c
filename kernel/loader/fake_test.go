package loader

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// fakeMem is a Memory that keeps mappings and their bytes in maps and
// enforces what mm.MM does: page alignment, the application bounds, no
// overlap, writes only to mapped memory.
type fakeMem struct {
	maps  []fakeMapping // sorted by start
	pages map[uintptr]*[PageSize]byte
	// discard drops written bytes (fuzzing: only the loader's own
	// allocations should count).
	discard bool
	// mmapBase is where FindFree starts looking, downwards.
	mmapBase uintptr
	// maxAddr is the end of the address space: platform.MaxUserAddress,
	// or Linux's TASK_SIZE to mirror a host process's stack.
	maxAddr  uintptr
	brk      uintptr
	brkSet   int
	mapCalls int
	written  uint64
}

type fakeMapping struct {
	start, end uintptr
	prot       int
	name       string
}

func newFakeMem() *fakeMem {
	return &fakeMem{
		pages:    map[uintptr]*[PageSize]byte{},
		mmapBase: 0x7f00_0000_0000,
		maxAddr:  platform.MaxUserAddress,
	}
}

func (m *fakeMem) overlaps(start, end uintptr) bool {
	for _, v := range m.maps {
		if start < v.end && v.start < end {
			return true
		}
	}
	return false
}

func (m *fakeMem) MapFixed(addr, length uintptr, prot int, name string) error {
	m.mapCalls++
	if addr%PageSize != 0 || length%PageSize != 0 || length == 0 {
		return unix.EINVAL
	}
	if addr < platform.MinUserAddress || addr > m.maxAddr || length > m.maxAddr-addr {
		return unix.EINVAL
	}
	if m.overlaps(addr, addr+length) {
		return unix.EEXIST
	}
	m.maps = append(m.maps, fakeMapping{addr, addr + length, prot, name})
	sort.Slice(m.maps, func(i, j int) bool { return m.maps[i].start < m.maps[j].start })
	return nil
}

// mapping returns the mapping holding addr.
func (m *fakeMem) mapping(addr uintptr) (fakeMapping, bool) {
	for _, v := range m.maps {
		if v.start <= addr && addr < v.end {
			return v, true
		}
	}
	return fakeMapping{}, false
}

func (m *fakeMem) mapped(addr, n uintptr) bool {
	if addr+n < addr {
		return false
	}
	for a := addr &^ (PageSize - 1); a < addr+n; a += PageSize {
		if _, ok := m.mapping(a); !ok {
			return false
		}
	}
	return true
}

func (m *fakeMem) WriteForce(addr uintptr, data []byte) error {
	if !m.mapped(addr, uintptr(len(data))) {
		return unix.EFAULT
	}
	m.written += uint64(len(data))
	if m.discard {
		return nil
	}
	for len(data) > 0 {
		page := addr &^ (PageSize - 1)
		p := m.pages[page]
		if p == nil {
			p = new([PageSize]byte)
			m.pages[page] = p
		}
		n := copy(p[addr-page:], data)
		data = data[n:]
		addr += uintptr(n)
	}
	return nil
}

func (m *fakeMem) FindFree(length uintptr) (uintptr, error) {
	length = (length + PageSize - 1) &^ (PageSize - 1)
	end := m.mmapBase
	for {
		if length == 0 || length > end-platform.MinUserAddress {
			return 0, unix.ENOMEM
		}
		start := end - length
		blocked := false
		for _, v := range m.maps {
			if start < v.end && v.start < end {
				end, blocked = min(end, v.start), true
			}
		}
		if !blocked {
			return start, nil
		}
	}
}

func (m *fakeMem) SetBrkStart(addr uintptr) {
	m.brk = addr
	m.brkSet++
}

// read returns n bytes at addr, which must be mapped.
func (m *fakeMem) read(addr, n uintptr) ([]byte, error) {
	if !m.mapped(addr, n) {
		return nil, fmt.Errorf("read of %d bytes at %#x: not mapped", n, addr)
	}
	out := make([]byte, n)
	for i := uintptr(0); i < n; {
		a := addr + i
		page := a &^ (PageSize - 1)
		var c int
		if p := m.pages[page]; p != nil {
			c = copy(out[i:], p[a-page:])
		} else {
			c = int(min(n-i, PageSize-(a-page)))
		}
		i += uintptr(c)
	}
	return out, nil
}

func (m *fakeMem) readUint64(addr uintptr) (uint64, error) {
	b, err := m.read(addr, 8)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// readString reads a NUL-terminated string at addr.
func (m *fakeMem) readString(addr uintptr) (string, error) {
	var s []byte
	for {
		b, err := m.read(addr, 1)
		if err != nil {
			return "", err
		}
		if b[0] == 0 {
			return string(s), nil
		}
		s = append(s, b[0])
		addr++
		if len(s) > 1<<20 {
			return "", fmt.Errorf("unterminated string")
		}
	}
}
