package syscalls

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/futex"
	"magawa/kernel/kernel"
	"magawa/kernel/mm"
)

// futex(2) operations and flags. Linux: include/uapi/linux/futex.h.
const (
	futexWait          = 0
	futexWake          = 1
	futexFD            = 2
	futexRequeue       = 3
	futexCmpRequeue    = 4
	futexWakeOp        = 5
	futexLockPI        = 6
	futexUnlockPI      = 7
	futexTrylockPI     = 8
	futexWaitBitset    = 9
	futexWakeBitset    = 10
	futexWaitRequeuePI = 11
	futexCmpRequeuePI  = 12
	futexLockPI2       = 13

	futexPrivateFlag   = 128
	futexClockRealtime = 256
	futexBitsetAll     = 0xffffffff
)

// Futexes connects the kernel's tasks to the futex manager.
type Futexes struct {
	M *futex.Manager
}

// NewFutexes returns the futex state of a kernel; alive reports whether a
// thread ID is in use (for priority-inheritance owners).
func NewFutexes(alive func(tid uint32) bool) *Futexes {
	return &Futexes{M: futex.NewManager(alive)}
}

// futexMemory adapts an address space to futex.Memory.
type futexMemory struct{ *mm.MM }

func (m futexMemory) FutexKey(addr uintptr, private bool) (futex.Key, error) {
	k, err := m.MM.FutexKey(addr, private)
	return futex.Key(k), err
}

// taskBlocker adapts a task's interruptible sleep to futex.Blocker.
type taskBlocker struct{ t *kernel.Task }

func (b taskBlocker) Block(wake <-chan struct{}, deadline time.Time) error {
	switch err := b.t.Block(wake, deadline); err {
	case kernel.ErrInterrupted:
		return futex.ErrInterrupted
	case kernel.ErrTimedOut:
		return futex.ErrTimedOut
	default:
		return err
	}
}

// ExitThread implements kernel.Futexes: the robust list first, then the
// PI futexes the thread still owns. Linux: kernel/futex/core.c,
// futex_exit_release().
func (f *Futexes) ExitThread(t *kernel.Task, robustHead uintptr) {
	if robustHead != 0 {
		f.M.ExitRobustList(futexMemory{t.MM()}, robustHead, uint32(t.TID()))
	}
	f.M.ExitPI(uint32(t.TID()))
}

// WakeAddress implements kernel.Futexes (CLONE_CHILD_CLEARTID; Linux wakes
// with a shared key, which for private memory equals the private one).
func (f *Futexes) WakeAddress(t *kernel.Task, addr uintptr) {
	if key, err := futex.KeyOf(futexMemory{t.MM()}, addr, false); err == nil {
		f.M.Wake(key, 1, futexBitsetAll)
	}
}

// futexWaitRestartable waits; interrupted, a wait with a timeout restarts
// (restart_syscall) until the same deadline, one without restarts as it is.
// Linux: kernel/futex/waitwake.c, futex_wait().
func futexWaitRestartable(t *kernel.Task, m *futex.Manager, addr uintptr, private bool, val, bitset uint32, d time.Time) error {
	err := m.Wait(futexMemory{t.MM()}, taskBlocker{t}, addr, private, val, bitset, d)
	if !errors.Is(err, futex.ErrInterrupted) {
		return err
	}
	if d.IsZero() {
		return kernel.ERESTARTSYS
	}
	t.SetRestart(func(t *kernel.Task) (uintptr, error) {
		return 0, futexWaitRestartable(t, m, addr, private, val, bitset, d)
	})
	return kernel.ERESTART_RESTARTBLOCK
}

// futexesOf returns the kernel's futex state.
func futexesOf(t *kernel.Task) *Futexes { return t.Kernel().Futexes.(*Futexes) }

// Futex implements futex(2). Linux: kernel/futex/syscalls.c.
func Futex(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	addr, op, val := a.Pointer(0), int(a.Int(1)), a.Uint(2)
	tsAddr, addr2, val3 := a.Pointer(3), a.Pointer(4), a.Uint(5)
	cmd := op &^ (futexPrivateFlag | futexClockRealtime)
	private := op&futexPrivateFlag != 0
	realtime := op&futexClockRealtime != 0
	// FUTEX_CLOCK_REALTIME goes only with the absolute waits (FUTEX_WAIT
	// refuses it on current Linux, whatever futex(2) says).
	if realtime && cmd != futexWaitBitset && cmd != futexWaitRequeuePI && cmd != futexLockPI2 {
		return 0, unix.ENOSYS
	}
	m := futexesOf(t).M
	mem := futexMemory{t.MM()}
	blk := taskBlocker{t}
	tid := uint32(t.TID())
	deadline := func(relative bool) (time.Time, error) {
		if tsAddr == 0 {
			return time.Time{}, nil
		}
		var ts [2]int64
		if err := copyInStruct(t, tsAddr, &ts); err != nil {
			return time.Time{}, err
		}
		return futex.Deadline(ts[0], ts[1], relative, realtime)
	}
	switch cmd {
	case futexWait, futexWaitBitset:
		bitset := uint32(futexBitsetAll)
		if cmd == futexWaitBitset {
			bitset = val3
		}
		d, err := deadline(cmd == futexWait)
		if err != nil {
			return 0, err
		}
		return 0, futexWaitRestartable(t, m, addr, private, val, bitset, d)
	case futexWake, futexWakeBitset:
		bitset := uint32(futexBitsetAll)
		if cmd == futexWakeBitset {
			bitset = val3
			if bitset == 0 {
				return 0, unix.EINVAL
			}
		}
		key, err := futex.KeyOf(mem, addr, private)
		if err != nil {
			return 0, err
		}
		n, err := m.Wake(key, int(int32(val)), bitset)
		return uintptr(n), err
	case futexRequeue, futexCmpRequeue:
		var cmp *uint32
		if cmd == futexCmpRequeue {
			cmp = &val3
		}
		n, err := m.Requeue(mem, addr, addr2, private, int(int32(val)), int(int32(tsAddr)), cmp)
		return uintptr(n), err
	case futexWakeOp:
		n, err := m.WakeOp(mem, addr, addr2, private, int(int32(val)), int(int32(tsAddr)), val3)
		return uintptr(n), err
	case futexLockPI, futexLockPI2:
		if cmd == futexLockPI {
			realtime = true // LOCK_PI always measures CLOCK_REALTIME
		}
		d, err := deadline(false)
		if err != nil {
			return 0, err
		}
		return 0, waitErr(m.LockPI(mem, blk, addr, private, tid, d), kernel.ERESTARTNOINTR)
	case futexTrylockPI:
		return 0, waitErr(m.TryLockPI(mem, addr, private, tid), kernel.ERESTARTNOINTR)
	case futexUnlockPI:
		return 0, m.UnlockPI(mem, addr, private, tid)
	case futexWaitRequeuePI:
		d, err := deadline(false)
		if err != nil {
			return 0, err
		}
		return 0, waitErr(m.WaitRequeuePI(mem, blk, addr, private, val, addr2, tid, d), kernel.ERESTARTNOINTR)
	case futexCmpRequeuePI:
		n, err := m.CmpRequeuePI(mem, addr, addr2, private, int(int32(val)), int(int32(tsAddr)), val3)
		return uintptr(n), err
	case futexFD:
		return 0, unix.ENOSYS // removed from Linux in 2.6.26
	}
	return 0, unix.ENOSYS
}

// waitErr maps the futex package's sleep results to errnos: interrupted
// waits restart as the operation's restart code says.
func waitErr(err error, restart unix.Errno) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, futex.ErrInterrupted):
		return restart
	}
	return err
}

// FutexWaitv implements futex_waitv(2).
func FutexWaitv(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	waitersAddr, nr, flags, tsAddr, clock := a.Pointer(0), a.Uint(1), a.Uint(2), a.Pointer(3), a.Int(4)
	if flags != 0 || nr == 0 || nr > 128 {
		return 0, unix.EINVAL
	}
	buf := make([]byte, 24*int(nr))
	if n, err := t.CopyIn(waitersAddr, buf); err != nil || n != len(buf) {
		return 0, unix.EFAULT
	}
	vs, err := futex.DecodeWaitv(buf)
	if err != nil {
		return 0, err
	}
	var deadline time.Time
	if tsAddr != 0 {
		if clock != unix.CLOCK_MONOTONIC && clock != unix.CLOCK_REALTIME {
			return 0, unix.EINVAL
		}
		var ts [2]int64
		if err := copyInStruct(t, tsAddr, &ts); err != nil {
			return 0, err
		}
		if deadline, err = futex.Deadline(ts[0], ts[1], false, clock == unix.CLOCK_REALTIME); err != nil {
			return 0, err
		}
	}
	i, err := futexesOf(t).M.Waitv(futexMemory{t.MM()}, taskBlocker{t}, vs, deadline)
	return uintptr(i), waitErr(err, kernel.ERESTARTSYS)
}
