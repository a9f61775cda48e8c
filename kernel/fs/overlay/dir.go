package overlay

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// mark is a directory's private record of what became of the lower
// layer's entry of a name (see the package doc).
type mark uint8

const (
	// markCopied: the upper entry is the lower entry copied up in place.
	markCopied mark = 1 + iota
	// markWhiteout: the lower entry is hidden (removed, or replaced by
	// an object that is not its copy).
	markWhiteout
)

// dir is a directory. A directory has a lower part if it came from the
// image (merged once it has an upper one too); one made in the overlay
// has none, which is what makes it opaque.
type dir struct {
	node

	// mu guards children, marks and the lower listing, and orders the
	// changes of the upper directory (see the package doc).
	mu sync.Mutex
	// children holds the node of every name looked up or made here,
	// kept for the file system's life. Every name of the upper directory
	// is here, and a child has an upper inode exactly when the upper
	// directory has its name.
	children map[string]*node
	// marks records, per name, the fate of the lower entry: absent
	// means it shows (if the lower layer has one).
	marks map[string]mark
	// lowerList is the lower directory's listing, once listed is set
	// (see lowerListLocked).
	lowerList []vfs.Dirent
	listed    bool
}

// lowerDir returns the lower part, nil if there is none.
func (d *dir) lowerDir() vfs.DirInode {
	l, _ := d.lower.(vfs.DirInode)
	return l
}

// upperDir returns the upper directory, copying d up first if needed.
func (d *dir) upperDir() (vfs.DirInode, error) {
	u, err := d.copyUp(-1)
	if err != nil {
		return nil, err
	}
	ud, ok := u.(vfs.DirInode)
	if !ok {
		return nil, unix.ENOTDIR
	}
	return ud, nil
}

// lookupLocked returns the node of name in the merged view, d.mu held.
func (d *dir) lookupLocked(ctx *vfs.Context, name string) (*node, error) {
	if c := d.children[name]; c != nil {
		return c, nil
	}
	// Every upper name is in children: what remains is the lower layer.
	ld := d.lowerDir()
	if ld == nil || d.marks[name] == markWhiteout {
		return nil, unix.ENOENT
	}
	li, err := ld.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	c, err := d.fs.newLowerNode(ctx, d, name, li)
	if err != nil {
		return nil, err
	}
	d.addLocked(name, c)
	return c, nil
}

// lookup is lookupLocked taking d.mu; a missing name is (nil, nil).
func (d *dir) lookup(ctx *vfs.Context, name string) (*node, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.lookupLocked(ctx, name)
	if err == unix.ENOENT {
		return nil, nil
	}
	return c, err
}

func (d *dir) addLocked(name string, c *node) {
	if d.children == nil {
		d.children = map[string]*node{}
	}
	d.children[name] = c
}

func (d *dir) setMarkLocked(name string, m mark) {
	if d.marks == nil {
		d.marks = map[string]mark{}
	}
	d.marks[name] = m
}

// copiedLocked records that c, a lower entry of d, now has its upper
// copy up in place, d.mu held.
func (d *dir) copiedLocked(c *node, up vfs.Inode) {
	d.setMarkLocked(c.name, markCopied)
	c.upper.Store(&upperRef{up})
}

// leftLocked records that c, the object of name, left the name (removed,
// replaced, moved away), d.mu held: if it was the lower entry, the lower
// entry is now hidden.
func (d *dir) leftLocked(name string, c *node) {
	if d.marks[name] == markCopied || c.upperInode() == nil {
		d.setMarkLocked(name, markWhiteout)
	}
}

// touch marks a change of the directory the upper layer did not see (a
// whiteout): its modification time is now. Best effort: a directory
// whose times cannot be set keeps the old ones.
func touch(ctx *vfs.Context, in vfs.Inode) {
	ss, ok := in.(vfs.SetStatInode)
	if !ok {
		return
	}
	t := time.Now()
	ts := unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
	ss.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_MTIME, Mtime: ts})
}

// Lookup implements vfs.DirInode.
func (d *dir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.lookupLocked(ctx, name)
	if err != nil {
		return nil, err
	}
	return c.self, nil
}

// Create implements vfs.DirInode.
func (d *dir) Create(ctx *vfs.Context, name string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	return d.create(ctx, name, func(u vfs.DirInode) (vfs.Inode, error) { return u.Create(ctx, name, attrs) })
}

// Mkdir implements vfs.DirInode. The new directory has no lower part:
// made where a lower one was removed, it is opaque.
func (d *dir) Mkdir(ctx *vfs.Context, name string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	return d.create(ctx, name, func(u vfs.DirInode) (vfs.Inode, error) { return u.Mkdir(ctx, name, attrs) })
}

// Symlink implements vfs.DirInode.
func (d *dir) Symlink(ctx *vfs.Context, name, target string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	return d.create(ctx, name, func(u vfs.DirInode) (vfs.Inode, error) { return u.Symlink(ctx, name, target, attrs) })
}

// create makes a new object called name with mk, in the upper directory.
// A whiteout of the name stays: the lower entry remains hidden.
func (d *dir) create(ctx *vfs.Context, name string, mk func(vfs.DirInode) (vfs.Inode, error)) (vfs.Inode, error) {
	u, err := d.upperDir()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.lookupLocked(ctx, name); err != unix.ENOENT {
		if err == nil {
			err = unix.EEXIST
		}
		return nil, err
	}
	in, err := mk(u)
	if err != nil {
		return nil, err
	}
	c, err := d.fs.newUpperNode(ctx, d, name, in)
	if err != nil {
		// Keep every upper name known: take the object out again.
		if _, isDir := in.(vfs.DirInode); isDir {
			u.Rmdir(ctx, name)
		} else {
			u.Unlink(ctx, name)
		}
		return nil, err
	}
	d.addLocked(name, c)
	return c.self, nil
}

// Link implements vfs.DirInode: target is copied up first, and the new
// name links its upper copy.
func (d *dir) Link(ctx *vfs.Context, name string, target vfs.Inode) error {
	t := d.fs.nodeOf(target)
	if t == nil {
		return unix.EXDEV
	}
	if t.typ == unix.S_IFDIR {
		return unix.EPERM
	}
	tu, err := t.copyUp(-1)
	if err != nil {
		return err
	}
	u, err := d.upperDir()
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.lookupLocked(ctx, name); err != unix.ENOENT {
		if err == nil {
			err = unix.EEXIST
		}
		return err
	}
	if err := u.Link(ctx, name, tu); err != nil {
		return err
	}
	d.addLocked(name, t)
	return nil
}

// Unlink implements vfs.DirInode. A name with a lower entry is whited
// out.
func (d *dir) Unlink(ctx *vfs.Context, name string) error {
	u, err := d.upperDir()
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.lookupLocked(ctx, name)
	if err != nil {
		return err
	}
	if c.typ == unix.S_IFDIR {
		return unix.EISDIR
	}
	if c.upperInode() != nil {
		if err := u.Unlink(ctx, name); err != nil {
			return err
		}
	} else {
		touch(ctx, u)
	}
	d.leftLocked(name, c)
	delete(d.children, name)
	return nil
}

// Rmdir implements vfs.DirInode: the directory must be empty in the
// merged view.
func (d *dir) Rmdir(ctx *vfs.Context, name string) error {
	u, err := d.upperDir()
	if err != nil {
		return err
	}
	d.fs.multiMu.Lock()
	defer d.fs.multiMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.lookupLocked(ctx, name)
	if err != nil {
		return err
	}
	cd := c.dir()
	if cd == nil {
		return unix.ENOTDIR
	}
	cd.mu.Lock()
	defer cd.mu.Unlock()
	if err := cd.checkEmptyLocked(ctx); err != nil {
		return err
	}
	// The upper directory is empty too: whiteouts are not in it.
	if c.upperInode() != nil {
		if err := u.Rmdir(ctx, name); err != nil {
			return err
		}
	} else {
		touch(ctx, u)
	}
	d.leftLocked(name, c)
	delete(d.children, name)
	return nil
}

// Rename implements vfs.DirInode. The object moved (and, for
// RENAME_EXCHANGE, the other one) is copied up first; a directory with a
// lower part cannot move (EXDEV, Linux's default without redirect_dir).
// Linux: fs/overlayfs/dir.c, ovl_rename().
func (d *dir) Rename(ctx *vfs.Context, oldName string, newDir vfs.DirInode, newName string, flags uint32) error {
	nd := d.fs.nodeOf(newDir)
	if nd == nil || nd.dir() == nil {
		return unix.EXDEV
	}
	to := nd.dir()
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 ||
		flags == unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE {
		return unix.EINVAL
	}
	for {
		done, err := d.tryRename(ctx, oldName, to, newName, flags)
		if done {
			return err
		}
		// The names changed between the look and the locks: look again.
	}
}

// tryRename does one attempt of Rename; done is false when the names it
// looked at changed before it could lock them.
func (d *dir) tryRename(ctx *vfs.Context, oldName string, to *dir, newName string, flags uint32) (done bool, err error) {
	exchange := flags&unix.RENAME_EXCHANGE != 0
	src, err := d.lookup(ctx, oldName)
	if err != nil {
		return true, err
	}
	if src == nil {
		return true, unix.ENOENT
	}
	dst, err := to.lookup(ctx, newName)
	if err != nil {
		return true, err
	}
	switch {
	case dst == src:
		return true, nil // two names of one object: nothing happens
	case dst == nil && exchange:
		return true, unix.ENOENT
	case dst != nil && flags&unix.RENAME_NOREPLACE != 0:
		return true, unix.EEXIST
	case src.typ == unix.S_IFDIR && src.lower != nil,
		exchange && dst.typ == unix.S_IFDIR && dst.lower != nil:
		return true, unix.EXDEV
	case dst != nil && !exchange && src.typ == unix.S_IFDIR && dst.typ != unix.S_IFDIR:
		return true, unix.ENOTDIR
	case dst != nil && !exchange && src.typ != unix.S_IFDIR && dst.typ == unix.S_IFDIR:
		return true, unix.EISDIR
	}

	// Copy up before locking (see the package doc).
	if _, err := src.copyUp(-1); err != nil {
		return true, err
	}
	if exchange {
		if _, err := dst.copyUp(-1); err != nil {
			return true, err
		}
	}
	fromUpper, err := d.upperDir()
	if err != nil {
		return true, err
	}
	toUpper, err := to.upperDir()
	if err != nil {
		return true, err
	}

	d.fs.multiMu.Lock()
	defer d.fs.multiMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if to != d {
		to.mu.Lock()
		defer to.mu.Unlock()
	}
	if s, _ := d.lookupLocked(ctx, oldName); s != src {
		return false, nil
	}
	if t, _ := to.lookupLocked(ctx, newName); t != dst {
		return false, nil
	}
	if dst != nil && !exchange && dst.typ == unix.S_IFDIR {
		dd := dst.dir()
		dd.mu.Lock()
		defer dd.mu.Unlock()
		if err := dd.checkEmptyLocked(ctx); err != nil {
			return true, err
		}
	}
	// A victim that is only in the lower layer has no upper name to
	// replace: the upper rename just moves, and the mark hides it.
	if err := fromUpper.Rename(ctx, oldName, toUpper, newName, flags); err != nil {
		return true, err
	}
	if exchange {
		d.leftLocked(oldName, src)
		to.leftLocked(newName, dst)
		d.children[oldName], to.children[newName] = dst, src
		src.parent.Store(to)
		dst.parent.Store(d)
		return true, nil
	}
	d.leftLocked(oldName, src)
	delete(d.children, oldName)
	if dst != nil {
		to.leftLocked(newName, dst)
	}
	to.addLocked(newName, src)
	src.parent.Store(to)
	return true, nil
}

// Tmpfile implements vfs.TmpfileInode, in the upper directory.
func (d *dir) Tmpfile(ctx *vfs.Context, attrs vfs.NewAttrs) (vfs.Inode, error) {
	u, err := d.upperDir()
	if err != nil {
		return nil, err
	}
	tf, ok := u.(vfs.TmpfileInode)
	if !ok {
		return nil, unix.EOPNOTSUPP
	}
	in, err := tf.Tmpfile(ctx, attrs)
	if err != nil {
		return nil, err
	}
	n, err := d.fs.newUpperNode(ctx, nil, "", in)
	if err != nil {
		return nil, err
	}
	return n.self, nil
}
