package memfile

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

// PageSize is the unit of allocation.
const PageSize = 4096

// DefaultSize is the size of the memory file: address space, not memory.
// The file is sparse, so only pages that are touched cost anything.
const DefaultSize = 64 << 30

// ErrNoSpace is returned when the file has no free range large enough.
var ErrNoSpace = errors.New("memfile: out of memory")

// File is the memory that backs all application memory: a sparse memfd
// that the kernel maps once into its own address space (for copy-in and
// copy-out) and the platform maps, range by range, into application
// address spaces.
type File struct {
	fd   int
	data []byte // the kernel's mapping of the whole file

	mu sync.Mutex
	// free holds the free ranges, sorted by offset and coalesced.
	free []span
	// used counts allocated bytes, each once however many references it
	// has.
	used uint64
	// refs holds the reference counts of the allocated bytes that have
	// more than one reference: sorted by offset, disjoint, and coalesced
	// (two touching spans differ in count). An allocated byte outside
	// every span has exactly one reference, so memory that is not shared
	// costs no entry, and forking a large range costs one.
	refs []refSpan
}

type span struct{ off, len uint64 }

// refSpan is a range whose bytes all have refs (≥ 2) references.
type refSpan struct{ off, len, refs uint64 }

// Range is a range of the memory file.
type Range struct{ Off, Len uint64 }

// New creates a memory file of size bytes (a multiple of PageSize).
func New(size uint64) (*File, error) {
	if size == 0 || size%PageSize != 0 {
		return nil, fmt.Errorf("memfile: bad size %d", size)
	}
	fd, err := unix.MemfdCreate("magawa-memory", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sizing the memory file: %w", err)
	}
	data, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mapping the memory file: %w", err)
	}
	// Offset 0 is never handed out, so that a zero offset can mean "none".
	return &File{fd: fd, data: data, free: []span{{PageSize, size - PageSize}}}, nil
}

// FD is the memfd, for the platform to map.
func (f *File) FD() int { return f.fd }

// Allocate reserves length bytes (rounded up to pages) of zeroed memory,
// with one reference.
func (f *File) Allocate(length uint64) (uint64, error) {
	length = roundUp(length)
	if length == 0 {
		return 0, fmt.Errorf("memfile: zero-length allocation")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.free {
		s := &f.free[i]
		if s.len < length {
			continue
		}
		off := s.off
		s.off += length
		s.len -= length
		if s.len == 0 {
			f.free = append(f.free[:i], f.free[i+1:]...)
		}
		f.used += length
		return off, nil
	}
	return 0, ErrNoSpace
}

// IncRef adds a reference to every page of [off, off+length), which must
// be allocated.
func (f *File) IncRef(off, length uint64) { f.IncRefRanges([]Range{{off, length}}) }

// DecRef drops a reference to every page of [off, off+length); the pages
// whose last reference it was are freed: punched out of the file (the
// next user reads zeros) and returned to the allocator.
func (f *File) DecRef(off, length uint64) { f.DecRefRanges([]Range{{off, length}}) }

// Free frees [off, off+length), a range held once: it is DecRef.
func (f *File) Free(off, length uint64) { f.DecRef(off, length) }

// IncRefRanges is IncRef of each range, in one pass over the reference
// counts (fork of an address space with many vmas).
func (f *File) IncRefRanges(rs []Range) {
	rs = normalize(rs)
	if len(rs) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adjustLocked(rs, +1)
}

// DecRefRanges is DecRef of each range, in one pass.
func (f *File) DecRefRanges(rs []Range) {
	rs = normalize(rs)
	if len(rs) == 0 {
		return
	}
	f.mu.Lock()
	dead := f.adjustLocked(rs, -1)
	f.mu.Unlock()
	if len(dead) == 0 {
		return
	}
	// Punch before the ranges go back on the free list, so that nobody
	// can allocate them while they still hold data.
	for _, r := range dead {
		f.Decommit(r.Off, r.Len)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range dead {
		f.freeLocked(r.Off, r.Len)
	}
}

// Shared reports whether any page of [off, off+length) has more than one
// reference.
func (f *File) Shared(off, length uint64) bool {
	length = roundUp(length)
	f.mu.Lock()
	defer f.mu.Unlock()
	i := sort.Search(len(f.refs), func(i int) bool { return f.refs[i].off+f.refs[i].len > off })
	return i < len(f.refs) && f.refs[i].off < off+length
}

// normalize returns the non-empty ranges of rs, page-rounded and sorted by
// offset.
func normalize(rs []Range) []Range {
	out := make([]Range, 0, len(rs))
	for _, r := range rs {
		if r.Len = roundUp(r.Len); r.Len != 0 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Range) int {
		switch {
		case a.Off < b.Off:
			return -1
		case a.Off > b.Off:
			return 1
		}
		return 0
	})
	return out
}

// adjustLocked adds delta to the reference count of every page of rs
// (sorted by offset; they may overlap) and returns, coalesced, the ranges
// whose count dropped to zero. It sweeps the boundaries of rs and of the
// spans they touch, so its cost is that of the window of the span list
// between the first and the last range, not of its pages.
func (f *File) adjustLocked(rs []Range, delta int64) []Range {
	lo, hi := rs[0].Off, uint64(0)
	for _, r := range rs {
		hi = max(hi, r.Off+r.Len)
	}
	// The window: the spans that touch [lo, hi), plus one neighbour on
	// each side so that the result coalesces with them.
	i := sort.Search(len(f.refs), func(i int) bool { return f.refs[i].off+f.refs[i].len >= lo })
	j := sort.Search(len(f.refs), func(i int) bool { return f.refs[i].off > hi })

	type edge struct {
		at uint64
		d  int64
	}
	edges := make([]edge, 0, 2*(len(rs)+j-i))
	for _, s := range f.refs[i:j] {
		edges = append(edges, edge{s.off, int64(s.refs) - 1}, edge{s.off + s.len, 1 - int64(s.refs)})
	}
	for _, r := range rs {
		edges = append(edges, edge{r.Off, delta}, edge{r.Off + r.Len, -delta})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})

	// Sweep: extra is the count minus one between consecutive edges.
	var spans []refSpan
	var dead []Range
	extra := int64(0)
	for k := 0; k < len(edges); {
		at := edges[k].at
		for k < len(edges) && edges[k].at == at {
			extra += edges[k].d
			k++
		}
		if k == len(edges) {
			break
		}
		next := edges[k].at
		switch {
		case extra > 0:
			if n := len(spans); n > 0 && spans[n-1].off+spans[n-1].len == at && spans[n-1].refs == uint64(extra)+1 {
				spans[n-1].len += next - at
			} else {
				spans = append(spans, refSpan{at, next - at, uint64(extra) + 1})
			}
		case extra == -1:
			if n := len(dead); n > 0 && dead[n-1].Off+dead[n-1].Len == at {
				dead[n-1].Len += next - at
			} else {
				dead = append(dead, Range{at, next - at})
			}
		case extra < -1:
			panic(fmt.Sprintf("memfile: reference count of %#x below zero", at))
		}
	}
	f.refs = slices.Replace(f.refs, i, j, spans...)
	return dead
}

// freeLocked returns [off, off+length), already punched, to the free list.
func (f *File) freeLocked(off, length uint64) {
	f.used -= length
	i := sort.Search(len(f.free), func(i int) bool { return f.free[i].off > off })
	f.free = slices.Insert(f.free, i, span{off, length})
	// Coalesce with the neighbours.
	if i+1 < len(f.free) && f.free[i].off+f.free[i].len == f.free[i+1].off {
		f.free[i].len += f.free[i+1].len
		f.free = slices.Delete(f.free, i+1, i+2)
	}
	if i > 0 && f.free[i-1].off+f.free[i-1].len == f.free[i].off {
		f.free[i-1].len += f.free[i].len
		f.free = slices.Delete(f.free, i, i+1)
	}
}

// Decommit drops the contents of a page-aligned range: it reads as zeros
// afterwards and holds no memory.
func (f *File) Decommit(off, length uint64) {
	unix.Fallocate(f.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(off), int64(length))
}

// Copy copies [src, src+length) to [dst, dst+length), which must read as
// zeros (freshly allocated): only the parts of the source that hold data
// are copied, so the holes of a sparse source cost neither time nor
// memory on either side.
func (f *File) Copy(dst, src, length uint64) {
	end := src + length
	for pos := src; pos < end; {
		data, err := unix.Seek(f.fd, int64(pos), unix.SEEK_DATA)
		if err == unix.ENXIO || (err == nil && uint64(data) >= end) {
			return // only holes from pos on
		}
		if err != nil {
			// No SEEK_DATA: copy the rest whole.
			copy(f.data[dst+(pos-src):dst+length], f.data[pos:end])
			return
		}
		hole, err := unix.Seek(f.fd, data, unix.SEEK_HOLE)
		if err != nil || uint64(hole) > end {
			hole = int64(end)
		}
		s, e := uint64(data), uint64(hole)
		copy(f.data[dst+(s-src):dst+(e-src)], f.data[s:e])
		pos = e
	}
}

// Slice returns the kernel's view of [off, off+length). The caller must
// hold a reference to the range.
func (f *File) Slice(off, length uint64) []byte {
	return f.data[off : off+length : off+length]
}

// Used returns the allocated bytes, each counted once however many
// references it has.
func (f *File) Used() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.used
}

// Close unmaps and closes the file.
func (f *File) Close() error {
	unix.Munmap(f.data)
	return unix.Close(f.fd)
}

func roundUp(n uint64) uint64 { return (n + PageSize - 1) &^ (PageSize - 1) }
