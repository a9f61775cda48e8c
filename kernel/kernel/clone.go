package kernel

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/mm"
)

// CloneOptions are the arguments of clone, clone3, fork and vfork.
type CloneOptions struct {
	Flags      uint64
	Stack      uintptr // new stack pointer, 0 to keep the parent's
	ParentTID  uintptr
	ChildTID   uintptr
	TLS        uintptr
	ExitSignal unix.Signal
	// Pidfd, with CLONE_PIDFD, receives the new process (or thread)
	// before it runs, with Kernel.mu held.
	Pidfd func(*PidfdTarget)
}

// Clone flags. Linux: include/uapi/linux/sched.h.
const (
	CLONE_VM             = 0x00000100
	CLONE_FS             = 0x00000200
	CLONE_FILES          = 0x00000400
	CLONE_SIGHAND        = 0x00000800
	CLONE_PIDFD          = 0x00001000
	CLONE_PTRACE         = 0x00002000
	CLONE_VFORK          = 0x00004000
	CLONE_PARENT         = 0x00008000
	CLONE_THREAD         = 0x00010000
	CLONE_NEWNS          = 0x00020000
	CLONE_SYSVSEM        = 0x00040000
	CLONE_SETTLS         = 0x00080000
	CLONE_PARENT_SETTID  = 0x00100000
	CLONE_CHILD_CLEARTID = 0x00200000
	CLONE_DETACHED       = 0x00400000
	CLONE_UNTRACED       = 0x00800000
	CLONE_CHILD_SETTID   = 0x01000000
	CLONE_NEWCGROUP      = 0x02000000
	CLONE_NEWUTS         = 0x04000000
	CLONE_NEWIPC         = 0x08000000
	CLONE_NEWUSER        = 0x10000000
	CLONE_NEWPID         = 0x20000000
	CLONE_NEWNET         = 0x40000000
	CLONE_IO             = 0x80000000
	CLONE_CLEAR_SIGHAND  = 0x100000000
	CLONE_INTO_CGROUP    = 0x200000000

	cloneNamespaces = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
)

// Clone creates a task: a thread of t's process (CLONE_THREAD) or a new
// process, and starts it. It returns the new task's TID.
// Linux: kernel/fork.c, copy_process() and kernel_clone().
func (t *Task) Clone(o CloneOptions) (int32, error) {
	f := o.Flags
	switch {
	case f&(CLONE_NEWNS|CLONE_FS) == CLONE_NEWNS|CLONE_FS,
		f&(CLONE_NEWUSER|CLONE_FS) == CLONE_NEWUSER|CLONE_FS,
		f&CLONE_THREAD != 0 && f&CLONE_SIGHAND == 0,
		f&CLONE_SIGHAND != 0 && f&CLONE_VM == 0,
		f&CLONE_SIGHAND != 0 && f&CLONE_CLEAR_SIGHAND != 0,
		f&CLONE_PIDFD != 0 && f&CLONE_DETACHED != 0:
		return 0, unix.EINVAL
	case f&cloneNamespaces != 0:
		// New namespaces inside the sandbox are not offered yet; a
		// container without CAP_SYS_ADMIN gets the same answer.
		return 0, unix.EPERM
	case f&CLONE_INTO_CGROUP != 0:
		return 0, unix.EINVAL
	}
	k := t.k
	if f&(CLONE_PARENT|CLONE_THREAD) != 0 {
		k.mu.Lock()
		isInit := t.tg == k.initTG
		k.mu.Unlock()
		if isInit && f&CLONE_PARENT != 0 {
			// The init of a PID namespace cannot make siblings.
			return 0, unix.EINVAL
		}
	}

	// The address space: shared (threads, vfork) or a copy-on-write copy.
	childMM := t.mm
	if f&CLONE_VM == 0 {
		as, err := k.Platform.NewAddressSpace()
		if err != nil {
			return 0, unix.ENOMEM
		}
		m, err := t.mm.Fork(as)
		if err != nil {
			as.Release()
			return 0, unix.ENOMEM
		}
		childMM = m
	}
	k.mu.Lock()
	k.mmUsers[childMM]++
	k.mu.Unlock()

	fds := t.fds
	if f&CLONE_FILES != 0 {
		fds.IncRef()
	} else {
		fds = t.fds.Fork()
	}
	fp, err := t.ctx.FPState()
	if err != nil {
		k.Debugf("task %d: clone: reading FP state: %v", t.tid, err)
		fp = nil
	}

	k.mu.Lock()
	if t.tg.exiting {
		k.mu.Unlock()
		k.releaseMM(childMM)
		fds.DecRef()
		return 0, ERESTARTNOINTR
	}
	if err := t.checkNprocLocked(); err != nil {
		k.mu.Unlock()
		k.releaseMM(childMM)
		fds.DecRef()
		return 0, err
	}
	tid, err := k.allocTIDLocked()
	if err != nil {
		k.mu.Unlock()
		k.releaseMM(childMM)
		fds.DecRef()
		return 0, err
	}
	child := &Task{
		k:           k,
		tid:         tid,
		mm:          childMM,
		fds:         fds,
		creds:       t.creds,
		Regs:        t.Regs,
		sigMask:     t.sigMask,
		interruptCh: make(chan struct{}, 1),
		name:        t.name,
		exe:         t.exe,
		stack:       t.stack,
		pendingFP:   fp,
		exitSignal:  o.ExitSignal,
		mounts:      t.mounts,
	}
	child.creds.Groups = append([]uint32(nil), t.creds.Groups...)
	child.sysvsem = t.cloneSysVSem(f&CLONE_SYSVSEM != 0)
	if f&CLONE_FS != 0 {
		child.fs = t.fs
	} else {
		c := *t.fs
		child.fs = &c
	}
	switch {
	case f&CLONE_THREAD != 0:
		child.tg = t.tg
		t.tg.tasks[child] = struct{}{}
		child.exitSignal = 0
	default:
		handlers := t.tg.handler
		if f&CLONE_SIGHAND == 0 {
			handlers = handlers.copy()
		}
		if f&CLONE_CLEAR_SIGHAND != 0 {
			for i := range handlers.actions {
				if handlers.actions[i].Handler != SIG_IGN {
					handlers.actions[i] = SigAction{}
				}
			}
		}
		// The caller's limits, process group, terminal and
		// no_new_privs are the child's, whoever its parent is.
		child.tg = k.newThreadGroupLocked(child, t.tg, handlers)
		if f&CLONE_PARENT != 0 {
			// A sibling: of a process Exec started, one whose parent
			// is outside the sandbox too.
			delete(t.tg.children, child.tg)
			child.tg.parent = t.tg.parent
			if p := child.tg.parent; p != nil {
				p.children[child.tg] = struct{}{}
			}
		}
		child.tg.pdeathSignal = 0
	}
	k.inheritLocked(t, child, f&CLONE_THREAD == 0)
	k.tasks[tid] = child
	if f&CLONE_PIDFD != 0 && o.Pidfd != nil {
		o.Pidfd(newPidfdTargetLocked(child.tg, threadOf(child, f)))
	}
	// The parent keeps its own reference to the vfork channel: once
	// started, the child may exec or exit, close the channel and clear
	// its field before the parent gets to wait, and waiting on the
	// cleared (nil) field would never end.
	var vforkDone chan struct{}
	if f&CLONE_VFORK != 0 {
		vforkDone = make(chan struct{})
		child.vforkDone = vforkDone
	}
	k.mu.Unlock()

	// The child returns 0 from the call, on its new stack and TLS.
	child.Regs.Rax = 0
	if o.Stack != 0 {
		child.Regs.Rsp = uint64(o.Stack)
	}
	if f&CLONE_SETTLS != 0 {
		child.Regs.Fs_base = uint64(o.TLS)
	}
	if f&CLONE_CHILD_CLEARTID != 0 {
		child.clearChildTID = o.ChildTID
	}
	tidBytes := []byte{byte(tid), byte(tid >> 8), byte(tid >> 16), byte(tid >> 24)}
	if f&CLONE_CHILD_SETTID != 0 {
		childMM.CopyOut(o.ChildTID, tidBytes)
	}
	if f&CLONE_PARENT_SETTID != 0 {
		t.mm.CopyOut(o.ParentTID, tidBytes)
	}
	child.start()
	if k.cloneStarted != nil {
		k.cloneStarted(child)
	}

	if vforkDone != nil {
		t.waitVfork(vforkDone)
	}
	return tid, nil
}

// waitVfork sleeps until the vfork child execs or exits (done is
// closed). Only what kills the parent ends the wait early: its process's
// exit, or another thread's exec, which waits for this one to exit and
// must not wait for the child as well. Linux: kernel/fork.c,
// wait_for_vfork_done(), a killable wait.
func (t *Task) waitVfork(done <-chan struct{}) {
	k := t.k
	exit := t.groupExitCh()
	for {
		select {
		case <-done:
			return
		case <-exit:
			return
		case <-t.interruptCh:
			// A signal the parent handles once the wait is over, or
			// its kill.
			k.mu.Lock()
			killed := t.killedLocked()
			k.mu.Unlock()
			if killed {
				return
			}
		}
	}
}

// releaseMM drops a task's use of an address space, releasing it with
// its last user.
func (k *Kernel) releaseMM(m *mm.MM) {
	k.mu.Lock()
	n := k.mmUsers[m] - 1
	if n <= 0 {
		delete(k.mmUsers, m)
	} else {
		k.mmUsers[m] = n
	}
	k.mu.Unlock()
	if n <= 0 {
		m.Release()
	}
}
