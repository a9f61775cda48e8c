// Package hostfs serves a host directory tree, read-only, as the
// application's root, and wraps the host descriptors of the sandbox's
// standard streams. It is the v0 file backend: the gofer and overlay file
// systems replace it.
//
// Every name is resolved by the host kernel with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS) beneath the root descriptor, so neither ".." nor
// a symbolic link can lead outside the root. Files on the host's /proc,
// /sys and /dev mounts (and anything mounted below them) are refused by
// mount ID after opening, whatever path led there.
//
// Locking: none; FS is immutable after New and host descriptors are safe
// for concurrent use.
package hostfs
