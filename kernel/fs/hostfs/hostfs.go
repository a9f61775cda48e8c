package hostfs

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
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

// writeFlags are the open flags that need a writable file system
// (O_TMPFILE, which includes O_DIRECTORY's bit, is checked on its own).
const writeFlags = unix.O_WRONLY | unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC | unix.O_APPEND

// Open opens name, an absolute path inside the root (symbolic links and
// ".." are resolved by the host kernel, never above the root), with the
// application's open flags.
func (fs *FS) Open(name string, flags int, mode uint32) (*vfs.File, error) {
	if flags&unix.O_PATH == 0 && (flags&writeFlags != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE) {
		return nil, fs.writeOpenError(name, flags)
	}
	hostFlags := flags&(unix.O_ACCMODE|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_NONBLOCK) | unix.O_CLOEXEC | unix.O_NOCTTY
	if flags&unix.O_PATH != 0 {
		// openat2 refuses O_PATH with anything but these.
		hostFlags = flags&(unix.O_DIRECTORY|unix.O_NOFOLLOW) | unix.O_PATH | unix.O_CLOEXEC
	}
	fd, st, err := fs.open(name, hostFlags)
	if err != nil {
		return nil, err
	}
	impl := &file{fs: fs, fd: fd, path: path.Clean(name), mode: st.Mode}
	appFlags := flags & (unix.O_ACCMODE | unix.O_PATH | unix.O_NONBLOCK | unix.O_DIRECTORY | unix.O_NOATIME | unix.O_LARGEFILE)
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return vfs.NewFile(impl, appFlags), nil
	}
	// A directory's path is where it really is, symbolic links resolved,
	// since getcwd and names relative to it depend on that.
	if real, err := fs.realPath(fd); err == nil {
		impl.path = real
	}
	return vfs.NewFile(&dir{file: impl}, appFlags), nil
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

// writeOpenError is what an open that needs to write fails with, in the
// order Linux checks (fs/namei.c, do_open() and may_open()): a missing
// parent, an existing file with O_EXCL, a directory, O_DIRECTORY on a
// file, and only then the read-only file system.
func (fs *FS) writeOpenError(name string, flags int) error {
	lookup := unix.O_PATH | unix.O_CLOEXEC
	if flags&unix.O_NOFOLLOW != 0 || flags&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL {
		lookup |= unix.O_NOFOLLOW
	}
	fd, st, err := fs.open(name, lookup)
	if err != nil {
		if err != unix.ENOENT || flags&unix.O_CREAT == 0 {
			return err
		}
		// Creating: the parent must exist and be a directory.
		pfd, pst, perr := fs.open(path.Dir(path.Clean(name)), unix.O_PATH|unix.O_CLOEXEC)
		if perr != nil {
			return perr
		}
		unix.Close(pfd)
		if pst.Mode&unix.S_IFMT != unix.S_IFDIR {
			return unix.ENOTDIR
		}
		return unix.EROFS
	}
	unix.Close(fd)
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	switch {
	case flags&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL:
		return unix.EEXIST
	case isDir && (flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_CREAT != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE):
		if flags&unix.O_TMPFILE == unix.O_TMPFILE {
			return unix.EROFS
		}
		return unix.EISDIR
	case !isDir && flags&unix.O_DIRECTORY != 0:
		return unix.ENOTDIR
	case st.Mode&unix.S_IFMT == unix.S_IFCHR || st.Mode&unix.S_IFMT == unix.S_IFIFO || st.Mode&unix.S_IFMT == unix.S_IFSOCK:
		// Devices, pipes and sockets may be written on a read-only
		// file system, but the host's are not the sandbox's to use.
		return unix.EACCES
	}
	return unix.EROFS
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

// file is an open host file.
type file struct {
	fs   *FS
	fd   int
	path string
	mode uint32
}

func (f *file) ReadAt(dst []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(f.fd, dst, off)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

func (f *file) WriteAt(src []byte, off int64) (int, error) { return 0, unix.EBADF }

func (f *file) Stat(st *unix.Stat_t) error { return unix.Fstat(f.fd, st) }

func (f *file) Seekable() bool { return true }

func (f *file) Release() { unix.Close(f.fd) }

// Readlink implements vfs.ReadlinkImpl for links opened O_PATH|O_NOFOLLOW.
func (f *file) Readlink() (string, error) {
	if f.mode&unix.S_IFMT != unix.S_IFLNK {
		return "", unix.EINVAL
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(f.fd, "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// Path is the file's path inside the root, for resolving relative names
// against a directory descriptor.
func (f *file) Path() string { return f.path }

// dir is an open host directory.
type dir struct {
	*file
}

// Getdents implements vfs.DirectoryImpl. The position is the host's
// directory cookie; entries of hidden mount points in the root directory
// are left out.
func (d *dir) Getdents(dst []byte, pos int64) (int, int64, error) {
	if d.fd < 0 {
		return 0, pos, unix.EBADF
	}
	if _, err := unix.Seek(d.fd, pos, unix.SEEK_SET); err != nil {
		return 0, pos, err
	}
	buf := make([]byte, len(dst))
	n, err := unix.Getdents(d.fd, buf)
	if err != nil {
		return 0, pos, err
	}
	out := 0
	next := pos
	for off := 0; off < n; {
		rec := buf[off:]
		reclen := int(uint16(rec[16]) | uint16(rec[17])<<8)
		if reclen < 19 || off+reclen > n {
			break
		}
		name := rec[19:reclen]
		if i := indexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		next = int64(leUint64(rec[8:]))
		if !(d.path == "/" && d.hiddenName(string(name))) {
			out += copy(dst[out:], rec[:reclen])
		}
		off += reclen
	}
	if n > 0 && out == 0 && next != pos {
		// Everything read was hidden: go on.
		return d.Getdents(dst, next)
	}
	return out, next, nil
}

func (d *dir) hiddenName(name string) bool {
	for _, h := range hiddenRoots {
		if "/"+name == h {
			return true
		}
	}
	return false
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func leUint64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// PathOf returns the path inside the root of a file opened from fs, for
// resolving names relative to a directory descriptor.
func PathOf(f *vfs.File) (string, bool) {
	switch impl := f.Impl.(type) {
	case *file:
		return impl.path, true
	case *dir:
		return impl.path, true
	}
	return "", false
}

// hostOnlyStatx are statx fields that describe the host, not the file:
// mount IDs are the host's mount table.
const hostOnlyStatx = unix.STATX_MNT_ID | 0x4000 /* STATX_MNT_ID_UNIQUE */

// Statx implements vfs.StatxImpl.
func (f *file) Statx(mask uint32, syncFlags int) (unix.Statx_t, error) {
	var stx unix.Statx_t
	err := unix.Statx(f.fd, "", unix.AT_EMPTY_PATH|syncFlags, int(mask), &stx)
	stx.Mask &^= hostOnlyStatx
	stx.Mnt_id = 0
	return stx, err
}

// RealPath returns where the file really is inside the root, symbolic
// links resolved (what /proc/self/exe shows).
func (f *file) RealPath() (string, error) { return f.fs.realPath(f.fd) }
