package systrap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
	"magawa/kernel/platform/internal/stubproc"
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
	// lastRun is how long the application ran (from the resume to
	// the event, a wake-up included) the last time.
	lastRun time.Duration

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
	// dead is set once the thread is known gone; hostile once its stub
	// was killed for keeping the interrupt signal blocked.
	dead, hostile atomic.Bool
	// view is what frame returns, owned by the goroutine using the
	// thread.
	view frame
}

const (
	// liveCheck is how long a sleeping kernel thread waits before it
	// makes sure the stub thread is still there.
	liveCheck = time.Second
	// interruptCheck is how often a kernel thread looks at a stub thread
	// that has not answered an interrupt (see ignoresInterrupt).
	interruptCheck = 100 * time.Millisecond
	// hostileCPU is the CPU time a stub thread must use between two
	// looks, the interrupt signal blocked at both, to be taken for one
	// that blocks it itself: the handler, where the signal is blocked
	// legitimately, runs a few instructions before it hands the thread
	// over.
	hostileCPU = 5 * time.Millisecond
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
	if st := t.wait(nil, time.Time{}); st != stateEvent {
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
		// Spin only while there are CPUs to spare for it, and, on the
		// kernel's side, only for an application that came back
		// quickly last time (see spin.go).
		crowded := inApp.Add(1) > maxSpinners
		handlerSpin := stubSpin
		if crowded {
			handlerSpin = 0
		}
		t.resume(handlerSpin)
		resumed := time.Now()
		var spinUntil time.Time
		if !crowded && c.lastRun < kernelSpin {
			spinUntil = resumed.Add(kernelSpin)
		}
		st := t.wait(&c.interrupted, spinUntil)
		inApp.Add(-1)
		c.lastRun = time.Since(resumed)
		c.running.Store(nil)
		if st != stateEvent {
			if t.hostile.Load() {
				return platform.Event{}, c.failed(as, t, fmt.Errorf("%w: stub thread %d kept the interrupt signal blocked: stub killed", platform.ErrContextDead, t.tid))
			}
			return platform.Event{}, c.failed(as, t, fmt.Errorf("%w: stub thread %d gone (state %d)", platform.ErrContextDead, t.tid, st))
		}
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
// anything the application wrote there). While interrupted (if not
// nil) is set, an interrupt is outstanding, and a thread that keeps the
// interrupt signal blocked is killed with its stub (stateDead). Unless
// spinUntil is zero, it spins until then before it sleeps.
func (t *stubThread) wait(interrupted *atomic.Bool, spinUntil time.Time) uint32 {
	s := t.slot
	st := s.state()
	if v := st.Load(); v != stateRunning {
		return v
	}
	if !spinUntil.IsZero() && spin(st, spinUntil) {
		return st.Load()
	}
	var w interruptWatch
	for {
		timeout := unix.NsecToTimespec(int64(liveCheck))
		pending := interrupted != nil && interrupted.Load()
		if pending {
			timeout = unix.NsecToTimespec(int64(interruptCheck))
		}
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
		if timedOut && !pending && !t.alive() {
			t.dead.Store(true)
			return stateDead
		}
		if !pending {
			w = interruptWatch{}
			continue
		}
		switch w.look(t) {
		case threadGone:
			t.dead.Store(true)
			return stateDead
		case threadHostile:
			t.hostile.Store(true)
			t.dead.Store(true)
			unix.Kill(t.pid, unix.SIGKILL)
			return stateDead
		}
	}
}

// The interrupt watchdog. The application can keep the interrupt
// signal blocked in its host thread: the thread filter lets it call
// rt_sigreturn at the handler's site, with a frame of its own whose
// signal mask blocks SIGUSR2. Such a thread never answers Interrupt
// while it only computes, or sleeps on a futex word at the handler's
// FUTEX_WAIT, and its task could then neither take a signal nor be
// killed. So a kernel thread waiting on a stub thread with an interrupt
// outstanding looks at the host thread every interruptCheck
// (/proc/<pid>/task/<tid>/status, which the confined sandbox process
// reads in its own /proc, as it reads stat and schedstat): a thread
// whose SigBlk holds the interrupt signal at two looks in a row, and
// which between them either used hostileCPU of CPU time or slept at
// both, blocks it itself. The handler blocks every signal too, but
// only for the few instructions around a hand-off, which it neither
// sleeps nor spins in while the state word says running: a thread
// there is seen running application code at the next look, or has
// handed itself over. The stub is then killed, and its tasks die as if
// by SIGKILL.
type interruptWatch struct {
	// first is the look that found the signal blocked, if the last one
	// did.
	first *threadLook
	last  time.Time
}

// threadLook is what one look at the host thread saw.
type threadLook struct {
	at       time.Time
	cpu      time.Duration
	sleeping bool
}

type lookResult int

const (
	threadOK lookResult = iota
	threadGone
	threadHostile
)

// look takes a look at the thread, at most every interruptCheck.
func (w *interruptWatch) look(t *stubThread) lookResult {
	now := time.Now()
	if now.Sub(w.last) < interruptCheck {
		return threadOK
	}
	w.last = now
	blocked, sleeping, alive := t.signalState()
	if !alive {
		return threadGone
	}
	cpu, err := stubproc.CPUTime(t.pid, t.tid)
	if err != nil || !blocked {
		w.first = nil
		return threadOK
	}
	l := &threadLook{at: now, cpu: cpu, sleeping: sleeping}
	f := w.first
	if f == nil {
		w.first = l
		return threadOK
	}
	if l.cpu-f.cpu >= hostileCPU || (f.sleeping && l.sleeping) {
		return threadHostile
	}
	return threadOK
}

// signalState reads the host thread's status: whether it blocks the
// interrupt signal, whether it sleeps (state S), and whether it exists
// and is not a zombie.
func (t *stubThread) signalState() (blocked, sleeping, alive bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", t.pid, t.tid))
	if err != nil {
		return false, false, false
	}
	alive = true
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "State":
			if v == "" {
				continue
			}
			switch v[0] {
			case 'Z', 'X', 'x':
				alive = false
			case 'S':
				sleeping = true
			}
		case "SigBlk":
			mask, err := strconv.ParseUint(v, 16, 64)
			blocked = err == nil && mask&(1<<(interruptSignal-1)) != 0
		}
	}
	return blocked, sleeping, alive
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
	return stubproc.CPUTime(t.pid, t.tid)
}

// PrepareSleep implements platform.Context: the handler spinning for
// the answer to the call sleeps at once, rather than keep a CPU from
// the threads that will produce the answer.
func (c *context) PrepareSleep() {
	if t := c.last.Load(); t != nil {
		word(t.slot.b, stSpin).Store(0)
	}
}

// Interrupt implements platform.Context: the signal makes the running
// thread trap into its handler like a fault. Sent to a thread already in
// the handler, it stays blocked until the thread resumes and then stops
// it at once: a spurious interrupt, which the kernel tolerates.
func (c *context) Interrupt() {
	c.interrupted.Store(true)
	if t := c.running.Load(); t != nil {
		unix.Tgkill(t.pid, t.tid, interruptSignal)
		if t.slot.kSleep().Load() != 0 {
			// Wake the kernel's thread, so that it watches for an
			// answer (wait) instead of sleeping on for liveCheck. All
			// waiters: the application can sleep on the word too.
			futexWakeAll(t.slot.state())
		}
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
