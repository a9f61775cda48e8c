package tmpfs

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// inode is what every tmpfs object has. The kinds (Dir, File, Symlink,
// Node) embed it and add their own.
type inode struct {
	fs  *FS
	ino uint64
	// nlink changes under fs.treeMu; Stat reads it without.
	nlink atomic.Int32

	// mu guards the attributes below and the kind's own state where the
	// kind says so.
	mu                         sync.RWMutex
	mode                       uint32 // S_IFMT | permission bits
	uid, gid                   uint32
	rdev                       uint64
	atime, mtime, ctime, btime unix.Timespec
	xattrs                     map[string][]byte
}

// node is implemented by every tmpfs inode, to reach the common part.
type node interface {
	vfs.Inode
	base() *inode
}

func (i *inode) base() *inode { return i }

func now() unix.Timespec {
	t := time.Now()
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

func (fs *FS) initInode(i *inode, attrs vfs.NewAttrs) {
	t := now()
	*i = inode{
		fs: fs, ino: fs.nextIno.Add(1), mode: attrs.Mode, uid: attrs.UID, gid: attrs.GID, rdev: attrs.Rdev,
		atime: t, mtime: t, ctime: t, btime: t,
	}
}

func statxTime(ts unix.Timespec) unix.StatxTimestamp {
	return unix.StatxTimestamp{Sec: ts.Sec, Nsec: uint32(ts.Nsec)}
}

// statLocked fills the attributes common to every kind, i.mu held.
func (i *inode) statLocked() unix.Statx_t {
	return unix.Statx_t{
		Mask: unix.STATX_BASIC_STATS | unix.STATX_BTIME,
		// Blksize is the page: the unit in which tmpfs allocates.
		Blksize:    pageSize,
		Nlink:      uint32(max(i.nlink.Load(), 0)),
		Uid:        i.uid,
		Gid:        i.gid,
		Mode:       uint16(i.mode),
		Ino:        i.ino,
		Atime:      statxTime(i.atime),
		Btime:      statxTime(i.btime),
		Ctime:      statxTime(i.ctime),
		Mtime:      statxTime(i.mtime),
		Rdev_major: unix.Major(i.rdev),
		Rdev_minor: unix.Minor(i.rdev),
		Dev_major:  0,
		Dev_minor:  i.fs.devMinor,
	}
}

// stat is Stat for kinds with nothing of their own to add.
func (i *inode) stat() unix.Statx_t {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.statLocked()
}

// touchCtime marks a change of the inode's metadata (a link, a rename).
func (i *inode) touchCtime() {
	i.mu.Lock()
	i.ctime = now()
	i.mu.Unlock()
}

// touchMCtime marks a change of the inode's contents.
func (i *inode) touchMCtime() {
	i.mu.Lock()
	t := now()
	i.mtime, i.ctime = t, t
	i.mu.Unlock()
}

// setStatLocked applies the attribute changes of attr other than the
// size, i.mu held. A change also sets ctime (utimensat included, as
// Linux's notify_change does).
func (i *inode) setStatLocked(attr *vfs.SetAttr) {
	t := now()
	if attr.Mask&unix.STATX_MODE != 0 {
		i.mode = i.mode&unix.S_IFMT | attr.Mode&0o7777
	}
	if attr.Mask&unix.STATX_UID != 0 {
		i.uid = attr.UID
	}
	if attr.Mask&unix.STATX_GID != 0 {
		i.gid = attr.GID
	}
	if attr.Mask&unix.STATX_ATIME != 0 {
		i.atime = attr.Atime
	}
	if attr.Mask&unix.STATX_MTIME != 0 {
		i.mtime = attr.Mtime
	}
	if attr.Mask&(unix.STATX_MODE|unix.STATX_UID|unix.STATX_GID|unix.STATX_ATIME|unix.STATX_MTIME|unix.STATX_SIZE) != 0 {
		i.ctime = t
	}
}

// SetStat implements vfs.SetStatInode for kinds without a size (files
// override it). Changing a directory's or link's size is EISDIR or
// EINVAL, as truncate(2) has it.
func (i *inode) SetStat(ctx *vfs.Context, attr *vfs.SetAttr) error {
	if attr.Mask&unix.STATX_SIZE != 0 {
		if i.mode&unix.S_IFMT == unix.S_IFDIR {
			return unix.EISDIR
		}
		return unix.EINVAL
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.setStatLocked(attr)
	return nil
}

// Statfs implements vfs.StatfsInode.
func (i *inode) Statfs(ctx *vfs.Context) (unix.Statfs_t, error) { return i.fs.Statfs(), nil }

// Extended attribute limits. Linux: include/uapi/linux/limits.h,
// XATTR_NAME_MAX and XATTR_SIZE_MAX.
const (
	xattrNameMax = 255
	xattrSizeMax = 64 << 10
)

// GetXattr implements vfs.XattrInode.
func (i *inode) GetXattr(ctx *vfs.Context, name string) ([]byte, error) {
	if err := checkXattrName(name); err != nil {
		return nil, err
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	v, ok := i.xattrs[name]
	if !ok {
		return nil, unix.ENODATA
	}
	return append([]byte{}, v...), nil
}

// SetXattr implements vfs.XattrInode. Linux: fs/xattr.c, setxattr();
// mm/shmem.c, shmem_xattr_handler_set().
func (i *inode) SetXattr(ctx *vfs.Context, name string, value []byte, flags int) error {
	if flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return unix.EINVAL
	}
	if err := checkXattrName(name); err != nil {
		return err
	}
	if len(value) > xattrSizeMax {
		return unix.E2BIG
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	_, exists := i.xattrs[name]
	switch {
	case exists && flags&unix.XATTR_CREATE != 0:
		return unix.EEXIST
	case !exists && flags&unix.XATTR_REPLACE != 0:
		return unix.ENODATA
	}
	if i.xattrs == nil {
		i.xattrs = map[string][]byte{}
	}
	i.xattrs[name] = append([]byte{}, value...)
	i.ctime = now()
	return nil
}

// ListXattr implements vfs.XattrInode.
func (i *inode) ListXattr(ctx *vfs.Context) ([]string, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	names := make([]string, 0, len(i.xattrs))
	for n := range i.xattrs {
		names = append(names, n)
	}
	return names, nil
}

// RemoveXattr implements vfs.XattrInode.
func (i *inode) RemoveXattr(ctx *vfs.Context, name string) error {
	if err := checkXattrName(name); err != nil {
		return err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if _, ok := i.xattrs[name]; !ok {
		return unix.ENODATA
	}
	delete(i.xattrs, name)
	i.ctime = now()
	return nil
}

// checkXattrName refuses empty names and names longer than
// XATTR_NAME_MAX, as Linux's copy of the name from the user does.
func checkXattrName(name string) error {
	if name == "" || len(name) > xattrNameMax {
		return unix.ERANGE
	}
	return nil
}

// Symlink is a symbolic link.
type Symlink struct {
	inode
	target string // immutable
}

// Stat implements vfs.Inode. A link's size is its target's length; its
// target is kept inline, so it has no blocks.
func (s *Symlink) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	st := s.stat()
	st.Size = uint64(len(s.target))
	return st, nil
}

// Open implements vfs.Inode (never called for links).
func (s *Symlink) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) { return nil, unix.ELOOP }

// Readlink implements vfs.SymlinkInode.
func (s *Symlink) Readlink(ctx *vfs.Context) (string, error) {
	s.mu.Lock()
	s.atime = now()
	s.mu.Unlock()
	return s.target, nil
}

// Node is a FIFO, socket or device node: attributes only, since the VFS
// serves its I/O.
type Node struct {
	inode
}

// Stat implements vfs.Inode.
func (n *Node) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) { return n.stat(), nil }

// Open implements vfs.Inode (the VFS opens nodes itself).
func (n *Node) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) { return nil, unix.ENXIO }
