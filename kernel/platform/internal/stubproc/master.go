package stubproc

import (
	"errors"
	"runtime"
	"sync"
)

// ErrStopped is returned by Run once the master is stopped.
var ErrStopped = errors.New("stub master stopped")

// Master serves requests on an OS thread of its own, the one that
// traces a stub's first thread: ptrace requests must come from the
// tracer's thread, so every injected call goes through it.
type Master struct {
	requests chan func(*Thread)
	// Stub is the traced thread, set before Start returns.
	Stub *Thread

	mu      sync.Mutex
	stopped bool
}

// Start starts a master whose goroutine, locked to its OS thread for
// good, runs start to get the thread it traces and then serves Run's
// requests until Stop. Its thread ends with the goroutine, and the
// stub with it (PTRACE_O_EXITKILL), so callers kill and reap the stub
// after Stop.
func Start(start func() (*Thread, error)) (*Master, error) {
	m := &Master{requests: make(chan func(*Thread))}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: the thread must not go back to the runtime's
		// pool while it traces, and ends when this goroutine does.
		runtime.LockOSThread()
		st, err := start()
		if err == nil {
			m.Stub = st
		}
		ready <- err
		if err != nil {
			return
		}
		for fn := range m.requests {
			fn(st)
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return m, nil
}

// Run executes fn on the master's thread and returns its error.
// Requests are served one at a time, in order.
func (m *Master) Run(fn func(st *Thread) error) error {
	done := make(chan error, 1)
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return ErrStopped
	}
	// Sent under mu, so never after Stop's close; the master takes it
	// as soon as it is done with the request before.
	m.requests <- func(st *Thread) { done <- fn(st) }
	m.mu.Unlock()
	return <-done
}

// Stop ends the master's goroutine once the requests already taken are
// served; later Runs fail with ErrStopped.
func (m *Master) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.stopped {
		m.stopped = true
		close(m.requests)
	}
}
