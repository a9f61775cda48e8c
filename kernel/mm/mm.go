package mm

import (
	"fmt"
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
// mapped it yet.
type vma struct {
	start, end uintptr
	prot       int
	off        uint64
	shared     bool
	name       string
	// mapped says the platform maps the whole range (it is mapped on the
	// first fault anywhere in it, and unmapped as a whole).
	mapped bool
}

func (v *vma) length() uintptr { return v.end - v.start }

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
	for _, v := range mm.vmas {
		mm.mf.Free(v.off, uint64(v.length()))
	}
	mm.vmas = nil
	mm.as.Release()
	mm.released = true
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

// unmapLocked removes [start, end) (page aligned), freeing its memory.
func (mm *MM) unmapLocked(start, end uintptr) error {
	pieces := mm.piecesLocked(start, end)
	if len(pieces) == 0 {
		return nil
	}
	mapped := false
	for _, v := range pieces {
		mapped = mapped || v.mapped
		mm.mf.Free(v.off, uint64(v.length()))
	}
	i := mm.findLocked(start)
	mm.vmas = append(mm.vmas[:i], mm.vmas[i+len(pieces):]...)
	if mapped {
		return mm.as.Unmap(start, end-start)
	}
	return nil
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

// Maps lists the address space.
func (mm *MM) Maps() []MapInfo {
	mm.mu.RLock()
	defer mm.mu.RUnlock()
	out := make([]MapInfo, 0, len(mm.vmas))
	for _, v := range mm.vmas {
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
