package platformtest

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// CodeAddr is where the harness maps the memory file's first page, the
// test's code.
const CodeAddr = 0x400000

// Platform is what the suite needs to know of a platform beyond its
// interfaces.
type Platform struct {
	New platform.Constructor
	// EntryRegs returns registers valid for the context's thread in as
	// (segment selectors and all) with rip at CodeAddr.
	EntryRegs func(ctx platform.Context, as platform.AddressSpace) (platform.Registers, error)
	// StubPID is the host process behind an address space that has run.
	StubPID func(as platform.AddressSpace) int
	// StubSites are system-call instructions in the stub that
	// application code must not be able to use.
	StubSites []uint64
	// StubBase and StubSize are the stub's own page, which the
	// application must not be able to change.
	StubBase, StubSize uintptr
}

// Harness gives a test a platform, one address space and a context
// over a small memory file holding code at CodeAddr.
type Harness struct {
	T   *testing.T
	P   platform.Platform
	AS  platform.AddressSpace
	Ctx platform.Context
	pl  Platform
}

// NewHarness builds a harness whose code is code; the calling goroutine
// stays locked to its OS thread for the test.
func (pl Platform) NewHarness(t *testing.T, code []byte) *Harness {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	mem, err := unix.MemfdCreate("test-memory", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(mem) })
	if err := unix.Ftruncate(mem, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Pwrite(mem, code, 0); err != nil {
		t.Fatal(err)
	}
	p, err := pl.New(mem)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Release)
	ctx, err := p.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	if err := as.MapFile(CodeAddr, 0x1000, 0, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		t.Fatalf("MapFile: %v", err)
	}
	return &Harness{T: t, P: p, AS: as, Ctx: ctx, pl: pl}
}

// SwitchTo runs the harness's context and fails the test on an error.
func (h *Harness) SwitchTo(regs *platform.Registers) platform.Event {
	h.T.Helper()
	ev, err := h.Ctx.Switch(h.AS, regs)
	if err != nil {
		h.T.Fatalf("Switch: %v", err)
	}
	return ev
}

// InitialRegs are registers to start the code at CodeAddr with.
func (h *Harness) InitialRegs() platform.Registers {
	h.T.Helper()
	regs, err := h.pl.EntryRegs(h.Ctx, h.AS)
	if err != nil {
		h.T.Fatal(err)
	}
	return regs
}

// Run runs the suite.
func Run(t *testing.T, pl Platform) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Platform)
	}{
		{"SyscallsAreIntercepted", syscallsAreIntercepted},
		{"FaultsAreReported", faultsAreReported},
		{"StubSyscallSiteIsIntercepted", stubSyscallSiteIsIntercepted},
		{"InterruptBeforeSwitch", interruptBeforeSwitch},
		{"InterruptRunningLoop", interruptRunningLoop},
		{"FPStateRoundTrip", fpStateRoundTrip},
		{"RangesOutsideTheApplicationAreRefused", rangesOutsideTheApplicationAreRefused},
		{"ContextsShareAnAddressSpace", contextsShareAnAddressSpace},
		{"ReleaseReapsStub", releaseReapsStub},
		{"Int3", int3},
		{"SleepAndMoveBetweenThreads", sleepAndMoveBetweenThreads},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, pl) })
	}
}

// getpidThenExit passes getpid's result to exit.
var getpidThenExit = []byte{
	0xb8, 0x27, 0x00, 0x00, 0x00, // mov $39 (getpid), %eax
	0x0f, 0x05, // syscall
	0x48, 0x89, 0xc7, // mov %rax, %rdi
	0xb8, 0x3c, 0x00, 0x00, 0x00, // mov $60 (exit), %eax
	0x0f, 0x05, // syscall
}

func syscallsAreIntercepted(t *testing.T, pl Platform) {
	h := pl.NewHarness(t, getpidThenExit)
	regs := h.InitialRegs()
	ev := h.SwitchTo(&regs)
	if ev.Kind != platform.EventSyscall || regs.Orig_rax != unix.SYS_GETPID {
		t.Fatalf("first event %v, orig_rax %d; want syscall getpid", ev, regs.Orig_rax)
	}
	regs.Rax = 4242 // the kernel's answer
	ev = h.SwitchTo(&regs)
	if ev.Kind != platform.EventSyscall || regs.Orig_rax != unix.SYS_EXIT {
		t.Fatalf("second event %v, orig_rax %d; want syscall exit", ev, regs.Orig_rax)
	}
	if regs.Rdi != 4242 {
		t.Errorf("application saw getpid() = %d, want the kernel's 4242", regs.Rdi)
	}
	// exit was not executed on the host: the stub is still there and runs on.
	ev = h.SwitchTo(&regs)
	if ev.Kind != platform.EventFault || ev.Signo != unix.SIGSEGV {
		t.Errorf("running past the end of the code: %v, want SIGSEGV", ev)
	}
}

// The kernel may sleep between two switches (a blocking call: it says so
// with PrepareSleep) and, where the platform does not need the context's
// OS thread, go on from another thread.
func sleepAndMoveBetweenThreads(t *testing.T, pl Platform) {
	h := pl.NewHarness(t, getpidThenExit)
	regs := h.InitialRegs()
	if ev := h.SwitchTo(&regs); ev.Kind != platform.EventSyscall || regs.Orig_rax != unix.SYS_GETPID {
		t.Fatalf("first event %v, orig_rax %d; want syscall getpid", ev, regs.Orig_rax)
	}
	h.Ctx.PrepareSleep()
	time.Sleep(20 * time.Millisecond)
	regs.Rax = 4242
	first := unix.Gettid()
	type result struct {
		ev  platform.Event
		err error
		tid int
	}
	done := make(chan result, 1)
	run := func() {
		ev, err := h.Ctx.Switch(h.AS, &regs)
		done <- result{ev, err, unix.Gettid()}
	}
	moves := !h.P.NeedsOSThread()
	if moves {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			run()
		}()
	} else {
		run()
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Switch after a sleep (from another thread: %v): %v", moves, r.err)
	}
	if moves && r.tid == first {
		t.Fatalf("the second Switch ran on the first's thread %d", first)
	}
	if r.ev.Kind != platform.EventSyscall || regs.Orig_rax != unix.SYS_EXIT || regs.Rdi != 4242 {
		t.Errorf("after sleeping (and moving: %v): event %v, orig_rax %d, rdi %d; want exit with the kernel's 4242", moves, r.ev, regs.Orig_rax, regs.Rdi)
	}
}

func faultsAreReported(t *testing.T, pl Platform) {
	h := pl.NewHarness(t, []byte{
		0x48, 0xb8, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, // movabs $0x10000000, %rax
		0x48, 0x8b, 0x00, // mov (%rax), %rax
	})
	regs := h.InitialRegs()
	ev := h.SwitchTo(&regs)
	if ev.Kind != platform.EventFault || ev.Signo != unix.SIGSEGV || ev.Addr != 0x10000000 {
		t.Fatalf("event %v, want SIGSEGV at 0x10000000", ev)
	}
	// Map the page and resume: the access completes (demand paging).
	if err := h.AS.MapFile(0x10000000, 0x1000, 0x1000, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	ev = h.SwitchTo(&regs)
	if ev.Kind != platform.EventFault || ev.Addr == 0x10000000 {
		t.Fatalf("after mapping: %v, want to run on past the load", ev)
	}
}

// An application that jumps into one of the stub's own system-call
// instructions is still intercepted.
func stubSyscallSiteIsIntercepted(t *testing.T, pl Platform) {
	for _, site := range pl.StubSites {
		code := []byte{
			0xb8, 0xa9, 0x00, 0x00, 0x00, // mov $169 (reboot), %eax
			0x48, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, // movabs $site, %rcx
			0xff, 0xe1, // jmp *%rcx
		}
		for i := 0; i < 8; i++ {
			code[7+i] = byte(site >> (8 * i))
		}
		h := pl.NewHarness(t, code)
		regs := h.InitialRegs()
		ev := h.SwitchTo(&regs)
		if ev.Kind != platform.EventSyscall || regs.Orig_rax != unix.SYS_REBOOT {
			t.Fatalf("site %#x: event %v orig_rax %d, want intercepted reboot", site, ev, regs.Orig_rax)
		}
	}
}

func interruptBeforeSwitch(t *testing.T, pl Platform) {
	h := pl.NewHarness(t, []byte{0xeb, 0xfe}) // jmp .
	regs := h.InitialRegs()
	h.Ctx.Interrupt()
	if ev := h.SwitchTo(&regs); ev.Kind != platform.EventInterrupted {
		t.Fatalf("event %v, want interrupted", ev)
	}
}

func interruptRunningLoop(t *testing.T, pl Platform) {
	h := pl.NewHarness(t, []byte{0xeb, 0xfe}) // jmp .
	regs := h.InitialRegs()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				h.Ctx.Interrupt()
				runtime.Gosched()
			}
		}
	}()
	ev := h.SwitchTo(&regs)
	close(done)
	if ev.Kind != platform.EventInterrupted {
		t.Fatalf("event %v, want interrupted", ev)
	}
}

func fpStateRoundTrip(t *testing.T, pl Platform) {
	h := pl.NewHarness(t, []byte{0x0f, 0x05}) // syscall
	regs := h.InitialRegs()
	h.SwitchTo(&regs)
	fp, err := h.Ctx.FPState()
	if err != nil {
		t.Fatal(err)
	}
	if len(fp) < 512 {
		t.Fatalf("xstate of %d bytes, want at least the 512-byte legacy area", len(fp))
	}
	if err := h.Ctx.SetFPState(fp); err != nil {
		t.Fatal(err)
	}
}

func rangesOutsideTheApplicationAreRefused(t *testing.T, pl Platform) {
	h := pl.NewHarness(t, []byte{0x0f, 0x05})
	if err := h.AS.Unmap(pl.StubBase, pl.StubSize); err == nil {
		t.Fatal("unmapping the stub was allowed")
	}
	if err := h.AS.MapFile(0, 0x1000, 0, unix.PROT_READ); err == nil {
		t.Fatal("mapping page 0 was allowed")
	}
}

// Several contexts (kernel tasks on their own OS threads) run in one
// address space, each on its own stub thread.
func contextsShareAnAddressSpace(t *testing.T, pl Platform) {
	h := pl.NewHarness(t, []byte{
		0xb8, 0x27, 0x00, 0x00, 0x00, // mov $39 (getpid), %eax
		0x0f, 0x05, // syscall
		0xeb, 0xf7, // jmp back to the mov
	})
	const workers = 4
	errs := make(chan error, workers)
	for i := 0; i < workers; i++ {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ctx, err := h.P.NewContext()
			if err != nil {
				errs <- err
				return
			}
			defer ctx.Release()
			regs, err := pl.EntryRegs(ctx, h.AS)
			if err != nil {
				errs <- err
				return
			}
			for j := 0; j < 100; j++ {
				ev, err := ctx.Switch(h.AS, &regs)
				if err != nil {
					errs <- err
					return
				}
				if ev.Kind != platform.EventSyscall || regs.Orig_rax != unix.SYS_GETPID {
					errs <- fmt.Errorf("event %v orig_rax %d", ev, regs.Orig_rax)
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < workers; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// The address space still works for the first context, and its
	// stub lost the threads of the released contexts.
	regs := h.InitialRegs()
	h.SwitchTo(&regs)
	// A thread that exited is reaped at once, but /proc may list it a
	// moment longer: allow it a second to go.
	n := 0
	for i := 0; i < 100; i++ {
		if n = countThreads(t, pl.StubPID(h.AS)); n == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n != 2 {
		t.Errorf("stub has %d threads after 4 contexts released, want 2 (master's and ours)", n)
	}
}

// Releasing an address space kills its stub and leaves no zombie.
func releaseReapsStub(t *testing.T, pl Platform) {
	h := pl.NewHarness(t, []byte{0x0f, 0x05})
	regs := h.InitialRegs()
	h.SwitchTo(&regs)
	pid := pl.StubPID(h.AS)
	h.AS.Release()
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !os.IsNotExist(err) {
		t.Errorf("stub %d still exists after release (err %v)", pid, err)
	}
	if _, err := h.Ctx.Switch(h.AS, &regs); err == nil {
		t.Error("Switch into a released address space succeeded")
	}
}

func countThreads(t *testing.T, pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func int3(t *testing.T, pl Platform) {
	h := pl.NewHarness(t, []byte{0xcc, 0xcc, 0xcc, 0xcc})
	regs := h.InitialRegs()
	for i := 0; i < 3; i++ {
		ev := h.SwitchTo(&regs)
		if ev.Kind != platform.EventFault || ev.Signo != unix.SIGTRAP {
			t.Fatalf("event %v, want SIGTRAP", ev)
		}
	}
}

// BenchmarkSyscallRoundTrip times a system call the kernel answers at
// once: one Switch per call.
func BenchmarkSyscallRoundTrip(b *testing.B, pl Platform) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mem, _ := unix.MemfdCreate("bench", unix.MFD_CLOEXEC)
	defer unix.Close(mem)
	unix.Ftruncate(mem, 1<<20)
	unix.Pwrite(mem, []byte{0x0f, 0x05, 0xeb, 0xfc}, 0) // 1: syscall; jmp 1b
	p, err := pl.New(mem)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	as, _ := p.NewAddressSpace()
	defer as.Release()
	ctx, _ := p.NewContext()
	if err := as.MapFile(CodeAddr, 0x1000, 0, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		b.Fatal(err)
	}
	regs, err := pl.EntryRegs(ctx, as)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev, err := ctx.Switch(as, &regs)
		if err != nil || ev.Kind != platform.EventSyscall {
			b.Fatalf("%v %v", ev, err)
		}
		regs.Rax = 1
	}
}
