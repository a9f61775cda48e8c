package kernel

import (
	"sync"

	"magawa/kernel/arch"
)

// This file is the kernel's side of System V IPC and POSIX message
// queues, which kernel/ipc/sysv and kernel/ipc/mqueue implement and
// kernel/syscalls serves: the sandbox's IPC namespace, kept here without
// being looked into; the semaphore undo lists that tasks share
// (CLONE_SYSVSEM) and that are applied when the last of them exits; and
// the signals mq_notify registers for. Shared memory needs no hook: an
// attachment is a mapping, which fork copies and exec and exit release
// with the address space.

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

// ipcNamespace holds the sandbox's IPC namespace.
type ipcNamespace struct {
	once sync.Once
	ns   any
}

// IPCNamespace returns the sandbox's IPC namespace, which create makes
// on the first call.
func (k *Kernel) IPCNamespace(create func() any) any {
	k.ipc.once.Do(func() { k.ipc.ns = create() })
	return k.ipc.ns
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
