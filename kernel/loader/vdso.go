package loader

import (
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/kernel/vdso"
)

// VDSOName is the vDSO mapping's name in /proc/[pid]/maps.
const VDSOName = "[vdso]"

// MapVDSO maps a copy of the vDSO (package vdso) read+exec into mem where
// mem.FindFree says, named VDSOName, and records its address in img.VDSO
// for AT_SYSINFO_EHDR. Call it after LoadELF and LoadInterpreter, as
// Linux sets up the vDSO after loading both (arch_setup_additional_pages()
// in load_elf_binary()): it then lands below the interpreter, where it
// lands natively. Errors are mem's.
func MapVDSO(mem Memory, img *Image) error {
	if img.VDSO != 0 {
		return fmt.Errorf("vdso: mapped already at %#x: %w", img.VDSO, unix.EINVAL)
	}
	b := vdso.Image()
	length := uintptr(pageUp(uint64(len(b))))
	addr, err := mem.FindFree(length)
	if err != nil {
		return fmt.Errorf("vdso: finding %#x bytes: %w", length, err)
	}
	// The mapping is private anonymous memory that receives a copy: the
	// image is a page, and a memory-file range shared by every address
	// space can come with file-backed mappings.
	if err := mem.MapFixed(addr, length, unix.PROT_READ|unix.PROT_EXEC, VDSOName); err != nil {
		return fmt.Errorf("vdso: mapping %#x bytes at %#x: %w", length, addr, err)
	}
	if err := mem.WriteForce(addr, b); err != nil {
		return fmt.Errorf("vdso: writing at %#x: %w", addr, err)
	}
	img.VDSO = addr
	return nil
}
