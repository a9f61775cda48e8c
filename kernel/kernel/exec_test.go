package kernel

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
	"magawa/kernel/vfs"
)

// stuckPlatform holds every task it starts before it runs, until release
// is closed: a vfork child that neither execs nor exits meanwhile. Then
// the task exits, as one killed before it ran.
type stuckPlatform struct {
	platform.Platform
	release chan struct{}
}

func (stuckPlatform) NeedsOSThread() bool { return true }

func (p stuckPlatform) NewContext() (platform.Context, error) {
	<-p.release
	return nil, errors.New("no context for tests")
}

// quietCtx is the context of a task the test drives itself: Clone asks it
// for FP state, an exec interrupts it, exitThread releases it.
type quietCtx struct{ platform.Context }

func (quietCtx) FPState() ([]byte, error)        { return nil, nil }
func (quietCtx) Interrupt()                      {}
func (quietCtx) PrepareSleep()                   {}
func (quietCtx) CPUTime() (time.Duration, error) { return 0, nil }
func (quietCtx) Release()                        {}

// deThread runs t's exec's killing of the other threads on a goroutine of
// its own and returns its result channel.
func deThread(t *Task) <-chan error {
	done := make(chan error, 1)
	go func() {
		t.k.mu.Lock()
		err := t.deThreadLocked()
		t.k.mu.Unlock()
		done <- err
	}()
	return done
}

func waitErr(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still waiting after 10 s", what)
		return nil
	}
}

// An exec ends the wait of another thread of its process for a vfork
// child, as Linux's killable wait_for_vfork_done() ends when exec kills
// the thread: the exec used to wait as long as the child neither exec'd
// nor exited, for ever if it never did.
func TestExecEndsAVforkWait(t *testing.T) {
	k := newTestKernel()
	release := make(chan struct{})
	k.Platform = stuckPlatform{release: release}
	t.Cleanup(func() {
		close(release)
		k.running.Wait()
	})
	parent := k.newTestTask(nil, nil, Credentials{})
	parent.ctx = quietCtx{}
	parent.fds = vfs.NewFDTable()
	execer := k.newTestTask(parent.tg, nil, Credentials{})
	started := make(chan struct{})
	k.cloneStarted = func(*Task) { close(started) }

	vforked := make(chan error, 1)
	go func() {
		_, err := parent.Clone(CloneOptions{Flags: CLONE_VM | CLONE_VFORK, ExitSignal: unix.SIGCHLD})
		// What the parent's task loop does next, killed.
		parent.exitThread()
		vforked <- err
	}()
	<-started
	if err := waitErr(t, deThread(execer), "exec of another thread while a thread waits for its vfork child"); err != nil {
		t.Fatalf("exec: %v", err)
	}
	if err := waitErr(t, vforked, "vfork"); err != nil {
		t.Fatalf("vfork: %v", err)
	}
}

// Two threads of a process that exec at once: the first one kills the
// other, whose exec must then give up rather than wait for the first to
// exit (both used to wait for each other, for ever, and a SIGKILL could
// not end them).
func TestExecRacingExec(t *testing.T) {
	k := newTestKernel()
	first := k.newTestTask(nil, nil, Credentials{})
	second := k.newTestTask(first.tg, nil, Credentials{})

	firstDone := deThread(first)
	// The second thread gets to its exec once the first's has killed it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		k.mu.Lock()
		killed := second.exitSelf
		k.mu.Unlock()
		if killed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first exec did not kill the other thread")
		}
	}
	if err := waitErr(t, deThread(second), "exec of a thread another exec killed"); err != ERESTARTNOINTR {
		t.Fatalf("exec of a thread another exec killed: %v, want ERESTARTNOINTR", err)
	}
	second.exitThread()
	if err := waitErr(t, firstDone, "exec"); err != nil {
		t.Fatalf("exec: %v", err)
	}
}
