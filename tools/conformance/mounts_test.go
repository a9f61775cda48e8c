package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountinfo(t *testing.T) {
	const info = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
90 27 0:50 / /tmp/a\040b/rootfs/proc rw shared:5 master:1 - proc proc rw
91 90 0:51 / /tmp/a\040b/rootfs/proc/sys rw - sysfs sysfs ro
92 27 0:52 / /tmp/a\040b rw - tmpfs tmp\134fs rw
`
	ms, err := parseMountinfo(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 || ms[2].Point != "/tmp/a b/rootfs/proc" || ms[2].FSType != "proc" || ms[4].Source != `tmp\fs` {
		t.Fatalf("parsed %+v", ms)
	}
	below := MountsBelow(ms, "/tmp/a b")
	var points []string
	for _, m := range below {
		points = append(points, m.Point)
	}
	want := "/tmp/a b/rootfs/proc/sys,/tmp/a b/rootfs/proc,/tmp/a b"
	if got := strings.Join(points, ","); got != want {
		t.Errorf("below, deepest first: %s, want %s", got, want)
	}
	if len(MountsBelow(ms, "/tmp/a")) != 0 {
		t.Error("/tmp/a b counted as below /tmp/a")
	}
}

// RemoveTree must never remove files through a mount point.
func TestRemoveTreeStopsAtMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	tree := filepath.Join(dir, "tree")
	mnt := filepath.Join(tree, "a", "mnt")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tree, "a", "file"), []byte("x"), 0o644)
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	precious := filepath.Join(mnt, "precious")
	if err := os.WriteFile(precious, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := RemoveTree(tree); err == nil {
		t.Fatal("RemoveTree removed a tree with a mount inside")
	}
	if _, err := os.Stat(precious); err != nil {
		t.Fatalf("the mounted file system lost a file: %v", err)
	}
	// removeDir alone (a mount that the table did not show) stops too.
	id, err := mountID(tree)
	if err != nil {
		t.Fatal(err)
	}
	if err := removeDir(tree, id); err == nil || !strings.Contains(err.Error(), "mount point") {
		t.Fatalf("removeDir through a mount point: %v", err)
	}
	if _, err := os.Stat(precious); err != nil {
		t.Fatalf("the mounted file system lost a file: %v", err)
	}

	found, err := UnmountBelow(tree)
	if err != nil || len(found) != 1 || found[0].Point != mnt {
		t.Fatalf("UnmountBelow: %v, %v", found, err)
	}
	if err := RemoveTree(tree); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tree); !os.IsNotExist(err) {
		t.Fatalf("tree still there: %v", err)
	}
}
