// Package dev serves the sandbox's /dev: the character devices the
// kernel implements itself (never the host's) and the contents of a
// container's /dev.
//
// Register makes the VFS open these device numbers:
//
//	1:3 null, 1:5 zero, 1:7 full, 1:8 random, 1:9 urandom (memory devices)
//	5:0 tty      the caller's controlling terminal (ENXIO without one)
//	5:1 console  the sandbox's console terminal, if it has one (ENXIO otherwise)
//	5:2 ptmx     a new pseudo-terminal pair of the devpts instance
//
// Any other number opens nothing (the VFS fails it with ENXIO).
//
// Populate fills a fresh tmpfs to be mounted at /dev as runc does a
// container's: the device nodes, the standard symbolic links (fd, stdin,
// stdout, stderr, ptmx → pts/ptmx) and the mount points pts, shm and
// mqueue.
//
// Locking: the memory devices are stateless; Devices.console is an
// atomic pointer. Opening tty calls into the kernel (Task.WithJobControl)
// with no lock held.
package dev
