package vfs

// This file is the contract between file systems whose data lives in the
// kernel's memory file (tmpfs) and address spaces (package mm) that map
// it: a MAP_SHARED mapping of such a file maps the file's own pages, so
// writes through the mapping and write(2) see each other.

// MappableImpl is implemented by open files (FileImpls) whose pages can
// be mapped shared. Every open file of one file returns the same
// Mappable, so that it can identify the file (a comparable value).
type MappableImpl interface {
	Mappable() Mappable
}

// Mappable is a file whose data lives in pages of the memory file.
type Mappable interface {
	// MapPages returns the memory-file ranges that hold the file's bytes
	// [start, end) (page-aligned offsets), in order, allocating the pages
	// that are holes. It stops at the end of the file rounded up to a
	// page: ranges covering less than [start, end), or none, mean the
	// rest lies beyond the end (an access there is SIGBUS). Each range
	// comes with a new reference to its pages, which the caller drops
	// (memfile.File.DecRef) when it stops using them, so the pages stay
	// valid however the file changes meanwhile. Errors are those of
	// allocation: ENOSPC (the file system is full), ENOMEM.
	MapPages(start, end uint64) ([]MappedRange, error)
	// AddMapping registers s as mapping some of the file's pages, so
	// that it is told when pages go (InvalidateMapping). Registrations
	// count: RemoveMapping undoes one AddMapping.
	AddMapping(s MappingSpace)
	RemoveMapping(s MappingSpace)
}

// MappedRange is a run of a file's pages: file bytes [FileOff,
// FileOff+Len) are memory-file bytes [Off, Off+Len).
type MappedRange struct {
	FileOff, Off, Len uint64
}

// MappingSpace is implemented by what maps a Mappable's pages (an
// address space).
type MappingSpace interface {
	// InvalidateMapping says the file's pages in [start, end) (page
	// aligned file offsets; end may be ^0) were removed from the file
	// (truncate, hole punch): the space must stop mapping the pages it
	// got from MapPages there and drop its references to them, so that
	// the next access faults and finds the file as it now is, SIGBUS
	// beyond its end. The file calls it without any of its own locks
	// held, since the space takes its own (mm.MM.mu) and, while holding
	// them, calls MapPages.
	InvalidateMapping(m Mappable, start, end uint64)
}

// CachedMappable is a Mappable whose pages cache a file kept elsewhere
// (a host file served by the gofer), for MAP_SHARED mappings only: a
// private mapping of it is a copy read through the file, as for a file
// that is not Mappable, so that a file mapped only privately (a shared
// library) gets no cache. Stores through a mapping change the cached
// pages without the file system seeing them; the file system writes
// them back at the latest when the last mapping or the last writer goes,
// and at fsync(2).
type CachedMappable interface {
	Mappable
	// SyncMapping writes the file's cached bytes [start, end) (page
	// aligned offsets) that mappings may have changed back to the file
	// and waits until they are durable: msync(2) with MS_SYNC. It may
	// block (host I/O): the caller holds none of its locks.
	SyncMapping(start, end uint64) error
}

// SpecialMappableImpl is implemented by open files that are not regular
// files yet have pages of their own to map (a packet socket's receive
// ring). mmap(2) refuses other such files (ENODEV); for these it asks
// CheckMmap first, with the file offset and the length rounded up to
// pages, since each decides what may be mapped (Linux: the file's own
// f_op->mmap), and then maps the Mappable's pages as a regular file's.
type SpecialMappableImpl interface {
	MappableImpl
	CheckMmap(offset, length uint64) error
}
