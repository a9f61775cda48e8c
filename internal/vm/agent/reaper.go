package agent

import (
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// reaper reaps every child of the agent, which as PID 1 is also every
// orphan of the guest, and hands the status of the processes the agent
// started to their watchers. Nothing else of the agent calls wait4:
// os/exec's Wait is never used.
type reaper struct {
	// mu guards watchers, and is held across start's fork so that a
	// child is watched before it can be reaped.
	mu       sync.Mutex
	watchers map[int]chan unix.WaitStatus
}

func newReaper() *reaper {
	return &reaper{watchers: map[int]chan unix.WaitStatus{}}
}

// run reaps on every SIGCHLD, forever.
func (r *reaper) run() {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, unix.SIGCHLD)
	r.reap()
	for range sigs {
		r.reap()
	}
}

// reap collects every exited child; an orphan's status is dropped.
func (r *reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		r.mu.Lock()
		if ch, ok := r.watchers[pid]; ok {
			delete(r.watchers, pid)
			ch <- ws
		}
		r.mu.Unlock()
	}
}

// start runs fork, which starts a process and returns its PID, and
// returns a channel that gets the process's status once it has exited.
func (r *reaper) start(fork func() (int, error)) (int, <-chan unix.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := fork()
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan unix.WaitStatus, 1)
	r.watchers[pid] = ch
	return pid, ch, nil
}
