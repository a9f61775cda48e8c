package mm

import (
	"slices"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// MmapOpts describes a new mapping.
type MmapOpts struct {
	Addr, Length uintptr
	Prot         int
	// Fixed: place exactly at Addr, replacing what is there. NoReplace:
	// exactly at Addr, failing with EEXIST if anything is there.
	Fixed, NoReplace bool
	Shared           bool
	Name             string

	// File, when set, is the file to map from Offset (page aligned) on;
	// the mapping takes a reference of its own. A MAP_SHARED mapping of
	// a vfs.Mappable file (tmpfs) maps the file's pages; a MAP_PRIVATE
	// one maps them copy-on-write; other files are copied, page chunk by
	// page chunk as they are touched. The caller has checked the file's
	// access mode (do_mmap's EACCES) and that MAP_SHARED with PROT_WRITE
	// is only asked of Mappable files.
	File   *vfs.File
	Offset uint64
	// MaxProt bounds what mprotect may grant later (EACCES beyond it),
	// for file mappings; anonymous memory may get any protection.
	MaxProt int
}

const validProt = unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC

// Mmap creates a mapping and returns its address.
// Linux: mm/mmap.c, do_mmap().
func (mm *MM) Mmap(o MmapOpts) (uintptr, error) {
	if o.Length == 0 || o.Prot&^validProt != 0 || o.File != nil && o.Offset%PageSize != 0 {
		return 0, unix.EINVAL
	}
	length := pageUp(o.Length)
	if length == 0 || length > uintptr(maxMapping) {
		return 0, unix.ENOMEM
	}
	if o.File != nil {
		if o.Offset+uint64(length) < o.Offset || o.Offset+uint64(length) > 1<<63-1 {
			return 0, unix.EOVERFLOW // Linux: mm/mmap.c, file_mmap_ok()
		}
		if o.Prot&^o.MaxProt != 0 {
			return 0, unix.EACCES
		}
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var addr uintptr
	switch {
	case o.Fixed || o.NoReplace:
		if o.Addr%PageSize != 0 {
			return 0, unix.EINVAL
		}
		if !rangeOK(o.Addr, length) {
			return 0, unix.ENOMEM
		}
		addr = o.Addr
		if mm.overlapsLocked(addr, addr+length) {
			if o.NoReplace {
				return 0, unix.EEXIST
			}
			if err := mm.unmapLocked(addr, addr+length); err != nil {
				return 0, err
			}
		}
	default:
		var err error
		if addr, err = mm.findGapLocked(length, o.Addr); err != nil {
			return 0, err
		}
	}
	if o.File != nil {
		var mappable vfs.Mappable
		if mi, ok := o.File.Impl.(vfs.MappableImpl); ok {
			mappable = mi.Mappable()
			if _, cached := mappable.(vfs.CachedMappable); cached && !o.Shared {
				mappable = nil // a private mapping of a cache is a copy
			}
		}
		mm.newFileVMALocked(addr, addr+length, o.Prot, o.MaxProt, o.Shared, o.Name, o.File, o.Offset, mappable)
		return addr, nil
	}
	if _, err := mm.newVMALocked(addr, addr+length, o.Prot, o.Shared, o.Name); err != nil {
		return 0, err
	}
	return addr, nil
}

// maxMapping bounds a single mapping: the size of the application range.
const maxMapping = 1 << 47

// Munmap removes [addr, addr+length).
func (mm *MM) Munmap(addr, length uintptr) error {
	if addr%PageSize != 0 || length == 0 {
		return unix.EINVAL
	}
	length = pageUp(length)
	if !rangeOK(addr, length) {
		return unix.EINVAL
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return mm.unmapLocked(addr, addr+length)
}

// Mprotect changes the protection of [addr, addr+length).
// Linux: mm/mprotect.c.
func (mm *MM) Mprotect(addr, length uintptr, prot int) error {
	if addr%PageSize != 0 {
		return unix.EINVAL
	}
	// PROT_GROWSDOWN/UP apply to stacks; the stack here does not grow, so
	// they change nothing.
	prot &^= unix.PROT_GROWSDOWN | unix.PROT_GROWSUP
	if prot&^validProt != 0 {
		return unix.EINVAL
	}
	if length == 0 {
		return nil
	}
	length = pageUp(length)
	if !rangeOK(addr, length) {
		return unix.ENOMEM
	}
	end := addr + length
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if !mm.coveredLocked(addr, end) {
		return unix.ENOMEM
	}
	// A shared mapping of a file not open for writing never becomes
	// writable (nor one on a noexec mount executable). Linux checks vma
	// by vma and leaves the ones before the refusal changed; this checks
	// all of them first.
	for i := mm.findLocked(addr); i < len(mm.vmas) && mm.vmas[i].start < end; i++ {
		if prot&^mm.vmas[i].maxProt != 0 {
			return unix.EACCES
		}
	}
	// Copy-on-write pieces stay without PROT_WRITE in the platform.
	var b protectBatch
	for _, v := range mm.piecesLocked(addr, end) {
		if v.prot == prot {
			continue
		}
		old := v.hostProt()
		v.prot = prot
		if v.mapped && v.hostProt() != old {
			if err := b.add(mm.as, v.start, v.end, v.hostProt()); err != nil {
				return err
			}
		}
	}
	return b.flush(mm.as)
}

// Brk moves the program break and returns the new one (the old one if the
// move is not possible, as Linux does).
// Linux: mm/mmap.c, brk().
func (mm *MM) Brk(addr uintptr) uintptr {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if addr < mm.brkStart || addr-mm.brkStart > maxHeap {
		return mm.brk
	}
	oldEnd, newEnd := pageUp(mm.brk), pageUp(addr)
	switch {
	case newEnd > oldEnd:
		if mm.overlapsLocked(oldEnd, newEnd) || !rangeOK(oldEnd, newEnd-oldEnd) {
			return mm.brk
		}
		if _, err := mm.newVMALocked(oldEnd, newEnd, unix.PROT_READ|unix.PROT_WRITE, false, "[heap]"); err != nil {
			return mm.brk
		}
	case newEnd < oldEnd:
		if err := mm.unmapLocked(newEnd, oldEnd); err != nil {
			return mm.brk
		}
	}
	mm.brk = addr
	return addr
}

// maxHeap bounds the heap (RLIMIT_DATA's role).
const maxHeap = 1 << 40

// Mremap grows, shrinks or moves a mapping.
// Linux: mm/mremap.c.
func (mm *MM) Mremap(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error) {
	if flags&^(unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED) != 0 {
		return 0, unix.EINVAL
	}
	mayMove := flags&unix.MREMAP_MAYMOVE != 0
	fixed := flags&unix.MREMAP_FIXED != 0
	if old%PageSize != 0 || (fixed && !mayMove) || newLen == 0 {
		return 0, unix.EINVAL
	}
	oldLen, newLen = pageUp(oldLen), pageUp(newLen)
	if oldLen == 0 {
		// Duplicating a shared mapping is not supported.
		return 0, unix.EINVAL
	}
	if !rangeOK(old, oldLen) || newLen > maxMapping {
		return 0, unix.EFAULT
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	// Linux requires the old range to lie in one vma, and merges
	// adjacent compatible anonymous vmas; here adjacent vmas stay apart
	// when their memory-file ranges are not contiguous, so a run of
	// compatible vmas counts as one.
	v := mm.vmaAtLocked(old)
	if v == nil || !mm.compatibleRunLocked(old, old+oldLen) {
		return 0, unix.EFAULT
	}
	v = mm.vmaAtLocked(old + oldLen - 1)
	if fixed {
		if newAddr%PageSize != 0 || !rangeOK(newAddr, newLen) {
			return 0, unix.EINVAL
		}
		if newAddr < old+oldLen && old < newAddr+newLen {
			return 0, unix.EINVAL
		}
		if err := mm.unmapLocked(newAddr, newAddr+newLen); err != nil {
			return 0, err
		}
		return mm.moveLocked(old, oldLen, newAddr, newLen)
	}
	if newLen <= oldLen {
		if err := mm.unmapLocked(old+newLen, old+oldLen); err != nil {
			return 0, err
		}
		return old, nil
	}
	// Grow in place when the range ends its vma and the space after it
	// is free.
	end := old + oldLen
	if end == v.end && rangeOK(end, newLen-oldLen) && !mm.overlapsLocked(end, old+newLen) {
		if err := mm.extendLocked(v, end, old+newLen); err != nil {
			return 0, err
		}
		return old, nil
	}
	if !mayMove {
		return 0, unix.ENOMEM
	}
	dst, err := mm.findGapLocked(newLen, 0)
	if err != nil {
		return 0, err
	}
	return mm.moveLocked(old, oldLen, dst, newLen)
}

// compatibleRunLocked reports whether [start, end) is covered, without
// holes, by vmas that Linux would have merged into one.
func (mm *MM) compatibleRunLocked(start, end uintptr) bool {
	first := mm.vmaAtLocked(start)
	if first == nil {
		return false
	}
	at := start
	for i := mm.findLocked(start); i < len(mm.vmas) && at < end; i++ {
		v := mm.vmas[i]
		if v.start > at || v.prot != first.prot || v.shared != first.shared || v.name != first.name ||
			v.file != first.file || v.file != nil && v.fileOff != first.fileOff+uint64(v.start-first.start) {
			return false
		}
		at = v.end
	}
	return at >= end
}

// moveLocked moves [old, old+oldLen) to dst, which is free, and resizes
// it to newLen. The memory moves without being copied: each vma keeps its
// range of the memory file.
func (mm *MM) moveLocked(old, oldLen, dst, newLen uintptr) (uintptr, error) {
	keep := min(oldLen, newLen)
	if keep < oldLen {
		if err := mm.unmapLocked(old+keep, old+oldLen); err != nil {
			return 0, err
		}
	}
	pieces := slices.Clone(mm.piecesLocked(old, old+keep))
	if len(pieces) == 0 {
		return 0, unix.EFAULT
	}
	i := mm.findLocked(old)
	mm.vmas = append(mm.vmas[:i], mm.vmas[i+len(pieces):]...)
	for _, v := range pieces {
		if v.mapped {
			if err := mm.as.Unmap(v.start, v.length()); err != nil {
				return 0, err
			}
		}
		moved := *v
		moved.start, moved.end, moved.mapped = dst+(v.start-old), dst+(v.end-old), false
		mm.insertLocked(&moved)
	}
	if newLen > keep {
		last := mm.vmaAtLocked(dst + keep - 1)
		if err := mm.extendLocked(last, dst+keep, dst+newLen); err != nil {
			return 0, err
		}
	}
	return dst, nil
}

// extendLocked fills [start, end), free and just after the vma last,
// with memory like last's: new anonymous memory, or the continuation of
// last's file mapping (pending; past the end of the file it is SIGBUS,
// as Linux's mremap of a file mapping).
func (mm *MM) extendLocked(last *vma, start, end uintptr) error {
	if last.file == nil {
		_, err := mm.newVMALocked(start, end, last.prot, last.shared, last.name)
		return err
	}
	fileOff := last.fileOff + uint64(start-last.start)
	mm.newFileVMALocked(start, end, last.prot, last.maxProt, last.shared, last.name, last.file, fileOff, last.mappable)
	return nil
}

// MadviseDontNeed drops the contents of [addr, addr+length): private
// anonymous memory reads as zeros afterwards; shared memory keeps its
// contents (for Linux, the pages stay in the shmem file); private file
// memory reads the file again. Copy-on-write memory gets fresh pages,
// leaving the other side's alone.
// Linux: mm/madvise.c, madvise_dontneed_single_vma().
func (mm *MM) MadviseDontNeed(addr, length uintptr) error {
	if addr%PageSize != 0 {
		return unix.EINVAL
	}
	length = pageUp(length)
	if length == 0 {
		return nil
	}
	if !rangeOK(addr, length) {
		return unix.EINVAL
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	end := addr + length
	for i := mm.findLocked(addr); i < len(mm.vmas) && mm.vmas[i].start < end; i++ {
		v := mm.vmas[i]
		s, e := max(v.start, addr), min(v.end, end)
		switch {
		case v.shared:
		case v.file != nil:
			// Private file memory is read from the file again on the
			// next access, as Linux's is.
			if err := mm.unpopulateLocked(s, e, false); err != nil {
				return err
			}
			i = mm.findLocked(s)
		case v.cow:
			if err := mm.dropCOWLocked(s, e); err != nil {
				return err
			}
			i = mm.findLocked(s) // dropCOWLocked may have split v
		default:
			mm.mf.Decommit(v.off+uint64(s-v.start), uint64(e-s))
		}
	}
	if !mm.coveredLocked(addr, end) {
		return unix.ENOMEM
	}
	return nil
}

// Mincore fills vec with one byte per page of [addr, addr+length): 1 when
// the page holds memory.
func (mm *MM) Mincore(addr, length uintptr) ([]byte, error) {
	if addr%PageSize != 0 {
		return nil, unix.EINVAL
	}
	length = pageUp(length)
	if length == 0 || !rangeOK(addr, length) {
		return nil, unix.ENOMEM
	}
	if length/PageSize > 1<<24 {
		return nil, unix.ENOMEM
	}
	mm.mu.RLock()
	defer mm.mu.RUnlock()
	end := addr + length
	if !mm.coveredLocked(addr, end) {
		return nil, unix.ENOMEM
	}
	vec := make([]byte, 0, length/PageSize)
	for i := mm.findLocked(addr); i < len(mm.vmas) && mm.vmas[i].start < end; i++ {
		v := mm.vmas[i]
		s, e := max(v.start, addr), min(v.end, end)
		part := make([]byte, (e-s)/PageSize)
		if v.pending {
			vec = append(vec, part...) // no memory yet
			continue
		}
		if err := hostMincore(mm.mf.Slice(v.off+uint64(s-v.start), uint64(e-s)), part); err != nil {
			return nil, unix.ENOMEM
		}
		for j := range part {
			part[j] &= 1
		}
		vec = append(vec, part...)
	}
	return vec, nil
}
