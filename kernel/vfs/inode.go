package vfs

import (
	"golang.org/x/sys/unix"
)

// This file is the contract between the VFS and the file systems below
// it (kernel/fs/...). A file system serves Inodes; the VFS owns names
// (Dentry), the mount tree, path walks, permission checks, open file
// descriptions and the special files (devices, FIFOs, sockets). A file
// system implements Inode and, for the kinds of objects it has, the
// optional interfaces: DirInode for directories, SymlinkInode for
// symbolic links, and so on. An operation a file system does not
// implement fails with the error the VFS picks (EPERM, EROFS, ENOTSUP...).
//
// Inode methods are called without VFS locks held, except DirInode's,
// which run under the directory's Dentry lock (so a directory sees one
// change at a time) and may block (the gofer waits on its server). They
// must not call back into the VFS.

// Inode is one file system object.
type Inode interface {
	// Stat returns the inode's attributes. mask (STATX_* bits) says what
	// the caller needs; a file system may fill more. Mask in the result
	// says what was filled. Dev_major/Dev_minor is the file system's
	// device number, the same for all its inodes.
	Stat(ctx *Context, mask uint32) (unix.Statx_t, error)
	// Open returns the open-file implementation for a regular file or
	// another kind of file that serves reads and writes itself (a proc
	// file). The VFS never calls it for directories (it reads them
	// through DirInode.Readdir), symbolic links, O_PATH opens, or
	// character devices, block devices, FIFOs and sockets (which the VFS
	// serves from its registries, so a device node in an image never
	// reaches a host device). flags are the open(2) flags; O_TRUNC has
	// already been applied through SetStat.
	Open(ctx *Context, flags int) (FileImpl, error)
}

// FileID identifies a file across inode objects: a path-based file
// system may return two Inodes for one file (two hard links). Record
// locks, FIFOs and bound sockets are keyed by it.
type FileID struct {
	Dev uint64 // unix.Mkdev(Dev_major, Dev_minor)
	Ino uint64
}

// IDOf returns the FileID in attributes from Stat.
func IDOf(st *unix.Statx_t) FileID {
	return FileID{Dev: unix.Mkdev(st.Dev_major, st.Dev_minor), Ino: st.Ino}
}

// Dirent is one directory entry for DirInode.Readdir.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint8 // unix.DT_*
	// Next is the position to resume after this entry.
	Next int64
}

// NewAttrs are the attributes of an object being created, computed by
// the VFS: the mode with the umask applied and S_ISGID inherited or
// dropped, the owner from the creator's file-system IDs and a set-group-ID
// parent.
type NewAttrs struct {
	Mode uint32 // S_IFMT | permission bits
	UID  uint32
	GID  uint32
	Rdev uint64 // device number for character and block devices
}

// DirInode is implemented by directories. Names are single components,
// never "", "." or "..". The VFS has checked permissions, the mount's
// read-only flag, and (for Unlink, Rmdir and Rename) the type of the
// victims, before calling.
type DirInode interface {
	Inode
	// Lookup returns the child called name, or ENOENT.
	Lookup(ctx *Context, name string) (Inode, error)
	// Create makes a regular file, FIFO, socket or device node (by
	// attrs.Mode's type), failing with EEXIST if name exists.
	Create(ctx *Context, name string, attrs NewAttrs) (Inode, error)
	// Mkdir makes a directory.
	Mkdir(ctx *Context, name string, attrs NewAttrs) (Inode, error)
	// Symlink makes a symbolic link to target.
	Symlink(ctx *Context, name, target string, attrs NewAttrs) (Inode, error)
	// Link makes name a new hard link to target, an inode of the same
	// file system (the VFS checks EXDEV).
	Link(ctx *Context, name string, target Inode) error
	// Unlink removes a non-directory.
	Unlink(ctx *Context, name string) error
	// Rmdir removes an empty directory (ENOTEMPTY otherwise).
	Rmdir(ctx *Context, name string) error
	// Rename moves oldName to newName in newDir (a DirInode of the same
	// file system). flags are RENAME_NOREPLACE or RENAME_EXCHANGE; the
	// VFS has checked that a replaced victim has a compatible type and
	// that a directory is not moved below itself.
	Rename(ctx *Context, oldName string, newDir DirInode, newName string, flags uint32) error
	// Readdir calls emit for the entries from position pos on (0 is the
	// start), "." and ".." included, until emit returns false or the
	// directory ends. Positions are the file system's own cookies.
	Readdir(ctx *Context, pos int64, emit func(Dirent) bool) error
}

// Revalidator is implemented by directories whose children come and go
// without the VFS knowing (proc's process directories, a shared gofer
// mount): the VFS asks before using a cached child.
type Revalidator interface {
	Revalidate(ctx *Context, name string, child Inode) bool
}

// SymlinkInode is implemented by symbolic links.
type SymlinkInode interface {
	Inode
	Readlink(ctx *Context) (string, error)
}

// MagicLinkInode is implemented by proc's links that name a kernel
// object rather than a path (/proc/[pid]/exe, cwd, root, fd/N).
// Following one jumps to the object without walking a path.
type MagicLinkInode interface {
	SymlinkInode
	// Follow returns where the link points: a Path, or for a descriptor
	// of a file with no path (a pipe, a socket) that File with a
	// reference the caller drops.
	Follow(ctx *Context) (Path, *File, error)
}

// SetAttr says which attributes SetStat changes: Mask holds STATX_MODE,
// STATX_UID, STATX_GID, STATX_SIZE, STATX_ATIME, STATX_MTIME. Times are
// exact: the VFS has resolved UTIME_NOW, and left out UTIME_OMIT.
type SetAttr struct {
	Mask  uint32
	Mode  uint32 // permission bits only
	UID   uint32
	GID   uint32
	Size  int64
	Atime unix.Timespec
	Mtime unix.Timespec
}

// SetStatInode is implemented by inodes whose attributes can change
// (chmod, chown, truncate, utimensat). The VFS has checked permission.
// A change of mode, owner or size also updates ctime.
type SetStatInode interface {
	SetStat(ctx *Context, attr *SetAttr) error
}

// XattrInode is implemented by inodes with extended attributes. The VFS
// checks namespaces and permissions (user.* needs a regular file or
// directory and access; trusted.* needs CAP_SYS_ADMIN).
type XattrInode interface {
	GetXattr(ctx *Context, name string) ([]byte, error) // ENODATA if absent
	SetXattr(ctx *Context, name string, value []byte, flags int) error
	ListXattr(ctx *Context) ([]string, error)
	RemoveXattr(ctx *Context, name string) error
}

// PermissionInode is implemented by inodes that decide access
// themselves (proc's per-process files); others get generic_permission.
type PermissionInode interface {
	// Permission checks may (MayRead|MayWrite|MayExec bits).
	Permission(ctx *Context, may uint32) error
}

// Access bits for permission checks, as Linux's MAY_*.
const (
	MayExec  = 1
	MayWrite = 2
	MayRead  = 4
)

// StatfsInode is implemented by a file system's inodes to answer
// statfs(2); the VFS answers for others with a generic record.
type StatfsInode interface {
	Statfs(ctx *Context) (unix.Statfs_t, error)
}

// FileSystem is a mounted file system's instance (Linux's superblock).
type FileSystem interface {
	// Root is the file system's root directory.
	Root() Inode
	// Type is the name in /proc/mounts ("tmpfs", "proc", "overlay").
	Type() string
	// Options is the option string /proc/mounts shows (without the
	// mount's own flags such as ro).
	Options() string
	// Release is called when the last mount of the file system goes.
	Release()
}

// Creds are the credentials a file operation is checked against: the
// task's file-system IDs, supplementary groups and effective
// capabilities.
type Creds struct {
	UID    uint32
	GID    uint32
	Groups []uint32
	// Caps is the effective capability set (bit n is capability n).
	Caps uint64
}

// Capabilities the VFS checks. Linux: include/uapi/linux/capability.h.
const (
	CapChown          = 0
	CapDACOverride    = 1
	CapDACReadSearch  = 2
	CapFowner         = 3
	CapFsetid         = 4
	CapLinuxImmutable = 9
	CapSysChroot      = 18
	CapSysAdmin       = 21
	CapMknod          = 27
)

// HasCap reports whether the capability is effective.
func (c *Creds) HasCap(cap int) bool { return c.Caps&(1<<uint(cap)) != 0 }

// InGroup reports whether gid is the file-system GID or a supplementary group.
func (c *Creds) InGroup(gid uint32) bool {
	if c.GID == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// RootCreds are full credentials, for the kernel's own work.
var RootCreds = Creds{Caps: ^uint64(0)}

// Context is the caller of a file operation: who it is and where it
// stands.
type Context struct {
	Creds *Creds
	// Root is the caller's root directory: absolute names start there and
	// ".." never climbs above it.
	Root Path
	// Cwd is where relative names start (AT_FDCWD).
	Cwd Path
	// Umask applies to created objects.
	Umask uint32
	// Task is the calling task (a *kernel.Task) for file systems that
	// describe the caller (proc's "self"); nil for the kernel's own work.
	Task any
	// Block waits until wake is closed, or fails with EINTR (or a restart
	// code) when the caller has a signal to handle: for operations that
	// wait (record locks, opening a FIFO). Nil means wait uninterrupted.
	Block func(wake <-chan struct{}) error
}
