package mm

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// ShmAttachment is the Mappable of one shmat(2) of a System V shared
// memory segment (package kernel/ipc/sysv). The system-call layer maps it
// shared with Mmap, as any Mappable file; Shmdt finds it again.
type ShmAttachment interface {
	vfs.Mappable
	// ShmSize is the segment's size in bytes. It is called with MM.mu
	// held.
	ShmSize() uint64
}

// Shmdt unmaps the attachment of a System V shared memory segment at
// addr: the first vma at or above addr that maps an attachment from the
// offset addr would have (its distance from addr), then every later vma
// of the same attachment so placed, up to the segment's size from addr.
// Fragments left by mprotect or munmap go with it; a segment mapped
// elsewhere by mremap does not. It returns the attachment, or EINVAL if
// there is none. Linux: ipc/shm.c, ksys_shmdt().
func (mm *MM) Shmdt(addr uintptr) (ShmAttachment, error) {
	if addr%PageSize != 0 {
		return nil, unix.EINVAL
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	placed := func(v *vma) bool { return v.start >= addr && uint64(v.start-addr) == v.fileOff }
	var att ShmAttachment
	i := mm.findLocked(addr)
	for ; i < len(mm.vmas); i++ {
		if a, ok := mm.vmas[i].mappable.(ShmAttachment); ok && placed(mm.vmas[i]) {
			att = a
			break
		}
	}
	if att == nil {
		return nil, unix.EINVAL
	}
	size := uint64(pageUp(uintptr(att.ShmSize())))
	type span struct{ start, end uintptr }
	spans := []span{{mm.vmas[i].start, mm.vmas[i].end}}
	for i++; i < len(mm.vmas) && uint64(mm.vmas[i].end-addr) <= size; i++ {
		if v := mm.vmas[i]; v.mappable == vfs.Mappable(att) && placed(v) {
			spans = append(spans, span{v.start, v.end})
		}
	}
	for _, s := range spans {
		if err := mm.unmapLocked(s.start, s.end); err != nil {
			return att, err
		}
	}
	return att, nil
}
