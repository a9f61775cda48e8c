package gofer

import (
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/vfs"
)

func listAll(t *testing.T, d vfs.DirInode) {
	t.Helper()
	if err := d.Readdir(ctx, 0, func(vfs.Dirent) bool { return true }); err != nil {
		t.Fatal(err)
	}
}

// TestSeeds: a listing's attributes answer the Lookups that follow,
// once each, exactly as the gofer's stat would.
func TestSeeds(t *testing.T) {
	h := newHostFiles(t, 4)
	fs, _ := mountHostFiles(t, h, ClientOptions{})
	root := fs.Root().(vfs.DirInode)
	listAll(t, root)
	if n := fs.seeds.count(); n != 4 {
		t.Fatalf("%d seeds after listing 4 files", n)
	}
	for i := range 4 {
		name := fmt.Sprintf("f%d", i)
		in, err := root.Lookup(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		st, err := in.Stat(ctx, unix.STATX_BASIC_STATS)
		if err != nil {
			t.Fatal(err)
		}
		want := h.attrs[name]
		if st.Ino != fs.virtualIno(want.Dev, want.Ino) || st.Size != want.Size || uint32(st.Mode) != want.Mode || st.Mtime.Sec != want.Mtime.Sec {
			t.Errorf("%s from a seed: %+v, want %+v", name, st, want)
		}
	}
	if n := h.stats.Load(); n != 0 {
		t.Errorf("%d stat requests after a listing", n)
	}
	// Taken once: the next Lookup of a name asks.
	if _, err := root.Lookup(ctx, "f0"); err != nil {
		t.Fatal(err)
	}
	if n := h.stats.Load(); n != 1 || fs.seeds.count() != 0 {
		t.Errorf("a second lookup: %d stats, %d seeds", n, fs.seeds.count())
	}
	// A missing name still asks.
	if _, err := root.Lookup(ctx, "nope"); err != unix.ENOENT {
		t.Errorf("lookup of a missing name: %v", err)
	}
}

// TestSeedsNotKept: names whose inode is alive, files with several
// links, and listings of a directory that changes seed nothing, and a
// change drops the directory's seeds.
func TestSeedsNotKept(t *testing.T) {
	h := newHostFiles(t, 3)
	multi := h.attrs["f2"]
	multi.Nlink = 2
	h.attrs["f2"] = multi
	fs, _ := mountHostFiles(t, h, ClientOptions{})
	root := fs.Root().(dirInode)
	alive, err := root.Lookup(ctx, "f0")
	if err != nil {
		t.Fatal(err)
	}
	listAll(t, root)
	if _, ok := root.inode.seeds["f0"]; ok {
		t.Error("a name with a live inode was seeded")
	}
	if _, ok := root.inode.seeds["f2"]; ok {
		t.Error("a file with two links was seeded")
	}
	if _, ok := root.inode.seeds["f1"]; !ok {
		t.Error("f1 was not seeded")
	}
	// The directory holds its children weakly: without this, a GC
	// during the listing could free f0's inode, which then is seeded.
	runtime.KeepAlive(alive)
	// A change of the directory drops its seeds.
	if _, err := root.Create(ctx, "new", vfs.NewAttrs{Mode: unix.S_IFREG | 0o644}); err != nil {
		t.Fatal(err)
	}
	if n := fs.seeds.count(); n != 0 {
		t.Errorf("%d seeds after a create", n)
	}
	// A listing raced by a change seeds nothing.
	gen := fs.seeds.gen(root.inode)
	fs.seeds.invalidate(root.inode)
	fs.renameMu.RLock()
	fs.seeds.addLocked(root.inode, gen, []wire.Dirent{{Name: "f1", HasAttr: true, Attr: h.attrs["f1"]}})
	fs.renameMu.RUnlock()
	if n := fs.seeds.count(); n != 0 {
		t.Errorf("a stale listing left %d seeds", n)
	}
}

// TestSeedsBound: at most max seeds are kept; the directories least
// recently used give theirs up first.
func TestSeedsBound(t *testing.T) {
	h := newHostFiles(t, 5)
	fs, _ := mountHostFiles(t, h, ClientOptions{})
	fs.seeds.max = 3
	root := fs.Root().(dirInode)
	listAll(t, root)
	if n := fs.seeds.count(); n != 3 {
		t.Errorf("%d seeds, bound 3", n)
	}
	// The first ones are kept: a walk takes them in order.
	for _, name := range []string{"f0", "f1", "f2"} {
		if _, ok := root.inode.seeds[name]; !ok {
			t.Errorf("%s not seeded", name)
		}
	}
	// Another directory's listing pushes them out.
	other := &inode{fs: fs, typ: unix.S_IFDIR, parent: fs.root, name: "other"}
	fs.renameMu.RLock()
	fs.seeds.addLocked(other, fs.seeds.gen(other), []wire.Dirent{
		{Name: "x", HasAttr: true, Attr: fileAttr(50)}, {Name: "y", HasAttr: true, Attr: fileAttr(51)}})
	fs.renameMu.RUnlock()
	if n := fs.seeds.count(); n != 2 || len(other.seeds) != 2 || root.inode.seeds != nil {
		t.Errorf("after another listing: %d seeds, %d of the other, %d of the root", n, len(other.seeds), len(root.inode.seeds))
	}
}
