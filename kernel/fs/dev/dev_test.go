package dev

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/devpts"
	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/memfile"
	"magawa/kernel/tty"
	"magawa/kernel/vfs"
)

// world is a sandbox's file tree: a tmpfs root, a tmpfs populated at
// /dev, devpts at /dev/pts, and the devices registered.
type world struct {
	t    *testing.T
	v    *vfs.VFS
	ctx  *vfs.Context
	pts  *devpts.FS
	devs *Devices
}

func newTmpfs(t *testing.T, mode uint32) *tmpfs.FS {
	t.Helper()
	mf, err := memfile.New(1 << 26)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	return tmpfs.New(mf, tmpfs.Options{Mode: mode})
}

func newWorld(t *testing.T, opts PopulateOptions) *world {
	t.Helper()
	v := vfs.New()
	ns := v.NewMountNamespace(newTmpfs(t, 0o755), "rootfs", 0)
	root := ns.Root()
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: root, Cwd: root, Umask: 0o022}
	w := &world{t: t, v: v, ctx: ctx}
	if err := v.Mkdir(ctx, root, "/dev", 0o755); err != nil {
		t.Fatal(err)
	}
	devfs := newTmpfs(t, 0o755)
	if err := Populate(ctx, devfs.Root().(vfs.DirInode), opts); err != nil {
		t.Fatalf("Populate: %v", err)
	}
	w.mount("/dev", devfs)
	w.pts = devpts.New(v, nil, devpts.ContainerOptions())
	w.mount("/dev/pts", w.pts)
	w.devs = Register(v, w.pts)
	return w
}

func (w *world) mount(at string, fs vfs.FileSystem) {
	w.t.Helper()
	p, err := w.v.Resolve(w.ctx, w.ctx.Root, at, 0)
	if err != nil {
		w.t.Fatalf("resolve %s: %v", at, err)
	}
	if _, err := w.v.Mount(w.ctx, p, fs, fs.Type(), 0); err != nil {
		w.t.Fatalf("mount %s: %v", at, err)
	}
}

func (w *world) open(name string, flags int) (*vfs.File, error) {
	return w.v.Open(w.ctx, w.ctx.Root, name, vfs.OpenHow{Flags: flags})
}

func (w *world) mustOpen(name string, flags int) *vfs.File {
	w.t.Helper()
	f, err := w.open(name, flags)
	if err != nil {
		w.t.Fatalf("open %s: %v", name, err)
	}
	w.t.Cleanup(f.DecRef)
	return f
}

func (w *world) stat(name string) unix.Statx_t {
	w.t.Helper()
	p, err := w.v.Resolve(w.ctx, w.ctx.Root, name, vfs.ResolveNoFollow)
	if err != nil {
		w.t.Fatalf("resolve %s: %v", name, err)
	}
	st, err := p.Stat(w.ctx, unix.STATX_BASIC_STATS)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func TestPopulate(t *testing.T) {
	w := newWorld(t, PopulateOptions{})
	for _, n := range []struct {
		name         string
		mode         uint32
		major, minor uint32
	}{
		{"null", 0o666, 1, 3}, {"zero", 0o666, 1, 5}, {"full", 0o666, 1, 7},
		{"random", 0o666, 1, 8}, {"urandom", 0o666, 1, 9}, {"tty", 0o666, 5, 0},
	} {
		st := w.stat("/dev/" + n.name)
		if uint32(st.Mode) != unix.S_IFCHR|n.mode || st.Rdev_major != n.major || st.Rdev_minor != n.minor || st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s: mode %o rdev %d:%d owner %d:%d", n.name, st.Mode, st.Rdev_major, st.Rdev_minor, st.Uid, st.Gid)
		}
	}
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx",
	} {
		p, err := w.v.Resolve(w.ctx, w.ctx.Root, "/dev/"+name, vfs.ResolveNoFollow)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, err := w.v.Readlink(w.ctx, p); got != target || err != nil {
			t.Errorf("%s -> %q, %v; want %q", name, got, err, target)
		}
	}
	for name, mode := range map[string]uint32{"pts": 0o755, "shm": 0o1777, "mqueue": 0o755} {
		if st := w.stat("/dev/" + name); uint32(st.Mode) != unix.S_IFDIR|mode && name != "pts" {
			t.Errorf("%s: mode %o", name, st.Mode)
		}
	}
	for _, name := range []string{"console", "core"} {
		if _, err := w.v.Resolve(w.ctx, w.ctx.Root, "/dev/"+name, vfs.ResolveNoFollow); err != unix.ENOENT {
			t.Errorf("%s without its option: %v", name, err)
		}
	}

	w = newWorld(t, PopulateOptions{Console: true, Core: true})
	if st := w.stat("/dev/console"); uint32(st.Mode) != unix.S_IFCHR|0o620 || st.Gid != 5 || st.Rdev_major != 5 || st.Rdev_minor != 1 {
		t.Errorf("console: mode %o gid %d rdev %d:%d", st.Mode, st.Gid, st.Rdev_major, st.Rdev_minor)
	}
	if st := w.stat("/dev/core"); uint32(st.Mode)&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("core: mode %o", st.Mode)
	}
}

func TestMemoryDevices(t *testing.T) {
	w := newWorld(t, PopulateOptions{})
	buf := []byte("xxxx")

	null := w.mustOpen("/dev/null", unix.O_RDWR)
	if n, err := null.Impl.ReadAt(buf, -1); n != 0 || err != nil {
		t.Errorf("null read: %d, %v", n, err)
	}
	if n, err := null.Impl.WriteAt(buf, -1); n != 4 || err != nil {
		t.Errorf("null write: %d, %v", n, err)
	}
	if off, err := null.Seek(100, unix.SEEK_SET); off != 0 || err != nil {
		t.Errorf("null lseek: %d, %v", off, err)
	}
	if _, ok := null.Impl.(interface{ Readiness(uint32) uint32 }); ok {
		t.Error("null is pollable: Linux's is not (epoll_ctl fails with EPERM)")
	}

	zero := w.mustOpen("/dev/zero", unix.O_RDONLY)
	if n, _ := zero.Impl.ReadAt(buf, -1); n != 4 || !bytes.Equal(buf, make([]byte, 4)) {
		t.Errorf("zero read %q", buf)
	}
	var st unix.Stat_t
	zero.Impl.Stat(&st)
	if st.Rdev != unix.Mkdev(1, 5) || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		t.Errorf("zero's Stat rdev %#x (mmap tells /dev/zero by it)", st.Rdev)
	}
	if n, err := zero.Pread(10, func(read func([]byte) (int, error)) (int, error) { return read(buf) }); n != 4 || err != nil {
		t.Errorf("zero pread: %d, %v", n, err)
	}

	full := w.mustOpen("/dev/full", unix.O_WRONLY)
	if _, err := full.Impl.WriteAt(buf, -1); err != unix.ENOSPC {
		t.Errorf("full write: %v, want ENOSPC", err)
	}

	for _, name := range []string{"/dev/random", "/dev/urandom"} {
		f := w.mustOpen(name, unix.O_RDWR)
		b := make([]byte, 64)
		if n, err := f.Impl.ReadAt(b, -1); n != 64 || err != nil || bytes.Equal(b, make([]byte, 64)) {
			t.Errorf("%s read: %d, %v", name, n, err)
		}
		if n, err := f.Impl.WriteAt(b, -1); n != 64 || err != nil {
			t.Errorf("%s write: %d, %v", name, n, err)
		}
		m := make(mem, 4)
		if _, err := f.Impl.(vfs.IoctlImpl).Ioctl(m, unix.RNDGETENTCNT, 0); err != nil || binary.LittleEndian.Uint32(m) != 256 {
			t.Errorf("%s RNDGETENTCNT: %v %d", name, err, binary.LittleEndian.Uint32(m))
		}
		if _, ok := f.Impl.(vfs.Waitable); !ok {
			t.Errorf("%s is not pollable", name)
		}
	}

	// A node with a number nobody registered opens nothing.
	if err := w.v.Mknod(w.ctx, w.ctx.Root, "/dev/mem", unix.S_IFCHR|0o600, unix.Mkdev(1, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.open("/dev/mem", unix.O_RDONLY); err != unix.ENXIO {
		t.Errorf("open of an unregistered device: %v, want ENXIO", err)
	}
}

// mem is a caller's memory for ioctls.
type mem []byte

func (m mem) CopyIn(addr uintptr, dst []byte) (int, error)  { return copy(dst, m[addr:]), nil }
func (m mem) CopyOut(addr uintptr, src []byte) (int, error) { return copy(m[addr:], src), nil }

func TestPTMX(t *testing.T) {
	w := newWorld(t, PopulateOptions{})
	m := w.mustOpen("/dev/ptmx", unix.O_RDWR)
	io := make(mem, 4)
	ioctl := m.Impl.(vfs.IoctlImpl).Ioctl
	if _, err := ioctl(io, unix.TIOCGPTN, 0); err != nil || binary.LittleEndian.Uint32(io) != 0 {
		t.Fatalf("TIOCGPTN: %v %d", err, binary.LittleEndian.Uint32(io))
	}
	if _, err := ioctl(io, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	s := w.mustOpen("/dev/pts/0", unix.O_RDWR|unix.O_NOCTTY)
	s.Impl.WriteAt([]byte("hi\n"), -1)
	b := make([]byte, 8)
	if n, _ := m.Impl.ReadAt(b, -1); string(b[:n]) != "hi\r\n" {
		t.Errorf("master read %q", b[:n])
	}
	// /dev/pts/ptmx is the same device.
	m2 := w.mustOpen("/dev/pts/ptmx", unix.O_RDWR)
	ioctl = m2.Impl.(vfs.IoctlImpl).Ioctl
	if _, err := ioctl(io, unix.TIOCGPTN, 0); err != nil || binary.LittleEndian.Uint32(io) != 1 {
		t.Errorf("second pair: %v %d", err, binary.LittleEndian.Uint32(io))
	}
}

// caller is a task whose controlling terminal is ctty.
type caller struct {
	ctty *tty.Terminal
}

func (c *caller) WithJobControl(fn func(tty.JobControl) error) error { return fn(jobControl{c}) }

type jobControl struct{ c *caller }

func (j jobControl) ProcessGroup() int32                           { return 2 }
func (j jobControl) Session() int32                                { return 2 }
func (j jobControl) SessionLeader() bool                           { return false }
func (j jobControl) ControllingTerminal() *tty.Terminal            { return j.c.ctty }
func (j jobControl) SetControllingTerminal(t *tty.Terminal)        { j.c.ctty = t }
func (j jobControl) ClearControllingTerminal(int32, *tty.Terminal) {}
func (j jobControl) ProcessGroupSession(int32) (int32, bool)       { return 0, false }
func (j jobControl) SignalIgnored(unix.Signal) bool                { return false }
func (j jobControl) ProcessGroupOrphaned() bool                    { return false }
func (j jobControl) SignalProcessGroup(int32, unix.Signal)         {}
func (j jobControl) Capable(int) bool                              { return false }

func TestTTYAndConsole(t *testing.T) {
	w := newWorld(t, PopulateOptions{Console: true})
	c := &caller{}
	w.ctx.Task = c
	if _, err := w.open("/dev/tty", unix.O_RDWR); err != unix.ENXIO {
		t.Errorf("/dev/tty without a controlling terminal: %v, want ENXIO", err)
	}
	if _, err := w.open("/dev/console", unix.O_RDWR); err != unix.ENXIO {
		t.Errorf("/dev/console without a console: %v, want ENXIO", err)
	}
	term, m, err := w.pts.NewPair(w.ctx, unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	term.Unlock()
	c.ctty = term
	f := w.mustOpen("/dev/tty", unix.O_RDWR)
	f.Impl.WriteAt([]byte("a"), -1)
	b := make([]byte, 8)
	if n, _ := m.ReadAt(b, -1); string(b[:n]) != "a" {
		t.Errorf("master read %q through /dev/tty", b[:n])
	}
	if st, _ := f.Statx(w.ctx, unix.STATX_BASIC_STATS); st.Rdev_major != 5 || st.Rdev_minor != 0 {
		t.Errorf("fstat of /dev/tty: %d:%d, the node's number", st.Rdev_major, st.Rdev_minor)
	}
	w.devs.SetConsole(term)
	con := w.mustOpen("/dev/console", unix.O_WRONLY)
	con.Impl.WriteAt([]byte("c"), -1)
	if n, _ := m.ReadAt(b, -1); string(b[:n]) != "c" {
		t.Errorf("master read %q through /dev/console", b[:n])
	}
}
