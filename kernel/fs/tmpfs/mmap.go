package tmpfs

import (
	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// Mappable implements vfs.MappableImpl: every open file of a File maps
// the File's pages.
func (o *openFile) Mappable() vfs.Mappable { return o.f }

// MapPages implements vfs.Mappable. Linux allocates a tmpfs page on the
// first fault that touches it, read or write, and so does this (the
// caller asks for the pages around a fault).
// Linux: mm/shmem.c, shmem_fault().
func (f *File) MapPages(start, end uint64) ([]vfs.MappedRange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.freed {
		return nil, nil
	}
	first, last := start/pageSize, min(end/pageSize, (uint64(f.size)+pageSize-1)/pageSize)
	for page := first; page < last; {
		_, run, ok := f.pages.Lookup(page)
		n := min(run, last-page)
		if !ok {
			if err := f.fillLocked(page, n); err != nil {
				return nil, err
			}
		}
		page += n
	}
	var out []vfs.MappedRange
	var refs []memfile.Range
	for page := first; page < last; {
		off, run, _ := f.pages.Lookup(page)
		n := min(run, last-page)
		out = append(out, vfs.MappedRange{FileOff: page * pageSize, Off: off, Len: n * pageSize})
		refs = append(refs, memfile.Range{Off: off, Len: n * pageSize})
		page += n
	}
	f.fs.mf.IncRefRanges(refs)
	return out, nil
}

// AddMapping implements vfs.Mappable.
func (f *File) AddMapping(s vfs.MappingSpace) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.spaces == nil {
		f.spaces = map[vfs.MappingSpace]int{}
	}
	f.spaces[s]++
}

// RemoveMapping implements vfs.Mappable.
func (f *File) RemoveMapping(s vfs.MappingSpace) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.spaces[s]--; f.spaces[s] <= 0 {
		delete(f.spaces, s)
	}
}

// spacesLocked lists the spaces mapping the file, f.mu held, for
// invalidate to tell once the lock is dropped.
func (f *File) spacesLocked() []vfs.MappingSpace {
	if len(f.spaces) == 0 {
		return nil
	}
	out := make([]vfs.MappingSpace, 0, len(f.spaces))
	for s := range f.spaces {
		out = append(out, s)
	}
	return out
}

// invalidate tells spaces that the file's pages in [start, end) went.
// f.mu must not be held: the spaces take their own locks, under which
// they call MapPages.
func (f *File) invalidate(spaces []vfs.MappingSpace, start, end uint64) {
	for _, s := range spaces {
		s.InvalidateMapping(f, start, end)
	}
}
