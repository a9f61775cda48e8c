// Package gofer is the file server of a sandbox: a separate, confined
// process ("magawa gofer") that serves the container's root and bind
// mounts ("exports", each read-only or read-write) to the application
// kernel's client file system (kernel/fs/gofer) over the protocol of
// kernel/fs/gofer/wire.
//
// It owns starting the gofer process (Start), its confinement (confine),
// and the server (Server), which does the host file work.
//
// Bootstrap. Start creates a SOCK_SEQPACKET socket pair and re-executes
// the magawa binary as `magawa gofer --control-fd=3 --not-mntns=DEV:INO
// -- ro:PATH rw:PATH...` with the pair's other end as descriptor 3, in a
// new mount namespace (Unshareflags, which also makes every mount
// private) and a new session. The gofer refuses to run in the mount
// namespace named by --not-mntns (its parent's), confines itself, opens
// the exports and sends a wire.Hello on the control channel: the
// exports' read-only flags, or why it could not start. Start returns once
// it has that Hello. From then on the control channel is the client's:
// it asks for request channels on it (wire.OpChannel) and the gofer
// serves each channel with a goroutine of its own. When the control
// channel's client end closes, the gofer exits.
//
// Confinement (confine.go): a tmpfs root holding only the exports (each a
// recursive bind, cloned before the pivot; an export that is a single
// regular file is served as a directory holding only that file, for OCI
// bind mounts of files), pivot_root into it with the
// old root detached; the host's /proc, /sys and /dev and every other
// kernel file system detached from the exports (an export of the host's
// / shows them as empty read-only directories); exports mounted nodev and
// nosuid, and read-only when exported so; capabilities cut to CAP_CHOWN,
// CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER and CAP_FSETID on
// every thread, with no_new_privs and not dumpable. Last, before it says
// Hello, a seccomp filter on every thread (the list in seccomp.go, built
// and installed by package seccomp) allows only the system calls the
// server and the Go runtime make, some with their arguments checked
// (threads but no processes, signals to itself only, FIFOs and sockets
// but no device nodes), and kills the process on anything else.
//
// Serving. Every path comes validated (wire.ValidPath: no "..", no ".",
// no empty component) and is opened beneath the export's root with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS):
// no symbolic link is ever followed, not even one a concurrent host
// rename swaps in for a directory, and nothing resolves outside the
// export. The object itself is then reached with *at calls relative to
// the opened directory, with AT_SYMLINK_NOFOLLOW or O_NOFOLLOW, or
// through an O_PATH descriptor of it (AT_EMPTY_PATH). Only regular files
// are opened for reading or writing, after an O_PATH look at them.
// Requests on an existing object carry the host identity the client
// knows, and fail with ESTALE when the path names another file now.
// A listing may ask for each entry's attributes (wire.ReaddirReq.Attrs):
// statx of the name relative to the directory just listed, never
// following a link.
// The sandbox's trusted.* extended attributes are stored as
// user.magawa.trusted.* on the host (xattr.go).
//
// Locking: Server.mu guards the channel count. Requests share nothing
// else: each opens the host descriptors it needs and closes them before
// replying, so the host kernel serializes what must be.
package gofer
