// Package overlay is the sandbox's default root file system: a read-only
// lower layer (the image, in production the gofer's tree) merged with an
// upper layer in memory (a fresh tmpfs) that takes every write, so the
// image never changes. Linux's overlayfs is the model for what the
// container sees (Documentation/filesystems/overlayfs.rst); the mechanism
// differs where the upper layer is our own.
//
// It owns the merged inodes: one node per object seen through the
// overlay, holding the object's lower inode (if it came from the image),
// its upper inode (once it has one), and for a directory the overlay's
// own state of its names. The VFS's dentries cache these nodes, and the
// nodes themselves are kept for the file system's life, so that one name
// always means one node (two nodes of one lower file would copy it up
// twice) and the private state below is never lost. So are the listings
// of the lower directories read.
//
// What the container sees:
//
//   - Lookup: an upper entry wins; a lower entry shows unless the
//     directory marked its name whited out; a directory made in the
//     overlay (mkdir, even over a removed lower one) has no lower part at
//     all, so it is opaque.
//   - Whiteouts are overlay-private state, not Linux's 0/0 character
//     devices and trusted.overlay.opaque xattrs: the upper layer is always
//     our own tmpfs that nothing else reads, so the markers need not live
//     in it, and then the container can never see one, an upper directory
//     holding only whiteouts is empty to the upper layer's rmdir, and no
//     lookup pays for a marker. Each directory records, per name, either
//     "copied" (the upper entry is the lower entry copied up in place) or
//     "whiteout" (the lower entry is hidden: removed, or replaced by a new
//     object). The consequence: an upper layer cannot be reused across
//     file-system instances, and New refuses a non-empty one.
//   - Copy-up on the first change of a lower object: open for writing,
//     truncate, SetStat, setting or removing an xattr, a hard link to it,
//     renaming it. Its parent directories are copied up first (mode,
//     owner, times, xattrs); then the object with its mode, owner, xattrs,
//     times and, for a regular file, its data, streamed in 1 MiB chunks
//     (zero chunks are left as holes). A regular file's data is staged in
//     an unnamed upper file (O_TMPFILE) and linked into place when
//     complete, so no lock of its directory is held while it copies and
//     nobody sees a half-copied file; truncation copies only what
//     survives it. The parent's upper times are put back afterwards, as
//     Linux does: a copy-up is not a change of the directory.
//   - Open files: the VFS gets the layer's own FileImpl (so mmap and the
//     other optional interfaces of tmpfs and the gofer work unchanged).
//     A file opened read-only before its copy-up keeps reading the lower
//     copy (Linux before 4.19 did the same); files opened after read the
//     upper one. A FileImpl's own Stat describes its layer: st_dev and
//     st_ino of the overlay come from the inode (vfs.File.Statx).
//   - Directory rename: renaming a directory that has a lower part fails
//     with EXDEV, Linux's default (redirect_dir=off); mv and other tools
//     fall back to copying. Directories made in the overlay rename freely.
//   - Unlink and rmdir of a name with a lower part whiteout it; rmdir
//     checks emptiness over the merged view (ENOTEMPTY).
//   - Readdir lists the upper layer's new names, then the lower layer's
//     names that are not whited out (an entry copied up in place stays in
//     the lower part of the listing). A lower directory's listing is
//     read once and kept (the lower layer never changes), so the lower
//     part's positions are indices in it, whatever cookies the lower
//     layer uses; the upper part's are the upper layer's own cookies
//     (below 1<<61, as tmpfs's are). A listing resumed with any buffer
//     size neither repeats nor skips a name, even when entries are
//     copied up meanwhile.
//   - Stat: st_dev is the overlay's own anonymous device; st_ino is the
//     lower inode's number for objects from the image (kept across
//     copy-up, so find and tar see no change of identity) and the upper
//     inode's number with bit 63 set for objects made in the overlay. A
//     directory with both parts has st_nlink 1, as on Linux, so find does
//     not trust a link count that misses the lower subdirectories.
//   - Hard links in the image are not joined: copying one name up leaves
//     the others on the lower copy (Linux without index=on does the same).
//   - O_TMPFILE and statfs go to the upper layer.
//
// Locking, outermost first:
//
//  1. node.copyMu serializes the copy-up of one node. Copying a node up
//     copies its parent chain first, under its own copyMu: a node's
//     before its ancestors'.
//  2. FS.multiMu is held by the operations that lock more than one
//     directory (Rename, Rmdir).
//  3. dir.mu guards a directory's children and marks and orders the
//     changes of its upper directory. One at a time, except under
//     multiMu. Copy-up takes its parent's mu to put the object in place
//     (a regular file's data is staged before, without it). Nothing
//     takes a copyMu while holding a mu, so operations copy up first and
//     lock after.
//  4. The layers' own locks. The overlay calls into the layers holding
//     dir.mu; what the layers call back (Readdir's emit) takes no
//     overlay lock: listings are read in batches and merged after.
//
// node.upper is set once, under the parent's dir.mu (so, under it, "the
// child has an upper inode" and "the upper directory has the child's
// name" agree), and read without locks.
package overlay
