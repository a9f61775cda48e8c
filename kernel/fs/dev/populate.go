package dev

import (
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// PopulateOptions say what of a container's /dev depends on its
// configuration.
type PopulateOptions struct {
	// Console makes /dev/console (5:1), for a sandbox whose first process
	// has a terminal (Devices.SetConsole names it).
	Console bool
	// Core makes /dev/core → /proc/kcore, which runc makes when the
	// host's /proc has kcore; leave it off when the sandbox's /proc does
	// not (a dangling link helps nobody).
	Core bool
}

// ttyGID is the tty group, which owns terminals.
const ttyGID = 5

type devNode struct {
	name  string
	mode  uint32
	gid   uint32
	major uint32
	minor uint32
}

// defaultNodes are runc's default devices (libcontainer/specconv,
// AllowedDevices): root's, readable and writable by all.
var defaultNodes = []devNode{
	{"null", 0o666, 0, memMajor, nullMinor},
	{"zero", 0o666, 0, memMajor, zeroMinor},
	{"full", 0o666, 0, memMajor, fullMinor},
	{"random", 0o666, 0, memMajor, randomMinor},
	{"urandom", 0o666, 0, memMajor, urandMinor},
	{"tty", 0o666, 0, ttyAuxMajor, ttyMinor},
}

// consoleNode is /dev/console as a container sees its bind-mounted pty:
// root's, group tty, 0620.
var consoleNode = devNode{"console", 0o620, ttyGID, ttyAuxMajor, consoleMinor}

// defaultLinks are runc's default symbolic links (libcontainer/rootfs_linux.go,
// setupDevSymlinks) and the ptmx link to devpts's.
var defaultLinks = [][2]string{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
	{"ptmx", "pts/ptmx"},
}

// mountPoints are the directories the default mounts go on: devpts, the
// shared-memory tmpfs (world-writable and sticky, as its own root will
// be), and mqueue.
var mountPoints = []struct {
	name string
	mode uint32
}{
	{"pts", 0o755},
	{"shm", 0o1777},
	{"mqueue", 0o755},
}

// Populate fills root, the root directory of a fresh tmpfs that will be
// mounted at /dev, with a container's /dev: everything is root's. It
// works on any vfs.DirInode, through Create, Symlink and Mkdir only, and
// must run before the VFS looks into the directory (the VFS caches what
// it has looked up, also names found missing). The mount points stay
// empty: the caller mounts devpts on pts, a tmpfs on shm and mqueue on
// mqueue.
func Populate(ctx *vfs.Context, root vfs.DirInode, opts PopulateOptions) error {
	nodes := defaultNodes
	if opts.Console {
		nodes = append(nodes[:len(nodes):len(nodes)], consoleNode)
	}
	for _, n := range nodes {
		attrs := vfs.NewAttrs{Mode: unix.S_IFCHR | n.mode, GID: n.gid, Rdev: unix.Mkdev(n.major, n.minor)}
		if _, err := root.Create(ctx, n.name, attrs); err != nil {
			return fmt.Errorf("dev: creating %s: %w", n.name, err)
		}
	}
	links := defaultLinks
	if opts.Core {
		links = append(links[:len(links):len(links)], [2]string{"core", "/proc/kcore"})
	}
	for _, l := range links {
		if _, err := root.Symlink(ctx, l[0], l[1], vfs.NewAttrs{Mode: unix.S_IFLNK | 0o777}); err != nil {
			return fmt.Errorf("dev: creating %s: %w", l[0], err)
		}
	}
	for _, d := range mountPoints {
		if _, err := root.Mkdir(ctx, d.name, vfs.NewAttrs{Mode: unix.S_IFDIR | d.mode}); err != nil {
			return fmt.Errorf("dev: creating %s: %w", d.name, err)
		}
	}
	return nil
}
