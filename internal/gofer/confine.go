package gofer

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/internal/confine"
)

// confineExports makes the gofer process see nothing but its exports, and
// drops the privileges it does not need. It runs in the gofer's own
// mount namespace (Start's Unshareflags) before anything is served, and
// returns the exports as they are then named: "/0", "/1", ...
//
//  1. Every mount becomes private, so nothing done here reaches the host.
//  2. Each export is cloned with its submounts (open_tree(OPEN_TREE_CLONE
//     | AT_RECURSIVE)): a detached copy that later changes cannot alter.
//     An export may be a single regular file (an OCI bind mount of
//     /etc/resolv.conf): it is served as a directory holding only that
//     file, under its base name, so its host siblings stay out of reach.
//  3. A small tmpfs becomes the new root, each clone is attached at
//     /N in it, and the process pivots into it and detaches the old root:
//     the host's other directories are no longer reachable by any path.
//  4. Kernel file systems inside the exports (the host's /proc, /sys and
//     /dev and whatever is mounted below them, any other proc, sysfs,
//     cgroup... mount) are detached; an export of the host's / gets empty
//     read-only directories in place of its /proc, /sys and /dev.
//  5. Every export's mounts become nodev and nosuid (so the gofer cannot
//     open a device node, whatever races it) and, for read-only exports,
//     read-only; so does the tmpfs root.
//  6. Capabilities are cut to the five file ones (keptCaps, through
//     confine.DropCapabilities), with
//     no_new_privs, and the umask is cleared (the client sets modes).
func confineExports(exports []Export) ([]Export, error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("making mounts private: %w", err)
	}
	procFD, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening /proc: %w", err)
	}
	defer unix.Close(procFD)
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(procFD, &sfs); err != nil || sfs.Type != unix.PROC_SUPER_MAGIC {
		return nil, fmt.Errorf("/proc is not a proc file system")
	}
	hostRoot, err := fileKey("/")
	if err != nil {
		return nil, err
	}
	hostInfo, err := readMountinfo(procFD)
	if err != nil {
		return nil, err
	}
	// The devices of the host's /proc, /sys and /dev and of everything
	// mounted below them, so that a bind mount of any of them elsewhere
	// is recognized too.
	kernelDevs := map[uint64]bool{}
	for _, m := range hostInfo {
		if below(m.point, hiddenDirs) {
			kernelDevs[m.dev] = true
		}
	}

	// 2. Clone the exports while their host paths still resolve.
	trees := make([]int, len(exports))
	isHostRoot := make([]bool, len(exports))
	for i := range trees {
		trees[i] = -1
	}
	defer func() {
		for _, fd := range trees {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}()
	// points are where each clone is attached: /N for a directory, /N/NAME
	// for a single file (served as a directory holding only it).
	points := make([]string, len(exports))
	for i, e := range exports {
		k, err := fileKey(e.Path)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", e.Path, err)
		}
		points[i] = "/" + strconv.Itoa(i)
		if !k.dir {
			if !k.reg {
				return nil, fmt.Errorf("export %s: neither a directory nor a regular file", e.Path)
			}
			points[i] += "/" + path.Base(e.Path)
		}
		isHostRoot[i] = k.dev == hostRoot.dev && k.ino == hostRoot.ino
		fd, err := unix.OpenTree(unix.AT_FDCWD, e.Path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if err != nil {
			return nil, fmt.Errorf("cloning export %s: %w", e.Path, err)
		}
		trees[i] = fd
	}

	// 3. The new root: a tmpfs stacked on the old one, holding the
	// clones, then pivot_root into it.
	oldRoot, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the old root: %w", err)
	}
	defer unix.Close(oldRoot)
	newRoot, err := confine.MountTmpfs("mode=0755,size=64k,nr_inodes=1024")
	if err != nil {
		return nil, fmt.Errorf("making the root tmpfs: %w", err)
	}
	defer unix.Close(newRoot)
	if err := unix.MoveMount(newRoot, "", unix.AT_FDCWD, "/", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return nil, fmt.Errorf("attaching the root tmpfs: %w", err)
	}
	for i := range exports {
		name := strconv.Itoa(i)
		if err := unix.Mkdirat(newRoot, name, 0o755); err != nil {
			return nil, fmt.Errorf("making the mount point of export %d: %w", i, err)
		}
		if point := points[i][1:]; point != name {
			fd, err := unix.Openat(newRoot, point, unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
			if err != nil {
				return nil, fmt.Errorf("making the mount point of export %d: %w", i, err)
			}
			unix.Close(fd)
		}
		if err := unix.MoveMount(trees[i], "", newRoot, points[i][1:], unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return nil, fmt.Errorf("attaching export %s: %w", exports[i].Path, err)
		}
	}
	if err := confine.Pivot(newRoot, oldRoot); err != nil {
		return nil, err
	}

	// 4. Hide kernel file systems. The mount table, read through the
	// /proc opened before, now lists only our mounts.
	info, err := readMountinfo(procFD)
	if err != nil {
		return nil, err
	}
	for i := range exports {
		if m, ok := findMount(info, points[i]); ok && isKernelMount(m, kernelDevs) {
			return nil, fmt.Errorf("export %s is a kernel file system", exports[i].Path)
		}
	}
	var hostRoots []string
	for i := range exports {
		if isHostRoot[i] {
			hostRoots = append(hostRoots, "/"+strconv.Itoa(i))
		}
	}
	for _, mp := range hiddenMounts(info, kernelDevs, hostRoots, points) {
		// Detaching a mount takes its submounts along, so a later
		// entry may already be gone.
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			return nil, fmt.Errorf("detaching %s: %w", mp, err)
		}
	}
	for i := range exports {
		if !isHostRoot[i] {
			continue
		}
		for _, h := range hiddenDirs {
			if err := coverDir(path.Join("/", strconv.Itoa(i), h)); err != nil {
				return nil, err
			}
		}
	}

	// 5. Mount flags.
	out := make([]Export, len(exports))
	for i, e := range exports {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID}
		if e.ReadOnly {
			attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
		}
		if err := unix.MountSetattr(unix.AT_FDCWD, points[i], unix.AT_RECURSIVE, &attr); err != nil {
			return nil, fmt.Errorf("setting the mount flags of export %s: %w", e.Path, err)
		}
		out[i] = Export{Path: "/" + strconv.Itoa(i), ReadOnly: e.ReadOnly}
	}
	rootAttr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", 0, &rootAttr); err != nil {
		return nil, fmt.Errorf("making the root read-only: %w", err)
	}

	// 6. Privileges.
	unix.Umask(0)
	if err := confine.DropCapabilities(keptCaps); err != nil {
		return nil, err
	}
	return out, nil
}

// hiddenDirs are the host directories whose kernel file systems the
// sandbox must never see; the application kernel serves its own.
var hiddenDirs = []string{"/proc", "/sys", "/dev"}

// kernelFSTypes are file systems that are interfaces to the host kernel
// rather than data: none is served, wherever it is mounted in an export.
// (nsfs bind mounts name namespaces; autofs would trigger the host's
// automounter.)
var kernelFSTypes = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "mqueue": true,
	"cgroup": true, "cgroup2": true, "securityfs": true, "debugfs": true, "tracefs": true,
	"configfs": true, "pstore": true, "efivarfs": true, "fusectl": true, "binfmt_misc": true,
	"bpf": true, "nsfs": true, "autofs": true, "rpc_pipefs": true, "nfsd": true,
	"selinuxfs": true, "smackfs": true, "hugetlbfs": true,
}

type key struct {
	dev, ino uint64
	dir, reg bool
}

func fileKey(p string) (key, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return key{}, err
	}
	typ := st.Mode & unix.S_IFMT
	return key{dev: st.Dev, ino: st.Ino, dir: typ == unix.S_IFDIR, reg: typ == unix.S_IFREG}, nil
}

// coverDir mounts an empty read-only tmpfs on dir, with dir's mode, if
// dir is a directory.
func coverDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	opts := fmt.Sprintf("mode=%o,size=4k,nr_inodes=2", st.Mode&0o7777)
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("covering %s: %w", dir, err)
	}
	return nil
}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	id     int
	dev    uint64
	point  string
	fsType string
}

func readMountinfo(procFD int) ([]mountEntry, error) {
	fd, err := unix.Openat(procFD, "self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the mount table: %w", err)
	}
	f := os.NewFile(uintptr(fd), "mountinfo")
	defer f.Close()
	return parseMountinfo(f)
}

// parseMountinfo reads mountinfo lines:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
func parseMountinfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			return nil, fmt.Errorf("malformed mount table line %q", sc.Text())
		}
		id, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("malformed mount table line %q", sc.Text())
		}
		majS, minS, _ := strings.Cut(fields[2], ":")
		maj, err1 := strconv.ParseUint(majS, 10, 32)
		min, err2 := strconv.ParseUint(minS, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed mount table line %q", sc.Text())
		}
		out = append(out, mountEntry{
			id:     id,
			dev:    unix.Mkdev(uint32(maj), uint32(min)),
			point:  unescapeMountinfo(fields[4]),
			fsType: fields[sep+1],
		})
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func findMount(info []mountEntry, point string) (mountEntry, bool) {
	var found mountEntry
	ok := false
	for _, m := range info {
		if m.point == point {
			found, ok = m, true // the last one is the top of a stack
		}
	}
	return found, ok
}

// isKernelMount reports whether m is a kernel interface: a kernel file
// system type, or a mount of the device the host's /proc, /sys or /dev
// is (a bind mount of them elsewhere).
func isKernelMount(m mountEntry, kernelDevs map[uint64]bool) bool {
	return kernelFSTypes[m.fsType] || kernelDevs[m.dev]
}

// below reports whether p is one of dirs or lies below one.
func below(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// hiddenMounts returns the mount points to detach, deepest first: every
// kernel mount below an export (exports are at points), and whatever is
// mounted at or below /proc, /sys and /dev in the exports of the host's
// root (hostRoots).
func hiddenMounts(info []mountEntry, kernelDevs map[uint64]bool, hostRoots, points []string) []string {
	var out []string
	for _, m := range info {
		if m.point == "/" || slices.Contains(points, m.point) {
			continue // the root tmpfs or an export's own root
		}
		hidden := isKernelMount(m, kernelDevs)
		for _, r := range hostRoots {
			if strings.HasPrefix(m.point, r+"/") && below(m.point[len(r):], hiddenDirs) {
				hidden = true
			}
		}
		if hidden {
			out = append(out, m.point)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.Count(out[i], "/") > strings.Count(out[j], "/") })
	return out
}
