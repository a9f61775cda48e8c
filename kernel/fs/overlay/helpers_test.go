package overlay

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

var ctx = &vfs.Context{Creds: &vfs.RootCreds}

func newTmpfs(t testing.TB) *tmpfs.FS {
	t.Helper()
	mf, err := memfile.New(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	return tmpfs.New(mf, tmpfs.Options{Mode: 0o755})
}

// env is an overlay over a populated lower tmpfs (behind a guard that
// fails the test on any write) and a fresh upper tmpfs.
type env struct {
	t     testing.TB
	lower *tmpfs.FS
	upper *tmpfs.FS
	ovl   *FS
	root  vfs.Inode
}

func newEnv(t testing.TB, populate func(root vfs.Inode)) *env {
	t.Helper()
	e := &env{t: t, lower: newTmpfs(t), upper: newTmpfs(t)}
	if populate != nil {
		populate(e.lower.Root())
	}
	ovl, err := New(&guardFS{FileSystem: e.lower, t: t}, e.upper)
	if err != nil {
		t.Fatal(err)
	}
	e.ovl, e.root = ovl, ovl.Root()
	return e
}

// guardFS serves a file system read-only and fails the test when the
// overlay asks it to change anything.
type guardFS struct {
	vfs.FileSystem
	t testing.TB
	// bigCookies makes directory positions huge, as ext4's hash
	// offsets are.
	bigCookies bool
}

func (g *guardFS) Root() vfs.Inode { return &guard{in: g.FileSystem.Root(), t: g.t, big: g.bigCookies} }

type guard struct {
	in  vfs.Inode
	t   testing.TB
	big bool
}

const bigCookie = 1<<62 | 1<<61

func (g *guard) written(op string) error {
	g.t.Errorf("lower layer asked to %s", op)
	return unix.EROFS
}

func (g *guard) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	return g.in.Stat(ctx, mask)
}
func (g *guard) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY || flags&(unix.O_TRUNC|unix.O_CREAT) != 0 {
		return nil, g.written(fmt.Sprintf("open with flags %#x", flags))
	}
	f, err := g.in.Open(ctx, flags)
	if err != nil {
		return nil, err
	}
	return &guardFile{FileImpl: f, g: g}, nil
}
func (g *guard) dir() (vfs.DirInode, error) {
	d, ok := g.in.(vfs.DirInode)
	if !ok {
		return nil, unix.ENOTDIR
	}
	return d, nil
}
func (g *guard) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	d, err := g.dir()
	if err != nil {
		return nil, err
	}
	c, err := d.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return &guard{in: c, t: g.t, big: g.big}, nil
}
func (g *guard) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	d, err := g.dir()
	if err != nil {
		return err
	}
	if !g.big {
		return d.Readdir(ctx, pos, emit)
	}
	if pos != 0 {
		pos = (pos &^ bigCookie) >> 20
	}
	return d.Readdir(ctx, pos, func(e vfs.Dirent) bool {
		e.Next = e.Next<<20 | bigCookie
		return emit(e)
	})
}
func (g *guard) Readlink(ctx *vfs.Context) (string, error) {
	l, ok := g.in.(vfs.SymlinkInode)
	if !ok {
		return "", unix.EINVAL
	}
	return l.Readlink(ctx)
}
func (g *guard) GetXattr(ctx *vfs.Context, name string) ([]byte, error) {
	return g.in.(vfs.XattrInode).GetXattr(ctx, name)
}
func (g *guard) ListXattr(ctx *vfs.Context) ([]string, error) {
	return g.in.(vfs.XattrInode).ListXattr(ctx)
}
func (g *guard) Create(*vfs.Context, string, vfs.NewAttrs) (vfs.Inode, error) {
	return nil, g.written("create")
}
func (g *guard) Mkdir(*vfs.Context, string, vfs.NewAttrs) (vfs.Inode, error) {
	return nil, g.written("mkdir")
}
func (g *guard) Symlink(*vfs.Context, string, string, vfs.NewAttrs) (vfs.Inode, error) {
	return nil, g.written("symlink")
}
func (g *guard) Link(*vfs.Context, string, vfs.Inode) error { return g.written("link") }
func (g *guard) Unlink(*vfs.Context, string) error          { return g.written("unlink") }
func (g *guard) Rmdir(*vfs.Context, string) error           { return g.written("rmdir") }
func (g *guard) Rename(*vfs.Context, string, vfs.DirInode, string, uint32) error {
	return g.written("rename")
}
func (g *guard) SetStat(*vfs.Context, *vfs.SetAttr) error { return g.written("setstat") }
func (g *guard) SetXattr(*vfs.Context, string, []byte, int) error {
	return g.written("setxattr")
}
func (g *guard) RemoveXattr(*vfs.Context, string) error { return g.written("removexattr") }
func (g *guard) Tmpfile(*vfs.Context, vfs.NewAttrs) (vfs.Inode, error) {
	return nil, g.written("tmpfile")
}

type guardFile struct {
	vfs.FileImpl
	g *guard
}

func (f *guardFile) WriteAt(src []byte, off int64) (int, error) { return 0, f.g.written("write") }

// Path helpers over any tree of inodes.

func lookupErr(root vfs.Inode, p string) (vfs.Inode, error) {
	cur := root
	for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
		if c == "" {
			continue
		}
		d, ok := cur.(vfs.DirInode)
		if !ok {
			return nil, unix.ENOTDIR
		}
		var err error
		if cur, err = d.Lookup(ctx, c); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

func lookup(t testing.TB, root vfs.Inode, p string) vfs.Inode {
	t.Helper()
	in, err := lookupErr(root, p)
	if err != nil {
		t.Fatalf("lookup %s: %v", p, err)
	}
	return in
}

func parentOf(t testing.TB, root vfs.Inode, p string) (vfs.DirInode, string) {
	t.Helper()
	p = strings.Trim(p, "/")
	i := strings.LastIndexByte(p, '/')
	dir, name := "", p
	if i >= 0 {
		dir, name = p[:i], p[i+1:]
	}
	d, ok := lookup(t, root, dir).(vfs.DirInode)
	if !ok {
		t.Fatalf("%s: not a directory", dir)
	}
	return d, name
}

func attrs(mode, uid, gid uint32) vfs.NewAttrs {
	return vfs.NewAttrs{Mode: mode, UID: uid, GID: gid}
}

func mkfile(t testing.TB, root vfs.Inode, p string, mode uint32, data string) vfs.Inode {
	t.Helper()
	d, name := parentOf(t, root, p)
	in, err := d.Create(ctx, name, attrs(unix.S_IFREG|mode, 0, 0))
	if err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	if data != "" {
		writeAt(t, in, data, 0)
	}
	return in
}

func mkdir(t testing.TB, root vfs.Inode, p string, mode uint32) vfs.Inode {
	t.Helper()
	d, name := parentOf(t, root, p)
	in, err := d.Mkdir(ctx, name, attrs(unix.S_IFDIR|mode, 0, 0))
	if err != nil {
		t.Fatalf("mkdir %s: %v", p, err)
	}
	return in
}

func mksymlink(t testing.TB, root vfs.Inode, p, target string) vfs.Inode {
	t.Helper()
	d, name := parentOf(t, root, p)
	in, err := d.Symlink(ctx, name, target, attrs(unix.S_IFLNK|0o777, 0, 0))
	if err != nil {
		t.Fatalf("symlink %s: %v", p, err)
	}
	return in
}

func unlink(t testing.TB, root vfs.Inode, p string) {
	t.Helper()
	d, name := parentOf(t, root, p)
	if err := d.Unlink(ctx, name); err != nil {
		t.Fatalf("unlink %s: %v", p, err)
	}
}

func rmdirErr(t testing.TB, root vfs.Inode, p string) error {
	t.Helper()
	d, name := parentOf(t, root, p)
	return d.Rmdir(ctx, name)
}

func renameErr(t testing.TB, root vfs.Inode, from, to string, flags uint32) error {
	t.Helper()
	fd, fname := parentOf(t, root, from)
	td, tname := parentOf(t, root, to)
	return fd.Rename(ctx, fname, td, tname, flags)
}

func setStat(t testing.TB, in vfs.Inode, a vfs.SetAttr) {
	t.Helper()
	if err := in.(vfs.SetStatInode).SetStat(ctx, &a); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
}

func writeAt(t testing.TB, in vfs.Inode, data string, off int64) {
	t.Helper()
	f, err := in.Open(ctx, unix.O_RDWR)
	if err != nil {
		t.Fatalf("open for writing: %v", err)
	}
	defer f.Release()
	if n, err := f.WriteAt([]byte(data), off); err != nil || n != len(data) {
		t.Fatalf("WriteAt: %d, %v", n, err)
	}
}

func readAll(t testing.TB, in vfs.Inode) string {
	t.Helper()
	f, err := in.Open(ctx, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer f.Release()
	return readImpl(t, f)
}

func readImpl(t testing.TB, f vfs.FileImpl) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 4096)
	for off := int64(0); ; {
		n, err := f.ReadAt(buf, off)
		if err != nil {
			t.Fatalf("ReadAt: %v", err)
		}
		if n == 0 {
			return b.String()
		}
		b.Write(buf[:n])
		off += int64(n)
	}
}

func stat(t testing.TB, in vfs.Inode) unix.Statx_t {
	t.Helper()
	st, err := in.Stat(ctx, unix.STATX_BASIC_STATS)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	return st
}

func readlink(t testing.TB, in vfs.Inode) string {
	t.Helper()
	l, ok := in.(vfs.SymlinkInode)
	if !ok {
		t.Fatalf("%T is not a symlink", in)
	}
	s, err := l.Readlink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// list reads a directory one entry per Readdir call, resuming at each
// entry's Next, and returns the names without "." and "..".
func list(t testing.TB, d vfs.Inode) []string {
	t.Helper()
	var names []string
	for pos := int64(0); ; {
		var got *vfs.Dirent
		err := d.(vfs.DirInode).Readdir(ctx, pos, func(e vfs.Dirent) bool {
			got = &e
			return false
		})
		if err != nil {
			t.Fatalf("Readdir: %v", err)
		}
		if got == nil {
			sort.Strings(names)
			return names
		}
		if got.Name != "." && got.Name != ".." {
			names = append(names, got.Name)
		}
		pos = got.Next
	}
}

func ts(sec int64) unix.Timespec { return unix.Timespec{Sec: sec, Nsec: 123} }

// snapEntry is what snapshot records of one object (atime excepted:
// reading a file may move it).
type snapEntry struct {
	Mode          uint16
	UID, GID      uint32
	Size          uint64
	Nlink         uint32
	Ino           uint64
	Mtime, Ctime  unix.StatxTimestamp
	Data          [32]byte
	Target        string
	Xattrs        map[string]string
	Rdev          [2]uint32
	DirentInoType string
}

// snapshot records the whole tree below root, for "unchanged" checks.
func snapshot(t testing.TB, root vfs.Inode) map[string]snapEntry {
	t.Helper()
	out := map[string]snapEntry{}
	var walk func(p string, in vfs.Inode)
	walk = func(p string, in vfs.Inode) {
		st := stat(t, in)
		e := snapEntry{
			Mode: st.Mode, UID: st.Uid, GID: st.Gid, Size: st.Size, Nlink: st.Nlink, Ino: st.Ino,
			Mtime: st.Mtime, Ctime: st.Ctime, Rdev: [2]uint32{st.Rdev_major, st.Rdev_minor},
		}
		if x, ok := in.(vfs.XattrInode); ok {
			names, _ := x.ListXattr(ctx)
			for _, n := range names {
				v, _ := x.GetXattr(ctx, n)
				if e.Xattrs == nil {
					e.Xattrs = map[string]string{}
				}
				e.Xattrs[n] = string(v)
			}
		}
		switch uint32(st.Mode) & unix.S_IFMT {
		case unix.S_IFREG:
			e.Data = sha256.Sum256([]byte(readAll(t, in)))
		case unix.S_IFLNK:
			e.Target = readlink(t, in)
		case unix.S_IFDIR:
			d := in.(vfs.DirInode)
			var ents []vfs.Dirent
			d.Readdir(ctx, 0, func(de vfs.Dirent) bool { ents = append(ents, de); return true })
			var sig []string
			for _, de := range ents {
				sig = append(sig, fmt.Sprintf("%s:%d:%d", de.Name, de.Ino, de.Type))
				if de.Name == "." || de.Name == ".." {
					continue
				}
				c, err := d.Lookup(ctx, de.Name)
				if err != nil {
					t.Fatalf("lookup %s/%s: %v", p, de.Name, err)
				}
				walk(p+"/"+de.Name, c)
			}
			sort.Strings(sig)
			e.DirentInoType = strings.Join(sig, ",")
		}
		out[p] = e
	}
	walk("", root)
	return out
}

func sameSnapshot(t testing.TB, before, after map[string]snapEntry) {
	t.Helper()
	if reflect.DeepEqual(before, after) {
		return
	}
	for p, b := range before {
		a, ok := after[p]
		if !ok {
			t.Errorf("%s: gone", p)
		} else if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: changed:\n before %+v\n after  %+v", p, b, a)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: appeared", p)
		}
	}
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if err != want {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}
