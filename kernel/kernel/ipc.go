package kernel

import (
	"sync"
	"sync/atomic"

	"magawa/kernel/arch"
)

// This file is the kernel's side of System V IPC and POSIX message
// queues, which kernel/ipc/sysv and kernel/ipc/mqueue implement and
// kernel/syscalls serves: the sandbox's IPC namespace, kept here without
// being looked into, and its limits (/proc/sys/kernel/{shm*,msg*,sem},
// /proc/sys/fs/mqueue), which those packages read at each use; the
// semaphore undo lists that tasks share (CLONE_SYSVSEM) and that are
// applied when the last of them exits; and the signals mq_notify
// registers for. Shared memory needs no hook but the exit of a task
// (shm_rmid_forced): an attachment is a mapping, which fork copies and
// exec and exit release with the address space.

// SemUndo is a list of System V semaphore adjustments (SEM_UNDO).
type SemUndo interface {
	// Exit applies the adjustments on behalf of process pid. The kernel
	// calls it once, when the last task sharing the list exits.
	Exit(pid int32)
}

// sysvSem is what tasks share with CLONE_SYSVSEM: the undo list, made on
// the first semop that needs it. Linux: struct sem_undo_list, whose
// reference count this is.
type sysvSem struct {
	mu   sync.Mutex
	refs int
	undo SemUndo
}

// IPCState is the state of the sandbox's IPC namespace, which the
// system-call layer makes (IPCNamespace) and the kernel tells of the
// events it owns.
type IPCState interface {
	// TaskExited is called as task t exits, after its address space and
	// its undo list are released, with no lock held. Linux: ipc/shm.c,
	// exit_shm().
	TaskExited(t *Task)
	// LimitsChanged is called after each change of the namespace's
	// limits (UpdateIPCLimits), with no lock held.
	LimitsChanged()
}

// IPCLimits are the tunables of the sandbox's IPC namespace, with
// Linux's defaults (DefaultIPCLimits): the limits System V IPC and POSIX
// message queues enforce at each use, which /proc/sys/kernel and
// /proc/sys/fs/mqueue show and change. Linux: struct ipc_namespace.
type IPCLimits struct {
	SysV SysVLimits
	MQ   MQLimits
}

// SysVLimits are System V IPC's limits, /proc/sys/kernel/{shmmax,
// shmall, shmmni, shm_rmid_forced, msgmax, msgmnb, msgmni, sem}. Its
// fields are those of sysv.Limits, which it converts to. Linux keeps the
// int ones as ints (a write may make sem's negative).
type SysVLimits struct {
	ShmMax uint64 // bytes per segment
	ShmAll uint64 // pages in all segments
	ShmMNI int32  // segments
	// ShmRmidForced, 0 or 1, destroys segments nothing attaches once
	// their creator has exited.
	ShmRmidForced int32
	MsgMax        int32 // bytes per message
	MsgMNB        int32 // msg_qbytes of a new queue
	MsgMNI        int32 // queues
	SemMSL        int32 // semaphores per set
	SemMNS        int32 // semaphores in all sets
	SemOPM        int32 // operations per semop
	SemMNI        int32 // sets
}

// MQLimits are the POSIX message queues' limits,
// /proc/sys/fs/mqueue/*. Its fields are those of mqueue.Limits.
type MQLimits struct {
	QueuesMax      int32 // queues (without CAP_SYS_RESOURCE)
	MsgMax         int32 // mq_maxmsg (without CAP_SYS_RESOURCE)
	MsgsizeMax     int32 // mq_msgsize (without CAP_SYS_RESOURCE)
	MsgDefault     int32 // mq_maxmsg of a queue made without attributes
	MsgsizeDefault int32 // mq_msgsize of a queue made without attributes
}

// IPCMNI bounds the shmmni, msgmni and semmni limits: the number of
// identifiers' indices. Linux: ipc/util.h, IPCMNI.
const IPCMNI = 32768

// DefaultIPCLimits returns Linux's defaults. Linux: include/uapi/linux/
// shm.h, msg.h, sem.h; include/linux/ipc_namespace.h (DFLT_*).
func DefaultIPCLimits() IPCLimits {
	return IPCLimits{
		SysV: SysVLimits{
			ShmMax: ^uint64(0) - 1<<24, ShmAll: ^uint64(0) - 1<<24, ShmMNI: 4096,
			MsgMax: 8192, MsgMNB: 16384, MsgMNI: 32000,
			SemMSL: 32000, SemMNS: 32000 * 32000, SemOPM: 500, SemMNI: 32000,
		},
		MQ: MQLimits{QueuesMax: 256, MsgMax: 10, MsgsizeMax: 8192, MsgDefault: 10, MsgsizeDefault: 8192},
	}
}

// ipcNamespace holds the sandbox's IPC namespace: the state the
// system-call layer makes on first use, and the limits, which exist
// from the start (proc shows them before any IPC call).
type ipcNamespace struct {
	// mu serializes the making of state and the changes of limits.
	mu sync.Mutex
	// state and limits are read without a lock; they are replaced, never
	// changed in place. A nil limits is DefaultIPCLimits.
	state  atomic.Pointer[IPCState]
	limits atomic.Pointer[IPCLimits]
}

// IPCNamespace returns the state of the sandbox's IPC namespace, which
// create makes on the first call.
func (k *Kernel) IPCNamespace(create func() IPCState) IPCState {
	if s := k.ipc.state.Load(); s != nil {
		return *s
	}
	k.ipc.mu.Lock()
	defer k.ipc.mu.Unlock()
	if s := k.ipc.state.Load(); s != nil {
		return *s
	}
	s := create()
	k.ipc.state.Store(&s)
	return s
}

// IPCLimits returns the IPC namespace's limits as they are now.
func (k *Kernel) IPCLimits() IPCLimits {
	if l := k.ipc.limits.Load(); l != nil {
		return *l
	}
	return DefaultIPCLimits()
}

// UpdateIPCLimits changes the IPC namespace's limits: change edits a
// copy, which replaces them unless change fails. Changes are serialized,
// so change sees the limits no other change can alter meanwhile; it
// must not call back into the kernel. The namespace's state, if made, is
// told afterwards (IPCState.LimitsChanged).
func (k *Kernel) UpdateIPCLimits(change func(*IPCLimits) error) error {
	k.ipc.mu.Lock()
	l := k.IPCLimits()
	if err := change(&l); err != nil {
		k.ipc.mu.Unlock()
		return err
	}
	k.ipc.limits.Store(&l)
	s := k.ipc.state.Load()
	k.ipc.mu.Unlock()
	if s != nil {
		(*s).LimitsChanged()
	}
	return nil
}

// exitIPC tells the IPC namespace, if made, that t exits. No lock may be
// held.
func (t *Task) exitIPC() {
	if s := t.k.ipc.state.Load(); s != nil {
		(*s).TaskExited(t)
	}
}

// SemUndo returns the undo list the task shares, which create makes on
// first use. Only the task's own goroutine calls it.
func (t *Task) SemUndo(create func() SemUndo) SemUndo {
	if t.sysvsem == nil {
		t.sysvsem = &sysvSem{refs: 1}
	}
	s := t.sysvsem
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.undo == nil {
		s.undo = create()
	}
	return s.undo
}

// cloneSysVSem returns what a task that t creates starts with: with
// CLONE_SYSVSEM (share) t's undo list, shared from then on even if
// neither has one yet; otherwise none. Linux: ipc/sem.c, copy_semundo().
func (t *Task) cloneSysVSem(share bool) *sysvSem {
	if !share {
		return nil
	}
	if t.sysvsem == nil {
		t.sysvsem = &sysvSem{refs: 1}
	}
	t.sysvsem.mu.Lock()
	t.sysvsem.refs++
	t.sysvsem.mu.Unlock()
	return t.sysvsem
}

// exitSysVSem drops the exiting task's share of its undo list; the last
// task applies it, before its parent can hear of its exit. Kernel.mu
// must not be held. Linux: ipc/sem.c, exit_sem().
func (t *Task) exitSysVSem() {
	s := t.sysvsem
	if s == nil {
		return
	}
	t.sysvsem = nil
	s.mu.Lock()
	s.refs--
	last, undo := s.refs == 0, s.undo
	s.mu.Unlock()
	if last && undo != nil {
		undo.Exit(t.TGID())
	}
}

// SignalProcess queues info for process tgid, if it is still there, with
// no permission check: a notification a process registered for
// (mq_notify) is owed to it whoever triggers it. Linux: ipc/mqueue.c,
// __do_notify().
func (k *Kernel) SignalProcess(tgid int32, info *arch.SignalInfo) {
	if !ValidSignal(int(info.Signo)) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if tg := k.threadGroups[tgid]; tg != nil {
		k.sendSignalLocked(tg, nil, info, true)
	}
}
