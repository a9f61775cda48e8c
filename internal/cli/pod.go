package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"magawa/internal/boot"
	"magawa/internal/cgroup"
	"magawa/internal/container"
	"magawa/internal/gofer"
	"magawa/internal/oci"
	"magawa/internal/sandbox"
	"magawa/internal/vm"
)

// A pod's containers share one sandbox: the CRI plugin (and CRI-O)
// marks every container of a pod but its sandbox (pause) container with
// the pod's sandbox ID, and magawa makes such a container join the
// sandbox of the container of that ID, when it has it in the same state
// root, instead of building a sandbox of its own. In an application
// kernel it gets its own root and mounts (a gofer of its own, started
// here) and mount namespace; the pod's PID, IPC, UTS and network
// namespaces are the sandbox's. In a VM it becomes another container of
// the guest, its root and bind sources mounted under the pod's share
// (package vm, StageInPod); the pod's IPC, UTS and network namespaces
// are the first container's, its mount and PID namespaces its own.
//
// The joined container's "PID" is a small host process (`magawa
// exec-wait`) that holds its connection to the sandbox and exits with
// its status, as a detached exec's does: what a supervisor (containerd's
// shim, conmon) waits for.

// podAnnotations name the annotations that mark a pod's container: its
// type ("container" joins) and its pod's sandbox ID.
var podAnnotations = []struct{ containerType, sandboxID string }{
	{"io.kubernetes.cri.container-type", "io.kubernetes.cri.sandbox-id"},
	{"io.kubernetes.cri-o.ContainerType", "io.kubernetes.cri-o.SandboxID"},
}

// isPodSandbox reports whether the bundle is a pod's sandbox (pause)
// container, which the pod's other containers join: a VM sandbox's
// then gets the pod's share.
func isPodSandbox(spec *specs.Spec) bool {
	for _, a := range podAnnotations {
		if spec.Annotations[a.containerType] == "sandbox" {
			return true
		}
	}
	return false
}

// podSandbox returns the ID of the sandbox container a container joins,
// or "".
func (g *globalFlags) podSandbox(spec *specs.Spec, id string) (*container.Container, error) {
	var sandboxID string
	for _, a := range podAnnotations {
		if spec.Annotations[a.containerType] == "container" && spec.Annotations[a.sandboxID] != "" {
			sandboxID = spec.Annotations[a.sandboxID]
			break
		}
	}
	if sandboxID == "" || sandboxID == id {
		return nil, nil
	}
	sb, err := container.Load(g.root, sandboxID)
	if errors.Is(err, container.ErrNotExist) {
		// Its pod's sandbox is not ours (another runtime, another
		// root): the container gets a sandbox of its own.
		g.logf("warning", "container %s: its pod's sandbox %s is not in %s: it gets a sandbox of its own", id, sandboxID, g.root)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case sb.SandboxID != "":
		g.logf("warning", "container %s: its pod's sandbox %s joined %s's itself: it gets a sandbox of its own", id, sandboxID, sb.SandboxID)
		return nil, nil
	case sb.Sandbox == sandboxVM && !vm.HasPodDir(sb.Dir()):
		g.logf("warning", "container %s: its pod's sandbox %s is a VM made without the pod's share (not marked as a pod's sandbox container): it gets a sandbox of its own", id, sandboxID)
		return nil, nil
	case sb.Sandbox != "" && sb.Sandbox != sandboxVM:
		g.logf("warning", "container %s: its pod's sandbox %s is of an unknown kind (%q): it gets a sandbox of its own", id, sandboxID, sb.Sandbox)
		return nil, nil
	}
	return sb, nil
}

// createJoined makes container id join the sandbox of sb.
func (g *globalFlags) createJoined(id string, f *createFlags, spec *specs.Spec, bundle string, sb *container.Container) (_ *container.Container, err error) {
	if status := sb.Status(); status != boot.StatusCreated && status != boot.StatusRunning {
		return nil, fmt.Errorf("the pod's sandbox %s is %s", sb.ID, status)
	}
	var j joiner
	if sb.Sandbox == sandboxVM {
		j, err = newVMJoiner(id, spec, bundle, sb)
	} else {
		j, err = newKernelJoiner(g, id, spec, bundle, sb)
	}
	if err != nil {
		return nil, err
	}
	process := j.process()
	stdio := [3]int{0, 1, 2}
	if process.Terminal {
		if f.consoleSocket == "" {
			return nil, errors.New("a container with a terminal needs --console-socket when it is detached")
		}
		slave, err := boot.ConsoleSocketTerminal(f.consoleSocket, process.ConsoleRows, process.ConsoleColumns)
		if err != nil {
			return nil, err
		}
		defer unix.Close(slave)
		stdio = [3]int{slave, slave, -1}
	} else if f.consoleSocket != "" {
		return nil, errors.New("--console-socket is for a container with process.terminal set")
	}
	c, err := container.Create(g.root, id)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Remove()
		}
	}()
	waiter, err := j.join(stdio)
	if err != nil {
		return nil, fmt.Errorf("joining the pod's sandbox %s: %w", sb.ID, err)
	}
	defer func() {
		if err != nil {
			j.leave()
		}
	}()
	pid, err := holdWaiter(waiter)
	if err != nil {
		return nil, err
	}
	start, err := container.ProcStart(pid)
	if err != nil {
		return nil, err
	}
	c.State = container.State{
		OCIVersion:  spec.Version,
		ID:          id,
		Pid:         pid,
		PidStart:    start,
		Bundle:      bundle,
		Rootfs:      j.rootfs(),
		Created:     time.Now().UTC(),
		Annotations: spec.Annotations,
		Hooks:       spec.Hooks,
		// A VM's: update goes to the container's cgroup in the guest.
		Sandbox:   sb.Sandbox,
		SandboxID: sb.ID,
	}
	if err := c.Save(); err != nil {
		return nil, err
	}
	if err := runCreateHooks(c, spec); err != nil {
		return nil, err
	}
	if err := writePidFile(f.pidFile, pid); err != nil {
		return nil, err
	}
	return c, nil
}

// joiner joins a container to a sandbox of one kind.
type joiner interface {
	process() sandbox.Process
	rootfs() string
	// join adds the container with stdio (-1: none) as its process's
	// descriptors at start.
	join(stdio [3]int) (*boot.Waiter, error)
	// leave undoes join.
	leave()
}

// kernelJoiner joins an application kernel's sandbox: the container's
// gofer is started here and handed over.
type kernelJoiner struct {
	g   *globalFlags
	id  string
	sb  *container.Container
	cfg sandbox.Config
}

func newKernelJoiner(g *globalFlags, id string, spec *specs.Spec, bundle string, sb *container.Container) (*kernelJoiner, error) {
	cfg, err := oci.ToSandbox(spec, bundle)
	if err != nil {
		return nil, err
	}
	cfg.NoOverlay = g.overlay == "none"
	// The sandbox, confined, cannot look at the host's paths.
	for i, m := range cfg.Mounts {
		if m.Type != "bind" {
			continue
		}
		st, err := os.Stat(m.Source)
		if err != nil {
			return nil, fmt.Errorf("bind mount of %s on %s: %w", m.Source, m.Target, err)
		}
		cfg.Mounts[i].SourceIsFile = !st.IsDir()
	}
	return &kernelJoiner{g: g, id: id, sb: sb, cfg: cfg}, nil
}

func (j *kernelJoiner) process() sandbox.Process { return j.cfg.Process }
func (j *kernelJoiner) rootfs() string           { return j.cfg.RootDir }

func (j *kernelJoiner) join(stdio [3]int) (*boot.Waiter, error) {
	// The gofer is the container's, in the pod's cgroup: it serves
	// only this container's root and bind mounts.
	exports, _ := sandbox.GoferExports(&j.cfg)
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// Its errors go to the runtime's log: the container's stderr would
	// be held open by the gofer as long as the container exists, and
	// whoever reads it (a shim) would wait for its end in vain.
	var goferLog *os.File
	if j.g.log != "" {
		if goferLog, err = os.OpenFile(j.g.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
			defer goferLog.Close()
		}
	}
	gf, err := gofer.Start(gofer.Config{Exports: exports, Exe: self, Stderr: goferLog})
	if err != nil {
		return nil, fmt.Errorf("container %s: starting its gofer: %w", j.id, err)
	}
	if j.sb.CgroupPath != "" {
		if cg, err := cgroup.New(j.sb.CgroupPath, nil); err == nil {
			cg.Enter(gf.Pid())
		}
	}
	waiter, err := j.sb.Client().Add(j.id, j.cfg, gf.TakeFD(), stdio)
	if err != nil {
		gf.Close()
		return nil, err
	}
	return waiter, nil
}

func (j *kernelJoiner) leave() { container.NewJoinedClient(j.sb, j.id).Remove() }

// vmJoiner joins a pod's VM: the container's root and bind sources are
// mounted under the pod's share, where QEMU serves them to the guest.
type vmJoiner struct {
	id  string
	sb  *container.Container
	cfg vm.Config
	// root is the root's host directory (cfg's becomes its path in the
	// pod's share).
	root string
}

func newVMJoiner(id string, spec *specs.Spec, bundle string, sb *container.Container) (*vmJoiner, error) {
	cfg, err := vm.FromSpec(spec, bundle, id, "")
	if err != nil {
		return nil, err
	}
	return &vmJoiner{id: id, sb: sb, cfg: cfg, root: cfg.RootDir}, nil
}

func (j *vmJoiner) process() sandbox.Process { return j.cfg.Process }
func (j *vmJoiner) rootfs() string           { return j.root }

func (j *vmJoiner) join(stdio [3]int) (*boot.Waiter, error) {
	podDir := vm.PodDir(j.sb.Dir())
	if err := vm.StageInPod(podDir, &j.cfg); err != nil {
		return nil, err
	}
	waiter, err := j.sb.Client().Join(j.id, j.cfg, stdio)
	if err != nil {
		vm.UnstageFromPod(podDir, j.id)
		return nil, err
	}
	return waiter, nil
}

func (j *vmJoiner) leave() {
	container.NewJoinedClient(j.sb, j.id).Remove()
	vm.UnstageFromPod(vm.PodDir(j.sb.Dir()), j.id)
}

// holdWaiter hands a joined container's connection to a host process
// that exits with the container's status, and returns its PID.
func holdWaiter(w *boot.Waiter) (int, error) {
	conn := os.NewFile(uintptr(w.FD()), "container-wait")
	cmd := exec.Command("/proc/self/exe", "exec-wait", "--fd=3")
	cmd.ExtraFiles = []*os.File{conn}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Start()
	w.Close()
	if err != nil {
		return 0, fmt.Errorf("the container's waiter: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return pid, nil
}

// runCreateHooks runs the hooks create runs once the container exists.
func runCreateHooks(c *container.Container, spec *specs.Spec) error {
	h := spec.Hooks
	if h == nil {
		return nil
	}
	state := c.SpecState(boot.StatusCreated)
	//nolint:staticcheck // prestart is deprecated but still sent by clients.
	if err := runHooks("prestart", h.Prestart, state); err != nil {
		return err
	}
	if err := runHooks("createRuntime", h.CreateRuntime, state); err != nil {
		return err
	}
	return runHooks("createContainer", h.CreateContainer, state)
}

// destroyJoined takes a joined container out of its sandbox; its waiter
// ends with it. A VM's container's files are unmounted from the pod's
// share after the guest has let go of them.
func destroyJoined(c *container.Container) error {
	err := c.Client().Remove()
	if errors.Is(err, boot.ErrNotRunning) || err != nil && !c.Alive() {
		// The pod's sandbox is gone, and the container with it.
		err = nil
	}
	if c.Alive() {
		unix.Kill(c.Pid, unix.SIGKILL)
	}
	if werr := waitGone(c); err == nil {
		err = werr
	}
	if c.Sandbox == sandboxVM {
		podDir := vm.PodDir(filepath.Join(filepath.Dir(c.Dir()), c.SandboxID))
		if uerr := vm.UnstageFromPod(podDir, c.ID); err == nil {
			err = uerr
		}
	}
	return err
}
