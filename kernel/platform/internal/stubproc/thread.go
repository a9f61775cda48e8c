package stubproc

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// Thread is a host thread of a stub, traced by one OS thread of ours.
type Thread struct {
	PID, TID int
	// Regs is what the host thread holds now, as far as we know (Known);
	// it lets SetRegs skip PTRACE_SETREGS when nothing changed.
	Regs  unix.PtraceRegs
	Known bool
	// ReadyRegs is a state at one of the stub's own traps, the template
	// for injected system calls.
	ReadyRegs unix.PtraceRegs
	// dead is set once the thread is known gone (reaped).
	dead atomic.Bool
}

// Dead reports whether the thread is known to be gone.
func (t *Thread) Dead() bool { return t.dead.Load() }

// SetDead records that the thread is gone.
func (t *Thread) SetDead() { t.dead.Store(true) }

// Options are the ptrace options of every traced stub thread: its
// system-call stops are told apart from SIGTRAP, and it dies with its
// tracer's thread.
const Options = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_EXITKILL

// Exec starts the stub executable in fd (a memfd, run through
// /proc/self/fd) traced by the calling OS thread, with files as its
// descriptors, and runs it to its ready trap, which must leave rip at
// readySite. The stub gets a process group of its own: signals the host
// sends to magawa's group (a terminal's SIGWINCH, SIGINT, SIGTSTP) are
// magawa's to handle, not the application's.
func Exec(fd int, files []uintptr, readySite uint64) (*Thread, error) {
	attr := &syscall.ProcAttr{
		Env:   []string{},
		Files: files,
		Sys: &syscall.SysProcAttr{
			Ptrace:    true,
			Pdeathsig: syscall.SIGKILL,
			Setpgid:   true,
		},
	}
	path := fmt.Sprintf("/proc/self/fd/%d", fd)
	pid, err := syscall.ForkExec(path, []string{"magawa-stub"}, attr)
	if err != nil {
		return nil, fmt.Errorf("starting stub: %w", err)
	}
	t := &Thread{PID: pid, TID: pid}
	fail := func(err error) (*Thread, error) {
		unix.Kill(pid, unix.SIGKILL)
		t.Reap()
		return nil, err
	}
	// The exec stops the child with SIGTRAP (PTRACE_TRACEME).
	if sig, err := t.WaitStop(); err != nil {
		return fail(err)
	} else if sig != unix.SIGTRAP {
		return fail(fmt.Errorf("stub stopped by %v after exec, want SIGTRAP", sig))
	}
	if err := unix.PtraceSetOptions(t.TID, Options); err != nil {
		return fail(fmt.Errorf("PTRACE_SETOPTIONS on stub: %w", err))
	}
	if err := unix.PtraceCont(t.TID, 0); err != nil {
		return fail(fmt.Errorf("PTRACE_CONT on stub: %w", err))
	}
	sig, err := t.WaitStop()
	if err != nil {
		return fail(err)
	}
	if sig != unix.SIGTRAP {
		var regs unix.PtraceRegs
		unix.PtraceGetRegs(t.TID, &regs)
		return fail(fmt.Errorf("stub failed to initialise: %v at rip %#x, rax %d", sig, regs.Rip, int64(regs.Rax)))
	}
	if err := unix.PtraceGetRegs(t.TID, &t.ReadyRegs); err != nil {
		return fail(fmt.Errorf("PTRACE_GETREGS on stub: %w", err))
	}
	if t.ReadyRegs.Rip != readySite {
		return fail(fmt.Errorf("stub ready at %#x, want %#x", t.ReadyRegs.Rip, readySite))
	}
	t.Regs, t.Known = t.ReadyRegs, true
	return t, nil
}

// Seize attaches the calling OS thread to thread tid of stub pid, which
// waits in pause() at one of the stub's sites, and stops it there ready
// for injected calls. On failure the thread is left as it is, for the
// caller to kill.
func Seize(pid, tid int) (*Thread, error) {
	t := &Thread{PID: pid, TID: tid}
	if err := ptraceSeize(tid, Options); err != nil {
		return nil, fmt.Errorf("PTRACE_SEIZE of stub thread %d: %w", tid, err)
	}
	if err := ptraceInterrupt(tid); err != nil {
		return nil, fmt.Errorf("PTRACE_INTERRUPT of stub thread %d: %w", tid, err)
	}
	for {
		sig, event, err := t.WaitStopEvent()
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
	if err := unix.PtraceGetRegs(tid, &t.ReadyRegs); err != nil {
		return nil, fmt.Errorf("PTRACE_GETREGS: %w", err)
	}
	t.Regs, t.Known = t.ReadyRegs, true
	// The thread was stopped inside pause(): injected calls and the
	// application must not have the host restart that call.
	t.ReadyRegs.Orig_rax = ^uint64(0)
	return t, nil
}

// WaitStop waits for the thread's next stop and returns the stop signal
// (SIGTRAP|0x80 for a system-call stop; SIGTRAP for an event stop).
func (t *Thread) WaitStop() (unix.Signal, error) {
	sig, _, err := t.WaitStopEvent()
	return sig, err
}

// WaitStopEvent is WaitStop that also returns the ptrace event in the
// status's upper bits. An exit, or a thread we cannot wait for, is
// platform.ErrContextDead.
func (t *Thread) WaitStopEvent() (unix.Signal, int, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(t.TID, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.dead.Store(true)
			return 0, 0, fmt.Errorf("%w: wait4 on stub thread %d: %v", platform.ErrContextDead, t.TID, err)
		}
		break
	}
	switch {
	case ws.Stopped():
		return unix.Signal(ws >> 8 & 0xff), int(ws >> 16), nil
	case ws.Exited():
		t.dead.Store(true)
		return 0, 0, fmt.Errorf("%w: stub thread %d exited with %d", platform.ErrContextDead, t.TID, ws.ExitStatus())
	case ws.Signaled():
		t.dead.Store(true)
		return 0, 0, fmt.Errorf("%w: stub thread %d killed by %v", platform.ErrContextDead, t.TID, ws.Signal())
	}
	return 0, 0, fmt.Errorf("%w: stub thread %d: unexpected wait status %#x", platform.ErrContextDead, t.TID, uint32(ws))
}

// Reap collects the thread's exit after it was killed. Any thread of
// ours may wait for a traced thread, so this needs no tracer.
func (t *Thread) Reap() {
	if t.dead.Load() {
		return
	}
	// The thread may have been reaped already behind our back: the host
	// reaps a dead traced thread itself when its tracer thread exits, and
	// its ID can then be reused by another process. So never block on
	// it: poll, as long as the thread still exists in its stub.
	// A killed stub takes a few hundred microseconds to die: look
	// often at first (each look is a wait4 and a stat), since a sandbox
	// reaps its stubs on the way out of every program.
	var ws unix.WaitStatus
	for delay := 20 * time.Microsecond; ; delay = min(delay*3/2, 10*time.Millisecond) {
		pid, err := unix.Wait4(t.TID, &ws, unix.WALL|unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || (pid == t.TID && (ws.Exited() || ws.Signaled())) {
			t.dead.Store(true)
			return
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d", t.PID, t.TID)); err != nil {
			t.dead.Store(true)
			return
		}
		time.Sleep(delay)
	}
}

// SetRegs loads regs into the host thread unless it already holds them.
func (t *Thread) SetRegs(regs *unix.PtraceRegs) error {
	if t.Known && t.Regs == *regs {
		return nil
	}
	if t.Known && sameButRax(&t.Regs, regs) {
		// The common case after a system call: only the return value
		// changed, and one word costs less to write than the whole set.
		if err := pokeUser(t.TID, raxOffset, uintptr(regs.Rax)); err != nil {
			return fmt.Errorf("PTRACE_POKEUSER rax: %w", err)
		}
	} else if err := unix.PtraceSetRegs(t.TID, regs); err != nil {
		return fmt.Errorf("PTRACE_SETREGS: %w", err)
	}
	t.Regs, t.Known = *regs, true
	return nil
}

// GetRegs reads the host thread's registers into regs.
func (t *Thread) GetRegs(regs *unix.PtraceRegs) error {
	if err := unix.PtraceGetRegs(t.TID, regs); err != nil {
		t.Known = false
		return fmt.Errorf("PTRACE_GETREGS: %w", err)
	}
	t.Regs, t.Known = *regs, true
	return nil
}

func sameButRax(a, b *unix.PtraceRegs) bool {
	c := *b
	c.Rax = a.Rax
	return *a == c
}

// Inject executes one host system call in the stub at site, a `syscall`
// followed by the stub's int3, and returns its raw result. set, if not
// nil, changes further registers the site's code uses. Only calls that
// shape the stub are ever injected.
func (t *Thread) Inject(site uint64, set func(*unix.PtraceRegs), nr uintptr, args ...uintptr) (uintptr, error) {
	regs := t.ReadyRegs
	regs.Rip = site
	regs.Rax = uint64(nr)
	regs.Orig_rax = ^uint64(0) // not in a system call: no restart logic
	dst := []*uint64{&regs.Rdi, &regs.Rsi, &regs.Rdx, &regs.R10, &regs.R8, &regs.R9}
	for i, a := range args {
		*dst[i] = uint64(a)
	}
	if set != nil {
		set(&regs)
	}
	if err := t.SetRegs(&regs); err != nil {
		return 0, err
	}
	for {
		if err := unix.PtraceCont(t.TID, 0); err != nil {
			t.Known = false
			return 0, fmt.Errorf("PTRACE_CONT: %w", err)
		}
		sig, err := t.WaitStop()
		if err != nil {
			return 0, err
		}
		if sig == unix.SIGTRAP {
			break
		}
		// A signal the host sent the thread on the way (a stub
		// thread that runs only injected calls has nothing else to
		// stop for): not the application's; suppressed, and the call
		// goes on to its trap.
	}
	if err := t.GetRegs(&regs); err != nil {
		return 0, err
	}
	return uintptr(regs.Rax), nil
}

// InjectErr injects a call at site that returns 0 or an error.
func (t *Thread) InjectErr(site uint64, nr uintptr, args ...uintptr) error {
	r, err := t.Inject(site, nil, nr, args...)
	if err != nil {
		return err
	}
	if e := int64(r); e < 0 && e > -4096 {
		return unix.Errno(-e)
	}
	return nil
}

// CPUTime is the CPU time thread tid of process pid has used. A thread
// CPU clock of another process cannot be read with clock_gettime; its
// schedstat can.
func CPUTime(pid, tid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", pid, tid))
	if err != nil {
		return 0, fmt.Errorf("reading the stub thread's CPU time: %w", err)
	}
	var ns int64
	if _, err := fmt.Sscan(string(b), &ns); err != nil {
		return 0, fmt.Errorf("parsing schedstat %q: %w", b, err)
	}
	return time.Duration(ns), nil
}

// CheckRange keeps every injected change inside the application's
// range: a kernel bug must not be able to unmap the stub itself.
func CheckRange(addr, length uintptr) error {
	end := addr + length
	if addr < platform.MinUserAddress || end < addr || end > platform.MaxUserAddress || addr%PageSize != 0 || length%PageSize != 0 {
		return fmt.Errorf("range [%#x, %#x) outside the application address space: %w", addr, end, unix.EINVAL)
	}
	return nil
}

// PageSize is the host's page size.
const PageSize = 4096

// MapFile maps [offset, offset+length) of the stub's descriptor fd at
// addr in the stub (MAP_SHARED|MAP_FIXED), with a call injected at site.
func (t *Thread) MapFile(site uint64, addr, length uintptr, prot, fd int, offset uint64) error {
	r, err := t.Inject(site, nil, unix.SYS_MMAP, addr, length, uintptr(prot), unix.MAP_SHARED|unix.MAP_FIXED, uintptr(fd), uintptr(offset))
	if err != nil {
		return err
	}
	if r != addr {
		return fmt.Errorf("stub mmap(%#x, %#x) = %#x", addr, length, r)
	}
	return nil
}

// Unmap unmaps [addr, addr+length) in the stub.
func (t *Thread) Unmap(site uint64, addr, length uintptr) error {
	return t.InjectErr(site, unix.SYS_MUNMAP, addr, length)
}

// Protect changes the protection of [addr, addr+length) in the stub.
func (t *Thread) Protect(site uint64, addr, length uintptr, prot int) error {
	err := t.InjectErr(site, unix.SYS_MPROTECT, addr, length, uintptr(prot))
	if err == unix.ENOMEM {
		// Parts of the range were never faulted in; those will be
		// mapped with the new protection when they are.
		err = nil
	}
	return err
}
