package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// This file holds the calls that change a file's attributes: mode,
// owner, size and times.

// fdPath returns the path a descriptor is open on, for the f* calls;
// O_PATH descriptors fail with EBADF unless allowPath.
func fdPath(t *kernel.Task, fd int32, allowPath bool) (vfs.Path, *vfs.File, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return vfs.Path{}, nil, err
	}
	if !allowPath && vfs.IsPathOnly(f) {
		f.DecRef()
		return vfs.Path{}, nil, unix.EBADF
	}
	p := f.Path()
	if p.IsZero() {
		f.DecRef()
		return vfs.Path{}, nil, unix.EINVAL // a pipe or socket: no inode of ours to change
	}
	return p, f, nil
}

// Chmod implements chmod(2).
func Chmod(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fchmodat(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1), 0)
}

// Fchmodat implements fchmodat(2).
func Fchmodat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fchmodat(t, a.Int(0), a.Pointer(1), a.Uint(2), 0)
}

// Fchmodat2 implements fchmodat2(2).
func Fchmodat2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fchmodat(t, a.Int(0), a.Pointer(1), a.Uint(2), int(a.Int(3)))
}

func fchmodat(t *kernel.Task, dirfd int32, pathAddr uintptr, mode uint32, flags int) (uintptr, error) {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	ctx := t.FileContext()
	p, err := resolveAt(t, ctx, dirfd, pathAddr, flags, true)
	if err != nil {
		return 0, err
	}
	return 0, t.Kernel().VFS.Chmod(ctx, p, mode)
}

// Fchmod implements fchmod(2).
func Fchmod(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	p, f, err := fdPath(t, a.Int(0), false)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, t.Kernel().VFS.Chmod(t.FileContext(), p, a.Uint(1))
}

// Chown implements chown(2).
func Chown(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fchownat(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1), a.Uint(2), 0)
}

// Lchown implements lchown(2).
func Lchown(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fchownat(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1), a.Uint(2), unix.AT_SYMLINK_NOFOLLOW)
}

// Fchownat implements fchownat(2).
func Fchownat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fchownat(t, a.Int(0), a.Pointer(1), a.Uint(2), a.Uint(3), int(a.Int(4)))
}

func fchownat(t *kernel.Task, dirfd int32, pathAddr uintptr, uid, gid uint32, flags int) (uintptr, error) {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	ctx := t.FileContext()
	p, err := resolveAt(t, ctx, dirfd, pathAddr, flags, true)
	if err != nil {
		return 0, err
	}
	if err := chownMapped(t, uid, gid); err != nil {
		return 0, err
	}
	return 0, t.Kernel().VFS.Chown(ctx, p, uid, gid)
}

// chownMapped refuses an owner the sandbox's user namespace does not
// map, after the file is found, as Linux's chown_common does.
func chownMapped(t *kernel.Task, uid, gid uint32) error {
	if uid != ^uint32(0) && !t.Kernel().UIDMap().Mapped(uid) || gid != ^uint32(0) && !t.Kernel().GIDMap().Mapped(gid) {
		return unix.EINVAL
	}
	return nil
}

// Fchown implements fchown(2).
func Fchown(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	p, f, err := fdPath(t, a.Int(0), false)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if err := chownMapped(t, a.Uint(1), a.Uint(2)); err != nil {
		return 0, err
	}
	return 0, t.Kernel().VFS.Chown(t.FileContext(), p, a.Uint(1), a.Uint(2))
}

// Truncate implements truncate(2).
func Truncate(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	ctx := t.FileContext()
	p, err := resolveAt(t, ctx, unix.AT_FDCWD, a.Pointer(0), 0, true)
	if err != nil {
		return 0, err
	}
	return 0, t.Kernel().VFS.Truncate(ctx, p, a.Int64(1), true)
}

// Ftruncate implements ftruncate(2). Linux: fs/open.c, do_ftruncate().
func Ftruncate(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	length := a.Int64(1)
	if length < 0 {
		return 0, unix.EINVAL
	}
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if vfs.IsPathOnly(f) {
		return 0, unix.EBADF
	}
	p := f.Path()
	if p.IsZero() || !f.Writable() {
		return 0, unix.EINVAL
	}
	if lim, _ := t.Rlimit(unix.RLIMIT_FSIZE); uint64(length) > lim.Cur {
		return 0, unix.EFBIG
	}
	return 0, t.Kernel().VFS.Truncate(t.FileContext(), p, length, false)
}

// Utimensat implements utimensat(2); a null path with a descriptor is
// futimens(3).
func Utimensat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	dirfd, pathAddr, timesAddr, flags := a.Int(0), a.Pointer(1), a.Pointer(2), int(a.Int(3))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	var times *[2]unix.Timespec
	if timesAddr != 0 {
		times = new([2]unix.Timespec)
		if err := copyInStruct(t, timesAddr, times); err != nil {
			return 0, err
		}
	}
	return utimes(t, dirfd, pathAddr, times, flags)
}

func utimes(t *kernel.Task, dirfd int32, pathAddr uintptr, times *[2]unix.Timespec, flags int) (uintptr, error) {
	ctx := t.FileContext()
	var p vfs.Path
	if pathAddr == 0 {
		if dirfd == unix.AT_FDCWD {
			return 0, unix.EFAULT
		}
		fp, f, err := fdPath(t, dirfd, true)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		p = fp
	} else {
		var err error
		if p, err = resolveAt(t, ctx, dirfd, pathAddr, flags, true); err != nil {
			return 0, err
		}
	}
	return 0, t.Kernel().VFS.Utimes(ctx, p, times)
}

// timevalsToTimespecs converts utimes(2)'s two timevals.
func timevalsToTimespecs(t *kernel.Task, addr uintptr) (*[2]unix.Timespec, error) {
	if addr == 0 {
		return nil, nil
	}
	var tv [2]unix.Timeval
	if err := copyInStruct(t, addr, &tv); err != nil {
		return nil, err
	}
	var ts [2]unix.Timespec
	for i := range tv {
		if tv[i].Usec < 0 || tv[i].Usec >= 1e6 {
			return nil, unix.EINVAL
		}
		ts[i] = unix.Timespec{Sec: tv[i].Sec, Nsec: tv[i].Usec * 1000}
	}
	return &ts, nil
}

// Utimes implements utimes(2).
func Utimes(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	ts, err := timevalsToTimespecs(t, a.Pointer(1))
	if err != nil {
		return 0, err
	}
	return utimes(t, unix.AT_FDCWD, a.Pointer(0), ts, 0)
}

// Futimesat implements futimesat(2).
func Futimesat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	ts, err := timevalsToTimespecs(t, a.Pointer(2))
	if err != nil {
		return 0, err
	}
	return utimes(t, a.Int(0), a.Pointer(1), ts, 0)
}

// Utime implements utime(2): struct utimbuf is two longs of seconds.
func Utime(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	var ts *[2]unix.Timespec
	if addr := a.Pointer(1); addr != 0 {
		var buf [2]int64
		if err := copyInStruct(t, addr, &buf); err != nil {
			return 0, err
		}
		ts = &[2]unix.Timespec{{Sec: buf[0]}, {Sec: buf[1]}}
	}
	return utimes(t, unix.AT_FDCWD, a.Pointer(0), ts, 0)
}
