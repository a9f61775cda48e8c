package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// poll(2) event bits beyond the waiter package's.
const (
	pollNval = 0x020
	pollOut  = waiter.EventOut
	pollIn   = waiter.EventIn
	// pollAlways are reported whether asked for or not.
	pollAlways = waiter.EventErr | waiter.EventHUp | pollNval
	// selectIn, selectOut and selectEx map select's sets to poll bits.
	// Linux: fs/select.c, POLLIN_SET, POLLOUT_SET, POLLEX_SET.
	selectIn  = waiter.EventIn | waiter.EventRdNorm | 0x080 /* RDBAND */ | waiter.EventHUp | waiter.EventErr
	selectOut = waiter.EventOut | 0x100 /* WRNORM */ | 0x200 /* WRBAND */ | waiter.EventErr
	selectEx  = waiter.EventPri
)

type pollFD struct {
	FD      int32
	Events  int16
	Revents int16
}

// pollTarget is one descriptor being waited on.
type pollTarget struct {
	fd     int32
	events uint32
	file   *vfs.File
	entry  *waiter.Entry
}

// readiness of a file: waitable files say; other files (regular files,
// host streams) are always ready, as for Linux's regular files.
func readiness(f *vfs.File, mask uint32) uint32 {
	if w, ok := f.Impl.(vfs.Waitable); ok {
		return w.Readiness(mask | pollAlways)
	}
	return mask & (pollIn | pollOut | waiter.EventRdNorm | 0x100)
}

// pollTargets waits until one of targets is ready or the deadline passes
// (nil: forever; a past deadline: do not wait), and returns the readiness
// of each. Linux: fs/select.c, do_poll().
func pollTargets(t *kernel.Task, targets []pollTarget, deadline *time.Time) ([]uint32, error) {
	ready := make([]uint32, len(targets))
	var ch chan struct{}
	defer func() {
		for _, tg := range targets {
			if tg.entry != nil {
				tg.file.Impl.(vfs.Waitable).EventUnregister(tg.entry)
			}
		}
	}()
	for {
		n := 0
		for i, tg := range targets {
			if tg.file == nil {
				ready[i] = 0
				if tg.fd >= 0 {
					ready[i] = pollNval
					n++
				}
				continue
			}
			ready[i] = readiness(tg.file, tg.events) & (tg.events | pollAlways)
			if ready[i] != 0 {
				n++
			}
		}
		if n > 0 || (deadline != nil && !time.Now().Before(*deadline)) {
			return ready, nil
		}
		if ch == nil {
			ch = make(chan struct{}, 1)
			for i := range targets {
				tg := &targets[i]
				if tg.file == nil {
					continue
				}
				if w, ok := tg.file.Impl.(vfs.Waitable); ok {
					tg.entry = waiter.NewEntry(tg.events|pollAlways, func(uint32) {
						select {
						case ch <- struct{}{}:
						default:
						}
					})
					w.EventRegister(tg.entry)
				}
			}
			continue // look again now that no event can be missed
		}
		var d time.Time
		if deadline != nil {
			d = *deadline
		}
		switch err := t.Block(ch, d); err {
		case kernel.ErrInterrupted:
			return nil, kernel.ERESTARTNOHAND
		case kernel.ErrTimedOut:
			return ready, nil
		}
	}
}

// Poll implements poll(2).
func Poll(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return doPoll(t, a.Pointer(0), a.Uint(1), msDeadline(a.Int(2)))
}

// Ppoll implements ppoll(2).
func Ppoll(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	var deadline *time.Time
	if a.Pointer(2) != 0 {
		ts, err := copyInTimespec(t, a.Pointer(2))
		if err != nil {
			return 0, err
		}
		d := time.Now().Add(toDuration(ts))
		deadline = &d
	}
	return withSigmask(t, a.Pointer(3), a.Size(4), func() (uintptr, error) {
		return doPoll(t, a.Pointer(0), a.Uint(1), deadline)
	})
}

func doPoll(t *kernel.Task, addr uintptr, nfds uint32, deadline *time.Time) (uintptr, error) {
	if int(nfds) > t.MaxFDs() {
		return 0, unix.EINVAL
	}
	fds := make([]pollFD, nfds)
	for i := range fds {
		if err := copyInStruct(t, addr+uintptr(8*i), &fds[i]); err != nil {
			return 0, err
		}
	}
	targets := make([]pollTarget, nfds)
	for i, p := range fds {
		targets[i] = pollTarget{fd: p.FD, events: uint32(uint16(p.Events))}
		if p.FD >= 0 {
			if f, err := getFile(t, p.FD); err == nil {
				targets[i].file = f
				defer f.DecRef()
			}
		}
	}
	ready, err := pollTargets(t, targets, deadline)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range fds {
		fds[i].Revents = int16(ready[i])
		if ready[i] != 0 {
			n++
		}
		if err := copyOutStruct(t, addr+uintptr(8*i), &fds[i]); err != nil {
			return 0, err
		}
	}
	return uintptr(n), nil
}

// Select implements select(2).
func Select(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	var deadline *time.Time
	tvAddr := a.Pointer(4)
	if tvAddr != 0 {
		var tv abi.Timeval
		if err := copyInStruct(t, tvAddr, &tv); err != nil {
			return 0, err
		}
		if tv.Sec < 0 || tv.Usec < 0 || tv.Usec >= 1e6 {
			return 0, unix.EINVAL
		}
		d := time.Now().Add(time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond)
		deadline = &d
	}
	n, err := doSelect(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Pointer(3), deadline)
	if tvAddr != 0 && err == nil {
		// Linux reports the time left.
		left := max(time.Until(*deadline), 0)
		tv := abi.Timeval{Sec: int64(left / time.Second), Usec: int64(left % time.Second / time.Microsecond)}
		copyOutStruct(t, tvAddr, &tv)
	}
	return n, err
}

// Pselect6 implements pselect6(2); its sixth argument points at
// {const sigset_t *ss; size_t ss_len}.
func Pselect6(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	var deadline *time.Time
	if a.Pointer(4) != 0 {
		ts, err := copyInTimespec(t, a.Pointer(4))
		if err != nil {
			return 0, err
		}
		d := time.Now().Add(toDuration(ts))
		deadline = &d
	}
	var maskArg [2]uint64
	if a.Pointer(5) != 0 {
		if err := copyInStruct(t, a.Pointer(5), &maskArg); err != nil {
			return 0, err
		}
	}
	return withSigmask(t, uintptr(maskArg[0]), maskArg[1], func() (uintptr, error) {
		return doSelect(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Pointer(3), deadline)
	})
}

// doSelect is select's core: nfds may go up to the descriptor limit
// (FD_SETSIZE is only the C library's). Linux: fs/select.c, core_sys_select().
func doSelect(t *kernel.Task, nfds int32, rAddr, wAddr, eAddr uintptr, deadline *time.Time) (uintptr, error) {
	if nfds < 0 {
		return 0, unix.EINVAL
	}
	// Linux: fs/select.c, core_sys_select(): descriptors beyond the
	// table's size are ignored.
	if c := int32(t.FDTable().Capacity()); nfds > c {
		nfds = c
	}
	words := (int(nfds) + 63) / 64
	read := func(addr uintptr) ([]uint64, error) {
		set := make([]uint64, words)
		if addr == 0 || words == 0 {
			return set, nil
		}
		buf := make([]byte, 8*words)
		if n, err := t.CopyIn(addr, buf); err != nil || n != len(buf) {
			return nil, unix.EFAULT
		}
		for i := range set {
			for j := 0; j < 8; j++ {
				set[i] |= uint64(buf[8*i+j]) << (8 * j)
			}
		}
		return set, nil
	}
	sets := [3][]uint64{}
	masks := [3]uint32{selectIn, selectOut, selectEx}
	for i, addr := range []uintptr{rAddr, wAddr, eAddr} {
		s, err := read(addr)
		if err != nil {
			return 0, err
		}
		sets[i] = s
	}
	var targets []pollTarget
	for fd := int32(0); fd < nfds; fd++ {
		var events uint32
		for i := range sets {
			if sets[i][fd/64]&(1<<(fd%64)) != 0 {
				events |= masks[i]
			}
		}
		if events == 0 {
			continue
		}
		f, err := getFile(t, fd)
		if err != nil {
			return 0, unix.EBADF
		}
		defer f.DecRef()
		targets = append(targets, pollTarget{fd: fd, events: events, file: f})
	}
	ready, err := pollTargets(t, targets, deadline)
	if err != nil {
		return 0, err
	}
	var out [3][]uint64
	for i := range out {
		out[i] = make([]uint64, words)
	}
	n := 0
	for k, tg := range targets {
		for i := range sets {
			if sets[i][tg.fd/64]&(1<<(tg.fd%64)) != 0 && ready[k]&masks[i] != 0 {
				out[i][tg.fd/64] |= 1 << (tg.fd % 64)
				n++
			}
		}
	}
	for i, addr := range []uintptr{rAddr, wAddr, eAddr} {
		if addr == 0 || words == 0 {
			continue
		}
		buf := make([]byte, 8*words)
		for w, v := range out[i] {
			for j := 0; j < 8; j++ {
				buf[8*w+j] = byte(v >> (8 * j))
			}
		}
		if n, err := t.CopyOut(addr, buf); err != nil || n != len(buf) {
			return 0, unix.EFAULT
		}
	}
	return uintptr(n), nil
}
