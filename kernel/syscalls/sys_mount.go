package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// This file holds mount(2), umount2(2), pivot_root(2) and statfs(2):
// the sandbox's own mount tree, never the host's.

// mountDataMax is the most mount(2) reads of its data page.
const mountDataMax = 4096

// Mount implements mount(2). Linux: fs/namespace.c, path_mount().
func Mount(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	srcAddr, targetAddr, typeAddr, flags, dataAddr := a.Pointer(0), a.Pointer(1), a.Pointer(2), uint64(a.Pointer(3)), a.Pointer(4)
	ctx := t.FileContext()
	if !ctx.Creds.HasCap(vfs.CapSysAdmin) {
		return 0, unix.EPERM
	}
	target, err := resolveAt(t, ctx, unix.AT_FDCWD, targetAddr, 0, true)
	if err != nil {
		return 0, err
	}
	v := t.Kernel().VFS
	if flags&0xffff0000 == 0xc0ed0000 { // MS_MGC_VAL: old magic, ignored
		flags &^= 0xffff0000
	}
	perMount := uint32(flags) & (vfs.MountReadOnly | vfs.MountNoSuid | vfs.MountNoDev | vfs.MountNoExec | vfs.MountNoAtime)
	const propagation = unix.MS_SHARED | unix.MS_PRIVATE | unix.MS_SLAVE | unix.MS_UNBINDABLE
	switch {
	case flags&unix.MS_REMOUNT != 0:
		// A remount changes the mount's flags (with MS_BIND, only the
		// per-mount ones; without it, file system options we do not
		// offer to change).
		return 0, v.Remount(target, perMount)
	case flags&unix.MS_BIND != 0:
		source, err := resolveAt(t, ctx, unix.AT_FDCWD, srcAddr, 0, true)
		if err != nil {
			return 0, err
		}
		return 0, v.BindMount(ctx, source, target, perMount, flags&unix.MS_REC != 0)
	case flags&propagation != 0:
		// The sandbox's mount namespace has no peers to propagate to:
		// every propagation type behaves as private, which is what is
		// asked or indistinguishable from it.
		if target.Dentry != target.Mount.Root() {
			return 0, unix.EINVAL
		}
		return 0, nil
	case flags&unix.MS_MOVE != 0:
		source, err := resolveAt(t, ctx, unix.AT_FDCWD, srcAddr, 0, true)
		if err != nil {
			return 0, err
		}
		return 0, v.Move(source, target)
	}
	fsType, err := t.CopyInString(typeAddr, 64)
	if err != nil {
		return 0, err
	}
	source := ""
	if srcAddr != 0 {
		if source, err = copyInPath(t, srcAddr); err != nil {
			return 0, err
		}
	}
	data := ""
	if dataAddr != 0 {
		if data, err = t.CopyInString(dataAddr, mountDataMax); err != nil && err != unix.ENAMETOOLONG {
			return 0, err
		}
	}
	make, ok := v.FileSystemTypeByName(fsType)
	if !ok {
		return 0, unix.ENODEV
	}
	if !target.Dentry.IsDir() {
		return 0, unix.ENOTDIR
	}
	fs, err := make(ctx, source, uint32(flags), data)
	if err != nil {
		return 0, err
	}
	_, err = v.Mount(ctx, target, fs, source, perMount)
	return 0, err
}

// Umount2 implements umount2(2). Every unmount is lazy (MNT_DETACH):
// open files keep working.
func Umount2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	flags := int(a.Int(1))
	if flags&^(unix.MNT_FORCE|unix.MNT_DETACH|unix.MNT_EXPIRE|unix.UMOUNT_NOFOLLOW) != 0 ||
		flags&unix.MNT_EXPIRE != 0 && flags&(unix.MNT_FORCE|unix.MNT_DETACH) != 0 {
		return 0, unix.EINVAL
	}
	ctx := t.FileContext()
	if !ctx.Creds.HasCap(vfs.CapSysAdmin) {
		return 0, unix.EPERM
	}
	at := 0
	if flags&unix.UMOUNT_NOFOLLOW != 0 {
		at = unix.AT_SYMLINK_NOFOLLOW
	}
	p, err := resolveAt(t, ctx, unix.AT_FDCWD, a.Pointer(0), at, true)
	if err != nil {
		return 0, err
	}
	if flags&unix.MNT_EXPIRE != 0 {
		return 0, unix.EAGAIN
	}
	return 0, t.Kernel().VFS.Umount(p)
}

// PivotRoot implements pivot_root(2).
func PivotRoot(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	ctx := t.FileContext()
	if !ctx.Creds.HasCap(vfs.CapSysAdmin) {
		return 0, unix.EPERM
	}
	newRoot, err := resolveAt(t, ctx, unix.AT_FDCWD, a.Pointer(0), 0, true)
	if err != nil {
		return 0, err
	}
	putOld, err := resolveAt(t, ctx, unix.AT_FDCWD, a.Pointer(1), 0, true)
	if err != nil {
		return 0, err
	}
	if !newRoot.Dentry.IsDir() || !putOld.Dentry.IsDir() {
		return 0, unix.ENOTDIR
	}
	oldRoot := ctx.Root
	if err := t.Kernel().VFS.PivotRoot(oldRoot, newRoot, putOld); err != nil {
		return 0, err
	}
	// Every task whose root or working directory was the old root moves
	// to the new one. Linux: fs/namespace.c, chroot_fs_refs().
	t.Kernel().ReplaceDirectories(oldRoot, newRoot)
	return 0, nil
}

// Statfs implements statfs(2).
func Statfs(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	ctx := t.FileContext()
	p, err := resolveAt(t, ctx, unix.AT_FDCWD, a.Pointer(0), 0, true)
	if err != nil {
		return 0, err
	}
	st, err := t.Kernel().VFS.Statfs(ctx, p)
	if err != nil {
		return 0, err
	}
	return 0, copyOutStruct(t, a.Pointer(1), &st)
}

// Fstatfs implements fstatfs(2).
func Fstatfs(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	p := f.Path()
	var st unix.Statfs_t
	if p.IsZero() {
		// Pipes and sockets live on pseudo file systems of their own.
		st = unix.Statfs_t{Type: 0x50495045 /* PIPEFS_MAGIC */, Bsize: 4096, Frsize: 4096, Namelen: 255, Flags: 0x20}
	} else if st, err = t.Kernel().VFS.Statfs(t.FileContext(), p); err != nil {
		return 0, err
	}
	return 0, copyOutStruct(t, a.Pointer(1), &st)
}

// SyncImpl is implemented by files whose data may be cached outside the
// kernel's memory (host files): fsync pushes it down.
type SyncImpl interface {
	Sync(dataOnly bool) error
}

// Fsync implements fsync(2).
func Fsync(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fsync(t, a.Int(0), false)
}

// Fdatasync implements fdatasync(2).
func Fdatasync(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fsync(t, a.Int(0), true)
}

func fsync(t *kernel.Task, fd int32, dataOnly bool) (uintptr, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if vfs.IsPathOnly(f) {
		return 0, unix.EBADF
	}
	if s, ok := f.Impl.(SyncImpl); ok {
		return 0, s.Sync(dataOnly)
	}
	if f.Path().IsZero() {
		return 0, unix.EINVAL // pipes, sockets, event descriptors
	}
	// Files kept in the kernel's memory have nowhere further to go.
	return 0, nil
}

// Sync implements sync(2): every file's data reaches its store when
// written (host files are written through), so there is nothing left
// to flush.
func Sync(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) { return 0, nil }

// Syncfs implements syncfs(2).
func Syncfs(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	f.DecRef()
	return 0, nil
}

// CloseRange implements close_range(2).
func CloseRange(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	first, last, flags := a.Uint(0), a.Uint(1), a.Uint(2)
	const closeRangeUnshare, closeRangeCloexec = 1 << 1, 1 << 2
	if flags&^(closeRangeUnshare|closeRangeCloexec) != 0 || first > last {
		return 0, unix.EINVAL
	}
	if flags&closeRangeUnshare != 0 {
		t.UnshareFiles()
	}
	end := int(min(last, 1<<30))
	t.FDTable().CloseRange(int(first), end, flags&closeRangeCloexec != 0)
	return 0, nil
}
