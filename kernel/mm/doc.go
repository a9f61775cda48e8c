// Package mm owns application address spaces: the vmas an application
// asked for (mmap, brk, mremap, mprotect...), the references they hold to
// the memory-file ranges that back them, copy-on-write after fork, and
// copying between application memory and the kernel, including the atomic
// operations and keys that futexes need.
//
// All application memory is anonymous memory of the kernel's memory file
// (package memfile): each vma holds a reference to one contiguous range of
// it. The platform's address space is filled lazily: a vma is mapped into
// it, as a whole, on the first fault inside it (HandleFault), and
// unmapped or re-protected when the vma changes. Copy-in and copy-out
// never go through the platform: they translate addresses through the
// vmas to the kernel's own mapping of the memory file and fail with
// EFAULT, never with a crash, on a bad address.
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
// Two address spaces sharing memory never hold each other's lock: what
// they share is arbitrated by the memory file's reference counts.
package mm
