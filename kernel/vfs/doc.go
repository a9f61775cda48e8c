// Package vfs owns open file descriptions (File: offset, status flags,
// reference count) and descriptor tables (FDTable), and defines what a
// file system implements for an open file (FileImpl and its optional
// extensions). It is the first slice of the virtual file system; the mount
// tree and path walk arrive with the file-system work.
//
// Locking: File.mu guards a description's offset and flags and is held
// across a read or write that uses the offset (so concurrent reads of one
// description do not interleave offsets). FDTable.mu guards the table; it
// is never held while a file is released.
package vfs
