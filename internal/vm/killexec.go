package vm

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/internal/boot"
	"magawa/internal/vm/agentapi"
)

// killExec signals one exec'd process, named by the PID its exec
// answered (the containerd shim's kill of an exec).
func (s *Sandbox) killExec(pid int32, sig unix.Signal) error {
	if sig <= 0 || sig > 64 {
		return fmt.Errorf("invalid signal %d", sig)
	}
	s.mu.Lock()
	status := s.status
	execID, ok := s.execPIDs[pid]
	s.mu.Unlock()
	if status != boot.StatusRunning && status != boot.StatusPaused {
		return errors.New("container not running")
	}
	if !ok {
		return fmt.Errorf("process %d: not an exec'd process of the container", pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := s.agent.SignalProcess(ctx, &agentapi.SignalProcessRequest{ContainerId: s.cfg.ID, ExecId: execID, Signal: int32(sig)})
	return agentError(err)
}

// trackExec remembers an exec'd process's PID until it has ended.
func (s *Sandbox) trackExec(pid int32, execID string) func() {
	s.mu.Lock()
	if s.execPIDs == nil {
		s.execPIDs = map[int32]string{}
	}
	s.execPIDs[pid] = execID
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.execPIDs, pid)
		s.mu.Unlock()
	}
}
