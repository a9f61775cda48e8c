package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// copyInStruct and copyOutStruct move a fixed-layout value, failing
// with EFAULT on a partial copy.
func copyInStruct[T any](t *kernel.Task, addr uintptr, v *T) error {
	b := abi.Bytes(v)
	if n, err := t.CopyIn(addr, b); err != nil || n != len(b) {
		return unix.EFAULT
	}
	return nil
}

func copyOutStruct[T any](t *kernel.Task, addr uintptr, v *T) error {
	b := abi.Bytes(v)
	if n, err := t.CopyOut(addr, b); err != nil || n != len(b) {
		return unix.EFAULT
	}
	return nil
}

// getFile returns the file at fd with a reference the caller drops.
func getFile(t *kernel.Task, fd int32) (*vfs.File, error) {
	f, _, err := t.FDTable().Get(int(fd))
	return f, err
}

// copyInPath reads a path argument. Linux: fs/namei.c, getname_flags().
func copyInPath(t *kernel.Task, addr uintptr) (string, error) {
	p, err := t.CopyInString(addr, abi.PathMax)
	if err != nil {
		return "", err
	}
	return p, nil
}

func boolToInt(b bool) uintptr {
	if b {
		return 1
	}
	return 0
}

// startAt returns where a relative name given with dirfd starts: the
// working directory for AT_FDCWD, else the directory dirfd is open on.
// An absolute name ignores dirfd (and dirfd need not be valid).
func startAt(t *kernel.Task, ctx *vfs.Context, dirfd int32, name string) (vfs.Path, error) {
	if name != "" && name[0] == '/' {
		return ctx.Root, nil
	}
	if dirfd == unix.AT_FDCWD {
		return ctx.Cwd, nil
	}
	f, err := getFile(t, dirfd)
	if err != nil {
		return vfs.Path{}, err
	}
	defer f.DecRef()
	p := f.Path()
	if p.IsZero() {
		if name == "" {
			return vfs.Path{}, errNoPathFile
		}
		return vfs.Path{}, unix.ENOTDIR
	}
	if name != "" && !p.Dentry.IsDir() {
		return vfs.Path{}, unix.ENOTDIR
	}
	return p, nil
}

// errNoPathFile marks an AT_EMPTY_PATH lookup of a descriptor that has no
// path (a pipe): callers that can work on the file itself do.
var errNoPathFile = unix.EBADF

// resolveAt resolves the path argument of an *at call: relative to dirfd,
// following a final symbolic link unless AT_SYMLINK_NOFOLLOW (or
// followDefault is false and AT_SYMLINK_FOLLOW is absent), and naming
// dirfd itself for an empty path with AT_EMPTY_PATH.
func resolveAt(t *kernel.Task, ctx *vfs.Context, dirfd int32, pathAddr uintptr, atFlags int, followDefault bool) (vfs.Path, error) {
	name, err := copyInPath(t, pathAddr)
	if err != nil {
		return vfs.Path{}, err
	}
	return resolveNameAt(t, ctx, dirfd, name, atFlags, followDefault)
}

func resolveNameAt(t *kernel.Task, ctx *vfs.Context, dirfd int32, name string, atFlags int, followDefault bool) (vfs.Path, error) {
	if name == "" {
		if atFlags&unix.AT_EMPTY_PATH == 0 {
			return vfs.Path{}, unix.ENOENT
		}
		return startAt(t, ctx, dirfd, "")
	}
	start, err := startAt(t, ctx, dirfd, name)
	if err != nil {
		return vfs.Path{}, err
	}
	var flags uint64
	follow := followDefault
	if atFlags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		follow = false
	}
	if atFlags&unix.AT_SYMLINK_FOLLOW != 0 {
		follow = true
	}
	if !follow {
		flags |= vfs.ResolveNoFollow
	}
	return t.Kernel().VFS.Resolve(ctx, start, name, flags)
}

// pathAt copies in a path argument and its starting point, for calls
// that create or remove names.
func pathAt(t *kernel.Task, ctx *vfs.Context, dirfd int32, pathAddr uintptr) (vfs.Path, string, error) {
	name, err := copyInPath(t, pathAddr)
	if err != nil {
		return vfs.Path{}, "", err
	}
	if name == "" {
		return vfs.Path{}, "", unix.ENOENT
	}
	start, err := startAt(t, ctx, dirfd, name)
	return start, name, err
}
