// Package vdso owns the virtual dynamic shared object that every
// application address space gets at exec, the ELF image the auxiliary
// vector's AT_SYSINFO_EHDR points at (Image).
//
// The image is an x86-64 ET_DYN shared object built here byte by byte, as
// package platform/ptrace builds its stub: no cgo, no assembler and no
// file at build time. It has what the consumers of a vDSO read: program
// headers (PT_LOAD, PT_DYNAMIC, PT_GNU_EH_FRAME), a dynamic section with
// DT_HASH, DT_SYMTAB, DT_STRTAB, DT_VERSYM and DT_VERDEF, and symbol
// versions, so that glibc's dl_vdso_vsym(), musl's __vdsosym() and the Go
// runtime find __vdso_clock_gettime, __vdso_gettimeofday, __vdso_time,
// __vdso_getcpu and __vdso_clock_getres at version LINUX_2.6, as in Linux's
// arch/x86/entry/vdso. Each function simply makes the system call it
// stands for, which the application kernel serves: the semantics are
// exactly the system call's, only not faster. Call frame information in
// .eh_frame lets unwinders walk out of them.
//
// Departures from Linux's vDSO: no [vvar] data pages (nothing reads
// kernel data), no __vdso_getrandom (glibc then makes the getrandom
// system call), no DT_GNU_HASH (DT_HASH is the table every consumer
// reads; musl reads nothing else), and no ELF note with the kernel
// version (glibc before 2.36 then asks uname(), which answers the same).
//
// The image is built once and shared; it is read-only data. The package
// has no locks and imports nothing of the kernel: package loader maps the
// image into address spaces.
package vdso
