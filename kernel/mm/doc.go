// Package mm owns application address spaces: the vmas an application
// asked for (mmap, brk, mremap, mprotect...), the memory-file ranges that
// back them, and copying between application memory and the kernel.
//
// All application memory is anonymous memory of the kernel's memory file
// (package memfile): each vma owns one contiguous range of it. The
// platform's address space is filled lazily: a vma is mapped into it, as a
// whole, on the first fault inside it (HandleFault), and unmapped or
// re-protected when the vma changes. Copy-in and copy-out never go
// through the platform: they translate addresses through the vmas to the
// kernel's own mapping of the memory file and fail with EFAULT, never with
// a crash, on a bad address.
//
// Locking: MM.mu (a RWMutex) guards the vmas and the break; copies take it
// for reading. Calls into the platform address space are made with MM.mu
// held, so the order is MM.mu, then the platform's locks.
package mm
