// Package memfile owns the memory file: the single sparse memfd that backs
// every byte of application memory. The kernel maps it once into its own
// address space to copy system-call arguments in and out; platforms map
// ranges of it into application address spaces. Ranges are handed out by a
// first-fit allocator and punched out of the file when freed.
//
// Locking: File.mu guards the free list and the usage count. The mapping
// itself is immutable; callers synchronise access to the contents of the
// ranges they own.
package memfile
