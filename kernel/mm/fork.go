package mm

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// cowChunk is the unit in which copy-on-write is broken: a write copies
// the 2 MiB-aligned chunk around it (clipped to its vma). Larger chunks
// mean fewer faults and platform operations for memory that is written
// throughout, smaller ones less copying for memory written in a few
// places; holes of the memory file are never copied (memfile.File.Copy),
// so a sparse chunk costs only its data.
const cowChunk = 2 << 20

// Fork returns a copy of the address space over as, a new and empty
// platform address space, for fork(2). Nothing is copied: the child's
// vmas reference the same memory-file ranges (and mapped files) as the
// parent's. Shared vmas, file mappings included, stay shared; pending
// file vmas stay pending on both sides; private ones become
// copy-on-write on both sides, and
// the parent's mapped, writable ones lose PROT_WRITE in the platform (one
// Protect per run of adjacent vmas). The child's platform address space
// is filled by faults, as a new one is.
//
// The child owns as from the call on: on failure it has been released.
// Linux: kernel/fork.c, dup_mm(); mm/memory.c, copy_page_range().
func (mm *MM) Fork(as platform.AddressSpace) (*MM, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.released {
		as.Release()
		return nil, unix.EINVAL
	}
	child := &MM{
		mf:       mm.mf,
		as:       as,
		vmas:     make([]*vma, len(mm.vmas)),
		brkStart: mm.brkStart,
		brk:      mm.brk,
		mmapBase: mm.mmapBase,
	}
	for i, v := range mm.vmas {
		c := *v
		c.mapped = false
		c.cow = !v.shared && !v.pending
		child.vmas[i] = &c
	}
	mm.mf.IncRefRanges(ranges(mm.vmas))
	// The child's file references and registrations, once its vmas are
	// complete: a file may call child.InvalidateMapping from now on.
	// (A truncate racing with the fork may miss the child, which then
	// keeps the old pages, valid but stale, until it unmaps them.)
	child.mu.Lock()
	for _, c := range child.vmas {
		child.holdLocked(c)
	}
	child.mu.Unlock()

	var b protectBatch
	for _, v := range mm.vmas {
		if v.shared || v.cow || v.pending {
			continue
		}
		v.cow = true
		if v.mapped && v.prot&unix.PROT_WRITE != 0 {
			if err := b.add(mm.as, v.start, v.end, v.hostProt()); err != nil {
				child.Release()
				return nil, err
			}
		}
	}
	if err := b.flush(mm.as); err != nil {
		child.Release()
		return nil, err
	}
	return child, nil
}

// protectBatch gathers Protect calls over adjacent ranges with the same
// protection into one platform operation.
type protectBatch struct {
	start, end uintptr
	prot       int
}

func (b *protectBatch) add(as platform.AddressSpace, start, end uintptr, prot int) error {
	if b.end != 0 && b.end == start && b.prot == prot {
		b.end = end
		return nil
	}
	err := b.flush(as)
	*b = protectBatch{start, end, prot}
	return err
}

func (b *protectBatch) flush(as platform.AddressSpace) error {
	if b.end == 0 {
		return nil
	}
	err := as.Protect(b.start, b.end-b.start, b.prot)
	*b = protectBatch{}
	return err
}

// breakCOWLocked gives the chunk of the copy-on-write vma v around addr
// memory of its own and maps it writable (when v is mapped): after it,
// addr lies in a vma that is not cow. If v's range has no other
// references left, the whole of v simply stops being cow; if the chunk's
// has none, the chunk does; otherwise the chunk is copied into a new
// range and the reference to the old one dropped.
func (mm *MM) breakCOWLocked(v *vma, addr uintptr) error {
	if !mm.mf.Shared(v.off, uint64(v.length())) {
		return mm.uncowLocked(v)
	}
	// A private mapping of a file's own pages copies only the page
	// written: the others must keep showing the file's later changes.
	chunk := uintptr(cowChunk)
	if v.filePages {
		chunk = PageSize
	}
	base := addr &^ (chunk - 1)
	start, end := max(v.start, base), min(v.end, base+chunk)
	p := mm.piecesLocked(start, end)[0]
	n := uint64(end - start)
	if !mm.mf.Shared(p.off, n) {
		return mm.uncowLocked(p)
	}
	newOff, err := mm.mf.Allocate(n)
	if err != nil {
		return unix.ENOMEM
	}
	mm.mf.Copy(newOff, p.off, n)
	old := p.off
	p.off, p.cow, p.filePages = newOff, false, false
	// Map the copy before dropping the reference to the old range: while
	// it is held, the other side cannot start writing the old range in
	// place, so this side's application never sees the other's writes.
	if p.mapped {
		if err = mm.as.MapFile(p.start, p.length(), p.off, p.prot); err != nil {
			p.mapped = false
		}
	}
	mm.mf.DecRef(old, n)
	mm.mergeAroundLocked(p)
	return err
}

// uncowLocked makes v, whose range has no other references, an ordinary
// vma again.
func (mm *MM) uncowLocked(v *vma) error {
	// Pages that came from a file and that the file no longer holds
	// are this side's alone now.
	v.cow, v.filePages = false, false
	var err error
	if v.mapped && v.prot&unix.PROT_WRITE != 0 {
		err = mm.as.Protect(v.start, v.length(), v.prot)
	}
	mm.mergeAroundLocked(v)
	return err
}

// dropCOWLocked implements MADV_DONTNEED for [start, end), which lies in
// one copy-on-write vma: where the range is still shared, this side drops
// its reference and gets fresh zeroed memory of its own, and the other
// side keeps the contents; where it is not, it is decommitted in place.
func (mm *MM) dropCOWLocked(start, end uintptr) error {
	v := mm.vmaAtLocked(start)
	n := uint64(end - start)
	if old := v.off + uint64(start-v.start); !mm.mf.Shared(old, n) {
		mm.mf.Decommit(old, n)
		return nil
	}
	newOff, err := mm.mf.Allocate(n)
	if err != nil {
		return unix.ENOMEM
	}
	p := mm.piecesLocked(start, end)[0]
	old := p.off
	p.off, p.cow = newOff, false
	if p.mapped {
		if err = mm.as.MapFile(p.start, p.length(), p.off, p.prot); err != nil {
			p.mapped = false
		}
	}
	mm.mf.DecRef(old, n)
	return err
}
