package vfs_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// world is a VFS with a tmpfs root, seen by a root caller.
type world struct {
	t   *testing.T
	v   *vfs.VFS
	ns  *vfs.MountNamespace
	ctx *vfs.Context
	mf  *memfile.File
}

func newWorld(t *testing.T) *world {
	t.Helper()
	mf, err := memfile.New(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	v := vfs.New()
	ns := v.NewMountNamespace(tmpfs.New(mf, tmpfs.Options{Mode: 0o755}), "rootfs", 0)
	root := ns.Root()
	return &world{t: t, v: v, ns: ns, mf: mf, ctx: &vfs.Context{Creds: &vfs.RootCreds, Root: root, Cwd: root, Umask: 0o022}}
}

func (w *world) mkdir(name string) {
	w.t.Helper()
	if err := w.v.Mkdir(w.ctx, w.ctx.Cwd, name, 0o755); err != nil {
		w.t.Fatalf("mkdir %s: %v", name, err)
	}
}

func (w *world) symlink(target, name string) {
	w.t.Helper()
	if err := w.v.Symlink(w.ctx, target, w.ctx.Cwd, name); err != nil {
		w.t.Fatalf("symlink %s -> %s: %v", name, target, err)
	}
}

func (w *world) write(name, data string) {
	w.t.Helper()
	f, err := w.v.Open(w.ctx, w.ctx.Cwd, name, vfs.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC, Mode: 0o644})
	if err != nil {
		w.t.Fatalf("create %s: %v", name, err)
	}
	defer f.DecRef()
	if _, err := f.Impl.WriteAt([]byte(data), 0); err != nil {
		w.t.Fatalf("write %s: %v", name, err)
	}
}

func (w *world) read(name string, resolve uint64) (string, error) {
	f, err := w.v.Open(w.ctx, w.ctx.Cwd, name, vfs.OpenHow{Flags: unix.O_RDONLY, Resolve: resolve})
	if err != nil {
		return "", err
	}
	defer f.DecRef()
	buf := make([]byte, 4096)
	n, err := f.Impl.ReadAt(buf, 0)
	if n == 0 && err != nil && err.Error() != "EOF" {
		return "", err
	}
	return string(buf[:n]), nil
}

func (w *world) name(p vfs.Path) string {
	n, _ := w.v.PathName(w.ctx.Root, p)
	return n
}

func TestWalk(t *testing.T) {
	w := newWorld(t)
	w.mkdir("/a")
	w.mkdir("/a/b")
	w.write("/a/b/f", "hello")
	w.symlink("b/f", "/a/rel")
	w.symlink("/a/b", "/a/abs")
	w.symlink("../..", "/a/b/up")
	w.symlink("loop2", "/loop1")
	w.symlink("loop1", "/loop2")
	w.symlink("nowhere", "/dangling")

	for _, c := range []struct {
		name    string
		resolve uint64
		want    string
		err     error
	}{
		{name: "/a/b/f", want: "/a/b/f"},
		{name: "a/b/f", want: "/a/b/f"},
		{name: "/a/rel", want: "/a/b/f"},
		{name: "/a/abs/f", want: "/a/b/f"},
		{name: "/a/b/up/a/b/f", want: "/a/b/f"},
		{name: "/../../a/./b/../b/f", want: "/a/b/f"},
		{name: "/a/b/f/", err: unix.ENOTDIR},
		{name: "/a/b/f/x", err: unix.ENOTDIR},
		{name: "/a/missing", err: unix.ENOENT},
		{name: "/loop1", err: unix.ELOOP},
		{name: "/dangling", err: unix.ENOENT},
		{name: "/a/rel", resolve: vfs.ResolveNoFollow, want: "/a/rel"},
		{name: "/a/rel", resolve: vfs.ResolveNoSymlinks, err: unix.ELOOP},
		{name: "/a/abs", resolve: vfs.ResolveDirectory, want: "/a/b"},
		{name: "/a/b/f", resolve: vfs.ResolveDirectory, err: unix.ENOTDIR},
		{name: "", err: unix.ENOENT},
		{name: "/" + strings.Repeat("x", 256), err: unix.ENAMETOOLONG},
	} {
		p, err := w.v.Resolve(w.ctx, w.ctx.Cwd, c.name, c.resolve)
		if err != c.err {
			t.Errorf("Resolve(%q): error %v, want %v", c.name, err, c.err)
			continue
		}
		if err == nil && w.name(p) != c.want {
			t.Errorf("Resolve(%q) = %s, want %s", c.name, w.name(p), c.want)
		}
	}
}

// TestResolveInRoot: RESOLVE_IN_ROOT treats the start as the root, and
// RESOLVE_BENEATH refuses to leave it: no name, link or ".." escapes.
func TestResolveInRoot(t *testing.T) {
	w := newWorld(t)
	w.mkdir("/jail")
	w.mkdir("/jail/d")
	w.write("/secret", "secret")
	w.write("/jail/secret", "decoy")
	w.symlink("/secret", "/jail/d/abs")
	w.symlink("../../../secret", "/jail/d/rel")
	jail, err := w.v.Resolve(w.ctx, w.ctx.Root, "/jail", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d/abs", "d/rel", "../secret", "d/../../../secret", "/secret"} {
		p, err := w.v.Resolve(w.ctx, jail, name, vfs.ResolveInRoot)
		if err != nil {
			t.Errorf("IN_ROOT %s: %v", name, err)
			continue
		}
		if got := w.name(p); got != "/jail/secret" {
			t.Errorf("IN_ROOT %s resolved to %s, want /jail/secret", name, got)
		}
		if _, err := w.v.Resolve(w.ctx, jail, name, vfs.ResolveBeneath); err != unix.EXDEV {
			t.Errorf("BENEATH %s: %v, want EXDEV", name, err)
		}
	}
	// A task whose root is the jail cannot climb out either.
	jailed := *w.ctx
	jailed.Root, jailed.Cwd = jail, jail
	p, err := w.v.Resolve(&jailed, jail, "../../d/rel", 0)
	if err != nil || w.name(p) != "/jail/secret" {
		t.Errorf("chrooted ../../d/rel: %s, %v", w.name(p), err)
	}
}

func TestMounts(t *testing.T) {
	w := newWorld(t)
	w.mkdir("/mnt")
	w.write("/mnt/under", "covered")
	mnt, _ := w.v.Resolve(w.ctx, w.ctx.Root, "/mnt", 0)
	inner := tmpfs.New(w.mf, tmpfs.Options{Mode: 0o755})
	if _, err := w.v.Mount(w.ctx, mnt, inner, "tmpfs", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.read("/mnt/under", 0); err != unix.ENOENT {
		t.Errorf("covered file: %v, want ENOENT", err)
	}
	w.write("/mnt/over", "on top")
	if got, _ := w.read("/mnt/../mnt/over", 0); got != "on top" {
		t.Errorf("through the mount: %q", got)
	}
	top, _ := w.v.Resolve(w.ctx, w.ctx.Root, "/mnt", 0)
	if top.Mount == mnt.Mount {
		t.Error("walk did not cross into the mount")
	}
	if _, err := w.v.Resolve(w.ctx, top, "../mnt/over", vfs.ResolveNoXdev); err != unix.EXDEV {
		t.Errorf("NO_XDEV across a mount: %v", err)
	}
	if err := w.v.Rmdir(w.ctx, w.ctx.Root, "/mnt"); err != unix.EBUSY {
		t.Errorf("rmdir of a mount point: %v, want EBUSY", err)
	}
	// Read-only remount.
	if err := w.v.Remount(top, vfs.MountReadOnly); err != nil {
		t.Fatal(err)
	}
	if err := w.v.Mkdir(w.ctx, w.ctx.Root, "/mnt/x", 0o755); err != unix.EROFS {
		t.Errorf("mkdir on a read-only mount: %v", err)
	}
	infos := w.ns.Mounts(w.ctx.Root)
	if len(infos) != 2 || infos[1].MountPoint != "/mnt" || infos[1].Flags&vfs.MountReadOnly == 0 {
		t.Errorf("mounts: %+v", infos)
	}
	if err := w.v.Umount(top); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.read("/mnt/under", 0); got != "covered" {
		t.Errorf("after unmount: %q", got)
	}
}

func TestRename(t *testing.T) {
	w := newWorld(t)
	w.mkdir("/d")
	w.mkdir("/d/sub")
	w.write("/d/a", "A")
	w.write("/d/b", "B")
	r := func(from, to string, flags uint32) error {
		return w.v.Rename(w.ctx, w.ctx.Root, from, w.ctx.Root, to, flags)
	}
	if err := r("/d/a", "/d/b", unix.RENAME_NOREPLACE); err != unix.EEXIST {
		t.Errorf("NOREPLACE: %v", err)
	}
	if err := r("/d/a", "/d/b", unix.RENAME_EXCHANGE); err != nil {
		t.Fatal(err)
	}
	if a, _ := w.read("/d/a", 0); a != "B" {
		t.Errorf("after exchange a = %q", a)
	}
	if err := r("/d", "/d/sub/x", 0); err != unix.EINVAL {
		t.Errorf("directory below itself: %v", err)
	}
	if err := r("/d/a", "/d/sub", 0); err != unix.EISDIR {
		t.Errorf("file over directory: %v", err)
	}
	if err := r("/d/sub", "/d/a", 0); err != unix.ENOTDIR {
		t.Errorf("directory over file: %v", err)
	}
	// An open directory's name follows it.
	sub, _ := w.v.Resolve(w.ctx, w.ctx.Root, "/d/sub", 0)
	if err := r("/d/sub", "/moved", 0); err != nil {
		t.Fatal(err)
	}
	if got := w.name(sub); got != "/moved" {
		t.Errorf("moved directory is named %s", got)
	}
	if _, err := w.v.Resolve(w.ctx, w.ctx.Root, "/d/sub", 0); err != unix.ENOENT {
		t.Errorf("old name: %v", err)
	}
	if err := w.v.Unlink(w.ctx, w.ctx.Root, "/d/a"); err != nil {
		t.Fatal(err)
	}
	if err := w.v.Rmdir(w.ctx, w.ctx.Root, "/d"); err != unix.ENOTEMPTY {
		t.Errorf("rmdir non-empty: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	w := newWorld(t)
	w.mkdir("/private")
	w.write("/private/f", "x")
	root, _ := w.v.Resolve(w.ctx, w.ctx.Root, "/private", 0)
	if err := w.v.Chmod(w.ctx, root, 0o700); err != nil {
		t.Fatal(err)
	}
	user := *w.ctx
	user.Creds = &vfs.Creds{UID: 1000, GID: 1000}
	if _, err := w.v.Resolve(&user, user.Root, "/private/f", 0); err != unix.EACCES {
		t.Errorf("search without x: %v", err)
	}
	if err := w.v.Mkdir(&user, user.Root, "/mine", 0o755); err != unix.EACCES {
		t.Errorf("mkdir in / as a user: %v", err)
	}
	if err := w.v.Chown(&user, root, 1000, ^uint32(0)); err != unix.EPERM {
		t.Errorf("chown by a user: %v", err)
	}
}

func TestOpenFlags(t *testing.T) {
	w := newWorld(t)
	w.mkdir("/d")
	w.write("/d/f", "data")
	open := func(name string, flags int) error {
		f, err := w.v.Open(w.ctx, w.ctx.Root, name, vfs.OpenHow{Flags: flags, Mode: 0o644})
		if err == nil {
			f.DecRef()
		}
		return err
	}
	for _, c := range []struct {
		name  string
		flags int
		err   error
	}{
		{"/d/f", unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY, unix.EEXIST},
		{"/d", unix.O_WRONLY, unix.EISDIR},
		{"/d/f", unix.O_DIRECTORY, unix.ENOTDIR},
		{"/d/new/", unix.O_CREAT | unix.O_WRONLY, unix.EISDIR},
		{"/nodir/f", unix.O_CREAT | unix.O_WRONLY, unix.ENOENT},
		{"/d/f/x", unix.O_CREAT | unix.O_WRONLY, unix.ENOTDIR},
		{"/d", unix.O_PATH, nil},
		{"/d/f", unix.O_RDONLY | unix.O_TRUNC, nil},
	} {
		if err := open(c.name, c.flags); err != c.err {
			t.Errorf("open(%s, %#x): %v, want %v", c.name, c.flags, err, c.err)
		}
	}
	if got, _ := w.read("/d/f", 0); got != "" {
		t.Errorf("O_TRUNC left %q", got)
	}
	// A dangling symbolic link is created through.
	w.symlink("target", "/d/link")
	if err := open("/d/link", unix.O_CREAT|unix.O_WRONLY); err != nil {
		t.Fatal(err)
	}
	if _, err := w.v.Resolve(w.ctx, w.ctx.Root, "/d/target", 0); err != nil {
		t.Errorf("the link's target was not created: %v", err)
	}
	if err := open("/d/link", unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY); err != unix.EEXIST {
		t.Errorf("O_EXCL on a link: %v", err)
	}
	if err := open("/d/link", unix.O_NOFOLLOW|unix.O_RDONLY); err != unix.ELOOP {
		t.Errorf("O_NOFOLLOW on a link: %v", err)
	}
}

func TestDeepTreeAndLongNames(t *testing.T) {
	w := newWorld(t)
	name := ""
	for i := 0; i < 1000; i++ {
		name += "/d"
		w.mkdir(name)
	}
	p, err := w.v.Resolve(w.ctx, w.ctx.Root, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.name(p); got != name {
		t.Errorf("deep name has %d bytes, want %d", len(got), len(name))
	}
	long := strings.Repeat("a/../", 20000)
	if _, err := w.v.Resolve(w.ctx, w.ctx.Root, long, 0); err != unix.ENAMETOOLONG {
		t.Errorf("100 KiB name: %v", err)
	}
}

// TestNegativeEntriesBounded: looking up many missing names keeps at most
// maxNegatives of them cached per directory, and names created later
// are found.
func TestNegativeEntriesBounded(t *testing.T) {
	w := newWorld(t)
	w.mkdir("/d")
	for i := 0; i < 5000; i++ {
		if _, err := w.v.Resolve(w.ctx, w.ctx.Root, fmt.Sprintf("/d/missing%d", i), 0); err != unix.ENOENT {
			t.Fatalf("missing%d: %v", i, err)
		}
	}
	d, _ := w.v.Resolve(w.ctx, w.ctx.Root, "/d", 0)
	if n := vfs.CachedChildren(d.Dentry); n > 300 {
		t.Errorf("%d children cached after 5000 missing lookups", n)
	}
	w.write("/d/missing4999", "now here")
	if got, err := w.read("/d/missing4999", 0); err != nil || got != "now here" {
		t.Errorf("created after a negative lookup: %q, %v", got, err)
	}
}
