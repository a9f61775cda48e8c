package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/console"
	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/pkg/shutdown"
	"github.com/containerd/containerd/protobuf"
	ptypes "github.com/containerd/containerd/protobuf/types"
	cdruntime "github.com/containerd/containerd/runtime"
	"github.com/containerd/containerd/runtime/v2/shim"
	"github.com/containerd/containerd/sys/reaper"
	runc "github.com/containerd/go-runc"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"magawa/internal/container"
	"magawa/internal/oci"
)

// service is the task service of one shim: the containers of its group.
type service struct {
	ctx       context.Context
	publisher shim.Publisher
	shutdown  shutdown.Service
	runtime   *runtime
	exits     chan runc.Exit

	mu         sync.Mutex
	containers map[string]*shimContainer
	// unclaimed are exits of host PIDs no container has claimed yet:
	// a sandbox process that died before create returned its PID.
	unclaimed map[int]int
}

// shimContainer is one container: its sandbox, its init and execs.
type shimContainer struct {
	id, bundle string
	// rootfs is the root the shim mounted from containerd's snapshot
	// mounts, unmounted at delete; empty when the bundle had one.
	rootfs string
	init   *process
	execs  map[string]*execProcess
}

// execProcess is an exec'd process: its spec until started, then its
// waiter.
type execProcess struct {
	*process
	spec *specs.Process
}

// New makes the task service; the shim library registers it.
func New(ctx context.Context, publisher shim.Publisher, sd shutdown.Service) (taskAPI.TaskService, error) {
	bin, err := findRuntime()
	if err != nil {
		return nil, err
	}
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return nil, err
	}
	s := &service{
		ctx:        ctx,
		publisher:  publisher,
		shutdown:   sd,
		runtime:    &runtime{binary: bin, root: stateRoot(ns)},
		exits:      reaper.Default.Subscribe(),
		containers: map[string]*shimContainer{},
		unclaimed:  map[int]int{},
	}
	go s.collectExits()
	// The library waits (5 s) for the publisher to close before the
	// shim exits: it closes once the shim shuts down.
	sd.RegisterCallback(func(context.Context) error {
		reaper.Default.Unsubscribe(s.exits)
		return publisher.Close()
	})
	return s, nil
}

// stateRoot is the runtime's state root for a containerd namespace, as
// the runc shim keeps one per namespace.
func stateRoot(ns string) string { return filepath.Join("/run/magawa-shim", ns) }

func (s *service) container(id string) (*shimContainer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.containers[id]
	if c == nil {
		return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
	}
	return c, nil
}

// process finds a container's init (execID "") or exec'd process.
func (s *service) process(id, execID string) (*shimContainer, *process, error) {
	c, err := s.container(id)
	if err != nil {
		return nil, nil, err
	}
	if execID == "" {
		return c, c.init, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := c.execs[execID]
	if e == nil {
		return nil, nil, fmt.Errorf("exec %s of %s: %w", execID, id, errdefs.ErrNotFound)
	}
	return c, e.process, nil
}

func (s *service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (_ *taskAPI.CreateTaskResponse, err error) {
	if r.Checkpoint != "" || r.ParentCheckpoint != "" {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "restoring a checkpoint is not supported by magawa")
	}
	s.mu.Lock()
	if s.containers[r.ID] != nil {
		s.mu.Unlock()
		return nil, errdefs.ToGRPCf(errdefs.ErrAlreadyExists, "container %s", r.ID)
	}
	c := &shimContainer{id: r.ID, bundle: r.Bundle, execs: map[string]*execProcess{}}
	c.init = newProcess("", stdio{stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, terminal: r.Terminal})
	s.containers[r.ID] = c
	s.mu.Unlock()
	defer func() {
		if err != nil {
			s.mu.Lock()
			delete(s.containers, r.ID)
			s.mu.Unlock()
			if c.rootfs != "" {
				mount.UnmountAll(c.rootfs, 0)
			}
			err = errdefs.ToGRPC(err)
		}
	}()

	if len(r.Rootfs) > 0 {
		c.rootfs = filepath.Join(r.Bundle, "rootfs")
		if err := os.MkdirAll(c.rootfs, 0o711); err != nil {
			return nil, err
		}
		mounts := make([]mount.Mount, 0, len(r.Rootfs))
		for _, m := range r.Rootfs {
			mounts = append(mounts, mount.Mount{Type: m.Type, Source: m.Source, Options: m.Options})
		}
		if err := mount.All(mounts, c.rootfs); err != nil {
			c.rootfs = ""
			return nil, fmt.Errorf("mounting the root file system: %w", err)
		}
	}
	if err := s.configure(r); err != nil {
		return nil, err
	}

	flags, err := containerFlags(r.Bundle)
	if err != nil {
		return nil, err
	}
	opts := createOptions{
		bundle:  r.Bundle,
		pidFile: filepath.Join(r.Bundle, "init.pid"),
		log:     filepath.Join(r.Bundle, "magawa.log"),
		flags:   flags,
	}
	var socket *runc.Socket
	if r.Terminal {
		if socket, err = runc.NewTempConsoleSocket(); err != nil {
			return nil, fmt.Errorf("the console socket: %w", err)
		}
		defer socket.Close()
		opts.consoleSocket = socket.Path()
		null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return nil, err
		}
		defer null.Close()
		opts.stdio = [3]*os.File{null, null, null}
	} else {
		pio, err := newPipeIO(ctx, c.init.stdio)
		if err != nil {
			return nil, err
		}
		c.init.io = pio
		opts.stdio = pio.theirs
	}
	createErr := s.runtime.create(ctx, r.ID, opts)
	if c.init.io != nil {
		c.init.io.closeTheirs()
	}
	if createErr != nil {
		if c.init.io != nil {
			c.init.io.close()
		}
		return nil, createErr
	}
	if socket != nil {
		master, err := socket.ReceiveMaster()
		if err != nil {
			s.runtime.delete(ctx, r.ID, true)
			return nil, fmt.Errorf("the container's terminal: %w", err)
		}
		if c.init.io, err = attachConsole(ctx, c.init.stdio, master); err != nil {
			master.Close()
			s.runtime.delete(ctx, r.ID, true)
			return nil, err
		}
	}
	pid, err := runc.ReadPidFile(opts.pidFile)
	if err != nil {
		s.runtime.delete(ctx, r.ID, true)
		return nil, fmt.Errorf("the sandbox's PID: %w", err)
	}
	c.init.mu.Lock()
	c.init.pid = pid
	c.init.mu.Unlock()
	s.claim(c, pid)
	if st, err := container.Load(s.runtime.root, r.ID); err == nil && st.CgroupPath != "" {
		id := r.ID
		if err := watchOOM(st.CgroupPath, func() {
			s.publish(cdruntime.TaskOOMEventTopic, &eventstypes.TaskOOM{ContainerID: id})
		}); err != nil {
			fmt.Fprintf(os.Stderr, "container %s: %v\n", r.ID, err)
		}
	}

	s.publish(cdruntime.TaskCreateEventTopic, &eventstypes.TaskCreate{
		ContainerID: r.ID,
		Bundle:      r.Bundle,
		Rootfs:      r.Rootfs,
		IO:          &eventstypes.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal},
		Pid:         uint32(pid),
	})
	return &taskAPI.CreateTaskResponse{Pid: uint32(pid)}, nil
}

// Annotations the shim reads from a container's bundle.
const (
	// containerTypeAnnotation is the CRI plugin's: "sandbox" for a
	// pod's sandbox (pause) container, "container" for the others.
	containerTypeAnnotation = "io.kubernetes.cri.container-type"
	// SandboxAnnotation picks the kind of sandbox for a pod ("kernel"
	// or "vm"), over the runtime options' (the CRI plugin passes it on
	// when the runtime's pod_annotations list it).
	SandboxAnnotation = "magawa.dev/sandbox"
)

// containerFlags are the runtime's global flags for one container, from
// its bundle's annotations. A pod's other containers join the sandbox
// of its sandbox container (the runtime reads the same annotations);
// one that cannot (its pod's sandbox is not in the runtime's state
// root) runs in a sandbox of its own without a network: the pod's
// interface belongs to the pod's sandbox, and two sandboxes cannot
// serve one interface.
func containerFlags(bundle string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("the bundle: %w", err)
	}
	var spec struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("the bundle's config.json: %w", err)
	}
	var flags []string
	switch kind := spec.Annotations[SandboxAnnotation]; kind {
	case "":
	case "kernel", "vm":
		flags = append(flags, "--sandbox="+kind)
	default:
		return nil, fmt.Errorf("annotation %s: %q is not a kind of sandbox (want kernel or vm)", SandboxAnnotation, kind)
	}
	if spec.Annotations[containerTypeAnnotation] == "container" {
		flags = append(flags, "--network=none")
	}
	return flags, nil
}

// configure reads the runtime options containerd passes (its runtime's
// options table) into the runtime's global flags.
func (s *service) configure(r *taskAPI.CreateTaskRequest) error {
	if r.Options == nil {
		return nil
	}
	flags, err := parseOptions(r.Options)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.runtime.flags = flags
	s.mu.Unlock()
	return nil
}

func (s *service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	if r.ExecID != "" {
		pid, err := s.startExec(ctx, c, r.ExecID)
		if err != nil {
			return nil, errdefs.ToGRPC(err)
		}
		s.publish(cdruntime.TaskExecStartedEventTopic, &eventstypes.TaskExecStarted{ContainerID: c.id, ExecID: r.ExecID, Pid: uint32(pid)})
		return &taskAPI.StartResponse{Pid: uint32(pid)}, nil
	}
	if err := s.runtime.start(ctx, c.id); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	p.setStatus(task.Status_RUNNING)
	_, pid, _, _ := p.state()
	s.publish(cdruntime.TaskStartEventTopic, &eventstypes.TaskStart{ContainerID: c.id, Pid: uint32(pid)})
	return &taskAPI.StartResponse{Pid: uint32(pid)}, nil
}

func (s *service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	status, pid, code, at := p.state()
	if r.ExecID != "" {
		if status != task.Status_STOPPED && status != task.Status_CREATED {
			return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "exec %s is still running", r.ExecID)
		}
		s.mu.Lock()
		delete(c.execs, r.ExecID)
		s.mu.Unlock()
		if p.io != nil {
			p.io.close()
		}
		return &taskAPI.DeleteResponse{Pid: uint32(pid), ExitStatus: code, ExitedAt: protobuf.ToTimestamp(at)}, nil
	}
	if err := s.runtime.delete(ctx, c.id, true); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	// A container deleted before it ended (created, never started) has
	// ended now.
	if p.exited(128 + int(unix.SIGKILL)) {
		_, pid, code, at = p.state()
	}
	if p.io != nil {
		p.io.close()
	}
	if c.rootfs != "" {
		if err := mount.UnmountAll(c.rootfs, 0); err != nil {
			return nil, errdefs.ToGRPCf(errdefs.ErrUnknown, "unmounting the root file system: %v", err)
		}
	}
	s.mu.Lock()
	delete(s.containers, c.id)
	s.mu.Unlock()
	s.publish(cdruntime.TaskDeleteEventTopic, &eventstypes.TaskDelete{
		ContainerID: c.id, Pid: uint32(pid), ExitStatus: code, ExitedAt: protobuf.ToTimestamp(at),
	})
	return &taskAPI.DeleteResponse{Pid: uint32(pid), ExitStatus: code, ExitedAt: protobuf.ToTimestamp(at)}, nil
}

func (s *service) Exec(ctx context.Context, r *taskAPI.ExecProcessRequest) (*ptypes.Empty, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	if status, _, _, _ := c.init.state(); status != task.Status_RUNNING {
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "container %s is not running", r.ID)
	}
	var spec specs.Process
	if r.Spec == nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "exec %s: no process", r.ExecID)
	}
	if err := json.Unmarshal(r.Spec.GetValue(), &spec); err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "exec %s: the process: %v", r.ExecID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.execs[r.ExecID] != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrAlreadyExists, "exec %s", r.ExecID)
	}
	c.execs[r.ExecID] = &execProcess{
		process: newProcess(r.ExecID, stdio{stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, terminal: r.Terminal}),
		spec:    &spec,
	}
	s.publish(cdruntime.TaskExecAddedEventTopic, &eventstypes.TaskExecAdded{ContainerID: r.ID, ExecID: r.ExecID})
	return &ptypes.Empty{}, nil
}

// startExec runs an exec'd process through the sandbox's control
// socket: its stdio are pipes or a terminal of the shim's.
func (s *service) startExec(ctx context.Context, c *shimContainer, execID string) (int, error) {
	s.mu.Lock()
	e := c.execs[execID]
	s.mu.Unlock()
	if e == nil {
		return 0, fmt.Errorf("exec %s: %w", execID, errdefs.ErrNotFound)
	}
	if status, _, _, _ := e.state(); status != task.Status_CREATED {
		return 0, fmt.Errorf("exec %s is %s: %w", execID, status, errdefs.ErrFailedPrecondition)
	}
	proc, err := oci.ToProcess(e.spec)
	if err != nil {
		return 0, fmt.Errorf("exec %s: %w", execID, err)
	}
	var fds [3]int
	if e.stdio.terminal {
		master, slavePath, err := console.NewPty()
		if err != nil {
			return 0, fmt.Errorf("exec %s: a terminal: %w", execID, err)
		}
		slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			master.Close()
			return 0, fmt.Errorf("exec %s: a terminal: %w", execID, err)
		}
		defer slave.Close()
		if e.io, err = attachConsole(ctx, e.stdio, master); err != nil {
			master.Close()
			return 0, err
		}
		fds = [3]int{int(slave.Fd()), int(slave.Fd()), -1}
	} else {
		if e.io, err = newPipeIO(ctx, e.stdio); err != nil {
			return 0, err
		}
		for i, f := range e.io.theirs {
			fds[i] = int(f.Fd())
		}
	}
	sandbox, err := container.Load(s.runtime.root, c.id)
	if err != nil {
		e.io.closeTheirs()
		e.io.close()
		return 0, err
	}
	pid, waiter, err := sandbox.Client().Exec(proc, fds)
	if e.io.theirs[0] != nil {
		e.io.closeTheirs()
	}
	if err != nil {
		e.io.close()
		return 0, fmt.Errorf("exec %s: %w", execID, err)
	}
	e.mu.Lock()
	e.pid = int(pid)
	e.status = task.Status_RUNNING
	e.mu.Unlock()
	go func() {
		code := 255
		if st, err := waiter.Wait(); err == nil {
			code = st.HostCode()
		}
		e.io.wait(2 * time.Second)
		if e.exited(code) {
			s.publishExit(c.id, e.process)
		}
	}()
	return int(pid), nil
}

func (s *service) ResizePty(ctx context.Context, r *taskAPI.ResizePtyRequest) (*ptypes.Empty, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	if p.io == nil || p.io.console == nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "the process has no terminal")
	}
	if err := p.io.console.Resize(console.WinSize{Width: uint16(r.Width), Height: uint16(r.Height)}); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	return &ptypes.Empty{}, nil
}

func (s *service) State(ctx context.Context, r *taskAPI.StateRequest) (*taskAPI.StateResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	status, pid, code, at := p.state()
	return &taskAPI.StateResponse{
		ID:         c.id,
		ExecID:     r.ExecID,
		Bundle:     c.bundle,
		Pid:        uint32(pid),
		Status:     status,
		Stdin:      p.stdio.stdin,
		Stdout:     p.stdio.stdout,
		Stderr:     p.stdio.stderr,
		Terminal:   p.stdio.terminal,
		ExitStatus: code,
		ExitedAt:   protobuf.ToTimestamp(at),
	}, nil
}

func (s *service) Pause(ctx context.Context, r *taskAPI.PauseRequest) (*ptypes.Empty, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	if err := s.runtime.pause(ctx, c.id); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	c.init.setStatus(task.Status_PAUSED)
	s.publish(cdruntime.TaskPausedEventTopic, &eventstypes.TaskPaused{ContainerID: c.id})
	return &ptypes.Empty{}, nil
}

func (s *service) Resume(ctx context.Context, r *taskAPI.ResumeRequest) (*ptypes.Empty, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	if err := s.runtime.resume(ctx, c.id); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	c.init.setStatus(task.Status_RUNNING)
	s.publish(cdruntime.TaskResumedEventTopic, &eventstypes.TaskResumed{ContainerID: c.id})
	return &ptypes.Empty{}, nil
}

func (s *service) Kill(ctx context.Context, r *taskAPI.KillRequest) (*ptypes.Empty, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	status, pid, _, _ := p.state()
	if status == task.Status_STOPPED {
		// containerd kills a task again while it stops it; an ended
		// process is what it wants.
		return nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "process already finished")
	}
	if r.ExecID == "" {
		err = s.runtime.kill(ctx, c.id, r.Signal, r.All)
		if err != nil && strings.Contains(err.Error(), "not running") {
			// It ended while containerd stopped it: what containerd
			// wanted, which it takes from NotFound (as from runc's
			// shim), not from an error that fails the pod's stop.
			err = fmt.Errorf("container %s: %w: %v", c.id, errdefs.ErrNotFound, err)
		}
	} else if status == task.Status_CREATED {
		err = fmt.Errorf("exec %s has not started: %w", r.ExecID, errdefs.ErrFailedPrecondition)
	} else {
		var sandbox *container.Container
		if sandbox, err = container.Load(s.runtime.root, c.id); err == nil {
			err = sandbox.Client().KillProcess(int32(pid), unix.Signal(r.Signal))
		}
	}
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	return &ptypes.Empty{}, nil
}

func (s *service) Pids(ctx context.Context, r *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	// The host processes of the sandbox, as the runtime's `ps --format
	// json` lists them (the sandbox process first): what the host can
	// see, account and signal, as with containerd's runc shim.
	pids, err := s.runtime.ps(ctx, c.id)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	resp := &taskAPI.PidsResponse{}
	for _, pid := range pids {
		resp.Processes = append(resp.Processes, &task.ProcessInfo{Pid: uint32(pid)})
	}
	return resp, nil
}

func (s *service) CloseIO(ctx context.Context, r *taskAPI.CloseIORequest) (*ptypes.Empty, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	if r.Stdin && p.io != nil {
		p.io.closeStdin()
	}
	return &ptypes.Empty{}, nil
}

func (s *service) Checkpoint(ctx context.Context, r *taskAPI.CheckpointTaskRequest) (*ptypes.Empty, error) {
	return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "checkpoint is not supported by magawa")
}

func (s *service) Update(ctx context.Context, r *taskAPI.UpdateTaskRequest) (*ptypes.Empty, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	if r.Resources == nil {
		return &ptypes.Empty{}, nil
	}
	v, err := typeurl.UnmarshalAny(r.Resources)
	if err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "the resources: %v", err)
	}
	resources, ok := v.(*specs.LinuxResources)
	if !ok {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "the resources are a %T, not linux resources", v)
	}
	b, err := json.Marshal(resources)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	if err := s.runtime.update(ctx, c.id, b); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	return &ptypes.Empty{}, nil
}

func (s *service) Wait(ctx context.Context, r *taskAPI.WaitRequest) (*taskAPI.WaitResponse, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, errdefs.ToGRPC(ctx.Err())
	}
	_, _, code, at := p.state()
	return &taskAPI.WaitResponse{ExitStatus: code, ExitedAt: protobuf.ToTimestamp(at)}, nil
}

func (s *service) Stats(ctx context.Context, r *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	st, err := s.runtime.stats(ctx, c.id)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	any, err := typeurl.MarshalAny(metrics(st))
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	return &taskAPI.StatsResponse{Stats: protobuf.FromAny(any)}, nil
}

func (s *service) Connect(ctx context.Context, r *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	resp := &taskAPI.ConnectResponse{ShimPid: uint32(os.Getpid())}
	if c, err := s.container(r.ID); err == nil {
		_, pid, _, _ := c.init.state()
		resp.TaskPid = uint32(pid)
	}
	return resp, nil
}

func (s *service) Shutdown(ctx context.Context, r *taskAPI.ShutdownRequest) (*ptypes.Empty, error) {
	s.mu.Lock()
	n := len(s.containers)
	s.mu.Unlock()
	// The shim serves its whole group: it stays while a container of
	// the group does.
	if n > 0 && !r.Now {
		return &ptypes.Empty{}, nil
	}
	s.shutdown.Shutdown()
	return &ptypes.Empty{}, nil
}

// claim gives a container's init its sandbox process's PID, and its
// exit if the reaper already saw it.
func (s *service) claim(c *shimContainer, pid int) {
	s.mu.Lock()
	status, seen := s.unclaimed[pid]
	delete(s.unclaimed, pid)
	s.mu.Unlock()
	if seen {
		s.initExited(c, status)
	}
}

// collectExits takes the reaper's exits: a sandbox process's is its
// container's init's.
func (s *service) collectExits() {
	for e := range s.exits {
		var found *shimContainer
		s.mu.Lock()
		for _, c := range s.containers {
			if _, pid, _, _ := c.init.state(); pid == e.Pid {
				found = c
				break
			}
		}
		if found == nil {
			if len(s.unclaimed) > 1024 {
				clear(s.unclaimed)
			}
			s.unclaimed[e.Pid] = e.Status
		}
		s.mu.Unlock()
		if found != nil {
			go s.initExited(found, e.Status)
		}
	}
}

// initExited ends a container: its init's output is copied out, then
// its exit published. Its exec'd processes died with the sandbox.
func (s *service) initExited(c *shimContainer, status int) {
	if c.init.io != nil {
		c.init.io.wait(5 * time.Second)
	}
	if !c.init.exited(status) {
		return
	}
	s.mu.Lock()
	var execs []*execProcess
	for _, e := range c.execs {
		execs = append(execs, e)
	}
	s.mu.Unlock()
	for _, e := range execs {
		if e.exited(128 + int(unix.SIGKILL)) {
			s.publishExit(c.id, e.process)
		}
	}
	s.publishExit(c.id, c.init)
}

func (s *service) publishExit(id string, p *process) {
	_, pid, code, at := p.state()
	execID := p.id
	if execID == "" {
		execID = id
	}
	s.publish(cdruntime.TaskExitEventTopic, &eventstypes.TaskExit{
		ContainerID: id, ID: execID, Pid: uint32(pid), ExitStatus: code, ExitedAt: protobuf.ToTimestamp(at),
	})
}

func (s *service) publish(topic string, event any) {
	ctx := namespaces.WithNamespace(context.Background(), namespaceOf(s.ctx))
	if err := s.publisher.Publish(ctx, topic, event); err != nil {
		fmt.Fprintf(os.Stderr, "publishing %s: %v\n", topic, err)
	}
}

func namespaceOf(ctx context.Context) string {
	ns, _ := namespaces.Namespace(ctx)
	return ns
}
