// Package tmpfs is the in-memory file system: directories, regular files,
// symbolic links and the nodes of FIFOs, sockets and devices (whose I/O
// the VFS serves itself), with the attributes, extended attributes,
// renames, hard links and O_TMPFILE files Linux's tmpfs has.
//
// It owns the file system's tree and the data of its regular files. File
// data lives in pages of the kernel's memory file (package memfile), so
// that a MAP_SHARED mapping of a file maps the very pages read(2) and
// write(2) use (File implements vfs.Mappable). A file is sparse: a page
// that was never written is not allocated and reads as zeros. Each page a
// file holds is one reference to that page of the memory file; a mapping
// takes references of its own, so pages a mapping still uses outlive a
// truncate or the file itself.
//
// Limits are counted as Linux's are: allocated pages against the size
// limit and inodes against nr_inodes, both failing with ENOSPC.
//
// Every regular file carries file seals (seals.go, fcntl F_ADD_SEALS),
// which writes, truncation and fallocate check under the inode's lock;
// memfd_create's files are files of a private instance.
//
// Lifetime: a regular file's pages are freed when it has neither a link
// nor an open file (the last FileImpl's Release, or the unlink of a file
// nobody has open). The VFS's dentries do not count: an O_PATH descriptor
// does not keep an unlinked file's data, and opening such a file again
// fails with ENOENT.
//
// Locking: FS.treeMu guards the tree: every directory's entries, every
// inode's parent, and changes of link counts (which are atomics, so Stat
// reads them without the lock). Each inode's mu (a RWMutex) guards its
// attributes, its extended attributes and, for a regular file, its size,
// pages, open count and the address spaces mapping it; reads of file data
// take it for reading, so concurrent reads of a file proceed together.
// The order is FS.treeMu → inode.mu → memfile.File.mu. Callers may hold
// their own locks when they call in (the VFS's dentry locks, mm.MM.mu when
// a fault asks for a file's pages): tmpfs never calls the VFS, and calls
// an address space (vfs.MappingSpace.InvalidateMapping, after a truncate
// or hole punch) only with none of its own locks held.
package tmpfs
