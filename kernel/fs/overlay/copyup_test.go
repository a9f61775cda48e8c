package overlay

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Copy-up keeps mode (set-ID bits included), owner, times, xattrs and
// symlink targets, of the object and of the parents it copies up; and
// the parent's times do not move.
func TestCopyUpPreserves(t *testing.T) {
	e := newEnv(t, func(root vfs.Inode) {
		d := mkdir(t, root, "srv", 0o2775)
		d2 := mkdir(t, root, "srv/www", 0o1777)
		f := mkfile(t, root, "srv/www/app", 0o6755, "#!/bin/sh\n")
		l := mksymlink(t, root, "srv/www/cur", "../releases/42")
		fifo, err := d2.(vfs.DirInode).Create(ctx, "fifo", attrs(unix.S_IFIFO|0o640, 7, 8))
		if err != nil {
			t.Fatal(err)
		}
		for i, in := range []vfs.Inode{d, d2, f, l, fifo} {
			a := vfs.SetAttr{Mask: unix.STATX_UID | unix.STATX_GID | unix.STATX_ATIME | unix.STATX_MTIME,
				UID: uint32(1000 + i), GID: uint32(2000 + i), Atime: ts(int64(100 + i)), Mtime: ts(int64(200 + i))}
			setStat(t, in, a)
			if err := in.(vfs.XattrInode).SetXattr(ctx, "trusted.t", []byte{byte(i)}, 0); err != nil {
				t.Fatal(err)
			}
			if i != 3 { // user.* is for files and directories only on Linux; tmpfs agrees or not, it is not the point
				in.(vfs.XattrInode).SetXattr(ctx, "user.u", []byte("v"), 0)
			}
		}
		// Modes last: chown could have dropped set-ID bits.
		setStat(t, f, vfs.SetAttr{Mask: unix.STATX_MODE, Mode: 0o6755})
		setStat(t, d, vfs.SetAttr{Mask: unix.STATX_MODE, Mode: 0o2775})
	})
	paths := []string{"srv", "srv/www", "srv/www/app", "srv/www/cur", "srv/www/fifo"}
	want := map[string]unix.Statx_t{}
	xattrs := map[string]map[string]string{}
	for _, p := range paths {
		in := lookup(t, e.root, p)
		want[p] = stat(t, in)
		xattrs[p] = xattrMap(t, in)
	}

	// Copy up the fifo (by an xattr), the symlink (by a change of owner
	// to the same owner) and the file (by opening it for writing).
	if err := lookup(t, e.root, "srv/www/fifo").(vfs.XattrInode).SetXattr(ctx, "trusted.new", []byte("n"), 0); err != nil {
		t.Fatal(err)
	}
	xattrs["srv/www/fifo"]["trusted.new"] = "n"
	l := lookup(t, e.root, "srv/www/cur")
	setStat(t, l, vfs.SetAttr{Mask: unix.STATX_UID, UID: want["srv/www/cur"].Uid})
	f, err := lookup(t, e.root, "srv/www/app").Open(ctx, unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	f.Release()

	for _, p := range paths {
		if _, err := lookupErr(e.upper.Root(), p); err != nil {
			t.Fatalf("%s not copied up: %v", p, err)
		}
		got := stat(t, lookup(t, e.root, p))
		w := want[p]
		if got.Mode != w.Mode || got.Uid != w.Uid || got.Gid != w.Gid || got.Ino != w.Ino ||
			got.Dev_minor != w.Dev_minor || got.Size != w.Size || got.Rdev_major != w.Rdev_major {
			t.Errorf("%s: stat %+v, want %+v", p, got, w)
		}
		if p != "srv/www/cur" && (got.Mtime != w.Mtime || got.Atime != w.Atime) {
			// The symlink's ctime-only change keeps times too, but
			// it was the change that copied it up: check it below.
			t.Errorf("%s: times a=%v m=%v, want a=%v m=%v", p, got.Atime, got.Mtime, w.Atime, w.Mtime)
		}
		if p == "srv/www/cur" && got.Mtime != w.Mtime {
			t.Errorf("%s: mtime %v, want %v", p, got.Mtime, w.Mtime)
		}
		if gx := xattrMap(t, lookup(t, e.root, p)); !mapsEqual(gx, xattrs[p]) {
			t.Errorf("%s: xattrs %q, want %q", p, gx, xattrs[p])
		}
	}
	if got := readlink(t, lookup(t, e.root, "srv/www/cur")); got != "../releases/42" {
		t.Errorf("symlink reads %q", got)
	}
	if got := readlink(t, lookup(t, e.upper.Root(), "srv/www/cur")); got != "../releases/42" {
		t.Errorf("upper symlink reads %q", got)
	}
	if got := readAll(t, lookup(t, e.upper.Root(), "srv/www/app")); got != "#!/bin/sh\n" {
		t.Errorf("upper app reads %q", got)
	}
}

func xattrMap(t testing.TB, in vfs.Inode) map[string]string {
	t.Helper()
	x := in.(vfs.XattrInode)
	names, err := x.ListXattr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, n := range names {
		v, err := x.GetXattr(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		m[n] = string(v)
	}
	return m
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Truncation copies up only what survives it.
func TestTruncateCopyUp(t *testing.T) {
	e := newEnv(t, func(root vfs.Inode) {
		mkfile(t, root, "big", 0o644, string(bytes.Repeat([]byte("x"), 3<<20)))
	})
	in := lookup(t, e.root, "big")
	setStat(t, in, vfs.SetAttr{Mask: unix.STATX_SIZE, Size: 5})
	if got := readAll(t, in); got != "xxxxx" {
		t.Errorf("after truncate to 5: %q", got)
	}
	if used := e.upper.UsedBytes(); used > 64<<10 {
		t.Errorf("upper uses %d bytes after a truncating copy-up", used)
	}
	e2 := newEnv(t, func(root vfs.Inode) { mkfile(t, root, "f", 0o644, "data") })
	in = lookup(t, e2.root, "f")
	setStat(t, in, vfs.SetAttr{Mask: unix.STATX_SIZE, Size: 0})
	if st := stat(t, in); st.Size != 0 {
		t.Errorf("size %d after truncate to 0", st.Size)
	}
	setStat(t, in, vfs.SetAttr{Mask: unix.STATX_SIZE, Size: 10})
	if got := readAll(t, in); got != "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" {
		t.Errorf("grown file reads %q", got)
	}
}

// pattern is the content of the large file: 4 MiB holes every other
// 4 MiB, and between them stripes of data that straddle the boundaries
// of copy-up's chunks.
func pattern(off int64) byte {
	if (off>>22)%2 == 1 || (off/40000)%5 >= 2 {
		return 0
	}
	return byte((off*31+off>>20)%251) | 1
}

const largeSize = 256<<20 + 4321

// A 256 MiB file copies up, streamed, and reads back byte for byte; the
// lower copy is unchanged.
func TestCopyUpLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("copies 256 MiB")
	}
	e := newEnv(t, func(root vfs.Inode) {
		in := mkfile(t, root, "large", 0o640, "")
		f, err := in.Open(ctx, unix.O_RDWR)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Release()
		buf := make([]byte, 1<<20)
		for off := int64(0); off < largeSize; off += int64(len(buf)) {
			n := int(min(int64(len(buf)), largeSize-off))
			zero := true
			for i := range n {
				buf[i] = pattern(off + int64(i))
				zero = zero && buf[i] == 0
			}
			if !zero {
				if _, err := f.WriteAt(buf[:n], off); err != nil {
					t.Fatal(err)
				}
			}
		}
		setStat(t, in, vfs.SetAttr{Mask: unix.STATX_SIZE, Size: largeSize})
	})
	in := lookup(t, e.root, "large")
	f, err := in.Open(ctx, unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("!"), largeSize-1); err != nil {
		t.Fatal(err)
	}
	f.Release()
	if st := stat(t, in); st.Size != largeSize {
		t.Fatalf("size %d, want %d", st.Size, largeSize)
	}
	check := func(name string, in vfs.Inode, last byte) {
		f, err := in.Open(ctx, unix.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Release()
		buf := make([]byte, 1<<20)
		want := make([]byte, 1<<20)
		var off int64
		for off < largeSize {
			n, err := f.ReadAt(buf, off)
			if err != nil || n == 0 {
				t.Fatalf("%s: ReadAt(%d): %d, %v", name, off, n, err)
			}
			for i := range n {
				want[i] = pattern(off + int64(i))
			}
			if off+int64(n) == largeSize {
				want[n-1] = last
			}
			if !bytes.Equal(buf[:n], want[:n]) {
				for i := range n {
					if buf[i] != want[i] {
						t.Fatalf("%s: byte %d is %#x, want %#x", name, off+int64(i), buf[i], want[i])
					}
				}
			}
			off += int64(n)
		}
		if n, _ := f.ReadAt(buf, off); n != 0 {
			t.Errorf("%s: %d bytes past the end", name, n)
		}
	}
	check("overlay", in, '!')
	check("lower", lookup(t, e.lower.Root(), "large"), pattern(largeSize-1))
	// Holes stayed holes: the upper copy takes about what the data does.
	if used := e.upper.UsedBytes(); used > 200<<20 {
		t.Errorf("upper uses %d MiB", used>>20)
	}
}
