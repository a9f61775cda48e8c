package tmpfs

import (
	"sort"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// bogoDirentSize is what each entry adds to a directory's size, and an
// empty directory has two ("." and ".."), as Linux's tmpfs counts.
// Linux: mm/shmem.c, BOGO_DIRENT_SIZE.
const bogoDirentSize = 20

// Readdir positions: "." is 0, ".." is 1, and entries have cookies from
// firstCookie on.
const firstCookie = 2

// Dir is a directory. Its entries and parent are guarded by fs.treeMu.
type Dir struct {
	inode
	// parent is the directory holding this one (itself for the root).
	parent *Dir
	// entries maps names to live entries.
	entries map[string]*dirent
	// order lists entries by cookie, removed ones included until
	// compaction: a listing resumes at the first cookie at or after its
	// position, so it neither repeats nor skips the entries that were
	// there all along, whatever comes and goes meanwhile.
	order      []*dirent
	removed    int   // removed entries still in order
	nextCookie int64 // the cookie of the next entry
}

// dirent is one name in a directory.
type dirent struct {
	name    string
	inode   node
	cookie  int64
	removed bool
}

func (fs *FS) newDir(attrs vfs.NewAttrs, parent *Dir) *Dir {
	d := &Dir{entries: map[string]*dirent{}, nextCookie: firstCookie}
	fs.initInode(&d.inode, attrs)
	d.nlink.Store(2)
	d.parent = parent
	if parent == nil {
		d.parent = d
	}
	return d
}

// Stat implements vfs.Inode.
func (d *Dir) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	d.fs.treeMu.Lock()
	n := len(d.entries)
	d.fs.treeMu.Unlock()
	st := d.stat()
	st.Size = uint64(2+n) * bogoDirentSize
	return st, nil
}

// Open implements vfs.Inode (the VFS reads directories through Readdir).
func (d *Dir) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) { return nil, unix.EISDIR }

// Lookup implements vfs.DirInode.
func (d *Dir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	if len(name) > nameMax {
		return nil, unix.ENAMETOOLONG
	}
	d.fs.treeMu.Lock()
	defer d.fs.treeMu.Unlock()
	e, ok := d.entries[name]
	if !ok {
		return nil, unix.ENOENT
	}
	return e.inode, nil
}

// addLocked enters child as name, fs.treeMu held.
func (d *Dir) addLocked(name string, child node) {
	e := &dirent{name: name, inode: child, cookie: d.nextCookie}
	d.nextCookie++
	d.entries[name] = e
	d.order = append(d.order, e)
}

// removeLocked takes the entry name out, fs.treeMu held. Its slot in
// order goes at the next compaction, once removed ones are half of it.
func (d *Dir) removeLocked(name string) {
	e := d.entries[name]
	delete(d.entries, name)
	e.removed = true
	d.removed++
	if d.removed > len(d.order)/2 {
		live := d.order[:0]
		for _, e := range d.order {
			if !e.removed {
				live = append(live, e)
			}
		}
		clear(d.order[len(live):])
		d.order = live
		d.removed = 0
	}
}

// checkNewLocked checks that name can be created in d, fs.treeMu held.
func (d *Dir) checkNewLocked(name string) error {
	switch {
	case len(name) > nameMax:
		return unix.ENAMETOOLONG
	case d.fs.released || d.nlink.Load() == 0:
		return unix.ENOENT // the directory was removed
	case d.entries[name] != nil:
		return unix.EEXIST
	}
	return nil
}

// Create implements vfs.DirInode: regular files and, by attrs.Mode's
// type, FIFOs, sockets and device nodes.
func (d *Dir) Create(ctx *vfs.Context, name string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	switch attrs.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK, unix.S_IFCHR, unix.S_IFBLK:
	case 0:
		attrs.Mode |= unix.S_IFREG
	default:
		return nil, unix.EINVAL
	}
	return d.create(name, func() node {
		if attrs.Mode&unix.S_IFMT == unix.S_IFREG {
			return d.fs.newFile(attrs)
		}
		n := &Node{}
		d.fs.initInode(&n.inode, attrs)
		return n
	})
}

// Mkdir implements vfs.DirInode.
func (d *Dir) Mkdir(ctx *vfs.Context, name string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	attrs.Mode = unix.S_IFDIR | attrs.Mode&0o7777
	return d.create(name, func() node { return d.fs.newDir(attrs, d) })
}

// Symlink implements vfs.DirInode.
func (d *Dir) Symlink(ctx *vfs.Context, name, target string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	if len(target) >= pageSize {
		return nil, unix.ENAMETOOLONG // Linux: mm/shmem.c, shmem_symlink()
	}
	attrs.Mode = unix.S_IFLNK | 0o777
	return d.create(name, func() node {
		s := &Symlink{target: target}
		d.fs.initInode(&s.inode, attrs)
		return s
	})
}

// create makes the object make returns and enters it as name, updating
// the link counts and times as Linux's tmpfs does: the new object's own
// link, the directory's for a subdirectory, and the directory's mtime
// and ctime.
func (d *Dir) create(name string, make func() node) (vfs.Inode, error) {
	fs := d.fs
	fs.treeMu.Lock()
	defer fs.treeMu.Unlock()
	if err := d.checkNewLocked(name); err != nil {
		return nil, err
	}
	if err := fs.reserveInode(); err != nil {
		return nil, err
	}
	child := make()
	if _, ok := child.(*Dir); ok {
		d.nlink.Add(1)
	} else {
		child.base().nlink.Store(1)
	}
	d.addLocked(name, child)
	d.touchMCtime()
	return child, nil
}

// Tmpfile implements vfs.TmpfileInode: a regular file with no name and
// no link, freed when its last open file goes unless linkat names it.
func (d *Dir) Tmpfile(ctx *vfs.Context, attrs vfs.NewAttrs) (vfs.Inode, error) {
	fs := d.fs
	fs.treeMu.Lock()
	defer fs.treeMu.Unlock()
	if fs.released || d.nlink.Load() == 0 {
		return nil, unix.ENOENT
	}
	if err := fs.reserveInode(); err != nil {
		return nil, err
	}
	attrs.Mode = unix.S_IFREG | attrs.Mode&0o7777
	return fs.newFile(attrs), nil
}

// Link implements vfs.DirInode.
func (d *Dir) Link(ctx *vfs.Context, name string, target vfs.Inode) error {
	t, ok := target.(node)
	if !ok || t.base().fs != d.fs {
		return unix.EXDEV
	}
	if _, isDir := target.(*Dir); isDir {
		return unix.EPERM
	}
	fs := d.fs
	fs.treeMu.Lock()
	defer fs.treeMu.Unlock()
	if err := d.checkNewLocked(name); err != nil {
		return err
	}
	b := t.base()
	if f, ok := target.(*File); ok {
		// An unnamed file (O_TMPFILE, or unlinked) whose data is gone
		// cannot come back. The check and the new link are one step
		// under f.mu, against a concurrent last Release (maybeFree).
		f.mu.Lock()
		freed := f.freed
		if !freed {
			b.nlink.Add(1)
		}
		f.mu.Unlock()
		if freed {
			return unix.ENOENT
		}
	} else {
		if b.nlink.Load() == 0 {
			return unix.ENOENT // removed, and its inode uncounted
		}
		b.nlink.Add(1)
	}
	// A file with no link still counts as an inode while open, so
	// naming it again reserves nothing.
	d.addLocked(name, t)
	b.touchCtime()
	d.touchMCtime()
	return nil
}

// Unlink implements vfs.DirInode.
func (d *Dir) Unlink(ctx *vfs.Context, name string) error {
	fs := d.fs
	fs.treeMu.Lock()
	defer fs.treeMu.Unlock()
	e, ok := d.entries[name]
	if !ok {
		return unix.ENOENT
	}
	if _, isDir := e.inode.(*Dir); isDir {
		return unix.EISDIR
	}
	d.removeLocked(name)
	d.touchMCtime()
	fs.dropLinkLocked(e.inode)
	return nil
}

// dropLinkLocked drops one link of a non-directory, fs.treeMu held: the
// last one frees the inode, or for a file, frees it once nobody has it
// open either.
func (fs *FS) dropLinkLocked(n node) {
	b := n.base()
	left := b.nlink.Add(-1)
	b.touchCtime()
	if left > 0 {
		return
	}
	if f, ok := n.(*File); ok {
		f.maybeFree()
		return
	}
	fs.unreserveInode()
}

// Rmdir implements vfs.DirInode.
func (d *Dir) Rmdir(ctx *vfs.Context, name string) error {
	fs := d.fs
	fs.treeMu.Lock()
	defer fs.treeMu.Unlock()
	e, ok := d.entries[name]
	if !ok {
		return unix.ENOENT
	}
	c, isDir := e.inode.(*Dir)
	if !isDir {
		return unix.ENOTDIR
	}
	if len(c.entries) != 0 {
		return unix.ENOTEMPTY
	}
	d.removeLocked(name)
	fs.removeDirLocked(d, c)
	d.touchMCtime()
	return nil
}

// removeDirLocked accounts for the removal of the empty directory c from
// d, fs.treeMu held.
func (fs *FS) removeDirLocked(d, c *Dir) {
	d.nlink.Add(-1)
	c.nlink.Store(0)
	c.touchCtime()
	fs.unreserveInode()
}

// Rename implements vfs.DirInode. Linux: mm/shmem.c, shmem_rename2() and
// shmem_exchange().
func (d *Dir) Rename(ctx *vfs.Context, oldName string, newDir vfs.DirInode, newName string, flags uint32) error {
	nd, ok := newDir.(*Dir)
	if !ok || nd.fs != d.fs {
		return unix.EXDEV
	}
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 ||
		flags == unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE {
		return unix.EINVAL
	}
	if len(newName) > nameMax {
		return unix.ENAMETOOLONG
	}
	fs := d.fs
	fs.treeMu.Lock()
	defer fs.treeMu.Unlock()
	if fs.released {
		return unix.ENOENT
	}
	src, ok := d.entries[oldName]
	if !ok {
		return unix.ENOENT
	}
	dst := nd.entries[newName]
	if flags&unix.RENAME_EXCHANGE != 0 {
		if dst == nil {
			return unix.ENOENT
		}
		return d.exchangeLocked(src, nd, dst)
	}
	if dst != nil && flags&unix.RENAME_NOREPLACE != 0 {
		return unix.EEXIST
	}
	if nd.nlink.Load() == 0 {
		return unix.ENOENT
	}
	srcDir, srcIsDir := src.inode.(*Dir)
	if srcIsDir && nd.isBelowLocked(srcDir) {
		return unix.EINVAL
	}
	if dst != nil {
		if dst.inode == src.inode {
			return nil // two links of one file: nothing happens
		}
		if victim, ok := dst.inode.(*Dir); ok {
			if !srcIsDir {
				return unix.EISDIR
			}
			if len(victim.entries) != 0 {
				return unix.ENOTEMPTY
			}
			nd.removeLocked(newName)
			fs.removeDirLocked(nd, victim)
		} else {
			if srcIsDir {
				return unix.ENOTDIR
			}
			nd.removeLocked(newName)
			fs.dropLinkLocked(dst.inode)
		}
	}
	d.removeLocked(oldName)
	nd.addLocked(newName, src.inode)
	if srcIsDir && nd != d {
		d.nlink.Add(-1)
		nd.nlink.Add(1)
		srcDir.parent = nd
	}
	src.inode.base().touchCtime()
	d.touchMCtime()
	if nd != d {
		nd.touchMCtime()
	}
	return nil
}

// isBelowLocked reports whether d is a or lies below a, fs.treeMu held.
func (d *Dir) isBelowLocked(a *Dir) bool {
	for c := d; ; c = c.parent {
		if c == a {
			return true
		}
		if c.parent == c {
			return false
		}
	}
}

// exchangeLocked swaps the entries src of d and dst of nd
// (RENAME_EXCHANGE), fs.treeMu held.
func (d *Dir) exchangeLocked(src *dirent, nd *Dir, dst *dirent) error {
	if src.inode == dst.inode {
		return nil
	}
	sd, srcIsDir := src.inode.(*Dir)
	dd, dstIsDir := dst.inode.(*Dir)
	if srcIsDir && nd.isBelowLocked(sd) || dstIsDir && d.isBelowLocked(dd) {
		return unix.EINVAL
	}
	// The names stay where they are (and keep their places in listings);
	// the objects swap.
	src.inode, dst.inode = dst.inode, src.inode
	if d != nd {
		if srcIsDir {
			sd.parent = nd
		}
		if dstIsDir {
			dd.parent = d
		}
		if srcIsDir != dstIsDir {
			if srcIsDir {
				d.nlink.Add(-1)
				nd.nlink.Add(1)
			} else {
				d.nlink.Add(1)
				nd.nlink.Add(-1)
			}
		}
	}
	src.inode.base().touchCtime()
	dst.inode.base().touchCtime()
	d.touchMCtime()
	if nd != d {
		nd.touchMCtime()
	}
	return nil
}

// Readdir implements vfs.DirInode. Positions: 0 is ".", 1 is "..", and
// an entry's position is its cookie, so a listing resumed at a position
// continues with the entries created before it was left off that it has
// not listed yet, then those created since.
func (d *Dir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	if pos < 0 {
		return unix.EINVAL
	}
	fs := d.fs
	defer d.touchAtime()
	fs.treeMu.Lock()
	defer fs.treeMu.Unlock()
	if pos == 0 {
		if !emit(vfs.Dirent{Name: ".", Ino: d.ino, Type: unix.DT_DIR, Next: 1}) {
			return nil
		}
		pos = 1
	}
	if pos == 1 {
		if !emit(vfs.Dirent{Name: "..", Ino: d.parent.ino, Type: unix.DT_DIR, Next: firstCookie}) {
			return nil
		}
		pos = firstCookie
	}
	i := sort.Search(len(d.order), func(i int) bool { return d.order[i].cookie >= pos })
	for ; i < len(d.order); i++ {
		e := d.order[i]
		if e.removed {
			continue
		}
		b := e.inode.base()
		b.mu.RLock()
		typ := vfs.DTType(b.mode)
		b.mu.RUnlock()
		if !emit(vfs.Dirent{Name: e.name, Ino: b.ino, Type: typ, Next: e.cookie + 1}) {
			return nil
		}
	}
	return nil
}
