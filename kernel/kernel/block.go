package kernel

import (
	"errors"
	"time"
)

// Errors of blocking calls. A system call that returns ErrInterrupted is
// restarted or fails with EINTR according to the signal that interrupted
// it and its handler's SA_RESTART (see restartSyscall).
var (
	ErrInterrupted = errors.New("interrupted by a signal")
	ErrTimedOut    = errors.New("timed out")
)

// Block waits until wake is ready, the deadline passes (zero: never), or
// the task is interrupted: a signal it must handle became pending, or its
// thread group is exiting. It returns nil, ErrTimedOut or ErrInterrupted.
func (t *Task) Block(wake <-chan struct{}, deadline time.Time) error {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			select {
			case <-wake:
				return nil
			default:
				return ErrTimedOut
			}
		}
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	t.prepareSleep()
	for {
		if t.interruptPending() {
			// A wake that raced the signal still counts as a wake.
			select {
			case <-wake:
				return nil
			default:
				return ErrInterrupted
			}
		}
		select {
		case <-wake:
			return nil
		case <-timeout:
			return ErrTimedOut
		case <-t.interruptCh:
			// Re-check: the token may be stale.
		}
	}
}

// prepareSleep tells the platform that the task may sleep in the
// kernel: on systrap, the stub thread then stops spinning for the
// call's answer. (Whether wake is ready is not looked at: a receive
// would take a token Block must see.)
func (t *Task) prepareSleep() {
	if t.ctx != nil {
		t.ctx.PrepareSleep()
	}
}

// Sleep blocks for d, interruptibly.
func (t *Task) Sleep(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	return t.Block(nil, time.Now().Add(d))
}

// interruptPending reports whether the task should leave a blocking call:
// it has a deliverable signal, or must exit or stop.
func (t *Task) interruptPending() bool {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	return t.interruptPendingLocked()
}

func (t *Task) interruptPendingLocked() bool {
	if t.killedLocked() || t.tg.stopping {
		return true
	}
	return t.deliverableLocked() != 0
}

// interrupt wakes the task from a blocking call or stops its application
// code, so that it looks at its signals. Callers hold k.mu.
func (t *Task) interruptLocked() {
	select {
	case t.interruptCh <- struct{}{}:
	default:
	}
	if t.ctx != nil {
		t.ctx.Interrupt()
	}
}
