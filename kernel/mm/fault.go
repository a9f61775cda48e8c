package mm

import "golang.org/x/sys/unix"

// Signal codes for SIGSEGV (siginfo si_code).
const (
	SEGV_MAPERR = 1
	SEGV_ACCERR = 2
)

// SIGBUS si_code for an access to a file mapping past the end of the
// file.
const BUS_ADRERR = 2

// HandleFault is HandleFaultSignal for callers that deliver SIGSEGV only:
// an access that deserves SIGBUS is reported as SEGV_MAPERR.
func (mm *MM) HandleFault(addr uintptr, code int32) (bool, int32) {
	ok, sig, sicode := mm.HandleFaultSignal(addr, code)
	if !ok && sig == unix.SIGBUS {
		return false, SEGV_MAPERR
	}
	return ok, sicode
}

// HandleFaultSignal is called when the application faulted at addr; code
// is the host's si_code: SEGV_MAPERR when the platform maps nothing
// there, SEGV_ACCERR when the mapping's protection refused the access. It
// returns true if the kernel fixed the fault, so the access should be
// retried: a vma the platform had not mapped yet (demand faulting), a
// file mapping touched for the first time (its pages are found), or a
// write to copy-on-write memory. Otherwise it returns false with the
// signal to deliver and its si_code: SIGSEGV, or SIGBUS (BUS_ADRERR) for
// a page of a file mapping past the end of the file, or one the file
// system had no room for, as Linux.
//
// The platform does not say whether the access was a read or a write. A
// copy-on-write vma is mapped without PROT_WRITE, so SEGV_ACCERR in one
// whose protection allows writing is taken to be a write: its chunk is
// copied (breakCOWLocked). If the access was something else the
// protection refuses (executing a non-PROT_EXEC page), the retry faults
// again, now in memory that is not copy-on-write, and gets its SIGSEGV.
func (mm *MM) HandleFaultSignal(addr uintptr, code int32) (bool, unix.Signal, int32) {
	mm.mu.Lock()
	ok, sig, sicode, plan := mm.handleFaultLocked(addr, code)
	mm.mu.Unlock()
	if plan != nil {
		// A file to read, which must not happen under MM.mu. Once the
		// copy is in, the fault is handled again, to map it.
		if err := mm.fillCopy(plan); err != nil {
			return false, unix.SIGBUS, BUS_ADRERR
		}
		mm.mu.Lock()
		ok, sig, sicode, plan = mm.handleFaultLocked(addr, code)
		mm.mu.Unlock()
		if plan != nil {
			// The mapping changed meanwhile: let the access fault again.
			plan.file.DecRef()
			return true, 0, 0
		}
	}
	return ok, sig, sicode
}

// handleFaultLocked is HandleFaultSignal under MM.mu; a file to read is
// returned for the caller to read once unlocked.
func (mm *MM) handleFaultLocked(addr uintptr, code int32) (bool, unix.Signal, int32, *copyPlan) {
	v := mm.vmaAtLocked(addr)
	if v == nil {
		return false, unix.SIGSEGV, SEGV_MAPERR, nil
	}
	if v.prot == unix.PROT_NONE {
		return false, unix.SIGSEGV, SEGV_ACCERR, nil
	}
	if v.pending {
		if err := mm.populateLocked(v, addr); err != nil {
			if p, ok := err.(*copyPlan); ok {
				return false, 0, 0, p
			}
			return false, unix.SIGBUS, BUS_ADRERR, nil
		}
		if v = mm.vmaAtLocked(addr); v.pending {
			return false, unix.SIGBUS, BUS_ADRERR, nil
		}
	}
	if !v.mapped {
		if v.cow && !mm.mf.Shared(v.off, uint64(v.length())) {
			// The other side of the fork has gone (exited or exec'd), or
			// the file these pages came from let them go: map it
			// writable at once.
			v.cow, v.filePages = false, false
		}
		if err := mm.as.MapFile(v.start, v.length(), v.off, v.hostProt()); err != nil {
			return false, unix.SIGSEGV, SEGV_MAPERR, nil
		}
		v.mapped = true
		mm.mergeAroundLocked(v)
		return true, 0, 0, nil
	}
	if code == SEGV_ACCERR && v.cow && v.prot&unix.PROT_WRITE != 0 {
		if err := mm.breakCOWLocked(v, addr); err != nil {
			return false, unix.SIGSEGV, SEGV_ACCERR, nil
		}
		return true, 0, 0, nil
	}
	// Mapped with its protection already: the access broke it.
	return false, unix.SIGSEGV, SEGV_ACCERR, nil
}
