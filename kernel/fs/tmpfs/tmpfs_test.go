package tmpfs

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

var ctx = &vfs.Context{Creds: &vfs.RootCreds}

func newFS(t *testing.T, opts Options) (*FS, *memfile.File) {
	t.Helper()
	mf, err := memfile.New(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	if opts.Mode == 0 {
		opts.Mode = 0o1777
	}
	return New(mf, opts), mf
}

func reg(mode uint32) vfs.NewAttrs {
	return vfs.NewAttrs{Mode: unix.S_IFREG | mode, UID: 1000, GID: 1000}
}
func dirAttrs() vfs.NewAttrs { return vfs.NewAttrs{Mode: unix.S_IFDIR | 0o755} }

func root(fs *FS) *Dir { return fs.Root().(*Dir) }

func create(t *testing.T, d *Dir, name string) *File {
	t.Helper()
	in, err := d.Create(ctx, name, reg(0o644))
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	return in.(*File)
}

func mkdir(t *testing.T, d *Dir, name string) *Dir {
	t.Helper()
	in, err := d.Mkdir(ctx, name, dirAttrs())
	if err != nil {
		t.Fatalf("Mkdir(%q): %v", name, err)
	}
	return in.(*Dir)
}

func open(t *testing.T, f *File) vfs.FileImpl {
	t.Helper()
	impl, err := f.Open(ctx, unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	return impl
}

func stat(t *testing.T, in vfs.Inode) unix.Statx_t {
	t.Helper()
	st, err := in.Stat(ctx, unix.STATX_BASIC_STATS)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func names(t *testing.T, d *Dir) []string {
	t.Helper()
	var out []string
	if err := d.Readdir(ctx, 0, func(e vfs.Dirent) bool { out = append(out, e.Name); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReadWriteStat(t *testing.T) {
	fs, _ := newFS(t, Options{})
	r := root(fs)
	before := stat(t, r)
	f := create(t, r, "a")
	st := stat(t, f)
	if st.Mode != unix.S_IFREG|0o644 || st.Uid != 1000 || st.Nlink != 1 || st.Size != 0 || st.Blocks != 0 || st.Blksize != 4096 {
		t.Errorf("new file: %+v", st)
	}
	if rs := stat(t, r); rs.Size != before.Size+bogoDirentSize || !after(ts(rs.Mtime), ts(before.Mtime)) && rs.Mtime != before.Mtime {
		t.Errorf("parent after create: size %d (was %d)", rs.Size, before.Size)
	}
	impl := open(t, f)
	defer impl.Release()
	msg := bytes.Repeat([]byte("tmpfs!"), 1000) // spans two pages
	if n, err := impl.WriteAt(msg, 100); n != len(msg) || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	got := make([]byte, len(msg)+200)
	n, err := impl.ReadAt(got, 0)
	if err != nil || n != len(msg)+100 {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !bytes.Equal(got[:100], make([]byte, 100)) || !bytes.Equal(got[100:n], msg) {
		t.Error("read back differs")
	}
	st2 := stat(t, f)
	if st2.Size != uint64(len(msg)+100) || st2.Blocks != 16 {
		t.Errorf("size %d blocks %d, want %d 16", st2.Size, st2.Blocks, len(msg)+100)
	}
	if ts(st2.Mtime) == ts(st.Mtime) && ts(st2.Ctime) == ts(st.Ctime) {
		// Timestamps have nanoseconds; a write a moment later differs.
		t.Error("write did not update mtime/ctime")
	}
	var ust unix.Stat_t
	if err := impl.Stat(&ust); err != nil || ust.Dev != fs.Dev() || ust.Ino != st.Ino {
		t.Errorf("FileImpl.Stat = %+v, %v", ust, err)
	}
	if n, _ := impl.ReadAt(got, 1<<20); n != 0 {
		t.Errorf("read past EOF = %d", n)
	}
}

func ts(s unix.StatxTimestamp) unix.Timespec {
	return unix.Timespec{Sec: s.Sec, Nsec: int64(s.Nsec)}
}

func TestDevAndInoUnique(t *testing.T) {
	a, _ := newFS(t, Options{})
	b, _ := newFS(t, Options{})
	if a.Dev() == b.Dev() || unix.Major(a.Dev()) != 0 {
		t.Errorf("devs %#x %#x", a.Dev(), b.Dev())
	}
	r := root(a)
	seen := map[uint64]bool{stat(t, r).Ino: true}
	for i := range 10 {
		ino := stat(t, create(t, r, fmt.Sprint(i))).Ino
		if seen[ino] {
			t.Fatalf("ino %d twice", ino)
		}
		seen[ino] = true
	}
	if st := stat(t, r); st.Dev_major != 0 || unix.Mkdev(st.Dev_major, st.Dev_minor) != a.Dev() {
		t.Errorf("root dev %d:%d", st.Dev_major, st.Dev_minor)
	}
}

func TestSparseAndSeekData(t *testing.T) {
	fs, _ := newFS(t, Options{})
	f := create(t, root(fs), "sparse")
	impl := open(t, f).(*openFile)
	defer impl.Release()
	if _, err := impl.WriteAt([]byte("x"), 10*pageSize+5); err != nil {
		t.Fatal(err)
	}
	st := stat(t, f)
	if st.Size != 10*pageSize+6 || st.Blocks != 8 {
		t.Errorf("size %d blocks %d", st.Size, st.Blocks)
	}
	buf := make([]byte, pageSize)
	if n, _ := impl.ReadAt(buf, 3*pageSize); n != pageSize || !bytes.Equal(buf, make([]byte, pageSize)) {
		t.Error("hole does not read as zeros")
	}
	for _, c := range []struct {
		off    int64
		whence int
		want   int64
		err    error
	}{
		{0, unix.SEEK_DATA, 10 * pageSize, nil},
		{0, unix.SEEK_HOLE, 0, nil},
		{10*pageSize + 2, unix.SEEK_DATA, 10*pageSize + 2, nil},
		{10 * pageSize, unix.SEEK_HOLE, 10*pageSize + 6, nil},
		{11 * pageSize, unix.SEEK_DATA, 0, unix.ENXIO},
		{-1, unix.SEEK_DATA, 0, unix.ENXIO},
	} {
		got, err := impl.SeekData(c.off, c.whence)
		if got != c.want || err != c.err {
			t.Errorf("SeekData(%d, %d) = %d, %v; want %d, %v", c.off, c.whence, got, err, c.want, c.err)
		}
	}
}

func TestSizeLimit(t *testing.T) {
	fs, _ := newFS(t, Options{Size: 4 * pageSize})
	f := create(t, root(fs), "f")
	impl := open(t, f)
	defer impl.Release()
	buf := make([]byte, 6*pageSize)
	n, err := impl.WriteAt(buf, 0)
	if n != 4*pageSize || err != unix.ENOSPC {
		t.Errorf("write past the limit = %d, %v; want %d, ENOSPC", n, err, 4*pageSize)
	}
	if n, err := impl.WriteAt([]byte("x"), 20*pageSize); n != 0 || err != unix.ENOSPC {
		t.Errorf("write into a hole when full = %d, %v", n, err)
	}
	st := fs.Statfs()
	if st.Type != TmpfsMagic || st.Blocks != 4 || st.Bfree != 0 || st.Bsize != pageSize {
		t.Errorf("statfs %+v", st)
	}
	// Overwriting allocated pages needs nothing new.
	if n, err := impl.WriteAt([]byte("again"), 0); n != 5 || err != nil {
		t.Errorf("overwrite = %d, %v", n, err)
	}
	// Growing by truncate allocates nothing, as on Linux.
	if err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: 1 << 30}); err != nil {
		t.Errorf("truncate up: %v", err)
	}
	if err := impl.(*openFile).Fallocate(0, 0, 8*pageSize); err != unix.ENOSPC {
		t.Errorf("fallocate past the limit: %v", err)
	}
	if fs.UsedBytes() != 4*pageSize {
		t.Errorf("used %d after a failed fallocate", fs.UsedBytes())
	}
	// Truncating down frees, and writing works again.
	if err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: pageSize}); err != nil {
		t.Fatal(err)
	}
	if fs.UsedBytes() != pageSize {
		t.Errorf("used %d after truncate, want one page", fs.UsedBytes())
	}
	if n, err := impl.WriteAt(buf[:3*pageSize], pageSize); n != 3*pageSize || err != nil {
		t.Errorf("write after truncate = %d, %v", n, err)
	}
}

func TestInodeLimit(t *testing.T) {
	fs, _ := newFS(t, Options{NrInodes: 3})
	r := root(fs)
	create(t, r, "a")
	mkdir(t, r, "b")
	if _, err := r.Create(ctx, "c", reg(0o644)); err != unix.ENOSPC {
		t.Fatalf("create past nr_inodes: %v", err)
	}
	if err := r.Unlink(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	create(t, r, "c")
	if err := r.Rmdir(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Symlink(ctx, "d", "c", vfs.NewAttrs{}); err != nil {
		t.Fatal(err)
	}
	if st := fs.Statfs(); st.Files != 3 || st.Ffree != 0 {
		t.Errorf("statfs files %d free %d", st.Files, st.Ffree)
	}
}

func TestTruncateZeroesTail(t *testing.T) {
	fs, _ := newFS(t, Options{})
	f := create(t, root(fs), "f")
	impl := open(t, f)
	defer impl.Release()
	impl.WriteAt(bytes.Repeat([]byte{0xff}, 3*pageSize), 0)
	if err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: 100}); err != nil {
		t.Fatal(err)
	}
	if fs.UsedBytes() != pageSize {
		t.Errorf("used %d", fs.UsedBytes())
	}
	f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: 2 * pageSize})
	buf := make([]byte, 2*pageSize)
	n, _ := impl.ReadAt(buf, 0)
	if n != 2*pageSize || !bytes.Equal(buf[:100], bytes.Repeat([]byte{0xff}, 100)) || !bytes.Equal(buf[100:], make([]byte, 2*pageSize-100)) {
		t.Error("regrown file does not read zeros past the old end")
	}
}

func TestPunchHole(t *testing.T) {
	fs, _ := newFS(t, Options{})
	f := create(t, root(fs), "f")
	impl := open(t, f).(*openFile)
	defer impl.Release()
	impl.WriteAt(bytes.Repeat([]byte{1}, 4*pageSize), 0)
	if err := impl.Fallocate(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 100, 2*pageSize); err != nil {
		t.Fatal(err)
	}
	if fs.UsedBytes() != 3*pageSize {
		t.Errorf("used %d, want 3 pages", fs.UsedBytes())
	}
	buf := make([]byte, 4*pageSize)
	impl.ReadAt(buf, 0)
	want := bytes.Repeat([]byte{1}, 4*pageSize)
	clear(want[100 : 100+2*pageSize])
	if !bytes.Equal(buf, want) {
		t.Error("punched range does not read zeros")
	}
	if st := stat(t, f); st.Size != 4*pageSize {
		t.Errorf("size %d", st.Size)
	}
}

// TestReaddirDuringChanges: entries that exist for the whole listing are
// listed exactly once however others come and go between the calls.
func TestReaddirDuringChanges(t *testing.T) {
	fs, _ := newFS(t, Options{})
	r := root(fs)
	for i := range 100 {
		create(t, r, fmt.Sprintf("keep%03d", i))
		create(t, r, fmt.Sprintf("gone%03d", i))
	}
	seen := map[string]int{}
	pos := int64(0)
	for round := 0; ; round++ {
		// Read three entries, then change the directory.
		k := 0
		err := r.Readdir(ctx, pos, func(e vfs.Dirent) bool {
			if k == 3 {
				return false
			}
			seen[e.Name]++
			pos = e.Next
			k++
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
		if round < 100 {
			if err := r.Unlink(ctx, fmt.Sprintf("gone%03d", 99-round)); err != nil {
				t.Fatal(err)
			}
			create(t, r, fmt.Sprintf("new%03d", round))
		}
	}
	for i := range 100 {
		if n := seen[fmt.Sprintf("keep%03d", i)]; n != 1 {
			t.Errorf("keep%03d listed %d times", i, n)
		}
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", name, n)
		}
	}
	if seen["."] != 1 || seen[".."] != 1 {
		t.Error("no . or ..")
	}
}

func TestUnlinkedOpenFile(t *testing.T) {
	fs, _ := newFS(t, Options{})
	r := root(fs)
	f := create(t, r, "f")
	impl := open(t, f)
	impl.WriteAt([]byte("still here"), 0)
	if err := r.Unlink(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup(ctx, "f"); err != unix.ENOENT {
		t.Errorf("lookup after unlink: %v", err)
	}
	if st := stat(t, f); st.Nlink != 0 {
		t.Errorf("nlink %d", st.Nlink)
	}
	buf := make([]byte, 10)
	if n, _ := impl.ReadAt(buf, 0); string(buf[:n]) != "still here" {
		t.Errorf("read %q", buf[:n])
	}
	impl.WriteAt([]byte("more"), 10)
	if fs.UsedBytes() != pageSize {
		t.Errorf("used %d", fs.UsedBytes())
	}
	impl.Release()
	if fs.UsedBytes() != 0 || fs.inodes.Load() != 1 {
		t.Errorf("after the last close: used %d, inodes %d", fs.UsedBytes(), fs.inodes.Load())
	}
	if _, err := f.Open(ctx, unix.O_RDONLY); err != unix.ESTALE {
		t.Errorf("open of a freed file: %v", err)
	}
}

func TestHardLinks(t *testing.T) {
	fs, _ := newFS(t, Options{})
	r := root(fs)
	f := create(t, r, "a")
	d := mkdir(t, r, "d")
	if err := d.Link(ctx, "b", f); err != nil {
		t.Fatal(err)
	}
	if err := r.Link(ctx, "a", f); err != unix.EEXIST {
		t.Errorf("link over an existing name: %v", err)
	}
	if err := r.Link(ctx, "dd", d); err != unix.EPERM {
		t.Errorf("link of a directory: %v", err)
	}
	other, _ := newFS(t, Options{})
	if err := root(other).Link(ctx, "x", f); err != unix.EXDEV {
		t.Errorf("cross-device link: %v", err)
	}
	if st := stat(t, f); st.Nlink != 2 {
		t.Errorf("nlink %d", st.Nlink)
	}
	impl := open(t, f)
	impl.WriteAt([]byte("data"), 0)
	impl.Release()
	r.Unlink(ctx, "a")
	if fs.UsedBytes() != pageSize {
		t.Error("data freed while a link remains")
	}
	d.Unlink(ctx, "b")
	if fs.UsedBytes() != 0 {
		t.Error("data kept after the last link")
	}
}

func TestDirLinkCounts(t *testing.T) {
	fs, _ := newFS(t, Options{})
	r := root(fs)
	a := mkdir(t, r, "a")
	b := mkdir(t, r, "b")
	mkdir(t, a, "sub")
	if n := stat(t, r).Nlink; n != 4 {
		t.Errorf("root nlink %d, want 4", n)
	}
	if n := stat(t, a).Nlink; n != 3 {
		t.Errorf("a nlink %d, want 3", n)
	}
	if err := a.Rename(ctx, "sub", b, "sub2", 0); err != nil {
		t.Fatal(err)
	}
	if na, nb := stat(t, a).Nlink, stat(t, b).Nlink; na != 2 || nb != 3 {
		t.Errorf("after moving a directory: a %d b %d", na, nb)
	}
	if err := r.Rmdir(ctx, "b"); err != unix.ENOTEMPTY {
		t.Errorf("rmdir of a non-empty directory: %v", err)
	}
	if err := b.Rename(ctx, "sub2", b, "sub2", 0); err != nil {
		t.Errorf("rename onto itself: %v", err)
	}
	sub, _ := b.Lookup(ctx, "sub2")
	if err := r.Rename(ctx, "b", sub.(*Dir), "x", 0); err != unix.EINVAL {
		t.Errorf("moving a directory below itself: %v", err)
	}
	var dotdot uint64
	sub.(*Dir).Readdir(ctx, 1, func(e vfs.Dirent) bool { dotdot = e.Ino; return false })
	if dotdot != stat(t, b).Ino {
		t.Error(".. does not follow the move")
	}
	if err := b.Rmdir(ctx, "sub2"); err != nil {
		t.Fatal(err)
	}
	if n := stat(t, sub).Nlink; n != 0 {
		t.Errorf("removed directory nlink %d", n)
	}
	if _, err := sub.(*Dir).Create(ctx, "f", reg(0o644)); err != unix.ENOENT {
		t.Errorf("create in a removed directory: %v", err)
	}
}

func TestRename(t *testing.T) {
	fs, _ := newFS(t, Options{})
	r := root(fs)
	a := create(t, r, "a")
	b := create(t, r, "b")
	mkdir(t, r, "d")
	e := mkdir(t, r, "e")
	create(t, e, "inside")

	if err := r.Rename(ctx, "a", r, "b", unix.RENAME_NOREPLACE); err != unix.EEXIST {
		t.Errorf("RENAME_NOREPLACE over a file: %v", err)
	}
	if err := r.Rename(ctx, "d", r, "e", 0); err != unix.ENOTEMPTY {
		t.Errorf("rename over a non-empty directory: %v", err)
	}
	if err := r.Rename(ctx, "a", r, "zz", unix.RENAME_EXCHANGE); err != unix.ENOENT {
		t.Errorf("exchange with nothing: %v", err)
	}
	// Exchange a file and a directory across directories.
	if err := r.Rename(ctx, "a", e, "inside", unix.RENAME_EXCHANGE); err != nil {
		t.Fatal(err)
	}
	if in, _ := e.Lookup(ctx, "inside"); in != a {
		t.Error("exchange did not move a")
	}
	if in, _ := r.Lookup(ctx, "a"); in == a {
		t.Error("exchange left a in place")
	}
	// Exchange two directories in different parents: link counts hold.
	if err := r.Rename(ctx, "d", e, "inside", unix.RENAME_EXCHANGE); err != nil {
		t.Fatal(err)
	}
	if nr, ne := stat(t, r).Nlink, stat(t, e).Nlink; nr != 3 || ne != 3 {
		t.Errorf("after exchanging a directory for a file: root %d e %d", nr, ne)
	}
	// Replace a file: the victim loses its link and its data.
	impl := open(t, b)
	impl.WriteAt([]byte("victim"), 0)
	impl.Release()
	if err := e.Rename(ctx, "inside", r, "b", 0); err != unix.ENOTDIR {
		t.Error("rename of a directory over a file succeeded")
	}
	if err := r.Rename(ctx, "d", r, "b", 0); err != nil {
		t.Fatalf("rename a file over a file: %v", err)
	}
	if st := stat(t, b); st.Nlink != 0 {
		t.Errorf("victim nlink %d", st.Nlink)
	}
	if fs.UsedBytes() != 0 {
		t.Error("victim's data kept")
	}
	got := names(t, r)
	want := []string{".", "..", "a", "e", "b"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("root lists %v, want %v", got, want)
	}
}

func TestSymlinkAndNodes(t *testing.T) {
	fs, _ := newFS(t, Options{})
	r := root(fs)
	in, err := r.Symlink(ctx, "l", "/some/where", vfs.NewAttrs{UID: 5})
	if err != nil {
		t.Fatal(err)
	}
	if target, _ := in.(vfs.SymlinkInode).Readlink(ctx); target != "/some/where" {
		t.Errorf("readlink %q", target)
	}
	if st := stat(t, in); st.Mode != unix.S_IFLNK|0o777 || st.Size != 11 || st.Uid != 5 {
		t.Errorf("symlink stat %+v", st)
	}
	for _, typ := range []uint32{unix.S_IFIFO, unix.S_IFSOCK, unix.S_IFCHR, unix.S_IFBLK} {
		n, err := r.Create(ctx, fmt.Sprint(typ), vfs.NewAttrs{Mode: typ | 0o600, Rdev: unix.Mkdev(1, 3)})
		if err != nil {
			t.Fatal(err)
		}
		st := stat(t, n)
		if uint32(st.Mode)&unix.S_IFMT != typ || st.Rdev_major != 1 || st.Rdev_minor != 3 {
			t.Errorf("node %o: %+v", typ, st)
		}
	}
	var types []uint8
	r.Readdir(ctx, 2, func(e vfs.Dirent) bool { types = append(types, e.Type); return true })
	if fmt.Sprint(types) != fmt.Sprint([]uint8{unix.DT_LNK, unix.DT_FIFO, unix.DT_SOCK, unix.DT_CHR, unix.DT_BLK}) {
		t.Errorf("types %v", types)
	}
	if _, err := r.Create(ctx, string(make([]byte, 256)), reg(0)); err != unix.ENAMETOOLONG {
		t.Errorf("long name: %v", err)
	}
}

func TestXattrs(t *testing.T) {
	fs, _ := newFS(t, Options{})
	f := create(t, root(fs), "f")
	if _, err := f.GetXattr(ctx, "user.a"); err != unix.ENODATA {
		t.Errorf("get absent: %v", err)
	}
	if err := f.SetXattr(ctx, "user.a", []byte("1"), unix.XATTR_REPLACE); err != unix.ENODATA {
		t.Errorf("replace absent: %v", err)
	}
	if err := f.SetXattr(ctx, "user.a", []byte("1"), unix.XATTR_CREATE); err != nil {
		t.Fatal(err)
	}
	if err := f.SetXattr(ctx, "user.a", []byte("2"), unix.XATTR_CREATE); err != unix.EEXIST {
		t.Errorf("create existing: %v", err)
	}
	if err := f.SetXattr(ctx, "trusted.b", nil, 0); err != nil {
		t.Fatal(err)
	}
	if v, err := f.GetXattr(ctx, "trusted.b"); err != nil || len(v) != 0 {
		t.Errorf("empty value: %q, %v", v, err)
	}
	if err := f.SetXattr(ctx, "user.big", make([]byte, 64<<10+1), 0); err != unix.E2BIG {
		t.Errorf("big value: %v", err)
	}
	if err := f.SetXattr(ctx, string(make([]byte, 256)), nil, 0); err != unix.ERANGE {
		t.Errorf("long name: %v", err)
	}
	list, _ := f.ListXattr(ctx)
	if len(list) != 2 {
		t.Errorf("list %v", list)
	}
	if err := f.RemoveXattr(ctx, "user.a"); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveXattr(ctx, "user.a"); err != unix.ENODATA {
		t.Errorf("remove absent: %v", err)
	}
}

func TestTmpfile(t *testing.T) {
	fs, _ := newFS(t, Options{})
	r := root(fs)
	in, err := r.Tmpfile(ctx, reg(0o600))
	if err != nil {
		t.Fatal(err)
	}
	f := in.(*File)
	impl := open(t, f)
	impl.WriteAt([]byte("anon"), 0)
	if st := stat(t, f); st.Nlink != 0 {
		t.Errorf("tmpfile nlink %d", st.Nlink)
	}
	if got := names(t, r); len(got) != 2 {
		t.Errorf("tmpfile listed: %v", got)
	}
	if err := r.Link(ctx, "named", f); err != nil {
		t.Fatal(err)
	}
	impl.Release()
	if fs.UsedBytes() != pageSize {
		t.Error("linked tmpfile lost its data")
	}
	// An unlinked tmpfile goes with its last open file.
	in2, _ := r.Tmpfile(ctx, reg(0o600))
	impl2 := open(t, in2.(*File))
	impl2.WriteAt([]byte("x"), 0)
	impl2.Release()
	if fs.UsedBytes() != pageSize || fs.inodes.Load() != 2 {
		t.Errorf("used %d inodes %d", fs.UsedBytes(), fs.inodes.Load())
	}
	if err := r.Link(ctx, "late", in2); err != unix.ENOENT {
		t.Errorf("link of a freed tmpfile: %v", err)
	}
}

func TestSetStat(t *testing.T) {
	fs, _ := newFS(t, Options{})
	r := root(fs)
	f := create(t, r, "f")
	before := stat(t, f)
	at := unix.Timespec{Sec: 1000, Nsec: 5}
	mt := unix.Timespec{Sec: 2000, Nsec: 6}
	err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_MODE | unix.STATX_UID | unix.STATX_GID | unix.STATX_ATIME | unix.STATX_MTIME,
		Mode: 0o4755, UID: 7, GID: 8, Atime: at, Mtime: mt})
	if err != nil {
		t.Fatal(err)
	}
	st := stat(t, f)
	if st.Mode != unix.S_IFREG|0o4755 || st.Uid != 7 || st.Gid != 8 || ts(st.Atime) != at || ts(st.Mtime) != mt {
		t.Errorf("after SetStat: %+v", st)
	}
	if !after(ts(st.Ctime), ts(before.Ctime)) && st.Ctime != before.Ctime {
		t.Error("ctime went back")
	}
	if err := r.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE}); err != unix.EISDIR {
		t.Errorf("truncate a directory: %v", err)
	}
	if err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: -1}); err != unix.EINVAL {
		t.Errorf("negative size: %v", err)
	}
}

func TestConcurrentIO(t *testing.T) {
	fs, _ := newFS(t, Options{})
	f := create(t, root(fs), "f")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			impl := open(t, f)
			defer impl.Release()
			buf := bytes.Repeat([]byte{byte(w + 1)}, 3000)
			got := make([]byte, 3000)
			for i := range 200 {
				off := int64((w*200 + i) * 3000)
				if n, err := impl.WriteAt(buf, off); n != len(buf) || err != nil {
					t.Errorf("write: %d, %v", n, err)
					return
				}
				if n, _ := impl.ReadAt(got, off); n != len(got) || !bytes.Equal(got, buf) {
					t.Errorf("read back differs at %d", off)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := stat(t, f); st.Size != 8*200*3000 {
		t.Errorf("size %d", st.Size)
	}
}

func TestRelease(t *testing.T) {
	fs, _ := newFS(t, Options{})
	r := root(fs)
	d := mkdir(t, r, "d")
	closed := create(t, d, "closed")
	c := open(t, closed)
	c.WriteAt([]byte("a"), 0)
	c.Release()
	kept := create(t, r, "open")
	impl := open(t, kept)
	impl.WriteAt([]byte("b"), 0)
	fs.Release()
	if fs.UsedBytes() != pageSize {
		t.Errorf("used %d after release with one file open", fs.UsedBytes())
	}
	buf := make([]byte, 1)
	if n, _ := impl.ReadAt(buf, 0); n != 1 || buf[0] != 'b' {
		t.Error("open file lost its data")
	}
	impl.Release()
	if fs.UsedBytes() != 0 {
		t.Errorf("used %d after the last close", fs.UsedBytes())
	}
	if _, err := r.Create(ctx, "new", reg(0)); err != unix.ENOENT {
		t.Errorf("create after release: %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions("size=64m,mode=1777,uid=1000,gid=100,nr_inodes=10k")
	if err != nil {
		t.Fatal(err)
	}
	if o.Size != 64<<20 || o.Mode != 0o1777 || o.UID != 1000 || o.GID != 100 || o.NrInodes != 10<<10 {
		t.Errorf("%+v", o)
	}
	if s := o.String(); s != "size=65536k,nr_inodes=10240,uid=1000,gid=100,inode64" {
		t.Errorf("String() = %q", s)
	}
	o, err = ParseOptions("size=1000,mode=700,inode64,huge=never")
	if err != nil || o.Size != pageSize || o.Mode != 0o700 {
		t.Errorf("%+v, %v", o, err)
	}
	def, err := ParseOptions("")
	if err != nil || def != DefaultOptions() || def.String() != "inode64" {
		t.Errorf("defaults %+v (%q), %v", def, def.String(), err)
	}
	if o, err := ParseOptions("size=50%"); err != nil || o.Size == 0 {
		t.Errorf("size=50%%: %+v, %v", o, err)
	}
	for _, bad := range []string{"size", "size=", "size=1x", "mode=8", "mode=17777", "uid=-1", "uid=4294967295", "bogus", "huge=yes", "nr_inodes=1%", "inode64=1"} {
		if _, err := ParseOptions(bad); err != unix.EINVAL {
			t.Errorf("ParseOptions(%q) = %v, want EINVAL", bad, err)
		}
	}
	fs, _ := newFS(t, Options{Size: 1 << 20, Mode: 0o755})
	if fs.Type() != "tmpfs" || fs.Options() != "size=1024k,nr_inodes=0,mode=755,inode64" {
		t.Errorf("type %q options %q", fs.Type(), fs.Options())
	}
}
