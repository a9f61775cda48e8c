package gofer

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	goferfs "magawa/kernel/fs/gofer"
	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/vfs"
)

func mkfile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// servers starts servers of one kind: in this process, or confined
// gofer processes.
type servers struct {
	// client returns a client of a new server of exports.
	client func(t *testing.T, exports ...Export) *goferfs.Client
	// raw returns a bare channel to a new server of exports.
	raw func(t *testing.T, exports ...Export) *rawChannel
}

// forEachServer runs f with in-process servers and, as root, with
// confined gofer processes.
func forEachServer(t *testing.T, f func(t *testing.T, s servers)) {
	t.Run("inprocess", func(t *testing.T) {
		f(t, servers{
			client: func(t *testing.T, exports ...Export) *goferfs.Client { return inProcess(t, exports...) },
			raw:    func(t *testing.T, exports ...Export) *rawChannel { return rawInProcess(t, exports...) },
		})
	})
	t.Run("confined", func(t *testing.T) {
		requireRoot(t)
		f(t, servers{
			client: func(t *testing.T, exports ...Export) *goferfs.Client {
				_, c := confined(t, exports...)
				return c
			},
			raw: rawConfined,
		})
	})
}

func TestRoundTrip(t *testing.T) {
	forEachServer(t, func(t *testing.T, s servers) {
		dir := t.TempDir()
		mkfile(t, dir+"/hello", "hello, world\n")
		mkfile(t, dir+"/sub/deep/file", "deep\n")
		os.Symlink("sub/deep/file", dir+"/link")
		c := s.client(t, Export{Path: dir})
		w := newWorld(t, c, 0)

		// Lookup and read.
		if got := w.mustRead("/hello"); got != "hello, world\n" {
			t.Errorf("read /hello = %q", got)
		}
		if got := w.mustRead("/link"); got != "deep\n" {
			t.Errorf("read through /link = %q", got)
		}
		if _, err := w.read("/missing"); err != unix.ENOENT {
			t.Errorf("read /missing: %v, want ENOENT", err)
		}
		st := w.mustStat("/hello")
		if st.Size != 13 || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Dev_major != unix.Major(w.fs.Dev()) {
			t.Errorf("stat /hello = size %d mode %o dev %d:%d", st.Size, st.Mode, st.Dev_major, st.Dev_minor)
		}
		var host unix.Stat_t
		unix.Stat(dir+"/hello", &host)
		if st.Ino != host.Ino {
			t.Errorf("ino %d, host's %d", st.Ino, host.Ino)
		}

		// Write: a new file, then an existing one grows, and stat sees
		// the size while the file is open.
		w.write("/new", "fresh")
		if b, _ := os.ReadFile(dir + "/new"); string(b) != "fresh" {
			t.Errorf("host sees %q", b)
		}
		f, err := w.open("/new", unix.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Impl.WriteAt([]byte("-and-more"), 5)
		if st := w.mustStat("/new"); st.Size != 14 {
			t.Errorf("size while open = %d, want 14", st.Size)
		}
		f.DecRef()
		if st := w.mustStat("/new"); st.Size != 14 {
			t.Errorf("size after close = %d, want 14", st.Size)
		}
		// O_TRUNC.
		w.write("/new", "x")
		if got := w.mustRead("/new"); got != "x" {
			t.Errorf("after O_TRUNC: %q", got)
		}

		// Readdir.
		names, err := w.list("/")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		if want := []string{"hello", "link", "new", "sub"}; !slices.Equal(names, want) {
			t.Errorf("list / = %v, want %v", names, want)
		}
		// Many entries, so the listing takes several requests.
		for i := range 3000 {
			mkfile(t, filepath.Join(dir, "many", strings.Repeat("n", 100)+strconv.Itoa(i)), "")
		}
		names, err = w.list("/many")
		if err != nil || len(names) != 3000 {
			t.Errorf("list /many: %d names, %v", len(names), err)
		}

		// Mkdir, rename a directory with children, reach a child by its
		// new path and its old one no longer.
		if err := w.v.Mkdir(w.ctx, w.ctx.Cwd, "/d", 0o750); err != nil {
			t.Fatal(err)
		}
		if st := w.mustStat("/d"); st.Mode&0o7777 != 0o750 || st.Uid != uint32(os.Getuid()) {
			t.Errorf("mkdir: mode %o uid %d", st.Mode, st.Uid)
		}
		w.write("/d/child", "child")
		w.mustRead("/d/child") // cached now
		if err := w.v.Rename(w.ctx, w.ctx.Cwd, "/d", w.ctx.Cwd, "/sub/moved", 0); err != nil {
			t.Fatal(err)
		}
		if got := w.mustRead("/sub/moved/child"); got != "child" {
			t.Errorf("after rename: %q", got)
		}
		if b, err := os.ReadFile(dir + "/sub/moved/child"); err != nil || string(b) != "child" {
			t.Errorf("host after rename: %q %v", b, err)
		}
		// A file opened before the rename of its directory is set
		// through its new path.
		p, err := w.resolve("/sub/moved/child", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.v.Chmod(w.ctx, p, 0o600); err != nil {
			t.Errorf("chmod after rename: %v", err)
		}
		unix.Stat(dir+"/sub/moved/child", &host)
		if host.Mode&0o7777 != 0o600 {
			t.Errorf("host mode %o, want 600", host.Mode&0o7777)
		}
		// Rename over a file: the victim goes, an open victim still
		// reads.
		w.write("/victim", "old")
		vf, err := w.open("/victim", unix.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.write("/winner", "new")
		if err := w.v.Rename(w.ctx, w.ctx.Cwd, "/winner", w.ctx.Cwd, "/victim", 0); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		n, _ := vf.Impl.ReadAt(buf, 0)
		if string(buf[:n]) != "old" {
			t.Errorf("open victim reads %q", buf[:n])
		}
		if st, err := vf.Statx(w.ctx, unix.STATX_BASIC_STATS); err != nil || st.Nlink != 0 {
			t.Errorf("victim after rename: nlink %d, %v", st.Nlink, err)
		}
		vf.DecRef()
		if got := w.mustRead("/victim"); got != "new" {
			t.Errorf("/victim = %q", got)
		}
		// Exchange.
		w.write("/x1", "one")
		w.write("/x2", "two")
		if err := w.v.Rename(w.ctx, w.ctx.Cwd, "/x1", w.ctx.Cwd, "/x2", unix.RENAME_EXCHANGE); err != nil {
			t.Fatal(err)
		}
		if a, b := w.mustRead("/x1"), w.mustRead("/x2"); a != "two" || b != "one" {
			t.Errorf("after exchange: %q %q", a, b)
		}

		// Hard links: the VFS uses one inode for both names; removing
		// the first leaves the second working.
		w.write("/orig", "linked")
		orig, _ := w.resolve("/orig", 0)
		if err := w.v.Link(w.ctx, orig, w.ctx.Cwd, "/sub/alias"); err != nil {
			t.Fatal(err)
		}
		if st := w.mustStat("/sub/alias"); st.Nlink != 2 {
			t.Errorf("nlink after link = %d", st.Nlink)
		}
		if err := w.v.Unlink(w.ctx, w.ctx.Cwd, "/orig"); err != nil {
			t.Fatal(err)
		}
		if got := w.mustRead("/sub/alias"); got != "linked" {
			t.Errorf("alias reads %q", got)
		}
		if st := w.mustStat("/sub/alias"); st.Nlink != 1 {
			t.Errorf("nlink after unlink = %d", st.Nlink)
		}
		alias, _ := w.resolve("/sub/alias", 0)
		if err := w.v.Chmod(w.ctx, alias, 0o640); err != nil {
			t.Errorf("chmod alias: %v", err)
		}
		// Hard links on the host: two inodes, one state.
		os.Link(dir+"/hello", dir+"/hello2")
		w2 := newWorld(t, c, 0)
		hf, err := w2.open("/hello", unix.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		hf.Impl.WriteAt([]byte("HELLO, WORLD, AGAIN\n"), 0)
		if st := w2.mustStat("/hello2"); st.Size != 20 {
			t.Errorf("other link sees size %d, want 20", st.Size)
		}
		hf.DecRef()

		// Symlink.
		if err := w.v.Symlink(w.ctx, "hello", w.ctx.Cwd, "/sl"); err != nil {
			t.Fatal(err)
		}
		if tgt, err := os.Readlink(dir + "/sl"); err != nil || tgt != "hello" {
			t.Errorf("host readlink: %q %v", tgt, err)
		}
		slp, _ := w.resolve("/sl", vfs.ResolveNoFollow)
		if tgt, err := w.v.Readlink(w.ctx, slp); err != nil || tgt != "hello" {
			t.Errorf("readlink: %q %v", tgt, err)
		}

		// Unlink and rmdir.
		if err := w.v.Rmdir(w.ctx, w.ctx.Cwd, "/sub"); err != unix.ENOTEMPTY {
			t.Errorf("rmdir non-empty: %v", err)
		}
		if err := w.v.Unlink(w.ctx, w.ctx.Cwd, "/sl"); err != nil {
			t.Error(err)
		}
		if _, err := os.Lstat(dir + "/sl"); !os.IsNotExist(err) {
			t.Errorf("host still has /sl: %v", err)
		}
		w.v.Mkdir(w.ctx, w.ctx.Cwd, "/empty", 0o755)
		if err := w.v.Rmdir(w.ctx, w.ctx.Cwd, "/empty"); err != nil {
			t.Error(err)
		}

		// Attributes: truncate, utimes, chmod of a directory.
		hp, _ := w.resolve("/hello", 0)
		if err := w.v.Truncate(w.ctx, hp, 5, true); err != nil {
			t.Error(err)
		}
		ts := [2]unix.Timespec{{Sec: 1000, Nsec: 5}, {Sec: 2000, Nsec: 7}}
		if err := w.v.Utimes(w.ctx, hp, &ts); err != nil {
			t.Error(err)
		}
		if st := w.mustStat("/hello"); st.Size != 5 || st.Mtime.Sec != 2000 || st.Mtime.Nsec != 7 || st.Atime.Sec != 1000 {
			t.Errorf("after truncate and utimes: size %d mtime %v atime %v", st.Size, st.Mtime, st.Atime)
		}
		unix.Stat(dir+"/hello", &host)
		if host.Size != 5 || host.Mtim.Sec != 2000 {
			t.Errorf("host: size %d mtime %d", host.Size, host.Mtim.Sec)
		}

		// FIFOs and sockets are host nodes; devices are refused.
		if err := w.v.Mknod(w.ctx, w.ctx.Cwd, "/fifo", unix.S_IFIFO|0o644, 0); err != nil {
			t.Error(err)
		}
		if err := unix.Lstat(dir+"/fifo", &host); err != nil || host.Mode&unix.S_IFMT != unix.S_IFIFO {
			t.Errorf("host fifo: %o %v", host.Mode, err)
		}
		root := w.fs.Root().(vfs.DirInode)
		if _, err := root.Create(w.ctx, "dev", vfs.NewAttrs{Mode: unix.S_IFCHR | 0o644, Rdev: unix.Mkdev(1, 3)}); err != unix.EPERM {
			t.Errorf("creating a device: %v, want EPERM", err)
		}

		// Statfs.
		sfs, err := w.v.Statfs(w.ctx, hp)
		var hsfs unix.Statfs_t
		unix.Statfs(dir, &hsfs)
		if err != nil || sfs.Type != hsfs.Type || sfs.Blocks != hsfs.Blocks {
			t.Errorf("statfs: %+v %v", sfs, err)
		}
	})
}

func TestXattr(t *testing.T) {
	forEachServer(t, func(t *testing.T, s servers) {
		dir := t.TempDir()
		mkfile(t, dir+"/f", "x")
		if err := unix.Lsetxattr(dir+"/f", "user.probe", []byte("1"), 0); err == unix.ENOTSUP {
			skip(t, "the file system of %s has no user extended attributes", dir)
		}
		unix.Lremovexattr(dir+"/f", "user.probe")
		// The gofer's private names are not the sandbox's.
		unix.Lsetxattr(dir+"/f", "user.magawa.other", []byte("private"), 0)
		c := s.client(t, Export{Path: dir})
		w := newWorld(t, c, 0)
		p, err := w.resolve("/f", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.v.SetXattr(w.ctx, p, "user.color", []byte("blue"), 0); err != nil {
			t.Fatal(err)
		}
		if v, err := w.v.GetXattr(w.ctx, p, "user.color"); err != nil || string(v) != "blue" {
			t.Errorf("get user.color = %q, %v", v, err)
		}
		if err := w.v.SetXattr(w.ctx, p, "user.color", []byte("red"), unix.XATTR_CREATE); err != unix.EEXIST {
			t.Errorf("XATTR_CREATE on existing: %v", err)
		}
		if err := w.v.SetXattr(w.ctx, p, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
			t.Fatal(err)
		}
		if v, err := w.v.GetXattr(w.ctx, p, "trusted.overlay.opaque"); err != nil || string(v) != "y" {
			t.Errorf("get trusted.overlay.opaque = %q, %v", v, err)
		}
		buf := make([]byte, 16)
		if n, err := unix.Lgetxattr(dir+"/f", "user.magawa.trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
			t.Errorf("host's user.magawa.trusted.overlay.opaque = %q, %v", buf[:max(n, 0)], err)
		}
		names, err := w.v.ListXattr(w.ctx, p)
		slices.Sort(names)
		if want := []string{"trusted.overlay.opaque", "user.color"}; err != nil || !slices.Equal(names, want) {
			t.Errorf("list = %v, %v; want %v", names, err, want)
		}
		if _, err := w.v.GetXattr(w.ctx, p, "user.magawa.other"); err != unix.ENODATA {
			t.Errorf("get of a private name: %v, want ENODATA", err)
		}
		if err := w.v.RemoveXattr(w.ctx, p, "user.color"); err != nil {
			t.Error(err)
		}
		if _, err := w.v.GetXattr(w.ctx, p, "user.color"); err != unix.ENODATA {
			t.Errorf("after remove: %v", err)
		}
		// The root directory has no parent in the export.
		rp, _ := w.resolve("/", 0)
		if err := w.v.SetXattr(w.ctx, rp, "user.root", []byte("r"), 0); err != nil {
			t.Errorf("set on the root: %v", err)
		}
		if v, err := w.v.GetXattr(w.ctx, rp, "user.root"); err != nil || string(v) != "r" {
			t.Errorf("get on the root = %q, %v", v, err)
		}
		// A large value.
		big := bytes.Repeat([]byte("v"), 1500) // ext4 keeps all of a file's in one block
		if err := w.v.SetXattr(w.ctx, p, "user.big", big, 0); err != nil {
			t.Error(err)
		} else if v, err := w.v.GetXattr(w.ctx, p, "user.big"); err != nil || !bytes.Equal(v, big) {
			t.Errorf("big value: %d bytes, %v", len(v), err)
		}
	})
}

func TestReadOnlyExport(t *testing.T) {
	forEachServer(t, func(t *testing.T, s servers) {
		dir := t.TempDir()
		mkfile(t, dir+"/f", "data")
		rw := t.TempDir()
		c := s.client(t, Export{Path: dir, ReadOnly: true}, Export{Path: rw})
		w := newWorld(t, c, 0)
		if !w.fs.ReadOnly() {
			t.Fatal("export 0 is not read-only")
		}
		if got := w.mustRead("/f"); got != "data" {
			t.Errorf("read = %q", got)
		}
		// The client's inodes refuse on their own...
		root := w.fs.Root().(vfs.DirInode)
		if _, err := root.Create(w.ctx, "g", vfs.NewAttrs{Mode: unix.S_IFREG | 0o644}); err != unix.EROFS {
			t.Errorf("create: %v, want EROFS", err)
		}
		fi, err := root.Lookup(w.ctx, "f")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fi.Open(w.ctx, unix.O_RDWR); err != unix.EROFS {
			t.Errorf("open for writing: %v, want EROFS", err)
		}
		// ...and so does the gofer, whatever the client says.
		raw := s.raw(t, Export{Path: dir, ReadOnly: true})
		var before unix.Stat_t
		unix.Stat(dir+"/f", &before)
		for _, tc := range []struct {
			op   wire.Op
			body wire.Message
		}{
			{wire.OpOpen, &wire.OpenReq{Path: "f", Flags: unix.O_RDWR}},
			{wire.OpOpen, &wire.OpenReq{Path: "f", Flags: unix.O_WRONLY}},
			{wire.OpCreate, &wire.CreateReq{Name: "g", Mode: unix.S_IFREG | 0o644}},
			{wire.OpMkdir, &wire.CreateReq{Name: "g", Mode: unix.S_IFDIR | 0o755}},
			{wire.OpSymlink, &wire.CreateReq{Name: "g", Mode: unix.S_IFLNK | 0o777, Target: "f"}},
			{wire.OpLink, &wire.LinkReq{Name: "g", Target: "f"}},
			{wire.OpUnlink, &wire.UnlinkReq{Name: "f"}},
			{wire.OpRename, &wire.RenameReq{OldName: "f", NewName: "g"}},
			{wire.OpSetAttr, &wire.SetAttrReq{Path: "f", Mask: unix.STATX_SIZE}},
			{wire.OpSetAttr, &wire.SetAttrReq{Path: "f", Mask: unix.STATX_MODE, Mode: 0o777}},
			{wire.OpSetXattr, &wire.XattrReq{Path: "f", Name: "user.x", Value: []byte("1")}},
			{wire.OpRemoveXattr, &wire.XattrReq{Path: "f", Name: "user.x"}},
		} {
			errno, _, fd, err := raw.call(request(tc.op, 0, tc.body))
			if fd >= 0 {
				unix.Close(fd)
			}
			if err != nil || errno != unix.EROFS {
				t.Errorf("%d %+v: errno %v, %v; want EROFS", tc.op, tc.body, errno, err)
			}
		}
		var after unix.Stat_t
		unix.Stat(dir+"/f", &after)
		if after.Size != 4 || after.Mode != before.Mode {
			t.Errorf("the read-only file changed: size %d mode %o", after.Size, after.Mode)
		}
		// The read-write export next to it writes.
		w1 := newWorld(t, c, 1)
		w1.write("/g", "ok")
		if b, _ := os.ReadFile(rw + "/g"); string(b) != "ok" {
			t.Errorf("rw export: %q", b)
		}
	})
}
