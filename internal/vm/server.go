package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"magawa/internal/boot"
	"magawa/internal/vm/agentapi"
	"magawa/kernel/kernel"
)

// The control socket: the same protocol as the application kernel's
// sandbox process (package boot), so that the runtime's commands drive
// a VM sandbox unchanged. Each request becomes agent calls.

// Serve answers the control socket's connections until the sandbox
// ends.
func (s *Sandbox) Serve(listenFD int) {
	boot.Accept(listenFD, s.serveConn, func(err error) { s.log.Printf("control socket: %v", err) })
}

func (s *Sandbox) serveConn(fd int) {
	defer unix.Close(fd)
	req, fds, err := boot.ReadRequest(fd)
	if err != nil {
		return
	}
	if req.Container != "" && req.Container != s.cfg.ID {
		s.serveMember(fd, req, fds)
		return
	}
	req.Container = ""
	if req.Op == boot.OpExec {
		s.exec(fd, req, fds)
		return
	}
	boot.CloseFDs(fds)
	resp, err := s.handle(req)
	if err != nil {
		resp = boot.Response{Error: err.Error()}
	}
	boot.WriteResponse(fd, resp)
}

func (s *Sandbox) handle(req boot.Request) (boot.Response, error) {
	switch req.Op {
	case boot.OpState:
		s.mu.Lock()
		defer s.mu.Unlock()
		return boot.Response{Status: s.status}, nil
	case boot.OpStart:
		return boot.Response{}, s.start()
	case boot.OpKill:
		if req.PID != 0 {
			return boot.Response{}, s.killExec(s.cfg.ID, req.PID, unix.Signal(req.Signal))
		}
		return boot.Response{}, s.kill(unix.Signal(req.Signal), req.All)
	case boot.OpPs:
		procs, err := s.processes(s.cfg.ID)
		return boot.Response{Processes: procs}, err
	case boot.OpStats:
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		st, err := s.agent.Stats(ctx, &agentapi.ContainerRequest{Id: s.cfg.ID})
		if err != nil {
			return boot.Response{}, err
		}
		s.mu.Lock()
		limit := s.cfg.PidsLimit
		s.mu.Unlock()
		return boot.Response{Tasks: int(st.PidsCurrent), TaskLimit: limit}, nil
	case boot.OpNetwork:
		return boot.Response{}, s.configureNetwork(req)
	case boot.OpPause:
		return boot.Response{}, s.pause(true)
	case boot.OpResume:
		return boot.Response{}, s.pause(false)
	case boot.OpUpdate:
		return boot.Response{}, s.update(req)
	}
	return boot.Response{}, fmt.Errorf("unknown request %q", req.Op)
}

// configureNetwork has the agent give the guest's NIC the interface the
// runtime redirected to the VM's tap (the packet sockets the
// application kernel's sandbox gets with the request are not sent for a
// VM).
func (s *Sandbox) configureNetwork(req boot.Request) error {
	if req.Network == nil || len(req.Network.Links) == 0 {
		return nil
	}
	if s.cfg.Tap == "" {
		return errors.New("the VM has no NIC (--network=sandbox gives it one)")
	}
	s.mu.Lock()
	status := s.status
	s.mu.Unlock()
	if status != boot.StatusCreated {
		return fmt.Errorf("the network of a container that is %s", status)
	}
	areq, err := networkRequest(req.Network)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := s.agent.ConfigureNetwork(ctx, areq); err != nil {
		return fmt.Errorf("configuring the VM's NIC: %w", agentError(err))
	}
	s.log.Printf("NIC configured as %s (%s, %v)", areq.Interfaces[0].Name, areq.Interfaces[0].Mac, areq.Interfaces[0].Addresses)
	return nil
}

// start runs the container's program and, once it has ended and its
// output is out, ends the sandbox with its status.
func (s *Sandbox) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != boot.StatusCreated {
		return fmt.Errorf("cannot start a container that is %s", s.status)
	}
	// The container's standard streams are the supervisor's own, as
	// the runtime's caller gave them (a console socket's terminal, with
	// one).
	var outputs <-chan struct{}
	if term := s.initTerminal; term != nil {
		if err := term.prepare(); err != nil {
			return err
		}
		outputs = term.relay(false)
	} else {
		outputs = s.forward(s.cfg.ID, "", os.Stdin, os.Stdout, os.Stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := s.agent.StartContainer(ctx, &agentapi.ContainerRequest{Id: s.cfg.ID}); err != nil {
		s.status = boot.StatusStopped
		code := startCode(err)
		go func() {
			s.drain(outputs)
			s.stopTerminal()
			s.finish(code)
		}()
		return fmt.Errorf("starting the container's process: %w", agentError(err))
	}
	s.status = boot.StatusRunning
	s.log.Printf("container started")
	go func() {
		code := 137
		resp, err := s.agent.WaitProcess(context.Background(), &agentapi.ProcessRequest{ContainerId: s.cfg.ID})
		if err == nil {
			code = int(resp.ExitCode)
		} else {
			s.log.Printf("waiting for the container's init: %v", err)
		}
		s.drain(outputs)
		s.stopTerminal()
		s.mu.Lock()
		s.status = boot.StatusStopped
		s.mu.Unlock()
		s.log.Printf("container exited with status %d", code)
		s.finish(code)
	}()
	return nil
}

// drain waits a little for the last output to be written.
func (s *Sandbox) drain(outputs <-chan struct{}) {
	select {
	case <-outputs:
	case <-time.After(5 * time.Second):
		s.log.Printf("the container's output did not end")
	}
}

// agentError is an agent call's error as a person reads it: ttrpc's
// status (code and description) reduced to the agent's message.
func agentError(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unknown {
		return errors.New(st.Message())
	}
	return err
}

// startCode is a shell's status for a program that could not be
// started: 127 not found, 126 not executable.
func startCode(err error) int {
	msg := err.Error()
	switch {
	case contains(msg, "not found") || contains(msg, "no such file"):
		return 127
	case contains(msg, "permission denied") || contains(msg, "exec format error"):
		return 126
	}
	return 125
}

func contains(s, sub string) bool { return strings.Contains(strings.ToLower(s), sub) }

// kill signals the container's init (or every process). A container
// never started ends, as runc's kill of a created container does, when
// the signal's default action would end a process.
func (s *Sandbox) kill(sig unix.Signal, all bool) error {
	if sig <= 0 || sig > 64 {
		return fmt.Errorf("invalid signal %d", sig)
	}
	s.mu.Lock()
	status := s.status
	if status == boot.StatusCreated && terminates(sig) {
		s.status = boot.StatusStopped
	}
	s.mu.Unlock()
	switch status {
	case boot.StatusCreated:
		if terminates(sig) {
			s.finish(128 + int(sig))
		}
		return nil
	case boot.StatusStopped:
		return errors.New("container not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := s.agent.SignalProcess(ctx, &agentapi.SignalProcessRequest{ContainerId: s.cfg.ID, Signal: int32(sig), All: all})
	return agentError(err)
}

// terminates reports whether sig's default action ends a process.
func terminates(sig unix.Signal) bool {
	switch sig {
	case unix.SIGCHLD, unix.SIGCONT, unix.SIGURG, unix.SIGWINCH,
		unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return false
	}
	return true
}

// pause freezes the container's processes in the guest (its cgroup's
// freezer), or thaws them. A paused container's kill still signals
// them, as runc's does: SIGKILL ends them frozen, another signal is
// delivered once they are thawed; exec into it is refused, as runc
// refuses it.
func (s *Sandbox) pause(pause bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	verb, from, to := "pause", boot.StatusRunning, boot.StatusPaused
	call := s.agent.PauseContainer
	if !pause {
		verb, from, to = "resume", boot.StatusPaused, boot.StatusRunning
		call = s.agent.ResumeContainer
	}
	if s.status != from {
		return fmt.Errorf("cannot %s a container that is %s", verb, s.status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := call(ctx, &agentapi.ContainerRequest{Id: s.cfg.ID}); err != nil {
		return agentError(err)
	}
	s.status = to
	return nil
}

// update changes the container's limits in the guest: those of an
// update's linux.resources, or its task limit alone. The VM's own size
// cannot change: a memory limit it cannot hold is refused.
func (s *Sandbox) update(req boot.Request) error {
	r, err := s.agentResources(req)
	if err != nil {
		return err
	}
	s.mu.Lock()
	status := s.status
	s.mu.Unlock()
	if status == boot.StatusStopped {
		return errors.New("container not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := s.agent.UpdateContainer(ctx, &agentapi.UpdateContainerRequest{Id: s.cfg.ID, Resources: r}); err != nil {
		return agentError(err)
	}
	s.mu.Lock()
	if r.PidsLimit != 0 {
		s.cfg.PidsLimit = max(r.PidsLimit, 0)
	}
	if r.MemoryLimit != 0 {
		s.cfg.MemoryLimit = max(r.MemoryLimit, 0)
	}
	s.mu.Unlock()
	return nil
}

// agentResources is an update request's limits as the agent has them.
func (s *Sandbox) agentResources(req boot.Request) (*agentapi.Resources, error) {
	r := &agentapi.Resources{}
	if req.TaskLimit != nil {
		r.PidsLimit = noneIfNotPositive(*req.TaskLimit)
	}
	if lr := req.Resources; lr != nil {
		if m := lr.Memory; m != nil && m.Limit != nil && *m.Limit != 0 {
			r.MemoryLimit = noneIfNotPositive(*m.Limit)
			if most := s.memoryCapacity(); r.MemoryLimit > most {
				return nil, fmt.Errorf("a memory limit of %d MiB does not fit in the VM: it has %d MiB, of which %d MiB can be the container's, and a VM's memory cannot grow once it runs (create the container with the limit to size its VM for it)",
					r.MemoryLimit>>20, s.cfg.VM.MemoryMiB, most>>20)
			}
		}
		if p := lr.Pids; p != nil && p.Limit != nil {
			r.PidsLimit = noneIfNotPositive(*p.Limit)
		}
		if c := lr.CPU; c != nil {
			if c.Cpus != "" || c.Mems != "" {
				return nil, errors.New("the VM sandbox cannot change a cpuset: the guest's vCPUs are not the host's CPUs, and their number is the VM's")
			}
			r.CpuWeight, r.CpuQuota, r.CpuPeriod = cpuLimits(c)
		}
	}
	return r, nil
}

// noneIfNotPositive is a limit as the agent has it: zero or less in an
// update is none ("max"), which the agent takes as -1.
func noneIfNotPositive(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// memoryCapacity is the largest memory limit the VM can hold: its
// memory but what FromSpec sized it with beyond the container's.
func (s *Sandbox) memoryCapacity() int64 {
	return int64(s.cfg.VM.MemoryMiB-memoryOverheadMiB) << 20
}

// processes lists container id's processes as the runtime's ps shows
// them.
func (s *Sandbox) processes(id string) ([]kernel.ProcessInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := s.agent.ListProcesses(ctx, &agentapi.ContainerRequest{Id: id})
	if err != nil {
		return nil, agentError(err)
	}
	var out []kernel.ProcessInfo
	for _, p := range resp.Processes {
		info := kernel.ProcessInfo{
			PID: p.Pid, PPID: p.Ppid, UID: p.Uid, Comm: p.Comm, Argv: p.Argv,
			StartTime: time.Unix(0, p.StartTimeUnixNano),
		}
		if p.State != "" {
			info.State = p.State[0]
		}
		out = append(out, info)
	}
	return out, nil
}

// exec runs a process in the container (the sandbox's first, or the
// pod's other one the request names) with the descriptors that came
// with the request as its stdio, and answers twice: its PID, then how
// it ended.
func (s *Sandbox) exec(fd int, req boot.Request, fds []int) {
	var stdio [3]*os.File
	next := 0
	for i, sent := range req.Stdio {
		if sent && next < len(fds) {
			stdio[i] = os.NewFile(uintptr(fds[next]), fmt.Sprintf("stdio%d", i))
			next++
		}
	}
	boot.CloseFDs(fds[next:])
	closeStdio := func() {
		for _, f := range stdio {
			if f != nil {
				f.Close()
			}
		}
	}
	fail := func(err error) {
		closeStdio()
		boot.WriteResponse(fd, boot.Response{Error: err.Error()})
	}
	if req.Process == nil {
		fail(errors.New("exec without a process"))
		return
	}
	id, adj := s.cfg.ID, s.cfg.OOMScoreAdj
	if req.Container != "" {
		id = req.Container
		if m, err := s.member(id); err == nil {
			adj = m.cfg.OOMScoreAdj
		}
	}
	status, err := s.statusOf(id)
	if err != nil {
		fail(err)
		return
	}
	s.mu.Lock()
	s.nextExec++
	execID := fmt.Sprintf("exec-%d", s.nextExec)
	s.mu.Unlock()
	if status != boot.StatusRunning {
		fail(fmt.Errorf("cannot exec in a container that is %s", status))
		return
	}
	process := toAgentProcess(*req.Process)
	// With a terminal, stdio[0] and stdio[1] are its host side: the
	// caller's terminal (exec -t) or a console socket's.
	var term *terminal
	if req.Process.Terminal {
		term = s.newTerminal(id, execID, stdio[0], stdio[1])
		term.initialSize(process)
		if err := term.prepare(); err != nil {
			fail(err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	setOOMScoreAdj(process, adj)
	resp, err := s.agent.ExecProcess(ctx, &agentapi.ExecProcessRequest{
		ContainerId: id, ExecId: execID, Process: process,
	})
	if err != nil {
		if term != nil {
			term.stop()
		}
		fail(agentError(err))
		return
	}
	var outputs <-chan struct{}
	if term != nil {
		outputs = term.relay(true)
	} else {
		outputs = s.forward(id, execID, stdio[0], stdio[1], stdio[2])
	}
	untrack := s.trackExec(id, resp.Pid, execID)
	end := func() *boot.ExitStatus {
		exit := s.waitExec(id, execID, outputs)
		untrack()
		if term != nil {
			term.stop()
		}
		closeStdio()
		return exit
	}
	if err := boot.WriteResponse(fd, boot.Response{PID: resp.Pid}); err != nil {
		// Detached: nobody waits, but the output still goes out.
		go end()
		return
	}
	exit := end()
	boot.WriteResponse(fd, boot.Response{Exit: exit})
}

// waitExec waits for an exec'd process of container id and its output.
func (s *Sandbox) waitExec(id, execID string, outputs <-chan struct{}) *boot.ExitStatus {
	resp, err := s.agent.WaitProcess(context.Background(), &agentapi.ProcessRequest{ContainerId: id, ExecId: execID})
	s.drain(outputs)
	if err != nil {
		return &boot.ExitStatus{Code: 137}
	}
	if resp.Signal != 0 {
		return &boot.ExitStatus{Signal: int(resp.Signal)}
	}
	return &boot.ExitStatus{Code: int(resp.ExitCode)}
}

// forward relays the standard streams of a process of container id
// between the host's descriptors (nil: none) and the agent, and returns
// a channel closed once its output has ended.
func (s *Sandbox) forward(id, execID string, stdin, stdout, stderr *os.File) <-chan struct{} {
	go func() {
		ctx := context.Background()
		if stdin != nil {
			buf := make([]byte, 32<<10)
			for {
				n, err := stdin.Read(buf)
				if n > 0 {
					if _, werr := s.agent.WriteStdin(ctx, &agentapi.WriteStreamRequest{ContainerId: id, ExecId: execID, Data: buf[:n]}); werr != nil {
						return
					}
				}
				if err != nil {
					break
				}
			}
		}
		s.agent.CloseStdin(ctx, &agentapi.ProcessRequest{ContainerId: id, ExecId: execID})
	}()
	done := make(chan struct{})
	outDone, errDone := make(chan struct{}), make(chan struct{})
	go s.copyOut(id, execID, false, stdout, outDone)
	go s.copyOut(id, execID, true, stderr, errDone)
	go func() {
		<-outDone
		<-errDone
		close(done)
	}()
	return done
}

// copyOut copies one output stream of a process to w (nil: discarded)
// until it ends.
func (s *Sandbox) copyOut(id, execID string, stderr bool, w io.Writer, done chan<- struct{}) {
	defer close(done)
	req := &agentapi.ReadStreamRequest{ContainerId: id, ExecId: execID, Max: agentapi.MaxChunk}
	for {
		var resp *agentapi.ReadStreamResponse
		var err error
		if stderr {
			resp, err = s.agent.ReadStderr(context.Background(), req)
		} else {
			resp, err = s.agent.ReadStdout(context.Background(), req)
		}
		if err != nil {
			return
		}
		if len(resp.Data) > 0 && w != nil {
			if _, err := w.Write(resp.Data); err != nil {
				// The reader has gone (EPIPE): the rest is read and
				// dropped, so that the process does not block.
				w = nil
			}
		}
		if resp.Eof {
			return
		}
	}
}
