package systrap

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// addressSpace is one stub process, cloned from the zygote on first use.
// Its first thread is traced by a master goroutine, locked to its own OS
// thread, that makes every change to the address space (mmap of the
// memory file, munmap, mprotect) and creates the threads that run
// application code. Those are never traced.
type addressSpace struct {
	p *Platform

	// mu guards the fields below.
	mu       sync.Mutex
	master   *master
	released bool
	// slots are the slots mapped in the stub, each holding a reference;
	// free are those of them no thread uses.
	slots []*slot
	free  []*slot
	// threads are the live stub threads, woken at release.
	threads map[*stubThread]struct{}
}

// master serves requests on the OS thread that traces the stub's first
// thread.
type master struct {
	requests chan func(st *tracee)
	stub     *tracee
}

// run executes fn on the master's thread, starting the stub first if
// needed.
func (as *addressSpace) run(fn func(st *tracee) error) error {
	as.mu.Lock()
	if as.released {
		as.mu.Unlock()
		return errors.New("systrap: address space released")
	}
	if as.master == nil {
		m, err := as.p.startMaster()
		if err != nil {
			as.mu.Unlock()
			return err
		}
		as.master = m
	}
	m := as.master
	as.mu.Unlock()
	done := make(chan error, 1)
	m.requests <- func(st *tracee) { done <- fn(st) }
	return <-done
}

// startMaster clones a stub from the zygote and seizes its thread from a
// new locked goroutine.
func (p *Platform) startMaster() (*master, error) {
	m := &master{requests: make(chan func(st *tracee))}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: when this goroutine ends its thread ends too,
		// and the stub with it (PTRACE_O_EXITKILL).
		runtime.LockOSThread()
		st, err := p.seizeStub()
		ready <- err
		if err != nil {
			return
		}
		m.stub = st
		for fn := range m.requests {
			fn(st)
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return m, nil
}

// seizeStub forks a stub from the zygote and stops it, traced by the
// calling OS thread, ready for injected calls.
func (p *Platform) seizeStub() (*tracee, error) {
	pid, err := p.zygote.fork()
	if err != nil {
		return nil, err
	}
	st := &tracee{pid: pid, tid: pid}
	fail := func(err error) (*tracee, error) {
		unix.Kill(pid, unix.SIGKILL)
		st.reap()
		return nil, err
	}
	if err := ptraceSeize(pid, unix.PTRACE_O_TRACESYSGOOD|unix.PTRACE_O_EXITKILL); err != nil {
		return fail(fmt.Errorf("PTRACE_SEIZE of stub %d: %w", pid, err))
	}
	if err := ptraceInterrupt(pid); err != nil {
		return fail(fmt.Errorf("PTRACE_INTERRUPT of stub %d: %w", pid, err))
	}
	for {
		sig, event, err := st.waitStopEvent()
		if err != nil {
			return fail(err)
		}
		if event == unix.PTRACE_EVENT_STOP {
			break
		}
		if err := unix.PtraceCont(pid, 0); err != nil {
			return fail(fmt.Errorf("stub %d stopped by %v: %w", pid, sig, err))
		}
	}
	if err := unix.PtraceGetRegs(pid, &st.readyRegs); err != nil {
		return fail(fmt.Errorf("PTRACE_GETREGS: %w", err))
	}
	// Stopped inside pause(): injected calls must not restart it.
	st.readyRegs.Orig_rax = ^uint64(0)
	return st, nil
}

// MapFile implements platform.AddressSpace.
func (as *addressSpace) MapFile(addr, length uintptr, offset uint64, prot int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	return as.run(func(st *tracee) error {
		r, err := st.inject(syscallSite, unix.SYS_MMAP, addr, length, uintptr(prot), unix.MAP_SHARED|unix.MAP_FIXED, stubMemoryFD, uintptr(offset))
		if err != nil {
			return err
		}
		if r != addr {
			return fmt.Errorf("stub mmap(%#x, %#x) = %#x", addr, length, r)
		}
		return nil
	})
}

// started reports whether the stub exists (nothing to undo otherwise).
func (as *addressSpace) started() bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.master != nil
}

// Unmap implements platform.AddressSpace.
func (as *addressSpace) Unmap(addr, length uintptr) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	if !as.started() {
		return nil
	}
	return as.run(func(st *tracee) error {
		return st.injectErr(unix.SYS_MUNMAP, addr, length)
	})
}

// Protect implements platform.AddressSpace.
func (as *addressSpace) Protect(addr, length uintptr, prot int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	if !as.started() {
		return nil
	}
	return as.run(func(st *tracee) error {
		err := st.injectErr(unix.SYS_MPROTECT, addr, length, uintptr(prot))
		if err == unix.ENOMEM {
			// Parts of the range were never faulted in; those will be
			// mapped with the new protection when they are.
			err = nil
		}
		return err
	})
}

// threadFlags make a stub thread; CLONE_CHILD_CLEARTID has the host
// clear the slot's state word (stateDead) and wake it when the thread
// ends, however it ends.
const threadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_CHILD_CLEARTID

// newThread creates a stub thread in the address space, with a slot of
// its own, and returns once it has trapped into the handler for the
// first time.
func (as *addressSpace) newThread() (*stubThread, error) {
	as.mu.Lock()
	var s *slot
	if n := len(as.free); n > 0 {
		s, as.free = as.free[n-1], as.free[:n-1]
	}
	as.mu.Unlock()
	reused := s != nil
	if !reused {
		var err error
		if s, err = as.p.slots.get(); err != nil {
			return nil, err
		}
	}
	s.reset()
	mapped := reused
	var pid, tid int
	err := as.run(func(m *tracee) error {
		if !mapped {
			r, err := m.inject(syscallSite, unix.SYS_MMAP, uintptr(s.addr()), slotSize,
				unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED, stubSlotFD, uintptr(s.off))
			if err != nil {
				return err
			}
			if r != uintptr(s.addr()) {
				return fmt.Errorf("stub mmap of a slot = %#x", r)
			}
			mapped = true
		}
		r, err := m.injectWith(threadCloneSite, func(regs *unix.PtraceRegs) { regs.R12 = s.addr() },
			unix.SYS_CLONE, threadFlags, 0, 0, uintptr(s.addr()+stState), 0)
		if err != nil {
			return err
		}
		if e := int64(r); e < 0 {
			return fmt.Errorf("clone in stub: %w", unix.Errno(-e))
		}
		pid, tid = m.pid, int(r)
		return nil
	})
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released {
		// Release has let go of the slots it knew; this one is ours
		// to drop (the stub is dead, or about to be).
		if !reused {
			s.put()
		}
		if err == nil {
			err = errors.New("systrap: address space released")
		}
		return nil, err
	}
	if mapped && !reused {
		as.slots = append(as.slots, s) // its reference is the address space's
	}
	if err != nil {
		if mapped {
			as.free = append(as.free, s)
		} else {
			s.put()
		}
		return nil, err
	}
	s.refs.Add(1) // the thread's
	t := &stubThread{as: as, slot: s, pid: pid, tid: tid}
	if as.threads == nil {
		as.threads = map[*stubThread]struct{}{}
	}
	as.threads[t] = struct{}{}
	return t, nil
}

// retire takes a thread that has exited out of the address space; its
// slot, still mapped in the stub, is kept for the next thread.
func (as *addressSpace) retire(t *stubThread, exited bool) {
	as.mu.Lock()
	delete(as.threads, t)
	if exited && !as.released {
		as.free = append(as.free, t.slot)
	}
	as.mu.Unlock()
	t.slot.put()
}

// Release implements platform.AddressSpace: the stub process is killed
// and reaped, every thread still waiting on it woken, and the slots let
// go.
func (as *addressSpace) Release() {
	as.mu.Lock()
	if as.released {
		as.mu.Unlock()
		return
	}
	as.released = true
	m, slots, threads := as.master, as.slots, as.threads
	as.slots, as.free, as.threads = nil, nil, nil
	as.mu.Unlock()
	if m == nil {
		return
	}
	close(m.requests)
	unix.Kill(m.stub.pid, unix.SIGKILL)
	m.stub.reap()
	// The stub is gone: nothing writes the slots any more.
	for t := range threads {
		t.dead.Store(true)
		t.slot.state().Store(stateDead)
		futexWakeOne(t.slot.state())
	}
	for _, s := range slots {
		s.put()
	}
}

func (as *addressSpace) isReleased() bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.released
}

// checkRange keeps every injected change inside the application's range:
// a kernel bug must not be able to unmap the stub or its slots.
func checkRange(addr, length uintptr) error {
	end := addr + length
	if addr < platform.MinUserAddress || end < addr || end > platform.MaxUserAddress || addr%pageSize != 0 || length%pageSize != 0 {
		return fmt.Errorf("systrap: range [%#x, %#x) outside the application address space: %w", addr, end, unix.EINVAL)
	}
	return nil
}
