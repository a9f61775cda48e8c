package systrap

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
	"magawa/kernel/platform/internal/platformtest"
)

// forgedSigreturn is code that calls the handler's rt_sigreturn with a
// frame of its own, in its code page, whose signal mask blocks the
// interrupt signal, and so continues at rip with the registers set.
func forgedSigreturn(rip uint64, set map[int]uint64) []byte {
	const (
		frameOff = 0x40
		spinOff  = 0x1b
	)
	code := make([]byte, frameOff+ucSize)
	le := binary.LittleEndian
	code[0], code[1] = 0x48, 0xbc // movabs $frame, %rsp
	le.PutUint64(code[2:], platformtest.CodeAddr+frameOff)
	code[10], code[11] = 0x48, 0xb9 // movabs $sigreturnSite, %rcx
	le.PutUint64(code[12:], stubBase+codeOffset+offSigreturnSite)
	copy(code[0x14:], []byte{0xb8, 0x0f, 0x00, 0x00, 0x00}) // mov $15 (rt_sigreturn), %eax
	copy(code[0x19:], []byte{0xff, 0xe1})                   // jmp *%rcx
	copy(code[spinOff:], []byte{0xeb, 0xfe})                // spin: jmp .
	if rip == 0 {
		rip = platformtest.CodeAddr + spinOff
	}
	uc := code[frameOff:]
	mc := func(off int, v uint64) { le.PutUint64(uc[ucMcontext+off:], v) }
	mc(scRip, rip)
	mc(scRsp, platformtest.CodeAddr+frameOff)
	mc(scEflags, 0x202)
	le.PutUint16(uc[ucMcontext+scCs:], 0x33)
	le.PutUint16(uc[ucMcontext+scSs:], 0x2b)
	for off, v := range set {
		mc(off, v)
	}
	le.PutUint64(uc[ucSigmask:], 1<<(interruptSignal-1))
	return code
}

// An application that blocks the interrupt signal in its host thread
// with a forged rt_sigreturn, and then only computes or sleeps on a
// futex, cannot be interrupted: its stub is killed instead, and Switch
// reports the context dead, so that the kernel kills the task.
func TestInterruptOfThreadBlockingTheSignal(t *testing.T) {
	for _, tc := range []struct {
		name string
		code []byte
	}{
		{"spinning", forgedSigreturn(0, nil)},
		{"sleeping", forgedSigreturn(stubBase+codeOffset+offWaitSite, map[int]uint64{
			scRax: unix.SYS_FUTEX,
			scRdi: platformtest.CodeAddr + 0x38, // a zero word
			scRsi: futexWait,
			scRdx: 0,
			scR10: 0,
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.code)
			regs := h.InitialRegs()
			th := h.Ctx.(*context).threads[h.AS.(*addressSpace)]
			done := make(chan struct{})
			defer close(done)
			go func() {
				for {
					select {
					case <-done:
						return
					case <-time.After(20 * time.Millisecond):
						h.Ctx.Interrupt()
					}
				}
			}()
			timer := time.AfterFunc(20*time.Second, func() {
				t.Errorf("the stub was not killed in 20s")
				unix.Kill(h.AS.(*addressSpace).master.Stub.PID, unix.SIGKILL)
			})
			defer timer.Stop()
			start := time.Now()
			ev, err := h.Ctx.Switch(h.AS, &regs)
			if !errors.Is(err, platform.ErrContextDead) {
				t.Fatalf("Switch: %v, %v; want the context dead", ev, err)
			}
			if !th.hostile.Load() {
				t.Errorf("Switch: %v, but the thread was not taken for hostile", err)
			}
			t.Logf("%v after %v", err, time.Since(start))
		})
	}
}
