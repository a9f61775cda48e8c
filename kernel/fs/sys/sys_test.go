package sys

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

func newNS(t *testing.T, n int) (*vfs.VFS, *vfs.Context) {
	t.Helper()
	v := vfs.New()
	ns := v.NewMountNamespace(New(Options{NumCPU: n}), "sysfs", vfs.MountNoSuid|vfs.MountNoDev|vfs.MountNoExec)
	root := ns.Root()
	return v, &vfs.Context{Creds: &vfs.RootCreds, Root: root, Cwd: root}
}

func read(t *testing.T, v *vfs.VFS, ctx *vfs.Context, name string) string {
	t.Helper()
	f, err := v.Open(ctx, ctx.Root, name, vfs.OpenHow{Flags: unix.O_RDONLY})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.DecRef()
	buf := make([]byte, 4096)
	n, err := f.Impl.ReadAt(buf, 0)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(buf[:n])
}

func list(t *testing.T, v *vfs.VFS, ctx *vfs.Context, name string) []string {
	t.Helper()
	f, err := v.Open(ctx, ctx.Root, name, vfs.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.DecRef()
	var names []string
	buf := make([]byte, 64)
	for {
		n, err := f.Getdents(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return names
		}
		for off := 0; off < n; {
			reclen := int(binary.LittleEndian.Uint16(buf[off+16:]))
			nm := buf[off+19 : off+reclen]
			names = append(names, string(nm[:bytes.IndexByte(nm, 0)]))
			off += reclen
		}
	}
}

func TestCPUs(t *testing.T) {
	v, ctx := newNS(t, 4)
	for name, want := range map[string]string{
		"/devices/system/cpu/online":                           "0-3\n",
		"/devices/system/cpu/possible":                         "0-3\n",
		"/devices/system/cpu/present":                          "0-3\n",
		"/devices/system/cpu/cpu2/online":                      "1\n",
		"/devices/system/cpu/cpu3/topology/core_id":            "3\n",
		"/devices/system/cpu/cpu1/topology/core_siblings_list": "0-3\n",
		"/kernel/mm/transparent_hugepage/enabled":              "always [madvise] never\n",
	} {
		if got := read(t, v, ctx, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	got := list(t, v, ctx, "/devices/system/cpu")
	want := []string{".", "..", "cpu0", "cpu1", "cpu2", "cpu3", "kernel_max", "offline", "online", "possible", "present"}
	if len(got) != len(want) {
		t.Fatalf("cpu/ = %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("cpu/ = %q, want %q", got, want)
		}
	}
	if _, err := v.Resolve(ctx, ctx.Root, "/devices/system/cpu/cpu4", 0); err != unix.ENOENT {
		t.Errorf("cpu4: %v", err)
	}
}

func TestEmptyDirsAndWrites(t *testing.T) {
	v, ctx := newNS(t, 1)
	for _, d := range []string{"/fs/cgroup", "/class/net"} {
		if got := list(t, v, ctx, d); len(got) != 2 {
			t.Errorf("%s = %q, want empty", d, got)
		}
	}
	if got := read(t, v, ctx, "/devices/system/cpu/online"); got != "0\n" {
		t.Errorf("online with one CPU = %q", got)
	}
	if _, err := v.Open(ctx, ctx.Root, "/devices/system/cpu/online", vfs.OpenHow{Flags: unix.O_WRONLY}); err != unix.EACCES {
		t.Errorf("opening for write: %v, want EACCES", err)
	}
	if err := v.Mkdir(ctx, ctx.Root, "/fs/cgroup/x", 0o755); err != unix.EPERM {
		t.Errorf("mkdir: %v, want EPERM", err)
	}
	if _, err := v.Open(ctx, ctx.Root, "/fs/x", vfs.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o644}); err != unix.EACCES {
		t.Errorf("create: %v, want EACCES", err)
	}
	p, err := v.Resolve(ctx, ctx.Root, "/kernel", 0)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := v.Statfs(ctx, p); err != nil || st.Type != sysfsMagic {
		t.Errorf("statfs: %+v, %v", st, err)
	}
}
