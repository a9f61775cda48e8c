package systrap

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

func init() {
	platform.Register("systrap", New)
}

// Platform runs each address space in a stub process whose application
// threads trap their system calls into a handler that hands them to the
// kernel through shared memory.
type Platform struct {
	memoryFD int
	stubFD   int
	slots    *slotPool
	zygote   *zygote
}

const (
	atHWCAP2       = 26     // AT_HWCAP2
	hwcap2FSGSBase = 1 << 1 // HWCAP2_FSGSBASE: rd/wrfsbase in user mode
)

// New creates the systrap platform over the kernel's memory file. It
// must be called before the sandbox process confines itself: it starts
// the zygote, the stub every other stub is cloned from, which must not
// inherit the kernel's seccomp allowlist (that filter would kill a stub
// at the application's first system call outside it, before the stub's
// own filter could trap it).
func New(memoryFD int) (platform.Platform, error) {
	if err := checkHost(); err != nil {
		return nil, err
	}
	stubFD, err := newStubFile()
	if err != nil {
		return nil, err
	}
	slots, err := newSlotPool()
	if err != nil {
		unix.Close(stubFD)
		return nil, err
	}
	p := &Platform{memoryFD: memoryFD, stubFD: stubFD, slots: slots}
	if p.zygote, err = p.startZygote(); err != nil {
		slots.close()
		unix.Close(stubFD)
		return nil, err
	}
	return p, nil
}

// checkHost refuses hosts where the handler could not run: it reads and
// writes fs_base and gs_base with the FSGSBASE instructions, which the
// host must have enabled for user mode (Linux 5.9 and later).
func checkHost() error {
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("systrap: %s is not supported", runtime.GOARCH)
	}
	auxv, err := unix.Auxv()
	if err != nil {
		return fmt.Errorf("systrap: reading the auxiliary vector: %w", err)
	}
	for _, kv := range auxv {
		if kv[0] == atHWCAP2 && kv[1]&hwcap2FSGSBase != 0 {
			return nil
		}
	}
	return errors.New("systrap: the host does not enable FSGSBASE for user mode")
}

// Name implements platform.Platform.
func (p *Platform) Name() string { return "systrap" }

// Close implements platform.Platform.
func (p *Platform) Close() error {
	p.zygote.stop()
	p.slots.close()
	return unix.Close(p.stubFD)
}

// NewAddressSpace implements platform.Platform. The stub process is
// cloned from the zygote on first use.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	return &addressSpace{p: p}, nil
}

// NewContext implements platform.Platform.
func (p *Platform) NewContext() (platform.Context, error) {
	return &context{p: p, threads: map[*addressSpace]*stubThread{}}, nil
}

// zygote is the first stub, started before the sandbox process is
// confined and traced by a goroutine locked to its own OS thread. It
// only ever clones itself into new stub processes.
type zygote struct {
	requests chan func(st *tracee)
	stub     *tracee

	// mu serialises forks and guards closed (requests is closed once).
	mu     sync.Mutex
	closed bool
}

func (p *Platform) startZygote() (*zygote, error) {
	z := &zygote{requests: make(chan func(st *tracee))}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: the zygote is traced by, and dies with
		// (PR_SET_PDEATHSIG, PTRACE_O_EXITKILL), this thread.
		runtime.LockOSThread()
		st, err := p.execStub()
		ready <- err
		if err != nil {
			return
		}
		z.stub = st
		for fn := range z.requests {
			fn(st)
		}
		unix.Kill(st.pid, unix.SIGKILL)
		st.reap()
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return z, nil
}

// fork clones the zygote into a new stub process, a child of the
// sandbox process (CLONE_PARENT), waiting in pause() to be seized.
func (z *zygote) fork() (int, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.closed {
		return 0, errors.New("systrap: platform closed")
	}
	type result struct {
		pid int
		err error
	}
	done := make(chan result, 1)
	z.requests <- func(st *tracee) {
		r, err := st.inject(processCloneSite, unix.SYS_CLONE, unix.CLONE_PARENT|uintptr(unix.SIGCHLD), 0, 0, 0, 0)
		if err == nil && int64(r) < 0 {
			err = fmt.Errorf("clone in the zygote: %w", unix.Errno(-int64(r)))
		}
		done <- result{int(r), err}
	}
	res := <-done
	return res.pid, res.err
}

func (z *zygote) stop() {
	z.mu.Lock()
	defer z.mu.Unlock()
	if !z.closed {
		z.closed = true
		close(z.requests)
	}
}

// execStub starts the zygote traced by the calling OS thread and runs it
// to its ready trap.
func (p *Platform) execStub() (*tracee, error) {
	attr := &syscall.ProcAttr{
		Env: []string{},
		// The memory file at stubMemoryFD, the slot file at
		// stubSlotFD; 0-2 closed.
		Files: []uintptr{^uintptr(0), ^uintptr(0), ^uintptr(0), uintptr(p.memoryFD), uintptr(p.slots.fd)},
		Sys: &syscall.SysProcAttr{
			Ptrace:    true,
			Pdeathsig: syscall.SIGKILL,
			// A process group of its own, inherited by every stub:
			// signals the host sends to magawa's group are not the
			// application's.
			Setpgid: true,
		},
	}
	path := fmt.Sprintf("/proc/self/fd/%d", p.stubFD)
	pid, err := syscall.ForkExec(path, []string{"magawa-stub"}, attr)
	if err != nil {
		return nil, fmt.Errorf("starting the zygote stub: %w", err)
	}
	st := &tracee{pid: pid, tid: pid}
	fail := func(err error) (*tracee, error) {
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
	if err := unix.PtraceSetOptions(st.tid, unix.PTRACE_O_TRACESYSGOOD|unix.PTRACE_O_EXITKILL); err != nil {
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
	return st, nil
}

// tracee is a stub's first thread, traced by one OS thread of ours,
// which injects the calls that shape the stub.
type tracee struct {
	pid, tid int
	// readyRegs is a state at one of the stub's own traps, the template
	// for injected system calls.
	readyRegs unix.PtraceRegs
	dead      bool
}

// waitStop waits for the thread's next stop and returns the stop signal
// (and the ptrace event in the status's upper bits).
func (st *tracee) waitStop() (unix.Signal, error) {
	sig, _, err := st.waitStopEvent()
	return sig, err
}

func (st *tracee) waitStopEvent() (unix.Signal, int, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(st.tid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			st.dead = true
			return 0, 0, fmt.Errorf("%w: wait4 on stub %d: %v", platform.ErrContextDead, st.tid, err)
		}
		break
	}
	switch {
	case ws.Stopped():
		return unix.Signal(ws >> 8 & 0xff), int(ws >> 16), nil
	case ws.Exited():
		st.dead = true
		return 0, 0, fmt.Errorf("%w: stub %d exited with %d", platform.ErrContextDead, st.tid, ws.ExitStatus())
	case ws.Signaled():
		st.dead = true
		return 0, 0, fmt.Errorf("%w: stub %d killed by %v", platform.ErrContextDead, st.tid, ws.Signal())
	}
	return 0, 0, fmt.Errorf("%w: stub %d: unexpected wait status %#x", platform.ErrContextDead, st.tid, uint32(ws))
}

// reap collects the thread's exit after it was killed, polling: its ID
// may have been reaped behind our back and reused (see the ptrace
// platform's reap).
func (st *tracee) reap() {
	if st.dead {
		return
	}
	var ws unix.WaitStatus
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 10*time.Millisecond) {
		pid, err := unix.Wait4(st.tid, &ws, unix.WALL|unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || (pid == st.tid && (ws.Exited() || ws.Signaled())) {
			st.dead = true
			return
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d", st.pid, st.tid)); err != nil {
			st.dead = true
			return
		}
		time.Sleep(delay)
	}
}

// inject executes one host system call in the stub at site, with extra
// registers set by regs, and returns its raw result.
func (st *tracee) inject(site uint64, nr uintptr, args ...uintptr) (uintptr, error) {
	return st.injectWith(site, nil, nr, args...)
}

func (st *tracee) injectWith(site uint64, set func(*unix.PtraceRegs), nr uintptr, args ...uintptr) (uintptr, error) {
	regs := st.readyRegs
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
	if err := unix.PtraceSetRegs(st.tid, &regs); err != nil {
		return 0, fmt.Errorf("PTRACE_SETREGS: %w", err)
	}
	if err := unix.PtraceCont(st.tid, 0); err != nil {
		return 0, fmt.Errorf("PTRACE_CONT: %w", err)
	}
	for {
		sig, err := st.waitStop()
		if err != nil {
			return 0, err
		}
		if sig == unix.SIGTRAP {
			break
		}
		// The thread blocks every signal, so this is one the host
		// forced on it; suppress it and wait for the trap.
		if err := unix.PtraceCont(st.tid, 0); err != nil {
			return 0, fmt.Errorf("PTRACE_CONT: %w", err)
		}
	}
	if err := unix.PtraceGetRegs(st.tid, &regs); err != nil {
		return 0, fmt.Errorf("PTRACE_GETREGS: %w", err)
	}
	return uintptr(regs.Rax), nil
}

func (st *tracee) injectErr(nr uintptr, args ...uintptr) error {
	r, err := st.inject(syscallSite, nr, args...)
	if err != nil {
		return err
	}
	if e := int64(r); e < 0 && e > -4096 {
		return unix.Errno(-e)
	}
	return nil
}
