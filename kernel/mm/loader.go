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
