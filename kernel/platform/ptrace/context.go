package ptrace

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
	"magawa/kernel/platform/internal/stubproc"
)

// context runs application threads on the OS thread that created it. It
// has its own stub thread in every address space it has run in.
type context struct {
	tracerTID int
	// threads are this context's stub threads. Only the owning OS thread
	// touches the map.
	threads map[*addressSpace]*stubThread

	interrupted atomic.Bool
	// running is the stub thread currently executing application code,
	// for Interrupt.
	running atomic.Pointer[stubThread]
	// last is the stub thread of the last Switch, whose FP state and CPU
	// clock FPState and CPUTime read.
	last atomic.Pointer[stubThread]
	// pendingFP is FP state set before any thread ran (a new task
	// inheriting its parent's), loaded at the first Switch.
	pendingFP []byte

	// Test seams, nil but in tests, called on the tracer's thread where
	// an Interrupt from another goroutine may fall: beforeResume before
	// each resume of the stub thread (before it is published in
	// running), afterStop once the thread stopped (before running is
	// cleared).
	beforeResume, afterStop func()
}

// thread returns the context's stub thread in as, creating it on first
// use.
func (c *context) thread(as *addressSpace) (*stubThread, error) {
	if st := c.threads[as]; st != nil {
		return st, nil
	}
	if tid := unix.Gettid(); tid != c.tracerTID {
		return nil, fmt.Errorf("ptrace: context of thread %d used from thread %d", c.tracerTID, tid)
	}
	// Forget threads of address spaces released since (their stubs are
	// gone and reaped).
	for old := range c.threads {
		if old.isReleased() {
			delete(c.threads, old)
		}
	}
	st, err := as.newThread()
	if err != nil {
		return nil, err
	}
	c.threads[as] = st
	return st, nil
}

// Switch implements platform.Context.
func (c *context) Switch(pas platform.AddressSpace, regs *platform.Registers) (platform.Event, error) {
	as := pas.(*addressSpace)
	st, err := c.thread(as)
	if err != nil {
		return platform.Event{}, err
	}
	c.last.Store(st)
	if c.pendingFP != nil {
		if err := setRegset(st.TID, ntX86Xstate, c.pendingFP); err != nil {
			return platform.Event{}, c.failed(as, st, fmt.Errorf("PTRACE_SETREGSET NT_X86_XSTATE: %w", err))
		}
		c.pendingFP = nil
	}
	if err := st.SetRegs(regs); err != nil {
		return platform.Event{}, c.failed(as, st, err)
	}
	for {
		if c.beforeResume != nil {
			c.beforeResume()
		}
		// Publish the thread, then look at the flag, before every
		// resume (after a suppressed signal too). Interrupt does the
		// reverse: sets the flag, then looks for the thread. So either
		// this sees its flag, or it sees the thread and stops it; checked
		// before the thread is published, an Interrupt in between would
		// find neither, and the application would run on until its next
		// system call or fault, for ever if it only computes.
		c.running.Store(st)
		if c.interrupted.Swap(false) {
			// Interrupt may have seen the thread as well, and its SIGSTOP
			// stays pending: the next Switch stops at once, a spurious
			// interrupt, and Release resumes past it.
			c.running.Store(nil)
			return platform.Event{Kind: platform.EventInterrupted}, nil
		}
		if err := ptraceSysemu(st.TID, 0); err != nil {
			c.running.Store(nil)
			st.Known = false
			return platform.Event{}, c.failed(as, st, fmt.Errorf("PTRACE_SYSEMU: %w", err))
		}
		sig, err := st.WaitStop()
		if c.afterStop != nil {
			c.afterStop()
		}
		c.running.Store(nil)
		if err != nil {
			st.Known = false
			return platform.Event{}, c.failed(as, st, err)
		}
		if err := st.GetRegs(regs); err != nil {
			return platform.Event{}, c.failed(as, st, err)
		}
		switch sig {
		case unix.SIGTRAP | 0x80:
			return platform.Event{Kind: platform.EventSyscall}, nil
		case unix.SIGSTOP:
			c.interrupted.Store(false)
			return platform.Event{Kind: platform.EventInterrupted}, nil
		}
		info, err := getSiginfo(st.TID)
		if err != nil {
			return platform.Event{}, c.failed(as, st, err)
		}
		if !isFault(sig, info.code) {
			// A signal from outside (the host's kill, a terminal): not
			// the application's; suppressed, and the stub goes on.
			continue
		}
		return platform.Event{Kind: platform.EventFault, Signo: sig, Code: info.code, Addr: info.addr}, nil
	}
}

// isFault reports whether a signal stop is a fault of the stub thread's
// own execution, as opposed to a signal something on the host sent.
// Sent signals carry si_code <= 0 (SI_USER, SI_QUEUE, SI_TKILL); the
// fault signals carry positive codes, or SI_KERNEL for a general
// protection fault (SIGSEGV) or int3 (SIGTRAP).
func isFault(sig unix.Signal, code int32) bool {
	switch sig {
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP, unix.SIGSYS:
		return code > 0
	}
	return false
}

// failed forgets a stub thread that can no longer be driven.
func (c *context) failed(as *addressSpace, st *stubThread, err error) error {
	if st.Dead() || errors.Is(err, platform.ErrContextDead) {
		delete(c.threads, as)
		c.last.CompareAndSwap(st, nil)
		return fmt.Errorf("%w: %v", platform.ErrContextDead, err)
	}
	return err
}

// FPState implements platform.Context.
func (c *context) FPState() ([]byte, error) {
	st := c.last.Load()
	if st == nil {
		return nil, errors.New("ptrace: no thread has run on this context")
	}
	buf := make([]byte, xstateMaxSize)
	n, err := getRegset(st.TID, ntX86Xstate, buf)
	if err != nil {
		return nil, fmt.Errorf("PTRACE_GETREGSET NT_X86_XSTATE: %w", err)
	}
	return buf[:n], nil
}

// SetFPState implements platform.Context.
func (c *context) SetFPState(state []byte) error {
	st := c.last.Load()
	if st == nil {
		c.pendingFP = append([]byte(nil), state...)
		return nil
	}
	if err := setRegset(st.TID, ntX86Xstate, state); err != nil {
		return fmt.Errorf("PTRACE_SETREGSET NT_X86_XSTATE: %w", err)
	}
	return nil
}

// CPUTime implements platform.Context with the CPU clock of the last stub
// thread run. It is safe from any goroutine (CPU-time timers poll it).
func (c *context) CPUTime() (time.Duration, error) {
	st := c.last.Load()
	if st == nil {
		return 0, nil
	}
	return stubproc.CPUTime(st.PID, st.TID)
}

// Interrupt implements platform.Context.
// PrepareSleep implements platform.Context: a stopped tracee waits
// for its tracer without using a CPU.
func (c *context) PrepareSleep() {}

func (c *context) Interrupt() {
	c.interrupted.Store(true)
	if st := c.running.Load(); st != nil {
		unix.Tgkill(st.PID, st.TID, unix.SIGSTOP)
	}
}

// Release implements platform.Context: each of the context's stub threads
// in a live address space exits, so that the stub carries on without it.
func (c *context) Release() {
	for as, st := range c.threads {
		delete(c.threads, as)
		if st.Dead() || as.isReleased() {
			continue
		}
		regs := st.ReadyRegs
		regs.Rip, regs.Rax, regs.Rdi = syscallSite, unix.SYS_EXIT, 0
		if err := st.SetRegs(&regs); err != nil {
			continue
		}
		exitThread(st)
	}
	c.last.Store(nil)
}

// maxExitStops bounds the stops exit resumes the thread past: a signal
// or two is expected, a thread that stops again and again (a fault it
// repeats) will not exit.
const maxExitStops = 16

// exit resumes a stub thread set up to call exit and waits until it has
// exited. It may stop on the way, with a signal it had pending: a
// SIGSTOP of an Interrupt that came just after the thread had stopped,
// or a signal from the host. Each is suppressed and the thread resumed
// again: left stopped, the thread would outlive its tracer, whose exit
// then has the host kill the whole stub (PTRACE_O_EXITKILL), every other
// thread of the application with it.
func exitThread(st *stubThread) {
	for range maxExitStops {
		if unix.PtraceCont(st.TID, 0) != nil {
			return
		}
		if _, err := st.WaitStop(); err != nil {
			return // the exit (or the thread is gone)
		}
	}
}
