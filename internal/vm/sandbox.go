package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
	"golang.org/x/sys/unix"

	"magawa/internal/boot"
	"magawa/internal/sandbox"
	"magawa/internal/vm/agentapi"
	"magawa/internal/vm/qemu"
	"magawa/kernel/userns"
)

// consoleLogName is the guest's console log in the state directory.
const consoleLogName = "console.log"

// rootTag is the 9p tag of the container's root.
const rootTag = "root"

// callTimeout bounds an agent call that should answer at once.
const callTimeout = 30 * time.Second

// Sandbox is one running VM sandbox, as its supervisor holds it.
type Sandbox struct {
	cfg   Config
	log   *log.Logger
	vm    *qemu.Process
	conn  *ttrpc.Client
	agent agentapi.AgentService
	// staged are the supervisor's bind mounts of single files for
	// their shares, undone at the end.
	staged []string

	// initTerminal is the host side of the init's terminal, with
	// process.terminal.
	initTerminal *terminal

	// mu guards status, nextExec, execPIDs and members.
	mu       sync.Mutex
	status   string
	nextExec int
	// execPIDs are the running exec'd processes' IDs by container and
	// PID.
	execPIDs map[execKey]string
	// members are the pod's other containers, which joined the VM.
	members map[string]*member
	// answers counts the add requests that are to answer again once
	// their container has ended.
	answers sync.WaitGroup
	// exit ends the supervisor with a status (finish); the first wins.
	exit     chan int
	exitOnce sync.Once
}

// Boot starts the VM, waits for its agent and creates the container in
// it (its init waiting for start). On error nothing is left running and
// the error names what is missing or quotes the console's last lines.
func Boot(cfg Config, logger *log.Logger) (_ *Sandbox, err error) {
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	s := &Sandbox{cfg: cfg, log: logger, status: boot.StatusCreated, exit: make(chan int, 1)}
	defer func() {
		if err != nil {
			s.unstage()
		}
	}()
	qc := qemu.Config{
		Binary:    cfg.VM.QEMU,
		Machine:   cfg.VM.Machine,
		Accel:     cfg.VM.Accel,
		Kernel:    cfg.VM.Kernel,
		Initrd:    cfg.VM.Initrd,
		Cmdline:   cfg.VM.Cmdline,
		MemoryMiB: cfg.VM.MemoryMiB,
		CPUs:      cfg.VM.CPUs,
	}
	if err := qc.CheckFiles(); err != nil {
		return nil, err
	}
	req, shares, err := s.containerRequest()
	if err != nil {
		return nil, err
	}
	if cfg.PodDir != "" {
		// Empty at boot: the pod's other containers' roots and bind
		// sources arrive in it later (StageInPod).
		shares = append(shares, qemu.Share{Tag: PodShareTag, Path: cfg.PodDir, ManyFileSystems: true})
	}
	qc.Shares = shares
	if cfg.Process.Terminal {
		s.initTerminal = s.newTerminal(cfg.ID, "", os.Stdin, os.Stdout)
		s.initTerminal.initialSize(req.Process)
	}
	var consoleLog io.Writer = io.Discard
	if cfg.StateDir != "" {
		f, err := os.OpenFile(filepath.Join(cfg.StateDir, consoleLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("the console log: %w", err)
		}
		consoleLog = f
	}
	if w := logger.Writer(); w != io.Discard {
		consoleLog = io.MultiWriter(consoleLog, prefixWriter{logger, "console: "})
	}
	start := time.Now()
	opts := qemu.StartOptions{ConsoleLog: consoleLog, KeepCaps: qemuCaps}
	if cfg.Tap != "" {
		// Made here, in the container's network namespace, while the
		// supervisor has CAP_NET_ADMIN; QEMU keeps the device alive
		// with its own descriptor, and it goes with QEMU.
		tap, err := openTap(cfg.Tap)
		if err != nil {
			return nil, err
		}
		defer tap.Close()
		opts.Tap = tap
	}
	if !cfg.VM.NoJail && cfg.StateDir != "" {
		jail, err := makeJail(filepath.Join(cfg.StateDir, jailDirName), &qc)
		if err != nil {
			return nil, fmt.Errorf("QEMU's jail: %w", err)
		}
		opts.Jail = jail
	}
	vm, err := qemu.Start(qc, opts)
	if err != nil {
		return nil, err
	}
	s.vm = vm
	logger.Printf("QEMU %d started (%s, %s, %d MiB, %d vCPUs, NIC on tap %q)", vm.Pid(), qc.Machine, qc.Accel, qc.MemoryMiB, qc.CPUs, cfg.Tap)
	defer func() {
		if err != nil {
			vm.Kill()
		}
	}()
	s.conn = ttrpc.NewClient(vm.Agent)
	s.agent = agentapi.NewAgentClient(s.conn)

	ping, err := s.waitAgent(cfg.VM.BootTimeout)
	if err != nil {
		return nil, err
	}
	logger.Printf("agent %s answered %v after QEMU started (guest %s, uptime %v)",
		ping.Version, time.Since(start).Round(time.Millisecond), ping.Kernel, time.Duration(ping.UptimeNs).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := s.agent.CreateContainer(ctx, req); err != nil {
		return nil, fmt.Errorf("creating the container in the VM: %w%s", agentError(err), s.consoleTail())
	}
	logger.Printf("container created %v after QEMU started", time.Since(start).Round(time.Millisecond))
	go s.watchVM()
	return s, nil
}

// waitAgent waits for the agent's first answer, for QEMU's exit or for
// the deadline.
func (s *Sandbox) waitAgent(timeout time.Duration) (*agentapi.PingResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type result struct {
		resp *agentapi.PingResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		r, err := s.agent.Ping(ctx, &agentapi.PingRequest{})
		done <- result{r, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			return r.resp, nil
		}
		// A closed connection is QEMU going: say so once it has.
		select {
		case <-s.vm.Exited():
			return nil, s.exitedError()
		case <-time.After(time.Second):
		}
		if ctx.Err() != nil {
			return nil, s.timeoutError(timeout)
		}
		return nil, fmt.Errorf("the VM's agent: %w%s", r.err, s.consoleTail())
	case <-s.vm.Exited():
		return nil, s.exitedError()
	case <-ctx.Done():
		return nil, s.timeoutError(timeout)
	}
}

func (s *Sandbox) exitedError() error {
	return fmt.Errorf("the VM stopped before its agent answered (%v): the kernel did not boot or the agent failed%s", s.vm.ExitError(), s.consoleTail())
}

func (s *Sandbox) timeoutError(timeout time.Duration) error {
	return fmt.Errorf("the VM's agent did not answer within %v%s", timeout, s.consoleTail())
}

// consoleTail quotes the console's last lines for an error.
func (s *Sandbox) consoleTail() string {
	if s.vm == nil {
		return ""
	}
	return "; the console's last lines:\n" + s.vm.TailText(15)
}

// containerRequest translates the configuration into the agent's
// request and the shares the VM needs: the root, and each bind mount's
// source (a directory as it is, a file through a directory of its own
// that holds only it).
func (s *Sandbox) containerRequest() (*agentapi.CreateContainerRequest, []qemu.Share, error) {
	cfg := s.cfg
	shares := []qemu.Share{{Tag: rootTag, Path: cfg.RootDir, ReadOnly: true}}
	req := agentRequest(&cfg)
	req.RootShare = rootTag
	req.Shares = append(req.Shares, &agentapi.Share{Tag: rootTag, Fs: "9p", Readonly: true})
	for i, m := range cfg.Mounts {
		am := &agentapi.Mount{Destination: m.Destination, Type: m.Type, Source: m.Source, Options: m.Options}
		if isBind(m.Type, m.Options) {
			st, err := os.Stat(m.Source)
			if err != nil {
				return nil, nil, fmt.Errorf("mount %s: its source: %w", m.Destination, err)
			}
			tag := fmt.Sprintf("m%d", i)
			readonly := hasOption(m.Options, "ro")
			dir, rel := m.Source, "/"
			if !st.IsDir() {
				if dir, err = s.stageFile(i, m.Source); err != nil {
					return nil, nil, fmt.Errorf("mount %s: %w", m.Destination, err)
				}
				rel = "/" + filepath.Base(m.Source)
			}
			shares = append(shares, qemu.Share{Tag: tag, Path: dir, ReadOnly: readonly})
			req.Shares = append(req.Shares, &agentapi.Share{Tag: tag, Fs: "9p", Readonly: readonly})
			am.Share, am.Source = tag, rel
		}
		req.Mounts = append(req.Mounts, am)
	}
	return req, shares, nil
}

// agentRequest is the agent's request for a container of cfg but for
// its root and bind mounts, which reach the guest one way or another.
func agentRequest(cfg *Config) *agentapi.CreateContainerRequest {
	req := &agentapi.CreateContainerRequest{
		Id:            cfg.ID,
		RootReadonly:  cfg.RootReadonly,
		Process:       toAgentProcess(cfg.Process),
		Hostname:      cfg.Hostname,
		Domainname:    cfg.Domainname,
		MaskedPaths:   cfg.MaskedPaths,
		ReadonlyPaths: cfg.ReadonlyPaths,
		Sysctl:        cfg.Sysctl,
		Resources: &agentapi.Resources{
			MemoryLimit: cfg.MemoryLimit, PidsLimit: cfg.PidsLimit,
			CpuWeight: cfg.CPUWeight, CpuQuota: cfg.CPUQuota, CpuPeriod: cfg.CPUPeriod,
		},
		UidMappings: toAgentIDMaps(cfg.UIDMappings),
		GidMappings: toAgentIDMaps(cfg.GIDMappings),
	}
	setOOMScoreAdj(req.Process, cfg.OOMScoreAdj)
	for _, d := range cfg.Devices {
		req.Devices = append(req.Devices, &agentapi.Device{
			Path: d.Path, Type: d.Type, Major: d.Major, Minor: d.Minor, FileMode: d.Mode, Uid: d.UID, Gid: d.GID,
		})
	}
	return req
}

// stageFile makes a directory of the state directory holding only a
// bind mount of file, for sharing one file without its siblings. The
// mount is in the supervisor's own mount namespace (private: the host
// never sees it).
func (s *Sandbox) stageFile(i int, file string) (string, error) {
	if s.cfg.StateDir == "" {
		return "", errors.New("a file bind mount needs a state directory")
	}
	dir := filepath.Join(s.cfg.StateDir, "vm-files", fmt.Sprint(i))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	target := filepath.Join(dir, filepath.Base(file))
	f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return "", err
	}
	f.Close()
	if err := unix.Mount(file, target, "", unix.MS_BIND, ""); err != nil {
		return "", fmt.Errorf("staging %s: %w", file, err)
	}
	s.staged = append(s.staged, target)
	return dir, nil
}

func (s *Sandbox) unstage() {
	for _, t := range s.staged {
		unix.Unmount(t, unix.MNT_DETACH)
	}
	s.staged = nil
}

func hasOption(options []string, o string) bool {
	for _, x := range options {
		if x == o {
			return true
		}
	}
	return false
}

// setOOMScoreAdj gives a process of a container (its init, or an
// exec'd one) the container's oom_score_adj, as every process of an
// application kernel's sandbox reads it.
func setOOMScoreAdj(p *agentapi.Process, adj *int) {
	if adj != nil {
		p.HasOomScoreAdj, p.OomScoreAdj = true, int32(*adj)
	}
}

func toAgentIDMaps(m []userns.Extent) []*agentapi.IDMapping {
	var out []*agentapi.IDMapping
	for _, e := range m {
		out = append(out, &agentapi.IDMapping{ContainerId: e.Inside, HostId: e.Outside, Size: e.Count})
	}
	return out
}

// toAgentProcess is a process as the agent API has it.
func toAgentProcess(p sandbox.Process) *agentapi.Process {
	ap := &agentapi.Process{
		Args: p.Argv, Env: p.Env, Cwd: p.Cwd, Uid: p.UID, Gid: p.GID,
		AdditionalGids: p.AdditionalGIDs, NoNewPrivileges: p.NoNewPrivileges, Terminal: p.Terminal,
		ConsoleRows: uint32(p.ConsoleRows), ConsoleColumns: uint32(p.ConsoleColumns),
	}
	if p.Umask != nil {
		ap.HasUmask, ap.Umask = true, *p.Umask
	}
	for _, r := range p.Rlimits {
		ap.Rlimits = append(ap.Rlimits, &agentapi.Rlimit{Resource: int32(r.Resource), Soft: r.Soft, Hard: r.Hard})
	}
	if c := p.Capabilities; c != nil {
		ap.Capabilities = &agentapi.Capabilities{Bounding: c.Bounding, Effective: c.Effective, Inheritable: c.Inheritable, Permitted: c.Permitted, Ambient: c.Ambient}
	}
	return ap
}

// watchVM ends the sandbox if QEMU dies under it.
func (s *Sandbox) watchVM() {
	<-s.vm.Exited()
	s.mu.Lock()
	status := s.status
	s.status = boot.StatusStopped
	s.mu.Unlock()
	if status != boot.StatusStopped {
		s.log.Printf("the VM ended: %v", s.vm.ExitError())
		fmt.Fprintf(os.Stderr, "magawa: the VM ended: %v%s\n", s.vm.ExitError(), s.consoleTail())
		s.finish(137)
	}
}

// stopTerminal ends the relaying of the init's terminal and gives the
// host terminal its settings back.
func (s *Sandbox) stopTerminal() {
	if s.initTerminal != nil {
		s.initTerminal.stop()
	}
}

// finish ends the supervisor with code; the first call wins.
func (s *Sandbox) finish(code int) {
	s.exitOnce.Do(func() { s.exit <- code })
}

// Wait returns the status the supervisor ends with, once it is known.
func (s *Sandbox) Wait() int { return <-s.exit }

// Shutdown powers the VM off (the agent kills the container's
// processes first) and kills QEMU if it does not go.
func (s *Sandbox) Shutdown() {
	// However the container ended (QEMU may have died under it), the
	// host terminal is left as it was found.
	s.stopTerminal()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	select {
	case <-s.vm.Exited():
	default:
		s.agent.Shutdown(ctx, &agentapi.Empty{})
	}
	s.vm.Stop(5 * time.Second)
	s.endMembers()
	s.conn.Close()
	s.unstage()
}

// prefixWriter writes each line to a logger with a prefix.
type prefixWriter struct {
	l      *log.Logger
	prefix string
}

func (w prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.l.Print(w.prefix + line)
	}
	return len(b), nil
}
