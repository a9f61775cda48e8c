package gofer

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKeptDescriptorReplaced: a read-only descriptor kept for reopening
// (kernel/fs/gofer/fdcache.go) never serves a file its name no longer
// holds, whatever replaces it: a rename over it, an unlink and a new
// file (which may reuse the host inode number), an exchange, a
// truncation, writes through another descriptor.
func TestKeptDescriptorReplaced(t *testing.T) {
	forEachServer(t, func(t *testing.T, s servers) {
		dir := t.TempDir()
		c := s.client(t, Export{Path: dir})
		w := newWorld(t, c, 0)
		expect := func(name, want string) {
			t.Helper()
			if got := w.mustRead(name); got != want {
				t.Errorf("%s reads %q, want %q", name, got, want)
			}
		}

		// Rename over: the name reads the new file; a description
		// still open on the old one reads the old one.
		w.write("/a", "first")
		expect("/a", "first") // the descriptor is kept now
		held, err := w.open("/a", unix.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.write("/b", "second")
		if err := w.v.Rename(w.ctx, w.ctx.Cwd, "/b", w.ctx.Cwd, "/a", 0); err != nil {
			t.Fatal(err)
		}
		expect("/a", "second")
		buf := make([]byte, 16)
		if n, _ := held.Impl.ReadAt(buf, 0); string(buf[:n]) != "first" {
			t.Errorf("the replaced file, still open, reads %q", buf[:n])
		}
		held.DecRef()
		expect("/a", "second")

		// Unlink and a new file of the same name, many times over so
		// that the host reuses inode numbers.
		for _, data := range []string{"3", "four", "five!", "six", "seven"} {
			expect("/a", w.mustRead("/a")) // keep a descriptor
			if err := w.v.Unlink(w.ctx, w.ctx.Cwd, "/a"); err != nil {
				t.Fatal(err)
			}
			if _, err := w.read("/a"); err != unix.ENOENT {
				t.Errorf("reading an unlinked name: %v", err)
			}
			w.write("/a", data)
			expect("/a", data)
		}

		// Exchange.
		w.write("/x", "ex")
		w.write("/y", "why")
		expect("/x", "ex")
		expect("/y", "why")
		if err := w.v.Rename(w.ctx, w.ctx.Cwd, "/x", w.ctx.Cwd, "/y", unix.RENAME_EXCHANGE); err != nil {
			t.Fatal(err)
		}
		expect("/x", "why")
		expect("/y", "ex")

		// Truncation and writes through other descriptors show.
		w.write("/t", "long contents")
		expect("/t", "long contents")
		w.write("/t", "short") // O_TRUNC
		expect("/t", "short")
		r, err := w.open("/t", unix.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		wr, err := w.open("/t", unix.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		wr.Impl.WriteAt([]byte("SH"), 0)
		if n, _ := r.Impl.ReadAt(buf, 0); string(buf[:n]) != "SHort" {
			t.Errorf("a read-only description reads %q after a write", buf[:n])
		}
		wr.DecRef()
		r.DecRef()
		if st := w.mustStat("/t"); st.Size != 5 {
			t.Errorf("size %d", st.Size)
		}

		// A hard link keeps the file, and its descriptor, alive.
		w.write("/l1", "linked")
		expect("/l1", "linked")
		l1, _ := w.resolve("/l1", 0)
		if err := w.v.Link(w.ctx, l1, w.ctx.Cwd, "/l2"); err != nil {
			t.Fatal(err)
		}
		if err := w.v.Unlink(w.ctx, w.ctx.Cwd, "/l1"); err != nil {
			t.Fatal(err)
		}
		expect("/l2", "linked")

		// The host agrees with what the sandbox read.
		for name, want := range map[string]string{"a": "seven", "x": "why", "y": "ex", "t": "SHort", "l2": "linked"} {
			if b, err := os.ReadFile(dir + "/" + name); err != nil || string(b) != want {
				t.Errorf("host %s: %q %v", name, b, err)
			}
		}
	})
}

// TestListThenStat: what a listing brings for the lookups that follow
// (kernel/fs/gofer/seeds.go) is what stat would say, before and after
// the sandbox changes things.
func TestListThenStat(t *testing.T) {
	forEachServer(t, func(t *testing.T, s servers) {
		dir := t.TempDir()
		mkfile(t, dir+"/d/file", "contents")
		mkfile(t, dir+"/d/sub/deeper", "x")
		mkfile(t, dir+"/d/linked", "two names")
		os.Link(dir+"/d/linked", dir+"/d/other-name")
		os.Symlink("file", dir+"/d/sym")
		os.Chmod(dir+"/d/file", 0o604)
		c := s.client(t, Export{Path: dir})
		w := newWorld(t, c, 0)
		check := func(when string) {
			t.Helper()
			names, err := w.list("/d")
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range names {
				st := w.mustStat("/d/" + name)
				var host unix.Stat_t
				if err := unix.Lstat(dir+"/d/"+name, &host); err != nil {
					t.Fatal(err)
				}
				if uint32(st.Mode) != host.Mode || st.Size != uint64(host.Size) || st.Nlink != uint32(host.Nlink) ||
					st.Ino != host.Ino || st.Mtime.Sec != host.Mtim.Sec || st.Mtime.Nsec != uint32(host.Mtim.Nsec) ||
					st.Uid != host.Uid {
					t.Errorf("%s: /d/%s: mode %o size %d nlink %d ino %d mtime %d.%d, host's %o %d %d %d %d.%d",
						when, name, st.Mode, st.Size, st.Nlink, st.Ino, st.Mtime.Sec, st.Mtime.Nsec,
						host.Mode, host.Size, host.Nlink, host.Ino, host.Mtim.Sec, host.Mtim.Nsec)
				}
			}
		}
		check("first listing")
		// Changes through the sandbox, then a new listing of the
		// directory and of a directory that changed.
		p, _ := w.resolve("/d/file", 0)
		if err := w.v.Chmod(w.ctx, p, 0o640); err != nil {
			t.Fatal(err)
		}
		w.write("/d/file", "new and longer contents")
		w.write("/d/sub/another", "y")
		if err := w.v.Rename(w.ctx, w.ctx.Cwd, "/d/sub/deeper", w.ctx.Cwd, "/d/moved", 0); err != nil {
			t.Fatal(err)
		}
		check("after changes")
	})
}
