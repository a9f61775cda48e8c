// Package gofer is the client file system of the gofer: the sandbox's
// root and bind mounts, served by a separate, confined process
// (internal/gofer) over the protocol of package wire. A Client is the
// connection to one gofer; Client.Mount returns one of its exports as a
// vfs.FileSystem.
//
// Paths, not node IDs. Requests name objects by their path below the
// export's root, which the client builds from its own tree of inodes
// (each knows its parent and name). The alternative, a node ID per
// object backed by a descriptor held by the gofer (lisafs's design),
// makes every cached inode cost a host descriptor until the client
// releases it; the VFS keeps dentries (and so inodes) for as long as it
// likes and never says when it drops one, so the gofer would hold one
// descriptor per file ever seen (100k for a find over /usr). With paths,
// a cached inode costs memory only, and the gofer opens what a request
// needs and closes it before replying. The costs: the host walks the
// path again on each request (a dcache walk, cheap next to the round
// trip); a rename must change the paths below the moved object, so
// renames exclude other requests (FS.renameMu); and paths are limited
// to PATH_MAX below the export's root. Safety does not depend on the
// paths: the gofer resolves them beneath the export's root with
// RESOLVE_IN_ROOT and without following any symbolic link.
//
// Attributes are cached: the sandbox owns its root, so every change comes
// through this client, and every reply to a change carries the new
// attributes of what it changed (the directory, the victim of an unlink
// or rename), so the cache stays exact without extra requests. Open
// writable files are the exception: writes go to the host file directly,
// so Stat asks the host file (fstat on the descriptor, no request) while
// one is open. Names of one host file (hard links) share one state, so
// a write through one name shows through the others. Access times that
// the host updates on reads are not followed. A listing brings every
// entry's attributes along ("readdirplus"), kept as seeds for the Lookup
// of each name that usually follows (ls -l, find), which then needs no
// request; seeds.go says why a seed is as good as a fresh stat and how
// their memory is bounded.
//
// Files. Opening a regular file asks the gofer for a host descriptor
// (SCM_RIGHTS); reads and writes are pread(2) and pwrite(2) on it, never
// requests. Plain read-only opens of a file share one descriptor, kept
// for a while after the last close (a bounded LRU), so opening a file
// again needs no request at all (fdcache.go). Writes with O_APPEND are
// pwritev2(RWF_APPEND) on the writer's own descriptor, atomic on the host
// whoever else appends; the host descriptor never has O_APPEND, so
// fcntl(F_SETFL) changing it needs nothing from the host (file.go).
// FIFOs, sockets and device nodes are served by the VFS from its
// registries; device nodes are never created on the host.
//
// Shared mappings. A file mapped MAP_SHARED gets a page cache in the
// kernel's memory file (ClientOptions.MemoryFile) for as long as it is
// mapped: every mapping maps its pages, and read(2) and write(2) go
// through it (writes also straight on to the host file), so all agree;
// what stores through mappings change is written back at msync(MS_SYNC),
// fsync(2), the last munmap and the last close of a writer
// (pagecache.go). Private mappings are copies, as without the cache.
//
// Trust. The gofer may be dead or hostile: every reply is validated
// (lengths, counts, names, file types, errnos in Linux's range, exactly
// the descriptors expected, and a received file must be the regular file
// asked for), a bad one costs the request EIO and the channel, a closed
// connection fails every later request with EIO, and no request waits
// longer than ClientOptions.Timeout.
//
// Requests are not interrupted by signals: a task waits for its reply or
// the timeout (vfs.Context.Block is not used yet).
//
// Locking: fileState.cacheMu (the page cache, pagecache.go) comes
// first, after mm's MM.mu (held by mm's calls of MapPages, AddMapping
// and RemoveMapping, and by read(2) and write(2) into application
// memory) and before every lock below; it is held across host I/O on
// donated descriptors and across a truncation's request. FS.renameMu is
// held for reading by every request that sends a path, from building
// the path to the reply, and for writing by Rename (across its request)
// and while names change after an unlink or link.
// It comes before FS.seeds.mu, which comes before inode.childMu, and
// before the Client's locks (ctlMu → mu); fileState.mu, FS.inoMu,
// FS.linksMu and Client.fds.mu (the shared descriptors) are leaves
// (fileState.mu is held across an fstat of a host descriptor at most,
// never a request). regularFile.posMu, a leaf too, serializes the uses
// of a host descriptor's own offset. Only renameMu and cacheMu are held
// across a request, and nothing here calls back into the VFS; the page
// cache calls vfs.MappingSpace.InvalidateMapping with no lock held.
package gofer
