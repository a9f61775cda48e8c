package kernel

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/platform"
	"magawa/kernel/vfs"
)

// deadPlatform gives no context: a task it starts exits at once, as one
// killed before it ran.
type deadPlatform struct{ platform.Platform }

func (deadPlatform) NeedsOSThread() bool { return true }

func (deadPlatform) NewContext() (platform.Context, error) {
	return nil, errors.New("no context for tests")
}

// fpCtx is a parent's context, which Clone asks for its FP state.
type fpCtx struct{ platform.Context }

func (fpCtx) FPState() ([]byte, error) { return nil, nil }

// A vfork child may exec or exit before its parent, which started it,
// gets to wait for that: the parent must still see it (it used to wait
// on the child's vforkDone, which the child clears, and so forever).
func TestVforkChildGoneBeforeParentWaits(t *testing.T) {
	k := newTestKernel()
	k.Platform = deadPlatform{}
	parent := k.newTestTask(nil, nil, Credentials{})
	parent.ctx = fpCtx{}
	parent.fds = vfs.NewFDTable()
	// The parent takes its next step only once the child's goroutine
	// has ended, after its exit.
	k.cloneStarted = func(*Task) { k.running.Wait() }

	done := make(chan error, 1)
	go func() {
		_, err := parent.Clone(CloneOptions{Flags: CLONE_VM | CLONE_VFORK, ExitSignal: unix.SIGCHLD})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("vfork: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the vfork parent still waits 10 s after its child exited")
	}
	res, err := parent.Wait(WaitTarget{}, WEXITED|WNOHANG)
	if err != nil || res == nil || res.Code != arch.CLD_KILLED || res.Status != int32(unix.SIGKILL) {
		t.Errorf("wait for the child = %+v, %v; want it killed by SIGKILL", res, err)
	}
}
