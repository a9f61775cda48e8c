package memfile

import (
	"errors"
	"fmt"
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
	// used counts allocated bytes.
	used uint64
}

type span struct{ off, len uint64 }

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

// Allocate reserves length bytes (rounded up to pages) of zeroed memory.
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

// Free returns [off, off+length) to the file and releases its pages, so
// that the next user of the range reads zeros.
func (f *File) Free(off, length uint64) {
	length = roundUp(length)
	if length == 0 {
		return
	}
	f.Decommit(off, length)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.used -= length
	i := sort.Search(len(f.free), func(i int) bool { return f.free[i].off > off })
	f.free = append(f.free, span{})
	copy(f.free[i+1:], f.free[i:])
	f.free[i] = span{off, length}
	// Coalesce with the neighbours.
	if i+1 < len(f.free) && f.free[i].off+f.free[i].len == f.free[i+1].off {
		f.free[i].len += f.free[i+1].len
		f.free = append(f.free[:i+1], f.free[i+2:]...)
	}
	if i > 0 && f.free[i-1].off+f.free[i-1].len == f.free[i].off {
		f.free[i-1].len += f.free[i].len
		f.free = append(f.free[:i], f.free[i+1:]...)
	}
}

// Decommit drops the contents of a page-aligned range: it reads as zeros
// afterwards and holds no memory.
func (f *File) Decommit(off, length uint64) {
	unix.Fallocate(f.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(off), int64(length))
}

// Slice returns the kernel's view of [off, off+length). The caller must own
// the range (it came from Allocate).
func (f *File) Slice(off, length uint64) []byte {
	return f.data[off : off+length : off+length]
}

// Used returns the allocated bytes.
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
