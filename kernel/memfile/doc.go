// Package memfile owns the memory file: the single sparse memfd that backs
// every byte of application memory. The kernel maps it once into its own
// address space to copy system-call arguments in and out; platforms map
// ranges of it into application address spaces. Ranges are handed out by a
// first-fit allocator with one reference each; fork shares them between
// address spaces (IncRef), and a range is punched out of the file and
// returned to the allocator when its last reference is dropped (DecRef).
//
// Reference counts are kept as a sorted list of spans whose count is two
// or more; an allocated page outside every span has one reference. So
// memory that was never shared costs nothing, and sharing a large range
// costs one entry, not one per page.
//
// PageMap is the bookkeeping of a file whose pages live here (tmpfs's
// data, the gofer's page cache): which file page sits at which offset.
//
// Locking: File.mu guards the free list, the reference counts and the
// usage count. It is the innermost lock (mm.MM.mu → the platform's
// address-space lock → File.mu) and is never held across a system call.
// The mapping itself is immutable; callers synchronise access to the contents
// of the ranges they hold. A PageMap has no lock: its owner's guards it.
package memfile
