package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/ipc/epoll"
	"magawa/kernel/ipc/eventfd"
	"magawa/kernel/kernel"
	"magawa/kernel/waiter"
)

// Eventfd implements eventfd(2).
func Eventfd(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return eventfd2(t, a.Uint(0), 0)
}

// Eventfd2 implements eventfd2(2).
func Eventfd2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return eventfd2(t, a.Uint(0), int(a.Int(1)))
}

func eventfd2(t *kernel.Task, initval uint32, flags int) (uintptr, error) {
	if flags&^(unix.EFD_CLOEXEC|unix.EFD_NONBLOCK|unix.EFD_SEMAPHORE) != 0 {
		return 0, unix.EINVAL
	}
	f := eventfd.New(uint64(initval), flags&unix.EFD_SEMAPHORE != 0, flags)
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, flags&unix.EFD_CLOEXEC != 0, t.MaxFDs())
	return uintptr(fd), err
}

// EpollCreate implements epoll_create(2).
func EpollCreate(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if a.Int(0) <= 0 {
		return 0, unix.EINVAL
	}
	return epollCreate(t, 0)
}

// EpollCreate1 implements epoll_create1(2).
func EpollCreate1(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	flags := int(a.Int(0))
	if flags&^unix.EPOLL_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	return epollCreate(t, flags)
}

func epollCreate(t *kernel.Task, flags int) (uintptr, error) {
	f := epoll.New(0)
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, flags&unix.EPOLL_CLOEXEC != 0, t.MaxFDs())
	return uintptr(fd), err
}

// epollEvent is struct epoll_event, packed on x86-64.
type epollEvent struct {
	Events uint32
	Data   [2]uint32
}

// EpollCtl implements epoll_ctl(2). Linux: fs/eventpoll.c, do_epoll_ctl().
func EpollCtl(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	epfd, op, fd, evAddr := a.Int(0), int(a.Int(1)), a.Int(2), a.Pointer(3)
	epf, err := getFile(t, epfd)
	if err != nil {
		return 0, err
	}
	defer epf.DecRef()
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	ep, ok := epoll.Of(epf)
	if !ok || epf == f {
		return 0, unix.EINVAL
	}
	var ev epollEvent
	if op != unix.EPOLL_CTL_DEL {
		b := abi.Bytes(&ev)[:12]
		if n, err := t.CopyIn(evAddr, b); err != nil || n != 12 {
			return 0, unix.EFAULT
		}
	}
	data := uint64(ev.Data[0]) | uint64(ev.Data[1])<<32
	switch op {
	case unix.EPOLL_CTL_ADD:
		return 0, ep.Add(f, fd, ev.Events, data)
	case unix.EPOLL_CTL_MOD:
		return 0, ep.Modify(f, fd, ev.Events, data)
	case unix.EPOLL_CTL_DEL:
		return 0, ep.Delete(f, fd)
	}
	return 0, unix.EINVAL
}

// EpollWait implements epoll_wait(2).
func EpollWait(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return epollWait(t, a.Int(0), a.Pointer(1), a.Int(2), msDeadline(a.Int(3)))
}

// EpollPwait implements epoll_pwait(2).
func EpollPwait(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return withSigmask(t, a.Pointer(4), a.Size(5), func() (uintptr, error) {
		return epollWait(t, a.Int(0), a.Pointer(1), a.Int(2), msDeadline(a.Int(3)))
	})
}

// EpollPwait2 implements epoll_pwait2(2).
func EpollPwait2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	var deadline *time.Time
	if a.Pointer(3) != 0 {
		ts, err := copyInTimespec(t, a.Pointer(3))
		if err != nil {
			return 0, err
		}
		d := time.Now().Add(toDuration(ts))
		deadline = &d
	}
	return withSigmask(t, a.Pointer(4), a.Size(5), func() (uintptr, error) {
		return epollWait(t, a.Int(0), a.Pointer(1), a.Int(2), deadline)
	})
}

// msDeadline turns a poll-style millisecond timeout into a deadline: nil
// waits forever (negative), a zero deadline does not wait.
func msDeadline(ms int32) *time.Time {
	if ms < 0 {
		return nil
	}
	d := time.Now().Add(time.Duration(ms) * time.Millisecond)
	return &d
}

// maxEpollEvents is EP_MAX_EVENTS.
const maxEpollEvents = (1<<31 - 1) / 12

func epollWait(t *kernel.Task, epfd int32, evAddr uintptr, maxEvents int32, deadline *time.Time) (uintptr, error) {
	if maxEvents <= 0 || maxEvents > maxEpollEvents {
		return 0, unix.EINVAL
	}
	epf, err := getFile(t, epfd)
	if err != nil {
		return 0, err
	}
	defer epf.DecRef()
	ep, ok := epoll.Of(epf)
	if !ok {
		return 0, unix.EINVAL
	}
	var e *waiter.Entry
	var ch <-chan struct{}
	for {
		if evs := ep.Collect(int(maxEvents)); len(evs) > 0 {
			buf := make([]byte, 12*len(evs))
			for i, ev := range evs {
				b := buf[12*i:]
				putUint32(b, ev.Events)
				putUint32(b[4:], uint32(ev.Data))
				putUint32(b[8:], uint32(ev.Data>>32))
			}
			if n, err := t.CopyOut(evAddr, buf); err != nil || n != len(buf) {
				return 0, unix.EFAULT
			}
			return uintptr(len(evs)), nil
		}
		if deadline != nil && !time.Now().Before(*deadline) {
			return 0, nil
		}
		if e == nil {
			e, ch = waiter.NewChannelEntry(waiter.EventIn)
			ep.EventRegister(e)
			defer ep.EventUnregister(e)
			continue // look again now that no event can be missed
		}
		var d time.Time
		if deadline != nil {
			d = *deadline
		}
		switch err := t.Block(ch, d); err {
		case kernel.ErrInterrupted:
			return 0, unix.EINTR
		case kernel.ErrTimedOut:
			return 0, nil
		}
	}
}

func putUint32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// withSigmask runs fn with the signal mask at maskAddr in force (the
// p-variants of the waiting calls), restoring the old mask afterwards.
func withSigmask(t *kernel.Task, maskAddr uintptr, size uint64, fn func() (uintptr, error)) (uintptr, error) {
	if maskAddr == 0 {
		return fn()
	}
	if size != sigsetSize {
		return 0, unix.EINVAL
	}
	var mask kernel.SignalSet
	if err := copyInStruct(t, maskAddr, &mask); err != nil {
		return 0, err
	}
	old := t.SigMask()
	t.SetSigMask(mask)
	r, err := fn()
	t.SetSigMask(old)
	return r, err
}
