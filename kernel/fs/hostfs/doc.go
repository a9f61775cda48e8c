// Package hostfs wraps host descriptors the sandbox is given, today the
// standard streams of `magawa do`: reads and writes go to the host
// descriptor, readiness comes from the host through a poll watcher.
// Host files of the root and bind mounts are not here: the gofer serves
// them (kernel/fs/gofer).
//
// Locking: none beyond the watcher's own; host descriptors are safe for
// concurrent use.
package hostfs
