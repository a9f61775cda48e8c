package vm

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/internal/boot"
	"magawa/internal/vm/agentapi"
)

// killExec signals one exec'd process of container id (the sandbox's
// first or a pod's other one), named by the PID its exec answered (the
// containerd shim's kill of an exec).
func (s *Sandbox) killExec(id string, pid int32, sig unix.Signal) error {
	if sig <= 0 || sig > 64 {
		return fmt.Errorf("invalid signal %d", sig)
	}
	status, err := s.statusOf(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	execID, ok := s.execPIDs[execKey{id, pid}]
	s.mu.Unlock()
	if status != boot.StatusRunning && status != boot.StatusPaused {
		return errors.New("container not running")
	}
	if !ok {
		return fmt.Errorf("process %d: not an exec'd process of the container", pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err = s.agent.SignalProcess(ctx, &agentapi.SignalProcessRequest{ContainerId: id, ExecId: execID, Signal: int32(sig)})
	return agentError(err)
}

// execKey names an exec'd process by its container and its PID there:
// each of a pod's containers has a PID namespace of its own.
type execKey struct {
	container string
	pid       int32
}

// trackExec remembers an exec'd process's PID until it has ended.
func (s *Sandbox) trackExec(id string, pid int32, execID string) func() {
	key := execKey{id, pid}
	s.mu.Lock()
	if s.execPIDs == nil {
		s.execPIDs = map[execKey]string{}
	}
	s.execPIDs[key] = execID
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.execPIDs, key)
		s.mu.Unlock()
	}
}
