package overlay

import (
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// image populates a lower layer with a small system tree.
func image(t testing.TB) func(root vfs.Inode) {
	return func(root vfs.Inode) {
		mkdir(t, root, "etc", 0o755)
		passwd := mkfile(t, root, "etc/passwd", 0o644, "root:x:0:0::/root:/bin/sh\n")
		if err := passwd.(vfs.XattrInode).SetXattr(ctx, "user.kind", []byte("passwd"), 0); err != nil {
			t.Fatal(err)
		}
		mkfile(t, root, "etc/motd", 0o644, "hello\n")
		mkdir(t, root, "bin", 0o755)
		mkfile(t, root, "bin/sh", 0o4755, "\x7fELF shell")
		mkdir(t, root, "home", 0o755)
		u := mkdir(t, root, "home/u", 0o700)
		setStat(t, u, vfs.SetAttr{Mask: unix.STATX_UID | unix.STATX_GID, UID: 1000, GID: 1000})
		n := mkfile(t, root, "home/u/notes", 0o600, "notes")
		setStat(t, n, vfs.SetAttr{Mask: unix.STATX_UID | unix.STATX_GID, UID: 1000, GID: 1000})
		mkdir(t, root, "usr", 0o755)
		mkdir(t, root, "usr/lib", 0o755)
		mkfile(t, root, "usr/lib/libc.so", 0o755, "libc")
		mksymlink(t, root, "lib", "usr/lib")
		mkdir(t, root, "d", 0o755)
		mkfile(t, root, "d/a", 0o644, "a")
		mkfile(t, root, "d/b", 0o644, "b")
		mkdir(t, root, "d/sub", 0o755)
		mkfile(t, root, "d/sub/c", 0o644, "c")
		mkdir(t, root, "empty", 0o755)
		if _, err := root.(vfs.DirInode).Create(ctx, "null", vfs.NewAttrs{Mode: unix.S_IFCHR | 0o666, Rdev: unix.Mkdev(1, 3)}); err != nil {
			t.Fatal(err)
		}
		// Fixed times everywhere, so that changes show.
		for _, p := range []string{"", "etc", "etc/passwd", "etc/motd", "bin", "bin/sh", "home", "home/u", "home/u/notes",
			"usr", "usr/lib", "usr/lib/libc.so", "d", "d/a", "d/b", "d/sub", "d/sub/c", "empty", "null"} {
			setStat(t, lookup(t, root, p), vfs.SetAttr{Mask: unix.STATX_ATIME | unix.STATX_MTIME, Atime: ts(1000), Mtime: ts(2000)})
		}
	}
}

func TestNew(t *testing.T) {
	lower, upper := newTmpfs(t), newTmpfs(t)
	mkfile(t, upper.Root(), "x", 0o644, "")
	if _, err := New(lower, upper); err != unix.ENOTEMPTY {
		t.Fatalf("New over a non-empty upper: %v, want ENOTEMPTY", err)
	}
	e := newEnv(t, nil)
	if e.ovl.Type() != "overlay" || e.ovl.Options() != "lowerdir=/,upperdir=(memory)" {
		t.Errorf("Type, Options = %q, %q", e.ovl.Type(), e.ovl.Options())
	}
	st, err := e.root.(vfs.StatfsInode).Statfs(ctx)
	if err != nil || st.Type != OverlayMagic {
		t.Errorf("Statfs: %+v, %v", st, err)
	}
}

// The whole life of a container's changes: everything lands in the upper
// layer; the lower one is the same, byte for byte, afterwards.
func TestWritesLandInUpper(t *testing.T) {
	e := newEnv(t, image(t))
	before := snapshot(t, e.lower.Root())

	writeAt(t, lookup(t, e.root, "etc/passwd"), "ROOT", 0)
	mkfile(t, e.root, "etc/hostname", 0o644, "box\n")
	unlink(t, e.root, "etc/motd")
	setStat(t, lookup(t, e.root, "bin/sh"), vfs.SetAttr{Mask: unix.STATX_MODE, Mode: 0o700})
	setStat(t, lookup(t, e.root, "home/u/notes"), vfs.SetAttr{Mask: unix.STATX_SIZE, Size: 2})
	mkdir(t, e.root, "tmp", 0o1777)
	mkfile(t, e.root, "tmp/x", 0o600, "x")
	if err := lookup(t, e.root, "usr/lib/libc.so").(vfs.XattrInode).SetXattr(ctx, "user.a", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "rename etc/passwd", renameErr(t, e.root, "etc/passwd", "etc/passwd-", 0), nil)
	for _, p := range []string{"d/a", "d/b", "d/sub/c"} {
		unlink(t, e.root, p)
	}
	wantErr(t, "rmdir d/sub", rmdirErr(t, e.root, "d/sub"), nil)
	wantErr(t, "rmdir d", rmdirErr(t, e.root, "d"), nil)
	mkdir(t, e.root, "d", 0o700)

	if got := readAll(t, lookup(t, e.root, "etc/passwd-")); got != "ROOT:x:0:0::/root:/bin/sh\n" {
		t.Errorf("etc/passwd- reads %q", got)
	}
	if got := readAll(t, lookup(t, e.root, "home/u/notes")); got != "no" {
		t.Errorf("home/u/notes reads %q", got)
	}
	// The changes are in the upper layer...
	if got := readAll(t, lookup(t, e.upper.Root(), "etc/passwd-")); got != "ROOT:x:0:0::/root:/bin/sh\n" {
		t.Errorf("upper etc/passwd- reads %q", got)
	}
	if got := readAll(t, lookup(t, e.upper.Root(), "tmp/x")); got != "x" {
		t.Errorf("upper tmp/x reads %q", got)
	}
	// ...and the lower layer is untouched.
	sameSnapshot(t, before, snapshot(t, e.lower.Root()))
	if got := readAll(t, lookup(t, e.lower.Root(), "etc/passwd")); got != "root:x:0:0::/root:/bin/sh\n" {
		t.Errorf("lower etc/passwd reads %q", got)
	}
}

func TestUnlinkHides(t *testing.T) {
	e := newEnv(t, image(t))
	unlink(t, e.root, "etc/motd")
	_, err := lookupErr(e.root, "etc/motd")
	wantErr(t, "lookup after unlink", err, unix.ENOENT)
	if got := list(t, lookup(t, e.root, "etc")); len(got) != 1 || got[0] != "passwd" {
		t.Errorf("etc lists %q", got)
	}
	d, _ := parentOf(t, e.root, "etc/motd")
	wantErr(t, "unlink again", d.Unlink(ctx, "motd"), unix.ENOENT)
	// The whiteout is the overlay's own: the upper layer has no marker.
	if got := list(t, lookup(t, e.upper.Root(), "etc")); len(got) != 0 {
		t.Errorf("upper etc lists %q, want nothing", got)
	}
	// A new file of the name is a new file, listed once.
	mkfile(t, e.root, "etc/motd", 0o600, "new")
	if got := readAll(t, lookup(t, e.root, "etc/motd")); got != "new" {
		t.Errorf("new etc/motd reads %q", got)
	}
	if got := list(t, lookup(t, e.root, "etc")); len(got) != 2 || got[0] != "motd" || got[1] != "passwd" {
		t.Errorf("etc lists %q", got)
	}
	// Unlinking a copied-up file hides the lower one as well.
	writeAt(t, lookup(t, e.root, "etc/passwd"), "x", 0)
	unlink(t, e.root, "etc/passwd")
	_, err = lookupErr(e.root, "etc/passwd")
	wantErr(t, "lookup of unlinked copied-up file", err, unix.ENOENT)
	if got := list(t, lookup(t, e.root, "etc")); len(got) != 1 || got[0] != "motd" {
		t.Errorf("etc lists %q", got)
	}
	// Directories are not unlinked; files are not rmdir'ed.
	root := e.root.(vfs.DirInode)
	wantErr(t, "unlink of a directory", root.Unlink(ctx, "etc"), unix.EISDIR)
	wantErr(t, "rmdir of a file", root.Rmdir(ctx, "null"), unix.ENOTDIR)
}

func TestRmdirAndOpaqueMkdir(t *testing.T) {
	e := newEnv(t, image(t))
	wantErr(t, "rmdir d", rmdirErr(t, e.root, "d"), unix.ENOTEMPTY)
	unlink(t, e.root, "d/a")
	unlink(t, e.root, "d/b")
	wantErr(t, "rmdir d with d/sub", rmdirErr(t, e.root, "d"), unix.ENOTEMPTY)
	wantErr(t, "rmdir d/sub", rmdirErr(t, e.root, "d/sub"), unix.ENOTEMPTY)
	unlink(t, e.root, "d/sub/c")
	wantErr(t, "rmdir d/sub", rmdirErr(t, e.root, "d/sub"), nil)
	// A new file makes it non-empty again; a removed new one empty.
	mkfile(t, e.root, "d/n", 0o644, "")
	wantErr(t, "rmdir d with d/n", rmdirErr(t, e.root, "d"), unix.ENOTEMPTY)
	unlink(t, e.root, "d/n")
	wantErr(t, "rmdir d", rmdirErr(t, e.root, "d"), nil)
	_, err := lookupErr(e.root, "d")
	wantErr(t, "lookup d", err, unix.ENOENT)
	for _, name := range list(t, e.root) {
		if name == "d" {
			t.Errorf("root still lists d")
		}
	}

	// mkdir over the removed directory: opaque, nothing of the lower one
	// shows.
	mkdir(t, e.root, "d", 0o700)
	if got := list(t, lookup(t, e.root, "d")); len(got) != 0 {
		t.Errorf("new d lists %q", got)
	}
	for _, p := range []string{"d/a", "d/sub", "d/sub/c"} {
		_, err := lookupErr(e.root, p)
		wantErr(t, "lookup "+p, err, unix.ENOENT)
	}
	mkfile(t, e.root, "d/a", 0o644, "new a")
	if got := list(t, lookup(t, e.root, "d")); len(got) != 1 || got[0] != "a" {
		t.Errorf("new d lists %q", got)
	}
	if got := readAll(t, lookup(t, e.root, "d/a")); got != "new a" {
		t.Errorf("d/a reads %q", got)
	}
	if st := stat(t, lookup(t, e.root, "d")); st.Mode != unix.S_IFDIR|0o700 {
		t.Errorf("new d has mode %o", st.Mode)
	}
	// An empty lower directory goes at once.
	wantErr(t, "rmdir empty", rmdirErr(t, e.root, "empty"), nil)
}

func TestCreateExisting(t *testing.T) {
	e := newEnv(t, image(t))
	d := lookup(t, e.root, "etc").(vfs.DirInode)
	_, err := d.Create(ctx, "passwd", attrs(unix.S_IFREG|0o644, 0, 0))
	wantErr(t, "create over lower file", err, unix.EEXIST)
	_, err = d.Mkdir(ctx, "motd", attrs(unix.S_IFDIR|0o755, 0, 0))
	wantErr(t, "mkdir over lower file", err, unix.EEXIST)
	_, err = d.Symlink(ctx, "passwd", "x", attrs(unix.S_IFLNK|0o777, 0, 0))
	wantErr(t, "symlink over lower file", err, unix.EEXIST)
	wantErr(t, "link over lower file", d.Link(ctx, "motd", lookup(t, e.root, "bin/sh")), unix.EEXIST)
}

func TestStatIdentity(t *testing.T) {
	e := newEnv(t, image(t))
	ovlDev := e.ovl.Dev()
	for _, p := range []string{"", "etc", "etc/passwd", "lib", "null", "home/u/notes"} {
		in := lookup(t, e.root, p)
		before := stat(t, in)
		low := stat(t, lookup(t, e.lower.Root(), p))
		if before.Ino != low.Ino {
			t.Errorf("%s: ino %d, lower's %d", p, before.Ino, low.Ino)
		}
		if vfs.IDOf(&before).Dev != ovlDev || ovlDev == vfs.IDOf(&low).Dev || ovlDev == e.upper.Dev() {
			t.Errorf("%s: dev %#x (overlay %#x, lower %#x, upper %#x)", p, vfs.IDOf(&before).Dev, ovlDev, vfs.IDOf(&low).Dev, e.upper.Dev())
		}
		// Copy up (a change of times keeps the rest comparable).
		setStat(t, in, vfs.SetAttr{Mask: unix.STATX_MTIME, Mtime: ts(5000)})
		after := stat(t, lookup(t, e.root, p))
		if vfs.IDOf(&after) != vfs.IDOf(&before) {
			t.Errorf("%s: identity %+v became %+v", p, vfs.IDOf(&before), vfs.IDOf(&after))
		}
	}
	// New objects: upper numbers with the top bit, distinct.
	a := stat(t, mkfile(t, e.root, "etc/new", 0o644, ""))
	b := stat(t, mkdir(t, e.root, "etc/newdir", 0o755))
	if a.Ino&upperInoBit == 0 || b.Ino&upperInoBit == 0 || a.Ino == b.Ino {
		t.Errorf("new inodes %#x, %#x", a.Ino, b.Ino)
	}
	// A merged directory's link count says "unknown" (1).
	if st := stat(t, lookup(t, e.root, "etc")); st.Nlink != 1 {
		t.Errorf("merged etc has nlink %d", st.Nlink)
	}
	// Directory entries carry the numbers stat gives.
	d := lookup(t, e.root, "etc").(vfs.DirInode)
	d.Readdir(ctx, 0, func(de vfs.Dirent) bool {
		if de.Name == ".." {
			return true
		}
		in := e.root
		if de.Name != "." {
			in = lookup(t, e.root, "etc/"+de.Name)
		} else {
			in = d
		}
		if st := stat(t, in); st.Ino != de.Ino {
			t.Errorf("etc/%s: dirent ino %#x, stat %#x", de.Name, de.Ino, st.Ino)
		}
		return true
	})
}

func TestHardLink(t *testing.T) {
	e := newEnv(t, image(t))
	src := lookup(t, e.root, "etc/motd")
	ino := stat(t, src).Ino
	d := lookup(t, e.root, "usr").(vfs.DirInode)
	if err := d.Link(ctx, "motd", src); err != nil {
		t.Fatal(err)
	}
	a, b := lookup(t, e.root, "etc/motd"), lookup(t, e.root, "usr/motd")
	sa, sb := stat(t, a), stat(t, b)
	if sa.Nlink != 2 || sb.Nlink != 2 || sa.Ino != ino || sb.Ino != ino {
		t.Errorf("after link: nlink %d, %d; ino %d, %d (was %d)", sa.Nlink, sb.Nlink, sa.Ino, sb.Ino, ino)
	}
	writeAt(t, b, "HELLO", 0)
	if got := readAll(t, a); got != "HELLO\n" {
		t.Errorf("etc/motd reads %q after a write through usr/motd", got)
	}
	unlink(t, e.root, "etc/motd")
	if st := stat(t, b); st.Nlink != 1 {
		t.Errorf("nlink %d after unlinking one name", st.Nlink)
	}
	_, err := lookupErr(e.root, "etc/motd")
	wantErr(t, "lookup of the unlinked name", err, unix.ENOENT)
	wantErr(t, "link of a directory", d.Link(ctx, "x", lookup(t, e.root, "etc")), unix.EPERM)
	wantErr(t, "link of a foreign inode", d.Link(ctx, "x", lookup(t, e.lower.Root(), "etc/passwd")), unix.EXDEV)
}

func TestTmpfile(t *testing.T) {
	e := newEnv(t, image(t))
	d := lookup(t, e.root, "etc")
	in, err := d.(vfs.TmpfileInode).Tmpfile(ctx, attrs(unix.S_IFREG|0o600, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	f, err := in.Open(ctx, unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("anon"), 0)
	if err := d.(vfs.DirInode).Link(ctx, "named", in); err != nil {
		t.Fatal(err)
	}
	f.Release()
	if got := readAll(t, lookup(t, e.root, "etc/named")); got != "anon" {
		t.Errorf("etc/named reads %q", got)
	}
	if _, err := lookupErr(e.upper.Root(), "etc/named"); err != nil {
		t.Errorf("upper etc/named: %v", err)
	}
}

// A file opened read-only before its copy-up keeps reading the lower
// copy; opens after read the upper one.
func TestOpenBeforeCopyUp(t *testing.T) {
	e := newEnv(t, image(t))
	in := lookup(t, e.root, "etc/motd")
	old, err := in.Open(ctx, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Release()
	writeAt(t, in, "HI", 0)
	if got := readImpl(t, old); got != "hello\n" {
		t.Errorf("old descriptor reads %q", got)
	}
	if got := readAll(t, in); got != "HIllo\n" {
		t.Errorf("new descriptor reads %q", got)
	}
}

func TestXattrs(t *testing.T) {
	e := newEnv(t, image(t))
	x := lookup(t, e.root, "etc/passwd").(vfs.XattrInode)
	if v, err := x.GetXattr(ctx, "user.kind"); err != nil || string(v) != "passwd" {
		t.Errorf("GetXattr: %q, %v", v, err)
	}
	wantErr(t, "remove a missing xattr", x.RemoveXattr(ctx, "user.none"), unix.ENODATA)
	if _, err := lookupErr(e.upper.Root(), "etc/passwd"); err != unix.ENOENT {
		t.Errorf("removing a missing xattr copied up: %v", err)
	}
	if err := x.RemoveXattr(ctx, "user.kind"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.GetXattr(ctx, "user.kind"); err != unix.ENODATA {
		t.Errorf("GetXattr after remove: %v", err)
	}
	if names, _ := x.ListXattr(ctx); len(names) != 0 {
		t.Errorf("ListXattr after remove: %q", names)
	}
	if got := readAll(t, lookup(t, e.root, "etc/passwd")); got != "root:x:0:0::/root:/bin/sh\n" {
		t.Errorf("etc/passwd reads %q after its copy-up", got)
	}
}

// Many goroutines change and read one tree at once: one copy-up per
// file, and nothing lost (run with -race).
func TestConcurrent(t *testing.T) {
	e := newEnv(t, func(root vfs.Inode) {
		mkdir(t, root, "a", 0o755)
		mkdir(t, root, "a/b", 0o755)
		for i := range 20 {
			mkfile(t, root, "a/b/f"+string(rune('a'+i)), 0o644, "0123456789")
		}
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				in := lookup(t, e.root, "a/b/f"+string(rune('a'+i)))
				f, err := in.Open(ctx, unix.O_RDWR)
				if err != nil {
					t.Error(err)
					return
				}
				f.WriteAt([]byte{byte('A' + g)}, int64(g))
				f.Release()
				list(t, lookup(t, e.root, "a/b"))
				stat(t, in)
			}
			mkfile(t, e.root, "a/new"+string(rune('a'+g)), 0o644, "n")
		}()
	}
	wg.Wait()
	names := list(t, lookup(t, e.root, "a/b"))
	if len(names) != 20 {
		t.Errorf("a/b lists %d names: %q", len(names), names)
	}
	for i := range 20 {
		got := readAll(t, lookup(t, e.root, "a/b/f"+string(rune('a'+i))))
		if got != "ABCDEFGH89" {
			t.Errorf("f%c reads %q", 'a'+i, got)
		}
	}
	if got := list(t, lookup(t, e.root, "a")); len(got) != 9 {
		t.Errorf("a lists %q", got)
	}
}

// Through the VFS's open: O_TRUNC truncates the upper copy (copying up
// nothing), O_CREAT makes upper files, O_TMPFILE goes to the upper layer.
func TestVFSOpen(t *testing.T) {
	e := newEnv(t, image(t))
	before := snapshot(t, e.lower.Root())
	v := vfs.New()
	ns := v.NewMountNamespace(e.ovl, "overlay", 0)
	vctx := &vfs.Context{Creds: &vfs.RootCreds, Root: ns.Root(), Cwd: ns.Root()}
	write := func(f *vfs.File, s string) {
		t.Helper()
		if _, err := f.Write(func(w func([]byte) (int, error)) (int, error) { return w([]byte(s)) }); err != nil {
			t.Fatal(err)
		}
	}
	f, err := v.Open(vctx, ns.Root(), "/etc/motd", vfs.OpenHow{Flags: unix.O_WRONLY | unix.O_TRUNC})
	if err != nil {
		t.Fatal(err)
	}
	write(f, "bye\n")
	f.DecRef()
	if got := readAll(t, lookup(t, e.root, "etc/motd")); got != "bye\n" {
		t.Errorf("etc/motd reads %q", got)
	}
	sx, err := f.Statx(vctx, unix.STATX_BASIC_STATS)
	if err != nil || vfs.IDOf(&sx).Dev != e.ovl.Dev() || sx.Ino != stat(t, lookup(t, e.lower.Root(), "etc/motd")).Ino {
		t.Errorf("fstat: dev %#x ino %d, %v", vfs.IDOf(&sx).Dev, sx.Ino, err)
	}
	f, err = v.Open(vctx, ns.Root(), "/home/u/new", vfs.OpenHow{Flags: unix.O_RDWR | unix.O_CREAT | unix.O_EXCL, Mode: 0o640})
	if err != nil {
		t.Fatal(err)
	}
	write(f, "new")
	f.DecRef()
	if got := readAll(t, lookup(t, e.upper.Root(), "home/u/new")); got != "new" {
		t.Errorf("upper home/u/new reads %q", got)
	}
	f, err = v.Open(vctx, ns.Root(), "/usr", vfs.OpenHow{Flags: unix.O_RDWR | unix.O_TMPFILE, Mode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	write(f, "tmp")
	f.DecRef()
	if got := names(t, e, "usr"); got != "lib" {
		t.Errorf("usr lists %q", got)
	}
	sameSnapshot(t, before, snapshot(t, e.lower.Root()))
}

// Renames, removals, creations and copy-ups in several directories at
// once finish (no deadlock) and leave a consistent tree (run with -race).
func TestConcurrentNamespace(t *testing.T) {
	e := newEnv(t, func(root vfs.Inode) {
		for _, d := range []string{"a", "b", "c"} {
			mkdir(t, root, d, 0o755)
			for i := range 10 {
				mkfile(t, root, d+"/f"+string(rune('0'+i)), 0o644, d)
			}
		}
	})
	dirs := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				from, to := dirs[(g+i)%3], dirs[(g+i+1)%3]
				name := "f" + string(rune('0'+i%10))
				switch i % 5 {
				case 0, 1: // a move that replaced would lose a file
					renameErr(t, e.root, from+"/"+name, to+"/"+name, unix.RENAME_NOREPLACE)
				case 2:
					renameErr(t, e.root, from+"/"+name, to+"/"+name, unix.RENAME_EXCHANGE)
				case 3:
					d, _ := parentOf(t, e.root, from+"/x")
					sub := "s" + string(rune('0'+g))
					if _, err := d.Mkdir(ctx, sub, attrs(unix.S_IFDIR|0o755, 0, 0)); err == nil {
						d.Rmdir(ctx, sub)
					}
				case 4:
					if in, err := lookupErr(e.root, from+"/"+name); err == nil {
						if f, err := in.Open(ctx, unix.O_RDWR); err == nil {
							f.WriteAt([]byte("w"), 0)
							f.Release()
						}
					}
					list(t, lookup(t, e.root, from))
				}
			}
		}()
	}
	wg.Wait()
	// Every file is somewhere exactly once: 30 names in all.
	total := 0
	for _, d := range dirs {
		for _, n := range list(t, lookup(t, e.root, d)) {
			if n[0] == 'f' {
				total++
				lookup(t, e.root, d+"/"+n)
			}
		}
	}
	if total != 30 {
		t.Errorf("%d files in all, want 30", total)
	}
}
