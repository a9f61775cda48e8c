package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
)

// This file holds the calls that create, remove and rename names.

// Mkdir implements mkdir(2).
func Mkdir(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return mkdirat(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1))
}

// Mkdirat implements mkdirat(2).
func Mkdirat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return mkdirat(t, a.Int(0), a.Pointer(1), a.Uint(2))
}

func mkdirat(t *kernel.Task, dirfd int32, pathAddr uintptr, mode uint32) (uintptr, error) {
	ctx := t.FileContext()
	start, name, err := pathAt(t, ctx, dirfd, pathAddr)
	if err != nil {
		return 0, err
	}
	return 0, t.Kernel().VFS.Mkdir(ctx, start, name, mode&0o7777)
}

// Mknod implements mknod(2).
func Mknod(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return mknodat(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1), a.Uint(2))
}

// Mknodat implements mknodat(2).
func Mknodat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return mknodat(t, a.Int(0), a.Pointer(1), a.Uint(2), a.Uint(3))
}

func mknodat(t *kernel.Task, dirfd int32, pathAddr uintptr, mode, dev uint32) (uintptr, error) {
	ctx := t.FileContext()
	start, name, err := pathAt(t, ctx, dirfd, pathAddr)
	if err != nil {
		return 0, err
	}
	// The kernel's dev_t from the 32-bit encoding: 12 bits of major,
	// 20 of minor. Linux: include/linux/kdev_t.h, new_decode_dev().
	major := dev >> 8 & 0xfff
	minor := dev&0xff | dev>>12&0xfff00
	return 0, t.Kernel().VFS.Mknod(ctx, start, name, mode&(unix.S_IFMT|0o7777), unix.Mkdev(major, minor))
}

// Unlink implements unlink(2).
func Unlink(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return unlinkat(t, unix.AT_FDCWD, a.Pointer(0), 0)
}

// Rmdir implements rmdir(2).
func Rmdir(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return unlinkat(t, unix.AT_FDCWD, a.Pointer(0), unix.AT_REMOVEDIR)
}

// Unlinkat implements unlinkat(2).
func Unlinkat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return unlinkat(t, a.Int(0), a.Pointer(1), int(a.Int(2)))
}

func unlinkat(t *kernel.Task, dirfd int32, pathAddr uintptr, flags int) (uintptr, error) {
	if flags&^unix.AT_REMOVEDIR != 0 {
		return 0, unix.EINVAL
	}
	ctx := t.FileContext()
	start, name, err := pathAt(t, ctx, dirfd, pathAddr)
	if err != nil {
		return 0, err
	}
	if flags&unix.AT_REMOVEDIR != 0 {
		return 0, t.Kernel().VFS.Rmdir(ctx, start, name)
	}
	return 0, t.Kernel().VFS.Unlink(ctx, start, name)
}

// Rename implements rename(2).
func Rename(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return renameat(t, unix.AT_FDCWD, a.Pointer(0), unix.AT_FDCWD, a.Pointer(1), 0)
}

// Renameat implements renameat(2).
func Renameat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return renameat(t, a.Int(0), a.Pointer(1), a.Int(2), a.Pointer(3), 0)
}

// Renameat2 implements renameat2(2).
func Renameat2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return renameat(t, a.Int(0), a.Pointer(1), a.Int(2), a.Pointer(3), a.Uint(4))
}

func renameat(t *kernel.Task, olddirfd int32, oldAddr uintptr, newdirfd int32, newAddr uintptr, flags uint32) (uintptr, error) {
	ctx := t.FileContext()
	oldStart, oldName, err := pathAt(t, ctx, olddirfd, oldAddr)
	if err != nil {
		return 0, err
	}
	newStart, newName, err := pathAt(t, ctx, newdirfd, newAddr)
	if err != nil {
		return 0, err
	}
	return 0, t.Kernel().VFS.Rename(ctx, oldStart, oldName, newStart, newName, flags)
}

// Link implements link(2).
func Link(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return linkat(t, unix.AT_FDCWD, a.Pointer(0), unix.AT_FDCWD, a.Pointer(1), 0)
}

// Linkat implements linkat(2).
func Linkat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return linkat(t, a.Int(0), a.Pointer(1), a.Int(2), a.Pointer(3), int(a.Int(4)))
}

func linkat(t *kernel.Task, olddirfd int32, oldAddr uintptr, newdirfd int32, newAddr uintptr, flags int) (uintptr, error) {
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	ctx := t.FileContext()
	if flags&unix.AT_EMPTY_PATH != 0 && !ctx.Creds.HasCap(unix.CAP_DAC_READ_SEARCH) {
		return 0, unix.ENOENT
	}
	old, err := resolveAt(t, ctx, olddirfd, oldAddr, flags, false)
	if err != nil {
		if err == errNoPathFile {
			return 0, unix.ENOENT
		}
		return 0, err
	}
	newStart, newName, err := pathAt(t, ctx, newdirfd, newAddr)
	if err != nil {
		return 0, err
	}
	return 0, t.Kernel().VFS.Link(ctx, old, newStart, newName)
}

// Symlink implements symlink(2).
func Symlink(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return symlinkat(t, a.Pointer(0), unix.AT_FDCWD, a.Pointer(1))
}

// Symlinkat implements symlinkat(2).
func Symlinkat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return symlinkat(t, a.Pointer(0), a.Int(1), a.Pointer(2))
}

func symlinkat(t *kernel.Task, targetAddr uintptr, newdirfd int32, linkAddr uintptr) (uintptr, error) {
	target, err := copyInPath(t, targetAddr)
	if err != nil {
		return 0, err
	}
	ctx := t.FileContext()
	start, name, err := pathAt(t, ctx, newdirfd, linkAddr)
	if err != nil {
		return 0, err
	}
	return 0, t.Kernel().VFS.Symlink(ctx, target, start, name)
}
