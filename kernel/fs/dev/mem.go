package dev

import (
	"crypto/rand"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Memory devices. Linux: drivers/char/mem.c, Documentation/admin-guide/
// devices.txt (major 1).
const (
	memMajor    = 1
	nullMinor   = 3
	zeroMinor   = 5
	fullMinor   = 7
	randomMinor = 8
	urandMinor  = 9
)

// memDevice is an open memory device. Reads and writes ignore the
// offset, which stays 0 (Linux's never move f_pos), and lseek succeeds
// at 0 without moving (null_lseek()); pread and pwrite work.
type memDevice struct {
	minor uint32
	read  func(dst []byte) (int, error)
	write func(src []byte) (int, error)
}

func (d *memDevice) ReadAt(dst []byte, _ int64) (int, error)  { return d.read(dst) }
func (d *memDevice) WriteAt(src []byte, _ int64) (int, error) { return d.write(src) }
func (d *memDevice) Seekable() bool                           { return false }
func (d *memDevice) Release()                                 {}

// Seek implements vfs.SeekImpl.
func (d *memDevice) Seek(int64, int) (int64, error) { return 0, nil }

// Positional implements vfs.SeekImpl.
func (d *memDevice) Positional() bool { return true }

// Stat implements vfs.FileImpl. The VFS answers fstat(2) from the node;
// the system-call layer's mmap recognises /dev/zero by this Rdev.
func (d *memDevice) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: unix.S_IFCHR | 0o666, Nlink: 1, Rdev: unix.Mkdev(memMajor, d.minor), Blksize: 4096}
	return nil
}

func discard(src []byte) (int, error) { return len(src), nil }

func zeroFill(dst []byte) (int, error) {
	clear(dst)
	return len(dst), nil
}

func openNull(*vfs.Context, int) (vfs.FileImpl, error) {
	return &memDevice{minor: nullMinor, read: func([]byte) (int, error) { return 0, nil }, write: discard}, nil
}

func openZero(*vfs.Context, int) (vfs.FileImpl, error) {
	return &memDevice{minor: zeroMinor, read: zeroFill, write: discard}, nil
}

func openFull(*vfs.Context, int) (vfs.FileImpl, error) {
	return &memDevice{minor: fullMinor, read: zeroFill, write: func([]byte) (int, error) { return 0, unix.ENOSPC }}, nil
}

// randomDevice is random or urandom: the host's CSPRNG (never blocks,
// as Linux's random has not since 5.6). Writes are taken and dropped:
// they cannot weaken the host's generator. Unlike the other memory
// devices it can be polled (always ready) and takes ioctls.
type randomDevice struct{ memDevice }

func openRandom(minor uint32) vfs.DeviceOpener {
	return func(*vfs.Context, int) (vfs.FileImpl, error) {
		return &randomDevice{memDevice{minor: minor, read: rand.Read, write: discard}}, nil
	}
}

// Readiness implements vfs.Waitable. Linux: drivers/char/random.c, random_poll().
func (d *randomDevice) Readiness(mask uint32) uint32 {
	return mask & (waiter.EventIn | waiter.EventRdNorm | waiter.EventOut | 0x100 /* WRNORM */)
}

func (d *randomDevice) EventRegister(*waiter.Entry)   {}
func (d *randomDevice) EventUnregister(*waiter.Entry) {}

// entropyBits is what RNDGETENTCNT reports: a full pool.
const entropyBits = 256

// Ioctl implements vfs.IoctlImpl: RNDGETENTCNT reports a full pool; the
// requests that feed or reset the pool need CAP_SYS_ADMIN, which the
// sandbox never lends to the host's generator. Linux: random_ioctl().
func (d *randomDevice) Ioctl(io vfs.IO, request uint32, arg uintptr) (uintptr, error) {
	switch request {
	case unix.RNDGETENTCNT:
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], entropyBits)
		if _, err := io.CopyOut(arg, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	case unix.RNDADDTOENTCNT, unix.RNDADDENTROPY, unix.RNDZAPENTCNT, unix.RNDCLEARPOOL, unix.RNDRESEEDCRNG:
		return 0, unix.EPERM
	}
	return 0, unix.EINVAL
}
