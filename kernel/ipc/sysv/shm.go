package sysv

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// Flags of shmget and shmat, and the commands of shmctl. Linux:
// include/uapi/linux/shm.h.
const (
	SHM_HUGETLB   = 0o4000
	SHM_NORESERVE = 0o10000

	SHM_RDONLY = 0o10000
	SHM_RND    = 0o20000
	SHM_REMAP  = 0o40000
	SHM_EXEC   = 0o100000

	SHM_LOCK     = 11
	SHM_UNLOCK   = 12
	SHM_STAT     = 13
	SHM_INFO     = 14
	SHM_STAT_ANY = 15
)

// SHMLBA is the attach address granularity: a page on x86-64.
const SHMLBA = memfile.PageSize

const pageSize = memfile.PageSize

// shmChunk is the unit in which a segment's memory is allocated: what
// one fault of an attachment asks for (mm's chunk), so that a large
// segment costs only the parts that are touched.
const shmChunk = 2 << 20

type shmState struct {
	mu  sync.Mutex
	reg registry[*shmSegment]
	// pages is the size of all segments, in pages (Linux's shm_tot).
	pages uint64
}

// shmSegment is a shared memory segment. Guarded by shmState.mu.
type shmSegment struct {
	object
	ns   *Namespace
	size uint64
	// name is what /proc/[pid]/maps calls its attachments.
	name string
	// chunks maps a chunk index to the memory-file range holding it,
	// allocated on first use, with a reference the segment holds.
	chunks map[uint64]uint64
	// nattch counts the address spaces mapping each attachment (see
	// the package doc); attaching counts shmat calls under way, which
	// keep a removed segment alive until they have mapped it.
	nattch, attaching   int
	atime, dtime, ctime int64
	cpid, lpid          int32
	// creator is the thread that made the segment (Caller.Thread), nil
	// once it has exited: the segment is then an orphan, which
	// shm_rmid_forced destroys. Linux: shm_creator.
	creator   any
	destroyed bool
}

// bytes is the segment's size rounded up to pages.
func (s *shmSegment) bytes() uint64 { return (s.size + pageSize - 1) &^ (pageSize - 1) }

// chunkLen is the length of chunk ci.
func (s *shmSegment) chunkLen(ci uint64) uint64 { return min(shmChunk, s.bytes()-ci*shmChunk) }

// ShmGet implements shmget(2): a new segment of at most shmmax bytes,
// shmall pages in all and shmmni segments. Linux: ipc/shm.c, newseg().
func (ns *Namespace) ShmGet(c *Caller, key int32, size uint64, flags int) (int32, error) {
	l := ns.limits()
	st := &ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	more := func(s *shmSegment) error {
		if s.size < size {
			return unix.EINVAL
		}
		return nil
	}
	id, err := get(&st.reg, c, key, flags, l.ShmMNI, more, func() (*shmSegment, error) {
		// SHM_HUGETLB and SHM_NORESERVE are accepted: the segment gets
		// ordinary pages, and memory is never reserved ahead.
		if size < SHMMIN || size > l.ShmMax {
			return nil, unix.EINVAL
		}
		if size+pageSize-1 < size {
			return nil, unix.ENOSPC // the size rounded to pages overflows
		}
		pages := (size + pageSize - 1) / pageSize
		if st.pages+pages < st.pages || st.pages+pages > l.ShmAll || st.reg.full(l.ShmMNI) {
			return nil, unix.ENOSPC
		}
		st.pages += pages
		return &shmSegment{ns: ns, size: size, chunks: map[uint64]uint64{}, ctime: ns.seconds(), cpid: c.PID,
			creator: c.Thread}, nil
	})
	if s, _ := st.reg.find(id); err == nil && s.name == "" {
		// The name keeps the key the segment was made with, also once
		// IPC_RMID has made it private. Linux: ipc/shm.c, newseg().
		s.name = fmt.Sprintf("/SYSV%08x (deleted)", uint32(s.key))
	}
	return id, err
}

// destroyLocked frees a segment nobody attaches any more.
func (st *shmState) destroyLocked(s *shmSegment) {
	st.reg.remove(s)
	st.pages -= s.bytes() / pageSize
	s.destroyed = true
	rs := make([]memfile.Range, 0, len(s.chunks))
	for ci, off := range s.chunks {
		rs = append(rs, memfile.Range{Off: off, Len: s.chunkLen(ci)})
	}
	s.chunks = nil
	s.ns.mf.DecRefRanges(rs)
}

// mayDestroyLocked destroys a segment nothing attaches if it was
// removed or shm_rmid_forced is set. Linux: ipc/shm.c, shm_may_destroy().
func (st *shmState) mayDestroyLocked(s *shmSegment) {
	if !s.destroyed && s.nattch == 0 && s.attaching == 0 &&
		(s.mode&SHM_DEST != 0 || s.ns.limits().ShmRmidForced != 0) {
		st.destroyLocked(s)
	}
}

// TaskExited tells the namespace that thread (a Caller.Thread) has
// exited: the segments it made become orphans, and with shm_rmid_forced
// those nothing attaches are destroyed. Linux: ipc/shm.c, exit_shm().
func (ns *Namespace) TaskExited(thread any) {
	if thread == nil {
		return
	}
	st := &ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.reg.byIndex {
		if s.creator == thread {
			s.creator = nil
			st.mayDestroyLocked(s)
		}
	}
}

// LimitsChanged tells the namespace that its limits changed: with
// shm_rmid_forced set, the orphans nothing attaches are destroyed.
// Linux: ipc/ipc_sysctl.c, proc_ipc_dointvec_minmax_orphans(), and
// ipc/shm.c, shm_destroy_orphaned().
func (ns *Namespace) LimitsChanged() {
	if ns.limits().ShmRmidForced == 0 {
		return
	}
	st := &ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.reg.byIndex {
		if s.creator == nil {
			st.mayDestroyLocked(s)
		}
	}
}

// Attachment is one shmat(2) of a segment: an open file whose pages are
// the segment's, for the system-call layer to map shared (see Attach).
// It is the vfs.Mappable of its mappings and an mm.ShmAttachment, so
// that shmdt finds them.
type Attachment struct {
	seg  *shmSegment
	file *vfs.File
	// Prot is the protection shmat maps with, MaxProt what mprotect may
	// give later (no PROT_WRITE for SHM_RDONLY).
	Prot, MaxProt int
	// Name is the mapping's name in /proc/[pid]/maps.
	Name string
	done bool
}

// ShmAttach is shmat(2) up to the mapping: it checks permission and
// returns the attachment to map (Attachment.File, Attachment.Size
// bytes), which keeps the segment alive until Done. Linux: ipc/shm.c,
// do_shmat().
func (ns *Namespace) ShmAttach(c *Caller, id int32, flags int) (*Attachment, error) {
	prot, acc, fflags := unix.PROT_READ|unix.PROT_WRITE, uint32(mayRead|mayWrite), unix.O_RDWR
	if flags&SHM_RDONLY != 0 {
		prot, acc, fflags = unix.PROT_READ, mayRead, unix.O_RDONLY
	}
	if flags&SHM_EXEC != 0 {
		prot |= unix.PROT_EXEC
		acc |= mayExec
	}
	maxProt := unix.PROT_READ | unix.PROT_EXEC
	if flags&SHM_RDONLY == 0 {
		maxProt |= unix.PROT_WRITE
	}
	st := &ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := st.reg.find(id)
	if err != nil {
		return nil, err
	}
	if !s.allowed(c, acc) {
		return nil, unix.EACCES
	}
	s.attaching++
	a := &Attachment{seg: s, Prot: prot, MaxProt: maxProt, Name: s.name}
	a.file = vfs.NewFile(a, fflags)
	return a, nil
}

// File is the open file to map; the caller holds its reference until
// Done.
func (a *Attachment) File() *vfs.File { return a.file }

// Size is the length to map: the segment's size.
func (a *Attachment) Size() uint64 { return a.seg.size }

// Done ends shmat: the attachment is mapped (mapped) or not, and the
// caller's reference to the file goes. A removed segment that nobody
// attaches is destroyed here.
func (a *Attachment) Done(c *Caller, mapped bool) {
	st := &a.seg.ns.shm
	st.mu.Lock()
	if !a.done {
		a.done = true
		a.seg.attaching--
		if mapped {
			a.seg.lpid = c.PID
		}
		st.mayDestroyLocked(a.seg)
	}
	st.mu.Unlock()
	a.file.DecRef()
}

// Detached records shmdt(2) of the attachment by c.
func (a *Attachment) Detached(c *Caller) {
	st := &a.seg.ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	a.seg.lpid = c.PID
}

// ShmSize implements mm.ShmAttachment.
func (a *Attachment) ShmSize() uint64 {
	st := &a.seg.ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	return a.seg.size
}

// Mappable implements vfs.MappableImpl.
func (a *Attachment) Mappable() vfs.Mappable { return a }

// MapPages implements vfs.Mappable: the segment's pages, allocated
// chunk by chunk when first asked for. Linux: mm/shmem.c, shmem_fault().
func (a *Attachment) MapPages(start, end uint64) ([]vfs.MappedRange, error) {
	st := &a.seg.ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	s := a.seg
	if s.destroyed {
		return nil, nil
	}
	end = min(end, s.bytes())
	var out []vfs.MappedRange
	var refs []memfile.Range
	for at := start; at < end; {
		ci := at / shmChunk
		first := ci * shmChunk
		off, ok := s.chunks[ci]
		if !ok {
			var err error
			if off, err = s.ns.mf.Allocate(s.chunkLen(ci)); err != nil {
				s.ns.mf.DecRefRanges(refs)
				return nil, unix.ENOMEM
			}
			s.chunks[ci] = off
		}
		e := min(end, first+s.chunkLen(ci))
		r := memfile.Range{Off: off + (at - first), Len: e - at}
		out = append(out, vfs.MappedRange{FileOff: at, Off: r.Off, Len: r.Len})
		refs = append(refs, r)
		s.ns.mf.IncRefRanges([]memfile.Range{r})
		at = e
	}
	return out, nil
}

// AddMapping implements vfs.Mappable: an address space maps the
// attachment (shmat, fork). Linux: ipc/shm.c, shm_open().
func (a *Attachment) AddMapping(vfs.MappingSpace) {
	st := &a.seg.ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	a.seg.nattch++
	a.seg.atime = a.seg.ns.seconds()
}

// RemoveMapping implements vfs.Mappable: an address space no longer
// maps the attachment (shmdt, munmap, exec, exit). Linux: ipc/shm.c,
// shm_close().
func (a *Attachment) RemoveMapping(vfs.MappingSpace) {
	st := &a.seg.ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	a.seg.nattch--
	a.seg.dtime = a.seg.ns.seconds()
	st.mayDestroyLocked(a.seg)
}

// ReadAt implements vfs.FileImpl; an attachment is only mapped.
func (a *Attachment) ReadAt([]byte, int64) (int, error) { return 0, unix.EINVAL }

// WriteAt implements vfs.FileImpl.
func (a *Attachment) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }

// Stat implements vfs.FileImpl: the inode number is the identifier, as
// /proc/[pid]/maps shows on Linux.
func (a *Attachment) Stat(st *unix.Stat_t) error {
	sh := &a.seg.ns.shm
	sh.mu.Lock()
	defer sh.mu.Unlock()
	*st = unix.Stat_t{Dev: 1, Ino: uint64(a.seg.id), Nlink: 1, Mode: unix.S_IFREG | a.seg.mode&0o777,
		Uid: a.seg.uid, Gid: a.seg.gid, Size: int64(a.seg.size), Blksize: pageSize}
	return nil
}

// Seekable implements vfs.FileImpl.
func (a *Attachment) Seekable() bool { return false }

// Release implements vfs.FileImpl: nothing to do, the mappings counted
// themselves out.
func (a *Attachment) Release() {}

// findStat finds the object a *_STAT command names: by index for
// SHM_STAT and its kin, by identifier for IPC_STAT.
func findStat[T obj](r *registry[T], id int32, byIndex bool) (T, error) {
	if byIndex {
		return r.findIndex(id)
	}
	return r.find(id)
}

// ShmStat implements shmctl IPC_STAT, SHM_STAT and SHM_STAT_ANY; it
// returns the identifier for the last two. Linux: ipc/shm.c,
// shmctl_stat().
func (ns *Namespace) ShmStat(c *Caller, id int32, cmd int) (ShmidDS, int32, error) {
	st := &ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := findStat(&st.reg, id, cmd != IPC_STAT)
	if err != nil {
		return ShmidDS{}, 0, err
	}
	if cmd != SHM_STAT_ANY && !s.allowed(c, mayRead) {
		return ShmidDS{}, 0, unix.EACCES
	}
	ds := ShmidDS{Perm: s.perm(), Segsz: s.size, Atime: s.atime, Dtime: s.dtime, Ctime: s.ctime,
		Cpid: s.cpid, Lpid: s.lpid, Nattch: uint64(s.nattch)}
	if cmd == IPC_STAT {
		return ds, 0, nil
	}
	return ds, s.id, nil
}

// ShmLimits implements shmctl IPC_INFO; it returns the highest index in
// use.
func (ns *Namespace) ShmLimits() (Shminfo, int) {
	l := ns.limits()
	st := &ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	return Shminfo{Shmmax: l.ShmMax, Shmmin: SHMMIN, Shmmni: uint64(max(l.ShmMNI, 0)), Shmseg: SHMSEG, Shmall: l.ShmAll},
		st.reg.maxIndex()
}

// ShmUsage implements shmctl SHM_INFO; it returns the highest index in
// use. Resident pages are those allocated (memory is never swapped).
func (ns *Namespace) ShmUsage() (ShmInfo, int) {
	st := &ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	var rss uint64
	for _, s := range st.reg.byIndex {
		for ci := range s.chunks {
			rss += s.chunkLen(ci) / pageSize
		}
	}
	return ShmInfo{UsedIDs: int32(len(st.reg.byIndex)), ShmTot: st.pages, ShmRss: rss}, st.reg.maxIndex()
}

// ShmSet implements shmctl IPC_SET. Linux: ipc/shm.c, shmctl_down().
func (ns *Namespace) ShmSet(c *Caller, id int32, p *IPCPerm) error {
	st := &ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := st.reg.findOwned(id, c)
	if err != nil {
		return err
	}
	if err := s.setPerm(p); err != nil {
		return err
	}
	s.ctime = ns.seconds()
	return nil
}

// ShmRemove implements shmctl IPC_RMID: a segment still attached is
// marked SHM_DEST, loses its key and goes with its last attachment.
// Linux: ipc/shm.c, do_shm_rmid().
func (ns *Namespace) ShmRemove(c *Caller, id int32) error {
	st := &ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := st.reg.findOwned(id, c)
	if err != nil {
		return err
	}
	s.mode |= SHM_DEST
	st.reg.unkey(s)
	st.mayDestroyLocked(s)
	return nil
}

// ShmLock implements shmctl SHM_LOCK and SHM_UNLOCK. Memory is never
// swapped, so locking only records SHM_LOCKED. Linux: ipc/shm.c,
// shmctl_do_lock().
func (ns *Namespace) ShmLock(c *Caller, id int32, lock bool) error {
	st := &ns.shm
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := st.reg.find(id)
	if err != nil {
		return err
	}
	if !c.capable(capIPCLock) {
		if c.EUID != s.uid && c.EUID != s.cuid {
			return unix.EPERM
		}
		if lock && c.MemlockLimit == 0 {
			return unix.EPERM
		}
	}
	if lock {
		s.mode |= SHM_LOCKED
	} else {
		s.mode &^= SHM_LOCKED
	}
	return nil
}
