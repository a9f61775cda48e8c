package tmpfs

import (
	"math"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// maxFileSize bounds file sizes (Linux: MAX_LFS_FILESIZE).
const maxFileSize = math.MaxInt64

// File is a regular file. Its size, pages, open count and freed flag are
// guarded by inode.mu.
type File struct {
	inode
	size  int64
	pages memfile.PageMap
	// opens counts the open files (FileImpls not yet released).
	opens int
	// freed says the file's pages and inode are gone: it had no link and
	// no open file. It never comes back.
	freed bool
	// spaces counts the registrations of address spaces that map the
	// file's pages (vfs.Mappable).
	spaces map[vfs.MappingSpace]int
	// seals are the file's F_SEAL_* bits (seals.go).
	seals uint32
}

func (fs *FS) newFile(attrs vfs.NewAttrs) *File {
	f := &File{}
	fs.initInode(&f.inode, attrs)
	f.seals = unix.F_SEAL_SEAL
	return f
}

// Stat implements vfs.Inode. Blocks are 512-byte units of the allocated
// pages.
func (f *File) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	st := f.statLocked()
	st.Size = uint64(f.size)
	st.Blocks = f.pages.Pages() * (pageSize / 512)
	return st, nil
}

// Open implements vfs.Inode.
func (f *File) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.freed {
		// Removed (renamed over, unlinked) between the VFS's lookup
		// and this open: the VFS looks the name up again.
		return nil, unix.ESTALE
	}
	f.opens++
	return &openFile{f: f, noatime: flags&unix.O_NOATIME != 0}, nil
}

// maybeFree frees the file's pages and inode if it has neither a link
// nor an open file.
func (f *File) maybeFree() {
	f.mu.Lock()
	if f.freed || f.opens > 0 || f.nlink.Load() > 0 {
		f.mu.Unlock()
		return
	}
	f.freed = true
	rs := f.pages.Ranges()
	f.pages = memfile.PageMap{}
	f.size = 0
	f.mu.Unlock()
	f.fs.free(rs)
	f.fs.unreserveInode()
}

// SetStat implements vfs.SetStatInode. A change of size also sets mtime
// (unless the same call sets it), as truncate(2) does.
func (f *File) SetStat(ctx *vfs.Context, attr *vfs.SetAttr) error {
	f.mu.Lock()
	if err := f.sealedSetStatLocked(attr); err != nil {
		f.mu.Unlock()
		return err
	}
	var spaces []vfs.MappingSpace
	var cut uint64
	if attr.Mask&unix.STATX_SIZE != 0 {
		shrunk, err := f.truncateLocked(attr.Size)
		if err != nil {
			f.mu.Unlock()
			return err
		}
		if shrunk {
			spaces = f.spacesLocked()
			cut = (uint64(attr.Size) + pageSize - 1) &^ (pageSize - 1)
		}
		if attr.Mask&unix.STATX_MTIME == 0 {
			f.mtime = now()
		}
	}
	f.setStatLocked(attr)
	f.mu.Unlock()
	f.invalidate(spaces, cut, ^uint64(0))
	return nil
}

// truncateLocked sets the size, f.mu held, and reports whether the file
// shrank. Growing allocates nothing (the new part is a hole), so it never
// fails with ENOSPC, as on Linux; shrinking frees the pages past the end
// and zeroes the rest of the last page, so that growing again reads
// zeros there. Mappings of the freed pages hold references of their own
// until the caller invalidates them.
// Linux: mm/shmem.c, shmem_setattr().
func (f *File) truncateLocked(size int64) (bool, error) {
	if size < 0 {
		return false, unix.EINVAL
	}
	if size >= f.size {
		f.size = size
		return false, nil
	}
	if tail := uint64(size) % pageSize; tail != 0 {
		if off, _, ok := f.pages.Lookup(uint64(size) / pageSize); ok {
			clear(f.fs.mf.Slice(off+tail, pageSize-tail))
		}
	}
	rs := f.pages.Remove((uint64(size)+pageSize-1)/pageSize, ^uint64(0))
	f.size = size
	f.fs.free(rs)
	return true, nil
}

// read copies the file's bytes at off into dst, f.mu held for reading.
func (f *File) readLocked(dst []byte, off int64) int {
	if off >= f.size {
		return 0
	}
	n := int(min(int64(len(dst)), f.size-off))
	for done := 0; done < n; {
		pos := uint64(off) + uint64(done)
		page, in := pos/pageSize, pos%pageSize
		mfOff, run, ok := f.pages.Lookup(page)
		k := int(min(uint64(n-done), runBytes(run, in)))
		if ok {
			copy(dst[done:done+k], f.fs.mf.Slice(mfOff+in, uint64(k)))
		} else {
			clear(dst[done : done+k])
		}
		done += k
	}
	return n
}

// runBytes returns the bytes of a run of pages from in bytes into its
// first page, capped where a hole runs to the end of all files.
func runBytes(run, in uint64) uint64 {
	if run > math.MaxInt64/pageSize {
		return math.MaxInt64
	}
	return run*pageSize - in
}

// writeLocked copies src into the file at off, allocating the pages it
// needs, f.mu held. It stops short with ENOSPC when the file system is
// full.
func (f *File) writeLocked(src []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	if len(src) == 0 {
		return 0, nil
	}
	if off >= maxFileSize {
		return 0, unix.EFBIG
	}
	if int64(len(src)) > maxFileSize-off {
		src = src[:maxFileSize-off]
	}
	end := uint64(off) + uint64(len(src))
	lastPage := (end - 1) / pageSize
	done := 0
	var err error
	for done < len(src) {
		pos := uint64(off) + uint64(done)
		page, in := pos/pageSize, pos%pageSize
		mfOff, run, ok := f.pages.Lookup(page)
		if !ok {
			n := min(run, lastPage-page+1)
			err = f.fillLocked(page, n)
			if err == unix.ENOSPC && n > 1 {
				// Near the limit: go page by page, so the write
				// stops short at the last page that fits.
				err = f.fillLocked(page, 1)
			}
			if err != nil {
				break
			}
			continue
		}
		k := int(min(run*pageSize-in, uint64(len(src)-done)))
		copy(f.fs.mf.Slice(mfOff+in, uint64(k)), src[done:done+k])
		done += k
	}
	if done > 0 {
		if e := off + int64(done); e > f.size {
			f.size = e
		}
		t := now()
		f.mtime, f.ctime = t, t
	}
	return done, err
}

// fillLocked allocates the hole of n pages at page, f.mu held.
func (f *File) fillLocked(page, n uint64) error {
	rs, err := f.fs.allocate(n)
	if err != nil {
		return err
	}
	for _, r := range rs {
		f.pages.Insert(memfile.Extent{Page: page, N: r.Len / pageSize, Off: r.Off})
		page += r.Len / pageSize
	}
	return nil
}

// fallocate implements fallocate(2) modes 0, FALLOC_FL_KEEP_SIZE and
// FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE. An allocation that fails
// with ENOSPC gives back the pages it allocated.
// Linux: mm/shmem.c, shmem_fallocate().
func (f *File) fallocate(mode uint32, off, length int64) error {
	if off < 0 || length <= 0 {
		return unix.EINVAL
	}
	if length > maxFileSize-off {
		return unix.EFBIG
	}
	f.mu.Lock()
	end := uint64(off + length)
	if mode == unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE {
		if err := f.sealedFallocateLocked(true, int64(end)); err != nil {
			f.mu.Unlock()
			return err
		}
		first, last := f.punchLocked(uint64(off), end)
		var spaces []vfs.MappingSpace
		if first < last {
			spaces = f.spacesLocked()
		}
		f.mu.Unlock()
		f.invalidate(spaces, first*pageSize, last*pageSize)
		return nil
	}
	defer f.mu.Unlock()
	switch mode {
	case 0, unix.FALLOC_FL_KEEP_SIZE:
	default:
		return unix.EOPNOTSUPP
	}
	if err := f.sealedFallocateLocked(false, int64(end)); err != nil {
		return err
	}
	var added []memfile.Range
	var addedPages [][2]uint64
	for page := uint64(off) / pageSize; page*pageSize < end; {
		_, run, ok := f.pages.Lookup(page)
		n := min(run, (end+pageSize-1)/pageSize-page)
		if !ok {
			rs, err := f.fs.allocate(n)
			if err != nil {
				// Undo: Linux leaves no half-done allocation behind.
				for _, p := range addedPages {
					f.pages.Remove(p[0], p[1])
				}
				f.fs.free(added)
				return err
			}
			p := page
			for _, r := range rs {
				f.pages.Insert(memfile.Extent{Page: p, N: r.Len / pageSize, Off: r.Off})
				p += r.Len / pageSize
			}
			added = append(added, rs...)
			addedPages = append(addedPages, [2]uint64{page, page + n})
		}
		page += n
	}
	if mode&unix.FALLOC_FL_KEEP_SIZE == 0 && int64(end) > f.size {
		f.size = int64(end)
	}
	f.ctime = now()
	return nil
}

// punchLocked zeroes [off, end) and frees the whole pages in it, f.mu
// held, and returns the pages it freed.
func (f *File) punchLocked(off, end uint64) (first, last uint64) {
	first, last = (off+pageSize-1)/pageSize, end/pageSize
	// Zero the partial pages at both ends.
	for _, r := range [][2]uint64{{off, min(end, first*pageSize)}, {max(off, last*pageSize), end}} {
		if r[0] >= r[1] {
			continue
		}
		if mfOff, _, ok := f.pages.Lookup(r[0] / pageSize); ok {
			clear(f.fs.mf.Slice(mfOff+r[0]%pageSize, r[1]-r[0]))
		}
	}
	if first < last {
		f.fs.free(f.pages.Remove(first, last))
	}
	t := now()
	f.mtime, f.ctime = t, t
	return first, last
}

// seekData implements SEEK_DATA and SEEK_HOLE: allocated pages are data,
// unallocated ones holes, and the end of the file is a hole.
// Linux: mm/shmem.c, shmem_file_llseek().
func (f *File) seekData(off int64, whence int) (int64, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if off < 0 || off >= f.size {
		return 0, unix.ENXIO
	}
	switch whence {
	case unix.SEEK_DATA:
		page, ok := f.pages.NextData(uint64(off) / pageSize)
		if !ok || page >= uint64(f.size+pageSize-1)/pageSize {
			return 0, unix.ENXIO
		}
		return max(off, int64(page*pageSize)), nil
	case unix.SEEK_HOLE:
		page := f.pages.NextHole(uint64(off) / pageSize)
		if page >= uint64(f.size+pageSize-1)/pageSize {
			return f.size, nil
		}
		return max(off, int64(page*pageSize)), nil
	}
	return 0, unix.EINVAL
}

// openFile is an open regular file.
type openFile struct {
	f       *File
	noatime bool // O_NOATIME
}

// ReadAt implements vfs.FileImpl. Reading updates atime as Linux's
// default relatime does: when it is not after mtime or ctime, or a day
// old.
func (o *openFile) ReadAt(dst []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	f := o.f
	f.mu.RLock()
	n := f.readLocked(dst, off)
	f.mu.RUnlock()
	if !o.noatime {
		f.touchAtime()
	}
	return n, nil
}

// touchAtime updates atime after an access as Linux's default relatime
// does: when it is not after mtime or ctime, or is a day old.
func (i *inode) touchAtime() {
	t := now()
	i.mu.RLock()
	stale := !after(i.atime, i.mtime) || !after(i.atime, i.ctime) || t.Sec-i.atime.Sec >= 24*60*60
	i.mu.RUnlock()
	if stale {
		i.mu.Lock()
		i.atime = t
		i.mu.Unlock()
	}
}

// after reports whether a is later than b.
func after(a, b unix.Timespec) bool {
	return a.Sec > b.Sec || a.Sec == b.Sec && a.Nsec > b.Nsec
}

// WriteAt implements vfs.FileImpl.
func (o *openFile) WriteAt(src []byte, off int64) (int, error) {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	n, err := o.f.sealedWriteLocked(off, len(src))
	if err != nil {
		return 0, err
	}
	return o.f.writeLocked(src[:n], off)
}

// Append implements vfs.AppendImpl: the end of the file is found and
// written under one lock, so appenders never overwrite each other.
func (o *openFile) Append(src []byte) (int, int64, error) {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	n, err := o.f.sealedWriteLocked(o.f.size, len(src))
	if err != nil {
		return 0, o.f.size, err
	}
	n, err = o.f.writeLocked(src[:n], o.f.size)
	return n, o.f.size, err
}

// Stat implements vfs.FileImpl.
func (o *openFile) Stat(st *unix.Stat_t) error {
	sx, err := o.f.Stat(nil, unix.STATX_BASIC_STATS)
	if err != nil {
		return err
	}
	*st = vfs.StatFromStatx(&sx)
	return nil
}

// Seekable implements vfs.FileImpl.
func (o *openFile) Seekable() bool { return true }

// Release implements vfs.FileImpl: the last open file of a file without
// links frees it.
func (o *openFile) Release() {
	f := o.f
	f.mu.Lock()
	f.opens--
	f.mu.Unlock()
	f.maybeFree()
}

// SeekData implements SEEK_DATA and SEEK_HOLE for lseek(2) (the
// interface the VFS would ask for: Seek falls back to "no holes" today).
func (o *openFile) SeekData(off int64, whence int) (int64, error) { return o.f.seekData(off, whence) }

// Fallocate implements fallocate(2) for the VFS.
func (o *openFile) Fallocate(mode uint32, off, length int64) error {
	return o.f.fallocate(mode, off, length)
}

// Inode returns the file's inode.
func (o *openFile) Inode() *File { return o.f }
