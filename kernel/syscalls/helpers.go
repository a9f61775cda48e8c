package syscalls

import (
	"path"

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

// resolvePath turns a path relative to dirfd into an absolute one.
// Symbolic links and ".." are resolved later, by the file system, inside
// the root.
func resolvePath(t *kernel.Task, dirfd int32, p string) (string, error) {
	if exe, ok := t.MagicLink(p); ok {
		return exe, nil
	}
	if path.IsAbs(p) {
		return p, nil
	}
	if dirfd == unix.AT_FDCWD {
		return path.Join(t.Cwd(), p), nil
	}
	f, err := getFile(t, dirfd)
	if err != nil {
		return "", err
	}
	defer f.DecRef()
	pi, ok := f.Impl.(vfs.PathImpl)
	if !ok {
		return "", unix.ENOTDIR
	}
	if _, isDir := f.Impl.(vfs.DirectoryImpl); !isDir {
		return "", unix.ENOTDIR
	}
	return path.Join(pi.Path(), p), nil
}

// openAt opens dirfd/name for the kernel's own use (stat, readlink...).
// An empty name means dirfd itself when emptyPath allows it.
func openAt(t *kernel.Task, dirfd int32, name string, flags int, emptyPath bool) (*vfs.File, error) {
	if name == "" {
		if !emptyPath {
			return nil, unix.ENOENT
		}
		if dirfd == unix.AT_FDCWD {
			return t.Kernel().Root.Open(t.Cwd(), flags, 0)
		}
		return getFile(t, dirfd)
	}
	p, err := resolvePath(t, dirfd, name)
	if err != nil {
		return nil, err
	}
	return t.Kernel().Root.Open(p, flags, 0)
}

func boolToInt(b bool) uintptr {
	if b {
		return 1
	}
	return 0
}

// lookupAt opens the file a path argument of an *at call names, for the
// kernel's own use (stat, access): O_PATH, following a final symbolic link
// unless AT_SYMLINK_NOFOLLOW, and taking dirfd itself for an empty path
// with AT_EMPTY_PATH.
func lookupAt(t *kernel.Task, dirfd int32, pathAddr uintptr, flags int) (*vfs.File, error) {
	name, err := copyInPath(t, pathAddr)
	if err != nil {
		return nil, err
	}
	openFlags := unix.O_PATH
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		openFlags |= unix.O_NOFOLLOW
	}
	return openAt(t, dirfd, name, openFlags, flags&unix.AT_EMPTY_PATH != 0)
}
