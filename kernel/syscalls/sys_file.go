package syscalls

import (
	"path"

	"golang.org/x/sys/unix"

	"magawa/kernel/ipc/pipe"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// Open implements open(2).
func Open(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return openat(t, unix.AT_FDCWD, a.Pointer(0), int(a.Int(1)), a.Uint(2))
}

// Openat implements openat(2).
func Openat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return openat(t, a.Int(0), a.Pointer(1), int(a.Int(2)), a.Uint(3))
}

// Creat implements creat(2).
func Creat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return openat(t, unix.AT_FDCWD, a.Pointer(0), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, a.Uint(1))
}

func openat(t *kernel.Task, dirfd int32, pathAddr uintptr, flags int, mode uint32) (uintptr, error) {
	name, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	if name == "" {
		return 0, unix.ENOENT
	}
	p, err := resolvePath(t, dirfd, name)
	if err != nil {
		return 0, err
	}
	f, err := t.Kernel().Root.Open(p, flags, mode&0o7777)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, flags&unix.O_CLOEXEC != 0, t.MaxFDs())
	return uintptr(fd), err
}

// Close implements close(2).
func Close(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.FDTable().Remove(int(a.Int(0)))
}

// Fstat implements fstat(2).
func Fstat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, statOut(t, f, a.Pointer(1))
}

// Stat implements stat(2).
func Stat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fstatat(t, unix.AT_FDCWD, a.Pointer(0), a.Pointer(1), 0)
}

// Lstat implements lstat(2).
func Lstat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fstatat(t, unix.AT_FDCWD, a.Pointer(0), a.Pointer(1), unix.AT_SYMLINK_NOFOLLOW)
}

// Newfstatat implements newfstatat(2).
func Newfstatat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return fstatat(t, a.Int(0), a.Pointer(1), a.Pointer(2), int(a.Int(3)))
}

func fstatat(t *kernel.Task, dirfd int32, pathAddr, statAddr uintptr, flags int) (uintptr, error) {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT) != 0 {
		return 0, unix.EINVAL
	}
	f, err := lookupAt(t, dirfd, pathAddr, flags)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, statOut(t, f, statAddr)
}

func statOut(t *kernel.Task, f *vfs.File, addr uintptr) error {
	var st unix.Stat_t
	if err := f.Impl.Stat(&st); err != nil {
		return err
	}
	// unix.Stat_t has the layout of the kernel's struct stat on x86-64.
	return copyOutStruct(t, addr, &st)
}

// Lseek implements lseek(2).
func Lseek(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	off, err := f.Seek(a.Int64(1), int(a.Int(2)))
	return uintptr(off), err
}

// Getdents64 implements getdents64(2).
func Getdents64(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	count := min(a.Uint(2), 1<<20)
	buf := make([]byte, count)
	n, err := f.Getdents(buf)
	if err != nil {
		return 0, err
	}
	if _, err := t.CopyOut(a.Pointer(1), buf[:n]); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(n), nil
}

// Readlink implements readlink(2).
func Readlink(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return readlinkat(t, unix.AT_FDCWD, a.Pointer(0), a.Pointer(1), a.Int(2))
}

// Readlinkat implements readlinkat(2).
func Readlinkat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return readlinkat(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Int(3))
}

func readlinkat(t *kernel.Task, dirfd int32, pathAddr, buf uintptr, size int32) (uintptr, error) {
	if size <= 0 {
		return 0, unix.EINVAL
	}
	name, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	target, ok := t.MagicLink(name)
	if !ok || (dirfd != unix.AT_FDCWD && !path.IsAbs(name)) {
		f, err := openAt(t, dirfd, name, unix.O_PATH|unix.O_NOFOLLOW, true)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		rl, ok := f.Impl.(vfs.ReadlinkImpl)
		if !ok {
			return 0, unix.EINVAL
		}
		if target, err = rl.Readlink(); err != nil {
			return 0, err
		}
	}
	b := []byte(target)
	if len(b) > int(size) {
		b = b[:size]
	}
	if _, err := t.CopyOut(buf, b); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(b)), nil
}

// Access implements access(2).
func Access(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return faccessat(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1), 0)
}

// Faccessat implements faccessat(2).
func Faccessat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return faccessat(t, a.Int(0), a.Pointer(1), a.Uint(2), 0)
}

// Faccessat2 implements faccessat2(2).
func Faccessat2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return faccessat(t, a.Int(0), a.Pointer(1), a.Uint(2), int(a.Int(3)))
}

// faccessat checks access with the real IDs (or effective with
// AT_EACCESS). Linux: fs/open.c, do_faccessat(), and
// fs/namei.c, generic_permission().
func faccessat(t *kernel.Task, dirfd int32, pathAddr uintptr, mode uint32, flags int) (uintptr, error) {
	if mode&^7 != 0 {
		return 0, unix.EINVAL
	}
	if flags&^(unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	f, err := lookupAt(t, dirfd, pathAddr, flags)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if mode == unix.F_OK {
		return 0, nil
	}
	var st unix.Stat_t
	if err := f.Impl.Stat(&st); err != nil {
		return 0, err
	}
	c := t.Credentials()
	uid, gid := c.UID, c.GID
	if flags&unix.AT_EACCESS != 0 {
		uid, gid = c.EUID, c.EGID
	}
	if mode&unix.W_OK != 0 && st.Mode&unix.S_IFMT != unix.S_IFCHR && st.Mode&unix.S_IFMT != unix.S_IFIFO && st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return 0, unix.EROFS // the v0 root is read-only
	}
	if uid == 0 {
		// Root passes read and write checks; execute needs some x bit
		// (or a directory).
		if mode&unix.X_OK != 0 && st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Mode&0o111 == 0 {
			return 0, unix.EACCES
		}
		return 0, nil
	}
	perm := st.Mode & 7
	if st.Uid == uid {
		perm = st.Mode >> 6 & 7
	} else if st.Gid == gid || inGroups(c.Groups, st.Gid) {
		perm = st.Mode >> 3 & 7
	}
	if mode&^perm != 0 {
		return 0, unix.EACCES
	}
	return 0, nil
}

func inGroups(groups []uint32, gid uint32) bool {
	for _, g := range groups {
		if g == gid {
			return true
		}
	}
	return false
}

// Ioctl implements ioctl(2).
func Ioctl(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	fd := a.Int(0)
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	req := a.Uint(1)
	switch req {
	case fioclex:
		return 0, t.FDTable().SetCloexec(int(fd), true)
	case fionclex:
		return 0, t.FDTable().SetCloexec(int(fd), false)
	}
	if f.Flags()&unix.O_PATH != 0 {
		return 0, unix.EBADF
	}
	if p, ok := pipe.Of(f); ok && req == fionread {
		n := int32(p.Available())
		return 0, copyOutStruct(t, a.Pointer(2), &n)
	}
	if req == fionbio {
		var on int32
		if err := copyInStruct(t, a.Pointer(2), &on); err != nil {
			return 0, err
		}
		fl := f.Flags() &^ unix.O_NONBLOCK
		if on != 0 {
			fl |= unix.O_NONBLOCK
		}
		f.SetFlags(fl)
		return 0, nil
	}
	if io, ok := f.Impl.(vfs.IoctlImpl); ok {
		return io.Ioctl(t, req, a.Pointer(2))
	}
	return 0, unix.ENOTTY
}

// Dup implements dup(2).
func Dup(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, false, t.MaxFDs())
	return uintptr(fd), err
}

// Dup2 implements dup2(2).
func Dup2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	oldfd, newfd := a.Int(0), a.Int(1)
	f, err := getFile(t, oldfd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if oldfd == newfd {
		return uintptr(newfd), nil
	}
	return uintptr(newfd), t.FDTable().InstallAt(int(newfd), f, false, t.MaxFDs())
}

// Dup3 implements dup3(2).
func Dup3(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	oldfd, newfd, flags := a.Int(0), a.Int(1), a.Int(2)
	if flags&^unix.O_CLOEXEC != 0 || oldfd == newfd {
		return 0, unix.EINVAL
	}
	f, err := getFile(t, oldfd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return uintptr(newfd), t.FDTable().InstallAt(int(newfd), f, flags&unix.O_CLOEXEC != 0, t.MaxFDs())
}

// Fcntl implements fcntl(2) for descriptor and status flags and
// duplication. Linux: fs/fcntl.c, do_fcntl().
func Fcntl(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	fd, cmd := a.Int(0), a.Int(1)
	f, cloexec, err := t.FDTable().Get(int(fd))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		min := a.Int(2)
		if min < 0 || int(min) >= t.MaxFDs() {
			return 0, unix.EINVAL
		}
		nfd, err := t.FDTable().Install(f, int(min), cmd == unix.F_DUPFD_CLOEXEC, t.MaxFDs())
		return uintptr(nfd), err
	case unix.F_GETFD:
		return boolToInt(cloexec), nil
	case unix.F_SETFD:
		return 0, t.FDTable().SetCloexec(int(fd), a.Int(2)&unix.FD_CLOEXEC != 0)
	case unix.F_GETFL:
		return uintptr(f.Flags() &^ unix.O_CLOEXEC), nil
	case unix.F_SETFL:
		if f.Flags()&unix.O_PATH != 0 {
			return 0, unix.EBADF
		}
		f.SetFlags(int(a.Int(2)))
		return 0, nil
	case unix.F_GETPIPE_SZ:
		if p, ok := pipe.Of(f); ok {
			return uintptr(p.Size()), nil
		}
		return 0, unix.EBADF
	case unix.F_SETPIPE_SZ:
		if p, ok := pipe.Of(f); ok {
			n, err := p.SetSize(int(a.Int(2)))
			return uintptr(n), err
		}
		return 0, unix.EBADF
	}
	return 0, unix.EINVAL
}

// Getcwd implements getcwd(2).
func Getcwd(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	b := append([]byte(t.Cwd()), 0)
	if uint64(len(b)) > a.Size(1) {
		return 0, unix.ERANGE
	}
	if _, err := t.CopyOut(a.Pointer(0), b); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(b)), nil
}

// Chdir implements chdir(2).
func Chdir(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	name, err := copyInPath(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	p, err := resolvePath(t, unix.AT_FDCWD, name)
	if err != nil {
		return 0, err
	}
	if name == "" {
		return 0, unix.ENOENT
	}
	f, err := t.Kernel().Root.Open(p, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if pi, ok := f.Impl.(vfs.PathImpl); ok {
		p = pi.Path() // symbolic links resolved
	}
	t.SetCwd(p)
	return 0, nil
}

// Fchdir implements fchdir(2).
func Fchdir(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	pi, ok := f.Impl.(vfs.PathImpl)
	if _, isDir := f.Impl.(vfs.DirectoryImpl); !ok || !isDir {
		return 0, unix.ENOTDIR
	}
	t.SetCwd(pi.Path())
	return 0, nil
}

// Generic descriptor ioctls. Linux: include/uapi/asm-generic/ioctls.h.
const (
	fionread = 0x541b
	fionbio  = 0x5421
	fionclex = 0x5450
	fioclex  = 0x5451
)
