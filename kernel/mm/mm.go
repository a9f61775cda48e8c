package mm

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/platform"
)

// PageSize is the application page size.
const PageSize = memfile.PageSize

// MM is one application address space.
type MM struct {
	mf *memfile.File
	as platform.AddressSpace

	// mu guards everything below. Platform calls are made with it held
	// (lock order: MM.mu, then the platform's).
	mu sync.RWMutex
	// vmas are sorted by start and never overlap.
	vmas []*vma
	// brkStart is where the heap begins; brk is the current break (not
	// page aligned, as the application set it).
	brkStart, brk uintptr
	// mmapBase is where top-down searches for free ranges start.
	mmapBase uintptr
	released bool
}

// vma is a range of application memory. Every byte of it is backed by
// the memory file at off + (addr - start), whether or not the platform has
// mapped it yet; the vma holds one reference to that range.
type vma struct {
	start, end uintptr
	prot       int
	off        uint64
	shared     bool
	name       string
	// mapped says the platform maps the whole range (it is mapped on the
	// first fault anywhere in it, and unmapped as a whole).
	mapped bool
	// cow says the range may be shared with another address space (a
	// private vma after fork): the platform maps it without PROT_WRITE,
	// and a write first gives it a range of its own (breakCOWLocked).
	// Every private vma whose range has other references is cow; a cow
	// vma whose range has lost them is made writable on its next write.
	// Shared vmas are never cow.
	cow bool
}

func (v *vma) length() uintptr { return v.end - v.start }

// hostProt is the protection the platform maps v with.
func (v *vma) hostProt() int {
	if v.cow {
		return v.prot &^ unix.PROT_WRITE
	}
	return v.prot
}

// mergeable reports whether b continues a: adjacent in the address space
// and in the memory file, and alike in everything else, so that one vma
// can stand for both.
func mergeable(a, b *vma) bool {
	return a.end == b.start && a.off+uint64(a.length()) == b.off && a.prot == b.prot &&
		a.shared == b.shared && a.name == b.name && a.mapped == b.mapped && a.cow == b.cow
}

// New creates an empty address space over mf whose host side is as.
func New(mf *memfile.File, as platform.AddressSpace, mmapBase uintptr) *MM {
	return &MM{mf: mf, as: as, mmapBase: mmapBase &^ (PageSize - 1)}
}

// AddressSpace returns the platform address space.
func (mm *MM) AddressSpace() platform.AddressSpace { return mm.as }

// Release frees all memory and the platform address space.
func (mm *MM) Release() {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.released {
		return
	}
	// The platform goes first: no stub may map memory that is freed.
	mm.as.Release()
	mm.mf.DecRefRanges(ranges(mm.vmas))
	mm.vmas = nil
	mm.released = true
}

// ranges lists the memory-file ranges of vs.
func ranges(vs []*vma) []memfile.Range {
	rs := make([]memfile.Range, len(vs))
	for i, v := range vs {
		rs[i] = memfile.Range{Off: v.off, Len: uint64(v.length())}
	}
	return rs
}

func pageUp(a uintptr) uintptr   { return (a + PageSize - 1) &^ (PageSize - 1) }
func pageDown(a uintptr) uintptr { return a &^ (PageSize - 1) }

// rangeOK reports whether [addr, addr+length) is a non-empty range inside
// the application's address space.
func rangeOK(addr, length uintptr) bool {
	end := addr + length
	return length > 0 && end > addr && addr >= platform.MinUserAddress && end <= platform.MaxUserAddress
}

// findLocked returns the index of the first vma ending after addr.
func (mm *MM) findLocked(addr uintptr) int {
	return sort.Search(len(mm.vmas), func(i int) bool { return mm.vmas[i].end > addr })
}

// vmaAtLocked returns the vma containing addr, or nil.
func (mm *MM) vmaAtLocked(addr uintptr) *vma {
	i := mm.findLocked(addr)
	if i < len(mm.vmas) && mm.vmas[i].start <= addr {
		return mm.vmas[i]
	}
	return nil
}

// overlapsLocked reports whether any vma intersects [start, end).
func (mm *MM) overlapsLocked(start, end uintptr) bool {
	i := mm.findLocked(start)
	return i < len(mm.vmas) && mm.vmas[i].start < end
}

func (mm *MM) insertLocked(v *vma) {
	i := mm.findLocked(v.start)
	mm.vmas = append(mm.vmas, nil)
	copy(mm.vmas[i+1:], mm.vmas[i:])
	mm.vmas[i] = v
}

// splitLocked makes addr a vma boundary if it falls inside one.
func (mm *MM) splitLocked(addr uintptr) {
	i := mm.findLocked(addr)
	if i == len(mm.vmas) || mm.vmas[i].start >= addr {
		return
	}
	v := mm.vmas[i]
	tail := *v
	tail.start = addr
	tail.off = v.off + uint64(addr-v.start)
	v.end = addr
	mm.vmas = append(mm.vmas, nil)
	copy(mm.vmas[i+2:], mm.vmas[i+1:])
	mm.vmas[i+1] = &tail
}

// piecesLocked splits at start and end and returns the vmas inside
// [start, end), in order.
func (mm *MM) piecesLocked(start, end uintptr) []*vma {
	mm.splitLocked(start)
	mm.splitLocked(end)
	i := mm.findLocked(start)
	j := i
	for j < len(mm.vmas) && mm.vmas[j].start < end {
		j++
	}
	return mm.vmas[i:j]
}

// mergeAroundLocked merges v with its neighbours where mergeable, so that
// breaking copy-on-write chunk by chunk does not leave a vma per chunk
// when the new ranges happen to be contiguous.
func (mm *MM) mergeAroundLocked(v *vma) {
	i := mm.findLocked(v.start)
	if i+1 < len(mm.vmas) && mergeable(v, mm.vmas[i+1]) {
		v.end = mm.vmas[i+1].end
		mm.vmas = slices.Delete(mm.vmas, i+1, i+2)
	}
	if i > 0 && mergeable(mm.vmas[i-1], v) {
		mm.vmas[i-1].end = v.end
		mm.vmas = slices.Delete(mm.vmas, i, i+1)
	}
}

// coveredLocked reports whether [start, end) is mapped without holes.
func (mm *MM) coveredLocked(start, end uintptr) bool {
	at := start
	for i := mm.findLocked(start); i < len(mm.vmas) && at < end; i++ {
		v := mm.vmas[i]
		if v.start > at {
			return false
		}
		at = v.end
	}
	return at >= end
}

// unmapLocked removes [start, end) (page aligned), dropping its
// references to the memory file.
func (mm *MM) unmapLocked(start, end uintptr) error {
	pieces := mm.piecesLocked(start, end)
	if len(pieces) == 0 {
		return nil
	}
	mapped := false
	for _, v := range pieces {
		mapped = mapped || v.mapped
	}
	rs := ranges(pieces)
	i := mm.findLocked(start)
	mm.vmas = slices.Delete(mm.vmas, i, i+len(pieces))
	// Unmap before the memory can be freed and handed to someone else.
	var err error
	if mapped {
		err = mm.as.Unmap(start, end-start)
	}
	mm.mf.DecRefRanges(rs)
	return err
}

// newVMALocked allocates memory for [start, end) and inserts it. The range
// must be free.
func (mm *MM) newVMALocked(start, end uintptr, prot int, shared bool, name string) (*vma, error) {
	off, err := mm.mf.Allocate(uint64(end - start))
	if err != nil {
		return nil, unix.ENOMEM
	}
	v := &vma{start: start, end: end, prot: prot, off: off, shared: shared, name: name}
	mm.insertLocked(v)
	return v, nil
}

// findGapLocked returns a free range of length bytes: at hint if that is
// free, else the highest one below mmapBase (Linux's top-down layout).
func (mm *MM) findGapLocked(length, hint uintptr) (uintptr, error) {
	if hint != 0 {
		hint = pageDown(hint)
		if rangeOK(hint, length) && !mm.overlapsLocked(hint, hint+length) {
			return hint, nil
		}
	}
	top := mm.mmapBase
	for i := mm.findLocked(top) - 1; ; i-- {
		floor := uintptr(platform.MinUserAddress)
		if i >= 0 {
			floor = mm.vmas[i].end
		}
		if top >= floor+length {
			return top - length, nil
		}
		if i < 0 {
			break
		}
		top = mm.vmas[i].start
	}
	// Nothing below the base: look above it, bottom-up.
	at := mm.mmapBase
	for i := mm.findLocked(at); at+length <= platform.MaxUserAddress; i++ {
		if i == len(mm.vmas) || mm.vmas[i].start >= at+length {
			return at, nil
		}
		at = mm.vmas[i].end
	}
	return 0, unix.ENOMEM
}

// MapInfo describes one vma, for /proc/[pid]/maps and debugging.
type MapInfo struct {
	Start, End uintptr
	Prot       int
	Shared     bool
	Name       string
}

// Maps lists the address space. Adjacent private vmas that differ only in
// their memory-file ranges are listed as one, as Linux would have merged
// them (copy-on-write splits vmas where Linux does not).
func (mm *MM) Maps() []MapInfo {
	mm.mu.RLock()
	defer mm.mu.RUnlock()
	out := make([]MapInfo, 0, len(mm.vmas))
	for _, v := range mm.vmas {
		if n := len(out); n > 0 && !v.shared {
			if p := &out[n-1]; p.End == v.start && !p.Shared && p.Prot == v.prot && p.Name == v.name {
				p.End = v.end
				continue
			}
		}
		out = append(out, MapInfo{v.start, v.end, v.prot, v.shared, v.name})
	}
	return out
}

func (mi MapInfo) String() string {
	p := []byte("---p")
	if mi.Prot&unix.PROT_READ != 0 {
		p[0] = 'r'
	}
	if mi.Prot&unix.PROT_WRITE != 0 {
		p[1] = 'w'
	}
	if mi.Prot&unix.PROT_EXEC != 0 {
		p[2] = 'x'
	}
	if mi.Shared {
		p[3] = 's'
	}
	return fmt.Sprintf("%08x-%08x %s %s", mi.Start, mi.End, p, mi.Name)
}

// VirtualSize is the total size of the address space's mappings, the
// quantity RLIMIT_AS bounds.
func (mm *MM) VirtualSize() uintptr {
	mm.mu.RLock()
	defer mm.mu.RUnlock()
	var n uintptr
	for _, v := range mm.vmas {
		n += v.end - v.start
	}
	return n
}
