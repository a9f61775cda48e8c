package sysv

import (
	"errors"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
)

// Flags and commands shared by the three kinds. Linux:
// include/uapi/linux/ipc.h.
const (
	IPC_PRIVATE = 0
	IPC_CREAT   = 0o1000
	IPC_EXCL    = 0o2000
	IPC_NOWAIT  = 0o4000

	IPC_RMID = 0
	IPC_SET  = 1
	IPC_STAT = 2
	IPC_INFO = 3
)

// Linux's fixed limits and its defaults of the namespace's Limits. The
// names in brackets are the /proc/sys/kernel files of the tunable ones.
// Linux: include/uapi/linux/shm.h, sem.h, msg.h.
const (
	SHMMIN = 1
	SHMMAX = ^uint64(0) - 1<<24 // [shmmax] bytes per segment
	SHMALL = ^uint64(0) - 1<<24 // [shmall] pages in all segments
	SHMMNI = 4096               // [shmmni] segments
	SHMSEG = SHMMNI             // segments per process (not enforced, as on Linux)

	SEMMSL = 32000           // [sem, 1st] semaphores per set
	SEMMNS = SEMMNI * SEMMSL // [sem, 2nd] semaphores in all sets
	SEMOPM = 500             // [sem, 3rd] operations per semop
	SEMMNI = 32000           // [sem, 4th] sets
	SEMVMX = 32767           // largest semaphore value
	SEMAEM = SEMVMX          // largest undo adjustment

	MSGMAX = 8192  // [msgmax] bytes per message
	MSGMNB = 16384 // [msgmnb] default msg_qbytes of a queue
	MSGMNI = 32000 // [msgmni] queues
)

// Limits are a namespace's tunable limits, read at each use (Linux:
// struct ipc_namespace's shm_ctl*, msg_ctl*, sem_ctls). Its fields are
// kernel.SysVLimits's, which the kernel keeps and converts. The int32
// ones are Linux's ints: /proc/sys may make sem's negative, which then
// refuses everything they bound.
type Limits struct {
	ShmMax uint64 // [shmmax]
	ShmAll uint64 // [shmall], in pages
	ShmMNI int32  // [shmmni]
	// ShmRmidForced (0 or 1) destroys a segment once nothing attaches
	// it and its creator has exited. [shm_rmid_forced]
	ShmRmidForced int32
	MsgMax        int32 // [msgmax]
	MsgMNB        int32 // [msgmnb]
	MsgMNI        int32 // [msgmni]
	SemMSL        int32 // [sem, 1st]
	SemMNS        int32 // [sem, 2nd]
	SemOPM        int32 // [sem, 3rd]
	SemMNI        int32 // [sem, 4th]
}

// DefaultLimits are Linux's defaults.
func DefaultLimits() Limits {
	return Limits{ShmMax: SHMMAX, ShmAll: SHMALL, ShmMNI: SHMMNI, MsgMax: MSGMAX, MsgMNB: MSGMNB, MsgMNI: MSGMNI,
		SemMSL: SEMMSL, SemMNS: SEMMNS, SemOPM: SEMOPM, SemMNI: SEMMNI}
}

// ipcMNI is the number of indices, and the multiplier of the sequence
// number in an identifier. Linux: ipc/util.h, IPCMNI.
const ipcMNI = 32768

// Errors a Blocker returns.
var (
	ErrInterrupted = errors.New("sysv: wait interrupted")
	ErrTimedOut    = errors.New("sysv: wait timed out")
)

// Blocker puts the calling task to sleep until wake is ready (nil),
// the deadline passes (ErrTimedOut; a zero deadline never does) or a
// signal interrupts it (ErrInterrupted).
type Blocker interface {
	Block(wake <-chan struct{}, deadline time.Time) error
}

// Capabilities this package checks. Linux: include/uapi/linux/capability.h.
const (
	capIPCLock     = 14
	capIPCOwner    = 15
	capSysAdmin    = 21
	capSysResource = 24
)

// Caller is who makes a call: the IDs IPC permissions are checked
// against, the process ID recorded as the last to operate, and, for
// SHM_LOCK, whether RLIMIT_MEMLOCK allows locking at all.
type Caller struct {
	EUID, EGID uint32
	// FSGID and Groups are the groups a caller is in (Linux:
	// in_group_p()).
	FSGID  uint32
	Groups []uint32
	// Caps is the effective capability set, bit n for capability n.
	Caps uint64
	// PID is the caller's process (thread-group) ID.
	PID int32
	// Thread is the calling thread, any comparable value that names it
	// for as long as it lives: a segment remembers its creator for
	// shm_rmid_forced (Namespace.TaskExited). Nil counts as a creator
	// already gone.
	Thread any
	// MemlockLimit is the soft RLIMIT_MEMLOCK.
	MemlockLimit uint64
}

func (c *Caller) capable(cp int) bool { return c.Caps&(1<<uint(cp)) != 0 }

func (c *Caller) inGroup(gid uint32) bool {
	if c.FSGID == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// Mode bits beyond the permissions, shown in shm_perm.mode.
const (
	SHM_DEST   = 0o1000
	SHM_LOCKED = 0o2000
)

// object is what every IPC object has: its identity and permissions
// (Linux: struct kern_ipc_perm). Guarded by its kind's mutex.
type object struct {
	id                   int32
	key                  int32
	uid, gid, cuid, cgid uint32
	mode                 uint32
	seq                  uint16
	// removed is set once the object is gone from its registry.
	removed bool
}

func (o *object) base() *object { return o }

// perm describes o for the *_STAT commands.
func (o *object) perm() IPCPerm {
	return IPCPerm{Key: o.key, UID: o.uid, GID: o.gid, CUID: o.cuid, CGID: o.cgid, Mode: o.mode, Seq: o.seq}
}

// Permission requests, in the "other" position (S_IROTH...).
const (
	mayRead  = 4
	mayWrite = 2
	mayExec  = 1
)

// allowed reports whether c may access o as flag asks (bits of the mode
// in any of the three positions). Linux: ipc/util.c, ipcperms().
func (o *object) allowed(c *Caller, flag uint32) bool {
	requested := (flag>>6 | flag>>3 | flag) & 7
	granted := o.mode
	switch {
	case c.EUID == o.cuid || c.EUID == o.uid:
		granted >>= 6
	case c.inGroup(o.cgid) || c.inGroup(o.gid):
		granted >>= 3
	}
	return requested&^granted&7 == 0 || c.capable(capIPCOwner)
}

// owns reports whether c may change or remove o: its owner or creator,
// or CAP_SYS_ADMIN. Linux: ipc/util.c, ipcctl_obtain_check().
func (o *object) owns(c *Caller) bool {
	return c.EUID == o.cuid || c.EUID == o.uid || c.capable(capSysAdmin)
}

// setPerm is IPC_SET's change of the owner and mode. Linux: ipc/util.c,
// ipc_update_perm().
func (o *object) setPerm(p *IPCPerm) error {
	if p.UID == ^uint32(0) || p.GID == ^uint32(0) {
		return unix.EINVAL
	}
	o.uid, o.gid = p.UID, p.GID
	o.mode = o.mode&^0o777 | p.Mode&0o777
	return nil
}

// obj is an object of one kind.
type obj interface{ base() *object }

// registry is the objects of one kind. Guarded by the kind's mutex.
type registry[T obj] struct {
	byIndex map[int32]T
	byKey   map[int32]T
	// last is the index handed out last: indices are handed out
	// cyclically, as Linux's idr_alloc_cyclic(), so that a freed index
	// is not reused at once.
	last int32
	seq  uint16
}

func newRegistry[T obj]() registry[T] {
	return registry[T]{byIndex: map[int32]T{}, byKey: map[int32]T{}, last: -1}
}

// full reports whether the registry holds limit objects or more (the
// namespace's shmmni, msgmni or semmni, which is at most ipcMNI).
func (r *registry[T]) full(limit int32) bool {
	return len(r.byIndex) >= int(min(limit, ipcMNI))
}

// add gives o an identifier and enters it, unless the registry is full
// at limit. Linux: ipc/util.c, ipc_addid().
func (r *registry[T]) add(o T, limit int32) error {
	if r.full(limit) {
		return unix.ENOSPC
	}
	// The indices cycle below the limit, where fewer objects than the
	// limit leave a free one even if a lowered limit left some above.
	bound := min(limit, ipcMNI)
	idx := r.last
	for {
		if idx++; idx >= bound {
			idx = 0
		}
		if _, used := r.byIndex[idx]; !used {
			break
		}
	}
	r.last = idx
	b := o.base()
	b.seq = r.seq
	b.id = int32(r.seq)*ipcMNI + idx
	r.seq++
	r.byIndex[idx] = o
	if b.key != IPC_PRIVATE {
		r.byKey[b.key] = o
	}
	return nil
}

// find returns the object an identifier names: EINVAL if none does.
func (r *registry[T]) find(id int32) (T, error) {
	var zero T
	if id < 0 {
		return zero, unix.EINVAL
	}
	o, ok := r.byIndex[id%ipcMNI]
	if !ok || o.base().id != id {
		return zero, unix.EINVAL
	}
	return o, nil
}

// findOwned returns the object an identifier names for a change or a
// removal (IPC_SET, IPC_RMID): EINVAL if none, EPERM unless c owns it.
// Linux: ipc/util.c, ipcctl_obtain_check().
func (r *registry[T]) findOwned(id int32, c *Caller) (T, error) {
	o, err := r.find(id)
	if err != nil {
		return o, err
	}
	if !o.base().owns(c) {
		var zero T
		return zero, unix.EPERM
	}
	return o, nil
}

// findIndex returns the object at an index (the *_STAT commands).
func (r *registry[T]) findIndex(idx int32) (T, error) {
	o, ok := r.byIndex[idx]
	if !ok || idx < 0 {
		var zero T
		return zero, unix.EINVAL
	}
	return o, nil
}

// unkey makes o unreachable by its key, which becomes IPC_PRIVATE
// (Linux: ipc_set_key_private()).
func (r *registry[T]) unkey(o T) {
	b := o.base()
	if b.key != IPC_PRIVATE && any(r.byKey[b.key]) == any(o) {
		delete(r.byKey, b.key)
	}
	b.key = IPC_PRIVATE
}

// remove takes o out of the registry for good.
func (r *registry[T]) remove(o T) {
	r.unkey(o)
	b := o.base()
	delete(r.byIndex, b.id%ipcMNI)
	b.removed = true
}

// maxIndex is the highest index in use, 0 if none: what the *_INFO
// commands return. Linux: ipc/util.c, ipc_get_maxidx().
func (r *registry[T]) maxIndex() int {
	m := 0
	for idx := range r.byIndex {
		m = max(m, int(idx))
	}
	return m
}

// all lists the objects by index.
func (r *registry[T]) all() []T {
	idx := make([]int32, 0, len(r.byIndex))
	for i := range r.byIndex {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
	out := make([]T, len(idx))
	for i, x := range idx {
		out[i] = r.byIndex[x]
	}
	return out
}

// get is the common part of shmget, semget and msgget: the object of
// key, checked by more (size, number of semaphores) and for permission,
// or a new one from create with IPC_CREAT, if the registry is not full
// at limit. Linux: ipc/util.c, ipcget().
func get[T obj](r *registry[T], c *Caller, key int32, flags int, limit int32, more func(T) error, create func() (T, error)) (int32, error) {
	if key != IPC_PRIVATE {
		if o, ok := r.byKey[key]; ok {
			if flags&IPC_CREAT != 0 && flags&IPC_EXCL != 0 {
				return 0, unix.EEXIST
			}
			if more != nil {
				if err := more(o); err != nil {
					return 0, err
				}
			}
			if !o.base().allowed(c, uint32(flags)) {
				return 0, unix.EACCES
			}
			return o.base().id, nil
		}
		if flags&IPC_CREAT == 0 {
			return 0, unix.ENOENT
		}
	}
	o, err := create()
	if err != nil {
		return 0, err
	}
	b := o.base()
	b.key = key
	b.uid, b.cuid = c.EUID, c.EUID
	b.gid, b.cgid = c.EGID, c.EGID
	b.mode = uint32(flags) & 0o777
	if err := r.add(o, limit); err != nil {
		return 0, err
	}
	return b.id, nil
}

// Namespace is one IPC namespace: the sandbox's.
type Namespace struct {
	mf  *memfile.File
	now func() time.Time
	// limits returns the limits as they are now; it takes no lock of
	// this package's and may be called with any held.
	limits func() Limits

	shm shmState
	sem semState
	msg msgState
}

// New returns an empty namespace whose shared memory lives in mf and
// whose limits are what limits returns at each use (nil: DefaultLimits).
func New(mf *memfile.File, limits func() Limits) *Namespace {
	if limits == nil {
		limits = DefaultLimits
	}
	ns := &Namespace{mf: mf, now: time.Now, limits: limits}
	ns.shm.reg = newRegistry[*shmSegment]()
	ns.sem.reg = newRegistry[*semSet]()
	ns.msg.reg = newRegistry[*msgQueue]()
	return ns
}

// Limits returns the namespace's limits as they are now.
func (ns *Namespace) Limits() Limits { return ns.limits() }

func (ns *Namespace) seconds() int64 { return ns.now().Unix() }
