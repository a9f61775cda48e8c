package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/boot"
	"magawa/internal/vm/agentapi"
	"magawa/kernel/kernel"
)

// The pod's other containers (OpAdd): the VM's first container is the
// pod's sandbox container, whose requests name no container; a request
// naming another is about a container that joined the VM, a container
// of the guest as the first is, with its root and bind sources in the
// pod's share (StageInPod).

// member is a container that joined the VM.
type member struct {
	cfg Config
	// Guarded by Sandbox.mu: status; stdio and term until start; exit.
	status string
	stdio  [3]*os.File
	// term is the host side of its init's terminal, with one.
	term *terminal
	exit boot.ExitStatus
	// done is closed once it has ended.
	done chan struct{}
}

// member returns the joined container id.
func (s *Sandbox) member(id string) (*member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[id]
	if m == nil {
		return nil, fmt.Errorf("container %s is not in the VM", id)
	}
	return m, nil
}

// statusOf is the status of container id, the first or a joined one.
func (s *Sandbox) statusOf(id string) (string, error) {
	if id == s.cfg.ID {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.status, nil
	}
	m, err := s.member(id)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.status, nil
}

// endMember records a joined container's end, which its add request
// answers; the first call wins.
func (s *Sandbox) endMember(m *member, exit boot.ExitStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.status == boot.StatusStopped {
		return
	}
	m.status = boot.StatusStopped
	m.exit = exit
	m.closeStdioLocked()
	close(m.done)
}

func (m *member) closeStdioLocked() {
	for i, f := range m.stdio {
		if f != nil {
			f.Close()
			m.stdio[i] = nil
		}
	}
}

// endMembers ends every joined container that is still there (the VM
// is going) and waits a little for their add requests' answers to be
// written: what a joined container's waiter exits with.
func (s *Sandbox) endMembers() {
	s.mu.Lock()
	var ms []*member
	for _, m := range s.members {
		ms = append(ms, m)
	}
	s.mu.Unlock()
	for _, m := range ms {
		s.endMember(m, boot.ExitStatus{Signal: int(unix.SIGKILL)})
	}
	answered := make(chan struct{})
	go func() {
		s.answers.Wait()
		close(answered)
	}()
	select {
	case <-answered:
	case <-time.After(2 * time.Second):
	}
}

// serveMember answers a request about a joined container.
func (s *Sandbox) serveMember(fd int, req boot.Request, fds []int) {
	switch req.Op {
	case boot.OpAdd:
		s.add(fd, req, fds)
		return
	case boot.OpExec:
		s.exec(fd, req, fds)
		return
	}
	boot.CloseFDs(fds)
	resp, err := s.handleMember(req.Container, req)
	if err != nil {
		resp = boot.Response{Error: err.Error()}
	}
	boot.WriteResponse(fd, resp)
}

// add creates a container of the pod in the guest and answers; its
// second answer is the container's end.
func (s *Sandbox) add(fd int, req boot.Request, fds []int) {
	var stdio [3]*os.File
	next := 0
	for i, sent := range req.Stdio {
		if sent && next < len(fds) {
			stdio[i] = os.NewFile(uintptr(fds[next]), fmt.Sprintf("stdio%d", i))
			next++
		}
	}
	boot.CloseFDs(fds[next:])
	fail := func(err error) {
		for _, f := range stdio {
			if f != nil {
				f.Close()
			}
		}
		boot.WriteResponse(fd, boot.Response{Error: err.Error()})
	}
	if s.cfg.PodDir == "" {
		fail(errors.New("this VM has no pod share: only a pod's sandbox container's VM takes the pod's other containers"))
		return
	}
	var cfg Config
	if len(req.Payload) == 0 {
		fail(errors.New("a container joins a VM with its configuration"))
		return
	}
	if err := json.Unmarshal(req.Payload, &cfg); err != nil {
		fail(fmt.Errorf("the joining container's configuration: %w", err))
		return
	}
	cfg.ID = req.Container
	s.mu.Lock()
	status := s.status
	_, exists := s.members[cfg.ID]
	s.mu.Unlock()
	if status != boot.StatusRunning && status != boot.StatusCreated {
		fail(fmt.Errorf("cannot join a VM whose sandbox container is %s", status))
		return
	}
	if exists {
		fail(fmt.Errorf("container %s is in the VM already", cfg.ID))
		return
	}
	areq := s.memberRequest(&cfg)
	m := &member{cfg: cfg, status: boot.StatusCreated, stdio: stdio, done: make(chan struct{})}
	if cfg.Process.Terminal {
		// Its host side is a console socket's terminal, not the
		// supervisor's controlling one: its size is looked at.
		m.term = s.newTerminal(cfg.ID, "", stdio[0], stdio[1])
		m.term.initialSize(areq.Process)
	}
	if cfg.MemoryLimit > s.memoryCapacity() {
		s.log.Printf("container %s: its memory limit of %d MiB is more than the VM can give (%d MiB): the VM's memory bounds it", cfg.ID, cfg.MemoryLimit>>20, s.memoryCapacity()>>20)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := s.agent.CreateContainer(ctx, areq); err != nil {
		fail(fmt.Errorf("creating the container in the VM: %w", agentError(err)))
		return
	}
	s.mu.Lock()
	if s.members == nil {
		s.members = map[string]*member{}
	}
	s.members[cfg.ID] = m
	s.answers.Add(1)
	s.mu.Unlock()
	defer s.answers.Done()
	s.log.Printf("container %s joined the VM", cfg.ID)
	if err := boot.WriteResponse(fd, boot.Response{Status: boot.StatusCreated}); err != nil {
		return
	}
	<-m.done
	s.mu.Lock()
	exit := m.exit
	s.mu.Unlock()
	boot.WriteResponse(fd, boot.Response{Exit: &exit})
}

// memberRequest is the agent's request for a joined container: its
// root and bind sources in the pod's share, the pod's IPC and UTS
// namespaces (the first container's).
func (s *Sandbox) memberRequest(cfg *Config) *agentapi.CreateContainerRequest {
	req := agentRequest(cfg)
	req.RootShare, req.RootPath = PodShareTag, cfg.RootDir
	req.SandboxId = s.cfg.ID
	req.Shares = []*agentapi.Share{{Tag: PodShareTag, Fs: "9p"}}
	for _, m := range cfg.Mounts {
		am := &agentapi.Mount{Destination: m.Destination, Type: m.Type, Source: m.Source, Options: m.Options}
		if isBind(m.Type, m.Options) {
			am.Share = PodShareTag
		}
		req.Mounts = append(req.Mounts, am)
	}
	return req
}

func (s *Sandbox) handleMember(id string, req boot.Request) (boot.Response, error) {
	m, err := s.member(id)
	if err != nil {
		return boot.Response{}, err
	}
	switch req.Op {
	case boot.OpState:
		s.mu.Lock()
		defer s.mu.Unlock()
		return boot.Response{Status: m.status}, nil
	case boot.OpStart:
		return boot.Response{}, s.startMember(m)
	case boot.OpKill:
		return boot.Response{}, s.killMember(m, req)
	case boot.OpPs:
		procs, err := s.processes(id)
		return boot.Response{Processes: procs}, err
	case boot.OpStats:
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		st, err := s.agent.Stats(ctx, &agentapi.ContainerRequest{Id: id})
		if err != nil {
			return boot.Response{}, agentError(err)
		}
		return boot.Response{Usage: &kernel.Usage{
			Tasks:    int(st.PidsCurrent),
			CPUTime:  time.Duration(st.CpuUsageUsec) * time.Microsecond,
			Resident: st.MemoryUsage,
		}}, nil
	case boot.OpRemove:
		return boot.Response{}, s.removeMember(m)
	case boot.OpPause, boot.OpResume:
		return boot.Response{}, s.pauseMember(m, req.Op == boot.OpPause)
	case boot.OpUpdate:
		return boot.Response{}, s.updateMember(m, req)
	case boot.OpNetwork:
		return boot.Response{}, errors.New("the network is the pod's: its sandbox container's")
	}
	return boot.Response{}, fmt.Errorf("unknown request %q", req.Op)
}

// startMember runs a joined container's process, its stdio relayed as
// the first container's is, and ends the container with it.
func (s *Sandbox) startMember(m *member) error {
	id := m.cfg.ID
	s.mu.Lock()
	if m.status != boot.StatusCreated {
		defer s.mu.Unlock()
		return fmt.Errorf("cannot start a container that is %s", m.status)
	}
	stdio, term := m.stdio, m.term
	m.stdio = [3]*os.File{}
	s.mu.Unlock()
	closeStdio := func() {
		for _, f := range stdio {
			if f != nil {
				f.Close()
			}
		}
	}
	var outputs <-chan struct{}
	if term != nil {
		if err := term.prepare(); err != nil {
			closeStdio()
			s.endMember(m, boot.ExitStatus{Code: 125})
			return err
		}
		outputs = term.relay(true)
	} else {
		outputs = s.forward(id, "", stdio[0], stdio[1], stdio[2])
	}
	end := func(exit boot.ExitStatus) {
		s.drain(outputs)
		if term != nil {
			term.stop()
		}
		closeStdio()
		s.endMember(m, exit)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := s.agent.StartContainer(ctx, &agentapi.ContainerRequest{Id: id}); err != nil {
		go end(boot.ExitStatus{Code: startCode(err)})
		return fmt.Errorf("starting the container's process: %w", agentError(err))
	}
	s.mu.Lock()
	if m.status == boot.StatusCreated {
		m.status = boot.StatusRunning
	}
	s.mu.Unlock()
	s.log.Printf("container %s started", id)
	go func() {
		exit := boot.ExitStatus{Signal: int(unix.SIGKILL)}
		resp, err := s.agent.WaitProcess(context.Background(), &agentapi.ProcessRequest{ContainerId: id})
		switch {
		case err != nil:
			s.log.Printf("waiting for container %s's init: %v", id, err)
		case resp.Signal != 0:
			exit = boot.ExitStatus{Signal: int(resp.Signal)}
		default:
			exit = boot.ExitStatus{Code: int(resp.ExitCode)}
		}
		end(exit)
		s.log.Printf("container %s exited with status %d", id, exit.HostCode())
	}()
	return nil
}

// killMember signals a joined container's init, one of its exec'd
// processes, or all its processes. One never started ends, as the
// first container does, of a signal that would end a process; its
// waiting init goes with its delete.
func (s *Sandbox) killMember(m *member, req boot.Request) error {
	sig := unix.Signal(req.Signal)
	if sig <= 0 || sig > 64 {
		return fmt.Errorf("invalid signal %d", sig)
	}
	id := m.cfg.ID
	if req.PID != 0 {
		return s.killExec(id, req.PID, sig)
	}
	s.mu.Lock()
	status := m.status
	s.mu.Unlock()
	switch status {
	case boot.StatusCreated:
		if terminates(sig) {
			s.endMember(m, boot.ExitStatus{Signal: int(sig)})
		}
		return nil
	case boot.StatusStopped:
		return errors.New("container not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := s.agent.SignalProcess(ctx, &agentapi.SignalProcessRequest{ContainerId: id, Signal: int32(sig), All: req.All})
	return agentError(err)
}

// removeMember takes a joined container out of the VM: the agent kills
// what is left of its processes and unmounts its root, after which the
// runtime unmounts its files from the pod's share.
func (s *Sandbox) removeMember(m *member) error {
	id := m.cfg.ID
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := s.agent.DeleteContainer(ctx, &agentapi.ContainerRequest{Id: id})
	s.endMember(m, boot.ExitStatus{Signal: int(unix.SIGKILL)})
	s.mu.Lock()
	delete(s.members, id)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("deleting container %s in the VM: %w", id, agentError(err))
	}
	s.log.Printf("container %s left the VM", id)
	return nil
}

// pauseMember freezes a joined container's processes in the guest (its
// own cgroup there), or thaws them, as pause does the first's.
func (s *Sandbox) pauseMember(m *member, pause bool) error {
	verb, from, to := "pause", boot.StatusRunning, boot.StatusPaused
	call := s.agent.PauseContainer
	if !pause {
		verb, from, to = "resume", boot.StatusPaused, boot.StatusRunning
		call = s.agent.ResumeContainer
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.status != from {
		return fmt.Errorf("cannot %s a container that is %s", verb, m.status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := call(ctx, &agentapi.ContainerRequest{Id: m.cfg.ID}); err != nil {
		return agentError(err)
	}
	m.status = to
	return nil
}

// updateMember changes a joined container's limits in the guest, as
// update does the first's.
func (s *Sandbox) updateMember(m *member, req boot.Request) error {
	s.mu.Lock()
	status := m.status
	s.mu.Unlock()
	if status == boot.StatusStopped {
		return errors.New("container not running")
	}
	r, err := s.agentResources(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err = s.agent.UpdateContainer(ctx, &agentapi.UpdateContainerRequest{Id: m.cfg.ID, Resources: r})
	return agentError(err)
}
