package mm

import "golang.org/x/sys/unix"

// Signal codes for SIGSEGV (siginfo si_code).
const (
	SEGV_MAPERR = 1
	SEGV_ACCERR = 2
)

// HandleFault is called when the application faulted at addr; code is the
// host's si_code: SEGV_MAPERR when the platform maps nothing there,
// SEGV_ACCERR when the mapping's protection refused the access. It
// returns true if the kernel fixed the fault, so the access should be
// retried: a vma the platform had not mapped yet (demand faulting), or a
// write to copy-on-write memory. Otherwise it returns false with the
// si_code of the SIGSEGV to deliver.
//
// The platform does not say whether the access was a read or a write. A
// copy-on-write vma is mapped without PROT_WRITE, so SEGV_ACCERR in one
// whose protection allows writing is taken to be a write: its chunk is
// copied (breakCOWLocked). If the access was something else the
// protection refuses (executing a non-PROT_EXEC page), the retry faults
// again, now in memory that is not copy-on-write, and gets its SIGSEGV.
func (mm *MM) HandleFault(addr uintptr, code int32) (bool, int32) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	v := mm.vmaAtLocked(addr)
	if v == nil {
		return false, SEGV_MAPERR
	}
	if v.prot == unix.PROT_NONE {
		return false, SEGV_ACCERR
	}
	if !v.mapped {
		if v.cow && !mm.mf.Shared(v.off, uint64(v.length())) {
			// The other side of the fork has gone (exited or exec'd):
			// map it writable at once.
			v.cow = false
		}
		if err := mm.as.MapFile(v.start, v.length(), v.off, v.hostProt()); err != nil {
			return false, SEGV_MAPERR
		}
		v.mapped = true
		mm.mergeAroundLocked(v)
		return true, 0
	}
	if code == SEGV_ACCERR && v.cow && v.prot&unix.PROT_WRITE != 0 {
		if err := mm.breakCOWLocked(v, addr); err != nil {
			return false, SEGV_ACCERR
		}
		return true, 0
	}
	// Mapped with its protection already: the access broke it.
	return false, SEGV_ACCERR
}
