package vfs

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// dirFile is an open directory: getdents64 over DirInode.Readdir.
type dirFile struct {
	ctx  *Context
	dir  DirInode
	path Path
}

func (f *dirFile) ReadAt(dst []byte, off int64) (int, error)  { return 0, unix.EISDIR }
func (f *dirFile) WriteAt(src []byte, off int64) (int, error) { return 0, unix.EBADF }
func (f *dirFile) Seekable() bool                             { return true }
func (f *dirFile) Release()                                   {}

func (f *dirFile) Stat(st *unix.Stat_t) error {
	sx, err := f.path.Stat(f.ctx, unix.STATX_BASIC_STATS)
	if err != nil {
		return err
	}
	*st = StatFromStatx(&sx)
	return nil
}

// Getdents implements DirectoryImpl: linux_dirent64 records from pos
// until dst is full. Linux: fs/readdir.c, filldir64().
func (f *dirFile) Getdents(dst []byte, pos int64) (int, int64, error) {
	if f.path.Dentry.Dead() {
		return 0, pos, unix.ENOENT // Linux: fs/readdir.c, iterate_dir()
	}
	n := 0
	next := pos
	tooSmall := false
	err := f.dir.Readdir(f.ctx, pos, func(e Dirent) bool {
		reclen := (19 + len(e.Name) + 1 + 7) &^ 7
		if n+reclen > len(dst) {
			tooSmall = n == 0
			return false
		}
		rec := dst[n : n+reclen]
		binary.LittleEndian.PutUint64(rec[0:], e.Ino)
		binary.LittleEndian.PutUint64(rec[8:], uint64(e.Next))
		binary.LittleEndian.PutUint16(rec[16:], uint16(reclen))
		rec[18] = e.Type
		copy(rec[19:], e.Name)
		clear(rec[19+len(e.Name):])
		n += reclen
		next = e.Next
		return true
	})
	if err != nil && n == 0 {
		return 0, pos, err
	}
	if tooSmall {
		return 0, pos, unix.EINVAL
	}
	return n, next, nil
}

// pathFile is an O_PATH descriptor: a place, not an open file.
type pathFile struct{ path Path }

func (pathFile) ReadAt(dst []byte, off int64) (int, error)  { return 0, unix.EBADF }
func (pathFile) WriteAt(src []byte, off int64) (int, error) { return 0, unix.EBADF }
func (pathFile) Seekable() bool                             { return true }
func (pathFile) Release()                                   {}

func (f pathFile) Stat(st *unix.Stat_t) error {
	sx, err := f.path.Stat(&Context{Creds: &RootCreds}, unix.STATX_BASIC_STATS)
	if err != nil {
		return err
	}
	*st = StatFromStatx(&sx)
	return nil
}

// IsPathOnly reports whether f is an O_PATH descriptor.
func IsPathOnly(f *File) bool {
	_, ok := f.Impl.(pathFile)
	return ok
}

// DTType returns the directory-entry type for S_IFMT bits.
func DTType(mode uint32) uint8 {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return unix.DT_REG
	case unix.S_IFDIR:
		return unix.DT_DIR
	case unix.S_IFLNK:
		return unix.DT_LNK
	case unix.S_IFCHR:
		return unix.DT_CHR
	case unix.S_IFBLK:
		return unix.DT_BLK
	case unix.S_IFIFO:
		return unix.DT_FIFO
	case unix.S_IFSOCK:
		return unix.DT_SOCK
	}
	return unix.DT_UNKNOWN
}
