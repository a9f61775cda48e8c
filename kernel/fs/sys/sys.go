package sys

import (
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Options describe the sandbox sysfs shows.
type Options struct {
	// NumCPU is the number of the sandbox's CPUs (kernel.NumCPU()).
	NumCPU int
	// DevMinor is the file system's device number (major 0); 0 picks
	// one.
	DevMinor uint32
}

// anonMinor hands out device numbers to instances without one given,
// clear of those tmpfs and proc hand out.
var anonMinor atomic.Uint32

func init() { anonMinor.Store(0xc000) }

// FS is one sysfs instance.
type FS struct {
	dev  uint32
	boot time.Time
	root *dir
}

// New returns a sysfs describing opts. The caller mounts it at /sys.
func New(opts Options) *FS {
	fs := &FS{dev: opts.DevMinor, boot: time.Now()}
	if fs.dev == 0 {
		fs.dev = anonMinor.Add(1)
	}
	n := max(opts.NumCPU, 1)
	all := "0"
	if n > 1 {
		all = fmt.Sprintf("0-%d", n-1)
	}
	fs.root = fs.newDir("", 1)
	fs.root.subdir("block")
	fs.root.subdir("bus")
	fs.root.subdir("class").subdir("net")
	fs.root.subdir("dev")
	devices := fs.root.subdir("devices")
	cpu := devices.subdir("system").subdir("cpu")
	for c := 0; c < n; c++ {
		d := cpu.subdir(fmt.Sprintf("cpu%d", c))
		if c > 0 {
			// CPU 0 cannot be taken offline: it has no online file.
			d.file("online", "1\n")
		}
		top := d.subdir("topology")
		top.file("core_cpus_list", fmt.Sprintf("%d\n", c))
		top.file("core_id", fmt.Sprintf("%d\n", c))
		top.file("core_siblings_list", all+"\n")
		top.file("die_id", "0\n")
		top.file("package_cpus_list", all+"\n")
		top.file("physical_package_id", "0\n")
		top.file("thread_siblings_list", fmt.Sprintf("%d\n", c))
	}
	cpu.file("kernel_max", "8191\n")
	cpu.file("offline", "\n")
	cpu.file("online", all+"\n")
	cpu.file("possible", all+"\n")
	cpu.file("present", all+"\n")
	fs.root.subdir("firmware")
	fs.root.subdir("fs").subdir("cgroup")
	thp := fs.root.subdir("kernel").subdir("mm").subdir("transparent_hugepage")
	thp.file("defrag", "always defer defer+madvise [madvise] never\n")
	thp.file("enabled", "always [madvise] never\n")
	thp.file("hpage_pmd_size", "2097152\n")
	fs.root.subdir("module")
	fs.root.subdir("power")
	return fs
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "sysfs" }

// Options implements vfs.FileSystem.
func (fs *FS) Options() string { return "" }

// Release implements vfs.FileSystem.
func (fs *FS) Release() {}

// ino is an object's inode number: a hash of its path, 1 for the root.
func ino(path string) uint64 {
	if path == "" {
		return 1
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64() | 2
}

// node is what every sysfs inode has.
type node struct {
	fs   *FS
	ino  uint64
	mode uint32
}

func (n *node) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	ts := unix.StatxTimestamp{Sec: n.fs.boot.Unix(), Nsec: uint32(n.fs.boot.Nanosecond())}
	st := unix.Statx_t{
		Mask:      unix.STATX_BASIC_STATS,
		Blksize:   4096,
		Nlink:     1,
		Mode:      uint16(n.mode),
		Ino:       n.ino,
		Atime:     ts,
		Mtime:     ts,
		Ctime:     ts,
		Dev_minor: n.fs.dev,
	}
	if n.mode&unix.S_IFMT == unix.S_IFDIR {
		st.Nlink = 2
	} else {
		// sysfs files show a page's size: the most an attribute holds.
		st.Size = 4096
	}
	return st, nil
}

func (n *node) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) { return nil, unix.ENXIO }

// sysfsMagic is sysfs's f_type. Linux: include/uapi/linux/magic.h.
const sysfsMagic = 0x62656572

// Statfs implements vfs.StatfsInode: programs check f_type to know that
// /sys is sysfs.
func (n *node) Statfs(ctx *vfs.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: sysfsMagic, Bsize: 4096, Frsize: 4096, Namelen: 255}, nil
}

type entry struct {
	name  string
	inode vfs.Inode
	typ   uint8
	ino   uint64
}

// dir is a directory of the fixed tree.
type dir struct {
	node
	path     string
	parent   uint64
	entries  []entry
	children map[string]vfs.Inode
}

func (fs *FS) newDir(path string, parent uint64) *dir {
	return &dir{node: node{fs, ino(path), unix.S_IFDIR | 0o755}, path: path, parent: parent, children: map[string]vfs.Inode{}}
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (d *dir) add(name string, in vfs.Inode, n *node) {
	d.entries = append(d.entries, entry{name, in, vfs.DTType(n.mode), n.ino})
	d.children[name] = in
}

func (d *dir) subdir(name string) *dir {
	s := d.fs.newDir(join(d.path, name), d.ino)
	d.add(name, s, &s.node)
	return s
}

func (d *dir) file(name, contents string) {
	f := &file{node: node{d.fs, ino(join(d.path, name)), unix.S_IFREG | 0o444}, contents: contents}
	d.add(name, f, &f.node)
}

func (d *dir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	if c, ok := d.children[name]; ok {
		return c, nil
	}
	return nil, unix.ENOENT
}

// Readdir lists ".", ".." and the entries; entry i is at position i+2.
func (d *dir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	if pos <= 0 && !emit(vfs.Dirent{Name: ".", Ino: d.ino, Type: unix.DT_DIR, Next: 1}) {
		return nil
	}
	if pos <= 1 && !emit(vfs.Dirent{Name: "..", Ino: d.parent, Type: unix.DT_DIR, Next: 2}) {
		return nil
	}
	for i := max(int(pos)-2, 0); i < len(d.entries); i++ {
		e := d.entries[i]
		if !emit(vfs.Dirent{Name: e.name, Ino: e.ino, Type: e.typ, Next: int64(i) + 3}) {
			return nil
		}
	}
	return nil
}

func (d *dir) Create(ctx *vfs.Context, name string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	return nil, unix.EACCES
}
func (d *dir) Mkdir(*vfs.Context, string, vfs.NewAttrs) (vfs.Inode, error) { return nil, unix.EPERM }
func (d *dir) Symlink(*vfs.Context, string, string, vfs.NewAttrs) (vfs.Inode, error) {
	return nil, unix.EPERM
}
func (d *dir) Link(*vfs.Context, string, vfs.Inode) error { return unix.EPERM }
func (d *dir) Unlink(*vfs.Context, string) error          { return unix.EPERM }
func (d *dir) Rmdir(*vfs.Context, string) error           { return unix.EPERM }
func (d *dir) Rename(*vfs.Context, string, vfs.DirInode, string, uint32) error {
	return unix.EPERM
}

// file is a read-only attribute.
type file struct {
	node
	contents string
}

func (f *file) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return nil, unix.EACCES
	}
	return &openFile{f: f}, nil
}

type openFile struct{ f *file }

func (o *openFile) ReadAt(dst []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	if off >= int64(len(o.f.contents)) {
		return 0, nil
	}
	return copy(dst, o.f.contents[off:]), nil
}

func (o *openFile) WriteAt(src []byte, off int64) (int, error) { return 0, unix.EBADF }

func (o *openFile) Stat(st *unix.Stat_t) error {
	sx, err := o.f.Stat(nil, unix.STATX_BASIC_STATS)
	if err != nil {
		return err
	}
	*st = vfs.StatFromStatx(&sx)
	return nil
}

func (o *openFile) Seekable() bool { return true }
func (o *openFile) Release()       {}
