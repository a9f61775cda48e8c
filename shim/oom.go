package shim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// OOM kills: the host's OOM killer acts on the sandbox's cgroup, which
// holds every host process of the sandbox (a pod's, for a pod). The shim
// watches the cgroup as containerd's runc shim does and publishes a
// TaskOOM event per kill, which the CRI plugin turns into the
// container's "OOMKilled" reason.

const cgroupRoot = "/sys/fs/cgroup"

// watchOOM calls oom at each OOM kill in the cgroup at path (relative to
// the hierarchy's root) until the cgroup is gone. It returns at once,
// with an error if the cgroup cannot be watched.
func watchOOM(path string, oom func()) error {
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		return watchOOMv2(filepath.Join(cgroupRoot, path), oom)
	}
	return watchOOMv1(filepath.Join(cgroupRoot, "memory", path), oom)
}

// watchOOMv1 registers an eventfd for memory.oom_control's events
// (cgroup.event_control). The eventfd is also signalled when the cgroup
// is removed, which ends the watch.
func watchOOMv1(dir string, oom func()) error {
	control, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		return fmt.Errorf("watching OOM kills: %w", err)
	}
	defer control.Close()
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("watching OOM kills: %w", err)
	}
	reg := fmt.Sprintf("%d %d", efd, control.Fd())
	if err := os.WriteFile(filepath.Join(dir, "cgroup.event_control"), []byte(reg), 0); err != nil {
		unix.Close(efd)
		return fmt.Errorf("watching OOM kills: %w", err)
	}
	go func() {
		defer unix.Close(efd)
		buf := make([]byte, 8)
		for {
			if _, err := unix.Read(efd, buf); err != nil && err != unix.EINTR {
				return
			}
			if _, err := os.Stat(dir); err != nil {
				return
			}
			oom()
		}
	}()
	return nil
}

// watchOOMv2 follows memory.events' oom_kill count (inotify: the file
// is modified at each event; IN_IGNORED once the cgroup is removed).
func watchOOMv2(dir string, oom func()) error {
	events := filepath.Join(dir, "memory.events")
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("watching OOM kills: %w", err)
	}
	if _, err := unix.InotifyAddWatch(ifd, events, unix.IN_MODIFY); err != nil {
		unix.Close(ifd)
		return fmt.Errorf("watching OOM kills: %w", err)
	}
	last, err := oomKills(events)
	if err != nil {
		unix.Close(ifd)
		return err
	}
	go func() {
		defer unix.Close(ifd)
		buf := make([]byte, 4096)
		for {
			n, err := unix.Read(ifd, buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n < unix.SizeofInotifyEvent {
				return
			}
			kills, err := oomKills(events)
			if err != nil {
				return
			}
			for ; last < kills; last++ {
				oom()
			}
		}
	}()
	return nil
}

// oomKills reads memory.events' oom_kill.
func oomKills(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := bytes.Cut(sc.Bytes(), []byte(" ")); ok && string(k) == "oom_kill" {
			return strconv.ParseUint(string(v), 10, 64)
		}
	}
	return 0, errors.New(path + ": no oom_kill")
}
