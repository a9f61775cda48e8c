package gofer

import (
	"bytes"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// The page cache. A host file has no pages in the kernel's memory file,
// and the platform maps nothing else into an application, so a
// MAP_SHARED mapping of a gofer file maps a cache: while a file is
// mapped shared (from the first AddMapping to the last RemoveMapping,
// in every address space of the sandbox), its fileState has a pageCache
// holding the pages mappings have touched, filled from the host file
// (pread on an open file's descriptor) by MapPages. Every mapping,
// forked children's included, maps those very pages, so stores through
// one are seen by the others at once, and while the cache exists every
// read and write of any open file of the host file goes through it:
//
//   - read(2) copies cached pages, and reads the host file where
//     nothing is cached (the host file holds the same bytes there);
//   - write(2) writes through: the host file first, as before, then the
//     same bytes into the cached pages it covers. So the host file and
//     the cache differ only where stores through mappings changed pages.
//
// Stores through mappings reach the pages without the kernel seeing
// them (the ptrace platform cannot tell a dirty page), so writing back
// compares: each cached page in the range is read from the host file and
// written where it differs (writeDiff). That costs a host read of the
// cached range rather than a host write of all of it, which would make
// the host's page cache dirty and its next fsync write everything. It is
// done by msync(MS_SYNC) (SyncMapping, for the range), fsync(2) and
// fdatasync(2) (the whole file), when the last mapping goes
// (RemoveMapping) and when the last file open for writing is closed
// (Release): the cache is then freed once nothing maps it. Only while a
// writable shared mapping can exist can pages differ, and one exists
// only while a file open for writing does, since a mapping holds its
// file open and a shared one gets PROT_WRITE only from a writable file:
// MapPages notes mayDirty when it hands pages out while a writer is
// open; the last writer's close writes back and clears it.
//
// The cache's size is the file's size while it exists (Stat reports it):
// write(2), truncation and fallocate(2) change it as they change the
// host file's. MapPages stops at the end of the file rounded up to a
// page (SIGBUS beyond it); truncation zeroes the cached bytes past the
// new end in its last page (as Linux does: a growing file reads zeros
// there, whatever a mapping stored past the end) and drops the cached
// pages past it, telling the mappings (InvalidateMapping) so that they
// let them go.
//
// Private mappings are copies read through the file (read(2), so from
// the cache when there is one), as before: a file mapped only privately,
// a shared library, gets no cache (vfs.CachedMappable).
//
// Locking: fileState.cacheMu guards the cache's pages and mappings. It
// is held for writing while pages are filled or written back, by write(2)
// and truncation while a cache exists (so that the host file and the
// cache change together), and by AddMapping, RemoveMapping and
// SyncMapping; for reading by read(2) through the cache and by write(2)
// while there is none, so that no fill reads the host file in the middle
// of a write that the cache would then miss. It is held across host I/O
// on donated descriptors (never a request), and across the SetAttr
// request of a truncation; mm calls MapPages, AddMapping and
// RemoveMapping with MM.mu held, and read(2) and write(2) reach ReadAt
// and WriteAt with it held, so MM.mu comes first. InvalidateMapping is
// called with no lock of this package held.
type pageCache struct {
	mf *memfile.File
	// size is the file's size. Written with cacheMu held for writing;
	// Stat reads it without.
	size atomic.Int64

	// The rest is guarded by cacheMu.
	pages memfile.PageMap
	// spaces are the address spaces mapping the file (AddMapping counts),
	// maps their total.
	spaces map[vfs.MappingSpace]int
	maps   int
	// mayDirty says pages were handed out while a file open for
	// writing was: stores through mappings may have changed them.
	mayDirty bool
}

// mappableFile is an open regular file of a client with a memory file:
// it offers its file's pages for MAP_SHARED (vfs.MappableImpl).
type mappableFile struct{ *regularFile }

// Mappable implements vfs.MappableImpl: the file's shared state, the
// same for every open file and name of the host file.
func (m *mappableFile) Mappable() vfs.Mappable { return m.n.st }

var _ vfs.CachedMappable = (*fileState)(nil)

// lockWrite locks s for a change of the host file's bytes or size
// through a descriptor: for reading when nothing is cached, for writing
// when a cache exists, which it returns (nil if none). The caller calls
// unlock when done.
func (s *fileState) lockWrite() (c *pageCache, unlock func()) {
	if s.mf == nil {
		return nil, func() {}
	}
	s.cacheMu.RLock()
	if s.cache.Load() == nil {
		return nil, s.cacheMu.RUnlock
	}
	s.cacheMu.RUnlock()
	s.cacheMu.Lock()
	return s.cache.Load(), s.cacheMu.Unlock
}

// MapPages implements vfs.Mappable: the cached pages of [start, end),
// filled from the host file where there are none yet.
func (s *fileState) MapPages(start, end uint64) ([]vfs.MappedRange, error) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	c := s.cache.Load()
	if c == nil {
		return nil, unix.EIO // not registered: mm registers before it maps
	}
	first := start / pageSize
	last := min(end/pageSize, pageUp(uint64(c.size.Load()))/pageSize)
	var r *regularFile
	defer func() {
		if r != nil {
			r.unpin()
		}
	}()
	for page := first; page < last; {
		_, run, ok := c.pages.Lookup(page)
		n := min(run, last-page)
		if !ok {
			if r == nil {
				if r = s.pin(isReadable); r == nil {
					return nil, unix.EIO
				}
			}
			if err := c.fillLocked(r.fd, page, n); err != nil {
				return nil, err
			}
		}
		page += n
	}
	var out []vfs.MappedRange
	var refs []memfile.Range
	for page := first; page < last; {
		off, run, _ := c.pages.Lookup(page)
		n := min(run, last-page)
		out = append(out, vfs.MappedRange{FileOff: page * pageSize, Off: off, Len: n * pageSize})
		refs = append(refs, memfile.Range{Off: off, Len: n * pageSize})
		page += n
	}
	c.mf.IncRefRanges(refs)
	if len(out) > 0 && !c.mayDirty && s.hasWriter() {
		c.mayDirty = true
	}
	return out, nil
}

// fillLocked caches pages [page, page+n), none of which is cached,
// reading them from the host file through fd; the part past the end of
// the file reads as zeros.
func (c *pageCache) fillLocked(fd int, page, n uint64) error {
	length := n * pageSize
	off, err := c.mf.Allocate(length)
	if err != nil {
		return unix.ENOMEM
	}
	at := page * pageSize
	want := min(length, uint64(c.size.Load())-at)
	// Short: the host file is shorter than it was; zeros.
	if _, err := preadFull(fd, c.mf.Slice(off, want), int64(at)); err != nil {
		c.mf.DecRef(off, length)
		return unix.EIO
	}
	c.pages.Insert(memfile.Extent{Page: page, N: n, Off: off})
	return nil
}

// AddMapping implements vfs.Mappable. The first mapping makes the cache,
// empty, with the host file's size.
func (s *fileState) AddMapping(sp vfs.MappingSpace) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	c := s.cache.Load()
	if c == nil {
		c = &pageCache{mf: s.mf, spaces: map[vfs.MappingSpace]int{}}
		c.size.Store(s.hostSize())
		s.cache.Store(c)
	}
	c.spaces[sp]++
	c.maps++
}

// RemoveMapping implements vfs.Mappable. When the last mapping goes, what
// mappings changed is written back and the cache freed.
func (s *fileState) RemoveMapping(sp vfs.MappingSpace) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	c := s.cache.Load()
	if c == nil || c.spaces[sp] == 0 {
		return
	}
	if c.spaces[sp]--; c.spaces[sp] == 0 {
		delete(c.spaces, sp)
	}
	if c.maps--; c.maps == 0 {
		// A failure keeps the cache for fsync(2) or the last close to
		// try again (and fsync to report).
		s.flushLocked(c, nil, false)
	}
}

// SyncMapping implements vfs.CachedMappable: msync(MS_SYNC).
func (s *fileState) SyncMapping(start, end uint64) error {
	s.cacheMu.Lock()
	c := s.cache.Load()
	if c == nil || !c.mayDirty {
		s.cacheMu.Unlock()
		return nil
	}
	w := s.pin(isWritable)
	if w == nil {
		s.cacheMu.Unlock()
		return nil
	}
	defer w.unpin()
	err := s.writebackLocked(c, start, end, w)
	s.cacheMu.Unlock()
	if err != nil {
		return err
	}
	return retryEINTR(func() error { return unix.Fdatasync(w.fd) })
}

// hostSize returns the host file's size, from an open file's descriptor
// (a mapping keeps one open), else the attribute cache.
func (s *fileState) hostSize() int64 {
	if f := s.pin(isAny); f != nil {
		a, err := f.hostAttr()
		f.unpin()
		if err == nil {
			return int64(a.Size)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(s.attr.Size)
}

// flushLocked writes back what mappings may have changed in c, through
// w, a file open for writing, or (w nil) any such file of s; final says
// w is the last, being closed. The cache is freed once nothing maps it
// and nothing is left to write back.
func (s *fileState) flushLocked(c *pageCache, w *regularFile, final bool) error {
	var err error
	if c.mayDirty {
		err = s.writebackLocked(c, 0, ^uint64(0), w)
		// With no mapping, nothing changes the pages any more; with no
		// writer, nothing can, and nothing could write them back.
		if err == nil && c.maps == 0 || final {
			c.mayDirty = false
		}
	}
	if c.maps == 0 && !c.mayDirty {
		s.cache.Store(nil)
		c.mf.DecRefRanges(c.pages.Ranges())
		c.pages = memfile.PageMap{}
	}
	return err
}

// writebackLocked writes the cached pages of [start, end) that differ
// from the host file back to it, through w or, w nil, any file of s open
// for writing (with none, no mapping can have changed anything).
func (s *fileState) writebackLocked(c *pageCache, start, end uint64, w *regularFile) error {
	if w == nil {
		if w = s.pin(isWritable); w == nil {
			return nil
		}
		defer w.unpin()
	}
	rfd := -1
	if w.readable {
		rfd = w.fd
	} else if r := s.pin(isReadable); r != nil {
		defer r.unpin()
		rfd = r.fd
	}
	return c.writebackLocked(start, end, w.fd, rfd)
}

// writebackChunk is how much writing back reads from the host at once.
const writebackChunk = 256 << 10

var writebackBufs = sync.Pool{New: func() any { b := make([]byte, writebackChunk); return &b }}

func (c *pageCache) writebackLocked(start, end uint64, wfd, rfd int) error {
	end = min(end, uint64(c.size.Load()))
	start &^= pageSize - 1
	if start >= end {
		return nil
	}
	bp := writebackBufs.Get().(*[]byte)
	defer writebackBufs.Put(bp)
	var err error
	c.walk(start, end-start, func(at, k uint64, mem []byte) bool {
		for i := uint64(0); mem != nil && i < k && err == nil; i += writebackChunk {
			n := min(k-i, writebackChunk)
			err = writeDiff(wfd, rfd, mem[i:i+n], int64(at+i), *bp)
		}
		return err == nil
	})
	return err
}

// writeDiff writes mem, the cached bytes at off (page aligned), to the
// host file through wfd where its pages differ from the host's, read
// through rfd (or, with rfd -1 or a failed read, everywhere) into buf.
func writeDiff(wfd, rfd int, mem []byte, off int64, buf []byte) error {
	host := buf[:len(mem)]
	got := 0
	if rfd >= 0 {
		got, _ = preadFull(rfd, host, off)
	}
	same := func(i, j int) bool { return j <= got && bytes.Equal(mem[i:j], host[i:j]) }
	for i := 0; i < len(mem); {
		j := min(i+pageSize, len(mem))
		if same(i, j) {
			i = j
			continue
		}
		for j < len(mem) {
			next := min(j+pageSize, len(mem))
			if same(j, next) {
				break
			}
			j = next
		}
		if err := pwriteAll(wfd, mem[i:j], off+int64(i)); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// walk calls fn for the runs of [off, off+n) in order, with the cached
// bytes of a run, or nil for a run not cached, until fn returns false.
func (c *pageCache) walk(off, n uint64, fn func(at, k uint64, mem []byte) bool) {
	end := off + n
	for at := off; at < end; {
		page := at / pageSize
		moff, run, ok := c.pages.Lookup(page)
		if left := (end - page*pageSize + pageSize - 1) / pageSize; run > left {
			run = left
		}
		k := min((page+run)*pageSize, end) - at
		var mem []byte
		if ok {
			mem = c.mf.Slice(moff+at-page*pageSize, k)
		}
		if !fn(at, k, mem) {
			return
		}
		at += k
	}
}

// readLocked reads the file at off into dst: cached bytes from the
// cache, the rest from the host file through fd.
func (c *pageCache) readLocked(fd int, dst []byte, off int64) (int, error) {
	size := c.size.Load()
	if off >= size || len(dst) == 0 {
		return 0, nil
	}
	n := min(int64(len(dst)), size-off)
	done := 0
	var err error
	c.walk(uint64(off), uint64(n), func(at, k uint64, mem []byte) bool {
		d := dst[at-uint64(off):][:k]
		if mem != nil {
			done += copy(d, mem)
			return true
		}
		got, e := preadFull(fd, d, int64(at))
		done += got
		err = e
		return e == nil && got == len(d)
	})
	if done > 0 {
		return done, nil
	}
	return 0, err
}

// wroteLocked copies b, just written to the host file at off, into the
// cached pages it covers, and grows the file if it ends past the end:
// what lies between the old end and off reads as zeros, so the cached
// bytes there (past the old end, where a mapping may have stored) are
// cleared.
func (c *pageCache) wroteLocked(b []byte, off int64) {
	size := c.size.Load()
	if off > size {
		c.zeroLocked(uint64(size), min(uint64(off), pageUp(uint64(size))))
	}
	c.walk(uint64(off), uint64(len(b)), func(at, k uint64, mem []byte) bool {
		if mem != nil {
			copy(mem, b[at-uint64(off):])
		}
		return true
	})
	if end := off + int64(len(b)); end > size {
		c.size.Store(end)
	}
}

// zeroLocked clears the cached bytes of [start, end).
func (c *pageCache) zeroLocked(start, end uint64) {
	if start >= end {
		return
	}
	c.walk(start, end-start, func(_, _ uint64, mem []byte) bool {
		clear(mem)
		return true
	})
}

// refreshLocked reads the cached pages from the page of off on again
// from the host file through fd, which changed them (fallocate(2)
// punching, zeroing or moving ranges); past its end they read as zeros.
func (c *pageCache) refreshLocked(fd int, off int64) {
	from := uint64(off) &^ (pageSize - 1)
	for _, e := range c.pages.Extents() {
		if e.End()*pageSize <= from {
			continue
		}
		s := max(e.Page*pageSize, from)
		mem := c.mf.Slice(e.Off+s-e.Page*pageSize, e.End()*pageSize-s)
		got, _ := preadFull(fd, mem, int64(s))
		clear(mem[got:])
	}
}

// resized is what a change of the file's size leaves to do once cacheMu
// is released: tell the spaces that the pages from cut on are gone, and
// drop the cache's references to them.
type resized struct {
	cut    uint64
	spaces []vfs.MappingSpace
	drop   []memfile.Range
	mf     *memfile.File
}

// resizeLocked makes size the file's size, the host file's having
// changed to it: growing, the cached bytes past the old end read as
// zeros (with zero; fallocate's moves of data have refreshed them from
// the host instead); shrinking, the rest of the new last page is cleared
// and the cached pages past it go. Linux: mm/truncate.c,
// truncate_pagecache() and truncate_inode_partial_folio().
func (c *pageCache) resizeLocked(size int64, zero bool) resized {
	old := c.size.Load()
	c.size.Store(size)
	switch {
	case size > old && zero:
		c.zeroLocked(uint64(old), min(uint64(size), pageUp(uint64(old))))
	case size < old:
		c.zeroLocked(uint64(size), pageUp(uint64(size)))
		cut := pageUp(uint64(size))
		r := resized{cut: cut, drop: c.pages.Remove(cut/pageSize, ^uint64(0)), mf: c.mf}
		for sp := range c.spaces {
			r.spaces = append(r.spaces, sp)
		}
		return r
	}
	return resized{}
}

// finish does what resizeLocked left to do, with no lock held (the
// spaces take their own, under which they call MapPages).
func (r resized) finish(s *fileState) {
	if r.mf != nil {
		r.mf.DecRefRanges(r.drop)
	}
	for _, sp := range r.spaces {
		sp.InvalidateMapping(s, r.cut, ^uint64(0))
	}
}

// truncate runs do, a change of the host file's size to size (SetStat),
// with cacheMu held for writing, so that no page is filled from the host
// file meanwhile, and then brings the cache, if any, to the new size.
func (s *fileState) truncate(size int64, do func() error) error {
	s.cacheMu.Lock()
	err := do()
	c := s.cache.Load()
	if c != nil && err == unix.EIO {
		size = s.hostSize() // done or not, the host file says
	}
	if c == nil || err != nil && err != unix.EIO || c.size.Load() == size {
		s.cacheMu.Unlock()
		return err
	}
	r := c.resizeLocked(size, true)
	s.cacheMu.Unlock()
	r.finish(s)
	return err
}

// Files of s that pin's callers look for.
func isAny(*regularFile) bool        { return true }
func isReadable(f *regularFile) bool { return f.readable }
func isWritable(f *regularFile) bool { return f.writable }

// hasWriter reports whether a file of s is open for writing.
func (s *fileState) hasWriter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writerLocked() != nil
}

// otherWriter reports whether a file of s other than f is open for
// writing.
func (s *fileState) otherWriter(f *regularFile) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.open {
		if o != f && o.writable {
			return true
		}
	}
	return false
}

// preadFull reads len(b) bytes at off, or up to the end of the file.
func preadFull(fd int, b []byte, off int64) (int, error) {
	done := 0
	for done < len(b) {
		n, err := unix.Pread(fd, b[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		if n == 0 {
			break
		}
		done += n
	}
	return done, nil
}

// pwriteAll writes all of b at off.
func pwriteAll(fd int, b []byte, off int64) error {
	for done := 0; done < len(b); {
		n, err := unix.Pwrite(fd, b[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return unix.EIO
		}
		done += n
	}
	return nil
}

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
