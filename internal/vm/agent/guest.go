package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The guest's own layout.
const (
	modulesDir  = "/lib/modules"
	modulesList = "/lib/modules/load"
	// runDir holds the shares (sharesDir/TAG) and the containers'
	// overlays (containersDir/ID).
	runDir        = "/run/magawa"
	sharesDir     = runDir + "/shares"
	containersDir = runDir + "/c"
	cgroupRoot    = "/sys/fs/cgroup"
)

// setupGuest makes the guest ready for containers.
func setupGuest() error {
	if err := reroot(); err != nil {
		return err
	}
	for _, m := range []struct {
		source, target, fstype string
		flags                  uintptr
		data                   string
	}{
		{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
		{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
		{"tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
		{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
		{"cgroup2", cgroupRoot, "cgroup2", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	} {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err)
		}
	}
	for _, d := range []string{sharesDir, containersDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := readModules(); err != nil {
		return err
	}
	groups := []string{groupBoot, group9P}
	if hasPCI() {
		groups = append(groups, groupPCI)
	}
	if err := loadModules(groups...); err != nil {
		return err
	}
	// Its devices are there now that the transports' drivers are.
	if hasVirtioNet() {
		if err := loadModules(groupNet); err != nil {
			return err
		}
	}
	if err := setLoopbackUp(); err != nil {
		return err
	}
	// The controllers a container's limits need, for the cgroups made
	// below the root.
	if b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		var enable []string
		for _, c := range strings.Fields(string(b)) {
			enable = append(enable, "+"+c)
		}
		if len(enable) > 0 {
			os.WriteFile(filepath.Join(cgroupRoot, "cgroup.subtree_control"), []byte(strings.Join(enable, " ")), 0)
		}
	}
	return nil
}

// reroot makes the root a bind mount of the initramfs, stacked on it.
// The initramfs itself is the absolute root mount, which pivot_root(2)
// cannot leave (EINVAL): containers pivot out of a bind mount instead.
// Linux: fs/namespace.c, pivot_root(); switch_root(8) moves its new root
// the same way.
func reroot() error {
	const newRoot = "/sysroot"
	if err := os.MkdirAll(newRoot, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("/", newRoot, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding the root: %w", err)
	}
	if err := unix.Chdir(newRoot); err != nil {
		return err
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("moving the root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("entering the root: %w", err)
	}
	return unix.Chdir("/")
}

// Module groups of the image's list (package image's Group*).
const (
	groupBoot     = "boot"
	groupPCI      = "pci"
	group9P       = "9p"
	groupVirtiofs = "virtiofs"
	groupNet      = "net"
)

// modules are the image's modules not loaded yet, by group.
var (
	modulesMu sync.Mutex
	modules   map[string][]string
)

// readModules reads the image's list of modules: a group and a file
// name a line, in an order that loads each after its dependencies.
func readModules() error {
	b, err := os.ReadFile(modulesList)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	modules = map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 1: // an image without groups: everything at boot
			modules[groupBoot] = append(modules[groupBoot], f[0])
		case 2:
			modules[f[0]] = append(modules[f[0]], f[1])
		}
	}
	return nil
}

// loadModules loads the modules of the groups, once. The groups'
// modules are loaded in the list's order, dependencies first; a module
// of another group that one depends on was loaded before (the image
// puts each in the first group that needs it).
func loadModules(groups ...string) error {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	for _, g := range groups {
		for _, name := range modules[g] {
			if err := loadModule(filepath.Join(modulesDir, name)); err != nil {
				return err
			}
		}
		delete(modules, g)
	}
	return nil
}

// hasPCI reports whether the machine has PCI devices (q35; microvm has
// none).
func hasPCI() bool {
	entries, err := os.ReadDir("/sys/bus/pci/devices")
	return err == nil && len(entries) > 0
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("module: %w", err)
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	if err != nil && err != unix.EEXIST {
		return fmt.Errorf("loading module %s: %w", filepath.Base(path), err)
	}
	return nil
}

// kernelRelease is uname -r.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return string(bytes.TrimRight(u.Release[:], "\x00"))
}
