// Package strace formats completed system calls as strace(1) prints them,
// for `magawa --strace`:
//
//	openat(AT_FDCWD, "/etc/os-release", O_RDONLY|O_CLOEXEC) = 3
//	read(3, "PRETTY_NAME=\"Debian GNU/Linux 12"..., 4096) = 267
//	openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)
//
// The kernel calls Line once per system call, after it completed, with the
// argument registers, the result and a view of the program's memory. How
// each call's arguments are shown is data: the table in table.go maps a
// call name to one formatter per argument (arity and kind) and a formatter
// for the result. A call the table does not know is printed with six hex
// arguments, so a new system call never needs this package to be traced.
//
// What the package owns: nothing but immutable tables; Line is safe for
// concurrent use and takes no locks.
//
// Everything printed from the program's memory is untrusted: a pointer that
// cannot be read is printed in hex (as strace does), lengths are clamped
// before anything is allocated, and no input makes the package panic.
//
// Because Line only runs once the call has completed, arguments that the
// kernel updates in place (the timeout of ppoll and pselect6, the fd sets
// of select) show their value after the call, not the one the program
// passed; strace, which decodes them on entry, shows the latter. For the
// same reason a successful execve should be formatted by the kernel before
// it replaces the address space, or its argv will not be readable, and
// rt_sigreturn is printed without the signal mask strace reads from the
// signal frame, which the call has consumed.
package strace
