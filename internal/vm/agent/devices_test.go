package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/internal/vm/agentapi"
)

func TestToDeviceSpecs(t *testing.T) {
	devs, err := toDeviceSpecs([]*agentapi.Device{{Path: "/dev/./mynull", Type: "c", Major: 1, Minor: 3, FileMode: 0o100666}})
	if err != nil || len(devs) != 1 || devs[0].Path != "/dev/mynull" || devs[0].Mode != 0o666 {
		t.Errorf("toDeviceSpecs = %+v, %v", devs, err)
	}
	for _, d := range []*agentapi.Device{
		{Path: "dev/x", Type: "c"},
		{Path: "/dev/x", Type: "x"},
		{Path: "/dev/x", Type: "c", Major: 4096},
		{Path: "/dev/x", Type: "b", Minor: -1},
	} {
		if _, err := toDeviceSpecs([]*agentapi.Device{d}); err == nil {
			t.Errorf("toDeviceSpecs(%+v) succeeded", d)
		}
	}
}

func TestMakeDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod of a device takes root")
	}
	root := t.TempDir()
	for _, d := range []deviceSpec{
		{Path: "/dev/mynull", Type: "c", Major: 1, Minor: 3, UID: 5, GID: 6},
		{Path: "/dev/disk/sda", Type: "b", Major: 8, Minor: 0, Mode: 0o600},
		{Path: "/dev/fifo", Type: "p", Mode: 0o640},
	} {
		if err := makeDevice(root, d, ""); err != nil {
			t.Fatalf("makeDevice(%+v): %v", d, err)
		}
	}
	for path, want := range map[string]struct {
		mode     uint32
		rdev     uint64
		uid, gid uint32
	}{
		"dev/mynull":   {unix.S_IFCHR | 0o666, unix.Mkdev(1, 3), 5, 6},
		"dev/disk/sda": {unix.S_IFBLK | 0o600, unix.Mkdev(8, 0), 0, 0},
		"dev/fifo":     {unix.S_IFIFO | 0o640, 0, 0, 0},
	} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, path), &st); err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if st.Mode != want.mode || st.Rdev != want.rdev || st.Uid != want.uid || st.Gid != want.gid {
			t.Errorf("%s: mode %o rdev %x owner %d:%d, want %o %x %d:%d", path, st.Mode, st.Rdev, st.Uid, st.Gid, want.mode, want.rdev, want.uid, want.gid)
		}
	}
	// What is there is left, as runc leaves it.
	os.WriteFile(filepath.Join(root, "dev/file"), []byte("x"), 0o644)
	if err := makeDevice(root, deviceSpec{Path: "/dev/file", Type: "c", Major: 1, Minor: 3}, ""); err != nil {
		t.Errorf("makeDevice over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "dev/file")); string(b) != "x" {
		t.Errorf("the existing file became %q", b)
	}
	// A link out of the root is resolved inside it.
	os.Symlink("/tmp", filepath.Join(root, "escape"))
	if err := makeDevice(root, deviceSpec{Path: "/escape/magawa-test-null", Type: "c", Major: 1, Minor: 3}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat("/tmp/magawa-test-null"); err == nil {
		os.Remove("/tmp/magawa-test-null")
		t.Error("a device node was made outside the root through a link")
	}
	if err := makeDevice(root, deviceSpec{Path: "/", Type: "c", Major: 1, Minor: 3}, ""); err == nil || !strings.Contains(err.Error(), "root") {
		t.Errorf("a device over the root: %v", err)
	}
}

func TestIDMaps(t *testing.T) {
	m := []*agentapi.IDMapping{{ContainerId: 0, HostId: 100000, Size: 1000}, {ContainerId: 5000, HostId: 300000, Size: 10}}
	for id, want := range map[uint32]uint32{0: 100000, 999: 100999, 5009: 300009} {
		if got, ok := mapID(m, id); !ok || got != want {
			t.Errorf("mapID(%d) = %d, %v; want %d", id, got, ok, want)
		}
	}
	for _, id := range []uint32{1000, 4999, 5010} {
		if got, ok := mapID(m, id); ok {
			t.Errorf("mapID(%d) = %d: mapped, want not", id, got)
		}
	}
	if err := checkIDMaps(m, m); err != nil {
		t.Errorf("checkIDMaps: %v", err)
	}
	noRoot := []*agentapi.IDMapping{{ContainerId: 1000, HostId: 1000, Size: 1}}
	for _, c := range []struct {
		uids, gids []*agentapi.IDMapping
		want       string
	}{
		{m, nil, "both"},
		{noRoot, m, "root"},
		{m, noRoot, "root group"},
		{[]*agentapi.IDMapping{{ContainerId: 0, HostId: 1, Size: 0}}, m, "invalid"},
		{[]*agentapi.IDMapping{{ContainerId: 0, HostId: 0xffffffff, Size: 2}}, m, "invalid"},
	} {
		if err := checkIDMaps(c.uids, c.gids); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("checkIDMaps(%v, %v) = %v, want an error saying %q", c.uids, c.gids, err, c.want)
		}
	}
}
