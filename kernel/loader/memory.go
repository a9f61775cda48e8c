package loader

// Memory is the part of an application address space the loader needs.
// The kernel's mm.MM implements it; tests use a fake.
type Memory interface {
	// MapFixed creates zero-filled private anonymous memory at exactly
	// [addr, addr+length) with protection prot (unix.PROT_*). addr and
	// length are page aligned. It fails if the range is outside the
	// application address space or overlaps an existing mapping.
	MapFixed(addr, length uintptr, prot int, name string) error
	// WriteForce copies data to addr whatever the protection of the
	// memory there (as a debugger's poke would); the range must be mapped.
	WriteForce(addr uintptr, data []byte) error
	// FindFree returns the start of a free page-aligned range of length
	// bytes, for placing position-independent executables.
	FindFree(length uintptr) (uintptr, error)
	// SetBrkStart tells the address space where the program break starts.
	SetBrkStart(addr uintptr)
}
