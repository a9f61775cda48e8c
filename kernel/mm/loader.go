package mm

import "golang.org/x/sys/unix"

// MapFixed implements loader.Memory.
func (mm *MM) MapFixed(addr, length uintptr, prot int, name string) error {
	if addr%PageSize != 0 || length%PageSize != 0 || !rangeOK(addr, length) {
		return unix.EINVAL
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.overlapsLocked(addr, addr+length) {
		return unix.EEXIST
	}
	_, err := mm.newVMALocked(addr, addr+length, prot, false, name)
	return err
}

// MapKernelMemory maps [off, off+length) of the memory file, memory the
// kernel keeps and writes (the vDSO's vvar page), at exactly
// [addr, addr+length) with protection prot, which mprotect cannot
// widen, named name. The mapping takes a reference of its own to the
// range; the caller holds one as long as it writes there. It is private
// and copy-on-write, as memory shared with a forked child is: the
// application sees the kernel's writes and never writes the kernel's
// pages (a forced write, ptrace's, gets it a copy); fork shares it.
func (mm *MM) MapKernelMemory(addr, length uintptr, prot int, off uint64, name string) error {
	if addr%PageSize != 0 || length%PageSize != 0 || off%PageSize != 0 || !rangeOK(addr, length) || prot&^validProt != 0 {
		return unix.EINVAL
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.overlapsLocked(addr, addr+length) {
		return unix.EEXIST
	}
	mm.mf.IncRef(off, uint64(length))
	mm.insertLocked(&vma{start: addr, end: addr + length, prot: prot, maxProt: prot, off: off, name: name, cow: true})
	return nil
}

// FindFree implements loader.Memory.
func (mm *MM) FindFree(length uintptr) (uintptr, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return mm.findGapLocked(pageUp(length), 0)
}

// SetBrkStart implements loader.Memory.
func (mm *MM) SetBrkStart(addr uintptr) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.brkStart = pageUp(addr)
	mm.brk = mm.brkStart
}
