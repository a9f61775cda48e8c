package systrap

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// A handler spinning for the answer to a call stops as soon as the
// kernel says the call will block: it reads its spin count at every
// round, and PrepareSleep zeroes it. With a count of 2^30 rounds (about
// 20 s of PAUSE), only that makes it sleep at once.
func TestPrepareSleepStopsTheHandlerSpinning(t *testing.T) {
	old := stubSpin
	stubSpin = 1 << 30
	t.Cleanup(func() { stubSpin = old })
	h := newHarness(t, []byte{
		0xb8, 0x27, 0x00, 0x00, 0x00, // 1: mov $39 (getpid), %eax
		0x0f, 0x05, // syscall
		0xeb, 0xf7, // jmp 1b
	})
	regs := h.InitialRegs()
	// The handler spins on the count a resume gave it only if it did
	// not have to wake the kernel's thread, which spins only once the
	// program came back quickly: call until it is seen spinning.
	for i := 0; ; i++ {
		if i == 200 {
			t.Fatal("the handler never spun in 200 calls")
		}
		if ev := h.SwitchTo(&regs); ev.Kind != platform.EventSyscall || regs.Orig_rax != unix.SYS_GETPID {
			t.Fatalf("event %d: %v, orig_rax %d; want getpid", i, ev, regs.Orig_rax)
		}
		time.Sleep(time.Millisecond)
		if h.Ctx.(*context).last.Load().slot.sSleep().Load() == 0 {
			break
		}
	}
	s := h.Ctx.(*context).last.Load().slot
	h.Ctx.PrepareSleep()
	for deadline := time.Now().Add(2 * time.Second); s.sSleep().Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the handler still spins 2 s after PrepareSleep")
		}
	}
}
