package gofer

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	goferfs "magawa/kernel/fs/gofer"
	"magawa/kernel/userns"
	"magawa/kernel/vfs"
)

// TestIDMappedOwners serves a directory to a sandbox whose user
// namespace maps its IDs 0-65535 to the host's 100000-165535 (podman
// --uidmap 0:100000:65536): host owners read as the container's, files
// the container makes and chowns get the host's IDs, and owners outside
// the map read as the overflow ID and cannot be set.
func TestIDMappedOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		skip(t, "needs root: the server gives files other owners (CI runs as root)")
	}
	dir := t.TempDir()
	mkfile(t, filepath.Join(dir, "hostroot"), "x")
	mkfile(t, filepath.Join(dir, "mapped"), "x")
	if err := os.Lchown(filepath.Join(dir, "mapped"), 100005, 100007); err != nil {
		t.Fatal(err)
	}
	uids, err := userns.New([]userns.Extent{{Inside: 0, Outside: 100000, Count: 65536}})
	if err != nil {
		t.Fatal(err)
	}
	gids, err := userns.New([]userns.Extent{{Inside: 0, Outside: 200000, Count: 65536}})
	if err != nil {
		t.Fatal(err)
	}
	c := inProcessWith(t, goferfs.ClientOptions{UIDMap: uids, GIDMap: gids}, Export{Path: dir})
	w := newWorld(t, c, 0)
	w.ctx.Creds = &vfs.Creds{UID: 0, GID: 0, Caps: ^uint64(0)} // the container's root

	owner := func(name string) (uint32, uint32) {
		st := w.mustStat(name)
		return st.Uid, st.Gid
	}
	hostOwner := func(name string) (uint32, uint32) {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, name), &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid, st.Gid
	}
	if u, g := owner("hostroot"); u != userns.OverflowID || g != userns.OverflowID {
		t.Errorf("a file of the host's root reads as owned by %d:%d, want the overflow IDs", u, g)
	}
	if u, g := owner("mapped"); u != 5 || g != userns.OverflowID {
		t.Errorf("a file of host 100005:100007 reads as %d:%d", u, g)
	}

	w.write("new", "data")
	if u, g := hostOwner("new"); u != 100000 || g != 200000 {
		t.Errorf("a file the container's root made is %d:%d on the host, want 100000:200000", u, g)
	}
	if u, g := owner("new"); u != 0 || g != 0 {
		t.Errorf("it reads as %d:%d inside, want 0:0", u, g)
	}
	if err := w.v.Mkdir(w.ctx, w.ctx.Cwd, "subdir", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := w.v.Symlink(w.ctx, "new", w.ctx.Cwd, "link"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"subdir", "link"} {
		if u, g := hostOwner(name); u != 100000 || g != 200000 {
			t.Errorf("%s is %d:%d on the host, want 100000:200000", name, u, g)
		}
	}

	p, err := w.resolve("new", vfs.ResolveNoFollow)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.v.Chown(w.ctx, p, 42, 43); err != nil {
		t.Fatal(err)
	}
	if u, g := hostOwner("new"); u != 100042 || g != 200043 {
		t.Errorf("chown 42:43 made %d:%d on the host, want 100042:200043", u, g)
	}
	if u, g := owner("new"); u != 42 || g != 43 {
		t.Errorf("after chown 42:43 it reads as %d:%d", u, g)
	}
	if err := w.v.Chown(w.ctx, p, 70000, ^uint32(0)); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("chown to an unmapped user: %v, want EINVAL", err)
	}
	if u, _ := hostOwner("new"); u != 100042 {
		t.Errorf("the refused chown changed the host owner to %d", u)
	}
}
