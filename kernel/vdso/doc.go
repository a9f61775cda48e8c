// Package vdso owns the virtual dynamic shared object that every
// application address space gets at exec, the ELF image the auxiliary
// vector's AT_SYSINFO_EHDR points at (Image), and the data its clock
// functions read: the vvar page (Data, Page) and how the kernel keeps it
// close to the host's clocks (Timekeeper, SampleHost).
//
// The image is an x86-64 ET_DYN shared object built here byte by byte, as
// package platform/ptrace builds its stub: no cgo, no assembler and no
// file at build time. It has what the consumers of a vDSO read: program
// headers (PT_LOAD, PT_DYNAMIC, PT_GNU_EH_FRAME), a dynamic section with
// DT_HASH, DT_SYMTAB, DT_STRTAB, DT_VERSYM and DT_VERDEF, and symbol
// versions, so that glibc's dl_vdso_vsym(), musl's __vdsosym() and the Go
// runtime find __vdso_clock_gettime, __vdso_gettimeofday, __vdso_time,
// __vdso_getcpu and __vdso_clock_getres at version LINUX_2.6, as in Linux's
// arch/x86/entry/vdso. Call frame information in .eh_frame lets unwinders
// walk out of them.
//
// __vdso_clock_gettime (CLOCK_REALTIME, _MONOTONIC, _MONOTONIC_RAW,
// _REALTIME_COARSE, _MONOTONIC_COARSE, _BOOTTIME, _TAI),
// __vdso_gettimeofday and __vdso_time answer from the vvar page, mapped
// read-only VVarSize bytes below the image, without a system call:
// a seqlock read of the clock's line, the TSC (lfence; rdtsc), a 128-bit
// multiply and shift, and a division by 10^9 done by multiplication
// (code.go, machine code assembled by a few lines of Go). Data.Read is
// the same computation in Go, which the tests hold the machine code to
// by running it on the host. Every other call, every other clock (the
// CPU-time clocks, bad IDs), and any clock the page does not serve (its
// mult is 0: the kernel has not calibrated the TSC yet, or the host has
// no invariant TSC) makes the system call, which the application kernel
// serves: the semantics are then exactly the system call's.
//
// The kernel's updater (package kernel, vvar.go) feeds a Timekeeper
// with samples of the host clocks every 100 ms and stores its Data in
// the page. The Timekeeper keeps CLOCK_MONOTONIC continuous and
// increasing across updates, steering it towards the host's clock by its
// slope as NTP does, so that reads never go back and stay within a
// microsecond or so of what the system call reads.
//
// Departures from Linux's vDSO: one [vvar] page, not Linux's several
// (no [vvar_vclock], no time namespaces); the coarse clocks read as the
// fine ones (as the system calls answer them here); __vdso_getcpu and
// __vdso_clock_getres make their system calls; no __vdso_getrandom (glibc
// then makes the getrandom system call), no DT_GNU_HASH (DT_HASH is the
// table every consumer reads; musl reads nothing else), and no ELF note
// with the kernel version (glibc before 2.36 then asks uname(), which
// answers the same).
//
// The image is built once and shared; it is read-only data. A Page has
// one writer, which needs no lock (the seqlock's sequence count is the
// readers' only synchronization); a Timekeeper is used by one goroutine.
// The package imports nothing of the kernel: package loader maps the
// image and the page into address spaces.
package vdso
