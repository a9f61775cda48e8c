// Package syscalls is the application kernel's system-call table
// (table_amd64.go: one row per x86-64 call, with its support level) and
// the implementations, one file per family (sys_file.go, sys_mmap.go,
// sys_process.go, ...). Each exported handler decodes the argument
// registers and returns a value or a unix.Errno; the kernel package
// dispatches through the table and never imports this one.
//
// Locking: handlers run on the calling task's goroutine and take only the
// locks of the objects they use (mm, vfs).
package syscalls
