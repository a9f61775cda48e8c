package kernel

import "sync/atomic"

// Pause and Resume freeze the whole sandbox, as the cgroup freezer does
// for a container (runc pause): no task runs application code between
// them, and the application cannot tell, as it could a SIGSTOP (no
// SIGCHLD, no state a parent may wait for). A task running application
// code is interrupted (platform.Context.Interrupt) and parks in its loop
// before it would run it again; a task blocked in a system call stays
// blocked, and parks when the call returns. Signals queue meanwhile and
// are delivered after Resume, but a fatal one (SIGKILL) ends its process
// at once, as it does a frozen cgroup v2: a paused sandbox stays
// killable.
//
// Pause waits until no task runs application code. The tasks that do
// are counted: a task counts itself in, under Kernel.mu, in the same
// critical section in which it saw the sandbox not frozen
// (handleSignals), and out, with an atomic, when Switch returns. So
// once Pause has set frozen under the lock, the count only falls, and
// the task that brings it to zero while the sandbox is freezing wakes
// Pause.

// freezer is the kernel's freeze state. Guarded by Kernel.mu, but for
// the atomics, which the task loop reads without it.
type freezer struct {
	frozen bool
	// thawed is closed by Resume: parked tasks wait on it.
	thawed chan struct{}
	// quiet is closed when no task runs application code any more; Pause
	// waits on it.
	quiet chan struct{}
	// inApp counts the tasks that may be running application code;
	// freezing mirrors frozen for them.
	inApp    atomic.Int64
	freezing atomic.Bool
	// entries counts the tasks' entries into application code (each
	// return from the kernel), for the vvar updater's idle backoff.
	entries atomic.Uint64
}

// Pause freezes every task of the sandbox and returns once none runs
// application code. Pausing a paused sandbox does nothing.
func (k *Kernel) Pause() error {
	k.mu.Lock()
	if k.initTG == nil || k.endedLocked() {
		k.mu.Unlock()
		return ErrNotRunning
	}
	f := &k.freezer
	if !f.frozen {
		f.frozen = true
		f.thawed = make(chan struct{})
		f.freezing.Store(true)
		// Only the application's code is stopped: a task in a system
		// call is left alone (no interruptLocked).
		for _, tg := range k.threadGroups {
			for t := range tg.tasks {
				if t.ctx != nil {
					t.ctx.Interrupt()
				}
			}
		}
	}
	var quiet chan struct{}
	if f.inApp.Load() != 0 {
		if f.quiet == nil {
			f.quiet = make(chan struct{})
		}
		quiet = f.quiet
	}
	k.mu.Unlock()
	if quiet != nil {
		<-quiet
	}
	return nil
}

// Resume thaws a paused sandbox. Resuming a sandbox that is not paused
// does nothing.
func (k *Kernel) Resume() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := &k.freezer
	if !f.frozen {
		return nil
	}
	f.frozen = false
	f.freezing.Store(false)
	close(f.thawed)
	f.thawed = nil
	if f.quiet != nil {
		close(f.quiet)
		f.quiet = nil
	}
	return nil
}

// Paused reports whether the sandbox is paused.
func (k *Kernel) Paused() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.freezer.frozen
}

// parkLocked holds t, which is about to run application code, while the
// sandbox is frozen. It returns false at once if it is not; otherwise it
// unlocks Kernel.mu, waits until the sandbox thaws, t's process starts
// exiting or t is interrupted (it must exit alone, for an exec), and
// returns true: the caller looks at the task's state again.
func (k *Kernel) parkLocked(t *Task) bool {
	if !k.freezer.frozen {
		return false
	}
	thawed, exit := k.freezer.thawed, t.tg.exitCh
	k.mu.Unlock()
	select {
	case <-thawed:
	case <-exit:
	case <-t.interruptCh:
	}
	return true
}

// enterApplicationLocked counts t in as running application code; the
// sandbox is not frozen.
func (k *Kernel) enterApplicationLocked() {
	k.freezer.inApp.Add(1)
	k.freezer.entries.Add(1)
}

// idleSince reports whether no task has run application code since the
// entry count was last (and none runs it now), and returns the count.
func (k *Kernel) idleSince(last uint64) (bool, uint64) {
	n := k.freezer.entries.Load()
	return n == last && k.freezer.inApp.Load() == 0, n
}

// leaveApplication counts a task out once Switch returned, waking a
// Pause that waits for the last one.
func (k *Kernel) leaveApplication() {
	if k.freezer.inApp.Add(-1) != 0 || !k.freezer.freezing.Load() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	f := &k.freezer
	if f.quiet != nil && f.inApp.Load() == 0 {
		close(f.quiet)
		f.quiet = nil
	}
}
