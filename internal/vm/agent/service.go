package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/vm/agentapi"
)

// The agent API (agentapi.AgentService).

func (a *agent) Ping(ctx context.Context, _ *agentapi.PingRequest) (*agentapi.PingResponse, error) {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return &agentapi.PingResponse{Version: Version, Kernel: kernelRelease(), UptimeNs: uint64(ts.Nano())}, nil
}

func (a *agent) CreateContainer(ctx context.Context, req *agentapi.CreateContainerRequest) (*agentapi.Empty, error) {
	return &agentapi.Empty{}, a.createContainer(req)
}

func (a *agent) StartContainer(ctx context.Context, req *agentapi.ContainerRequest) (*agentapi.Empty, error) {
	return &agentapi.Empty{}, a.startContainer(req.Id)
}

func (a *agent) DeleteContainer(ctx context.Context, req *agentapi.ContainerRequest) (*agentapi.Empty, error) {
	return &agentapi.Empty{}, a.deleteContainer(req.Id)
}

func (a *agent) ExecProcess(ctx context.Context, req *agentapi.ExecProcessRequest) (*agentapi.ExecProcessResponse, error) {
	pid, err := a.execProcess(req)
	if err != nil {
		return nil, err
	}
	return &agentapi.ExecProcessResponse{Pid: int32(pid)}, nil
}

func (a *agent) SignalProcess(ctx context.Context, req *agentapi.SignalProcessRequest) (*agentapi.Empty, error) {
	sig := unix.Signal(req.Signal)
	if sig <= 0 || sig > 64 {
		return nil, fmt.Errorf("invalid signal %d", req.Signal)
	}
	c, p, err := a.process(req.ContainerId, req.ExecId)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.done:
		return nil, fmt.Errorf("the process has exited")
	default:
	}
	if req.All {
		for _, pid := range c.pids() {
			unix.Kill(pid, sig)
		}
		return &agentapi.Empty{}, nil
	}
	if err := unix.Kill(p.pid, sig); err != nil {
		return nil, err
	}
	return &agentapi.Empty{}, nil
}

func (a *agent) WaitProcess(ctx context.Context, req *agentapi.ProcessRequest) (*agentapi.WaitProcessResponse, error) {
	_, p, err := a.process(req.ContainerId, req.ExecId)
	if err != nil {
		return nil, err
	}
	ws, err := waitProcess(ctx, p)
	if err != nil {
		return nil, err
	}
	resp := &agentapi.WaitProcessResponse{ExitCode: int32(ws.ExitStatus())}
	if ws.Signaled() {
		resp.ExitCode = 128 + int32(ws.Signal())
		resp.Signal = int32(ws.Signal())
	}
	return resp, nil
}

func (a *agent) WriteStdin(ctx context.Context, req *agentapi.WriteStreamRequest) (*agentapi.WriteStreamResponse, error) {
	_, p, err := a.process(req.ContainerId, req.ExecId)
	if err != nil {
		return nil, err
	}
	n, err := p.stdin.write(req.Data)
	return &agentapi.WriteStreamResponse{Len: uint32(n)}, err
}

func (a *agent) CloseStdin(ctx context.Context, req *agentapi.ProcessRequest) (*agentapi.Empty, error) {
	_, p, err := a.process(req.ContainerId, req.ExecId)
	if err != nil {
		return nil, err
	}
	p.stdin.close()
	return &agentapi.Empty{}, nil
}

func (a *agent) ReadStdout(ctx context.Context, req *agentapi.ReadStreamRequest) (*agentapi.ReadStreamResponse, error) {
	return a.readStream(ctx, req, false)
}

func (a *agent) ReadStderr(ctx context.Context, req *agentapi.ReadStreamRequest) (*agentapi.ReadStreamResponse, error) {
	return a.readStream(ctx, req, true)
}

func (a *agent) readStream(ctx context.Context, req *agentapi.ReadStreamRequest, stderr bool) (*agentapi.ReadStreamResponse, error) {
	_, p, err := a.process(req.ContainerId, req.ExecId)
	if err != nil {
		return nil, err
	}
	s := p.stdout
	if stderr {
		s = p.stderr
	}
	data, eof, err := s.read(ctx, int(req.Max))
	if err != nil {
		return nil, err
	}
	return &agentapi.ReadStreamResponse{Data: data, Eof: eof}, nil
}

func (a *agent) ResizeTerminal(ctx context.Context, req *agentapi.ResizeTerminalRequest) (*agentapi.Empty, error) {
	_, p, err := a.process(req.ContainerId, req.ExecId)
	if err != nil {
		return nil, err
	}
	if p.terminal == nil {
		return nil, fmt.Errorf("the process has no terminal")
	}
	ws := &unix.Winsize{Row: uint16(min(req.Rows, 0xffff)), Col: uint16(min(req.Columns, 0xffff))}
	rc, err := p.terminal.SyscallConn()
	if err != nil {
		return nil, err
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) }); err != nil {
		return nil, err
	}
	if ioErr != nil {
		return nil, fmt.Errorf("resizing the terminal: %w", ioErr)
	}
	return &agentapi.Empty{}, nil
}

func (a *agent) Stats(ctx context.Context, req *agentapi.ContainerRequest) (*agentapi.StatsResponse, error) {
	c, err := a.container(req.Id)
	if err != nil {
		return nil, err
	}
	read := func(name string) uint64 {
		b, _ := os.ReadFile(filepath.Join(c.cgroup, name))
		n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		return n
	}
	resp := &agentapi.StatsResponse{MemoryUsage: read("memory.current"), PidsCurrent: read("pids.current")}
	if b, err := os.ReadFile(filepath.Join(c.cgroup, "cpu.stat")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
				resp.CpuUsageUsec, _ = strconv.ParseUint(v, 10, 64)
			}
		}
	}
	return resp, nil
}

func (a *agent) ListProcesses(ctx context.Context, req *agentapi.ContainerRequest) (*agentapi.ListProcessesResponse, error) {
	c, err := a.container(req.Id)
	if err != nil {
		return nil, err
	}
	resp := &agentapi.ListProcessesResponse{}
	for _, pid := range c.pids() {
		if info, err := processInfo(pid); err == nil {
			resp.Processes = append(resp.Processes, info)
		}
	}
	return resp, nil
}

// Shutdown kills every container's processes and powers the guest off
// once the answer is on its way.
func (a *agent) Shutdown(ctx context.Context, _ *agentapi.Empty) (*agentapi.Empty, error) {
	a.mu.Lock()
	var inits []*process
	for _, c := range a.containers {
		if c.init != nil {
			inits = append(inits, c.init)
		}
	}
	a.mu.Unlock()
	for _, p := range inits {
		// The PID namespace's other processes die with its init.
		unix.Kill(p.pid, unix.SIGKILL)
	}
	deadline := time.After(2 * time.Second)
	for _, p := range inits {
		select {
		case <-p.done:
		case <-deadline:
		}
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		powerOff()
	}()
	return &agentapi.Empty{}, nil
}

// pids lists the guest PIDs of the container's processes: those in its
// init's PID namespace.
func (c *container) pids() []int {
	if c.init == nil {
		return nil
	}
	want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", c.init.pid))
	if err != nil {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && ns == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processInfo describes a guest process as ps does, with its PIDs in
// the container's namespace.
func processInfo(pid int) (*agentapi.ProcessInfo, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	info := &agentapi.ProcessInfo{GuestPid: int32(pid)}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "Name":
			info.Comm = strings.TrimSpace(v)
		case "State":
			info.State = f[0]
		case "Uid":
			n, _ := strconv.Atoi(f[0])
			info.Uid = uint32(n)
		case "NSpid":
			n, _ := strconv.Atoi(f[len(f)-1])
			info.Pid = int32(n)
		}
	}
	info.Ppid = int32(nsPPID(pid))
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(cmd) > 0 {
		info.Argv = strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
	}
	if st, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		info.StartTimeUnixNano = st.ModTime().UnixNano()
	}
	return info, nil
}

// nsPPID is the parent's PID in the container, 0 for its init (whose
// parent is the agent, outside).
func nsPPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	if ppid <= 1 {
		return 0
	}
	self, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	parent, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", ppid))
	if self != parent {
		return 0
	}
	return nsPID(ppid)
}
