package hostfs

import (
	"encoding/binary"
	"fmt"
	"path"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "hostfs" }

// Options implements vfs.FileSystem.
func (fs *FS) Options() string { return "ro" }

// Release implements vfs.FileSystem.
func (fs *FS) Release() { fs.Close() }

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return &inode{fs: fs, path: "/"} }

// inode is a host file named by its path beneath the root. Every
// operation opens the path afresh, so nothing the host does to the tree
// can make an inode point outside the root.
type inode struct {
	fs   *FS
	path string
}

func (i *inode) openPath(flags int) (int, unix.Stat_t, error) {
	return i.fs.open(i.path, flags|unix.O_CLOEXEC|unix.O_NOFOLLOW)
}

// Stat implements vfs.Inode.
func (i *inode) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	fd, _, err := i.openPath(unix.O_PATH)
	if err != nil {
		return unix.Statx_t{}, err
	}
	defer unix.Close(fd)
	var stx unix.Statx_t
	err = unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, int(mask|unix.STATX_BASIC_STATS), &stx)
	stx.Mask &^= hostOnlyStatx
	stx.Mnt_id = 0
	return stx, err
}

// Open implements vfs.Inode.
func (i *inode) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return nil, unix.EROFS
	}
	fd, _, err := i.openPath(unix.O_RDONLY | flags&unix.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	return &file{fd: fd}, nil
}

// Lookup implements vfs.DirInode.
func (i *inode) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	if i.path == "/" && isHiddenName(name) {
		// The host's /proc, /sys and /dev are never served, but their
		// places stay as empty directories for the sandbox's own.
		return emptyDir{}, nil
	}
	child := &inode{fs: i.fs, path: path.Join(i.path, name)}
	fd, _, err := child.openPath(unix.O_PATH)
	if err != nil {
		return nil, err
	}
	unix.Close(fd)
	return child, nil
}

func (i *inode) Create(*vfs.Context, string, vfs.NewAttrs) (vfs.Inode, error) { return nil, unix.EROFS }
func (i *inode) Mkdir(*vfs.Context, string, vfs.NewAttrs) (vfs.Inode, error)  { return nil, unix.EROFS }
func (i *inode) Symlink(*vfs.Context, string, string, vfs.NewAttrs) (vfs.Inode, error) {
	return nil, unix.EROFS
}
func (i *inode) Link(*vfs.Context, string, vfs.Inode) error { return unix.EROFS }
func (i *inode) Unlink(*vfs.Context, string) error          { return unix.EROFS }
func (i *inode) Rmdir(*vfs.Context, string) error           { return unix.EROFS }
func (i *inode) Rename(*vfs.Context, string, vfs.DirInode, string, uint32) error {
	return unix.EROFS
}

// Readlink implements vfs.SymlinkInode.
func (i *inode) Readlink(ctx *vfs.Context) (string, error) {
	fd, _, err := i.openPath(unix.O_PATH)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// Readdir implements vfs.DirInode: positions are the host's cookies;
// the hidden mount points in the root are left out.
func (i *inode) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	fd, _, err := i.openPath(unix.O_RDONLY | unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := unix.Seek(fd, pos, unix.SEEK_SET); err != nil {
		return err
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		for off := 0; off+19 <= n; {
			rec := buf[off:n]
			reclen := int(binary.LittleEndian.Uint16(rec[16:]))
			if reclen < 19 || reclen > len(rec) {
				return fmt.Errorf("hostfs: malformed directory record: %w", unix.EIO)
			}
			name := rec[19:reclen]
			for j, c := range name {
				if c == 0 {
					name = name[:j]
					break
				}
			}
			e := vfs.Dirent{Name: string(name), Ino: binary.LittleEndian.Uint64(rec), Type: rec[18], Next: int64(binary.LittleEndian.Uint64(rec[8:]))}
			off += reclen
			if i.path == "/" && isHiddenName(e.Name) {
				e.Type = unix.DT_DIR
			}
			if !emit(e) {
				return nil
			}
		}
	}
}

func isHiddenName(name string) bool {
	for _, h := range hiddenRoots {
		if "/"+name == h {
			return true
		}
	}
	return false
}

// file is an open host file.
type file struct {
	fd int
}

func (f *file) ReadAt(dst []byte, off int64) (int, error) {
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

func (f *file) WriteAt(src []byte, off int64) (int, error) { return 0, unix.EBADF }
func (f *file) Stat(st *unix.Stat_t) error                 { return unix.Fstat(f.fd, st) }
func (f *file) Seekable() bool                             { return true }
func (f *file) Release()                                   { unix.Close(f.fd) }

// hostOnlyStatx are statx fields that describe the host, not the file:
// mount IDs are the host's mount table.
const hostOnlyStatx = unix.STATX_MNT_ID | 0x4000 /* STATX_MNT_ID_UNIQUE */

// emptyDir stands in for a hidden host mount point.
type emptyDir struct{}

func (emptyDir) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	return unix.Statx_t{Mask: unix.STATX_BASIC_STATS, Mode: unix.S_IFDIR | 0o555, Nlink: 2, Ino: 2, Blksize: 4096}, nil
}
func (emptyDir) Open(*vfs.Context, int) (vfs.FileImpl, error) { return nil, unix.EISDIR }
func (emptyDir) Lookup(*vfs.Context, string) (vfs.Inode, error) {
	return nil, unix.ENOENT
}
func (emptyDir) Create(*vfs.Context, string, vfs.NewAttrs) (vfs.Inode, error) { return nil, unix.EROFS }
func (emptyDir) Mkdir(*vfs.Context, string, vfs.NewAttrs) (vfs.Inode, error)  { return nil, unix.EROFS }
func (emptyDir) Symlink(*vfs.Context, string, string, vfs.NewAttrs) (vfs.Inode, error) {
	return nil, unix.EROFS
}
func (emptyDir) Link(*vfs.Context, string, vfs.Inode) error { return unix.EROFS }
func (emptyDir) Unlink(*vfs.Context, string) error          { return unix.EROFS }
func (emptyDir) Rmdir(*vfs.Context, string) error           { return unix.EROFS }
func (emptyDir) Rename(*vfs.Context, string, vfs.DirInode, string, uint32) error {
	return unix.EROFS
}
func (emptyDir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	for i, name := range []string{".", ".."}[min(pos, 2):] {
		if !emit(vfs.Dirent{Name: name, Ino: 2, Type: unix.DT_DIR, Next: pos + int64(i) + 1}) {
			return nil
		}
	}
	return nil
}
