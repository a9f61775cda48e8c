package mm

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/platform"
	"magawa/kernel/vfs"
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
	// mappables counts the vmas that map each Mappable file; the address
	// space is registered with a file (AddMapping) while it has any.
	mappables map[vfs.Mappable]int
}

// vma is a range of application memory. Every byte of it is backed by
// the memory file at off + (addr - start), whether or not the platform has
// mapped it yet; the vma holds one reference to that range. The exception
// is a pending vma (a file mapping not touched yet), which has no memory.
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

	// file is the mapped file (nil for anonymous memory), with a
	// reference the vma holds; fileOff is the file offset of start.
	file    *vfs.File
	fileOff uint64
	// mappable is set when the vma maps the file's own pages (the file
	// is a vfs.Mappable, as tmpfs files are): shared, or private and
	// copy-on-write until written. Other files are copied.
	mappable vfs.Mappable
	// maxProt bounds prot (mprotect fails with EACCES beyond it): a
	// shared mapping of a file not open for writing never gets
	// PROT_WRITE. Linux: VM_MAYREAD, VM_MAYWRITE, VM_MAYEXEC.
	maxProt int
	// pending says the vma has no memory yet: off is 0, it holds no
	// reference and is never mapped. A file mapping is pending until
	// first touched (populateLocked), so it reads the file as it is
	// then; pages wholly past the end of the file stay pending, and an
	// access there is SIGBUS.
	pending bool
	// filePages says the memory is the file's own pages, from
	// Mappable.MapPages (not a copy): what InvalidateMapping takes away
	// when the file loses them.
	filePages bool
}

func (v *vma) length() uintptr { return v.end - v.start }

// hostProt is the protection the platform maps v with.
func (v *vma) hostProt() int {
	if v.cow {
		return v.prot &^ unix.PROT_WRITE
	}
	return v.prot
}

// mergeable reports whether b continues a: adjacent in the address space,
// in the memory file (unless both are pending) and in the file, and alike
// in everything else, so that one vma can stand for both.
func mergeable(a, b *vma) bool {
	return a.end == b.start && a.prot == b.prot && a.shared == b.shared && a.name == b.name &&
		a.mapped == b.mapped && a.cow == b.cow && a.pending == b.pending && a.filePages == b.filePages &&
		(a.pending || a.off+uint64(a.length()) == b.off) &&
		a.file == b.file && a.mappable == b.mappable && a.maxProt == b.maxProt &&
		(a.file == nil || a.fileOff+uint64(a.length()) == b.fileOff)
}

// holdLocked takes what a new vma v holds besides its memory: a reference
// to its file, and the address space's registration with a Mappable.
func (mm *MM) holdLocked(v *vma) {
	if v.file != nil {
		v.file.IncRef()
	}
	if v.mappable != nil {
		if mm.mappables == nil {
			mm.mappables = map[vfs.Mappable]int{}
		}
		if mm.mappables[v.mappable]++; mm.mappables[v.mappable] == 1 {
			v.mappable.AddMapping(mm)
		}
	}
}

// letGoLocked drops what holdLocked took, for a vma that is gone.
func (mm *MM) letGoLocked(v *vma) {
	if v.mappable != nil {
		if mm.mappables[v.mappable]--; mm.mappables[v.mappable] == 0 {
			delete(mm.mappables, v.mappable)
			v.mappable.RemoveMapping(mm)
		}
	}
	if v.file != nil {
		v.file.DecRef()
	}
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
	for _, v := range mm.vmas {
		mm.letGoLocked(v)
	}
	mm.vmas = nil
	mm.released = true
}

// ranges lists the memory-file ranges of vs (pending ones have none).
func ranges(vs []*vma) []memfile.Range {
	rs := make([]memfile.Range, 0, len(vs))
	for _, v := range vs {
		if !v.pending {
			rs = append(rs, memfile.Range{Off: v.off, Len: uint64(v.length())})
		}
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
	if !v.pending {
		tail.off = v.off + uint64(addr-v.start)
	}
	if v.file != nil {
		tail.fileOff = v.fileOff + uint64(addr-v.start)
	}
	mm.holdLocked(&tail)
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
		next := mm.vmas[i+1]
		v.end = next.end
		mm.vmas = slices.Delete(mm.vmas, i+1, i+2)
		mm.letGoLocked(next)
	}
	if i > 0 && mergeable(mm.vmas[i-1], v) {
		mm.vmas[i-1].end = v.end
		mm.vmas = slices.Delete(mm.vmas, i, i+1)
		mm.letGoLocked(v)
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
// references to the memory file and to mapped files.
func (mm *MM) unmapLocked(start, end uintptr) error {
	pieces := slices.Clone(mm.piecesLocked(start, end))
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
	for _, v := range pieces {
		mm.letGoLocked(v)
	}
	return err
}

// newVMALocked allocates memory for [start, end) and inserts it. The range
// must be free.
func (mm *MM) newVMALocked(start, end uintptr, prot int, shared bool, name string) (*vma, error) {
	off, err := mm.mf.Allocate(uint64(end - start))
	if err != nil {
		return nil, unix.ENOMEM
	}
	v := &vma{start: start, end: end, prot: prot, off: off, shared: shared, name: name, maxProt: validProt}
	mm.insertLocked(v)
	return v, nil
}

// newFileVMALocked inserts a pending mapping of f at fileOff over
// [start, end), which must be free. mappable is f's Mappable if the
// mapping maps the file's own pages.
func (mm *MM) newFileVMALocked(start, end uintptr, prot, maxProt int, shared bool, name string, f *vfs.File, fileOff uint64, mappable vfs.Mappable) *vma {
	v := &vma{start: start, end: end, prot: prot, shared: shared, name: name, maxProt: maxProt,
		file: f, fileOff: fileOff, mappable: mappable, pending: true}
	mm.holdLocked(v)
	mm.insertLocked(v)
	return v
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

// MapInfo describes one vma, for debugging.
type MapInfo struct {
	Start, End uintptr
	Prot       int
	Shared     bool
	Name       string
}

// Maps lists the address space (see Mappings).
func (mm *MM) Maps() []MapInfo {
	ms := mm.Mappings()
	out := make([]MapInfo, len(ms))
	for i, m := range ms {
		out[i] = MapInfo{m.Start, m.End, m.Prot, m.Shared, m.Name}
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

// MappingInfo describes one mapping, for /proc/[pid]/maps.
type MappingInfo struct {
	Start, End uintptr
	Prot       int  // PROT_* bits
	Shared     bool // MAP_SHARED ('s'), else private ('p')
	// MaxProt bounds what mprotect may give the mapping (Linux's
	// VM_MAY* bits): file seals ask whether a shared mapping may write.
	MaxProt int
	// Offset is the file offset of Start; 0 for anonymous memory.
	Offset uint64
	// File is the mapped file; nil for anonymous memory (a shared one is
	// Linux's "/dev/zero (deleted)"). It carries no reference for the
	// caller: use it (Path, Statx) at once and do not keep it.
	File *vfs.File
	// Name is the name given at mapping time: "[heap]", "[stack]",
	// "[vdso]", or for file mappings the name the file knew itself by
	// (vfs.PathImpl), if any.
	Name string
}

// Mappings lists the address space's mappings in address order. Vmas
// that Linux would have merged into one are listed as one: this package
// splits them where their memory-file ranges differ (copy-on-write,
// pages of a file populated piece by piece), Linux does not.
func (mm *MM) Mappings() []MappingInfo {
	mm.mu.RLock()
	defer mm.mu.RUnlock()
	out := make([]MappingInfo, 0, len(mm.vmas))
	for _, v := range mm.vmas {
		if n := len(out); n > 0 {
			p := &out[n-1]
			if p.End == v.start && p.Prot == v.prot && p.MaxProt == v.maxProt && p.Shared == v.shared && p.Name == v.name && p.File == v.file &&
				(v.file != nil && p.Offset+uint64(p.End-p.Start) == v.fileOff || v.file == nil && !v.shared) {
				p.End = v.end
				continue
			}
		}
		out = append(out, MappingInfo{Start: v.start, End: v.end, Prot: v.prot, MaxProt: v.maxProt, Shared: v.shared,
			Offset: v.fileOff, File: v.file, Name: v.name})
	}
	return out
}

// stackAccounted is what the stack vma counts for in VirtualSize. The
// stack is one vma of RLIMIT_STACK's size (up to 1 GiB), reserved at
// exec; Linux maps about 128 KiB at exec and grows the stack on faults,
// counting only what it grew against RLIMIT_AS. Counting the whole
// reservation would make a program with a large RLIMIT_STACK and a
// small RLIMIT_AS (runtime-tools' process_rlimits) fail every mmap.
const stackAccounted = 132 << 10

// VirtualSize is the total size of the address space's mappings, the
// quantity RLIMIT_AS bounds (the stack counted as stackAccounted).
func (mm *MM) VirtualSize() uintptr {
	mm.mu.RLock()
	defer mm.mu.RUnlock()
	var n uintptr
	for _, v := range mm.vmas {
		size := v.end - v.start
		if v.name == "[stack]" {
			size = min(size, stackAccounted)
		}
		n += size
	}
	return n
}
