package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
)

// Wait options. Linux: include/uapi/linux/wait.h.
const (
	WNOHANG    = 0x00000001
	WSTOPPED   = 0x00000002 // WUNTRACED for wait4
	WEXITED    = 0x00000004
	WCONTINUED = 0x00000008
	WNOWAIT    = 0x01000000
	WNOTHREAD  = 0x20000000
	WALL       = 0x40000000
	WCLONE     = 0x80000000
)

// WaitTarget says which children a wait considers.
type WaitTarget struct {
	// Kind is P_ALL (0), P_PID (1), P_PGID (2) or P_PIDFD (3).
	Kind int
	ID   int32
	// Process is P_PIDFD's child (nil: none).
	Process *ThreadGroup
}

// WaitResult is what a wait found.
type WaitResult struct {
	PID    int32
	UID    uint32
	Code   int32  // CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED
	Status int32  // exit code or signal, for waitid's si_status
	Wait4  uint32 // the wait4 status word
	// CPU time of the child and its reaped descendants (rusage).
	UserTime time.Duration
}

// Wait waits for a child state change. It returns nil, nil for WNOHANG
// with nothing to report, and ECHILD when no child matches.
// Linux: kernel/exit.c, do_wait().
func (t *Task) Wait(target WaitTarget, options int) (*WaitResult, error) {
	k := t.k
	for {
		k.mu.Lock()
		res, any := t.waitOnceLocked(target, options)
		var ch chan struct{}
		if res == nil {
			ch = t.tg.childEvents
		}
		k.mu.Unlock()
		if res != nil {
			return res, nil
		}
		if !any {
			return nil, unix.ECHILD
		}
		if options&WNOHANG != 0 {
			return nil, nil
		}
		if err := t.Block(ch, time.Time{}); err == ErrInterrupted {
			return nil, ERESTARTSYS
		}
	}
}

// waitOnceLocked looks for a reportable child; any says whether some
// child matched the target at all.
func (t *Task) waitOnceLocked(target WaitTarget, options int) (res *WaitResult, any bool) {
	for c := range t.tg.children {
		if !t.waitMatchesLocked(c, target, options) {
			continue
		}
		any = true
		switch {
		case c.zombie && options&WEXITED != 0:
			res = &WaitResult{PID: c.id, Wait4: c.status.WaitStatus(), UserTime: c.cpuTime + c.childrenCPU}
			res.Code, res.Status = arch.CLD_EXITED, int32(c.status.Code)
			if c.status.Signal != 0 {
				res.Code, res.Status = arch.CLD_KILLED, int32(c.status.Signal)
			}
			if options&WNOWAIT == 0 {
				t.k.reapLocked(c)
			}
			return res, true
		case c.stopped && c.reportStop && options&WSTOPPED != 0:
			res = &WaitResult{PID: c.id, Code: arch.CLD_STOPPED, Status: c.stopSignal, Wait4: uint32(c.stopSignal)<<8 | 0x7f}
			if options&WNOWAIT == 0 {
				c.reportStop = false
			}
			return res, true
		case c.continued && options&WCONTINUED != 0:
			res = &WaitResult{PID: c.id, Code: arch.CLD_CONTINUED, Status: int32(unix.SIGCONT), Wait4: 0xffff}
			if options&WNOWAIT == 0 {
				c.continued = false
			}
			return res, true
		}
	}
	return nil, any
}

func (t *Task) waitMatchesLocked(c *ThreadGroup, target WaitTarget, options int) bool {
	switch target.Kind {
	case 1: // P_PID
		if c.id != target.ID {
			return false
		}
	case 2: // P_PGID
		id := target.ID
		if id == 0 {
			id = t.tg.pgrp.id
		}
		if c.pgrp == nil || c.pgrp.id != id {
			return false
		}
	case 3: // P_PIDFD
		if c != target.Process {
			return false
		}
	}
	if options&WALL != 0 {
		return true
	}
	// A "clone" child reports to its parent with a signal other than
	// SIGCHLD; __WCLONE waits for those only.
	clone := c.leader != nil && c.leader.exitSignal != unix.SIGCHLD
	return clone == (options&WCLONE != 0)
}
