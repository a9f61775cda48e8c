package syscalls

import (
	"bytes"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"magawa/kernel/ipc/pipe"
	unixsock "magawa/kernel/ipc/unix"
	"magawa/kernel/kernel"
	"magawa/kernel/net/inet"
	"magawa/kernel/socket"
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

// openat is open(2) and openat(2): unknown flags are ignored, and O_PATH
// beats every flag it does not allow. Linux: fs/open.c, build_open_how().
func openat(t *kernel.Task, dirfd int32, pathAddr uintptr, flags int, mode uint32) (uintptr, error) {
	flags &= validOpenFlags
	if flags&unix.O_PATH != 0 {
		flags &= unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	}
	return openHow(t, dirfd, pathAddr, vfs.OpenHow{Flags: flags, Mode: mode & 0o7777})
}

// Openat2 implements openat2(2). Linux: fs/open.c, build_open_flags().
func Openat2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	size := a.Size(3)
	if size < 24 {
		return 0, unix.EINVAL
	}
	if size > 4096 {
		return 0, unix.E2BIG
	}
	buf := make([]byte, size)
	if n, err := t.CopyIn(a.Pointer(2), buf); err != nil || n != len(buf) {
		return 0, unix.EFAULT
	}
	for _, b := range buf[24:] {
		if b != 0 {
			return 0, unix.E2BIG
		}
	}
	flags := binary.LittleEndian.Uint64(buf[0:])
	mode := binary.LittleEndian.Uint64(buf[8:])
	resolve := binary.LittleEndian.Uint64(buf[16:])
	const validResolve = vfs.ResolveNoXdev | vfs.ResolveNoMagiclinks | vfs.ResolveNoSymlinks | vfs.ResolveBeneath | vfs.ResolveInRoot | vfs.ResolveCached
	if flags&^validOpenFlags != 0 || resolve&^validResolve != 0 ||
		resolve&vfs.ResolveBeneath != 0 && resolve&vfs.ResolveInRoot != 0 {
		return 0, unix.EINVAL
	}
	if mode&^0o7777 != 0 || mode != 0 && flags&unix.O_CREAT == 0 && flags&unix.O_TMPFILE != unix.O_TMPFILE {
		return 0, unix.EINVAL
	}
	if flags&unix.O_PATH != 0 && flags&^(unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|vfs.OLargefile) != 0 {
		return 0, unix.EINVAL
	}
	if resolve&vfs.ResolveCached != 0 {
		return 0, unix.EAGAIN // every lookup may block here
	}
	return openHow(t, a.Int(0), a.Pointer(1), vfs.OpenHow{Flags: int(flags), Mode: uint32(mode), Resolve: resolve})
}

// validOpenFlags are the flags openat2 accepts; open(2) ignores unknown
// ones. Linux: include/linux/fcntl.h, VALID_OPEN_FLAGS.
const validOpenFlags = unix.O_RDONLY | unix.O_WRONLY | unix.O_RDWR | unix.O_CREAT | unix.O_EXCL |
	unix.O_NOCTTY | unix.O_TRUNC | unix.O_APPEND | unix.O_NONBLOCK | unix.O_DSYNC | unix.O_ASYNC |
	unix.O_DIRECT | vfs.OLargefile | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_NOATIME |
	unix.O_CLOEXEC | unix.O_PATH | unix.O_TMPFILE | unix.O_SYNC

func openHow(t *kernel.Task, dirfd int32, pathAddr uintptr, how vfs.OpenHow) (uintptr, error) {
	name, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	if name == "" {
		return 0, unix.ENOENT
	}
	if how.Flags&unix.O_TMPFILE == unix.O_TMPFILE && how.Flags&unix.O_CREAT != 0 {
		return 0, unix.EINVAL
	}
	// Linux 6.4 and later refuse the ambiguous O_CREAT|O_DIRECTORY.
	if how.Flags&(unix.O_CREAT|unix.O_DIRECTORY) == unix.O_CREAT|unix.O_DIRECTORY && how.Flags&unix.O_TMPFILE != unix.O_TMPFILE {
		return 0, unix.EINVAL
	}
	ctx := t.FileContext()
	start, err := startAt(t, ctx, dirfd, name)
	if how.Resolve&(vfs.ResolveInRoot|vfs.ResolveBeneath) != 0 {
		// The walk's root is dirfd even for an absolute name.
		start, err = startAt(t, ctx, dirfd, "")
		if err == nil && !start.Dentry.IsDir() {
			err = unix.ENOTDIR
		}
	}
	if err != nil {
		return 0, err
	}
	f, err := t.Kernel().VFS.Open(ctx, start, name, how)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, how.Flags&unix.O_CLOEXEC != 0, t.MaxFDs())
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
	sx, err := f.Statx(t.FileContext(), unix.STATX_BASIC_STATS)
	if err != nil {
		return 0, err
	}
	return 0, statOut(t, &sx, a.Pointer(1))
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
	sx, err := statxAt(t, dirfd, pathAddr, flags, unix.STATX_BASIC_STATS)
	if err != nil {
		return 0, err
	}
	return 0, statOut(t, &sx, statAddr)
}

// statxAt stats the file a path argument names, or with AT_EMPTY_PATH
// and an empty name the descriptor dirfd (which may have no path).
func statxAt(t *kernel.Task, dirfd int32, pathAddr uintptr, flags int, mask uint32) (unix.Statx_t, error) {
	// Since Linux 6.11 a null path with AT_EMPTY_PATH names dirfd.
	var name string
	if pathAddr != 0 || flags&unix.AT_EMPTY_PATH == 0 {
		var err error
		if name, err = copyInPath(t, pathAddr); err != nil {
			return unix.Statx_t{}, err
		}
	}
	ctx := t.FileContext()
	if name == "" && flags&unix.AT_EMPTY_PATH != 0 && dirfd != unix.AT_FDCWD {
		f, err := getFile(t, dirfd)
		if err != nil {
			return unix.Statx_t{}, err
		}
		defer f.DecRef()
		return f.Statx(ctx, mask)
	}
	p, err := resolveNameAt(t, ctx, dirfd, name, flags, true)
	if err != nil {
		return unix.Statx_t{}, err
	}
	return p.Stat(ctx, mask)
}

func statOut(t *kernel.Task, sx *unix.Statx_t, addr uintptr) error {
	// unix.Stat_t has the layout of the kernel's struct stat on x86-64.
	st := vfs.StatFromStatx(sx)
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

// Getdents implements getdents(2), the call before getdents64 (old
// C libraries such as uClibc still make it): the same entries, with the
// file type in the record's last byte instead of before the name. On
// x86-64 a record is as long in either layout (both are 8-aligned 20 +
// name length), so the entries getdents64's layout fits fit here too.
// Linux: fs/readdir.c, filldir().
func Getdents(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
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
	out := make([]byte, 0, n)
	le := binary.LittleEndian
	for rec := buf[:n]; len(rec) >= 19; {
		// struct linux_dirent64: d_ino, d_off, d_reclen, d_type, d_name.
		reclen := int(le.Uint16(rec[16:]))
		if reclen < 19 || reclen > len(rec) {
			return 0, unix.EIO
		}
		name := rec[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		// struct linux_dirent: d_ino, d_off, d_reclen, d_name, NUL, d_type.
		size := (18 + len(name) + 2 + 7) &^ 7
		r := make([]byte, size)
		copy(r[0:16], rec[0:16])
		le.PutUint16(r[16:], uint16(size))
		copy(r[18:], name)
		r[size-1] = rec[18]
		out = append(out, r...)
		rec = rec[reclen:]
	}
	if _, err := t.CopyOut(a.Pointer(1), out); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(out)), nil
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
	ctx := t.FileContext()
	name, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	p, err := resolveNameAt(t, ctx, dirfd, name, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, false)
	if err != nil {
		if err == errNoPathFile {
			return 0, unix.ENOENT
		}
		return 0, err
	}
	if name == "" && p.Dentry.Type() != unix.S_IFLNK {
		// An empty path names dirfd itself, which is not a link.
		// Linux: fs/stat.c, do_readlinkat().
		return 0, unix.ENOENT
	}
	target, err := t.Kernel().VFS.Readlink(ctx, p)
	if err != nil {
		return 0, err
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

// faccessat checks access with the real IDs (or the effective ones with
// AT_EACCESS). Linux: fs/open.c, do_faccessat(): with real IDs other
// than 0, capabilities do not apply.
func faccessat(t *kernel.Task, dirfd int32, pathAddr uintptr, mode uint32, flags int) (uintptr, error) {
	if mode&^7 != 0 {
		return 0, unix.EINVAL
	}
	if flags&^(unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	ctx := t.FileContext()
	if flags&unix.AT_EACCESS == 0 {
		c := t.Credentials()
		creds := *ctx.Creds
		creds.UID, creds.GID = c.UID, c.GID
		if c.UID != 0 {
			creds.Caps = 0
		}
		ctx.Creds = &creds
	}
	p, err := resolveAt(t, ctx, dirfd, pathAddr, flags, true)
	if err != nil {
		if err == errNoPathFile {
			return 0, nil // a pipe or socket: it exists
		}
		return 0, err
	}
	if mode == unix.F_OK {
		return 0, nil
	}
	var may uint32
	if mode&unix.R_OK != 0 {
		may |= vfs.MayRead
	}
	if mode&unix.W_OK != 0 {
		may |= vfs.MayWrite
	}
	if mode&unix.X_OK != 0 {
		may |= vfs.MayExec
	}
	return 0, t.Kernel().VFS.Permission(ctx, p, may)
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
		r, err := io.Ioctl(t, req, a.Pointer(2))
		if err != unix.ENOTTY || !inet.IsInterfaceIoctl(req) || !isSocket(f) {
			return r, err
		}
	} else if !inet.IsInterfaceIoctl(req) || !isSocket(f) {
		return 0, unix.ENOTTY
	}
	// Linux answers the netdevice(7) queries on a socket of any family
	// whose own ioctl does not know them (net/socket.c, sock_do_ioctl()):
	// glibc's if_nametoindex and if_indextoname ask a Unix socket.
	st, err := t.Kernel().Network()
	if err != nil {
		return 0, unix.ENODEV
	}
	return st.InterfaceIoctl(t, req, a.Pointer(2))
}

// isSocket reports whether f is a socket of any family.
func isSocket(f *vfs.File) bool {
	if _, ok := unixsock.Of(f); ok {
		return true
	}
	_, ok := socket.Of(f)
	return ok
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
	case unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW, fOFDGetlk, fOFDSetlk, fOFDSetlkw:
		return fcntlLock(t, f, cmd, a.Pointer(2))
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
	case unix.F_ADD_SEALS, unix.F_GET_SEALS:
		return fcntlSeals(f, cmd, a.Uint(2))
	}
	return 0, unix.EINVAL
}

// Getcwd implements getcwd(2). A working directory outside the root
// (after chroot) is "(unreachable)/..."; a removed one fails with ENOENT.
// Linux: fs/d_path.c, getcwd.
func Getcwd(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	root, cwd := t.Directories()
	if cwd.Dentry.Dead() {
		return 0, unix.ENOENT
	}
	name, reachable := t.Kernel().VFS.PathName(root, cwd)
	if !reachable {
		name = "(unreachable)" + name
	}
	b := append([]byte(name), 0)
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
	ctx := t.FileContext()
	p, err := resolveAt(t, ctx, unix.AT_FDCWD, a.Pointer(0), 0, true)
	if err != nil {
		return 0, err
	}
	if err := searchableDir(t, ctx, p); err != nil {
		return 0, err
	}
	t.SetWorkingDirectory(p)
	return 0, nil
}

// Fchdir implements fchdir(2).
func Fchdir(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	p := f.Path()
	if p.IsZero() {
		return 0, unix.ENOTDIR
	}
	if err := searchableDir(t, t.FileContext(), p); err != nil {
		return 0, err
	}
	t.SetWorkingDirectory(p)
	return 0, nil
}

// Chroot implements chroot(2).
func Chroot(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	ctx := t.FileContext()
	p, err := resolveAt(t, ctx, unix.AT_FDCWD, a.Pointer(0), 0, true)
	if err != nil {
		return 0, err
	}
	if err := searchableDir(t, ctx, p); err != nil {
		return 0, err
	}
	if !ctx.Creds.HasCap(vfs.CapSysChroot) {
		return 0, unix.EPERM
	}
	t.SetRoot(p)
	return 0, nil
}

func searchableDir(t *kernel.Task, ctx *vfs.Context, p vfs.Path) error {
	if !p.Dentry.IsDir() {
		return unix.ENOTDIR
	}
	return t.Kernel().VFS.Permission(ctx, p, vfs.MayExec)
}

// Umask implements umask(2).
func Umask(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.SetUmask(a.Uint(0) & 0o777)), nil
}

// Generic descriptor ioctls. Linux: include/uapi/asm-generic/ioctls.h.
const (
	fionread = 0x541b
	fionbio  = 0x5421
	fionclex = 0x5450
	fioclex  = 0x5451
)
