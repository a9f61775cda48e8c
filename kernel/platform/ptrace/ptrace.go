package ptrace

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
	"magawa/kernel/platform/internal/stubproc"
)

func init() {
	platform.Register("ptrace", New)
}

// Platform runs each address space in a stub process traced with
// PTRACE_SYSEMU.
type Platform struct {
	memoryFD int
	stubFD   int
}

// New creates the ptrace platform over the kernel's memory file.
func New(memoryFD int) (platform.Platform, error) {
	stubFD, err := newStubFile()
	if err != nil {
		return nil, err
	}
	return &Platform{memoryFD: memoryFD, stubFD: stubFD}, nil
}

// Name implements platform.Platform.
func (p *Platform) Name() string { return "ptrace" }

// Close implements platform.Platform.
func (p *Platform) Close() error { return unix.Close(p.stubFD) }

// NewAddressSpace implements platform.Platform. The stub process is
// started on first use.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	return &addressSpace{p: p}, nil
}

// NeedsOSThread implements platform.Platform: a stub thread is traced
// by one host thread.
func (p *Platform) NeedsOSThread() bool { return true }

// NewContext implements platform.Platform.
func (p *Platform) NewContext() (platform.Context, error) {
	return &context{tracerTID: unix.Gettid(), threads: map[*addressSpace]*stubThread{}}, nil
}

// addressSpace is one stub process. Its first thread is traced by a
// master goroutine, locked to its own OS thread, that makes every change
// to the address space and creates the stub threads that run application
// code: one per context (kernel task) that uses the address space, traced
// by that context's OS thread.
type addressSpace struct {
	p *Platform

	// mu guards the fields below.
	mu       sync.Mutex
	master   *stubproc.Master
	released bool
	// threads are the stub threads created for contexts, reaped on
	// release.
	threads []*stubThread
}

// stubThread is a host thread of a stub, traced by one OS thread of ours.
type stubThread = stubproc.Thread

// run executes fn on the master's thread, starting the stub first if
// needed.
func (as *addressSpace) run(fn func(st *stubThread) error) error {
	as.mu.Lock()
	if as.released {
		as.mu.Unlock()
		return errors.New("ptrace: address space released")
	}
	if as.master == nil {
		m, err := stubproc.Start(as.p.startStub)
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

// startStub starts a stub process traced by the calling OS thread and runs
// it to its ready trap.
func (p *Platform) startStub() (*stubThread, error) {
	// Only the memory file, at stubMemoryFD; 0-2 closed.
	files := []uintptr{^uintptr(0), ^uintptr(0), ^uintptr(0), uintptr(p.memoryFD)}
	return stubproc.Exec(p.stubFD, files, syscallSite)
}

// MapFile implements platform.AddressSpace.
func (as *addressSpace) MapFile(addr, length uintptr, offset uint64, prot int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	return as.run(func(st *stubThread) error {
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
	return as.run(func(st *stubThread) error {
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
	return as.run(func(st *stubThread) error {
		return st.Protect(syscallSite, addr, length, prot)
	})
}

// newThread creates a stub thread in the address space for the calling
// OS thread to trace, and stops it ready to run application code.
func (as *addressSpace) newThread() (*stubThread, error) {
	var pid, tid int
	err := as.run(func(m *stubThread) error {
		const flags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
			unix.CLONE_THREAD | unix.CLONE_SYSVSEM
		r, err := m.Inject(cloneSite, nil, unix.SYS_CLONE, flags, 0, 0, 0, 0)
		if err != nil {
			return err
		}
		if e := int64(r); e < 0 {
			return fmt.Errorf("clone in stub: %w", unix.Errno(-e))
		}
		pid, tid = m.PID, int(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	st, err := stubproc.Seize(pid, tid)
	if err != nil {
		// Killed with the stub and reaped at release (the thread is
		// in pause(), and no context will use it).
		as.mu.Lock()
		as.threads = append(as.threads, &stubThread{PID: pid, TID: tid})
		as.mu.Unlock()
		return nil, err
	}
	as.mu.Lock()
	as.threads = append(as.threads, st)
	as.mu.Unlock()
	return st, nil
}

// Release implements platform.AddressSpace: the stub process is killed
// and all its threads reaped.
func (as *addressSpace) Release() {
	as.mu.Lock()
	if as.released {
		as.mu.Unlock()
		return
	}
	as.released = true
	m, threads := as.master, as.threads
	as.mu.Unlock()
	if m == nil {
		return
	}
	m.Stop()
	unix.Kill(m.Stub.PID, unix.SIGKILL)
	for _, st := range threads {
		st.Reap()
	}
	m.Stub.Reap()
}

func (as *addressSpace) isReleased() bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.released
}

// checkRange keeps every injected change inside the application's range.
func checkRange(addr, length uintptr) error {
	if err := stubproc.CheckRange(addr, length); err != nil {
		return fmt.Errorf("ptrace: %w", err)
	}
	return nil
}
