package ptrace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
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
	master   *master
	released bool
	// threads are the stub threads created for contexts, reaped on
	// release.
	threads []*stubThread
}

// master serves requests on the OS thread that traces the stub's first
// thread.
type master struct {
	requests chan func(st *stubThread)
	stub     *stubThread
}

// run executes fn on the master's thread, starting the stub first if
// needed.
func (as *addressSpace) run(fn func(st *stubThread) error) error {
	as.mu.Lock()
	if as.released {
		as.mu.Unlock()
		return errors.New("ptrace: address space released")
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
	m.requests <- func(st *stubThread) { done <- fn(st) }
	return <-done
}

func (p *Platform) startMaster() (*master, error) {
	m := &master{requests: make(chan func(st *stubThread))}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: when this goroutine ends its thread ends too,
		// and the stub with it (PR_SET_PDEATHSIG, PTRACE_O_EXITKILL).
		runtime.LockOSThread()
		st, err := p.startStub()
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

// stubThread is a host thread of a stub, traced by one OS thread of ours.
type stubThread struct {
	pid, tid int
	// regs is what the host thread holds now, as far as we know; it lets
	// Switch skip PTRACE_SETREGS when nothing changed.
	regs  unix.PtraceRegs
	known bool
	// readyRegs is a state at one of the stub's own traps, the template
	// for injected system calls.
	readyRegs unix.PtraceRegs
	// dead is set once the thread is known gone (reaped); the releasing
	// goroutine and the tracer may both look.
	dead atomic.Bool
}

// startStub starts a stub process traced by the calling OS thread and runs
// it to its ready trap.
func (p *Platform) startStub() (*stubThread, error) {
	attr := &syscall.ProcAttr{
		Env: []string{},
		// Only the memory file, at stubMemoryFD; 0-2 closed.
		Files: []uintptr{^uintptr(0), ^uintptr(0), ^uintptr(0), uintptr(p.memoryFD)},
		Sys: &syscall.SysProcAttr{
			Ptrace:    true,
			Pdeathsig: syscall.SIGKILL,
			// A process group of its own: signals the host sends to
			// magawa's group (a terminal's SIGWINCH, SIGINT, SIGTSTP)
			// are magawa's to handle, not the application's.
			Setpgid: true,
		},
	}
	path := fmt.Sprintf("/proc/self/fd/%d", p.stubFD)
	pid, err := syscall.ForkExec(path, []string{"magawa-stub"}, attr)
	if err != nil {
		return nil, fmt.Errorf("starting stub: %w", err)
	}
	st := &stubThread{pid: pid, tid: pid}
	fail := func(err error) (*stubThread, error) {
		unix.Kill(pid, unix.SIGKILL)
		st.reap()
		return nil, err
	}
	// The exec stops the child with SIGTRAP (PTRACE_TRACEME).
	if sig, err := st.waitStop(); err != nil {
		return fail(err)
	} else if sig != unix.SIGTRAP {
		return fail(fmt.Errorf("stub stopped by %v after exec, want SIGTRAP", sig))
	}
	opts := unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_EXITKILL
	if err := unix.PtraceSetOptions(st.tid, opts); err != nil {
		return fail(fmt.Errorf("PTRACE_SETOPTIONS on stub: %w", err))
	}
	if err := unix.PtraceCont(st.tid, 0); err != nil {
		return fail(fmt.Errorf("PTRACE_CONT on stub: %w", err))
	}
	sig, err := st.waitStop()
	if err != nil {
		return fail(err)
	}
	if sig != unix.SIGTRAP {
		var regs unix.PtraceRegs
		unix.PtraceGetRegs(st.tid, &regs)
		return fail(fmt.Errorf("stub failed to initialise: %v at rip %#x, rax %d", sig, regs.Rip, int64(regs.Rax)))
	}
	if err := unix.PtraceGetRegs(st.tid, &st.readyRegs); err != nil {
		return fail(fmt.Errorf("PTRACE_GETREGS on stub: %w", err))
	}
	if st.readyRegs.Rip != syscallSite {
		return fail(fmt.Errorf("stub ready at %#x, want %#x", st.readyRegs.Rip, uint64(syscallSite)))
	}
	st.regs, st.known = st.readyRegs, true
	return st, nil
}

// waitStop waits for the stub thread's next stop and returns the stop
// signal (SIGTRAP|0x80 for a system-call stop; SIGTRAP for an event stop,
// with the event in the upper bits of the status).
func (st *stubThread) waitStop() (unix.Signal, error) {
	sig, _, err := st.waitStopEvent()
	return sig, err
}

func (st *stubThread) waitStopEvent() (unix.Signal, int, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(st.tid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			st.dead.Store(true)
			return 0, 0, fmt.Errorf("%w: wait4 on stub thread %d: %v", platform.ErrContextDead, st.tid, err)
		}
		break
	}
	switch {
	case ws.Stopped():
		return unix.Signal(ws >> 8 & 0xff), int(ws >> 16), nil
	case ws.Exited():
		st.dead.Store(true)
		return 0, 0, fmt.Errorf("%w: stub thread %d exited with %d", platform.ErrContextDead, st.tid, ws.ExitStatus())
	case ws.Signaled():
		st.dead.Store(true)
		return 0, 0, fmt.Errorf("%w: stub thread %d killed by %v", platform.ErrContextDead, st.tid, ws.Signal())
	}
	return 0, 0, fmt.Errorf("%w: stub thread %d: unexpected wait status %#x", platform.ErrContextDead, st.tid, uint32(ws))
}

// reap collects the thread's exit after it was killed. Any thread of
// ours may wait for a traced thread, so this needs no tracer.
func (st *stubThread) reap() {
	if st.dead.Load() {
		return
	}
	// The thread may have been reaped already behind our back: the host
	// reaps a dead traced thread itself when its tracer thread exits, and
	// its ID can then be reused by another process. So never block on
	// it: poll, as long as the thread still exists in its stub.
	var ws unix.WaitStatus
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 10*time.Millisecond) {
		pid, err := unix.Wait4(st.tid, &ws, unix.WALL|unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || (pid == st.tid && (ws.Exited() || ws.Signaled())) {
			st.dead.Store(true)
			return
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d", st.pid, st.tid)); err != nil {
			st.dead.Store(true)
			return
		}
		time.Sleep(delay)
	}
}

// setRegs loads regs into the host thread unless it already holds them.
func (st *stubThread) setRegs(regs *unix.PtraceRegs) error {
	if st.known && st.regs == *regs {
		return nil
	}
	if st.known && sameButRax(&st.regs, regs) {
		// The common case after a system call: only the return value
		// changed, and one word costs less to write than the whole set.
		if err := pokeUser(st.tid, raxOffset, uintptr(regs.Rax)); err != nil {
			return fmt.Errorf("PTRACE_POKEUSER rax: %w", err)
		}
	} else if err := unix.PtraceSetRegs(st.tid, regs); err != nil {
		return fmt.Errorf("PTRACE_SETREGS: %w", err)
	}
	st.regs, st.known = *regs, true
	return nil
}

func (st *stubThread) getRegs(regs *unix.PtraceRegs) error {
	if err := unix.PtraceGetRegs(st.tid, regs); err != nil {
		st.known = false
		return fmt.Errorf("PTRACE_GETREGS: %w", err)
	}
	st.regs, st.known = *regs, true
	return nil
}

func sameButRax(a, b *unix.PtraceRegs) bool {
	c := *b
	c.Rax = a.Rax
	return *a == c
}

// inject executes one host system call in the stub at site and returns
// its raw result. Only calls that shape the stub are ever injected.
func (st *stubThread) inject(site uint64, nr uintptr, args ...uintptr) (uintptr, error) {
	regs := st.readyRegs
	regs.Rip = site
	regs.Rax = uint64(nr)
	regs.Orig_rax = ^uint64(0) // not in a system call: no restart logic
	dst := []*uint64{&regs.Rdi, &regs.Rsi, &regs.Rdx, &regs.R10, &regs.R8, &regs.R9}
	for i, a := range args {
		*dst[i] = uint64(a)
	}
	if err := st.setRegs(&regs); err != nil {
		return 0, err
	}
	if err := unix.PtraceCont(st.tid, 0); err != nil {
		st.known = false
		return 0, fmt.Errorf("PTRACE_CONT: %w", err)
	}
	sig, err := st.waitStop()
	if err != nil {
		return 0, err
	}
	if sig != unix.SIGTRAP {
		return 0, fmt.Errorf("injected system call %d stopped by %v", nr, sig)
	}
	if err := st.getRegs(&regs); err != nil {
		return 0, err
	}
	return uintptr(regs.Rax), nil
}

func (st *stubThread) injectErr(nr uintptr, args ...uintptr) error {
	r, err := st.inject(syscallSite, nr, args...)
	if err != nil {
		return err
	}
	if e := int64(r); e < 0 && e > -4096 {
		return unix.Errno(-e)
	}
	return nil
}

// MapFile implements platform.AddressSpace.
func (as *addressSpace) MapFile(addr, length uintptr, offset uint64, prot int) error {
	if err := checkRange(addr, length); err != nil {
		return err
	}
	return as.run(func(st *stubThread) error {
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
	return as.run(func(st *stubThread) error {
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
	return as.run(func(st *stubThread) error {
		err := st.injectErr(unix.SYS_MPROTECT, addr, length, uintptr(prot))
		if err == unix.ENOMEM {
			// Parts of the range were never faulted in; those will be
			// mapped with the new protection when they are.
			err = nil
		}
		return err
	})
}

// newThread creates a stub thread in the address space for the calling
// OS thread to trace, and stops it ready to run application code.
func (as *addressSpace) newThread() (*stubThread, error) {
	var pid, tid int
	err := as.run(func(m *stubThread) error {
		const flags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
			unix.CLONE_THREAD | unix.CLONE_SYSVSEM
		r, err := m.inject(cloneSite, unix.SYS_CLONE, flags, 0, 0, 0, 0)
		if err != nil {
			return err
		}
		if e := int64(r); e < 0 {
			return fmt.Errorf("clone in stub: %w", unix.Errno(-e))
		}
		pid, tid = m.pid, int(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	st := &stubThread{pid: pid, tid: tid}
	as.mu.Lock()
	as.threads = append(as.threads, st)
	as.mu.Unlock()
	opts := unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_EXITKILL
	if err := ptraceSeize(tid, opts); err != nil {
		return nil, fmt.Errorf("PTRACE_SEIZE of stub thread %d: %w", tid, err)
	}
	if err := ptraceInterrupt(tid); err != nil {
		return nil, fmt.Errorf("PTRACE_INTERRUPT of stub thread %d: %w", tid, err)
	}
	for {
		sig, event, err := st.waitStopEvent()
		if err != nil {
			return nil, err
		}
		if event == unix.PTRACE_EVENT_STOP {
			break
		}
		// A signal-delivery stop before the interrupt (none is
		// expected): suppress it and wait on.
		if err := unix.PtraceCont(tid, 0); err != nil {
			return nil, fmt.Errorf("stub thread %d stopped by %v: %w", tid, sig, err)
		}
	}
	if err := unix.PtraceGetRegs(tid, &st.readyRegs); err != nil {
		return nil, fmt.Errorf("PTRACE_GETREGS: %w", err)
	}
	st.regs, st.known = st.readyRegs, true
	// The thread was stopped inside pause(): inject and switch must not
	// let the host restart that call.
	st.readyRegs.Orig_rax = ^uint64(0)
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
	close(m.requests)
	unix.Kill(m.stub.pid, unix.SIGKILL)
	for _, st := range threads {
		st.reap()
	}
	m.stub.reap()
}

func (as *addressSpace) isReleased() bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.released
}

// checkRange keeps every injected change inside the application's range:
// a kernel bug must not be able to unmap the stub itself.
func checkRange(addr, length uintptr) error {
	end := addr + length
	if addr < platform.MinUserAddress || end < addr || end > platform.MaxUserAddress || addr%pageSize != 0 || length%pageSize != 0 {
		return fmt.Errorf("ptrace: range [%#x, %#x) outside the application address space: %w", addr, end, unix.EINVAL)
	}
	return nil
}

const pageSize = 4096
