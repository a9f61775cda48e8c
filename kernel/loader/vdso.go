package loader

import (
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/kernel/vdso"
)

// The vDSO's mappings' names in /proc/[pid]/maps.
const (
	VDSOName = "[vdso]"
	VVarName = "[vvar]"
)

// VVarMapper is a Memory that can map the kernel's vvar page (package
// vdso), the data the vDSO's clock functions read.
type VVarMapper interface {
	// MapVVar maps the vvar page, vdso.VVarSize bytes, read-only at
	// exactly addr, named VVarName, the mapping sharing the kernel's
	// page (it sees the kernel's later writes). addr is page aligned
	// and free.
	MapVVar(addr uintptr) error
}

// MapVDSO maps the vvar page and, right above it, a copy of the vDSO
// (package vdso) read+exec, named VDSOName, where mem.FindFree says,
// and records the vDSO's address in img.VDSO for AT_SYSINFO_EHDR. The
// vvar page is the kernel's if mem is a VVarMapper; otherwise it is a
// page of zeros, from which the vDSO serves nothing: its functions then
// make system calls. Call it after LoadELF and LoadInterpreter, as Linux
// sets up the vDSO after loading both (arch_setup_additional_pages() in
// load_elf_binary()): it then lands below the interpreter, where it lands
// natively, with [vvar] below [vdso] as Linux lays them out
// (arch/x86/entry/vdso/vma.c, map_vdso()). Errors are mem's.
func MapVDSO(mem Memory, img *Image) error {
	if img.VDSO != 0 {
		return fmt.Errorf("vdso: mapped already at %#x: %w", img.VDSO, unix.EINVAL)
	}
	b := vdso.Image()
	length := uintptr(pageUp(uint64(len(b))))
	addr, err := mem.FindFree(vdso.VVarSize + length)
	if err != nil {
		return fmt.Errorf("vdso: finding %#x bytes: %w", vdso.VVarSize+length, err)
	}
	if vm, ok := mem.(VVarMapper); ok {
		err = vm.MapVVar(addr)
	} else {
		err = mem.MapFixed(addr, vdso.VVarSize, unix.PROT_READ, VVarName)
	}
	if err != nil {
		return fmt.Errorf("vdso: mapping the vvar page at %#x: %w", addr, err)
	}
	addr += vdso.VVarSize
	// The image is private anonymous memory that receives a copy: it is
	// a page, and a memory-file range shared by every address space can
	// come with file-backed mappings.
	if err := mem.MapFixed(addr, length, unix.PROT_READ|unix.PROT_EXEC, VDSOName); err != nil {
		return fmt.Errorf("vdso: mapping %#x bytes at %#x: %w", length, addr, err)
	}
	if err := mem.WriteForce(addr, b); err != nil {
		return fmt.Errorf("vdso: writing at %#x: %w", addr, err)
	}
	img.VDSO = addr
	return nil
}
