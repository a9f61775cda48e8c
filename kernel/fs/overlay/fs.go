package overlay

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// OverlayMagic is overlayfs's f_type. Linux: include/uapi/linux/magic.h,
// OVERLAYFS_SUPER_MAGIC.
const OverlayMagic = 0x794c7630

// anonMinor hands out the minors of the overlay instances' anonymous
// devices (major 0). tmpfs counts its own from 0x41; the overlay counts
// from minorBase, far above, so the two never meet.
var anonMinor atomic.Uint32

const minorBase = 0x8000

// kernelCtx is the context of the overlay's own work on the layers
// (copy-up): full credentials, as Linux's overlayfs acts with the
// mounter's, and no interruption, so a copy-up never stops half-way.
var kernelCtx = &vfs.Context{Creds: &vfs.RootCreds}

// FS is one overlay instance. It implements vfs.FileSystem.
type FS struct {
	lower, upper vfs.FileSystem
	root         *dir
	devMinor     uint32

	// multiMu is held by the operations that lock more than one
	// directory (Rename, Rmdir); see the package doc for the order.
	multiMu sync.Mutex
}

// New returns the overlay of lower (read-only: it is never asked to
// change) and upper (a fresh, empty file system that takes every write).
// The overlay owns both from then on: Release releases them.
func New(lower, upper vfs.FileSystem) (*FS, error) {
	lr, ok := lower.Root().(vfs.DirInode)
	if !ok {
		return nil, unix.ENOTDIR
	}
	ur, ok := upper.Root().(vfs.DirInode)
	if !ok {
		return nil, unix.ENOTDIR
	}
	// The overlay's state of names is private (see the package doc): an
	// upper layer with entries would have names the overlay knows
	// nothing about.
	empty := true
	if err := ur.Readdir(kernelCtx, 0, func(e vfs.Dirent) bool {
		if e.Name != "." && e.Name != ".." {
			empty = false
		}
		return empty
	}); err != nil {
		return nil, err
	}
	if !empty {
		return nil, unix.ENOTEMPTY
	}
	st, err := lr.Stat(kernelCtx, unix.STATX_TYPE|unix.STATX_INO)
	if err != nil {
		return nil, err
	}
	fs := &FS{lower: lower, upper: upper, devMinor: minorBase + anonMinor.Add(1)}
	fs.root = fs.newNode(unix.S_IFDIR, st.Ino, lr, ur, nil, "").dir()
	return fs, nil
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "overlay" }

// Options implements vfs.FileSystem: the image is the lower layer, the
// upper one lives in memory. Host paths are not shown to the container.
func (fs *FS) Options() string { return "lowerdir=/,upperdir=(memory)" }

// Release implements vfs.FileSystem: it releases both layers.
func (fs *FS) Release() {
	fs.upper.Release()
	fs.lower.Release()
}

// Dev returns the device number every overlay inode reports.
func (fs *FS) Dev() uint64 { return unix.Mkdev(0, fs.devMinor) }

// statfs answers statfs(2) for every inode: the upper layer's numbers
// (that is where writes go) under the overlay's magic, as Linux does
// (fs/overlayfs/super.c, ovl_statfs()), with the image's used blocks
// added to the size, so that the used space shows the image and what
// was written, as on a disk-backed overlay, not only the memory layer.
func (fs *FS) statfs(ctx *vfs.Context) (unix.Statfs_t, error) {
	st := unix.Statfs_t{Bsize: 4096, Frsize: 4096, Namelen: 255}
	if s, ok := fs.upper.Root().(vfs.StatfsInode); ok {
		var err error
		if st, err = s.Statfs(ctx); err != nil {
			return unix.Statfs_t{}, err
		}
	}
	if s, ok := fs.lower.Root().(vfs.StatfsInode); ok && st.Bsize > 0 {
		if lower, err := s.Statfs(ctx); err == nil && lower.Bsize > 0 && lower.Blocks >= lower.Bfree {
			used := (lower.Blocks - lower.Bfree) * uint64(lower.Bsize) / uint64(st.Bsize)
			st.Blocks += used
		}
	}
	st.Type = OverlayMagic
	dev := fs.Dev()
	st.Fsid.Val = [2]int32{int32(uint32(dev)), int32(uint32(dev >> 32))}
	return st, nil
}

// What the VFS may ask of each kind.
var (
	_ vfs.FileSystem   = (*FS)(nil)
	_ vfs.DirInode     = (*dir)(nil)
	_ vfs.TmpfileInode = (*dir)(nil)
	_ vfs.SymlinkInode = (*symlink)(nil)
	_ vfs.Inode        = (*node)(nil)
	_ vfs.SetStatInode = (*node)(nil)
	_ vfs.XattrInode   = (*node)(nil)
	_ vfs.StatfsInode  = (*node)(nil)
)
