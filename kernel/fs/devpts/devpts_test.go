package devpts

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/tty"
	"magawa/kernel/vfs"
)

// mem is a caller's memory for ioctls.
type mem []byte

func (m mem) CopyIn(addr uintptr, dst []byte) (int, error)  { return copy(dst, m[addr:]), nil }
func (m mem) CopyOut(addr uintptr, src []byte) (int, error) { return copy(m[addr:], src), nil }

// world is a VFS whose root is a devpts instance, with ptmx registered.
type world struct {
	t   *testing.T
	v   *vfs.VFS
	fs  *FS
	ctx *vfs.Context
}

func newWorld(t *testing.T, opts Options) *world {
	v := vfs.New()
	fs := New(v, nil, opts)
	v.RegisterCharDevice(tty.PTMXMajor, tty.PTMXMinor, fs.OpenMaster)
	ns := v.NewMountNamespace(fs, "devpts", 0)
	root := ns.Root()
	creds := &vfs.Creds{UID: 1000, GID: 1000}
	return &world{t: t, v: v, fs: fs, ctx: &vfs.Context{Creds: creds, Root: root, Cwd: root}}
}

func (w *world) open(name string, flags int) (*vfs.File, error) {
	return w.v.Open(w.ctx, w.ctx.Cwd, name, vfs.OpenHow{Flags: flags})
}

// openMaster opens ptmx, unlocks the slave and returns the master and
// its number.
func (w *world) openMaster() (*vfs.File, uint32) {
	w.t.Helper()
	m, err := w.open("/ptmx", unix.O_RDWR)
	if err != nil {
		w.t.Fatalf("open ptmx: %v", err)
	}
	io := make(mem, 8)
	if _, err := m.Impl.(vfs.IoctlImpl).Ioctl(io, unix.TIOCSPTLCK, 0); err != nil {
		w.t.Fatal(err)
	}
	if _, err := m.Impl.(vfs.IoctlImpl).Ioctl(io, unix.TIOCGPTN, 0); err != nil {
		w.t.Fatal(err)
	}
	return m, binary.LittleEndian.Uint32(io)
}

func (w *world) names() []string {
	w.t.Helper()
	var names []string
	err := w.fs.Root().(vfs.DirInode).Readdir(w.ctx, 0, func(e vfs.Dirent) bool {
		names = append(names, e.Name)
		return true
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return names
}

func equal(a []string, b ...string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNodeLifecycle(t *testing.T) {
	w := newWorld(t, ContainerOptions())
	if got := w.names(); !equal(got, ".", "..", "ptmx") {
		t.Fatalf("empty listing %v", got)
	}
	m0, n0 := w.openMaster()
	m1, n1 := w.openMaster()
	if n0 != 0 || n1 != 1 {
		t.Fatalf("numbers %d %d, want 0 1", n0, n1)
	}
	if got := w.names(); !equal(got, ".", "..", "ptmx", "0", "1") {
		t.Errorf("listing %v", got)
	}
	// The node: the opener's, gid=5, mode=620, 136:0.
	p, err := w.v.Resolve(w.ctx, w.ctx.Cwd, "/0", 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := p.Stat(w.ctx, unix.STATX_BASIC_STATS)
	if st.Mode != unix.S_IFCHR|0o620 || st.Uid != 1000 || st.Gid != 5 || st.Rdev_major != 136 || st.Rdev_minor != 0 || st.Ino != 3 {
		t.Errorf("node 0: mode %o uid %d gid %d rdev %d:%d ino %d", st.Mode, st.Uid, st.Gid, st.Rdev_major, st.Rdev_minor, st.Ino)
	}
	pp, _ := w.v.Resolve(w.ctx, w.ctx.Cwd, "/ptmx", 0)
	if st, _ := pp.Stat(w.ctx, unix.STATX_BASIC_STATS); st.Mode != unix.S_IFCHR|0o666 || st.Rdev_major != 5 || st.Rdev_minor != 2 {
		t.Errorf("ptmx: mode %o rdev %d:%d", st.Mode, st.Rdev_major, st.Rdev_minor)
	}

	// The slave opens through its node and talks to its master.
	s0, err := w.open("/0", unix.O_RDWR|unix.O_NOCTTY)
	if err != nil {
		t.Fatalf("open slave: %v", err)
	}
	m0.Impl.WriteAt([]byte("x\n"), -1)
	buf := make([]byte, 8)
	if n, _ := s0.Impl.ReadAt(buf, -1); string(buf[:n]) != "x\n" {
		t.Errorf("slave read %q", buf[:n])
	}

	// The master closes: the node goes, the number stays taken.
	m0.DecRef()
	if _, err := w.open("/0", unix.O_RDWR); err != unix.ENOENT {
		t.Errorf("open of a closed pair's node: %v, want ENOENT", err)
	}
	if got := w.names(); !equal(got, ".", "..", "ptmx", "1") {
		t.Errorf("listing after the master closed %v", got)
	}
	m2, n2 := w.openMaster()
	if n2 != 2 {
		t.Errorf("new pair got %d while 0's slave is open, want 2", n2)
	}
	// The slave closes too: 0 is free again.
	s0.DecRef()
	m3, n3 := w.openMaster()
	if n3 != 0 {
		t.Errorf("new pair got %d, want the freed 0", n3)
	}
	for _, m := range []*vfs.File{m1, m2, m3} {
		m.DecRef()
	}
	if got := w.names(); !equal(got, ".", "..", "ptmx") {
		t.Errorf("listing after all closed %v", got)
	}
}

func TestLockedSlave(t *testing.T) {
	w := newWorld(t, ContainerOptions())
	m, err := w.open("/ptmx", unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer m.DecRef()
	if _, err := w.open("/0", unix.O_RDWR); err != unix.EIO {
		t.Errorf("open of a locked slave: %v, want EIO", err)
	}
}

func TestOwnerWithoutOptions(t *testing.T) {
	w := newWorld(t, DefaultOptions())
	w.ctx.Creds.Caps = 1 << vfs.CapDACOverride // ptmxmode=000
	m, _ := w.openMaster()
	defer m.DecRef()
	p, _ := w.v.Resolve(w.ctx, w.ctx.Cwd, "/0", 0)
	st, _ := p.Stat(w.ctx, unix.STATX_BASIC_STATS)
	if st.Uid != 1000 || st.Gid != 1000 || st.Mode != unix.S_IFCHR|0o600 {
		t.Errorf("node: uid %d gid %d mode %o; want the opener's, 0600", st.Uid, st.Gid, st.Mode)
	}
	// A 0000 ptmx does not open for an unprivileged caller.
	w.ctx.Creds.Caps = 0
	if _, err := w.open("/ptmx", unix.O_RDWR); err != unix.EACCES {
		t.Errorf("open of ptmxmode=000 ptmx: %v, want EACCES", err)
	}
}

func TestReadonlyDirectory(t *testing.T) {
	w := newWorld(t, ContainerOptions())
	w.ctx.Creds = &vfs.RootCreds
	if err := w.v.Mkdir(w.ctx, w.ctx.Cwd, "/x", 0o755); err != unix.EPERM {
		t.Errorf("mkdir in devpts: %v, want EPERM", err)
	}
	if err := w.v.Unlink(w.ctx, w.ctx.Cwd, "/ptmx"); err != unix.EPERM {
		t.Errorf("unlink in devpts: %v, want EPERM", err)
	}
}

func TestMax(t *testing.T) {
	opts := ContainerOptions()
	opts.Max = 1
	w := newWorld(t, opts)
	m, _ := w.openMaster()
	defer m.DecRef()
	if _, err := w.open("/ptmx", unix.O_RDWR); err != unix.ENOSPC {
		t.Errorf("open beyond max: %v, want ENOSPC", err)
	}
}

func TestOptions(t *testing.T) {
	o, err := ParseOptions("newinstance,ptmxmode=0666,mode=0620,gid=5")
	if err != nil {
		t.Fatal(err)
	}
	if o != ContainerOptions() {
		t.Errorf("parsed %+v, want %+v", o, ContainerOptions())
	}
	if s := o.String(); s != "gid=5,mode=620,ptmxmode=666" {
		t.Errorf("String = %q", s)
	}
	if s := DefaultOptions().String(); s != "mode=600,ptmxmode=000" {
		t.Errorf("defaults = %q", s)
	}
	o, _ = ParseOptions("uid=7,max=10")
	if s := o.String(); s != "uid=7,mode=600,ptmxmode=000,max=10" {
		t.Errorf("String = %q", s)
	}
	for _, bad := range []string{"bogus", "mode", "mode=9", "gid=x", "newinstance=1"} {
		if _, err := ParseOptions(bad); err != unix.EINVAL {
			t.Errorf("ParseOptions(%q): %v, want EINVAL", bad, err)
		}
	}
	w := newWorld(t, ContainerOptions())
	if w.fs.Type() != "devpts" || w.fs.Options() != "gid=5,mode=620,ptmxmode=666" {
		t.Errorf("type %q options %q", w.fs.Type(), w.fs.Options())
	}
}

// installer is a caller that takes TIOCGPTPEER's descriptor.
type installer struct {
	mem
	files []*vfs.File
}

func (in *installer) InstallFile(f *vfs.File, cloexec bool) (int32, error) {
	f.IncRef()
	in.files = append(in.files, f)
	return 3, nil
}

func TestPeerStatsLikeItsNode(t *testing.T) {
	w := newWorld(t, ContainerOptions())
	m, _ := w.openMaster()
	defer m.DecRef()
	in := &installer{mem: make(mem, 8)}
	if _, err := m.Impl.(vfs.IoctlImpl).Ioctl(in, unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY); err != nil {
		t.Fatal(err)
	}
	peer := in.files[0]
	defer peer.DecRef()
	got, err := peer.Statx(w.ctx, unix.STATX_BASIC_STATS)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := w.v.Resolve(w.ctx, w.ctx.Cwd, "/0", 0)
	want, _ := p.Stat(w.ctx, unix.STATX_BASIC_STATS)
	if got.Ino != want.Ino || got.Dev_minor != want.Dev_minor || got.Rdev_major != want.Rdev_major || got.Rdev_minor != want.Rdev_minor || got.Mode != want.Mode {
		t.Errorf("peer stat %+v\nnode %+v", got, want)
	}
}
