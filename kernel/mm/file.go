package mm

import (
	"errors"
	"slices"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// errBeyondEOF says an access fell on a file mapping's page that lies
// wholly past the end of the file: SIGBUS for the application, EFAULT
// for the kernel's copies.
var errBeyondEOF = errors.New("mm: access beyond the end of a mapped file")

// populateLocked gives memory to the pending file vma v around addr (the
// 2 MiB-aligned chunk, clipped to v and to the end of the file): for a
// Mappable file, the file's own pages, shared or copy-on-write. Pages
// past the end of the file stay pending; if addr's page is one, it fails
// with errBeyondEOF. Other files are copied, and reading them may block
// (a host file, a gofer), which must not happen under MM.mu: for those it
// fails with a *copyPlan, which the caller carries out (fillCopy) after
// unlocking. Linux: mm/memory.c, do_read_fault() and do_shared_fault().
func (mm *MM) populateLocked(v *vma, addr uintptr) error {
	base := addr &^ (cowChunk - 1)
	start, end := max(v.start, base), min(v.end, base+cowChunk)
	fileStart := v.fileOff + uint64(start-v.start)
	fileAt := v.fileOff + uint64(pageDown(addr)-v.start)
	if v.mappable == nil {
		v.file.IncRef()
		return &copyPlan{file: v.file, start: start, end: end, fileStart: fileStart, at: addr}
	}
	m, shared := v.mappable, v.shared
	rs, err := m.MapPages(fileStart, fileStart+uint64(end-start))
	if err != nil {
		// The file system may have room for the page touched if not for
		// the whole chunk.
		rs, err = m.MapPages(fileAt, fileAt+PageSize)
		if err != nil {
			return err
		}
	}
	if len(rs) == 0 || rs[0].FileOff > fileAt || rs[len(rs)-1].FileOff+rs[len(rs)-1].Len <= fileAt {
		mm.dropMapped(rs)
		return errBeyondEOF
	}
	fileEnd := fileStart + uint64(end-start)
	for _, r := range rs {
		if r.FileOff < fileStart || r.FileOff+r.Len > fileEnd || r.Len%PageSize != 0 || r.Len == 0 {
			// Not what was asked for: leave that part pending.
			mm.dropMapped([]vfs.MappedRange{r})
			continue
		}
		a := v.start + uintptr(r.FileOff-v.fileOff)
		p := mm.piecesLocked(a, a+uintptr(r.Len))[0]
		p.off, p.pending, p.filePages, p.cow = r.Off, false, true, !shared
	}
	return nil
}

// copyPlan is the copy of a file that populating [start, end), part of
// one pending vma mapping file at fileStart, takes; at is the address
// that must be had. It holds a reference to file.
type copyPlan struct {
	file       *vfs.File
	start, end uintptr
	fileStart  uint64
	at         uintptr
}

func (*copyPlan) Error() string { return "mm: a file mapping needs a copy of the file" }

// fillCopy carries out p, MM.mu not held: it reads the file (up to its
// end; the rest of the last page reads as zeros) into new memory and
// gives it to the vma, if the vma is still there and pending; otherwise
// the copy goes. It fails with errBeyondEOF if p.at lies in a page past
// the end of the file, ENOMEM if there is no memory.
func (mm *MM) fillCopy(p *copyPlan) error {
	defer p.file.DecRef()
	size, err := fileSize(p.file)
	if err != nil {
		return err
	}
	eof := (size + PageSize - 1) &^ (PageSize - 1)
	if p.fileStart+uint64(pageDown(p.at)-p.start) >= eof {
		return errBeyondEOF
	}
	end := min(p.end, p.start+uintptr(eof-p.fileStart))
	n := uint64(end - p.start)
	off, err := mm.mf.Allocate(n)
	if err != nil {
		return unix.ENOMEM
	}
	dst := mm.mf.Slice(off, min(n, size-p.fileStart))
	for done := 0; done < len(dst); {
		k, err := p.file.Impl.ReadAt(dst[done:], int64(p.fileStart)+int64(done))
		if k <= 0 || err != nil {
			break // the file shrank meanwhile: zeros
		}
		done += k
	}
	mm.mu.Lock()
	v := mm.vmaAtLocked(p.start)
	ok := !mm.released && v != nil && v.pending && v.file == p.file && v.end >= end &&
		v.fileOff+uint64(p.start-v.start) == p.fileStart
	if ok {
		piece := mm.piecesLocked(p.start, end)[0]
		piece.off, piece.pending = off, false
	}
	mm.mu.Unlock()
	if !ok {
		mm.mf.DecRef(off, n) // the mapping changed meanwhile
	}
	return nil
}

// dropMapped drops the references MapPages gave.
func (mm *MM) dropMapped(rs []vfs.MappedRange) {
	refs := make([]memfile.Range, len(rs))
	for i, r := range rs {
		refs[i] = memfile.Range{Off: r.Off, Len: r.Len}
	}
	mm.mf.DecRefRanges(refs)
}

// fileSize returns the size of a mapped file.
func fileSize(f *vfs.File) (uint64, error) {
	var st unix.Stat_t
	if err := f.Impl.Stat(&st); err != nil {
		return 0, err
	}
	return uint64(max(st.Size, 0)), nil
}

// unpopulateLocked makes the file vmas in [start, end) pending again
// (all their memory, or with onlyFilePages only the file's own pages),
// unmapping them from the platform and dropping their references, so that
// the next access reads the file afresh.
func (mm *MM) unpopulateLocked(start, end uintptr, onlyFilePages bool) error {
	pieces := slices.Clone(mm.piecesLocked(start, end))
	var drop []memfile.Range
	var err error
	for _, p := range pieces {
		if p.pending || p.file == nil || onlyFilePages && !p.filePages {
			continue
		}
		// Unmap before the memory can go to someone else.
		if p.mapped {
			if e := mm.as.Unmap(p.start, p.length()); e != nil && err == nil {
				err = e
			}
		}
		drop = append(drop, memfile.Range{Off: p.off, Len: uint64(p.length())})
		p.off, p.pending, p.mapped, p.cow, p.filePages = 0, true, false, false, false
	}
	mm.mf.DecRefRanges(drop)
	for _, p := range pieces {
		if i := mm.findLocked(p.start); i < len(mm.vmas) && mm.vmas[i] == p {
			mm.mergeAroundLocked(p)
		}
	}
	return err
}

// InvalidateMapping implements vfs.MappingSpace: the file m lost its
// pages in [start, end) (file offsets). The vmas that map them become
// pending again, so the next access finds the file as it is now: new
// pages, or SIGBUS past its end. Private copies already made stay, as
// they would not be the file's pages anyway.
// Linux: mm/truncate.c, truncate_pagecache() and unmap_mapping_range().
func (mm *MM) InvalidateMapping(m vfs.Mappable, start, end uint64) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.released {
		return
	}
	type span struct{ s, e uintptr }
	var spans []span
	for _, v := range mm.vmas {
		if v.mappable != m || !v.filePages {
			continue
		}
		fs, fe := v.fileOff, v.fileOff+uint64(v.length())
		s, e := max(fs, start), min(fe, end)
		if s < e {
			spans = append(spans, span{v.start + uintptr(s-fs), v.start + uintptr(e-fs)})
		}
	}
	for _, sp := range spans {
		mm.unpopulateLocked(sp.s, sp.e, true)
	}
}

// needsFixLocked reports whether a kernel access of [addr, addr+n)
// needing need (PROT_* bits, or 0) would reach memory it must change
// first: a pending file vma, or, for a write, copy-on-write memory.
func (mm *MM) needsFixLocked(addr uintptr, n int, need int, write bool) bool {
	end := addr + uintptr(n)
	if n <= 0 || end < addr {
		return false
	}
	at := addr
	for i := mm.findLocked(addr); i < len(mm.vmas) && at < end; i++ {
		v := mm.vmas[i]
		if v.start > at || v.prot&need != need {
			return false
		}
		if v.pending || write && v.cow {
			return true
		}
		at = v.end
	}
	return false
}

// fixRangeLocked populates the pending vmas and (for a write) breaks the
// copy-on-write chunks that a kernel access of [addr, addr+n) needing
// need would reach. It fails where memory cannot be had (past the end of
// a file): the access stops there with EFAULT; and with a *copyPlan when
// a file must be read first.
func (mm *MM) fixRangeLocked(addr uintptr, n int, need int, write bool) error {
	end := addr + uintptr(n)
	if n <= 0 || end < addr {
		return nil
	}
	for at := addr; at < end; {
		v := mm.vmaAtLocked(at)
		if v == nil || v.prot&need != need {
			return nil // the access stops here with EFAULT
		}
		if v.pending {
			if err := mm.populateLocked(v, at); err != nil {
				return err
			}
			if v = mm.vmaAtLocked(at); v.pending {
				return errBeyondEOF
			}
		}
		if write && v.cow {
			if err := mm.breakCOWLocked(v, at); err != nil {
				return err
			}
			v = mm.vmaAtLocked(at) // no longer cow
		}
		at = v.end
	}
	return nil
}

// lockFor locks mm for a kernel access of [addr, addr+n) needing need
// (write: the kernel writes), and returns the unlock. The common case,
// memory that needs no change, takes the read lock only; otherwise
// pending file memory is populated and copy-on-write broken under the
// write lock first (files that must be read are read with no lock held),
// and the access then goes ahead under the read lock, so that an access
// that blocks (read(2) into a buffer) does not hold the write lock. A
// change in between (a fork, an invalidation) makes it try again, a few
// times, before it keeps the write lock. If fixing fails, the access
// stops with EFAULT at the memory still unfixed (forEachLocked).
func (mm *MM) lockFor(addr uintptr, n int, need int, write bool) (unlock func()) {
	for races := 0; ; {
		mm.mu.RLock()
		if !mm.needsFixLocked(addr, n, need, write) {
			return mm.mu.RUnlock
		}
		mm.mu.RUnlock()
		mm.mu.Lock()
		err := mm.fixRangeLocked(addr, n, need, write)
		if p, ok := err.(*copyPlan); ok {
			// Progress, unless the copy cannot be had: then the access
			// stops at it.
			mm.mu.Unlock()
			if mm.fillCopy(p) != nil {
				mm.mu.Lock()
				return mm.mu.Unlock
			}
			continue
		}
		if err != nil || races == 2 {
			return mm.mu.Unlock
		}
		races++
		mm.mu.Unlock()
	}
}

// Msync implements msync(2). Memory-file pages need no writing back (the
// file systems that map them keep their data there), so it checks its
// arguments and that the range is mapped (ENOMEM otherwise), except for
// shared mappings of a vfs.CachedMappable (a host file's cache): with
// MS_SYNC their part of the range is written back (SyncMapping), with
// MM.mu not held. MS_ASYNC does nothing, as on Linux since 2.6.19.
// Linux: mm/msync.c.
func (mm *MM) Msync(addr, length uintptr, flags int) error {
	if flags&^(unix.MS_ASYNC|unix.MS_INVALIDATE|unix.MS_SYNC) != 0 || addr%PageSize != 0 ||
		flags&unix.MS_ASYNC != 0 && flags&unix.MS_SYNC != 0 {
		return unix.EINVAL
	}
	end := addr + (length+PageSize-1)&^(PageSize-1)
	if end < addr {
		return unix.ENOMEM
	}
	if end == addr {
		return nil
	}
	if !rangeOK(addr, end-addr) {
		return unix.ENOMEM
	}
	mm.mu.RLock()
	if !mm.coveredLocked(addr, end) {
		mm.mu.RUnlock()
		return unix.ENOMEM
	}
	type fileSync struct {
		m          vfs.CachedMappable
		file       *vfs.File
		start, end uint64
	}
	var syncs []fileSync
	for i := mm.findLocked(addr); flags&unix.MS_SYNC != 0 && i < len(mm.vmas) && mm.vmas[i].start < end; i++ {
		v := mm.vmas[i]
		cm, ok := v.mappable.(vfs.CachedMappable)
		if !ok || !v.shared {
			continue
		}
		s := v.fileOff + uint64(max(v.start, addr)-v.start)
		e := v.fileOff + uint64(min(v.end, end)-v.start)
		if n := len(syncs); n > 0 && syncs[n-1].m == cm && syncs[n-1].end == s {
			syncs[n-1].end = e // one vma split where its pages were populated
			continue
		}
		v.file.IncRef() // the file stays open until written back
		syncs = append(syncs, fileSync{cm, v.file, s, e})
	}
	mm.mu.RUnlock()
	var err error
	for _, s := range syncs {
		if e := s.m.SyncMapping(s.start, s.end); e != nil && err == nil {
			err = e
		}
		s.file.DecRef()
	}
	return err
}
