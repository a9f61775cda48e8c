package tmpfs

import (
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// pageSize is the unit tmpfs allocates file data in.
const pageSize = memfile.PageSize

// TmpfsMagic is tmpfs's f_type. Linux: include/uapi/linux/magic.h.
const TmpfsMagic = 0x01021994

// nameMax is the longest name a directory takes.
const nameMax = 255

// FS is one tmpfs instance (a superblock).
type FS struct {
	mf   *memfile.File
	opts Options
	// dev is the instance's device number: major 0, an anonymous minor.
	devMinor uint32
	root     *Dir

	nextIno atomic.Uint64
	// usedPages counts the data pages of all files; inodes the live
	// inodes. Both are reserved before use, against the limits.
	usedPages atomic.Uint64
	inodes    atomic.Uint64

	// treeMu guards the tree: the entries of every directory, every
	// directory's parent, and changes of link counts.
	treeMu   sync.Mutex
	released bool
}

// anonMinor hands out the minors of anonymous devices (major 0), one per
// instance. Linux starts them at 1 (fs/super.c, get_anon_bdev()); this
// package starts higher so that its numbers do not look like the host's
// first few.
var anonMinor atomic.Uint32

func init() { anonMinor.Store(0x40) }

// New returns an empty tmpfs whose file data lives in mf.
func New(mf *memfile.File, opts Options) *FS {
	fs := &FS{mf: mf, opts: opts, devMinor: anonMinor.Add(1)}
	fs.inodes.Store(1)
	fs.root = fs.newDir(vfs.NewAttrs{Mode: unix.S_IFDIR | opts.Mode&0o7777, UID: opts.UID, GID: opts.GID}, nil)
	return fs
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "tmpfs" }

// Options implements vfs.FileSystem.
func (fs *FS) Options() string { return fs.opts.String() }

// Release implements vfs.FileSystem: the tree goes, and with it the data
// of every file nobody has open. Files still open keep theirs until
// their last Release; nothing new can be created.
func (fs *FS) Release() {
	fs.treeMu.Lock()
	defer fs.treeMu.Unlock()
	if fs.released {
		return
	}
	fs.released = true
	var drop func(d *Dir)
	drop = func(d *Dir) {
		for _, e := range d.order {
			if e.removed {
				continue
			}
			switch c := e.inode.(type) {
			case *Dir:
				drop(c)
			case *File:
				c.nlink.Store(0)
				c.maybeFree()
			}
		}
	}
	drop(fs.root)
}

// Dev returns the device number every inode reports.
func (fs *FS) Dev() uint64 { return unix.Mkdev(0, fs.devMinor) }

// UsedBytes returns the bytes of file data allocated.
func (fs *FS) UsedBytes() uint64 { return fs.usedPages.Load() * pageSize }

// reservePages counts n more data pages against the size limit.
func (fs *FS) reservePages(n uint64) error {
	if fs.opts.Size == 0 {
		fs.usedPages.Add(n)
		return nil
	}
	limit := fs.opts.Size / pageSize
	for {
		cur := fs.usedPages.Load()
		if cur+n > limit || cur+n < cur {
			return unix.ENOSPC
		}
		if fs.usedPages.CompareAndSwap(cur, cur+n) {
			return nil
		}
	}
}

func (fs *FS) unreservePages(n uint64) { fs.usedPages.Add(-n) }

// reserveInode counts one more inode against nr_inodes.
func (fs *FS) reserveInode() error {
	for {
		cur := fs.inodes.Load()
		if fs.opts.NrInodes != 0 && cur >= fs.opts.NrInodes {
			return unix.ENOSPC
		}
		if fs.inodes.CompareAndSwap(cur, cur+1) {
			return nil
		}
	}
}

func (fs *FS) unreserveInode() { fs.inodes.Add(^uint64(0)) }

// allocate returns n zeroed pages of the memory file, counted against the
// size limit, as one or more ranges: a large run that the memory file
// cannot give in one piece comes in smaller ones.
func (fs *FS) allocate(n uint64) ([]memfile.Range, error) {
	if err := fs.reservePages(n); err != nil {
		return nil, err
	}
	var out []memfile.Range
	for left, chunk := n, n; left > 0; {
		chunk = min(chunk, left)
		off, err := fs.mf.Allocate(chunk * pageSize)
		if err != nil {
			if errors.Is(err, memfile.ErrNoSpace) && chunk > 1 {
				chunk /= 2
				continue
			}
			fs.mf.DecRefRanges(out)
			fs.unreservePages(n)
			return nil, unix.ENOSPC
		}
		out = append(out, memfile.Range{Off: off, Len: chunk * pageSize})
		left -= chunk
	}
	return out, nil
}

// free drops a file's references to rs and uncounts their pages.
func (fs *FS) free(rs []memfile.Range) {
	var n uint64
	for _, r := range rs {
		n += r.Len / pageSize
	}
	if n == 0 {
		return
	}
	fs.mf.DecRefRanges(rs)
	fs.unreservePages(n)
}

// Statfs answers statfs(2) for every inode of the instance. Unlimited
// sizes report zero blocks or files, as Linux does.
// Linux: mm/shmem.c, shmem_statfs().
func (fs *FS) Statfs() unix.Statfs_t {
	st := unix.Statfs_t{
		Type:    TmpfsMagic,
		Bsize:   pageSize,
		Frsize:  pageSize,
		Namelen: nameMax,
	}
	if fs.opts.Size != 0 {
		st.Blocks = fs.opts.Size / pageSize
		used := min(fs.usedPages.Load(), st.Blocks)
		st.Bfree = st.Blocks - used
		st.Bavail = st.Bfree
	}
	if fs.opts.NrInodes != 0 {
		st.Files = fs.opts.NrInodes
		st.Ffree = fs.opts.NrInodes - min(fs.inodes.Load(), fs.opts.NrInodes)
	}
	dev := fs.Dev()
	st.Fsid.Val = [2]int32{int32(uint32(dev)), int32(uint32(dev >> 32))}
	return st
}

// What the VFS may ask of each kind.
var (
	_ vfs.FileSystem   = (*FS)(nil)
	_ vfs.DirInode     = (*Dir)(nil)
	_ vfs.TmpfileInode = (*Dir)(nil)
	_ vfs.SymlinkInode = (*Symlink)(nil)
	_ vfs.Inode        = (*File)(nil)
	_ vfs.Inode        = (*Node)(nil)
	_ vfs.SetStatInode = (*File)(nil)
	_ vfs.SetStatInode = (*Dir)(nil)
	_ vfs.XattrInode   = (*File)(nil)
	_ vfs.StatfsInode  = (*Dir)(nil)
	_ vfs.FileImpl     = (*openFile)(nil)
)
