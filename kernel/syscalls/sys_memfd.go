package syscalls

import (
	"runtime"
	"sync"
	"weak"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/kernel"
	"magawa/kernel/mm"
	"magawa/kernel/vfs"
)

// This file is memfd_create(2) and file seals (fcntl F_ADD_SEALS,
// F_GET_SEALS). A memfd is a regular file of a tmpfs instance private to
// the kernel, made without a name, so everything a tmpfs file does works
// on it: MAP_SHARED mappings of its pages, ftruncate, fallocate, seals;
// /proc/[pid]/fd shows it as "/memfd:NAME (deleted)". Linux: mm/memfd.c.

// memfdNameMax is the longest name memfd_create takes: NAME_MAX less the
// "memfd:" prefix. Linux: mm/memfd.c, MFD_NAME_MAX_LEN.
const memfdNameMax = 255 - len("memfd:")

// memfdFlags are the flags memfd_create knows. MFD_HUGETLB (with its
// size bits) is refused: the memory file has no huge pages to give.
const memfdFlags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING | unix.MFD_NOEXEC_SEAL | unix.MFD_EXEC

// memfdMounts holds each kernel's private tmpfs for memfds, made on the
// first memfd_create: the root of a mount of its own, in no namespace the
// sandbox can see. Kernels are held weakly, so that a kernel that ends
// takes its memfd file system with it.
var (
	memfdMu     sync.Mutex
	memfdMounts = map[weak.Pointer[kernel.Kernel]]vfs.Path{}
)

func memfdRoot(k *kernel.Kernel) vfs.Path {
	key := weak.Make(k)
	memfdMu.Lock()
	defer memfdMu.Unlock()
	if p, ok := memfdMounts[key]; ok {
		return p
	}
	// Linux's internal shm mount has no size or inode limits: memfds
	// are bounded by memory alone.
	fs := tmpfs.New(k.MemoryFile, tmpfs.Options{Mode: 0o1777})
	p := k.VFS.NewMountNamespace(fs, "memfd", 0).Root()
	memfdMounts[key] = p
	runtime.AddCleanup(k, func(key weak.Pointer[kernel.Kernel]) {
		memfdMu.Lock()
		delete(memfdMounts, key)
		memfdMu.Unlock()
	}, key)
	return p
}

// MemfdCreate implements memfd_create(2).
func MemfdCreate(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	flags := a.Uint(1)
	if flags&unix.MFD_HUGETLB != 0 {
		return 0, unix.EINVAL
	}
	if flags&^memfdFlags != 0 || flags&unix.MFD_EXEC != 0 && flags&unix.MFD_NOEXEC_SEAL != 0 {
		return 0, unix.EINVAL
	}
	name, err := t.CopyInString(a.Pointer(0), memfdNameMax+1)
	switch err {
	case nil:
	case unix.ENAMETOOLONG:
		return 0, unix.EINVAL
	default:
		return 0, unix.EFAULT
	}
	f, err := memfdCreate(t.Kernel(), t.FileContext(), name, flags)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, flags&unix.MFD_CLOEXEC != 0, t.MaxFDs())
	return uintptr(fd), err
}

// memfdCreate makes a memfd called name. Without MFD_EXEC or
// MFD_NOEXEC_SEAL the file is executable, as with Linux's default
// vm.memfd_noexec of 0. MFD_NOEXEC_SEAL drops the execute bits and seals
// them (which also allows sealing); MFD_ALLOW_SEALING allows sealing.
// Linux: mm/memfd.c, memfd_create() and memfd_alloc_file().
func memfdCreate(k *kernel.Kernel, ctx *vfs.Context, name string, flags uint32) (*vfs.File, error) {
	root := memfdRoot(k)
	dir, ok := root.Dentry.Inode().(vfs.TmpfileInode)
	if !ok {
		return nil, unix.ENOSYS
	}
	mode := uint32(unix.S_IFREG | 0o777)
	if flags&unix.MFD_NOEXEC_SEAL != 0 {
		mode &^= 0o111
	}
	// The file belongs to the caller's file-system IDs; the umask does
	// not apply (Linux: mm/shmem.c, shmem_file_setup()).
	inode, err := dir.Tmpfile(ctx, vfs.NewAttrs{Mode: mode, UID: ctx.Creds.UID, GID: ctx.Creds.GID})
	if err != nil {
		return nil, err
	}
	tf, ok := inode.(*tmpfs.File)
	if !ok {
		return nil, unix.ENOSYS
	}
	switch {
	case flags&unix.MFD_NOEXEC_SEAL != 0:
		tf.InitSeals(unix.F_SEAL_EXEC)
	case flags&unix.MFD_ALLOW_SEALING != 0:
		tf.InitSeals(0)
	}
	return k.VFS.OpenUnlinked(ctx, root, "memfd:"+name, inode, unix.O_RDWR)
}

// sealable is what seals need of an open file: its tmpfs inode.
type sealable interface {
	Inode() *tmpfs.File
}

// sealableFile returns the tmpfs file behind f, if f is one (a memfd, or
// any regular file of a tmpfs mount); only those have seals. A file of
// an overlay whose upper layer is a tmpfs is the overlay's, as on Linux,
// even when the overlay hands out the tmpfs file's implementation.
func sealableFile(f *vfs.File) (*tmpfs.File, bool) {
	s, ok := f.Impl.(sealable)
	if !ok {
		return nil, false
	}
	if m := f.Path().Mount; m == nil {
		return nil, false
	} else if _, isTmpfs := m.FileSystem().(*tmpfs.FS); !isTmpfs {
		return nil, false
	}
	return s.Inode(), true
}

// fcntlSeals implements fcntl's F_ADD_SEALS and F_GET_SEALS. Adding
// needs a description open for writing (EPERM, checked first, as Linux
// does) and a file with seals (EINVAL otherwise).
// Linux: mm/memfd.c, memfd_fcntl().
func fcntlSeals(f *vfs.File, cmd int32, arg uint32) (uintptr, error) {
	if vfs.IsPathOnly(f) {
		return 0, unix.EBADF
	}
	tf, ok := sealableFile(f)
	if cmd == unix.F_GET_SEALS {
		if !ok {
			return 0, unix.EINVAL
		}
		return uintptr(tf.Seals()), nil
	}
	if !f.Writable() {
		return 0, unix.EPERM
	}
	if arg&^tmpfs.AllSeals != 0 || !ok {
		return 0, unix.EINVAL
	}
	return 0, tf.AddSeals(arg, func(spaces []vfs.MappingSpace) bool { return sharedWritable(tf, spaces) })
}

// sharedWritable reports whether one of spaces maps tf shared with a
// mapping that may write (Linux's VM_SHARED|VM_MAYWRITE vmas, which
// F_SEAL_WRITE waits for): a read-only shared mapping of a description
// open for writing counts, since mprotect could make it writable.
func sharedWritable(tf *tmpfs.File, spaces []vfs.MappingSpace) bool {
	for _, s := range spaces {
		m, ok := s.(*mm.MM)
		if !ok {
			return true // an unknown space: assume the worst
		}
		for _, mi := range m.Mappings() {
			if !mi.Shared || mi.File == nil || mi.MaxProt&unix.PROT_WRITE == 0 {
				continue
			}
			if other, ok := sealableFile(mi.File); ok && other == tf {
				return true
			}
		}
	}
	return false
}

// sealedMapping applies write seals to a new mapping of f: a shared
// mapping may not write (EPERM), nor become writable later (maxProt
// loses PROT_WRITE). Private mappings are copies and ignore seals.
// Linux: mm/memfd.c, memfd_check_seals_mmap().
func sealedMapping(f *vfs.File, shared bool, prot int, maxProt *int) error {
	if !shared {
		return nil
	}
	tf, ok := sealableFile(f)
	if !ok || !tf.WriteSealed() {
		return nil
	}
	if prot&unix.PROT_WRITE != 0 {
		return unix.EPERM
	}
	*maxProt &^= unix.PROT_WRITE
	return nil
}
