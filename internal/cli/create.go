package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"magawa/internal/boot"
	"magawa/internal/cgroup"
	"magawa/internal/container"
	"magawa/internal/network"
	"magawa/internal/oci"
	"magawa/internal/sandbox"
	"magawa/internal/vm"
)

func init() {
	register(command{name: "create", summary: "create a container from an OCI bundle: create [--bundle DIR] ID", run: runCreate})
	register(command{name: "start", summary: "start a created container's process: start ID", run: runStart})
	register(command{name: "run", summary: "create and start a container, and wait for it unless --detach: run [--bundle DIR] ID", run: runRun})
}

// createFlags are create's and run's.
type createFlags struct {
	bundle        string
	consoleSocket string
	pidFile       string
	preserveFDs   int
	detach        bool // run
	keep          bool // run
	// terminal is set by create: the bundle's process has one.
	terminal bool
}

func (f *createFlags) register(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	BoolVar(*bool, string, bool, string)
}, run bool) {
	fs.StringVar(&f.bundle, "bundle", ".", "the OCI bundle's directory")
	fs.StringVar(&f.bundle, "b", ".", "the same as --bundle")
	fs.StringVar(&f.consoleSocket, "console-socket", "", "a Unix socket to send the terminal's master to")
	fs.StringVar(&f.pidFile, "pid-file", "", "write the sandbox process's PID to this file")
	fs.IntVar(&f.preserveFDs, "preserve-fds", 0, "pass this many descriptors after 0-2 (not supported yet)")
	var ignored bool
	fs.BoolVar(&ignored, "no-pivot", false, "accepted for runc compatibility")
	fs.BoolVar(&ignored, "no-new-keyring", false, "accepted for runc compatibility")
	if run {
		fs.BoolVar(&f.detach, "detach", false, "do not wait for the container")
		fs.BoolVar(&f.detach, "d", false, "the same as --detach")
		fs.BoolVar(&f.keep, "keep", false, "keep the container's state after it exits")
	}
}

func runCreate(g *globalFlags, args []string) int {
	var f createFlags
	fs := newFlagSet("create")
	f.register(fs, false)
	positional, err := parseArgs(fs, args)
	if err != nil {
		return g.runtimeError(fmt.Errorf("create: %w", err))
	}
	if len(positional) != 1 {
		return g.runtimeError(errors.New("create: want exactly one container ID"))
	}
	c, _, err := g.create(positional[0], &f, true)
	if err != nil {
		return g.runtimeError(err)
	}
	c.Unlock()
	return 0
}

// create makes the container: the state directory, the sandbox process
// (created, waiting for start), the state file, the hooks. detach says
// the sandbox outlives this command. On error nothing is left behind.
func (g *globalFlags) create(id string, f *createFlags, detach bool) (_ *container.Container, _ *boot.Process, err error) {
	if err := container.ValidID(id); err != nil {
		return nil, nil, err
	}
	if f.preserveFDs != 0 {
		return nil, nil, errors.New("--preserve-fds is not supported yet")
	}
	bundle, err := filepath.Abs(f.bundle)
	if err != nil {
		return nil, nil, err
	}
	spec, err := oci.Load(bundle)
	if err != nil {
		return nil, nil, err
	}
	if err := oci.CheckNamespacePaths(spec); err != nil {
		return nil, nil, err
	}
	if sb, err := g.podSandbox(spec, id); err != nil {
		return nil, nil, err
	} else if sb != nil {
		if !detach {
			return nil, nil, fmt.Errorf("container %s joins its pod's sandbox %s: create and start it (run would wait for it)", id, sb.ID)
		}
		c, err := g.createJoined(id, f, spec, bundle, sb)
		return c, nil, err
	}
	cfg, err := oci.ToSandbox(spec, bundle)
	if err != nil {
		return nil, nil, err
	}
	// What the bundle asks for that has no effect in a sandbox goes to
	// the log, as runc's warnings do (not to stderr, which is the
	// container's).
	for _, w := range oci.Warnings(spec) {
		g.logf("warning", "%s", w)
	}
	cfg.Platform = g.platform
	if adj := oci.HostConfig(spec).OOMScoreAdj; adj != nil {
		cfg.OOMScoreAdj = int32(*adj)
	}
	if r := oci.HostConfig(spec).Resources; r != nil && r.Pids != nil && r.Pids.Limit != nil {
		cfg.TaskLimit = *r.Pids.Limit
	}
	cfg.NoOverlay = g.overlay == "none"
	switch g.network {
	case "sandbox":
		cfg.Network = sandbox.NetworkSandbox
	case "host":
		// The host's stack serves the container's Internet sockets,
		// in the network namespace the configuration names (a CNI
		// plugin's veth), or else the runtime's: no interface is taken
		// over (attachNetwork is for sandbox mode).
		cfg.Network = sandbox.NetworkHost
	}
	cfg.TTY = sandbox.TTYOff
	if cfg.Process.Terminal {
		f.terminal = true
		cfg.TTY = sandbox.TTYOn
		if detach && f.consoleSocket == "" {
			return nil, nil, errors.New("a container with a terminal needs --console-socket when it is detached")
		}
	} else if f.consoleSocket != "" {
		return nil, nil, errors.New("--console-socket is for a container with process.terminal set")
	}
	host := oci.HostConfig(spec)
	cgroupPath, err := cgroup.Path(host.CgroupsPath, id)
	if err != nil {
		return nil, nil, err
	}
	resources := host.Resources
	var vmc *vm.VMConfig
	if g.sandbox == sandboxVM {
		if cfg.Network == sandbox.NetworkHost {
			g.logf("warning", "--network=host: a VM cannot share the host's stack: the VM sandbox has loopback only")
		}
		// QEMU, the kernel and the initramfs are checked before
		// anything is made. The bundle's limits bound the container
		// inside the VM (its size, its cgroup there); the host's
		// cgroup holds the VM and accounts for it.
		if vmc, err = g.vm.config(g.debugLog); err != nil {
			return nil, nil, err
		}
		resources = nil
	}
	cg, err := cgroup.New(cgroupPath, resources)
	if err != nil {
		return nil, nil, err
	}

	c, err := container.Create(g.root, id)
	if err != nil {
		return nil, nil, err
	}
	// As runc: a cgroup that holds processes is another container's
	// (two state roots, one ID); joining it would mix their limits and
	// make this one's delete fail. It is left alone.
	if pids, err := cg.Pids(); err == nil && len(pids) > 0 {
		c.Remove()
		return nil, nil, fmt.Errorf("the container's cgroup %s is not empty: %d processes are in it", cgroupPath, len(pids))
	}
	var proc *boot.Process
	podDir := ""
	defer func() {
		if err != nil {
			if proc != nil {
				proc.Signal(unix.SIGKILL)
				if !detach {
					proc.Wait()
				} else {
					proc.Release()
				}
				c.Pid = proc.Pid()
				waitGone(c)
			}
			cg.Destroy()
			if podDir != "" {
				if err := vm.RemovePodDir(c.Dir()); err != nil {
					// Never removed through a mount left there.
					g.logf("error", "container %s: %v: its state directory is left", id, err)
					c.Unlock()
					return
				}
			}
			c.Remove()
		}
	}()
	control, err := boot.Listen(c.Dir())
	if err != nil {
		return nil, nil, err
	}
	defer control.Close()
	opts := boot.Options{
		Config:        cfg,
		Control:       control,
		ConsoleSocket: f.consoleSocket,
		Detach:        detach,
		DebugLog:      g.debugLog,
		Strace:        g.strace,
		NetNS:         g.netnsPath(host, cfg.Network),
		Prepare: func(pid int) error {
			// The sandbox as a whole is what the host's OOM killer
			// weighs: every process of it inherits the adjustment.
			if adj := host.OOMScoreAdj; adj != nil {
				if err := os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte(strconv.Itoa(*adj)), 0); err != nil {
					return fmt.Errorf("process.oomScoreAdj: %w", err)
				}
			}
			return cg.Enter(pid)
		},
	}
	sandboxKind := ""
	if vmc != nil {
		// A pod's sandbox container's VM takes the pod's other
		// containers through a share of its own, which its supervisor
		// receives mounts under (see package vm).
		if isPodSandbox(spec) {
			if podDir, err = vm.MakePodDir(c.Dir()); err != nil {
				return nil, nil, err
			}
			opts.KeepMountPropagation = true
		}
		if err := vmLaunchOptions(&opts, vmc, spec, bundle, id, c.Dir(), podDir); err != nil {
			return nil, nil, err
		}
		sandboxKind = sandboxVM
	}
	proc, err = boot.Launch(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the sandbox: %w", err)
	}
	if proc.Warning != "" {
		g.logf("warning", "%s", proc.Warning)
	}
	start, err := container.ProcStart(proc.Pid())
	if err != nil {
		return nil, nil, fmt.Errorf("the sandbox process: %w", err)
	}
	c.State = container.State{
		OCIVersion:  spec.Version,
		ID:          id,
		Pid:         proc.Pid(),
		PidStart:    start,
		Bundle:      bundle,
		Rootfs:      cfg.RootDir,
		Created:     time.Now().UTC(),
		Annotations: spec.Annotations,
		Hooks:       spec.Hooks,
		CgroupPath:  cgroupPath,
		Sandbox:     sandboxKind,
	}
	if err := c.Save(); err != nil {
		return nil, nil, err
	}
	if err := runCreateHooks(c, spec); err != nil {
		return nil, nil, err
	}
	// The hooks have set up the network namespace (Docker's does it
	// there): its interfaces go to the sandbox now.
	if cfg.Network == sandbox.NetworkSandbox {
		attach := attachNetwork
		if vmc != nil {
			attach = g.attachVMNetwork
		}
		if err := attach(c, proc.Pid()); err != nil {
			return nil, nil, err
		}
	}
	if err := writePidFile(f.pidFile, proc.Pid()); err != nil {
		return nil, nil, err
	}
	if detach {
		proc.Release()
	}
	return c, proc, nil
}

// netnsPath is the network namespace the configuration has the
// container join, if any. Without a network namespace in the
// configuration runc would share the host's; a sandbox always has one
// of its own, with loopback only, since it cannot share the host's
// stack without --network=host; so does one whose configuration names
// the runtime's own namespace (Docker's --network host), which is the
// host's and not the sandbox's to take. With --network=host, the
// sandbox process makes its sockets in the namespace the configuration
// names, as runsc's does, and in the runtime's without one (never in a
// new, empty one).
func (g *globalFlags) netnsPath(h oci.Host, mode sandbox.NetworkMode) string {
	p, _ := h.Namespace(specs.NetworkNamespace)
	if p == "" {
		return ""
	}
	if own, err := network.IsOwnNamespace(p); err == nil && own {
		if mode == sandbox.NetworkHost {
			return ""
		}
		g.logf("warning", "linux.namespaces names the host's network namespace (%s): the sandbox has one of its own with lo only (--network=host shares the host's)", p)
		return ""
	}
	return p
}

// attachNetwork takes the interfaces of the sandbox process's network
// namespace away from the host's stack and hands them to the sandbox.
func attachNetwork(c *container.Container, pid int) error {
	cfg, files, err := network.Takeover(pid)
	if err != nil {
		return fmt.Errorf("the container's network: %w", err)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if len(cfg.Links) == 0 {
		return nil
	}
	if err := c.Client().AttachNetwork(cfg, files); err != nil {
		return fmt.Errorf("the container's network: %w", err)
	}
	return nil
}

func runStart(g *globalFlags, args []string) int {
	positional, err := parseArgs(newFlagSet("start"), args)
	if err != nil {
		return g.runtimeError(fmt.Errorf("start: %w", err))
	}
	c, err := g.loadContainer("start", positional)
	if err != nil {
		return g.runtimeError(err)
	}
	if err := c.Lock(); err != nil {
		return g.runtimeError(err)
	}
	defer c.Unlock()
	if err := startContainer(c); err != nil {
		return g.runtimeError(err)
	}
	return 0
}

// startContainer runs a created container's process and its hooks.
func startContainer(c *container.Container) error {
	switch status := c.Status(); status {
	case boot.StatusCreated:
	case boot.StatusStopped:
		return errors.New("cannot start a container that has stopped")
	default:
		return fmt.Errorf("cannot start an already %s container", status)
	}
	var hooks specs.Hooks
	if c.Hooks != nil {
		hooks = *c.Hooks
	}
	if err := runHooks("startContainer", hooks.StartContainer, c.SpecState(boot.StatusCreated)); err != nil {
		return err
	}
	if err := c.Client().Start(); err != nil {
		return err
	}
	// Poststart failures are logged, not fatal: the process runs.
	if err := runHooks("poststart", hooks.Poststart, c.SpecState(boot.StatusRunning)); err != nil {
		fmt.Fprintf(os.Stderr, "magawa: %v\n", err)
	}
	return nil
}

func runRun(g *globalFlags, args []string) int {
	var f createFlags
	fs := newFlagSet("run")
	f.register(fs, true)
	positional, err := parseArgs(fs, args)
	if err != nil {
		return g.runtimeError(fmt.Errorf("run: %w", err))
	}
	if len(positional) != 1 {
		return g.runtimeError(errors.New("run: want exactly one container ID"))
	}
	// In the foreground on this terminal, the sandbox puts it in raw
	// mode while the container runs: it is restored here too, whatever
	// becomes of the sandbox process.
	var saved *unix.Termios
	if !f.detach && f.consoleSocket == "" {
		saved, _ = unix.IoctlGetTermios(0, unix.TCGETS)
	}
	c, proc, err := g.create(positional[0], &f, f.detach)
	if err != nil {
		return g.runtimeError(err)
	}
	if saved != nil && f.terminal {
		defer restoreTerminal(0, saved)
	}
	if err := startContainer(c); err != nil {
		c.Unlock()
		g.destroy(c)
		return g.runtimeError(err)
	}
	c.Unlock()
	if f.detach {
		return 0
	}
	// In the foreground: signals for this process go to the container,
	// and its status is ours. The terminal's own (^C) reach the sandbox
	// process directly, in this process group.
	signal.Ignore(unix.SIGINT, unix.SIGQUIT)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2)
	go func() {
		for sig := range sigs {
			c.Client().Kill(sig.(unix.Signal), false)
		}
	}()
	code, _ := proc.Wait()
	if !f.keep {
		g.destroy(c)
	}
	return code
}

// restoreTerminal gives the terminal fd the settings saved if it has
// others: setting them unchanged would stop a run in the background
// (SIGTTOU) for nothing.
func restoreTerminal(fd int, saved *unix.Termios) {
	if now, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil && *now != *saved {
		unix.IoctlSetTermios(fd, unix.TCSETS, saved)
	}
}
