package overlay

import (
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

func names(t *testing.T, e *env, p string) string {
	t.Helper()
	s := ""
	for i, n := range list(t, lookup(t, e.root, p)) {
		if i > 0 {
			s += " "
		}
		s += n
	}
	return s
}

func TestRenameFiles(t *testing.T) {
	e := newEnv(t, image(t))
	before := snapshot(t, e.lower.Root())
	motdIno := stat(t, lookup(t, e.root, "etc/motd")).Ino

	// A lower file to a new name: the old name goes, the identity stays.
	wantErr(t, "rename etc/motd etc/motd.old", renameErr(t, e.root, "etc/motd", "etc/motd.old", 0), nil)
	if got := names(t, e, "etc"); got != "motd.old passwd" {
		t.Errorf("etc lists %q", got)
	}
	if st := stat(t, lookup(t, e.root, "etc/motd.old")); st.Ino != motdIno {
		t.Errorf("moved file has ino %d, was %d", st.Ino, motdIno)
	}
	// ...and back: listed once, under the old name.
	wantErr(t, "rename back", renameErr(t, e.root, "etc/motd.old", "etc/motd", 0), nil)
	if got := names(t, e, "etc"); got != "motd passwd" {
		t.Errorf("etc lists %q", got)
	}
	if got := readAll(t, lookup(t, e.root, "etc/motd")); got != "hello\n" {
		t.Errorf("etc/motd reads %q", got)
	}

	// Across directories, into a lower-only one (copied up on the way).
	wantErr(t, "rename into usr/lib", renameErr(t, e.root, "d/a", "usr/lib/a", 0), nil)
	if got := names(t, e, "usr/lib"); got != "a libc.so" {
		t.Errorf("usr/lib lists %q", got)
	}
	if got := names(t, e, "d"); got != "b sub" {
		t.Errorf("d lists %q", got)
	}

	// Over a lower file: the victim goes, the name shows once.
	wantErr(t, "rename over d/b", renameErr(t, e.root, "usr/lib/a", "d/b", 0), nil)
	if got := readAll(t, lookup(t, e.root, "d/b")); got != "a" {
		t.Errorf("d/b reads %q", got)
	}
	if got := names(t, e, "d"); got != "b sub" {
		t.Errorf("d lists %q", got)
	}
	if got := names(t, e, "usr/lib"); got != "libc.so" {
		t.Errorf("usr/lib lists %q", got)
	}

	// NOREPLACE and EXCHANGE.
	wantErr(t, "noreplace over a lower file", renameErr(t, e.root, "etc/motd", "etc/passwd", unix.RENAME_NOREPLACE), unix.EEXIST)
	wantErr(t, "noreplace to a new name", renameErr(t, e.root, "etc/motd", "etc/issue", unix.RENAME_NOREPLACE), nil)
	wantErr(t, "exchange with a missing name", renameErr(t, e.root, "etc/issue", "etc/none", unix.RENAME_EXCHANGE), unix.ENOENT)
	wantErr(t, "exchange two lower files", renameErr(t, e.root, "etc/passwd", "bin/sh", unix.RENAME_EXCHANGE), nil)
	if got := readAll(t, lookup(t, e.root, "etc/passwd")); got != "\x7fELF shell" {
		t.Errorf("etc/passwd reads %q", got)
	}
	if got := readAll(t, lookup(t, e.root, "bin/sh")); got != "root:x:0:0::/root:/bin/sh\n" {
		t.Errorf("bin/sh reads %q", got)
	}
	if got := names(t, e, "etc"); got != "issue passwd" {
		t.Errorf("etc lists %q", got)
	}
	if got := names(t, e, "bin"); got != "sh" {
		t.Errorf("bin lists %q", got)
	}
	// Two names of one file: nothing happens.
	d := lookup(t, e.root, "etc").(vfs.DirInode)
	if err := d.Link(ctx, "issue2", lookup(t, e.root, "etc/issue")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "rename onto another link", renameErr(t, e.root, "etc/issue", "etc/issue2", 0), nil)
	if got := names(t, e, "etc"); got != "issue issue2 passwd" {
		t.Errorf("etc lists %q", got)
	}
	wantErr(t, "bad flags", renameErr(t, e.root, "etc/issue", "etc/x", unix.RENAME_WHITEOUT), unix.EINVAL)
	wantErr(t, "missing source", renameErr(t, e.root, "etc/none", "etc/x", 0), unix.ENOENT)
	sameSnapshot(t, before, snapshot(t, e.lower.Root()))
}

func TestRenameDirectories(t *testing.T) {
	e := newEnv(t, image(t))
	before := snapshot(t, e.lower.Root())
	// A directory with a lower part does not move (redirect_dir=off).
	wantErr(t, "rename a lower directory", renameErr(t, e.root, "d", "d2", 0), unix.EXDEV)
	wantErr(t, "rename a lower directory", renameErr(t, e.root, "usr/lib", "lib2", 0), unix.EXDEV)
	writeAt(t, lookup(t, e.root, "d/a"), "A", 0) // now merged
	wantErr(t, "rename a merged directory", renameErr(t, e.root, "d", "d2", 0), unix.EXDEV)
	wantErr(t, "exchange with a lower directory", renameErr(t, e.root, "etc/motd", "empty", unix.RENAME_EXCHANGE), unix.EXDEV)

	// One made in the overlay moves, with what it holds.
	mkdir(t, e.root, "new", 0o755)
	mkdir(t, e.root, "new/sub", 0o755)
	mkfile(t, e.root, "new/sub/f", 0o644, "f")
	wantErr(t, "rename a new directory", renameErr(t, e.root, "new", "etc/moved", 0), nil)
	if got := readAll(t, lookup(t, e.root, "etc/moved/sub/f")); got != "f" {
		t.Errorf("etc/moved/sub/f reads %q", got)
	}
	_, err := lookupErr(e.root, "new")
	wantErr(t, "lookup new", err, unix.ENOENT)

	// Over an empty lower directory: it goes, and the moved one is opaque
	// (it has nothing of the lower one anyway).
	wantErr(t, "rename over empty", renameErr(t, e.root, "etc/moved", "empty", 0), nil)
	if got := names(t, e, "empty"); got != "sub" {
		t.Errorf("empty lists %q", got)
	}
	// Over a non-empty one: ENOTEMPTY; over one emptied by whiteouts: fine.
	mkdir(t, e.root, "x", 0o755)
	wantErr(t, "rename over non-empty", renameErr(t, e.root, "x", "d", 0), unix.ENOTEMPTY)
	for _, p := range []string{"d/a", "d/b", "d/sub/c"} {
		unlink(t, e.root, p)
	}
	wantErr(t, "rmdir d/sub", rmdirErr(t, e.root, "d/sub"), nil)
	wantErr(t, "rename over whited-out", renameErr(t, e.root, "x", "d", 0), nil)
	if got := names(t, e, "d"); got != "" {
		t.Errorf("d lists %q", got)
	}
	_, err = lookupErr(e.root, "d/a")
	wantErr(t, "lookup d/a", err, unix.ENOENT)
	// Type mismatches.
	mkdir(t, e.root, "y", 0o755)
	wantErr(t, "directory over a file", renameErr(t, e.root, "y", "etc/passwd", 0), unix.ENOTDIR)
	wantErr(t, "file over a directory", renameErr(t, e.root, "etc/passwd", "y", 0), unix.EISDIR)
	// Exchanging a new directory with a lower file.
	wantErr(t, "exchange", renameErr(t, e.root, "y", "etc/motd", unix.RENAME_EXCHANGE), nil)
	if st := stat(t, lookup(t, e.root, "etc/motd")); st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("etc/motd has mode %o after the exchange", st.Mode)
	}
	if got := readAll(t, lookup(t, e.root, "y")); got != "hello\n" {
		t.Errorf("y reads %q", got)
	}
	if got := names(t, e, ""); got != "bin d empty etc home lib null usr y" {
		t.Errorf("root lists %q", got)
	}
	sameSnapshot(t, before, snapshot(t, e.lower.Root()))
}
