package inotify

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

type world struct {
	t   *testing.T
	v   *vfs.VFS
	ctx *vfs.Context
}

func newWorld(t *testing.T) *world {
	t.Helper()
	mf, err := memfile.New(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	v := vfs.New()
	root := v.NewMountNamespace(tmpfs.New(mf, tmpfs.Options{Mode: 0o755}), "rootfs", 0).Root()
	return &world{t: t, v: v, ctx: &vfs.Context{Creds: &vfs.RootCreds, Root: root, Cwd: root}}
}

func (w *world) path(name string) vfs.Path {
	w.t.Helper()
	p, err := w.v.Resolve(w.ctx, w.ctx.Cwd, name, 0)
	if err != nil {
		w.t.Fatalf("resolve %s: %v", name, err)
	}
	return p
}

func (w *world) create(name string) {
	w.t.Helper()
	f, err := w.v.Open(w.ctx, w.ctx.Cwd, name, vfs.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o644})
	if err != nil {
		w.t.Fatal(err)
	}
	f.DecRef()
}

func (w *world) instance() (*Instance, *vfs.File) {
	w.t.Helper()
	f, err := New(w.v, 0, unix.O_NONBLOCK)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(f.DecRef)
	in, _ := Of(f)
	return in, f
}

// drain reads every event as "wd MASK name".
func drain(t *testing.T, in *Instance) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 1<<20)
	for {
		n, err := in.ReadAt(buf, 0)
		if err == unix.EAGAIN {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for b := buf[:n]; len(b) > 0; {
			wd := int32(binary.LittleEndian.Uint32(b))
			mask := binary.LittleEndian.Uint32(b[4:])
			l := binary.LittleEndian.Uint32(b[12:])
			name := string(b[16 : 16+l])
			for len(name) > 0 && name[len(name)-1] == 0 {
				name = name[:len(name)-1]
			}
			out = append(out, fmt.Sprintf("%d %#x %s", wd, mask, name))
			b = b[16+l:]
		}
	}
}

func expect(t *testing.T, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestAddWatchMasks(t *testing.T) {
	w := newWorld(t)
	in, _ := w.instance()
	wd, err := in.AddWatch(w.path("/"), unix.IN_CREATE)
	if err != nil || wd != 1 {
		t.Fatalf("AddWatch = %d, %v", wd, err)
	}
	if _, err := in.AddWatch(w.path("/"), unix.IN_DELETE|unix.IN_MASK_CREATE); err != unix.EEXIST {
		t.Errorf("IN_MASK_CREATE on a watched file = %v, want EEXIST", err)
	}
	if wd2, _ := in.AddWatch(w.path("/"), unix.IN_DELETE|unix.IN_MASK_ADD); wd2 != wd {
		t.Errorf("IN_MASK_ADD made a new watch %d", wd2)
	}
	w.create("a")
	if err := w.v.Unlink(w.ctx, w.ctx.Cwd, "a"); err != nil {
		t.Fatal(err)
	}
	expect(t, drain(t, in), "1 0x100 a", "1 0x200 a")
	in.AddWatch(w.path("/"), unix.IN_DELETE) // replaces
	w.create("b")
	expect(t, drain(t, in))
	if err := in.RemoveWatch(wd); err != nil {
		t.Fatal(err)
	}
	if err := in.RemoveWatch(wd); err != unix.EINVAL {
		t.Errorf("second RemoveWatch = %v, want EINVAL", err)
	}
	expect(t, drain(t, in), "1 0x8000 ")
	if wd3, _ := in.AddWatch(w.path("/"), unix.IN_CREATE); wd3 != 2 {
		t.Errorf("next watch descriptor = %d, want 2 (not reused)", wd3)
	}
}

func TestQueue(t *testing.T) {
	w := newWorld(t)
	in, f := w.instance()
	w.create("f")
	in.AddWatch(w.path("f"), unix.IN_MODIFY|unix.IN_OPEN)
	e, ch := waiter.NewChannelEntry(waiter.EventIn)
	in.EventRegister(e)
	defer in.EventUnregister(e)
	of, err := w.v.Open(w.ctx, w.ctx.Cwd, "f", vfs.OpenHow{Flags: unix.O_WRONLY})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Error("no wake at the first event")
	}
	for i := 0; i < 3; i++ {
		of.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte("x")) })
	}
	of.DecRef()
	if got := in.Queued(); got != 32 {
		t.Errorf("queued %d bytes, want 32 (two events: the writes coalesce)", got)
	}
	if f.Impl.(vfs.Waitable).Readiness(waiter.EventIn) == 0 {
		t.Error("not readable with events queued")
	}
	if _, err := in.ReadAt(make([]byte, 15), 0); err != unix.EINVAL {
		t.Errorf("read into 15 bytes = %v, want EINVAL", err)
	}
	if n, _ := in.ReadAt(make([]byte, 20), 0); n != 16 {
		t.Errorf("read into 20 bytes = %d, want one event", n)
	}
	expect(t, drain(t, in), "1 0x2 ")

	// Names are padded to 16 bytes with room for a NUL.
	in.AddWatch(w.path("/"), unix.IN_CREATE)
	w.create("0123456789abcdef")
	buf := make([]byte, 100)
	n, _ := in.ReadAt(buf, 0)
	if n != 16+32 || binary.LittleEndian.Uint32(buf[12:]) != 32 {
		t.Errorf("a 16-byte name: read %d bytes, len %d", n, binary.LittleEndian.Uint32(buf[12:]))
	}

	// Overflow: the queue holds MaxQueuedEvents, then one IN_Q_OVERFLOW.
	for i := 0; i < MaxQueuedEvents+10; i++ {
		in.queueLocked(event{wd: 9, mask: unix.IN_ACCESS, name: fmt.Sprint(i)})
	}
	got := drain(t, in)
	if len(got) != MaxQueuedEvents+1 || got[len(got)-1] != "-1 0x4000 " {
		t.Errorf("overflow: %d events, last %q", len(got), got[len(got)-1])
	}
}

func TestOneShotAndExclUnlink(t *testing.T) {
	w := newWorld(t)
	in, _ := w.instance()
	w.create("f")
	wd, _ := in.AddWatch(w.path("f"), unix.IN_OPEN|unix.IN_ONESHOT)
	for i := 0; i < 2; i++ {
		of, _ := w.v.Open(w.ctx, w.ctx.Cwd, "f", vfs.OpenHow{Flags: unix.O_RDONLY})
		of.DecRef()
	}
	expect(t, drain(t, in), fmt.Sprintf("%d 0x20 ", wd), fmt.Sprintf("%d 0x8000 ", wd))

	dwd, _ := in.AddWatch(w.path("/"), unix.IN_ALL_EVENTS|unix.IN_EXCL_UNLINK)
	of, _ := w.v.Open(w.ctx, w.ctx.Cwd, "f", vfs.OpenHow{Flags: unix.O_RDWR})
	w.v.Unlink(w.ctx, w.ctx.Cwd, "f")
	of.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte("x")) })
	of.DecRef()
	expect(t, drain(t, in), fmt.Sprintf("%d 0x20 f", dwd), fmt.Sprintf("%d 0x200 f", dwd))
}

func TestReleaseEndsWatches(t *testing.T) {
	w := newWorld(t)
	f, err := New(w.v, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := Of(f)
	in.AddWatch(w.path("/"), unix.IN_CREATE)
	f.DecRef()
	w.create("x") // nobody to tell, nothing to panic about
	limitsMu.Lock()
	defer limitsMu.Unlock()
	if c := limits[user{w.v, 0}]; c != nil {
		t.Errorf("usage left behind: %+v", *c)
	}
}
