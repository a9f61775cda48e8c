package agent

import (
	"fmt"
	"os"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	"magawa/internal/vm/agentapi"
)

// Device nodes of a container (OCI linux.devices, and the default ones
// of its /dev). The nodes are the guest's: a host device is never
// passed through, so a node of a device the guest lacks (a disk) is
// made, as runc makes it, but opening it fails with ENXIO.

// deviceSpec is one device node, as agentapi.Device has it.
type deviceSpec struct {
	Path         string
	Type         string
	Major, Minor int64
	// Mode holds the permission bits (zero: 0666).
	Mode     uint32
	UID, GID uint32
}

func toDeviceSpecs(devs []*agentapi.Device) ([]deviceSpec, error) {
	var out []deviceSpec
	for _, d := range devs {
		if !filepath.IsAbs(d.Path) {
			return nil, fmt.Errorf("device %q: not an absolute path", d.Path)
		}
		if _, err := deviceType(d.Type); err != nil {
			return nil, fmt.Errorf("device %s: %w", d.Path, err)
		}
		// Linux's device numbers: a 12-bit major, a 20-bit minor.
		if d.Major < 0 || d.Major > 0xfff || d.Minor < 0 || d.Minor > 0xfffff {
			return nil, fmt.Errorf("device %s: invalid device number %d:%d", d.Path, d.Major, d.Minor)
		}
		out = append(out, deviceSpec{
			Path: filepath.Clean(d.Path), Type: d.Type, Major: d.Major, Minor: d.Minor,
			Mode: d.FileMode & 0o7777, UID: d.Uid, GID: d.Gid,
		})
	}
	return out, nil
}

// deviceType is the file type bits of an OCI device type.
func deviceType(t string) (uint32, error) {
	switch t {
	case "c", "u":
		return unix.S_IFCHR, nil
	case "b":
		return unix.S_IFBLK, nil
	case "p":
		return unix.S_IFIFO, nil
	}
	return 0, fmt.Errorf("unknown device type %q", t)
}

func (d deviceSpec) mode() uint32 {
	if d.Mode == 0 {
		return 0o666
	}
	return d.Mode
}

// mknodAt makes d's node at path with its mode and owner (mknod's mode
// is cut by the umask: chmod sets it whole).
func (d deviceSpec) mknodAt(path string, uid, gid uint32) error {
	typ, err := deviceType(d.Type)
	if err != nil {
		return err
	}
	if err := unix.Mknod(path, typ|d.mode(), int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
		return err
	}
	if err := unix.Chmod(path, d.mode()); err != nil {
		return err
	}
	return unix.Lchown(path, int(uid), int(gid))
}

// makeDevice makes a device node beneath root, its path resolved inside
// root. With staged (a node the agent made) it binds that instead; a
// node that is there already is left, as runc leaves it.
func makeDevice(root string, d deviceSpec, staged string) error {
	dest, err := securejoin.SecureJoin(root, d.Path)
	if err != nil {
		return fmt.Errorf("device %s: %w", d.Path, err)
	}
	if dest == filepath.Clean(root) {
		return fmt.Errorf("device %s: over the root", d.Path)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("device %s: %w", d.Path, err)
	}
	if staged != "" {
		if err := makeMountPoint(dest, false); err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
		if err := unix.Mount(staged, dest, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("device %s: binding the agent's node: %w", d.Path, err)
		}
		return nil
	}
	err = d.mknodAt(dest, d.UID, d.GID)
	if err == unix.EEXIST {
		return nil
	}
	if err != nil {
		return fmt.Errorf("device %s: %w", d.Path, err)
	}
	return nil
}

// stageDevices makes, for a container in a user namespace, the device
// nodes its helper will bind: there mknod is refused, and a node on a
// file system the namespace mounted would not open (SB_I_NODEV). They
// are made on a tmpfs of their own (the agent's /run is nodev), owned
// by the container's IDs through its maps. FIFOs need no staging.
func (c *container) stageDevices(devs []deviceSpec, uids, gids []*agentapi.IDMapping) (map[string]string, error) {
	dir := filepath.Join(c.dir, "dev")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return nil, fmt.Errorf("the container's staged devices: %w", err)
	}
	c.devDir = dir
	staged := map[string]string{}
	for i, d := range devs {
		if d.Type == "p" {
			continue
		}
		uid, ok := mapID(uids, d.UID)
		if !ok {
			return nil, fmt.Errorf("device %s: its owner %d is not mapped in the user namespace", d.Path, d.UID)
		}
		gid, ok := mapID(gids, d.GID)
		if !ok {
			return nil, fmt.Errorf("device %s: its group %d is not mapped in the user namespace", d.Path, d.GID)
		}
		node := filepath.Join(dir, fmt.Sprintf("n%d", i))
		if err := d.mknodAt(node, uid, gid); err != nil {
			return nil, fmt.Errorf("device %s: %w", d.Path, err)
		}
		staged[d.Path] = node
	}
	return staged, nil
}

// mapID is the guest's ID of a container's ID through an ID map.
func mapID(m []*agentapi.IDMapping, id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.ContainerId && uint64(id) < uint64(e.ContainerId)+uint64(e.Size) {
			return e.HostId + (id - e.ContainerId), true
		}
	}
	return 0, false
}
