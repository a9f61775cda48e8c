package gofer

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"weak"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/vfs"
)

// inode is one file of the export as the client knows it: where it is
// (its names, from which requests build paths) and its shared state. It
// holds no host descriptor: a cached inode costs memory only.
//
// The VFS sees it through one of three small wrappers (dirInode,
// fileInode, symlinkInode) so that only directories implement
// vfs.DirInode and only links vfs.SymlinkInode.
type inode struct {
	fs  *FS
	typ uint32 // S_IFMT, fixed
	st  *fileState

	// The inode's names, guarded by fs.renameMu. parent is nil for the
	// root. A hard link made through the VFS (which then uses this very
	// inode for the new name) adds to extra; removing a name promotes
	// the next one, and removing the last sets deleted.
	parent  *inode
	name    string
	extra   []link
	deleted atomic.Bool

	// Directories: children maps names to the inodes handed out for
	// them, weakly (the VFS's dentries keep them alive), so that unlink
	// and rename find the inodes whose names they change. Guarded by
	// fs.renameMu, and by childMu where renameMu is held for reading.
	childMu  sync.Mutex
	children map[string]weak.Pointer[inode]
	// eofPos is the position of the end of the listing, once read and
	// until the directory changes, so that the getdents(2) that finds
	// nothing more costs no request; noEOF when unknown.
	eofPos atomic.Int64
	// Attributes of entries from listings, for Lookup (seeds.go),
	// guarded by fs.seeds.mu.
	seeds              map[string]wire.Attr
	seedGen            uint64
	seedPrev, seedNext *inode

	// Symbolic links: the target, once read (a link never changes).
	target atomic.Pointer[string]
}

type link struct {
	parent *inode
	name   string
}

const noEOF = math.MinInt64

// newInode returns an inode called name in dir for the file a describes.
func (fs *FS) newInode(dir *inode, name string, a *wire.Attr) *inode {
	n := &inode{fs: fs, typ: a.Type(), st: fs.newState(a), parent: dir, name: name}
	n.eofPos.Store(noEOF)
	return n
}

// vfsInode returns the inode as the VFS sees it.
func (n *inode) vfsInode() vfs.Inode {
	switch n.typ {
	case unix.S_IFDIR:
		return dirInode{n}
	case unix.S_IFLNK:
		return symlinkInode{n}
	}
	return fileInode{n}
}

// own returns the inode behind i if it belongs to fs.
func (fs *FS) own(i vfs.Inode) (*inode, bool) {
	var n *inode
	switch v := i.(type) {
	case dirInode:
		n = v.inode
	case fileInode:
		n = v.inode
	case symlinkInode:
		n = v.inode
	default:
		return nil, false
	}
	return n, n.fs == fs
}

// pathLocked returns the inode's path below the export's root, with
// fs.renameMu held: ENOENT once it has no name.
func (n *inode) pathLocked() (string, error) {
	if n.parent == nil && !n.deleted.Load() {
		return "", nil
	}
	var buf [16]string
	parts := buf[:0]
	size := 0
	for p := n; p.parent != nil; p = p.parent {
		if p.deleted.Load() {
			return "", unix.ENOENT
		}
		parts = append(parts, p.name)
		size += len(p.name) + 1
		if size > wire.PathMax+1 {
			// The protocol's limit, not Linux's: see doc.go.
			return "", unix.ENAMETOOLONG
		}
	}
	var b strings.Builder
	b.Grow(size)
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
		if i > 0 {
			b.WriteByte('/')
		}
	}
	return b.String(), nil
}

// withPath calls f with the inode's path, holding fs.renameMu for
// reading so that no rename makes the path stale meanwhile.
func (n *inode) withPath(f func(path string) error) error {
	n.fs.renameMu.RLock()
	defer n.fs.renameMu.RUnlock()
	p, err := n.pathLocked()
	if err != nil {
		return err
	}
	return f(p)
}

// childLocked returns the inode handed out for name, fs.renameMu held.
func (n *inode) childLocked(name string) *inode {
	n.childMu.Lock()
	defer n.childMu.Unlock()
	return n.children[name].Value()
}

// setChildLocked records c as the inode for name, fs.renameMu held.
func (n *inode) setChildLocked(name string, c *inode) {
	n.childMu.Lock()
	defer n.childMu.Unlock()
	if n.children == nil {
		n.children = map[string]weak.Pointer[inode]{}
	}
	n.children[name] = weak.Make(c)
}

func (n *inode) deleteChildLocked(name string) {
	n.childMu.Lock()
	defer n.childMu.Unlock()
	delete(n.children, name)
}

// removeNameLocked drops the name (dir, name), fs.renameMu held for
// writing; the inode is deleted when it was its last.
func (n *inode) removeNameLocked(dir *inode, name string) {
	if n.parent == dir && n.name == name {
		if len(n.extra) > 0 {
			n.parent, n.name = n.extra[0].parent, n.extra[0].name
			n.extra = n.extra[1:]
		} else {
			n.deleted.Store(true)
		}
		return
	}
	for i, l := range n.extra {
		if l.parent == dir && l.name == name {
			n.extra = append(n.extra[:i:i], n.extra[i+1:]...)
			return
		}
	}
}

// moveNameLocked changes the name (oldDir, oldName) to (newDir, newName),
// fs.renameMu held for writing.
func (n *inode) moveNameLocked(oldDir *inode, oldName string, newDir *inode, newName string) {
	if n.parent == oldDir && n.name == oldName {
		n.parent, n.name = newDir, newName
		return
	}
	for i, l := range n.extra {
		if l.parent == oldDir && l.name == oldName {
			n.extra[i] = link{newDir, newName}
			return
		}
	}
}

// attr returns the inode's attributes: from an open writable host
// descriptor when there is one (writes change size and times behind the
// gofer's back), else the cache, else the gofer; the size from the page
// cache while there is one.
func (n *inode) attr() (wire.Attr, error) {
	a, err := n.hostOrCachedAttr()
	if c := n.st.cache.Load(); c != nil && err == nil {
		a.Size = uint64(c.size.Load())
	}
	return a, err
}

func (n *inode) hostOrCachedAttr() (wire.Attr, error) {
	s := n.st
	s.mu.Lock()
	if f := s.writerLocked(); f != nil {
		if a, err := f.hostAttr(); err == nil {
			s.attr, s.valid = a, true
		}
	}
	if s.valid || n.deleted.Load() {
		a := s.attr
		s.mu.Unlock()
		return a, nil
	}
	s.mu.Unlock()
	var a wire.Attr
	err := n.withPath(func(p string) error {
		_, err := n.fs.c.call(wire.OpStat, n.fs.export, &wire.PathReq{Path: p}, &a, false)
		return err
	})
	switch {
	case err == nil && a.Key() == s.key:
		s.set(&a)
		return a, nil
	case err == nil || err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP:
		// The name went or holds another file now: what we knew
		// is the best answer for this one.
		s.mu.Lock()
		a = s.attr
		s.mu.Unlock()
		return a, nil
	}
	return wire.Attr{}, err
}

// Stat implements vfs.Inode.
func (n *inode) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	a, err := n.attr()
	if err != nil {
		return unix.Statx_t{}, err
	}
	return n.fs.statx(n.st, &a), nil
}

// Open implements vfs.Inode. The VFS opens only regular files through
// it; directories, links and special files it serves itself.
func (n *inode) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	if n.typ != unix.S_IFREG {
		return nil, unix.ENXIO
	}
	f, err := n.openRegular(flags)
	if err != nil {
		return nil, err
	}
	if n.st.mf != nil {
		return &mappableFile{f}, nil
	}
	return f, nil
}

// notStale maps ESTALE (the path names another file than the inode's
// now) to what the application sees: the file is gone.
func notStale(err error) error {
	if err == unix.ESTALE {
		return unix.ENOENT
	}
	return err
}

// SetStat implements vfs.SetStatInode.
func (n *inode) SetStat(ctx *vfs.Context, attr *vfs.SetAttr) error {
	if attr.Mask&^wire.SetAttrMask != 0 {
		return unix.EINVAL
	}
	if attr.Mask == 0 {
		return nil
	}
	if n.fs.readOnly {
		return unix.EROFS
	}
	for _, t := range []unix.Timespec{attr.Atime, attr.Mtime} {
		if t.Nsec < 0 || t.Nsec >= 1e9 {
			return unix.EINVAL
		}
	}
	if attr.Size < 0 {
		return unix.EINVAL
	}
	if attr.Mask&unix.STATX_SIZE != 0 && n.st.mf != nil {
		return n.st.truncate(attr.Size, func() error { return n.setStat(attr) })
	}
	return n.setStat(attr)
}

// setStat is SetStat once the arguments are checked.
func (n *inode) setStat(attr *vfs.SetAttr) error {
	if n.deleted.Load() {
		return n.setStatOpen(attr)
	}
	uid, gid, err := n.fs.c.hostOwner(ownerOrUnchanged(attr))
	if err != nil {
		return err
	}
	req := wire.SetAttrReq{
		Expect: n.st.key,
		Mask:   attr.Mask,
		Mode:   attr.Mode & 0o7777,
		UID:    uid,
		GID:    gid,
		Size:   attr.Size,
		Atime:  wire.Timestamp{Sec: attr.Atime.Sec, Nsec: uint32(attr.Atime.Nsec)},
		Mtime:  wire.Timestamp{Sec: attr.Mtime.Sec, Nsec: uint32(attr.Mtime.Nsec)},
	}
	var a wire.Attr
	err = n.withPath(func(p string) error {
		req.Path = p
		_, err := n.fs.c.call(wire.OpSetAttr, n.fs.export, &req, &a, false)
		return err
	})
	switch {
	case err == nil:
		n.st.set(&a)
	case err == unix.ENOENT && n.deleted.Load():
		return n.setStatOpen(attr) // unlinked meanwhile
	case err == unix.EIO:
		n.st.invalidate() // done or not, we cannot tell
	}
	return notStale(err)
}

// setStatOpen changes the attributes of a file that has no name left,
// through one of its open host descriptors (as fchmod(2) and friends on
// an unlinked file do on Linux); without one there is no way to reach
// it.
func (n *inode) setStatOpen(attr *vfs.SetAttr) error {
	f := n.st.openFile(attr.Mask&unix.STATX_SIZE != 0)
	if f == nil {
		return unix.ENOENT
	}
	defer f.unpin()
	fd := f.fd
	if attr.Mask&(unix.STATX_UID|unix.STATX_GID) != 0 {
		uid, gid, err := n.fs.c.hostOwner(ownerOrUnchanged(attr))
		if err != nil {
			return err
		}
		if err := unix.Fchown(fd, int(int32(uid)), int(int32(gid))); err != nil {
			return err
		}
	}
	if attr.Mask&unix.STATX_MODE != 0 {
		if err := unix.Fchmod(fd, attr.Mode&0o7777); err != nil {
			return err
		}
	}
	if attr.Mask&unix.STATX_SIZE != 0 {
		if err := unix.Ftruncate(fd, attr.Size); err != nil {
			return err
		}
	}
	if attr.Mask&(unix.STATX_ATIME|unix.STATX_MTIME) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if attr.Mask&unix.STATX_ATIME != 0 {
			ts[0] = attr.Atime
		}
		if attr.Mask&unix.STATX_MTIME != 0 {
			ts[1] = attr.Mtime
		}
		if err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
			return err
		}
	}
	if a, err := f.hostAttr(); err == nil {
		n.st.set(&a)
	}
	return nil
}

// Statfs implements vfs.StatfsInode.
func (n *inode) Statfs(ctx *vfs.Context) (unix.Statfs_t, error) {
	var r wire.Statfs
	err := n.withPath(func(p string) error {
		_, err := n.fs.c.call(wire.OpStatfs, n.fs.export, &wire.PathReq{Path: p}, &r, false)
		return err
	})
	if err == unix.ENOENT {
		// An unlinked file is still on the export's file system.
		_, err = n.fs.c.call(wire.OpStatfs, n.fs.export, &wire.PathReq{}, &r, false)
	}
	if err != nil {
		return unix.Statfs_t{}, err
	}
	return unix.Statfs_t{
		Type: r.Type, Bsize: r.Bsize, Blocks: r.Blocks, Bfree: r.Bfree, Bavail: r.Bavail,
		Files: r.Files, Ffree: r.Ffree, Fsid: unix.Fsid{Val: r.Fsid}, Namelen: r.Namelen,
		Frsize: r.Frsize, Flags: r.Flags,
	}, nil
}

// GetXattr implements vfs.XattrInode.
func (n *inode) GetXattr(ctx *vfs.Context, name string) ([]byte, error) {
	if len(name) > wire.XattrNameMax {
		return nil, unix.ERANGE
	}
	var r wire.XattrValue
	err := n.xattrCall(wire.OpGetXattr, &wire.XattrReq{Name: name}, &r)
	return r.Value, err
}

// SetXattr implements vfs.XattrInode.
func (n *inode) SetXattr(ctx *vfs.Context, name string, value []byte, flags int) error {
	if len(name) > wire.XattrNameMax {
		return unix.ERANGE
	}
	if len(value) > wire.XattrValueMax {
		return unix.E2BIG
	}
	if n.fs.readOnly {
		return unix.EROFS
	}
	err := n.xattrCall(wire.OpSetXattr, &wire.XattrReq{Name: name, Value: value, Flags: uint32(flags)}, &wire.Empty{})
	if err == nil || err == unix.EIO {
		n.st.invalidate() // ctime changed
	}
	return err
}

// ListXattr implements vfs.XattrInode.
func (n *inode) ListXattr(ctx *vfs.Context) ([]string, error) {
	var r wire.XattrList
	err := n.xattrCall(wire.OpListXattr, &wire.XattrReq{}, &r)
	return r.Names, err
}

// RemoveXattr implements vfs.XattrInode.
func (n *inode) RemoveXattr(ctx *vfs.Context, name string) error {
	if len(name) > wire.XattrNameMax {
		return unix.ERANGE
	}
	if n.fs.readOnly {
		return unix.EROFS
	}
	err := n.xattrCall(wire.OpRemoveXattr, &wire.XattrReq{Name: name}, &wire.Empty{})
	if err == nil || err == unix.EIO {
		n.st.invalidate()
	}
	return err
}

func (n *inode) xattrCall(op wire.Op, req *wire.XattrReq, resp wire.Message) error {
	if req.Name != "" && strings.IndexByte(req.Name, 0) >= 0 {
		return unix.EINVAL
	}
	req.Expect = n.st.key
	err := n.withPath(func(p string) error {
		req.Path = p
		_, err := n.fs.c.call(op, n.fs.export, req, resp, false)
		return err
	})
	return notStale(err)
}

// fileInode is a regular file, FIFO, socket or device node.
type fileInode struct{ *inode }

// symlinkInode is a symbolic link.
type symlinkInode struct{ *inode }

// Readlink implements vfs.SymlinkInode.
func (s symlinkInode) Readlink(ctx *vfs.Context) (string, error) {
	if t := s.target.Load(); t != nil {
		return *t, nil
	}
	var r wire.ReadlinkReply
	err := s.withPath(func(p string) error {
		_, err := s.fs.c.call(wire.OpReadlink, s.fs.export, &wire.PathReq{Path: p}, &r, false)
		return err
	})
	if err != nil {
		return "", notStale(err)
	}
	s.target.Store(&r.Target)
	return r.Target, nil
}

var (
	_ vfs.Inode        = fileInode{}
	_ vfs.SetStatInode = fileInode{}
	_ vfs.XattrInode   = fileInode{}
	_ vfs.StatfsInode  = fileInode{}
	_ vfs.SymlinkInode = symlinkInode{}
	_ vfs.SetStatInode = symlinkInode{}
	_ vfs.XattrInode   = symlinkInode{}
	_ vfs.DirInode     = dirInode{}
	_ vfs.SetStatInode = dirInode{}
	_ vfs.XattrInode   = dirInode{}
	_ vfs.StatfsInode  = dirInode{}
	_ vfs.FileSystem   = (*FS)(nil)
	_ vfs.FileImpl     = (*regularFile)(nil)
	_ vfs.StatxImpl    = (*regularFile)(nil)
	_ vfs.AppendImpl   = (*regularFile)(nil)
	_ vfs.MappableImpl = (*mappableFile)(nil)
)

// ownerOrUnchanged returns the owner attr sets, -1 for each ID it leaves.
func ownerOrUnchanged(attr *vfs.SetAttr) (uid, gid uint32) {
	uid, gid = ^uint32(0), ^uint32(0)
	if attr.Mask&unix.STATX_UID != 0 {
		uid = attr.UID
	}
	if attr.Mask&unix.STATX_GID != 0 {
		gid = attr.GID
	}
	return uid, gid
}
