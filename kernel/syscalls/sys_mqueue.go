package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/ipc/mqueue"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// POSIX message queues: descriptors of package mqueue's queues. glibc
// strips the name's leading slash before the call. Blocked sends and
// receives restart after a handler with SA_RESTART (ERESTARTSYS), with
// the same absolute timeout. Linux: ipc/mqueue.c.

// mqBlocker adapts a task's interruptible sleep to mqueue.Blocker.
type mqBlocker struct{ t *kernel.Task }

func (b mqBlocker) Block(wake <-chan struct{}, deadline time.Time) error {
	switch err := b.t.Block(wake, deadline); err {
	case kernel.ErrInterrupted:
		return mqueue.ErrInterrupted
	case kernel.ErrTimedOut:
		return mqueue.ErrTimedOut
	default:
		return err
	}
}

// mqDeadline copies in an absolute CLOCK_REALTIME timeout (0: none).
// Linux checks it before anything else, whether the call would wait or
// not. Linux: ipc/mqueue.c, prepare_timeout().
func mqDeadline(t *kernel.Task, addr uintptr) (time.Time, error) {
	if addr == 0 {
		return time.Time{}, nil
	}
	var ts abi.Timespec
	if err := copyInStruct(t, addr, &ts); err != nil {
		return time.Time{}, err
	}
	if !timespecValid(ts) {
		return time.Time{}, unix.EINVAL
	}
	return time.Unix(ts.Sec, ts.Nsec), nil
}

// mqOf returns the file at fd and the queue it opens, EBADF if it opens
// none; the caller drops the file's reference.
func mqOf(t *kernel.Task, fd int32) (*vfs.File, *mqueue.Queue, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, unix.EBADF
	}
	q, err := mqueue.QueueOf(f)
	if err != nil {
		f.DecRef()
		return nil, nil, err
	}
	return f, q, nil
}

// MqOpen implements mq_open(2). The descriptor is close-on-exec whatever
// the flags say, as Linux's is.
func MqOpen(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	flags, mode, attrAddr := int(a.Int(1)), a.Uint(2), a.Pointer(3)
	var attr *mqueue.Attr
	if attrAddr != 0 {
		attr = &mqueue.Attr{}
		if err := copyInStruct(t, attrAddr, attr); err != nil {
			return 0, err
		}
	}
	name, err := copyInPath(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	f, err := ipcOf(t).mq.Open(t.FileContext().Creds, name, flags, mode, t.Umask(), attr)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	// Every close tells the queue (mq_notify registrations end with a
	// close by their process); the hooks also do what lockID's do, as a
	// file has one set.
	q, _ := mqueue.QueueOf(f)
	sx, err := f.Statx(t.FileContext(), unix.STATX_INO)
	if err != nil {
		return 0, err
	}
	id := vfs.IDOf(&sx)
	locks := t.Kernel().FileLocks()
	f.SetLockHooks(&vfs.LockHooks{
		Closed: func(table *vfs.FDTable) {
			locks.ReleasePOSIX(id, table)
			q.Closed(table)
		},
		Released: func() { locks.ReleaseFile(id, f) },
	})
	fd, err := t.FDTable().Install(f, 0, true, t.MaxFDs())
	return uintptr(fd), err
}

// MqUnlink implements mq_unlink(2).
func MqUnlink(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	name, err := copyInPath(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	return 0, ipcOf(t).mq.Unlink(t.FileContext().Creds, name)
}

// MqTimedsend implements mq_timedsend(2). Linux: ipc/mqueue.c,
// do_mq_timedsend().
func MqTimedsend(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	fd, msgAddr, size, prio := a.Int(0), a.Pointer(1), a.Size(2), a.Uint(3)
	if prio >= mqueue.MQ_PRIO_MAX {
		return 0, unix.EINVAL
	}
	deadline, err := mqDeadline(t, a.Pointer(4))
	if err != nil {
		return 0, err
	}
	f, q, err := mqOf(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if !f.Writable() {
		return 0, unix.EBADF
	}
	if size > uint64(q.Msgsize()) {
		return 0, unix.EMSGSIZE
	}
	data := make([]byte, size)
	if n, err := t.CopyIn(msgAddr, data); err != nil || n != len(data) {
		return 0, unix.EFAULT
	}
	sender := mqueue.Notification{PID: t.TGID(), UID: t.Credentials().UID}
	err = q.Send(data, prio, f.NonBlocking(), deadline, mqBlocker{t}, sender)
	if err == mqueue.ErrInterrupted {
		return 0, kernel.ERESTARTSYS
	}
	return 0, err
}

// MqTimedreceive implements mq_timedreceive(2). The message has left the
// queue before it is copied out. Linux: ipc/mqueue.c,
// do_mq_timedreceive().
func MqTimedreceive(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	fd, msgAddr, size, prioAddr := a.Int(0), a.Pointer(1), a.Size(2), a.Pointer(3)
	deadline, err := mqDeadline(t, a.Pointer(4))
	if err != nil {
		return 0, err
	}
	f, q, err := mqOf(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if !f.Readable() {
		return 0, unix.EBADF
	}
	data, prio, err := q.Receive(int64(min(size, 1<<62)), f.NonBlocking(), deadline, mqBlocker{t})
	if err == mqueue.ErrInterrupted {
		return 0, kernel.ERESTARTSYS
	}
	if err != nil {
		return 0, err
	}
	if prioAddr != 0 {
		if err := copyOutStruct(t, prioAddr, &prio); err != nil {
			return 0, err
		}
	}
	if n, err := t.CopyOut(msgAddr, data); err != nil || n != len(data) {
		return 0, unix.EFAULT
	}
	return uintptr(len(data)), nil
}

// MqNotify implements mq_notify(2). Linux: ipc/mqueue.c, do_mq_notify().
func MqNotify(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	var ev *mqueue.SigEvent
	if addr := a.Pointer(1); addr != 0 {
		var se sigevent
		if err := copyInStruct(t, addr, &se); err != nil {
			return 0, err
		}
		ev = &mqueue.SigEvent{Notify: se.Notify, Signo: se.Signo, Value: se.Value}
		if err := mqueue.CheckSigEvent(ev); err != nil {
			return 0, err
		}
	}
	f, q, err := mqOf(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, q.Notify(t.TGID(), t.FDTable(), ev)
}

// MqGetsetattr implements mq_getsetattr(2): only O_NONBLOCK may change.
// Linux: ipc/mqueue.c, do_mq_getsetattr().
func MqGetsetattr(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	newAddr, oldAddr := a.Pointer(1), a.Pointer(2)
	var attr mqueue.Attr
	if newAddr != 0 {
		if err := copyInStruct(t, newAddr, &attr); err != nil {
			return 0, err
		}
		if attr.Flags&^unix.O_NONBLOCK != 0 {
			return 0, unix.EINVAL
		}
	}
	f, q, err := mqOf(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	old := q.Attr(f)
	if newAddr != 0 {
		f.SetFlags(f.Flags()&^unix.O_NONBLOCK | int(attr.Flags))
	}
	if oldAddr != 0 {
		return 0, copyOutStruct(t, oldAddr, &old)
	}
	return 0, nil
}
