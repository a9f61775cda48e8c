package gofer

import (
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/vfs"
)

// regularFile is an open regular file: a host descriptor the gofer
// opened and gave us, its own or, for a read-only open, the one shared
// by the file's read-only opens (fdcache.go). Reads and writes go
// straight to it, never through the gofer.
type regularFile struct {
	n                  *inode
	fd                 int
	readable, writable bool
	// shared is the shared descriptor fd belongs to; nil when fd is the
	// file's own.
	shared *sharedFD

	// posMu serializes the uses of the host descriptor's own offset
	// (Append, SeekData), which reads and writes never touch.
	posMu sync.Mutex

	// Guarded by n.st.mu: pins counts users of fd outside the VFS's
	// calls (setStatOpen); released defers the close to the last unpin.
	pins     int
	released bool
}

// openFlagsToHost are the open(2) flags the host file is opened with.
// The VFS keeps the offset and O_APPEND, and has already applied
// O_TRUNC. A host descriptor never has O_APPEND: the VFS asks for
// appends one write at a time (Append), so fcntl(F_SETFL) turning
// O_APPEND on or off takes effect at the next write, as on Linux, with
// nothing to change on the host.
const openFlagsToHost = unix.O_ACCMODE | unix.O_SYNC | unix.O_DSYNC | unix.O_NOATIME

func (n *inode) openRegular(flags int) (*regularFile, error) {
	acc := flags & unix.O_ACCMODE
	if acc == unix.O_ACCMODE {
		return nil, unix.EINVAL
	}
	writable := acc != unix.O_RDONLY
	if writable && n.fs.readOnly {
		return nil, unix.EROFS
	}
	hostFlags := flags & openFlagsToHost
	// A plain read-only open shares the file's read-only descriptor.
	// Not for a name that is gone: that open fails (ENOENT) as it
	// always has.
	share := hostFlags == unix.O_RDONLY
	if share && !n.deleted.Load() {
		if sh := n.fs.c.fds.get(n.st); sh != nil {
			f := &regularFile{n: n, fd: sh.fd, readable: true, shared: sh}
			n.st.addOpen(f)
			return f, nil
		}
	}
	req := wire.OpenReq{Expect: n.st.key, Flags: uint32(hostFlags)}
	var a wire.Attr
	var fd int
	err := n.withPath(func(p string) error {
		req.Path = p
		var err error
		fd, err = n.fs.c.call(wire.OpOpen, n.fs.export, &req, &a, true)
		return err
	})
	if err != nil {
		return nil, notStale(err)
	}
	f := &regularFile{n: n, fd: fd, readable: acc != unix.O_WRONLY, writable: writable}
	// Trust but verify: the descriptor must be this very file, regular,
	// opened as asked.
	h, err := f.hostAttr()
	if err != nil || h.Type() != unix.S_IFREG || h.Key() != n.st.key {
		unix.Close(fd)
		return nil, unix.EIO
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_ACCMODE != acc {
		unix.Close(fd)
		return nil, unix.EIO
	}
	s := n.st
	s.mu.Lock()
	s.attr, s.valid = h, true
	s.mu.Unlock()
	if share {
		sh := n.fs.c.fds.add(s, fd)
		f.fd, f.shared = sh.fd, sh
	}
	s.addOpen(f)
	return f, nil
}

// addOpen records f among s's open files.
func (s *fileState) addOpen(f *regularFile) {
	s.mu.Lock()
	s.open = append(s.open, f)
	s.mu.Unlock()
}

// closeFD ends f's use of its descriptor: closes its own, or leaves the
// shared one.
func (f *regularFile) closeFD() {
	if f.shared != nil {
		f.n.fs.c.fds.put(f.shared)
		return
	}
	unix.Close(f.fd)
}

// hostAttr returns the attributes of the host file.
func (f *regularFile) hostAttr() (wire.Attr, error) {
	var sx unix.Statx_t
	if err := unix.Statx(f.fd, "", unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &sx); err != nil {
		return wire.Attr{}, err
	}
	return wire.AttrFromStatx(&sx), nil
}

// ReadAt implements vfs.FileImpl: from the host file, or through the
// page cache while the file is mapped shared (pagecache.go).
func (f *regularFile) ReadAt(dst []byte, off int64) (int, error) {
	if s := f.n.st; s.mf != nil {
		s.cacheMu.RLock()
		if c := s.cache.Load(); c != nil {
			defer s.cacheMu.RUnlock()
			return c.readLocked(f.fd, dst, off)
		}
		s.cacheMu.RUnlock()
	}
	for {
		n, err := unix.Pread(f.fd, dst, off)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

// WriteAt implements vfs.FileImpl: to the host file, and to the page
// cache too while the file is mapped shared.
func (f *regularFile) WriteAt(src []byte, off int64) (int, error) {
	if !f.writable {
		return 0, unix.EBADF
	}
	c, unlock := f.n.st.lockWrite()
	defer unlock()
	n, err := f.pwrite(src, off)
	if c != nil && n > 0 {
		c.wroteLocked(src[:n], off)
	}
	return n, err
}

// pwrite writes src at off to the host file: all of it, or what could
// be written before an error.
func (f *regularFile) pwrite(src []byte, off int64) (int, error) {
	done := 0
	for done < len(src) {
		n, err := unix.Pwrite(f.fd, src[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if n > 0 {
			done += n
		}
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n == 0 {
			break
		}
	}
	return done, nil
}

// Append implements vfs.AppendImpl: src goes at the end of the host
// file atomically, whoever else appends to it (other descriptions, other
// sandboxes, the host), as write(2) on an O_APPEND file does. It is
// pwritev2(2) with RWF_APPEND at the descriptor's own offset (-1), which
// leaves that offset at the end of the data written: end, the file
// offset Linux leaves after an O_APPEND write. RWF_APPEND needs Linux
// 4.16; the gofer needs 5.6 already (openat2).
func (f *regularFile) Append(src []byte) (int, int64, error) {
	if !f.writable {
		return 0, 0, unix.EBADF
	}
	c, unlock := f.n.st.lockWrite()
	defer unlock()
	f.posMu.Lock()
	defer f.posMu.Unlock()
	done := 0
	iov := [][]byte{nil}
	for done < len(src) {
		iov[0] = src[done:]
		n, err := unix.Pwritev2(f.fd, iov, -1, unix.RWF_APPEND)
		if err == unix.EINTR {
			continue
		}
		if n > 0 {
			done += n
		}
		if err != nil {
			if done > 0 {
				break
			}
			// The VFS moves the offset to end even on failure:
			// the end of the file, as tmpfs says.
			var st unix.Stat_t
			unix.Fstat(f.fd, &st)
			return 0, st.Size, err
		}
		if n == 0 {
			break
		}
	}
	end, err := unix.Seek(f.fd, 0, unix.SEEK_CUR)
	if c != nil && done > 0 {
		start := c.size.Load() // where it went if nobody else appended
		if err == nil {
			start = end - int64(done)
		}
		c.wroteLocked(src[:done], start)
	}
	if err != nil {
		return done, 0, err
	}
	return done, end, nil
}

// Stat implements vfs.FileImpl.
func (f *regularFile) Stat(st *unix.Stat_t) error {
	sx, err := f.Statx(unix.STATX_BASIC_STATS, 0)
	if err != nil {
		return err
	}
	*st = vfs.StatFromStatx(&sx)
	return nil
}

// Statx implements vfs.StatxImpl: the host file's attributes, as the
// sandbox numbers them.
func (f *regularFile) Statx(mask uint32, syncFlags int) (unix.Statx_t, error) {
	var sx unix.Statx_t
	flags := unix.AT_EMPTY_PATH | syncFlags&(unix.AT_STATX_FORCE_SYNC|unix.AT_STATX_DONT_SYNC)
	if err := unix.Statx(f.fd, "", flags, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &sx); err != nil {
		return unix.Statx_t{}, err
	}
	a := wire.AttrFromStatx(&sx)
	if c := f.n.st.cache.Load(); c != nil {
		a.Size = uint64(c.size.Load())
	}
	if f.writable {
		f.n.st.set(&a)
	}
	return f.n.fs.statx(f.n.st, &a), nil
}

// Seekable implements vfs.FileImpl.
func (f *regularFile) Seekable() bool { return true }

// Release implements vfs.FileImpl. A writer's last attributes go into
// the cache, since Stat stops asking the host file once it is closed.
// The last writer writes back what mappings changed in the page cache,
// since nothing could afterwards (pagecache.go).
func (f *regularFile) Release() {
	s := f.n.st
	if s.mf != nil && f.writable {
		s.cacheMu.Lock()
		if c := s.cache.Load(); c != nil && !s.otherWriter(f) {
			s.flushLocked(c, f, true)
		}
		s.cacheMu.Unlock()
	}
	s.mu.Lock()
	for i, o := range s.open {
		if o == f {
			s.open = append(s.open[:i:i], s.open[i+1:]...)
			break
		}
	}
	if f.writable {
		if a, err := f.hostAttr(); err == nil {
			s.attr, s.valid = a, true
		}
	}
	f.released = true
	closeNow := f.pins == 0
	s.mu.Unlock()
	if closeNow {
		f.closeFD()
	}
}

// unpin ends a use of fd begun by fileState.openFile.
func (f *regularFile) unpin() {
	s := f.n.st
	s.mu.Lock()
	f.pins--
	closeNow := f.released && f.pins == 0
	s.mu.Unlock()
	if closeNow {
		f.closeFD()
	}
}

// SeekData answers lseek(SEEK_DATA, SEEK_HOLE) with the host file's holes. The
// host descriptor's own offset is otherwise unused.
func (f *regularFile) SeekData(off int64, whence int) (int64, error) {
	if whence != unix.SEEK_DATA && whence != unix.SEEK_HOLE {
		return 0, unix.EINVAL
	}
	if s := f.n.st; s.mf != nil {
		// Pages mappings filled are data.
		s.cacheMu.Lock()
		if c := s.cache.Load(); c != nil && c.mayDirty {
			s.writebackLocked(c, 0, ^uint64(0), nil)
		}
		s.cacheMu.Unlock()
	}
	f.posMu.Lock()
	defer f.posMu.Unlock()
	return unix.Seek(f.fd, off, whence)
}

// Fallocate implements fallocate(2) on the host file. With a page cache,
// the modes that change the data (punching, zeroing, collapsing or
// inserting a range) act on the host file once what mappings changed
// is written back, and the cached pages from off on are read again.
func (f *regularFile) Fallocate(mode uint32, off, length int64) error {
	if !f.writable {
		return unix.EBADF
	}
	s := f.n.st
	c, unlock := s.lockWrite()
	if c == nil {
		defer unlock()
		return retryEINTR(func() error { return unix.Fallocate(f.fd, mode, off, length) })
	}
	moves := mode&^unix.FALLOC_FL_KEEP_SIZE != 0
	if moves && c.mayDirty {
		if err := s.writebackLocked(c, 0, ^uint64(0), f); err != nil {
			unlock()
			return err
		}
	}
	if err := retryEINTR(func() error { return unix.Fallocate(f.fd, mode, off, length) }); err != nil {
		unlock()
		return err
	}
	a, err := f.hostAttr()
	if err != nil {
		unlock()
		return err
	}
	if moves {
		if r := s.pin(isReadable); r != nil {
			c.refreshLocked(r.fd, off)
			r.unpin()
		}
	}
	r := c.resizeLocked(int64(a.Size), !moves)
	unlock()
	r.finish(s)
	return nil
}

// Sync flushes the host file (fsync(2), or fdatasync(2) with dataOnly),
// once what mappings changed in the page cache is written back.
func (f *regularFile) Sync(dataOnly bool) error {
	if s := f.n.st; s.mf != nil {
		s.cacheMu.Lock()
		var err error
		if c := s.cache.Load(); c != nil {
			err = s.flushLocked(c, nil, false)
		}
		s.cacheMu.Unlock()
		if err != nil {
			return err
		}
	}
	if dataOnly {
		return unix.Fdatasync(f.fd)
	}
	return unix.Fsync(f.fd)
}

// HostFD returns the host descriptor, valid until Release, for mapping
// the file.
func (f *regularFile) HostFD() int { return f.fd }

// writerLocked returns an open writable file, s.mu held, or nil.
func (s *fileState) writerLocked() *regularFile {
	for _, f := range s.open {
		if f.writable {
			return f
		}
	}
	return nil
}

// openFile returns an open file of s (a writable one if write), pinned:
// the caller unpins it when done with its descriptor.
func (s *fileState) openFile(write bool) *regularFile {
	if write {
		return s.pin(isWritable)
	}
	return s.pin(isAny)
}

// pin returns an open file of s that want accepts, pinned: the caller
// unpins it when done with its descriptor.
func (s *fileState) pin(want func(*regularFile) bool) *regularFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.open {
		if want(f) {
			f.pins++
			return f
		}
	}
	return nil
}
