package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
)

// Statx implements statx(2). Linux: fs/stat.c.
func Statx(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	dirfd, pathAddr, flags, mask, buf := a.Int(0), a.Pointer(1), int(a.Int(2)), a.Uint(3), a.Pointer(4)
	const syncMask = 0x6000 // AT_STATX_SYNC_TYPE
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|syncMask) != 0 ||
		flags&syncMask == syncMask || mask&unix.STATX__RESERVED != 0 {
		return 0, unix.EINVAL
	}
	stx, err := statxAt(t, dirfd, pathAddr, flags, mask)
	if err != nil {
		return 0, err
	}
	return 0, copyOutStruct(t, buf, &stx)
}
