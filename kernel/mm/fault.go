package mm

import "golang.org/x/sys/unix"

// Signal codes for SIGSEGV (siginfo si_code).
const (
	SEGV_MAPERR = 1
	SEGV_ACCERR = 2
)

// HandleFault is called when the application faulted at addr. It returns
// true if the fault was a page the kernel had not yet given the platform
// (demand faulting), now mapped, so the access should be retried; false
// with the si_code of the SIGSEGV to deliver otherwise.
func (mm *MM) HandleFault(addr uintptr) (bool, int32) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	v := mm.vmaAtLocked(addr)
	if v == nil {
		return false, SEGV_MAPERR
	}
	if v.mapped || v.prot == unix.PROT_NONE {
		// Mapped with its protection already: the access broke it.
		return false, SEGV_ACCERR
	}
	if err := mm.as.MapFile(v.start, v.length(), v.off, v.prot); err != nil {
		return false, SEGV_MAPERR
	}
	v.mapped = true
	return true, 0
}
