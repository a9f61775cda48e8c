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

// Mmap implements mmap(2). Linux: arch/x86/kernel/sys_x86_64.c, mmap;
// mm/mmap.c, ksys_mmap_pgoff() and do_mmap().
func Mmap(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	addr, length, prot, flags, fd, off := a.Pointer(0), uintptr(a.Size(1)), int(a.Int(2)), int(a.Int(3)), a.Int(4), a.Int64(5)
	if off%mm.PageSize != 0 {
		return 0, unix.EINVAL
	}
	var f *vfs.File
	if flags&unix.MAP_ANONYMOUS == 0 {
		var err error
		if f, err = getFile(t, fd); err != nil {
			return 0, unix.EBADF
		}
		defer f.DecRef()
		if f.Flags()&unix.O_PATH != 0 {
			return 0, unix.EBADF
		}
		if flags&mapHugetlb != 0 {
			return 0, unix.EINVAL // not a hugetlbfs file
		}
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
	if length == 0 {
		return 0, unix.EINVAL
	}
	opts := mm.MmapOpts{
		Addr: addr, Length: length, Prot: prot, Shared: shared,
		Fixed:     flags&unix.MAP_FIXED != 0,
		NoReplace: flags&mapFixedNoreplace != 0 && flags&unix.MAP_FIXED == 0,
	}
	if !opts.Fixed && !withinAddressSpaceLimit(t, length) {
		return 0, unix.ENOMEM
	}
	if f != nil {
		if err := fileMapping(f, &opts, off); err != nil {
			return 0, err
		}
	}
	return t.MM().Mmap(opts)
}

// fileMapping makes opts a mapping of f from off, checking what Linux's
// do_mmap checks: a shared writable mapping needs a file open for
// writing, any mapping a file open for reading (EACCES); executable
// mappings need a mount without noexec (EPERM); only regular files map
// (ENODEV), and /dev/zero, which maps anonymous memory.
//
// A MAP_SHARED mapping of a vfs.MappableImpl maps the file's pages: a
// tmpfs file's own, or the page cache of a host file served by the gofer
// (kernel/fs/gofer/pagecache.go). Other files have no pages in the
// memory file: a MAP_SHARED mapping of one is a copy, which is the same
// thing as long as nobody writes, so it may never get PROT_WRITE (ENODEV
// at mmap, EACCES at mprotect). A file that is not regular maps only if
// it is a vfs.SpecialMappableImpl that accepts the mapping.
func fileMapping(f *vfs.File, opts *mm.MmapOpts, off int64) error {
	if off < 0 {
		return unix.EOVERFLOW // Linux: mm/mmap.c, file_mmap_ok()
	}
	var st unix.Stat_t
	if err := f.Impl.Stat(&st); err != nil {
		return err
	}
	maxProt := unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC
	if opts.Shared {
		if !f.Writable() {
			if opts.Prot&unix.PROT_WRITE != 0 {
				return unix.EACCES
			}
			maxProt &^= unix.PROT_WRITE
		}
	}
	if !f.Readable() {
		return unix.EACCES
	}
	if p := f.Path(); p.Mount != nil && p.Mount.Flags()&vfs.MountNoExec != 0 {
		if opts.Prot&unix.PROT_EXEC != 0 {
			return unix.EPERM
		}
		maxProt &^= unix.PROT_EXEC
	}
	typ := st.Mode & unix.S_IFMT
	if typ == unix.S_IFCHR && st.Rdev == unix.Mkdev(1, 5) {
		return nil // /dev/zero: anonymous memory. Linux: drivers/char/mem.c, mmap_zero().
	}
	if sm, ok := f.Impl.(vfs.SpecialMappableImpl); ok && typ != unix.S_IFREG {
		// A packet socket's ring: the file says what maps.
		if err := sm.CheckMmap(uint64(off), (uint64(opts.Length)+mm.PageSize-1)&^(mm.PageSize-1)); err != nil {
			return err
		}
		opts.File, opts.Offset, opts.MaxProt = f, uint64(off), maxProt
		if pn, ok := f.Impl.(interface{ ProcName() string }); ok {
			opts.Name = pn.ProcName()
		}
		return nil
	}
	if typ != unix.S_IFREG || !f.Impl.Seekable() {
		return unix.ENODEV
	}
	if _, ok := f.Impl.(vfs.MappableImpl); !ok && opts.Shared {
		if opts.Prot&unix.PROT_WRITE != 0 {
			return unix.ENODEV
		}
		maxProt &^= unix.PROT_WRITE
	}
	if err := sealedMapping(f, opts.Shared, opts.Prot, &maxProt); err != nil {
		return err
	}
	opts.File, opts.Offset, opts.MaxProt = f, uint64(off), maxProt
	if pi, ok := f.Impl.(vfs.PathImpl); ok {
		opts.Name = pi.Path()
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

// Msync implements msync(2). Linux: mm/msync.c.
func Msync(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.MM().Msync(a.Pointer(0), uintptr(a.Size(1)), int(a.Int(2)))
}
