package systrap

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform/internal/stubproc"
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
	master   *stubproc.Master
	released bool
	// slots are the slots mapped in the stub, each holding a reference;
	// free are those of them no thread uses.
	slots []*slot
	free  []*slot
	// threads are the live stub threads, woken at release.
	threads map[*stubThread]struct{}
}

// run executes fn on the master's thread, starting the stub first if
// needed.
func (as *addressSpace) run(fn func(st *stubproc.Thread) error) error {
	as.mu.Lock()
	if as.released {
		as.mu.Unlock()
		return errors.New("systrap: address space released")
	}
	if as.master == nil {
		m, err := as.p.takeMaster()
		if err != nil {
			as.mu.Unlock()
			return err
		}
		as.master = m
	}
	m := as.master
	as.mu.Unlock()
	return m.Run(fn)
}

// takeMaster returns a master tracing a new stub: the spare one made
// in the background, if it is ready, and a spare for the next address
// space is made in the background again. Forking the zygote and seizing
// the new stub are four host round trips and two thread wake-ups; made
// while the application runs on (a fork's child runs, an exec loads its
// image), they are off the path of its next fork or exec.
func (p *Platform) takeMaster() (*stubproc.Master, error) {
	defer p.refillSpare()
	select {
	case m := <-p.spare:
		return m, nil
	default:
		return stubproc.Start(p.seizeStub)
	}
}

// refillSpare starts making a spare stub unless one is ready or being
// made.
func (p *Platform) refillSpare() {
	if len(p.spare) > 0 || !p.refilling.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer p.refilling.Store(false)
		m, err := stubproc.Start(p.seizeStub)
		if err != nil {
			return // the platform is closing, or the next take says why
		}
		p.spareMu.Lock()
		defer p.spareMu.Unlock()
		if p.closed {
			stopStubs(m)
			return
		}
		p.spare <- m // a buffer of one, and only this goroutine fills it
	}()
}

// dropSpare returns the spare stub, if any, at Close: no other is made
// after.
func (p *Platform) dropSpare() *stubproc.Master {
	p.spareMu.Lock()
	p.closed = true
	p.spareMu.Unlock()
	select {
	case m := <-p.spare:
		return m
	default:
		return nil
	}
}

// stopStubs ends masters and kills their stubs, then reaps them: their
// deaths overlap.
func stopStubs(ms ...*stubproc.Master) {
	for _, m := range ms {
		m.Stop()
		unix.Kill(m.Stub.PID, unix.SIGKILL)
	}
	for _, m := range ms {
		m.Stub.Reap()
	}
}

// seizeStub forks a stub from the zygote and stops it, traced by the
// calling OS thread, ready for injected calls.
func (p *Platform) seizeStub() (*stubproc.Thread, error) {
	pid, err := p.zygote.fork()
	if err != nil {
		return nil, err
	}
	st, err := stubproc.Seize(pid, pid)
	if err != nil {
		unix.Kill(pid, unix.SIGKILL)
		(&stubproc.Thread{PID: pid, TID: pid}).Reap()
		return nil, err
	}
	return st, nil
}

// MapFile implements platform.AddressSpace.
func (as *addressSpace) MapFile(addr, length uintptr, offset uint64, prot int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	return as.run(func(st *stubproc.Thread) error {
		return st.MapFile(syscallSite, addr, length, prot, stubMemoryFD, offset)
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
	return as.run(func(st *stubproc.Thread) error {
		return st.Unmap(syscallSite, addr, length)
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
	return as.run(func(st *stubproc.Thread) error {
		return st.Protect(syscallSite, addr, length, prot)
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
	err := as.run(func(m *stubproc.Thread) error {
		if !mapped {
			if err := m.MapFile(syscallSite, uintptr(s.addr()), slotSize, unix.PROT_READ|unix.PROT_WRITE, stubSlotFD, s.off); err != nil {
				return err
			}
			mapped = true
		}
		r, err := m.Inject(threadCloneSite, func(regs *unix.PtraceRegs) { regs.R12 = s.addr() },
			unix.SYS_CLONE, threadFlags, 0, 0, uintptr(s.addr()+stState), 0)
		if err != nil {
			return err
		}
		if e := int64(r); e < 0 {
			return fmt.Errorf("clone in stub: %w", unix.Errno(-e))
		}
		pid, tid = m.PID, int(r)
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
	stopStubs(m)
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

// checkRange keeps every injected change inside the application's
// range: a kernel bug must not be able to unmap the stub or its slots.
func checkRange(addr, length uintptr) error {
	if err := stubproc.CheckRange(addr, length); err != nil {
		return fmt.Errorf("systrap: %w", err)
	}
	return nil
}
