package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// xattrTarget returns the file an xattr call names: a path (following
// links unless the l* variant) or a descriptor.
func xattrTarget(t *kernel.Task, ctx *vfs.Context, fd int32, pathAddr uintptr, follow bool) (vfs.Path, func(), error) {
	if pathAddr == 0 && fd >= 0 {
		p, f, err := fdPath(t, fd, false)
		if err != nil {
			return vfs.Path{}, nil, err
		}
		return p, f.DecRef, nil
	}
	flags := 0
	if !follow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	p, err := resolveAt(t, ctx, unix.AT_FDCWD, pathAddr, flags, true)
	return p, func() {}, err
}

func copyInXattrName(t *kernel.Task, addr uintptr) (string, error) {
	name, err := t.CopyInString(addr, vfs.XattrNameMax+1)
	if err == unix.ENAMETOOLONG || err == nil && len(name) > vfs.XattrNameMax {
		return "", unix.ERANGE
	}
	if err == nil && name == "" {
		return "", unix.ERANGE
	}
	return name, err
}

func getxattr(t *kernel.Task, fd int32, pathAddr, nameAddr, valueAddr uintptr, size uint64, follow bool) (uintptr, error) {
	ctx := t.FileContext()
	p, done, err := xattrTarget(t, ctx, fd, pathAddr, follow)
	if err != nil {
		return 0, err
	}
	defer done()
	name, err := copyInXattrName(t, nameAddr)
	if err != nil {
		return 0, err
	}
	value, err := t.Kernel().VFS.GetXattr(ctx, p, name)
	if err != nil {
		return 0, err
	}
	if size == 0 {
		return uintptr(len(value)), nil
	}
	if uint64(len(value)) > size {
		return 0, unix.ERANGE
	}
	if _, err := t.CopyOut(valueAddr, value); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(value)), nil
}

func setxattr(t *kernel.Task, fd int32, pathAddr, nameAddr, valueAddr uintptr, size uint64, flags int, follow bool) (uintptr, error) {
	if size > vfs.XattrSizeMax {
		return 0, unix.E2BIG
	}
	ctx := t.FileContext()
	p, done, err := xattrTarget(t, ctx, fd, pathAddr, follow)
	if err != nil {
		return 0, err
	}
	defer done()
	name, err := copyInXattrName(t, nameAddr)
	if err != nil {
		return 0, err
	}
	value := make([]byte, size)
	if n, err := t.CopyIn(valueAddr, value); err != nil || n != len(value) {
		return 0, unix.EFAULT
	}
	return 0, t.Kernel().VFS.SetXattr(ctx, p, name, value, flags)
}

func listxattr(t *kernel.Task, fd int32, pathAddr, listAddr uintptr, size uint64, follow bool) (uintptr, error) {
	ctx := t.FileContext()
	p, done, err := xattrTarget(t, ctx, fd, pathAddr, follow)
	if err != nil {
		return 0, err
	}
	defer done()
	names, err := t.Kernel().VFS.ListXattr(ctx, p)
	if err != nil {
		return 0, err
	}
	var buf []byte
	for _, n := range names {
		buf = append(append(buf, n...), 0)
	}
	if size == 0 {
		return uintptr(len(buf)), nil
	}
	if uint64(len(buf)) > size {
		return 0, unix.ERANGE
	}
	if _, err := t.CopyOut(listAddr, buf); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(buf)), nil
}

func removexattr(t *kernel.Task, fd int32, pathAddr, nameAddr uintptr, follow bool) (uintptr, error) {
	ctx := t.FileContext()
	p, done, err := xattrTarget(t, ctx, fd, pathAddr, follow)
	if err != nil {
		return 0, err
	}
	defer done()
	name, err := copyInXattrName(t, nameAddr)
	if err != nil {
		return 0, err
	}
	return 0, t.Kernel().VFS.RemoveXattr(ctx, p, name)
}

// Getxattr, Lgetxattr and Fgetxattr implement getxattr(2) and its variants.
func Getxattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return getxattr(t, -1, a.Pointer(0), a.Pointer(1), a.Pointer(2), a.Size(3), true)
}

func Lgetxattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return getxattr(t, -1, a.Pointer(0), a.Pointer(1), a.Pointer(2), a.Size(3), false)
}

func Fgetxattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return getxattr(t, a.Int(0), 0, a.Pointer(1), a.Pointer(2), a.Size(3), true)
}

// Setxattr, Lsetxattr and Fsetxattr implement setxattr(2) and its variants.
func Setxattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return setxattr(t, -1, a.Pointer(0), a.Pointer(1), a.Pointer(2), a.Size(3), int(a.Int(4)), true)
}

func Lsetxattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return setxattr(t, -1, a.Pointer(0), a.Pointer(1), a.Pointer(2), a.Size(3), int(a.Int(4)), false)
}

func Fsetxattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return setxattr(t, a.Int(0), 0, a.Pointer(1), a.Pointer(2), a.Size(3), int(a.Int(4)), true)
}

// Listxattr, Llistxattr and Flistxattr implement listxattr(2) and its variants.
func Listxattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return listxattr(t, -1, a.Pointer(0), a.Pointer(1), a.Size(2), true)
}

func Llistxattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return listxattr(t, -1, a.Pointer(0), a.Pointer(1), a.Size(2), false)
}

func Flistxattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return listxattr(t, a.Int(0), 0, a.Pointer(1), a.Size(2), true)
}

// Removexattr, Lremovexattr and Fremovexattr implement removexattr(2) and its variants.
func Removexattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return removexattr(t, -1, a.Pointer(0), a.Pointer(1), true)
}

func Lremovexattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return removexattr(t, -1, a.Pointer(0), a.Pointer(1), false)
}

func Fremovexattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return removexattr(t, a.Int(0), 0, a.Pointer(1), true)
}
