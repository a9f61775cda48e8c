package vfs

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Dentry is a name in a file system's tree: the VFS's cache of what a
// directory holds. A Dentry with a nil inode is a negative entry, a name
// known not to exist, so a missing file is looked up once.
//
// The children map and the directory's operations are guarded by mu;
// name and parent change only under the VFS's tree lock (rename), so a
// reader holding treeMu sees a consistent chain up to the root.
type Dentry struct {
	inode Inode
	// typ is the inode's S_IFMT, fixed at lookup: the walk decides
	// "directory or link" without asking the file system.
	typ uint32

	name   string
	parent *Dentry // nil for a file system's root

	// mounts counts the mounts on this dentry.
	mounts atomic.Int32
	// dead is set when the name was removed (unlink, rmdir, rename over
	// it): open files keep the dentry, path names show " (deleted)".
	dead atomic.Bool
	// linkable marks an O_TMPFILE file that linkat may still name.
	linkable bool

	mu       sync.Mutex
	children map[string]*Dentry
	// negatives remembers the names of negative children in the order
	// they were cached, so the oldest go first beyond maxNegatives.
	negatives []string
}

// maxNegatives bounds the negative entries cached per directory: enough
// for a language runtime probing its search path, not unbounded for a
// program that stats random names.
const maxNegatives = 256

// NewRootDentry returns the root dentry of a file system whose root
// directory is inode.
func NewRootDentry(inode Inode) *Dentry {
	return &Dentry{inode: inode, typ: unix.S_IFDIR}
}

// Inode returns the dentry's inode (nil for a negative entry).
func (d *Dentry) Inode() Inode { return d.inode }

// Type returns the file's S_IFMT bits.
func (d *Dentry) Type() uint32 { return d.typ }

// IsDir reports whether the dentry is a directory.
func (d *Dentry) IsDir() bool { return d.inode != nil && d.typ == unix.S_IFDIR }

// Dead reports whether the dentry's name was removed.
func (d *Dentry) Dead() bool { return d.dead.Load() }

func (d *Dentry) isMountpoint() bool { return d.mounts.Load() > 0 }

// childLocked returns the cached child name, d.mu held.
func (d *Dentry) childLocked(name string) *Dentry {
	return d.children[name]
}

// setChildLocked caches child under name, d.mu held.
func (d *Dentry) setChildLocked(name string, child *Dentry) {
	if d.children == nil {
		d.children = map[string]*Dentry{}
	}
	d.children[name] = child
}

// addNegativeLocked caches a negative child, forgetting the oldest
// negative entries beyond maxNegatives. d.mu held.
func (d *Dentry) addNegativeLocked(name string, neg *Dentry) {
	for len(d.negatives) >= maxNegatives {
		old := d.negatives[0]
		d.negatives = d.negatives[1:]
		if c := d.children[old]; c != nil && c.inode == nil {
			delete(d.children, old)
		}
	}
	d.setChildLocked(name, neg)
	d.negatives = append(d.negatives, name)
}

// newChild makes a positive dentry for inode under d.
func newChild(ctx *Context, d *Dentry, name string, inode Inode) (*Dentry, error) {
	st, err := inode.Stat(ctx, unix.STATX_TYPE)
	if err != nil {
		return nil, err
	}
	return &Dentry{inode: inode, typ: uint32(st.Mode) & unix.S_IFMT, name: name, parent: d}, nil
}

// lookupChild returns the child called name of directory d, from the
// cache or the file system; a negative dentry when it does not exist.
func (v *VFS) lookupChild(ctx *Context, d *Dentry, name string) (*Dentry, error) {
	dir, ok := d.inode.(DirInode)
	if !ok {
		return nil, unix.ENOTDIR
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return v.lookupChildLocked(ctx, d, dir, name)
}

func (v *VFS) lookupChildLocked(ctx *Context, d *Dentry, dir DirInode, name string) (*Dentry, error) {
	if c := d.childLocked(name); c != nil {
		if c.inode == nil || c.isMountpoint() {
			return c, nil
		}
		r, ok := d.inode.(Revalidator)
		if !ok || r.Revalidate(ctx, name, c.inode) {
			return c, nil
		}
		// Gone or replaced behind the VFS's back.
		c.dead.Store(true)
		delete(d.children, name)
	}
	inode, err := dir.Lookup(ctx, name)
	if err == unix.ENOENT {
		neg := &Dentry{name: name, parent: d}
		if _, dynamic := d.inode.(Revalidator); !dynamic {
			d.addNegativeLocked(name, neg)
		}
		return neg, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := newChild(ctx, d, name, inode)
	if err != nil {
		return nil, err
	}
	d.setChildLocked(name, c)
	return c, nil
}

// Path is a place in the mount tree: a dentry seen through a mount.
type Path struct {
	Mount  *Mount
	Dentry *Dentry
}

// IsZero reports whether p names nothing.
func (p Path) IsZero() bool { return p.Dentry == nil }

// Stat returns the attributes of the file at p.
func (p Path) Stat(ctx *Context, mask uint32) (unix.Statx_t, error) {
	if p.Dentry == nil || p.Dentry.inode == nil {
		return unix.Statx_t{}, unix.ENOENT
	}
	st, err := p.Dentry.inode.Stat(ctx, mask)
	if err == nil && p.Mount != nil {
		st.Mnt_id = uint64(p.Mount.ID)
		st.Mask |= unix.STATX_MNT_ID
		if p.Dentry == p.Mount.root {
			st.Attributes |= unix.STATX_ATTR_MOUNT_ROOT
		}
		st.Attributes_mask |= unix.STATX_ATTR_MOUNT_ROOT
	}
	return st, err
}
