package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
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
)

// A pod's containers share one sandbox: the CRI plugin (and CRI-O)
// marks every container of a pod but its sandbox (pause) container with
// the pod's sandbox ID, and magawa makes such a container join the
// sandbox of the container of that ID, when it has it in the same state
// root, instead of building a sandbox of its own. It gets its own root
// and mounts (a gofer of its own, started here) and mount namespace;
// the pod's PID, IPC, UTS and network namespaces are the sandbox's.
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
	if sb.Sandbox != "" || sb.SandboxID != "" {
		g.logf("warning", "container %s: its pod's sandbox %s is not an application kernel's (%q): it gets a sandbox of its own", id, sandboxID, sb.Sandbox)
		return nil, nil
	}
	return sb, nil
}

// createJoined makes container id join the sandbox of sb.
func (g *globalFlags) createJoined(id string, f *createFlags, spec *specs.Spec, bundle string, sb *container.Container) (_ *container.Container, err error) {
	if status := sb.Status(); status != boot.StatusCreated && status != boot.StatusRunning {
		return nil, fmt.Errorf("the pod's sandbox %s is %s", sb.ID, status)
	}
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
	stdio := [3]int{0, 1, 2}
	if cfg.Process.Terminal {
		if f.consoleSocket == "" {
			return nil, errors.New("a container with a terminal needs --console-socket when it is detached")
		}
		slave, err := boot.ConsoleSocketTerminal(f.consoleSocket, cfg.Process.ConsoleRows, cfg.Process.ConsoleColumns)
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
	// The gofer is the container's, in the pod's cgroup: it serves
	// only this container's root and bind mounts.
	exports, _ := sandbox.GoferExports(&cfg)
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// Its errors go to the runtime's log: the container's stderr would
	// be held open by the gofer as long as the container exists, and
	// whoever reads it (a shim) would wait for its end in vain.
	var goferLog *os.File
	if g.log != "" {
		if goferLog, err = os.OpenFile(g.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
			defer goferLog.Close()
		}
	}
	gf, err := gofer.Start(gofer.Config{Exports: exports, Exe: self, Stderr: goferLog})
	if err != nil {
		return nil, fmt.Errorf("container %s: starting its gofer: %w", id, err)
	}
	if sb.CgroupPath != "" {
		if cg, err := cgroup.New(sb.CgroupPath, nil); err == nil {
			cg.Enter(gf.Pid())
		}
	}
	waiter, err := sb.Client().Add(id, cfg, gf.TakeFD(), stdio)
	if err != nil {
		gf.Close()
		return nil, fmt.Errorf("joining the pod's sandbox %s: %w", sb.ID, err)
	}
	pid, err := holdWaiter(waiter)
	if err != nil {
		container.NewJoinedClient(sb, id).Remove()
		return nil, err
	}
	start, err := container.ProcStart(pid)
	if err != nil {
		container.NewJoinedClient(sb, id).Remove()
		return nil, err
	}
	c.State = container.State{
		OCIVersion:  spec.Version,
		ID:          id,
		Pid:         pid,
		PidStart:    start,
		Bundle:      bundle,
		Rootfs:      cfg.RootDir,
		Created:     time.Now().UTC(),
		Annotations: spec.Annotations,
		Hooks:       spec.Hooks,
		SandboxID:   sb.ID,
	}
	if err := c.Save(); err != nil {
		container.NewJoinedClient(sb, id).Remove()
		return nil, err
	}
	if err := runCreateHooks(c, spec); err != nil {
		container.NewJoinedClient(sb, id).Remove()
		return nil, err
	}
	if err := writePidFile(f.pidFile, pid); err != nil {
		container.NewJoinedClient(sb, id).Remove()
		return nil, err
	}
	return c, nil
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
// ends with it.
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
	return err
}
