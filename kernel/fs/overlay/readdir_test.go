package overlay

import (
	"encoding/binary"
	"fmt"
	"sort"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// getdents lists path through the VFS's getdents with a buffer of size
// bytes, calling between(i) after each call; it returns each name with
// its inode number, failing on a name seen twice.
func getdents(t *testing.T, e *env, path string, size int, between func(call int)) map[string]uint64 {
	t.Helper()
	v := vfs.New()
	ns := v.NewMountNamespace(e.ovl, "overlay", 0)
	vctx := &vfs.Context{Creds: &vfs.RootCreds, Root: ns.Root(), Cwd: ns.Root()}
	f, err := v.Open(vctx, ns.Root(), path, vfs.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.DecRef()
	seen := map[string]uint64{}
	buf := make([]byte, size)
	for call := 0; ; call++ {
		n, err := f.Getdents(buf)
		if err != nil {
			t.Fatalf("getdents: %v", err)
		}
		if n == 0 {
			return seen
		}
		for off := 0; off < n; {
			ino := binary.LittleEndian.Uint64(buf[off:])
			reclen := int(binary.LittleEndian.Uint16(buf[off+16:]))
			name := buf[off+19 : off+reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			if _, dup := seen[string(name)]; dup {
				t.Fatalf("%s listed twice (buffer %d)", name, size)
			}
			seen[string(name)] = ino
			off += reclen
		}
		if between != nil {
			between(call)
		}
	}
}

func TestReaddirMerge(t *testing.T) {
	const nLower = 300
	e := newEnv(t, func(root vfs.Inode) {
		mkdir(t, root, "big", 0o755)
		for i := range nLower {
			mkfile(t, root, fmt.Sprintf("big/lower-%03d", i), 0o644, "l")
		}
	})
	want := map[string]bool{".": true, "..": true}
	for i := range nLower {
		want[fmt.Sprintf("lower-%03d", i)] = true
	}
	for i := range 100 {
		name := fmt.Sprintf("new-%03d", i)
		mkfile(t, e.root, "big/"+name, 0o644, "n")
		want[name] = true
	}
	for i := 0; i < 50; i++ { // copied up in place
		setStat(t, lookup(t, e.root, fmt.Sprintf("big/lower-%03d", i)), vfs.SetAttr{Mask: unix.STATX_MODE, Mode: 0o600})
	}
	for i := 50; i < 80; i++ { // whited out
		unlink(t, e.root, fmt.Sprintf("big/lower-%03d", i))
		delete(want, fmt.Sprintf("lower-%03d", i))
	}
	for i := 0; i < 10; i++ { // copied up, then removed
		unlink(t, e.root, fmt.Sprintf("big/lower-%03d", i))
		delete(want, fmt.Sprintf("lower-%03d", i))
	}
	for i := 0; i < 10; i++ { // new, then removed
		unlink(t, e.root, fmt.Sprintf("big/new-%03d", i))
		delete(want, fmt.Sprintf("new-%03d", i))
	}
	for i := 50; i < 55; i++ { // whited out, then made again
		name := fmt.Sprintf("lower-%03d", i)
		mkfile(t, e.root, "big/"+name, 0o644, "again")
		want[name] = true
	}
	for _, size := range []int{40, 64, 100, 333, 4096} {
		got := getdents(t, e, "/big", size, nil)
		if len(got) != len(want) {
			t.Errorf("buffer %d: %d names, want %d", size, len(got), len(want))
		}
		for name := range want {
			ino, ok := got[name]
			if !ok {
				t.Errorf("buffer %d: %s missing", size, name)
				continue
			}
			if name == "." || name == ".." {
				continue
			}
			if st := stat(t, lookup(t, e.root, "big/"+name)); st.Ino != ino {
				t.Errorf("%s: dirent ino %#x, stat %#x", name, ino, st.Ino)
			}
		}
	}
}

// Copy-ups between getdents calls move no name: each still shows once.
func TestReaddirDuringCopyUp(t *testing.T) {
	e := newEnv(t, func(root vfs.Inode) {
		mkdir(t, root, "d", 0o755)
		for i := range 200 {
			mkfile(t, root, fmt.Sprintf("d/f%03d", i), 0o644, "x")
		}
	})
	next := 0
	got := getdents(t, e, "/d", 64, func(call int) {
		// Copy up a few names at a time, in both directions of the
		// listing, and make one new file.
		for range 5 {
			i := (next*37 + 11) % 200
			next++
			writeAt(t, lookup(t, e.root, fmt.Sprintf("d/f%03d", i)), "y", 0)
		}
		mkfile(t, e.root, fmt.Sprintf("d/new%03d", call), 0o644, "")
	})
	for i := range 200 {
		if _, ok := got[fmt.Sprintf("f%03d", i)]; !ok {
			t.Errorf("f%03d missing", i)
		}
	}
	var extra []string
	for name := range got {
		if len(name) > 3 && name[:3] == "new" {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	t.Logf("new files listed: %d", len(extra))
}

func TestReaddirDots(t *testing.T) {
	e := newEnv(t, image(t))
	d := mkdir(t, e.root, "etc/sub", 0o755)
	var dot, dotdot uint64
	d.(vfs.DirInode).Readdir(ctx, 0, func(de vfs.Dirent) bool {
		switch de.Name {
		case ".":
			dot = de.Ino
		case "..":
			dotdot = de.Ino
		default:
			t.Errorf("new directory lists %q", de.Name)
		}
		return true
	})
	if dot != stat(t, d).Ino || dotdot != stat(t, lookup(t, e.root, "etc")).Ino {
		t.Errorf(". %#x, .. %#x", dot, dotdot)
	}
	// After a rename, ".." follows.
	wantErr(t, "rename", renameErr(t, e.root, "etc/sub", "sub", 0), nil)
	d.(vfs.DirInode).Readdir(ctx, 1, func(de vfs.Dirent) bool {
		if de.Name != ".." || de.Ino != stat(t, e.root).Ino {
			t.Errorf("after the move: %+v", de)
		}
		return false
	})
}

// The lower layer's cookies do not matter (ext4's reach 1<<63).
func TestReaddirLowerBigCookies(t *testing.T) {
	lower, upper := newTmpfs(t), newTmpfs(t)
	mkdir(t, lower.Root(), "d", 0o755)
	for i := range 100 {
		mkfile(t, lower.Root(), fmt.Sprintf("d/f%03d", i), 0o644, "")
	}
	ovl, err := New(&guardFS{FileSystem: lower, t: t, bigCookies: true}, upper)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, lower: lower, upper: upper, ovl: ovl, root: ovl.Root()}
	unlink(t, e.root, "d/f050")
	mkfile(t, e.root, "d/new", 0o644, "")
	got := getdents(t, e, "/d", 50, nil)
	if len(got) != 102 {
		t.Errorf("%d names, want 102", len(got))
	}
	if _, ok := got["f050"]; ok {
		t.Errorf("f050 listed")
	}
	if got := list(t, lookup(t, e.root, "d")); len(got) != 100 {
		t.Errorf("Readdir lists %d names", len(got))
	}
}
