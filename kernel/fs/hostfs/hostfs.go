package hostfs

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// FS is a read-only view of a host directory tree used as the
// application's root.
type FS struct {
	rootFD int
	// rootPath is the root's host path, symbolic links resolved.
	rootPath string
	// hidden holds the host mount IDs the application must not see
	// (the host's /proc, /sys and /dev and everything below them): the
	// sandbox serves its own versions of those.
	hidden map[uint64]bool
}

// hiddenRoots are the host mount points hidden from the application.
var hiddenRoots = []string{"/proc", "/sys", "/dev"}

// New opens root as the application's root directory.
func New(root string) (*FS, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening root %s: %w", root, err)
	}
	hidden, err := hiddenMounts(root)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	fs := &FS{rootFD: fd, hidden: hidden}
	if fs.rootPath, err = fs.hostPath(fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return fs, nil
}

// Close releases the root.
func (fs *FS) Close() error { return unix.Close(fs.rootFD) }

// hiddenMounts returns the mount IDs of the host's /proc, /sys and /dev
// (relative to root) and of everything mounted below them.
func hiddenMounts(root string) (map[uint64]bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mount table: %w", err)
	}
	defer f.Close()
	hidden := map[uint64]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		var id uint64
		if _, err := fmt.Sscan(fields[0], &id); err != nil {
			continue
		}
		mp := unescapeMountPath(fields[4])
		for _, h := range hiddenRoots {
			h = path.Join(root, h)
			if mp == h || strings.HasPrefix(mp, h+"/") {
				hidden[id] = true
			}
		}
	}
	return hidden, sc.Err()
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// open opens name beneath the root with host flags and stats it.
func (fs *FS) open(name string, hostFlags int) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	how := unix.OpenHow{
		Flags:   uint64(hostFlags),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, err := openat2(fs.rootFD, name, &how)
	if err != nil {
		return -1, st, err
	}
	if fs.isHidden(fd) {
		unix.Close(fd)
		return -1, st, unix.ENOENT
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, st, err
	}
	return fd, st, nil
}

func (fs *FS) hostPath(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd), buf)
	if err != nil {
		return "", fmt.Errorf("resolving the root: %w", err)
	}
	return string(buf[:n]), nil
}

// realPath returns where fd is inside the root.
func (fs *FS) realPath(fd int) (string, error) {
	p, err := fs.hostPath(fd)
	if err != nil {
		return "", err
	}
	if fs.rootPath == "/" {
		return p, nil
	}
	if rel, ok := strings.CutPrefix(p, fs.rootPath); ok && (rel == "" || rel[0] == '/') {
		if rel == "" {
			rel = "/"
		}
		return rel, nil
	}
	return "", fmt.Errorf("%s is outside the root %s", p, fs.rootPath)
}

func openat2(dirfd int, name string, how *unix.OpenHow) (int, error) {
	for {
		fd, err := unix.Openat2(dirfd, name, how)
		if err == unix.EINTR || err == unix.EAGAIN {
			// EAGAIN: a concurrent rename on the host raced the
			// resolution; RESOLVE_IN_ROOT asks us to retry.
			continue
		}
		return fd, err
	}
}

// isHidden reports whether fd lies on a hidden host mount.
func (fs *FS) isHidden(fd int) bool {
	if len(fs.hidden) == 0 {
		return false
	}
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil {
		return true // fail closed
	}
	return fs.hidden[stx.Mnt_id]
}
