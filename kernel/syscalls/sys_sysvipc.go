package syscalls

import (
	"encoding/binary"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/arch"
	"magawa/kernel/ipc/mqueue"
	"magawa/kernel/ipc/sysv"
	"magawa/kernel/kernel"
	"magawa/kernel/mm"
)

// System V IPC: the calls decode their arguments, copy memory in and out
// and describe the caller; package sysv does the rest. Blocking calls
// interrupted by a signal are never restarted after a handler: semop
// fails with EINTR even without one (after a stop and SIGCONT, too),
// msgsnd and msgrcv return ERESTARTNOHAND. Linux: ipc/shm.c, ipc/sem.c,
// ipc/msg.c; signal(7), "Interruption of system calls".

// ipcState is the sandbox's IPC namespace: its System V objects and its
// POSIX message queues (sys_mqueue.go), which read the limits the kernel
// keeps (kernel.IPCLimits, /proc/sys) at each use.
type ipcState struct {
	sysv *sysv.Namespace
	mq   *mqueue.Registry
}

// TaskExited implements kernel.IPCState.
func (s *ipcState) TaskExited(t *kernel.Task) { s.sysv.TaskExited(t) }

// LimitsChanged implements kernel.IPCState.
func (s *ipcState) LimitsChanged() { s.sysv.LimitsChanged() }

// ipcOf returns the sandbox's IPC namespace, made on first use.
func ipcOf(t *kernel.Task) *ipcState {
	k := t.Kernel()
	return k.IPCNamespace(func() kernel.IPCState {
		signal := func(tgid int32, n mqueue.Notification) {
			info := &arch.SignalInfo{Signo: n.Signo, Code: arch.SI_MESGQ}
			info.SetPID(n.PID)
			info.SetUID(n.UID)
			info.SetValue(n.Value)
			k.SignalProcess(tgid, info)
		}
		alive := func(tgid int32) bool { return k.ProcessByID(tgid) != nil }
		// The limits' types have the same fields as the kernel's.
		sysvLimits := func() sysv.Limits { return sysv.Limits(k.IPCLimits().SysV) }
		mqLimits := func() mqueue.Limits { return mqueue.Limits(k.IPCLimits().MQ) }
		return &ipcState{sysv: sysv.New(k.MemoryFile, sysvLimits), mq: mqueue.New(signal, alive, mqLimits)}
	}).(*ipcState)
}

// ipcNamespace returns the sandbox's System V IPC namespace.
func ipcNamespace(t *kernel.Task) *sysv.Namespace { return ipcOf(t).sysv }

// ipcCaller describes t for permission checks and the PIDs objects
// record.
func ipcCaller(t *kernel.Task) *sysv.Caller {
	c := t.Credentials()
	return &sysv.Caller{EUID: c.EUID, EGID: c.EGID, FSGID: c.FSGID, Groups: c.Groups,
		Caps: uint64(c.Capabilities().Effective), PID: t.TGID(), Thread: t}
}

// ipcBlocker adapts a task's interruptible sleep to sysv.Blocker.
type ipcBlocker struct{ t *kernel.Task }

func (b ipcBlocker) Block(wake <-chan struct{}, deadline time.Time) error {
	switch err := b.t.Block(wake, deadline); err {
	case kernel.ErrInterrupted:
		return sysv.ErrInterrupted
	case kernel.ErrTimedOut:
		return sysv.ErrTimedOut
	default:
		return err
	}
}

// Shmget implements shmget(2).
func Shmget(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, err := ipcNamespace(t).ShmGet(ipcCaller(t), a.Int(0), a.Size(1), int(a.Int(2)))
	return uintptr(id), err
}

// shmatPlacement decides where shmat maps: at addr (rounded down to
// SHMLBA with SHM_RND), replacing what is there only with SHM_REMAP, or
// anywhere for a null addr. Linux: ipc/shm.c, do_shmat().
func shmatPlacement(addr uintptr, flags int) (uintptr, bool, error) {
	if addr == 0 {
		if flags&sysv.SHM_REMAP != 0 {
			return 0, false, unix.EINVAL
		}
		return 0, false, nil
	}
	if addr%sysv.SHMLBA != 0 {
		if flags&sysv.SHM_RND == 0 {
			return 0, false, unix.EINVAL
		}
		addr &^= sysv.SHMLBA - 1
		if addr == 0 && flags&sysv.SHM_REMAP != 0 {
			return 0, false, unix.EINVAL
		}
	}
	return addr, true, nil
}

// Shmat implements shmat(2): the attachment is a shared mapping of the
// segment's pages.
func Shmat(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, flags := a.Int(0), int(a.Int(2))
	if id < 0 {
		return 0, unix.EINVAL
	}
	addr, fixed, err := shmatPlacement(a.Pointer(1), flags)
	if err != nil {
		return 0, err
	}
	c := ipcCaller(t)
	att, err := ipcNamespace(t).ShmAttach(c, id, flags)
	if err != nil {
		return 0, err
	}
	size := uintptr(att.Size())
	opts := mm.MmapOpts{Addr: addr, Length: size, Prot: att.Prot, MaxProt: att.MaxProt, Shared: true,
		Name: att.Name, File: att.File()}
	switch {
	case fixed && flags&sysv.SHM_REMAP != 0:
		opts.Fixed = true
	case fixed:
		if addr+size < addr {
			att.Done(c, false)
			return 0, unix.EINVAL
		}
		opts.NoReplace = true
	case !withinAddressSpaceLimit(t, size):
		att.Done(c, false)
		return 0, unix.ENOMEM
	}
	got, err := t.MM().Mmap(opts)
	att.Done(c, err == nil)
	if err == unix.EEXIST {
		// Something is mapped there already.
		err = unix.EINVAL
	}
	return got, err
}

// Shmdt implements shmdt(2).
func Shmdt(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	att, err := t.MM().Shmdt(a.Pointer(0))
	if err != nil {
		return 0, err
	}
	if sa, ok := att.(*sysv.Attachment); ok {
		sa.Detached(ipcCaller(t))
	}
	return 0, nil
}

// Shmctl implements shmctl(2). Linux: ipc/shm.c, ksys_shmctl().
func Shmctl(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, cmd, buf := a.Int(0), int(a.Int(1)), a.Pointer(2)
	if id < 0 || cmd < 0 {
		return 0, unix.EINVAL
	}
	ns, c := ipcNamespace(t), ipcCaller(t)
	switch cmd {
	case sysv.IPC_INFO:
		info, idx := ns.ShmLimits()
		return uintptr(idx), copyOutStruct(t, buf, &info)
	case sysv.SHM_INFO:
		info, idx := ns.ShmUsage()
		return uintptr(idx), copyOutStruct(t, buf, &info)
	case sysv.IPC_STAT, sysv.SHM_STAT, sysv.SHM_STAT_ANY:
		ds, ret, err := ns.ShmStat(c, id, cmd)
		if err != nil {
			return 0, err
		}
		return uintptr(ret), copyOutStruct(t, buf, &ds)
	case sysv.IPC_SET:
		var ds sysv.ShmidDS
		if err := copyInStruct(t, buf, &ds); err != nil {
			return 0, err
		}
		return 0, ns.ShmSet(c, id, &ds.Perm)
	case sysv.IPC_RMID:
		return 0, ns.ShmRemove(c, id)
	case sysv.SHM_LOCK, sysv.SHM_UNLOCK:
		if r, err := t.Rlimit(unix.RLIMIT_MEMLOCK); err == nil {
			c.MemlockLimit = r.Cur
		}
		return 0, ns.ShmLock(c, id, cmd == sysv.SHM_LOCK)
	}
	return 0, unix.EINVAL
}

// Semget implements semget(2).
func Semget(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, err := ipcNamespace(t).SemGet(ipcCaller(t), a.Int(0), a.Int(1), int(a.Int(2)))
	return uintptr(id), err
}

// Semop implements semop(2): semtimedop without a timeout.
func Semop(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, semtimedop(t, a.Int(0), a.Pointer(1), a.Uint(2), 0)
}

// Semtimedop implements semtimedop(2).
func Semtimedop(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, semtimedop(t, a.Int(0), a.Pointer(1), a.Uint(2), a.Pointer(3))
}

// semtimedop copies in the timeout (first, as Linux), then the
// operations, and waits at most the timeout's relative time (EAGAIN
// after it). Linux: ipc/sem.c, ksys_semtimedop() and do_semtimedop().
func semtimedop(t *kernel.Task, id int32, sopsAddr uintptr, nsops uint32, tsAddr uintptr) error {
	var ts abi.Timespec
	if tsAddr != 0 {
		if err := copyInStruct(t, tsAddr, &ts); err != nil {
			return err
		}
	}
	if nsops < 1 || id < 0 {
		return unix.EINVAL
	}
	ns := ipcNamespace(t)
	if sysv.TooManySemops(uint64(nsops), ns.Limits()) {
		return unix.E2BIG
	}
	if uint64(nsops)*sysv.SemBufSize > math.MaxInt32 {
		return unix.ENOMEM // as Linux's kvmalloc refuses
	}
	b := make([]byte, int(nsops)*sysv.SemBufSize)
	if n, err := t.CopyIn(sopsAddr, b); err != nil || n != len(b) {
		return unix.EFAULT
	}
	var deadline time.Time
	if tsAddr != 0 {
		if !timespecValid(ts) {
			return unix.EINVAL
		}
		deadline = time.Now().Add(toDuration(ts))
	}
	undo := func() *sysv.UndoList {
		return t.SemUndo(func() kernel.SemUndo { return ns.NewUndoList() }).(*sysv.UndoList)
	}
	err := ns.Semop(ipcCaller(t), id, sysv.DecodeSemBufs(b), deadline, ipcBlocker{t}, undo)
	if err == sysv.ErrInterrupted {
		return unix.EINTR
	}
	return err
}

// Semctl implements semctl(2); the fourth argument is union semun,
// passed by value: an int for SETVAL, a pointer otherwise. Linux:
// ipc/sem.c, ksys_semctl().
func Semctl(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, num, cmd, arg := a.Int(0), a.Int(1), int(a.Int(2)), a.Pointer(3)
	if id < 0 {
		return 0, unix.EINVAL
	}
	ns, c := ipcNamespace(t), ipcCaller(t)
	switch cmd {
	case sysv.IPC_INFO, sysv.SEM_INFO:
		info, idx := ns.SemLimits(cmd)
		return uintptr(idx), copyOutStruct(t, arg, &info)
	case sysv.IPC_STAT, sysv.SEM_STAT, sysv.SEM_STAT_ANY:
		ds, ret, err := ns.SemStat(c, id, cmd)
		if err != nil {
			return 0, err
		}
		return uintptr(ret), copyOutStruct(t, arg, &ds)
	case sysv.GETVAL, sysv.GETPID, sysv.GETNCNT, sysv.GETZCNT:
		v, err := ns.SemValue(c, id, num, cmd)
		return uintptr(v), err
	case sysv.GETALL:
		vals, err := ns.SemGetAll(c, id)
		if err != nil {
			return 0, err
		}
		b := make([]byte, 2*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint16(b[2*i:], v)
		}
		if n, err := t.CopyOut(arg, b); err != nil || n != len(b) {
			return 0, unix.EFAULT
		}
		return 0, nil
	case sysv.SETVAL:
		return 0, ns.SemSetVal(c, id, num, int32(uint32(arg)))
	case sysv.SETALL:
		return 0, ns.SemSetAll(c, id, func(n int) ([]uint16, error) {
			b := make([]byte, 2*n)
			if k, err := t.CopyIn(arg, b); err != nil || k != len(b) {
				return nil, unix.EFAULT
			}
			vals := make([]uint16, n)
			for i := range vals {
				vals[i] = binary.LittleEndian.Uint16(b[2*i:])
			}
			return vals, nil
		})
	case sysv.IPC_SET:
		var ds sysv.SemidDS
		if err := copyInStruct(t, arg, &ds); err != nil {
			return 0, err
		}
		return 0, ns.SemSet(c, id, &ds.Perm)
	case sysv.IPC_RMID:
		return 0, ns.SemRemove(c, id)
	}
	return 0, unix.EINVAL
}

// Msgget implements msgget(2).
func Msgget(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, err := ipcNamespace(t).MsgGet(ipcCaller(t), a.Int(0), int(a.Int(1)))
	return uintptr(id), err
}

// Msgsnd implements msgsnd(2): struct msgbuf is a long type followed by
// the text. Linux: ipc/msg.c, ksys_msgsnd() and do_msgsnd().
func Msgsnd(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, msgp, size, flags := a.Int(0), a.Pointer(1), a.Size(2), int(a.Int(3))
	var mtype int64
	if err := copyInStruct(t, msgp, &mtype); err != nil {
		return 0, err
	}
	ns := ipcNamespace(t)
	if size > uint64(max(ns.Limits().MsgMax, 0)) || id < 0 || mtype < 1 {
		return 0, unix.EINVAL
	}
	text := make([]byte, size)
	if n, err := t.CopyIn(msgp+8, text); err != nil || n != len(text) {
		return 0, unix.EFAULT
	}
	err := ns.MsgSend(ipcCaller(t), id, mtype, text, flags, ipcBlocker{t})
	if err == sysv.ErrInterrupted {
		return 0, kernel.ERESTARTNOHAND
	}
	return 0, err
}

// Msgrcv implements msgrcv(2). The message has left the queue before it
// is copied out: a bad buffer loses it (EFAULT), as on Linux.
// Linux: ipc/msg.c, do_msgrcv() and do_msg_fill().
func Msgrcv(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, msgp, size, msgtyp, flags := a.Int(0), a.Pointer(1), int64(a.Size(2)), a.Int64(3), int(a.Int(4))
	if id < 0 || size < 0 {
		return 0, unix.EINVAL
	}
	mtype, text, err := ipcNamespace(t).MsgReceive(ipcCaller(t), id, size, msgtyp, flags, ipcBlocker{t})
	if err == sysv.ErrInterrupted {
		return 0, kernel.ERESTARTNOHAND
	}
	if err != nil {
		return 0, err
	}
	if err := copyOutStruct(t, msgp, &mtype); err != nil {
		return 0, err
	}
	if n, err := t.CopyOut(msgp+8, text); err != nil || n != len(text) {
		return 0, unix.EFAULT
	}
	return uintptr(len(text)), nil
}

// Msgctl implements msgctl(2). Linux: ipc/msg.c, ksys_msgctl().
func Msgctl(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	id, cmd, buf := a.Int(0), int(a.Int(1)), a.Pointer(2)
	if id < 0 || cmd < 0 {
		return 0, unix.EINVAL
	}
	ns, c := ipcNamespace(t), ipcCaller(t)
	switch cmd {
	case sysv.IPC_INFO, sysv.MSG_INFO:
		info, idx := ns.MsgLimits(cmd)
		return uintptr(idx), copyOutStruct(t, buf, &info)
	case sysv.IPC_STAT, sysv.MSG_STAT, sysv.MSG_STAT_ANY:
		ds, ret, err := ns.MsgStat(c, id, cmd)
		if err != nil {
			return 0, err
		}
		return uintptr(ret), copyOutStruct(t, buf, &ds)
	case sysv.IPC_SET:
		var ds sysv.MsqidDS
		if err := copyInStruct(t, buf, &ds); err != nil {
			return 0, err
		}
		return 0, ns.MsgSet(c, id, &ds)
	case sysv.IPC_RMID:
		return 0, ns.MsgRemove(c, id)
	}
	return 0, unix.EINVAL
}
