package systrap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

var le = binary.LittleEndian

// context runs application threads. It has its own stub thread in every
// address space it has run in; unlike ptrace, nothing ties it to its OS
// thread but the interface's rule.
type context struct {
	p *Platform
	// threads are this context's stub threads, touched only by the
	// goroutine that owns the context.
	threads map[*addressSpace]*stubThread

	interrupted atomic.Bool
	// running is the stub thread currently executing application code,
	// for Interrupt.
	running atomic.Pointer[stubThread]
	// last is the stub thread of the last Switch, whose frame FPState
	// and SetFPState use and whose clock CPUTime reads.
	last atomic.Pointer[stubThread]
	// pendingFP is FP state set before any thread ran, loaded at the
	// first Switch.
	pendingFP []byte
	// longService says the kernel took long over the last event (a
	// call that blocked): the handler then sleeps at once instead of
	// spinning for an answer that will not come soon.
	longService bool
	// served is when the last event came in.
	served time.Time

	// beforeResume is a test seam, nil but in tests, called before each
	// resume of the stub thread (before it is published in running).
	beforeResume func()
}

// stubThread is a host thread of a stub that runs application code, and
// the slot it is handed over through.
type stubThread struct {
	as       *addressSpace
	slot     *slot
	pid, tid int
	// dead is set once the thread is known gone.
	dead atomic.Bool
}

// Spinning. The handler spins stubSpin rounds of PAUSE (some tens of
// nanoseconds each) for the kernel's answer before it sleeps. The
// kernel's side does not spin: measured on the 2-CPU hosts this runs on
// (shared with other work), a kernel thread spinning for the next event
// kept the stub thread it waited for off the CPU more often than it
// saved a wake-up, and getpid got two to three times slower.
const (
	stubSpin = 300
	// longServiceAfter is a service time past which the handler should
	// not have spun.
	longServiceAfter = 50 * time.Microsecond
	// liveCheck is how long a sleeping kernel thread waits before it
	// makes sure the stub thread is still there.
	liveCheck = time.Second
)

// thread returns the context's stub thread in as, creating it on first
// use.
func (c *context) thread(as *addressSpace) (*stubThread, error) {
	if t := c.threads[as]; t != nil {
		return t, nil
	}
	// Forget threads of address spaces released since.
	for old, t := range c.threads {
		if old.isReleased() {
			delete(c.threads, old)
			old.retire(t, false)
		}
	}
	t, err := as.newThread()
	if err != nil {
		return nil, err
	}
	// The new thread traps once into the handler when it is ready.
	if st := t.wait(); st != stateEvent {
		as.retire(t, false)
		return nil, fmt.Errorf("%w: new stub thread %d did not start (state %d)", platform.ErrContextDead, t.tid, st)
	}
	f, err := t.frame()
	if err == nil && f.rip() != initTrapRIP {
		err = fmt.Errorf("new stub thread %d first stopped at %#x, want %#x", t.tid, f.rip(), uint64(initTrapRIP))
	}
	if err != nil {
		as.retire(t, false)
		return nil, err
	}
	c.threads[as] = t
	return t, nil
}

// Switch implements platform.Context.
func (c *context) Switch(pas platform.AddressSpace, regs *platform.Registers) (platform.Event, error) {
	as := pas.(*addressSpace)
	if as.isReleased() {
		return platform.Event{}, fmt.Errorf("%w: address space released", platform.ErrContextDead)
	}
	t, err := c.thread(as)
	if err != nil {
		return platform.Event{}, err
	}
	c.last.Store(t)
	f, err := t.frame()
	if err != nil {
		return platform.Event{}, c.failed(as, t, err)
	}
	if c.pendingFP != nil {
		f.setFP(c.pendingFP)
		c.pendingFP = nil
	}
	if err := t.load(f, regs); err != nil {
		return platform.Event{}, err
	}
	if !c.served.IsZero() {
		c.longService = time.Since(c.served) > longServiceAfter
	}
	for {
		if c.beforeResume != nil {
			c.beforeResume()
		}
		// Publish the thread, then look at the flag (Interrupt does the
		// reverse), as on ptrace: either this sees the flag or Interrupt
		// sees the thread and signals it.
		c.running.Store(t)
		if c.interrupted.Swap(false) {
			c.running.Store(nil)
			return platform.Event{Kind: platform.EventInterrupted}, nil
		}
		spin := uint32(stubSpin)
		if c.longService {
			spin = 0
		}
		t.resume(spin)
		st := t.wait()
		c.running.Store(nil)
		if st != stateEvent {
			return platform.Event{}, c.failed(as, t, fmt.Errorf("%w: stub thread %d gone (state %d)", platform.ErrContextDead, t.tid, st))
		}
		c.served = time.Now()
		if f, err = t.frame(); err != nil {
			return platform.Event{}, c.failed(as, t, err)
		}
		ev, ok := f.event()
		if !ok {
			// A signal from the host, not the application's: the frame
			// is the application's state, resumed as it is.
			continue
		}
		t.store(f, regs)
		if ev.Kind == platform.EventSyscall {
			regs.Orig_rax = uint64(f.syscallNr())
			regs.Rax = enosys
		}
		if ev.Kind == platform.EventInterrupted {
			c.interrupted.Store(false)
		}
		return ev, nil
	}
}

// resume hands the thread back to the application.
func (t *stubThread) resume(spin uint32) {
	s := t.slot
	word(s.b, stSpin).Store(spin)
	// The store is an exchange, a full barrier: the handler's sleep
	// flag is read after it, as the handler reads the state after
	// setting the flag, so one of the two sees the other.
	s.state().Store(stateRunning)
	if s.sSleep().Load() != 0 {
		futexWakeOne(s.state())
	}
}

// wait waits for the thread to leave stateRunning and returns the state
// it found: stateEvent, or stateDead when the thread is gone (or
// anything the application wrote there).
func (t *stubThread) wait() uint32 {
	s := t.slot
	st := s.state()
	if v := st.Load(); v != stateRunning {
		return v
	}
	timeout := unix.NsecToTimespec(int64(liveCheck))
	for {
		s.kSleep().Store(1)
		if v := st.Load(); v != stateRunning {
			s.kSleep().Store(0)
			return v
		}
		timedOut := futexWaitFor(st, stateRunning, &timeout)
		s.kSleep().Store(0)
		if v := st.Load(); v != stateRunning {
			return v
		}
		if t.dead.Load() {
			return stateDead
		}
		if timedOut && !t.alive() {
			t.dead.Store(true)
			return stateDead
		}
	}
}

// alive reports whether the host thread still exists and is not a
// zombie: the host clears the state word at a thread's exit, but not
// for the last thread of a stub killed whole.
func (t *stubThread) alive() bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", t.pid, t.tid))
	if err != nil {
		return false
	}
	// pid (comm) S ...
	for i := len(b) - 1; i > 0; i-- {
		if b[i] == ')' {
			if i+2 < len(b) {
				switch b[i+2] {
				case 'Z', 'X', 'x':
					return false
				}
			}
			return true
		}
	}
	return false
}

// failed forgets a stub thread that can no longer be driven.
func (c *context) failed(as *addressSpace, t *stubThread, err error) error {
	delete(c.threads, as)
	c.last.CompareAndSwap(t, nil)
	as.retire(t, false)
	if errors.Is(err, platform.ErrContextDead) {
		return err
	}
	return fmt.Errorf("%w: %v", platform.ErrContextDead, err)
}

// FPState implements platform.Context.
func (c *context) FPState() ([]byte, error) {
	t := c.last.Load()
	if t == nil {
		return nil, errors.New("systrap: no thread has run on this context")
	}
	f, err := t.frame()
	if err != nil {
		return nil, err
	}
	return f.fpState(), nil
}

// SetFPState implements platform.Context.
func (c *context) SetFPState(state []byte) error {
	t := c.last.Load()
	if t == nil {
		c.pendingFP = append([]byte(nil), state...)
		return nil
	}
	f, err := t.frame()
	if err != nil {
		return err
	}
	return f.setFP(state)
}

// CPUTime implements platform.Context with the CPU clock of the last stub
// thread run (its spinning in the handler included).
func (c *context) CPUTime() (time.Duration, error) {
	t := c.last.Load()
	if t == nil {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", t.pid, t.tid))
	if err != nil {
		return 0, fmt.Errorf("reading the stub thread's CPU time: %w", err)
	}
	var ns int64
	if _, err := fmt.Sscan(string(b), &ns); err != nil {
		return 0, fmt.Errorf("parsing schedstat %q: %w", b, err)
	}
	return time.Duration(ns), nil
}

// Interrupt implements platform.Context: the signal makes the running
// thread trap into its handler like a fault. Sent to a thread already in
// the handler, it stays blocked until the thread resumes and then stops
// it at once: a spurious interrupt, which the kernel tolerates.
func (c *context) Interrupt() {
	c.interrupted.Store(true)
	if t := c.running.Load(); t != nil {
		unix.Tgkill(t.pid, t.tid, interruptSignal)
	}
}

// Release implements platform.Context: each of the context's stub threads
// in a live address space exits, and its slot is kept for the next.
func (c *context) Release() {
	for as, t := range c.threads {
		delete(c.threads, as)
		as.retire(t, t.exit())
	}
	c.last.Store(nil)
}

// exit makes a thread waiting in its handler end, and reports whether it
// did.
func (t *stubThread) exit() bool {
	if t.dead.Load() || t.as.isReleased() {
		return false
	}
	s := t.slot
	if s.state().Load() != stateEvent {
		return false
	}
	s.state().Store(stateExit)
	futexWakeOne(s.state())
	timeout := unix.NsecToTimespec(int64(10 * time.Millisecond))
	for range 100 {
		if s.state().Load() == stateDead {
			t.dead.Store(true)
			return true
		}
		futexWaitFor(s.state(), stateExit, &timeout)
	}
	return false
}

// enosys is rax at a system call's entry, as the host sets it and ptrace
// shows it.
var enosys = ^uint64(unix.ENOSYS) + 1
