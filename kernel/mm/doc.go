// Package mm owns application address spaces: the vmas an application
// asked for (mmap, brk, mremap, mprotect...), the references they hold to
// the memory-file ranges that back them and to mapped files, copy-on-write
// after fork, and
// copying between application memory and the kernel, including the atomic
// operations and keys that futexes need.
//
// All application memory lives in the kernel's memory file (package
// memfile): each vma holds a reference to one contiguous range of it
// (except a pending file vma, below), whether anonymous memory or a tmpfs
// file's pages. The platform's address space is filled lazily: a vma is mapped into
// it, as a whole, on the first fault inside it (HandleFault), and
// unmapped or re-protected when the vma changes. Copy-in and copy-out
// never go through the platform: they translate addresses through the
// vmas to the kernel's own mapping of the memory file and fail with
// EFAULT, never with a crash, on a bad address.
//
// File mappings (mmap of a file) start pending: a vma with no memory,
// holding a reference to its vfs.File. The first access (a fault, or a
// kernel copy) populates the 2 MiB-aligned chunk around it. For a tmpfs
// file (vfs.Mappable) the chunk is the file's own memory-file pages, with
// references of the vma's own: shared for MAP_SHARED, so read(2), write(2)
// and every mapping see one another, copy-on-write for MAP_PRIVATE. A
// host file's page cache (vfs.CachedMappable, the gofer's) is mapped the
// same way for MAP_SHARED only (filling it reads the host file, under
// MM.mu), and msync(MS_SYNC) asks it to write back. Other files, and
// private mappings of a cache, are copied into private memory, read with
// MM.mu not held (a read may block). Pages wholly past the end of the
// file stay pending and an
// access there is SIGBUS. When a file loses pages (truncate, hole punch),
// it calls InvalidateMapping: the vmas mapping them become pending again.
//
// Fork copies the vmas, not the memory: the child references the same
// ranges. MAP_SHARED vmas stay shared; private ones become copy-on-write
// (vma.cow) on both sides and are mapped without PROT_WRITE. A write, from
// the application (a SEGV_ACCERR fault) or from the kernel (CopyOut,
// WithBytes, WriteForce, the futex atomics), breaks copy-on-write in the
// 2 MiB-aligned chunk around it: the chunk is copied into a range of its
// own, or, when nobody else references it any more, simply made writable.
//
// Locking: MM.mu (a RWMutex) guards the vmas and the break. Reads take it
// for reading, and so do writes that do not touch copy-on-write memory;
// breaking copy-on-write takes it for writing. Calls into the platform
// address space and the memory file are made with MM.mu held, so the
// order is MM.mu → the platform's address-space lock → memfile.File.mu.
// Mappable files are called with MM.mu held (MapPages, AddMapping,
// RemoveMapping; a vfs.File's last DecRef releases it), so their locks
// (tmpfs's inode.mu) come after MM.mu, and a file calls InvalidateMapping
// with none of its locks held. Files that are copied are read with no
// lock held.
// Two address spaces sharing memory never hold each other's lock: what
// they share is arbitrated by the memory file's reference counts.
package mm
