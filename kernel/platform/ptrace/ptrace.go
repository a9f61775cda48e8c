package ptrace

import (
	"errors"
	"fmt"
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
// started lazily by the first thread that uses the address space, which
// becomes its tracer.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	return &addressSpace{p: p}, nil
}

// NewContext implements platform.Platform.
func (p *Platform) NewContext() (platform.Context, error) {
	return &context{tracerTID: unix.Gettid()}, nil
}

// addressSpace is one stub process.
type addressSpace struct {
	p *Platform

	mu       sync.Mutex
	stub     *stubThread // nil until first use
	released bool
}

// stubThread is a host thread of a stub, traced by one OS thread of ours.
type stubThread struct {
	pid, tid  int
	tracerTID int
	// regs is what the host thread holds now, as far as we know; it lets
	// Switch skip PTRACE_SETREGS when nothing changed.
	regs  unix.PtraceRegs
	known bool
	// readyRegs is the state at the stub's ready trap, the template for
	// injected system calls.
	readyRegs unix.PtraceRegs
}

// threadLocked returns the stub thread traced by the calling OS thread,
// starting the stub if the address space has none yet.
func (as *addressSpace) threadLocked() (*stubThread, error) {
	if as.released {
		return nil, errors.New("ptrace: address space released")
	}
	tid := unix.Gettid()
	if as.stub == nil {
		st, err := as.p.startStub()
		if err != nil {
			return nil, err
		}
		as.stub = st
	}
	if as.stub.tracerTID != tid {
		// Several tracers per address space arrive with threads.
		return nil, fmt.Errorf("ptrace: address space traced by thread %d, used from %d", as.stub.tracerTID, tid)
	}
	return as.stub, nil
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
		},
	}
	path := fmt.Sprintf("/proc/self/fd/%d", p.stubFD)
	pid, err := syscall.ForkExec(path, []string{"magawa-stub"}, attr)
	if err != nil {
		return nil, fmt.Errorf("starting stub: %w", err)
	}
	st := &stubThread{pid: pid, tid: pid, tracerTID: unix.Gettid()}
	fail := func(err error) (*stubThread, error) {
		st.kill()
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
// signal (SIGTRAP|0x80 for a system-call stop).
func (st *stubThread) waitStop() (unix.Signal, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(st.tid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("wait4 on stub %d: %w", st.tid, err)
		}
		break
	}
	switch {
	case ws.Stopped():
		return unix.Signal(ws >> 8 & 0xff), nil
	case ws.Exited():
		return 0, fmt.Errorf("%w: stub %d exited with %d", platform.ErrContextDead, st.tid, ws.ExitStatus())
	case ws.Signaled():
		return 0, fmt.Errorf("%w: stub %d killed by %v", platform.ErrContextDead, st.tid, ws.Signal())
	}
	return 0, fmt.Errorf("%w: stub %d: unexpected wait status %#x", platform.ErrContextDead, st.tid, uint32(ws))
}

func (st *stubThread) kill() {
	unix.Kill(st.pid, unix.SIGKILL)
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(st.pid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || ws.Exited() || ws.Signaled() {
			return
		}
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

// inject executes one host system call in the stub and returns its raw
// result. Only address-space calls are ever injected.
func (st *stubThread) inject(nr uintptr, args ...uintptr) (uintptr, error) {
	regs := st.readyRegs
	regs.Rip = syscallSite
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
	r, err := st.inject(nr, args...)
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
	as.mu.Lock()
	defer as.mu.Unlock()
	st, err := as.threadLocked()
	if err != nil {
		return err
	}
	if err := checkRange(addr, length); err != nil {
		return err
	}
	r, err := st.inject(unix.SYS_MMAP, addr, length, uintptr(prot), unix.MAP_SHARED|unix.MAP_FIXED, stubMemoryFD, uintptr(offset))
	if err != nil {
		return err
	}
	if r != addr {
		return fmt.Errorf("stub mmap(%#x, %#x) = %#x", addr, length, r)
	}
	return nil
}

// Unmap implements platform.AddressSpace.
func (as *addressSpace) Unmap(addr, length uintptr) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.stub == nil {
		return nil // nothing was ever mapped
	}
	st, err := as.threadLocked()
	if err != nil {
		return err
	}
	if err := checkRange(addr, length); err != nil {
		return err
	}
	return st.injectErr(unix.SYS_MUNMAP, addr, length)
}

// Protect implements platform.AddressSpace.
func (as *addressSpace) Protect(addr, length uintptr, prot int) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.stub == nil {
		return nil
	}
	st, err := as.threadLocked()
	if err != nil {
		return err
	}
	if err := checkRange(addr, length); err != nil {
		return err
	}
	err = st.injectErr(unix.SYS_MPROTECT, addr, length, uintptr(prot))
	if err == unix.ENOMEM {
		// Parts of the range were never faulted in; those will be mapped
		// with the new protection when they are.
		err = nil
	}
	return err
}

// Release implements platform.AddressSpace.
func (as *addressSpace) Release() {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.stub != nil {
		as.stub.kill()
		as.stub = nil
	}
	as.released = true
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

// context runs application threads on the OS thread that created it.
type context struct {
	tracerTID   int
	interrupted atomic.Bool
	// running is the stub thread currently executing application code,
	// for Interrupt.
	running atomic.Pointer[stubThread]
	// last is the stub thread of the last Switch, whose FP state
	// FPState reads. Only the owning OS thread touches it.
	last *stubThread
}

// Switch implements platform.Context.
func (c *context) Switch(pas platform.AddressSpace, regs *platform.Registers) (platform.Event, error) {
	as := pas.(*addressSpace)
	as.mu.Lock()
	st, err := as.threadLocked()
	as.mu.Unlock()
	if err != nil {
		return platform.Event{}, err
	}
	c.last = st
	if err := st.setRegs(regs); err != nil {
		return platform.Event{}, err
	}
	if c.interrupted.Swap(false) {
		return platform.Event{Kind: platform.EventInterrupted}, nil
	}
	c.running.Store(st)
	if err := ptraceSysemu(st.tid, 0); err != nil {
		c.running.Store(nil)
		st.known = false
		return platform.Event{}, fmt.Errorf("PTRACE_SYSEMU: %w", err)
	}
	sig, err := st.waitStop()
	c.running.Store(nil)
	if err != nil {
		st.known = false
		return platform.Event{}, err
	}
	if err := st.getRegs(regs); err != nil {
		return platform.Event{}, err
	}
	switch sig {
	case unix.SIGTRAP | 0x80:
		return platform.Event{Kind: platform.EventSyscall}, nil
	case unix.SIGSTOP:
		c.interrupted.Store(false)
		return platform.Event{Kind: platform.EventInterrupted}, nil
	}
	info, err := getSiginfo(st.tid)
	if err != nil {
		return platform.Event{}, err
	}
	return platform.Event{Kind: platform.EventFault, Signo: sig, Code: info.code, Addr: info.addr}, nil
}

// FPState implements platform.Context.
func (c *context) FPState() ([]byte, error) {
	st := c.last
	if st == nil {
		return nil, errors.New("ptrace: no thread has run on this context")
	}
	buf := make([]byte, xstateMaxSize)
	n, err := getRegset(st.tid, ntX86Xstate, buf)
	if err != nil {
		return nil, fmt.Errorf("PTRACE_GETREGSET NT_X86_XSTATE: %w", err)
	}
	return buf[:n], nil
}

// SetFPState implements platform.Context.
func (c *context) SetFPState(state []byte) error {
	st := c.last
	if st == nil {
		return errors.New("ptrace: no thread has run on this context")
	}
	if err := setRegset(st.tid, ntX86Xstate, state); err != nil {
		return fmt.Errorf("PTRACE_SETREGSET NT_X86_XSTATE: %w", err)
	}
	return nil
}

// CPUTime implements platform.Context with the stub process's CPU clock.
func (c *context) CPUTime() (time.Duration, error) {
	st := c.last
	if st == nil {
		return 0, nil
	}
	// MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED). Linux:
	// include/linux/posix-timers.h.
	clock := int32((^st.pid)<<3 | 2)
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, fmt.Errorf("reading the stub's CPU clock: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}

// Interrupt implements platform.Context.
func (c *context) Interrupt() {
	c.interrupted.Store(true)
	if st := c.running.Load(); st != nil {
		unix.Tgkill(st.pid, st.tid, unix.SIGSTOP)
	}
}

// Release implements platform.Context.
func (c *context) Release() {}
