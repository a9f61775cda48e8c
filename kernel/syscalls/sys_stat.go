package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// Statx implements statx(2). Linux: fs/stat.c.
func Statx(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	dirfd, pathAddr, flags, mask, buf := a.Int(0), a.Pointer(1), int(a.Int(2)), a.Uint(3), a.Pointer(4)
	const syncMask = 0x6000 // AT_STATX_SYNC_TYPE
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|syncMask) != 0 ||
		flags&syncMask == syncMask || mask&unix.STATX__RESERVED != 0 {
		return 0, unix.EINVAL
	}
	f, err := lookupAt(t, dirfd, pathAddr, flags)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	stx, err := statxOf(f, mask, flags&syncMask)
	if err != nil {
		return 0, err
	}
	return 0, copyOutStruct(t, buf, &stx)
}

// statxOf answers statx for f, from Stat when the file system has
// nothing better.
func statxOf(f *vfs.File, mask uint32, syncFlags int) (unix.Statx_t, error) {
	if sx, ok := f.Impl.(vfs.StatxImpl); ok {
		return sx.Statx(mask, syncFlags)
	}
	var st unix.Stat_t
	if err := f.Impl.Stat(&st); err != nil {
		return unix.Statx_t{}, err
	}
	return unix.Statx_t{
		Mask:       unix.STATX_BASIC_STATS,
		Blksize:    uint32(st.Blksize),
		Nlink:      uint32(st.Nlink),
		Uid:        st.Uid,
		Gid:        st.Gid,
		Mode:       uint16(st.Mode),
		Ino:        st.Ino,
		Size:       uint64(st.Size),
		Blocks:     uint64(st.Blocks),
		Atime:      unix.StatxTimestamp{Sec: st.Atim.Sec, Nsec: uint32(st.Atim.Nsec)},
		Ctime:      unix.StatxTimestamp{Sec: st.Ctim.Sec, Nsec: uint32(st.Ctim.Nsec)},
		Mtime:      unix.StatxTimestamp{Sec: st.Mtim.Sec, Nsec: uint32(st.Mtim.Nsec)},
		Rdev_major: unix.Major(st.Rdev),
		Rdev_minor: unix.Minor(st.Rdev),
		Dev_major:  unix.Major(st.Dev),
		Dev_minor:  unix.Minor(st.Dev),
	}, nil
}
