package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/mm"
	"magawa/kernel/vfs"
)

// Brk implements brk(2).
func Brk(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	m := t.MM()
	cur := m.Brk(0)
	if want := a.Pointer(0); want > cur && !withinAddressSpaceLimit(t, want-cur) {
		return cur, nil
	}
	return m.Brk(a.Pointer(0)), nil
}

// withinAddressSpaceLimit reports whether growing the address space by
// more bytes stays within RLIMIT_AS. Linux: mm/mmap.c, may_expand_vm().
func withinAddressSpaceLimit(t *kernel.Task, more uintptr) bool {
	lim, err := t.Rlimit(unix.RLIMIT_AS)
	if err != nil || lim.Cur == kernel.RlimInfinity {
		return true
	}
	return uint64(t.MM().VirtualSize())+uint64(more) <= lim.Cur
}

// mmap flags this kernel understands. Linux: include/uapi/asm-generic/mman*.h.
const (
	mapTypeMask       = 0x0f
	mapSharedValidate = 0x03
	mapFixedNoreplace = 0x100000
	mapHugetlb        = 0x40000
	mapSync           = 0x80000
	knownMapFlags     = mapTypeMask | unix.MAP_FIXED | unix.MAP_ANONYMOUS | unix.MAP_GROWSDOWN |
		unix.MAP_DENYWRITE | unix.MAP_EXECUTABLE | unix.MAP_LOCKED | unix.MAP_NORESERVE |
		unix.MAP_POPULATE | unix.MAP_NONBLOCK | unix.MAP_STACK | mapHugetlb | mapSync | mapFixedNoreplace |
		0x4000000 // MAP_UNINITIALIZED
)

// Mmap implements mmap(2). Linux: mm/mmap.c, ksys_mmap_pgoff() and do_mmap().
func Mmap(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	addr, length, prot, flags, fd, off := a.Pointer(0), uintptr(a.Size(1)), int(a.Int(2)), int(a.Int(3)), a.Int(4), a.Int64(5)
	if off%mm.PageSize != 0 {
		return 0, unix.EINVAL
	}
	shared := false
	switch flags & mapTypeMask {
	case unix.MAP_PRIVATE:
	case unix.MAP_SHARED:
		shared = true
	case mapSharedValidate:
		if flags&^knownMapFlags != 0 {
			return 0, unix.EOPNOTSUPP
		}
		shared = true
	default:
		return 0, unix.EINVAL
	}
	if flags&mapHugetlb != 0 {
		// No huge pages are reserved in the sandbox, as on a host with
		// vm.nr_hugepages = 0.
		return 0, unix.ENOMEM
	}
	opts := mm.MmapOpts{
		Addr: addr, Length: length, Prot: prot, Shared: shared,
		Fixed:     flags&unix.MAP_FIXED != 0,
		NoReplace: flags&mapFixedNoreplace != 0 && flags&unix.MAP_FIXED == 0,
	}
	if !opts.Fixed && !withinAddressSpaceLimit(t, length) {
		return 0, unix.ENOMEM
	}
	if flags&unix.MAP_ANONYMOUS == 0 {
		f, err := getFile(t, fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if err := fileMapping(f, &opts, off); err != nil {
			return 0, err
		}
	}
	return t.MM().Mmap(opts)
}

// fileMapping makes opts a copy of the file's pages. The files served so
// far are read-only, so a private copy and a shared read-only mapping
// behave alike; writable shared mappings need a writable file.
func fileMapping(f *vfs.File, opts *mm.MmapOpts, off int64) error {
	if f.Flags()&unix.O_PATH != 0 {
		return unix.EBADF
	}
	if !f.Readable() {
		return unix.EACCES
	}
	if opts.Shared && opts.Prot&unix.PROT_WRITE != 0 && !f.Writable() {
		return unix.EACCES
	}
	if opts.Shared && opts.Prot&unix.PROT_WRITE != 0 {
		// Writable shared file mappings need the VFS's page cache.
		return unix.ENODEV
	}
	if _, isDir := f.Impl.(vfs.DirectoryImpl); isDir || !f.Impl.Seekable() {
		return unix.ENODEV
	}
	if pi, ok := f.Impl.(vfs.PathImpl); ok {
		opts.Name = pi.Path()
	}
	opts.Fill = func(dst []byte) error {
		for done := 0; done < len(dst); {
			n, err := f.Impl.ReadAt(dst[done:], off+int64(done))
			if n <= 0 || err != nil {
				// Beyond the end of the file the mapping reads zeros
				// (Linux would SIGBUS past the last page; rare).
				return nil
			}
			done += n
		}
		return nil
	}
	return nil
}

// Munmap implements munmap(2).
func Munmap(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.MM().Munmap(a.Pointer(0), uintptr(a.Size(1)))
}

// Mprotect implements mprotect(2).
func Mprotect(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.MM().Mprotect(a.Pointer(0), uintptr(a.Size(1)), int(a.Int(2)))
}

// Mremap implements mremap(2).
func Mremap(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if oldLen, newLen := uintptr(a.Size(1)), uintptr(a.Size(2)); newLen > oldLen && !withinAddressSpaceLimit(t, newLen-oldLen) {
		return 0, unix.ENOMEM
	}
	return t.MM().Mremap(a.Pointer(0), uintptr(a.Size(1)), uintptr(a.Size(2)), int(a.Int(3)), a.Pointer(4))
}

// Madvise implements madvise(2). Linux: mm/madvise.c.
func Madvise(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	addr, length, advice := a.Pointer(0), uintptr(a.Size(1)), int(a.Int(2))
	switch advice {
	case unix.MADV_DONTNEED, unix.MADV_FREE:
		// Both may drop the pages; reading zeros afterwards is a valid
		// outcome of MADV_FREE too.
		return 0, t.MM().MadviseDontNeed(addr, length)
	case unix.MADV_NORMAL, unix.MADV_RANDOM, unix.MADV_SEQUENTIAL, unix.MADV_WILLNEED,
		unix.MADV_DONTFORK, unix.MADV_DOFORK, unix.MADV_MERGEABLE, unix.MADV_UNMERGEABLE,
		unix.MADV_HUGEPAGE, unix.MADV_NOHUGEPAGE, unix.MADV_DONTDUMP, unix.MADV_DODUMP,
		unix.MADV_COLD, unix.MADV_PAGEOUT, unix.MADV_WIPEONFORK, unix.MADV_KEEPONFORK:
		// Advice the kernel may ignore; the range must be mapped.
		if addr%mm.PageSize != 0 {
			return 0, unix.EINVAL
		}
		if length == 0 {
			return 0, nil
		}
		if _, err := t.MM().Mincore(addr, length); err != nil {
			return 0, err
		}
		return 0, nil
	}
	return 0, unix.EINVAL
}

// Mincore implements mincore(2).
func Mincore(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	vec, err := t.MM().Mincore(a.Pointer(0), uintptr(a.Size(1)))
	if err != nil {
		return 0, err
	}
	if n, err := t.CopyOut(a.Pointer(2), vec); err != nil || n != len(vec) {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Msync implements msync(2): memory here has no backing file to write
// back, so it only validates. Linux: mm/msync.c.
func Msync(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	addr, length, flags := a.Pointer(0), uintptr(a.Size(1)), int(a.Int(2))
	if flags&^(unix.MS_ASYNC|unix.MS_INVALIDATE|unix.MS_SYNC) != 0 || addr%mm.PageSize != 0 ||
		(flags&unix.MS_ASYNC != 0 && flags&unix.MS_SYNC != 0) {
		return 0, unix.EINVAL
	}
	if length == 0 {
		return 0, nil
	}
	if _, err := t.MM().Mincore(addr, length); err != nil {
		return 0, unix.ENOMEM
	}
	return 0, nil
}
