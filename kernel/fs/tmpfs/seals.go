package tmpfs

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// File seals (fcntl F_ADD_SEALS and F_GET_SEALS): every regular file of
// tmpfs has a set, as Linux's shmem files do. A file made by open(2)
// starts with F_SEAL_SEAL, so it can never be sealed further; a
// memfd_create(2) file made with MFD_ALLOW_SEALING starts without it
// (InitSeals). Seals only ever grow. Linux: mm/memfd.c and mm/shmem.c.
//
// The seals are guarded by inode.mu, like the size they constrain: the
// checks run under the same lock as the write, truncate or fallocate they
// refuse.

// AllSeals are the seals Linux knows (F_ALL_SEALS).
const AllSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW |
	unix.F_SEAL_WRITE | unix.F_SEAL_FUTURE_WRITE | unix.F_SEAL_EXEC

// writeSeals forbid writing the file's data.
const writeSeals = unix.F_SEAL_WRITE | unix.F_SEAL_FUTURE_WRITE

// Seals returns the file's seals (F_GET_SEALS).
func (f *File) Seals() uint32 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.seals
}

// InitSeals sets the seals of a file nobody else has seen yet: what
// memfd_create gives its files.
func (f *File) InitSeals(seals uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seals = seals & AllSeals
}

// AddSeals implements F_ADD_SEALS; the caller has checked that the file
// was opened for writing and that seals holds only known bits. Adding
// F_SEAL_WRITE fails with EBUSY while an address space maps the file
// shared and writable: sharedWritable answers that from the spaces
// registered with the file (vfs.Mappable). It is called without the
// file's lock held, since the spaces take their own locks first when
// they call the file; a mapping made between its answer and the seal
// taking effect is not seen (Linux closes that window by denying new
// writable mappings first). F_SEAL_EXEC on a file with execute bits
// implies the write seals, so that it is W^X from then on.
// Linux: mm/memfd.c, memfd_add_seals().
func (f *File) AddSeals(seals uint32, sharedWritable func(spaces []vfs.MappingSpace) bool) error {
	f.mu.RLock()
	cur := f.seals
	spaces := f.spacesLocked()
	f.mu.RUnlock()
	if cur&unix.F_SEAL_SEAL != 0 {
		return unix.EPERM
	}
	if seals&unix.F_SEAL_WRITE != 0 && cur&unix.F_SEAL_WRITE == 0 && len(spaces) > 0 && sharedWritable(spaces) {
		return unix.EBUSY
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seals&unix.F_SEAL_SEAL != 0 {
		return unix.EPERM // sealed meanwhile
	}
	if seals&unix.F_SEAL_EXEC != 0 && f.mode&0o111 != 0 {
		seals |= unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | writeSeals
	}
	f.seals |= seals
	return nil
}

// WriteSealed reports whether the file's data may no longer be written:
// a new shared mapping of it may not be writable, now or later by
// mprotect (Linux: mm/memfd.c, memfd_check_seals_mmap()).
func (f *File) WriteSealed() bool { return f.Seals()&writeSeals != 0 }

// sealedWriteLocked returns how many of the n bytes a write at off may
// write under the seals, f.mu held: none (EPERM) with a write seal; with
// F_SEAL_GROW, the whole page-sized pieces that end within the size,
// since Linux checks each page's piece of a write on its own, so a write
// running past the end stops short at the last page boundary before it.
// Linux: mm/shmem.c, shmem_write_begin().
func (f *File) sealedWriteLocked(off int64, n int) (int, error) {
	if f.seals&(writeSeals|unix.F_SEAL_GROW) == 0 || n == 0 {
		return n, nil
	}
	if f.seals&writeSeals != 0 {
		return 0, unix.EPERM
	}
	end := off + int64(n)
	if end <= f.size {
		return n, nil
	}
	limit := f.size &^ (pageSize - 1)
	if limit <= off {
		return 0, unix.EPERM
	}
	return int(limit - off), nil
}

// sealedSetStatLocked refuses attribute changes the seals forbid, f.mu
// held: a smaller size with F_SEAL_SHRINK, a larger one with
// F_SEAL_GROW, a change of execute bits with F_SEAL_EXEC.
// Linux: mm/shmem.c, shmem_setattr().
func (f *File) sealedSetStatLocked(attr *vfs.SetAttr) error {
	if f.seals == 0 {
		return nil
	}
	if attr.Mask&unix.STATX_SIZE != 0 {
		if attr.Size < f.size && f.seals&unix.F_SEAL_SHRINK != 0 ||
			attr.Size > f.size && f.seals&unix.F_SEAL_GROW != 0 {
			return unix.EPERM
		}
	}
	if attr.Mask&unix.STATX_MODE != 0 && f.seals&unix.F_SEAL_EXEC != 0 && (f.mode^attr.Mode)&0o111 != 0 {
		return unix.EPERM
	}
	return nil
}

// sealedFallocateLocked refuses what the seals forbid of fallocate, f.mu
// held: punching a hole with a write seal, allocating past the end with
// F_SEAL_GROW (even with FALLOC_FL_KEEP_SIZE).
// Linux: mm/shmem.c, shmem_fallocate().
func (f *File) sealedFallocateLocked(punch bool, end int64) error {
	if punch {
		if f.seals&writeSeals != 0 {
			return unix.EPERM
		}
		return nil
	}
	if f.seals&unix.F_SEAL_GROW != 0 && end > f.size {
		return unix.EPERM
	}
	return nil
}

// MappingSpaces returns the address spaces registered as mapping the
// file's pages (vfs.Mappable), for the caller to ask about their
// mappings with none of the file's locks held.
func (f *File) MappingSpaces() []vfs.MappingSpace {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.spacesLocked()
}
