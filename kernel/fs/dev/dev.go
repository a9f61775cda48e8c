// Package dev serves the sandbox's own /dev: the memory devices (null,
// zero, full, random, urandom) as the kernel's own files, never the
// host's. It sits in front of the root file system and passes every other
// name through. The full devtmpfs with ptys, /dev/shm and /dev/fd arrives
// with the VFS.
//
// Locking: none; devices are stateless.
package dev

import (
	"crypto/rand"
	"encoding/binary"
	"path"
	"sort"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// FileSystem is what the kernel opens names with.
type FileSystem interface {
	Open(name string, flags int, mode uint32) (*vfs.File, error)
}

// FS is /dev in front of another file system.
type FS struct {
	Lower FileSystem
}

// device is a character device's behaviour.
type device struct {
	minor uint32
	read  func(dst []byte) (int, error)
	write func(src []byte) (int, error)
}

// Linux: Documentation/admin-guide/devices.txt, major 1.
var devices = map[string]device{
	"null":    {3, func([]byte) (int, error) { return 0, nil }, func(b []byte) (int, error) { return len(b), nil }},
	"zero":    {5, zeroFill, func(b []byte) (int, error) { return len(b), nil }},
	"full":    {7, zeroFill, func([]byte) (int, error) { return 0, unix.ENOSPC }},
	"random":  {8, rand.Read, func(b []byte) (int, error) { return len(b), nil }},
	"urandom": {9, rand.Read, func(b []byte) (int, error) { return len(b), nil }},
}

func zeroFill(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// Open implements the root file system's Open.
func (fs *FS) Open(name string, flags int, mode uint32) (*vfs.File, error) {
	p := path.Clean(name)
	if p == "/dev" {
		if flags&unix.O_ACCMODE != unix.O_RDONLY && flags&unix.O_PATH == 0 || flags&unix.O_CREAT != 0 {
			return nil, unix.EISDIR
		}
		return vfs.NewFile(&dir{}, flags&(unix.O_ACCMODE|unix.O_PATH|unix.O_DIRECTORY)), nil
	}
	if dirName, base := path.Split(p); dirName == "/dev/" {
		d, ok := devices[base]
		if !ok {
			if flags&unix.O_CREAT != 0 {
				return nil, unix.EROFS
			}
			return nil, unix.ENOENT
		}
		if flags&unix.O_DIRECTORY != 0 {
			return nil, unix.ENOTDIR
		}
		if flags&unix.O_CREAT != 0 && flags&unix.O_EXCL != 0 {
			return nil, unix.EEXIST
		}
		return vfs.NewFile(&char{d: d, name: p}, flags&(unix.O_ACCMODE|unix.O_PATH|unix.O_NONBLOCK|unix.O_APPEND)), nil
	}
	return fs.Lower.Open(name, flags, mode)
}

// char is an open memory device.
type char struct {
	d    device
	name string
}

func (c *char) ReadAt(dst []byte, _ int64) (int, error)  { return c.d.read(dst) }
func (c *char) WriteAt(src []byte, _ int64) (int, error) { return c.d.write(src) }
func (c *char) Seekable() bool                           { return true }
func (c *char) Release()                                 {}
func (c *char) Path() string                             { return c.name }
func (c *char) Readiness(mask uint32) uint32             { return mask & (waiter.EventIn | waiter.EventOut) }
func (c *char) EventRegister(*waiter.Entry)              {}
func (c *char) EventUnregister(*waiter.Entry)            {}

// Seek implements vfs.SeekImpl: seeking a memory device always succeeds
// at 0 and moves nothing. Linux: drivers/char/mem.c, null_lseek().
func (c *char) Seek(int64, int) (int64, error) { return 0, nil }

// Positional implements vfs.SeekImpl.
func (c *char) Positional() bool { return true }

func (c *char) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{
		Mode:    unix.S_IFCHR | 0o666,
		Nlink:   1,
		Rdev:    unix.Mkdev(1, c.d.minor),
		Ino:     uint64(c.d.minor) + 1000,
		Dev:     devDev,
		Blksize: 4096,
	}
	return nil
}

// devDev is the device number /dev's files report.
const devDev = 5

// dir is /dev itself.
type dir struct{}

func (d *dir) ReadAt([]byte, int64) (int, error)  { return 0, unix.EISDIR }
func (d *dir) WriteAt([]byte, int64) (int, error) { return 0, unix.EISDIR }
func (d *dir) Seekable() bool                     { return true }
func (d *dir) Release()                           {}
func (d *dir) Path() string                       { return "/dev" }
func (d *dir) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: unix.S_IFDIR | 0o755, Nlink: 2, Ino: 1000, Dev: devDev, Blksize: 4096}
	return nil
}

// Getdents implements vfs.DirectoryImpl: ".", ".." and the devices, the
// position being the index of the next entry.
func (d *dir) Getdents(dst []byte, pos int64) (int, int64, error) {
	names := []string{".", ".."}
	var devs []string
	for n := range devices {
		devs = append(devs, n)
	}
	sort.Strings(devs)
	names = append(names, devs...)
	out := 0
	for i := int(pos); i < len(names); i++ {
		name := names[i]
		reclen := (19 + len(name) + 1 + 7) &^ 7
		if out+reclen > len(dst) {
			if out == 0 {
				return 0, pos, unix.EINVAL
			}
			return out, int64(i), nil
		}
		rec := dst[out : out+reclen]
		clear(rec)
		ino, typ := uint64(1000), byte(unix.DT_DIR)
		if d, ok := devices[name]; ok {
			ino, typ = uint64(d.minor)+1000, unix.DT_CHR
		}
		binary.LittleEndian.PutUint64(rec[0:], ino)
		binary.LittleEndian.PutUint64(rec[8:], uint64(i+1))
		binary.LittleEndian.PutUint16(rec[16:], uint16(reclen))
		rec[18] = typ
		copy(rec[19:], name)
		out += reclen
	}
	return out, int64(len(names)), nil
}
