package vm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// A pod in one VM: the pod's sandbox container boots the VM, and the
// pod's other containers join it later. QEMU's microvm machine cannot
// hotplug a 9p device, so the VM of a pod's sandbox container gets one
// share more at boot, "pod", of a directory of that container's state
// directory which is a shared mount on the host. A joining container's
// root and bind sources are bind-mounted under it in the host's mount
// namespace (StageInPod); mount propagation carries them to the
// supervisor's namespace (a slave of the host's: Main makes it one) and
// to QEMU's jail (its bind of the share is a slave of the same master),
// where QEMU's 9p server serves them to the guest.

// PodShareTag is the 9p tag of a pod's share.
const PodShareTag = "pod"

// podDirName is the pod's share in its sandbox container's state
// directory.
const podDirName = "pod"

// PodDir is the pod's share of the sandbox container whose state
// directory is stateDir.
func PodDir(stateDir string) string { return filepath.Join(stateDir, podDirName) }

// HasPodDir reports whether the sandbox container whose state
// directory is stateDir has a pod's share: its VM can take the pod's
// other containers.
func HasPodDir(stateDir string) bool {
	mounted, err := isMountPoint(PodDir(stateDir))
	return err == nil && mounted
}

// MakePodDir makes the pod's share in the state directory of a pod's
// sandbox container: a bind mount of itself, shared, so that what is
// mounted under it later in the host's namespace reaches the
// namespaces that have a slave of it.
func MakePodDir(stateDir string) (_ string, err error) {
	dir := PodDir(stateDir)
	// 0711: the guest walks it as the share's root, also as a
	// container's root of a user namespace (another host user).
	if err := os.Mkdir(dir, 0o711); err != nil {
		return "", fmt.Errorf("the pod's share: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Unmount(dir, unix.MNT_DETACH)
			os.Remove(dir)
		}
	}()
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		return "", fmt.Errorf("the pod's share: binding %s: %w", dir, err)
	}
	// The host's mounts may all be private (it is so in a container):
	// the share must be shared whatever they are.
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		return "", fmt.Errorf("the pod's share: making %s shared: %w", dir, err)
	}
	return dir, nil
}

// RemovePodDir unmounts the pod's share of the sandbox container whose
// state directory is stateDir, with whatever is still mounted under it
// (the mounts of a joined container that was not deleted first), and
// removes it; nothing is removed while a mount is left under it, so
// that no file of an image or a volume is ever deleted through it.
func RemovePodDir(stateDir string) error {
	dir := PodDir(stateDir)
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unmountUnder(dir); err != nil {
		return fmt.Errorf("the pod's share: %w", err)
	}
	return os.RemoveAll(dir)
}

// StageInPod mounts what a container joining a pod's VM needs under
// the pod's share podDir, in the host's mount namespace, and rewrites
// cfg's root and bind sources to their paths in the share: its root,
// read-only (the guest's overlay keeps the container's changes in the
// guest), at /ID/root, and the source of bind mount i at /ID/mI, with
// the mount's own rbind and ro. Each is made a detached copy first and
// attached once read-only (open_tree, mount_setattr, move_mount): a
// remount after would not reach the copies propagation has made by
// then. On error nothing is left mounted.
func StageInPod(podDir string, cfg *Config) (err error) {
	if cfg.ID == "" || strings.ContainsAny(cfg.ID, "/\x00") || cfg.ID == "." || cfg.ID == ".." {
		return fmt.Errorf("invalid container ID %q", cfg.ID)
	}
	dir := filepath.Join(podDir, cfg.ID)
	if err := os.Mkdir(dir, 0o711); err != nil {
		return fmt.Errorf("the container's directory in the pod's share: %w", err)
	}
	defer func() {
		if err != nil {
			UnstageFromPod(podDir, cfg.ID)
		}
	}()
	root := filepath.Join(dir, "root")
	if err := attachCopy(cfg.RootDir, root, true, true, unix.MS_PRIVATE); err != nil {
		return fmt.Errorf("the container's root: %w", err)
	}
	cfg.RootDir = "/" + cfg.ID + "/root"
	for i, m := range cfg.Mounts {
		if !isBind(m.Type, m.Options) {
			continue
		}
		name := "m" + strconv.Itoa(i)
		// Host mounts under a volume asked to receive them (rslave,
		// rshared) keep coming; nothing goes back to the host.
		propagation := uintptr(unix.MS_PRIVATE)
		for _, o := range []string{"slave", "rslave", "shared", "rshared"} {
			if hasOption(m.Options, o) {
				propagation = unix.MS_SLAVE
			}
		}
		if err := attachCopy(m.Source, filepath.Join(dir, name), hasOption(m.Options, "ro"), hasOption(m.Options, "rbind"), propagation); err != nil {
			return fmt.Errorf("mount %s: %w", m.Destination, err)
		}
		cfg.Mounts[i].Source = "/" + cfg.ID + "/" + name
	}
	return nil
}

// UnstageFromPod unmounts what StageInPod mounted for container id
// under the pod's share podDir, and removes its directory there; as
// RemovePodDir, it removes nothing while a mount is left.
func UnstageFromPod(podDir, id string) error {
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return fmt.Errorf("invalid container ID %q", id)
	}
	dir := filepath.Join(podDir, id)
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unmountUnder(dir); err != nil {
		return fmt.Errorf("container %s in the pod's share: %w", id, err)
	}
	return os.RemoveAll(dir)
}

// attachCopy mounts a copy of source (a directory or a file; with
// recursive, its submounts too) on target, made for it, read-only if
// readonly, with propagation (MS_PRIVATE or MS_SLAVE: never a peer of
// source's, whose mounts would otherwise come back to it).
func attachCopy(source, target string, readonly, recursive bool, propagation uintptr) error {
	st, err := os.Stat(source)
	if err != nil {
		return err
	}
	if err := mountPoint(target, st.IsDir()); err != nil {
		return err
	}
	treeFlags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	attrFlags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		treeFlags |= unix.AT_RECURSIVE
		attrFlags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, source, treeFlags)
	if err != nil {
		return fmt.Errorf("copying the mount of %s: %w", source, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Propagation: uint64(propagation)}
	if readonly {
		attr.Attr_set = unix.MOUNT_ATTR_RDONLY
	}
	if err := unix.MountSetattr(fd, "", attrFlags, &attr); err != nil {
		return fmt.Errorf("the copy of %s: %w", source, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mounting the copy of %s on %s: %w", source, target, err)
	}
	return nil
}

// unmountUnder detaches every mount at or under dir in this mount
// namespace, the deepest first, and checks that none is left.
func unmountUnder(dir string) error {
	points, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	for _, p := range points {
		// Detached lazily: QEMU may still hold a file of it open in the
		// supervisor's namespace, which a plain umount would wait for
		// (EBUSY) since propagation takes it there too. EINVAL: gone
		// with a mount above it.
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			return fmt.Errorf("unmounting %s: %w", p, err)
		}
	}
	if left, err := mountsUnder(dir); err != nil {
		return err
	} else if len(left) > 0 {
		return fmt.Errorf("%s is still mounted: nothing there is removed", left[0])
	}
	return nil
}

// mountsUnder lists the mount points at or under dir in this mount
// namespace, the deepest first.
func mountsUnder(dir string) ([]string, error) {
	infos, err := mountinfo.GetMounts(mountinfo.PrefixFilter(filepath.Clean(dir)))
	if err != nil {
		return nil, fmt.Errorf("reading /proc/self/mountinfo: %w", err)
	}
	points := make([]string, 0, len(infos))
	for _, m := range infos {
		points = append(points, m.Mountpoint)
	}
	sort.Slice(points, func(i, j int) bool { return strings.Count(points[i], "/") > strings.Count(points[j], "/") })
	return points, nil
}

// isMountPoint reports whether path is a mount point in this mount
// namespace.
func isMountPoint(path string) (bool, error) { return mountinfo.Mounted(path) }
