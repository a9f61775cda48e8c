package overlay

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// upperInoBit marks the inode numbers of objects made in the overlay,
// which have no lower number to keep: their upper number with this bit
// set, so they never meet a lower one (Linux's xino does the same with
// the high bits).
const upperInoBit = 1 << 63

// node is one object seen through the overlay. Directories are *dir and
// symbolic links *symlink, so that the VFS's type assertions tell the
// truth; every other kind is a bare *node.
type node struct {
	fs   *FS
	self vfs.Inode // the *dir, *symlink or *node the VFS holds
	typ  uint32    // S_IFMT
	ino  uint64    // st_ino, fixed for the node's life
	// lower is the image's object (nil for one made in the overlay). The
	// lower layer never changes, so neither does this.
	lower vfs.Inode

	// parent is the directory the node was found or made in, kept up to
	// date across renames (it answers ".."); nil for the root and for
	// O_TMPFILE files. name is the node's name there when it was found;
	// copy-up uses both, and a node without an upper inode never moves.
	parent atomic.Pointer[dir]
	name   string

	// copyMu serializes copy-up; upper is set once, under the parent's
	// dir.mu, and read without locks.
	copyMu sync.Mutex
	upper  atomic.Pointer[upperRef]
}

type upperRef struct{ inode vfs.Inode }

// symlink is a symbolic link.
type symlink struct{ node }

// newNode makes the node of the right kind.
func (fs *FS) newNode(typ uint32, ino uint64, lower, upper vfs.Inode, parent *dir, name string) *node {
	var n *node
	switch typ {
	case unix.S_IFDIR:
		d := &dir{}
		n = &d.node
		n.self = d
	case unix.S_IFLNK:
		s := &symlink{}
		n = &s.node
		n.self = s
	default:
		n = &node{}
		n.self = n
	}
	n.fs, n.typ, n.ino, n.lower, n.name = fs, typ, ino, lower, name
	n.parent.Store(parent)
	if upper != nil {
		n.upper.Store(&upperRef{upper})
	}
	return n
}

// newLowerNode makes the node of lower's object found as name in parent.
func (fs *FS) newLowerNode(ctx *vfs.Context, parent *dir, name string, lower vfs.Inode) (*node, error) {
	st, err := lower.Stat(ctx, unix.STATX_TYPE|unix.STATX_INO)
	if err != nil {
		return nil, err
	}
	return fs.newNode(uint32(st.Mode)&unix.S_IFMT, st.Ino, lower, nil, parent, name), nil
}

// newUpperNode makes the node of an object just made in the upper layer.
func (fs *FS) newUpperNode(ctx *vfs.Context, parent *dir, name string, upper vfs.Inode) (*node, error) {
	st, err := upper.Stat(ctx, unix.STATX_TYPE|unix.STATX_INO)
	if err != nil {
		return nil, err
	}
	return fs.newNode(uint32(st.Mode)&unix.S_IFMT, st.Ino|upperInoBit, nil, upper, parent, name), nil
}

// nodeOf returns the node of an inode of this overlay, or nil.
func (fs *FS) nodeOf(i vfs.Inode) *node {
	var n *node
	switch v := i.(type) {
	case *node:
		n = v
	case *dir:
		n = &v.node
	case *symlink:
		n = &v.node
	}
	if n == nil || n.fs != fs {
		return nil
	}
	return n
}

// dir returns the node as a directory (nil if it is not one).
func (n *node) dir() *dir {
	d, _ := n.self.(*dir)
	return d
}

// upperInode returns the upper inode, nil before copy-up.
func (n *node) upperInode() vfs.Inode {
	if r := n.upper.Load(); r != nil {
		return r.inode
	}
	return nil
}

// layer returns the inode that answers for the node now: the upper one
// if there is one.
func (n *node) layer() vfs.Inode {
	if u := n.upperInode(); u != nil {
		return u
	}
	return n.lower
}

// Stat implements vfs.Inode: the layer's attributes with the overlay's
// device and the node's own inode number.
func (n *node) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	u := n.upperInode()
	in := n.lower
	if u != nil {
		in = u
	}
	st, err := in.Stat(ctx, mask)
	if err != nil {
		return st, err
	}
	st.Dev_major, st.Dev_minor = 0, n.fs.devMinor
	st.Ino = n.ino
	if n.typ == unix.S_IFDIR && u != nil && n.lower != nil {
		// A merged directory's subdirectories are counted by neither
		// layer alone. Linux: fs/overlayfs/inode.c, ovl_getattr().
		st.Nlink = 1
	}
	return st, nil
}

// Open implements vfs.Inode. Opening for writing copies the file up
// first; a read-only open reads whichever layer has the file now.
func (n *node) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	if n.typ == unix.S_IFDIR {
		return nil, unix.EISDIR
	}
	if flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_TRUNC != 0 {
		u, err := n.copyUp(-1)
		if err != nil {
			return nil, err
		}
		return u.Open(ctx, flags)
	}
	return n.layer().Open(ctx, flags)
}

// SetStat implements vfs.SetStatInode, on the upper copy. A truncation
// copies up only the data that survives it.
func (n *node) SetStat(ctx *vfs.Context, attr *vfs.SetAttr) error {
	limit := int64(-1)
	if attr.Mask&unix.STATX_SIZE != 0 && attr.Size >= 0 {
		limit = attr.Size
	}
	u, err := n.copyUp(limit)
	if err != nil {
		return err
	}
	ss, ok := u.(vfs.SetStatInode)
	if !ok {
		return unix.EPERM
	}
	return ss.SetStat(ctx, attr)
}

// GetXattr implements vfs.XattrInode.
func (n *node) GetXattr(ctx *vfs.Context, name string) ([]byte, error) {
	x, ok := n.layer().(vfs.XattrInode)
	if !ok {
		return nil, unix.EOPNOTSUPP
	}
	return x.GetXattr(ctx, name)
}

// ListXattr implements vfs.XattrInode.
func (n *node) ListXattr(ctx *vfs.Context) ([]string, error) {
	x, ok := n.layer().(vfs.XattrInode)
	if !ok {
		return nil, nil
	}
	return x.ListXattr(ctx)
}

// SetXattr implements vfs.XattrInode, on the upper copy.
func (n *node) SetXattr(ctx *vfs.Context, name string, value []byte, flags int) error {
	u, err := n.copyUp(-1)
	if err != nil {
		return err
	}
	x, ok := u.(vfs.XattrInode)
	if !ok {
		return unix.EOPNOTSUPP
	}
	return x.SetXattr(ctx, name, value, flags)
}

// RemoveXattr implements vfs.XattrInode, on the upper copy. Removing an
// attribute the lower object lacks fails without copying it up.
// Linux: fs/overlayfs/xattrs.c, ovl_xattr_set().
func (n *node) RemoveXattr(ctx *vfs.Context, name string) error {
	if n.upperInode() == nil {
		if _, err := n.GetXattr(ctx, name); err != nil {
			return err
		}
	}
	u, err := n.copyUp(-1)
	if err != nil {
		return err
	}
	x, ok := u.(vfs.XattrInode)
	if !ok {
		return unix.EOPNOTSUPP
	}
	return x.RemoveXattr(ctx, name)
}

// Statfs implements vfs.StatfsInode.
func (n *node) Statfs(ctx *vfs.Context) (unix.Statfs_t, error) { return n.fs.statfs(ctx) }

// Readlink implements vfs.SymlinkInode.
func (s *symlink) Readlink(ctx *vfs.Context) (string, error) {
	l, ok := s.layer().(vfs.SymlinkInode)
	if !ok {
		return "", unix.EINVAL
	}
	return l.Readlink(ctx)
}
