package confine

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pivotToEmptyRoot makes the process's root a read-only tmpfs holding
// nothing but /proc, a fresh proc file system of this PID namespace, and
// detaches the host's root from the mount namespace.
//
// The kernel needs /proc after this, and only for its stubs: the
// platform executes the stub through /proc/self/fd/N (a memfd), waits
// for stub threads to be gone with a stat of /proc/PID/task/TID, and
// reads their CPU time from /proc/PID/task/TID/schedstat. The mount is
// read-only (so that even root's uid, which passes the permission bits
// of /proc/sys, writes nothing) and, with subset=pid (Linux 5.8), holds
// only the processes of the sandbox: this one, its stubs and the gofer,
// whose own directories ptrace(2)'s checks close to us. noexec does not
// stop the stub's exec: the file executed is the memfd, on the host's
// internal shmem mount, not the magic link in /proc.
func pivotToEmptyRoot() error {
	// Nothing below may reach the launcher's mounts.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making the mounts private: %w", err)
	}
	proc, err := mountProc()
	if err != nil {
		return fmt.Errorf("mounting proc: %w", err)
	}
	defer unix.Close(proc)
	oldRoot, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the old root: %w", err)
	}
	defer unix.Close(oldRoot)
	newRoot, err := MountTmpfs("mode=0555,size=4k,nr_inodes=4")
	if err != nil {
		return fmt.Errorf("making the root tmpfs: %w", err)
	}
	defer unix.Close(newRoot)
	// Stacked on the old root, the tmpfs can be pivoted into.
	if err := unix.MoveMount(newRoot, "", unix.AT_FDCWD, "/", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attaching the root tmpfs: %w", err)
	}
	if err := unix.Mkdirat(newRoot, "proc", 0o555); err != nil {
		return fmt.Errorf("making /proc: %w", err)
	}
	if err := unix.MoveMount(proc, "", newRoot, "proc", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attaching proc: %w", err)
	}
	if err := Pivot(newRoot, oldRoot); err != nil {
		return err
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", 0, &attr); err != nil {
		return fmt.Errorf("making the root read-only: %w", err)
	}
	return nil
}

// mountProc makes a detached proc mount of this process's PID namespace
// and returns its descriptor.
func mountProc() (int, error) {
	fsfd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fsfd)
	// Before Linux 5.8 proc has no subset option: the rest of it then
	// shows, read-only.
	if err := unix.FsconfigSetString(fsfd, "subset", "pid"); err != nil && err != unix.EINVAL {
		return -1, fmt.Errorf("proc option subset=pid: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, err
	}
	return unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC,
		unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC)
}

// MountTmpfs makes a detached tmpfs mount (nodev, nosuid, noexec) with
// options, and returns its mount descriptor.
func MountTmpfs(options string) (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fsfd)
	for _, opt := range strings.Split(options, ",") {
		k, v, _ := strings.Cut(opt, "=")
		if err := unix.FsconfigSetString(fsfd, k, v); err != nil {
			return -1, fmt.Errorf("tmpfs option %s: %w", opt, err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, err
	}
	return unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC)
}

// Pivot makes newRoot (a mount stacked on the root) the process's root
// and detaches the old root, as runc does: pivot_root(".", ".") from
// inside the new root puts the old root on top of it, where the old
// root's descriptor can name it for the unmount.
func Pivot(newRoot, oldRoot int) error {
	if err := unix.Fchdir(newRoot); err != nil {
		return fmt.Errorf("entering the new root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("entering the old root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("entering the root: %w", err)
	}
	return nil
}

// checkNoDirectories fails if the process holds a descriptor of a
// directory: the host's (a descriptor opened before the pivot still
// names it), from which /proc/self/fd/N/.. would walk out of the empty
// root. The kernel's descriptors are memfds, sockets, pipes, terminals
// and the host files the gofer donates, never directories.
func checkNoDirectories() error {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("listing descriptors: %w", err)
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("listing descriptors: %w", err)
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd == int(dir.Fd()) {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			continue // closed since the listing
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			target, _ := os.Readlink("/proc/self/fd/" + name)
			return fmt.Errorf("descriptor %d is a directory (%s): it would lead out of the sandbox process's root", fd, target)
		}
	}
	return nil
}
