package vfs_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/vfs"
)

// recorder is a vfs.Watch that writes down what it hears.
type recorder struct {
	tag    string
	events *[]string
}

func (r recorder) Event(ev vfs.NotifyEvent) {
	var names []string
	for _, b := range []struct {
		bit  uint32
		name string
	}{
		{unix.IN_ACCESS, "ACCESS"}, {unix.IN_MODIFY, "MODIFY"}, {unix.IN_ATTRIB, "ATTRIB"},
		{unix.IN_CLOSE_WRITE, "CLOSE_WRITE"}, {unix.IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {unix.IN_OPEN, "OPEN"},
		{unix.IN_MOVED_FROM, "MOVED_FROM"}, {unix.IN_MOVED_TO, "MOVED_TO"}, {unix.IN_CREATE, "CREATE"},
		{unix.IN_DELETE, "DELETE"}, {unix.IN_DELETE_SELF, "DELETE_SELF"}, {unix.IN_MOVE_SELF, "MOVE_SELF"},
		{unix.IN_UNMOUNT, "UNMOUNT"}, {unix.IN_ISDIR, "ISDIR"},
	} {
		if ev.Mask&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	s := r.tag + " " + strings.Join(names, "|")
	if ev.Name != "" {
		s += " " + ev.Name
	}
	if ev.Cookie != 0 {
		s += " cookie"
	}
	if ev.Unlinked {
		s += " unlinked"
	}
	*r.events = append(*r.events, s)
}

func (w *world) resolve(name string) vfs.Path {
	w.t.Helper()
	p, err := w.v.Resolve(w.ctx, w.ctx.Cwd, name, vfs.ResolveNoFollow)
	if err != nil {
		w.t.Fatalf("resolve %s: %v", name, err)
	}
	return p
}

func (w *world) open(name string, flags int) *vfs.File {
	w.t.Helper()
	f, err := w.v.Open(w.ctx, w.ctx.Cwd, name, vfs.OpenHow{Flags: flags, Mode: 0o644})
	if err != nil {
		w.t.Fatalf("open %s: %v", name, err)
	}
	return f
}

func readAll(f *vfs.File, n int) (int, error) {
	return f.Read(func(read func([]byte) (int, error)) (int, error) { return read(make([]byte, n)) })
}

func writeAll(f *vfs.File, s string) (int, error) {
	return f.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte(s)) })
}

func expectEvents(t *testing.T, what string, got *[]string, want ...string) {
	t.Helper()
	if fmt.Sprint(*got) != fmt.Sprint(want) {
		t.Errorf("%s: events\n%s\nwant\n%s", what, strings.Join(*got, "\n"), strings.Join(want, "\n"))
	}
	*got = nil
}

func TestNotifyFileEvents(t *testing.T) {
	w := newWorld(t)
	w.mkdir("d")
	var evs []string
	dir := recorder{"d", &evs}
	w.v.AddWatch(w.resolve("d"), dir)

	f := w.open("d/f", unix.O_CREAT|unix.O_RDWR)
	expectEvents(t, "create", &evs, "d CREATE f", "d OPEN f")
	self := recorder{"f", &evs}
	w.v.AddWatch(w.resolve("d/f"), self)
	writeAll(f, "hello")
	expectEvents(t, "write", &evs, "d MODIFY f", "f MODIFY")
	f.Seek(0, unix.SEEK_SET)
	readAll(f, 3)
	readAll(f, 100)
	readAll(f, 100) // end of file: nothing read, no event
	expectEvents(t, "read", &evs, "d ACCESS f", "f ACCESS", "d ACCESS f", "f ACCESS")
	f.DecRef()
	expectEvents(t, "close", &evs, "d CLOSE_WRITE f", "f CLOSE_WRITE")

	f = w.open("d/f", unix.O_WRONLY|unix.O_TRUNC)
	f.DecRef()
	expectEvents(t, "O_TRUNC", &evs, "d OPEN f", "f OPEN", "d MODIFY f", "f MODIFY", "d CLOSE_WRITE f", "f CLOSE_WRITE")
	p := w.resolve("d/f")
	if err := w.v.Chmod(w.ctx, p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.v.Truncate(w.ctx, p, 1, true); err != nil {
		t.Fatal(err)
	}
	if err := w.v.SetXattr(w.ctx, p, "user.x", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	omit := unix.Timespec{Nsec: unix.UTIME_OMIT}
	if err := w.v.Utimes(w.ctx, p, &[2]unix.Timespec{{Nsec: unix.UTIME_NOW}, omit}); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, "attributes", &evs, "d ATTRIB f", "f ATTRIB", "d MODIFY f", "f MODIFY", "d ATTRIB f", "f ATTRIB", "d ACCESS f", "f ACCESS")

	d := w.open("d", unix.O_RDONLY|unix.O_DIRECTORY)
	d.Getdents(make([]byte, 4096))
	d.DecRef()
	expectEvents(t, "directory", &evs, "d OPEN|ISDIR", "d ACCESS|ISDIR", "d CLOSE_NOWRITE|ISDIR")
}

func TestNotifyNameEvents(t *testing.T) {
	w := newWorld(t)
	w.mkdir("d")
	w.mkdir("e")
	w.write("d/f", "x")
	var evs []string
	w.v.AddWatch(w.resolve("d"), recorder{"d", &evs})
	w.v.AddWatch(w.resolve("e"), recorder{"e", &evs})
	w.v.AddWatch(w.resolve("d/f"), recorder{"f", &evs})
	start := w.ctx.Cwd

	if err := w.v.Link(w.ctx, w.resolve("d/f"), start, "d/g"); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, "link", &evs, "f ATTRIB", "d CREATE g")
	if err := w.v.Rename(w.ctx, start, "d/g", start, "e/h", 0); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, "rename of a hard link", &evs, "d MOVED_FROM g cookie", "e MOVED_TO h cookie", "f MOVE_SELF")
	if err := w.v.Unlink(w.ctx, start, "e/h"); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, "unlink of another link", &evs, "f ATTRIB", "e DELETE h")
	w.mkdir("d/sub")
	w.symlink("f", "d/s")
	expectEvents(t, "mkdir, symlink", &evs, "d CREATE|ISDIR sub", "d CREATE s")

	// Renaming over the watched file ends its watch.
	w.write("d/t", "t")
	evs = nil
	if err := w.v.Rename(w.ctx, start, "d/t", start, "d/f", 0); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, "rename over", &evs, "d MOVED_FROM t cookie", "d MOVED_TO f cookie", "f ATTRIB", "f DELETE_SELF")

	// An open file's IN_DELETE_SELF waits for its last close.
	w.v.AddWatch(w.resolve("d/f"), recorder{"f2", &evs})
	f := w.open("d/f", unix.O_RDONLY)
	evs = nil
	if err := w.v.Unlink(w.ctx, start, "d/f"); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, "unlink while open", &evs, "f2 ATTRIB", "d DELETE f")
	readAll(f, 1)
	f.DecRef()
	expectEvents(t, "last close", &evs, "d ACCESS f unlinked", "f2 ACCESS unlinked", "d CLOSE_NOWRITE f unlinked", "f2 CLOSE_NOWRITE unlinked", "f2 DELETE_SELF")

	w.v.AddWatch(w.resolve("d/sub"), recorder{"sub", &evs})
	if err := w.v.Rmdir(w.ctx, start, "d/sub"); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, "rmdir", &evs, "sub DELETE_SELF|ISDIR", "d DELETE|ISDIR sub")
}

func TestNotifyUnmountAndRemove(t *testing.T) {
	w := newWorld(t)
	w.mkdir("m")
	mnt, err := w.v.Mount(w.ctx, w.resolve("m"), tmpfs.New(w.mf, tmpfs.Options{Mode: 0o755}), "tmpfs", 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = mnt
	var evs []string
	r := recorder{"root", &evs}
	w.v.AddWatch(w.resolve("m"), r)
	other := recorder{"other", &evs}
	w.v.AddWatch(w.resolve("m"), other)
	w.v.RemoveWatch(w.resolve("m"), other)
	w.mkdir("m/x")
	expectEvents(t, "mkdir on the mount", &evs, "root CREATE|ISDIR x")
	if err := w.v.Umount(w.resolve("m")); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, "umount", &evs, "root UNMOUNT")
}
