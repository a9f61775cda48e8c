package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
	"magawa/kernel/vfs/lock"
)

// This file holds advisory locking: fcntl's record locks and flock(2).

// OFD lock commands. Linux: include/uapi/asm-generic/fcntl.h.
const (
	fOFDGetlk  = 36
	fOFDSetlk  = 37
	fOFDSetlkw = 38
)

// lockBlock waits for a lock, turning an interruption into a restart.
func lockBlock(t *kernel.Task) lock.BlockFunc {
	return func(wake <-chan struct{}) error {
		if err := t.Block(wake, time.Time{}); err != nil {
			return kernel.ERESTARTSYS
		}
		return nil
	}
}

// lockID returns the identity locks on f are kept under, and makes sure
// closing f releases them.
func lockID(t *kernel.Task, f *vfs.File) (vfs.FileID, error) {
	sx, err := f.Statx(t.FileContext(), unix.STATX_INO)
	if err != nil {
		return vfs.FileID{}, err
	}
	id := vfs.IDOf(&sx)
	locks := t.Kernel().FileLocks()
	f.SetLockHooks(&vfs.LockHooks{
		Closed:   func(table *vfs.FDTable) { locks.ReleasePOSIX(id, table) },
		Released: func() { locks.ReleaseFile(id, f) },
	})
	return id, nil
}

// fcntlLock implements F_GETLK, F_SETLK, F_SETLKW and their OFD forms.
// Linux: fs/locks.c, fcntl_getlk() and fcntl_setlk().
func fcntlLock(t *kernel.Task, f *vfs.File, cmd int32, addr uintptr) (uintptr, error) {
	var fl unix.Flock_t
	if err := copyInStruct(t, addr, &fl); err != nil {
		return 0, err
	}
	if vfs.IsPathOnly(f) {
		return 0, unix.EBADF
	}
	ofd := cmd == fOFDGetlk || cmd == fOFDSetlk || cmd == fOFDSetlkw
	getlk := cmd == unix.F_GETLK || cmd == fOFDGetlk
	typ := lock.Type(fl.Type)
	if getlk && typ != lock.Read && typ != lock.Write && !(ofd && typ == lock.Unlock) {
		return 0, unix.EINVAL
	}
	var size int64
	if fl.Whence == unix.SEEK_END {
		sx, err := f.Statx(t.FileContext(), unix.STATX_SIZE)
		if err != nil {
			return 0, err
		}
		size = int64(sx.Size)
	}
	var offset int64
	if fl.Whence == unix.SEEK_CUR {
		var err error
		if offset, err = f.Seek(0, unix.SEEK_CUR); err != nil {
			return 0, err
		}
	}
	r, err := lock.RangeOf(int(fl.Whence), fl.Start, fl.Len, offset, size)
	if err != nil {
		return 0, err
	}
	if ofd && fl.Pid != 0 {
		return 0, unix.EINVAL
	}
	id, err := lockID(t, f)
	if err != nil {
		return 0, err
	}
	owner := lock.POSIXOwner(t.FDTable(), t.TGID())
	if ofd {
		owner = lock.OFDOwner(f)
	}
	locks := t.Kernel().FileLocks()
	if getlk {
		held, found, err := locks.Test(id, owner, typ, r)
		if err != nil {
			return 0, err
		}
		if found {
			fl = held.Flock()
		} else {
			fl.Type = unix.F_UNLCK
		}
		return 0, copyOutStruct(t, addr, &fl)
	}
	switch {
	case typ == lock.Read && !f.Readable(), typ == lock.Write && !f.Writable():
		return 0, unix.EBADF
	}
	var block lock.BlockFunc
	if cmd == unix.F_SETLKW || cmd == fOFDSetlkw {
		block = lockBlock(t)
	}
	return 0, locks.Set(id, owner, typ, r, block)
}

// Flock implements flock(2).
func Flock(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	typ, wait, ignore, err := lock.ParseFlock(a.Uint(1))
	if err != nil {
		return 0, err
	}
	if ignore {
		return 0, nil
	}
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if vfs.IsPathOnly(f) || typ != lock.Unlock && !f.Readable() && !f.Writable() {
		return 0, unix.EBADF
	}
	id, err := lockID(t, f)
	if err != nil {
		return 0, err
	}
	var block lock.BlockFunc
	if wait {
		block = lockBlock(t)
	}
	return 0, t.Kernel().FileLocks().Flock(id, f, typ, block)
}
