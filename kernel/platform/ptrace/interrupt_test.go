package ptrace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// getpidLoop makes a system call at once, then again and again: an
// application that is resumed is seen to run by the event it causes.
var getpidLoop = []byte{
	0xb8, 0x27, 0x00, 0x00, 0x00, // mov $39 (getpid), %eax
	0x0f, 0x05, // syscall
	0xeb, 0xf7, // jmp back to the mov
}

// An Interrupt that falls just before Switch resumes the stub thread, and
// so finds it not running (no SIGSTOP), must still keep the application
// from running: it used to run on until its next system call or fault,
// for ever if it only computed.
func TestInterruptJustBeforeResume(t *testing.T) {
	h := newHarness(t, getpidLoop)
	regs := h.InitialRegs()
	c := h.Ctx.(*context)
	c.beforeResume = func() {
		c.beforeResume = nil
		c.Interrupt()
	}
	if ev := h.SwitchTo(&regs); ev.Kind != platform.EventInterrupted {
		t.Fatalf("Switch interrupted before it resumed the application: %v, want interrupted", ev)
	}
	// The interrupt was consumed: the next Switch runs the application.
	if ev := h.SwitchTo(&regs); ev.Kind != platform.EventSyscall {
		t.Fatalf("Switch after the interrupt: %v, want syscall", ev)
	}
}

// The same, when Switch resumes the stub thread again after suppressing
// a signal sent to it from the host.
func TestInterruptAfterSuppressedSignal(t *testing.T) {
	h := newHarness(t, getpidLoop)
	regs := h.InitialRegs()
	c := h.Ctx.(*context)
	st := c.threads[h.AS.(*addressSpace)]
	resumes := 0
	c.beforeResume = func() {
		resumes++
		switch resumes {
		case 1:
			// Pending when the thread resumes: it stops with it first.
			if err := unix.Tgkill(st.PID, st.TID, unix.SIGUSR1); err != nil {
				t.Error(err)
			}
		case 2:
			c.Interrupt()
		}
	}
	ev := h.SwitchTo(&regs)
	c.beforeResume = nil
	if resumes != 2 {
		t.Fatalf("Switch resumed the thread %d times, want 2 (SIGUSR1 suppressed)", resumes)
	}
	if ev.Kind != platform.EventInterrupted {
		t.Fatalf("Switch interrupted after a suppressed signal: %v, want interrupted", ev)
	}
}

// An Interrupt that falls just after the stub thread stopped leaves a
// SIGSTOP pending. Releasing the context must still see the thread exit:
// left stopped, it would outlive its tracer, and the host would kill the
// whole stub, every other thread of the application with it, when the
// tracer's thread ends (PTRACE_O_EXITKILL).
func TestReleaseWithPendingStop(t *testing.T) {
	h := newHarness(t, getpidLoop)
	regs := h.InitialRegs() // this context's thread, used after the other's end

	type result struct {
		tracer int
		err    error
	}
	done := make(chan result, 1)
	onThreadOfItsOwn(func() {
		var r result
		defer func() { done <- r }()
		ctx, err := h.P.NewContext()
		if err != nil {
			r.err = err
			return
		}
		c := ctx.(*context)
		r.tracer = c.tracerTID
		regs, err := entryRegs(ctx, h.AS)
		if err != nil {
			r.err = err
			return
		}
		c.afterStop = func() {
			c.afterStop = nil
			c.Interrupt()
		}
		ev, err := ctx.Switch(h.AS, &regs)
		if err != nil || ev.Kind != platform.EventSyscall {
			r.err = fmt.Errorf("Switch: %v, %v; want syscall", ev, err)
			return
		}
		st := c.threads[h.AS.(*addressSpace)]
		ctx.Release()
		var errs []error
		if !st.Dead() {
			errs = append(errs, errors.New("Release returned before the stub thread exited"))
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d", st.PID, st.TID)); !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("stub thread %d still exists after Release (stat: %v)", st.TID, err))
		}
		r.err = errors.Join(errs...)
	})
	r := <-done
	if r.err != nil {
		t.Error(r.err)
	}
	if r.tracer == 0 {
		t.FailNow()
	}
	// Once the released context's thread is gone, the stub must still
	// serve the other one.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", r.tracer)); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the released context's thread %d did not end", r.tracer)
		}
	}
	ev, err := h.Ctx.Switch(h.AS, &regs)
	if err != nil || ev.Kind != platform.EventSyscall {
		t.Fatalf("Switch on the stub's other thread after the released one's tracer ended: %v, %v; want syscall", ev, err)
	}
}

// onThreadOfItsOwn runs fn on a goroutine locked to an OS thread that ends
// with it, as a task's does. Not the main thread: the Go runtime parks
// that one instead of ending it, and it can be had only while no other
// goroutine holds it.
func onThreadOfItsOwn(fn func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked but on the main thread
		if unix.Gettid() == unix.Getpid() {
			onThreadOfItsOwn(fn)
			runtime.UnlockOSThread()
			close(done)
			return
		}
		defer close(done)
		fn()
	}()
	<-done
}
