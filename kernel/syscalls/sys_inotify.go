package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/ipc/inotify"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// InotifyInit implements inotify_init(2).
func InotifyInit(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return inotifyInit(t, 0)
}

// InotifyInit1 implements inotify_init1(2).
func InotifyInit1(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return inotifyInit(t, int(a.Int(0)))
}

func inotifyInit(t *kernel.Task, flags int) (uintptr, error) {
	if flags&^(unix.IN_CLOEXEC|unix.IN_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	f, err := inotify.New(t.Kernel().VFS, t.Credentials().UID, flags)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, flags&unix.IN_CLOEXEC != 0, t.MaxFDs())
	return uintptr(fd), err
}

// inotifyOf returns the instance at fd: EBADF for a bad descriptor,
// EINVAL for a file that is not an instance.
func inotifyOf(t *kernel.Task, fd int32) (*inotify.Instance, *vfs.File, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	in, ok := inotify.Of(f)
	if !ok {
		f.DecRef()
		return nil, nil, unix.EINVAL
	}
	return in, f, nil
}

// InotifyAddWatch implements inotify_add_watch(2): the file at path
// (its symbolic link itself with IN_DONT_FOLLOW; a directory only, with
// IN_ONLYDIR), which the caller must be allowed to read.
// Linux: fs/notify/inotify/inotify_user.c.
func InotifyAddWatch(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	fd, pathAddr, mask := a.Int(0), a.Pointer(1), a.Uint(2)
	if mask&inotify.AllBits == 0 {
		return 0, unix.EINVAL
	}
	if mask&unix.IN_MASK_ADD != 0 && mask&unix.IN_MASK_CREATE != 0 {
		return 0, unix.EINVAL
	}
	in, f, err := inotifyOf(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	ctx := t.FileContext()
	atFlags := 0
	if mask&unix.IN_DONT_FOLLOW != 0 {
		atFlags = unix.AT_SYMLINK_NOFOLLOW
	}
	p, err := resolveAt(t, ctx, unix.AT_FDCWD, pathAddr, atFlags, true)
	if err != nil {
		return 0, err
	}
	if mask&unix.IN_ONLYDIR != 0 && !p.Dentry.IsDir() {
		return 0, unix.ENOTDIR
	}
	if err := t.Kernel().VFS.Permission(ctx, p, vfs.MayRead); err != nil {
		return 0, err
	}
	wd, err := in.AddWatch(p, mask)
	return uintptr(wd), err
}

// InotifyRmWatch implements inotify_rm_watch(2).
func InotifyRmWatch(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	in, f, err := inotifyOf(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, in.RemoveWatch(a.Int(1))
}
