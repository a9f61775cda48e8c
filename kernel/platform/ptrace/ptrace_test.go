package ptrace

import (
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
	"magawa/kernel/platform/internal/platformtest"
)

var testPlatform = platformtest.Platform{
	New:       New,
	EntryRegs: entryRegs,
	StubPID:   func(as platform.AddressSpace) int { return as.(*addressSpace).master.Stub.PID },
	StubSites: []uint64{syscallSite},
	StubBase:  stubBase,
	StubSize:  stubSize,
}

func TestPlatform(t *testing.T) { platformtest.Run(t, testPlatform) }

func BenchmarkSyscallRoundTrip(b *testing.B) {
	platformtest.BenchmarkSyscallRoundTrip(b, testPlatform)
}

func newHarness(t *testing.T, code []byte) *platformtest.Harness {
	return testPlatform.NewHarness(t, code)
}

// entryRegs starts from the stub thread's own register state (valid
// segment selectors) with the application's entry point.
func entryRegs(ctx platform.Context, as platform.AddressSpace) (platform.Registers, error) {
	st, err := ctx.(*context).thread(as.(*addressSpace))
	if err != nil {
		return platform.Registers{}, err
	}
	regs := st.ReadyRegs
	regs.Rip = platformtest.CodeAddr
	regs.Rsp = 0
	return regs, nil
}

// The stub's seccomp filter is the second wall: should application code
// ever run without PTRACE_SYSEMU, its system calls trap instead of
// reaching the host.
func TestSeccompTrapsApplicationSyscallsWithoutSysemu(t *testing.T) {
	h := newHarness(t, []byte{
		0xb8, 0x27, 0x00, 0x00, 0x00, // mov $39 (getpid), %eax
		0x0f, 0x05, // syscall
	})
	regs := h.InitialRegs()
	st := h.Ctx.(*context).threads[h.AS.(*addressSpace)]
	if err := st.SetRegs(&regs); err != nil {
		t.Fatal(err)
	}
	if err := unix.PtraceCont(st.TID, 0); err != nil {
		t.Fatal(err)
	}
	sig, err := st.WaitStop()
	if err != nil {
		t.Fatal(err)
	}
	if sig != unix.SIGSYS {
		t.Fatalf("application syscall without SYSEMU stopped with %v, want SIGSYS", sig)
	}
	st.Known = false
}
