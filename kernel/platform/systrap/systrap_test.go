package systrap

import (
	"testing"

	"magawa/kernel/platform"
	"magawa/kernel/platform/internal/platformtest"
)

var testPlatform = platformtest.Platform{
	New:       New,
	EntryRegs: entryRegs,
	StubPID:   func(as platform.AddressSpace) int { return as.(*addressSpace).master.Stub.PID },
	// The stub's sites other than the handler's, and the handler's own
	// with another call.
	StubSites: []uint64{syscallSite, stubBase + codeOffset + offWakeSite, stubBase + codeOffset + offSigreturnSite},
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
	regs.Rip = platformtest.CodeAddr
	regs.Rsp = 0
	return regs, nil
}
