package conformance

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	ID, Parent int
	Point      string // where it is mounted, unescaped
	FSType     string
	Source     string
}

func (m Mount) String() string {
	return fmt.Sprintf("%s (%s from %s, id %d)", m.Point, m.FSType, m.Source, m.ID)
}

// ReadMounts reads the harness's mount table.
func ReadMounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountinfo(f)
}

func parseMountinfo(r io.Reader) ([]Mount, error) {
	var ms []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if len(fields) < 7 || sep < 0 || sep+2 >= len(fields) {
			return nil, fmt.Errorf("mountinfo: malformed line %q", sc.Text())
		}
		id, err1 := strconv.Atoi(fields[0])
		parent, err2 := strconv.Atoi(fields[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("mountinfo: malformed line %q", sc.Text())
		}
		ms = append(ms, Mount{
			ID: id, Parent: parent,
			Point:  unescapeOctal(fields[4]),
			FSType: fields[sep+1],
			Source: unescapeOctal(fields[sep+2]),
		})
	}
	return ms, sc.Err()
}

// unescapeOctal undoes the kernel's \ooo escapes of space, tab, newline
// and backslash in mountinfo.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
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

// Below reports whether path is dir or lies below it.
func Below(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// MountsBelow returns the mounts at or below dir, deepest first.
func MountsBelow(ms []Mount, dir string) []Mount {
	var out []Mount
	for _, m := range ms {
		if Below(m.Point, dir) {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		di, dj := strings.Count(out[i].Point, "/"), strings.Count(out[j].Point, "/")
		if di != dj {
			return di > dj
		}
		return out[i].ID > out[j].ID // stacked on the same point: the top one first
	})
	return out
}

// UnmountBelow detaches everything mounted at or below dir (lazily, as
// umount -l: busy mounts go too) and returns what it found. It retries,
// since a detached mount can uncover another; what is still there after
// that is an error.
func UnmountBelow(dir string) ([]Mount, error) {
	var found []Mount
	for round := 0; round < 16; round++ {
		ms, err := ReadMounts()
		if err != nil {
			return found, err
		}
		below := MountsBelow(ms, dir)
		if len(below) == 0 {
			return found, nil
		}
		found = append(found, below...)
		for _, m := range below {
			err := unix.Unmount(m.Point, unix.MNT_DETACH)
			if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				return found, fmt.Errorf("unmounting %s: %w", m.Point, err)
			}
		}
	}
	ms, err := ReadMounts()
	if err != nil {
		return found, err
	}
	if left := MountsBelow(ms, dir); len(left) > 0 {
		return found, fmt.Errorf("still mounted below %s after unmounting: %v", dir, left)
	}
	return found, nil
}

// RemoveTree removes path and everything below it, as rm -rf would, but
// never through a mount point: it refuses when the mount table shows a
// mount at or below path, and, in case one appears meanwhile, it does not
// descend into a directory on another mount (by statx's mount ID, which
// also tells bind mounts of the same file system apart).
func RemoveTree(path string) error {
	root, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(root); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if real, err := filepath.EvalSymlinks(root); err == nil {
		ms, err := ReadMounts()
		if err != nil {
			return err
		}
		if below := MountsBelow(ms, real); len(below) > 0 {
			return fmt.Errorf("not removing %s: mounted below it: %v", root, below)
		}
	}
	fi, err := os.Lstat(root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return os.Remove(root)
	}
	id, err := mountID(root)
	if err != nil {
		return err
	}
	return removeDir(root, id)
}

func removeDir(dir string, id mountKey) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			sub, err := mountID(p)
			if err != nil {
				return err
			}
			if sub != id {
				return fmt.Errorf("not removing %s: it is a mount point", p)
			}
			if err := removeDir(p, id); err != nil {
				return err
			}
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return os.Remove(dir)
}

// mountKey names the mount a file is on: statx's mount ID, or the device
// numbers on kernels without STATX_MNT_ID.
type mountKey struct {
	mnt          uint64
	major, minor uint32
}

func mountID(path string) (mountKey, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &st); err != nil {
		return mountKey{}, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	if st.Mask&unix.STATX_MNT_ID != 0 {
		return mountKey{mnt: st.Mnt_id}, nil
	}
	return mountKey{major: st.Dev_major, minor: st.Dev_minor}, nil
}
