package systrap

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// harness gives a test a platform, one address space and a context over a
// small memory file holding code at codeAddr.
type harness struct {
	t   *testing.T
	p   platform.Platform
	mem int
	as  platform.AddressSpace
	ctx platform.Context
}

const codeAddr = 0x400000

func newHarness(t *testing.T, code []byte) *harness {
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
	p, err := New(mem)
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
	if err := as.MapFile(codeAddr, 0x1000, 0, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		t.Fatalf("MapFile: %v", err)
	}
	return &harness{t: t, p: p, mem: mem, as: as, ctx: ctx}
}

func (h *harness) switchTo(regs *platform.Registers) platform.Event {
	h.t.Helper()
	ev, err := h.ctx.Switch(h.as, regs)
	if err != nil {
		h.t.Fatalf("Switch: %v", err)
	}
	return ev
}

func TestSyscallsAreIntercepted(t *testing.T) {
	h := newHarness(t, []byte{
		0xb8, 0x27, 0x00, 0x00, 0x00, // mov $39 (getpid), %eax
		0x0f, 0x05, // syscall
		0x48, 0x89, 0xc7, // mov %rax, %rdi
		0xb8, 0x3c, 0x00, 0x00, 0x00, // mov $60 (exit), %eax
		0x0f, 0x05, // syscall
	})
	regs := h.initialRegs()
	ev := h.switchTo(&regs)
	if ev.Kind != platform.EventSyscall || regs.Orig_rax != unix.SYS_GETPID {
		t.Fatalf("first event %v, orig_rax %d; want syscall getpid", ev, regs.Orig_rax)
	}
	regs.Rax = 4242 // the kernel's answer
	ev = h.switchTo(&regs)
	if ev.Kind != platform.EventSyscall || regs.Orig_rax != unix.SYS_EXIT {
		t.Fatalf("second event %v, orig_rax %d; want syscall exit", ev, regs.Orig_rax)
	}
	if regs.Rdi != 4242 {
		t.Errorf("application saw getpid() = %d, want the kernel's 4242", regs.Rdi)
	}
	// exit was not executed on the host: the stub is still there and runs on.
	ev = h.switchTo(&regs)
	if ev.Kind != platform.EventFault || ev.Signo != unix.SIGSEGV {
		t.Errorf("running past the end of the code: %v, want SIGSEGV", ev)
	}
}

func TestFaultsAreReported(t *testing.T) {
	h := newHarness(t, []byte{
		0x48, 0xb8, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, // movabs $0x10000000, %rax
		0x48, 0x8b, 0x00, // mov (%rax), %rax
	})
	regs := h.initialRegs()
	ev := h.switchTo(&regs)
	if ev.Kind != platform.EventFault || ev.Signo != unix.SIGSEGV || ev.Addr != 0x10000000 {
		t.Fatalf("event %v, want SIGSEGV at 0x10000000", ev)
	}
	// Map the page and resume: the access completes (demand paging).
	if err := h.as.MapFile(0x10000000, 0x1000, 0x1000, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	ev = h.switchTo(&regs)
	if ev.Kind != platform.EventFault || ev.Addr == 0x10000000 {
		t.Fatalf("after mapping: %v, want to run on past the load", ev)
	}
}

// An application that jumps into the stub's own system-call
// instructions is still intercepted: the stub's sites other than the
// handler's, and the handler's own with another call.
func TestStubSyscallSiteIsIntercepted(t *testing.T) {
	var code []byte
	code = append(code, 0xb8, 0xa9, 0x00, 0x00, 0x00) // mov $169 (reboot), %eax
	code = append(code, 0x48, 0xb9)                   // movabs $syscallSite, %rcx
	for i := 0; i < 8; i++ {
		code = append(code, byte(uint64(syscallSite)>>(8*i)))
	}
	code = append(code, 0xff, 0xe1) // jmp *%rcx
	for _, site := range []uint64{syscallSite, stubBase + codeOffset + offWakeSite, stubBase + codeOffset + offSigreturnSite} {
		code := append([]byte(nil), code...)
		for i := 0; i < 8; i++ {
			code[7+i] = byte(site >> (8 * i))
		}
		h := newHarness(t, code)
		regs := h.initialRegs()
		ev := h.switchTo(&regs)
		if ev.Kind != platform.EventSyscall || regs.Orig_rax != unix.SYS_REBOOT {
			t.Fatalf("site %#x: event %v orig_rax %d, want intercepted reboot", site, ev, regs.Orig_rax)
		}
	}
}

func TestInterruptBeforeSwitch(t *testing.T) {
	h := newHarness(t, []byte{0xeb, 0xfe}) // jmp .
	regs := h.initialRegs()
	h.ctx.Interrupt()
	if ev := h.switchTo(&regs); ev.Kind != platform.EventInterrupted {
		t.Fatalf("event %v, want interrupted", ev)
	}
}

func TestInterruptRunningLoop(t *testing.T) {
	h := newHarness(t, []byte{0xeb, 0xfe}) // jmp .
	regs := h.initialRegs()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				h.ctx.Interrupt()
				runtime.Gosched()
			}
		}
	}()
	ev := h.switchTo(&regs)
	close(done)
	if ev.Kind != platform.EventInterrupted {
		t.Fatalf("event %v, want interrupted", ev)
	}
}

func TestFPStateRoundTrip(t *testing.T) {
	h := newHarness(t, []byte{0x0f, 0x05}) // syscall
	regs := h.initialRegs()
	h.switchTo(&regs)
	fp, err := h.ctx.FPState()
	if err != nil {
		t.Fatal(err)
	}
	if len(fp) < 512 {
		t.Fatalf("xstate of %d bytes, want at least the 512-byte legacy area", len(fp))
	}
	if err := h.ctx.SetFPState(fp); err != nil {
		t.Fatal(err)
	}
}

func TestRangesOutsideTheApplicationAreRefused(t *testing.T) {
	h := newHarness(t, []byte{0x0f, 0x05})
	if err := h.as.Unmap(stubBase, stubSize); err == nil {
		t.Fatal("unmapping the stub was allowed")
	}
	if err := h.as.MapFile(0, 0x1000, 0, unix.PROT_READ); err == nil {
		t.Fatal("mapping page 0 was allowed")
	}
}

func (h *harness) initialRegs() platform.Registers {
	regs, err := entryRegs(h.ctx, h.as)
	if err != nil {
		h.t.Fatal(err)
	}
	return regs
}

// entryRegs starts from the stub thread's own register state (valid
// segment selectors) with the application's entry point.
func entryRegs(ctx platform.Context, as platform.AddressSpace) (platform.Registers, error) {
	c := ctx.(*context)
	st, err := c.thread(as.(*addressSpace))
	if err != nil {
		return platform.Registers{}, err
	}
	f, err := st.frame()
	if err != nil {
		return platform.Registers{}, err
	}
	var regs platform.Registers
	st.store(f, &regs)
	regs.Rip = codeAddr
	regs.Rsp = 0
	return regs, nil
}

func BenchmarkSyscallRoundTrip(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mem, _ := unix.MemfdCreate("bench", unix.MFD_CLOEXEC)
	defer unix.Close(mem)
	unix.Ftruncate(mem, 1<<20)
	unix.Pwrite(mem, []byte{0x0f, 0x05, 0xeb, 0xfc}, 0) // 1: syscall; jmp 1b
	p, err := New(mem)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	as, _ := p.NewAddressSpace()
	defer as.Release()
	ctx, _ := p.NewContext()
	if err := as.MapFile(codeAddr, 0x1000, 0, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		b.Fatal(err)
	}
	regs, err := entryRegs(ctx, as)
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

// Several contexts (kernel tasks on their own OS threads) run in one
// address space, each on its own stub thread.
func TestContextsShareAnAddressSpace(t *testing.T) {
	h := newHarness(t, []byte{
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
			ctx, err := h.p.NewContext()
			if err != nil {
				errs <- err
				return
			}
			defer ctx.Release()
			regs, err := entryRegs(ctx, h.as)
			if err != nil {
				errs <- err
				return
			}
			for j := 0; j < 100; j++ {
				ev, err := ctx.Switch(h.as, &regs)
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
	regs := h.initialRegs()
	h.switchTo(&regs)
	// A thread that exited is reaped at once, but /proc may list it a
	// moment longer: allow it a second to go.
	as := h.as.(*addressSpace)
	n := 0
	for i := 0; i < 100; i++ {
		if n = countThreads(t, as.master.stub.pid); n == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n != 2 {
		t.Errorf("stub has %d threads after 4 contexts released, want 2 (master's and ours)", n)
	}
}

// Releasing an address space kills its stub and leaves no zombie.
func TestReleaseReapsStub(t *testing.T) {
	h := newHarness(t, []byte{0x0f, 0x05})
	regs := h.initialRegs()
	h.switchTo(&regs)
	as := h.as.(*addressSpace)
	pid := as.master.stub.pid
	as.Release()
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !os.IsNotExist(err) {
		t.Errorf("stub %d still exists after release (err %v)", pid, err)
	}
	if _, err := h.ctx.Switch(h.as, &regs); err == nil {
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

func TestInt3(t *testing.T) {
	h := newHarness(t, []byte{0xcc, 0xcc, 0xcc, 0xcc})
	regs := h.initialRegs()
	for i := 0; i < 3; i++ {
		ev := h.switchTo(&regs)
		if ev.Kind != platform.EventFault || ev.Signo != unix.SIGTRAP {
			t.Fatalf("event %v, want SIGTRAP", ev)
		}
		t.Logf("%v rip %#x", ev, regs.Rip)
	}
}
