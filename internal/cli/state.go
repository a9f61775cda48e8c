package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/boot"
	"magawa/internal/cgroup"
	"magawa/internal/container"
	"magawa/internal/vm"
)

func init() {
	register(command{name: "state", summary: "print a container's state as JSON: state ID", run: runState})
	register(command{name: "list", summary: "list the containers: list [--format table|json] [--quiet]", run: runList})
	register(command{name: "ps", summary: "list a container's processes: ps [--format table|json] ID", run: runPs})
	register(command{name: "kill", summary: "send a signal to a container: kill [--all] ID [SIGNAL]", run: runKill})
	register(command{name: "delete", summary: "delete a container: delete [--force] ID", run: runDelete})
	register(command{name: "pause", summary: "freeze every process of a container: pause ID", run: runPause})
	register(command{name: "resume", summary: "thaw a paused container: resume ID", run: runResume})
}

// containerState is what `state` and `list --format json` print, as runc
// does.
type containerState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

func stateOf(c *container.Container) containerState {
	status := c.Status()
	pid := c.Pid
	if status == boot.StatusStopped {
		pid = 0
	}
	return containerState{
		OCIVersion: c.OCIVersion, ID: c.ID, Pid: pid, Status: status,
		Bundle: c.Bundle, Rootfs: c.Rootfs, Created: c.Created,
		Annotations: c.Annotations, Owner: c.Owner,
	}
}

func runState(g *globalFlags, args []string) int {
	positional, err := parseArgs(newFlagSet("state"), args)
	if err != nil {
		return g.runtimeError(fmt.Errorf("state: %w", err))
	}
	c, err := g.loadContainer("state", positional)
	if err != nil {
		return g.runtimeError(err)
	}
	b, _ := json.MarshalIndent(stateOf(c), "", "  ")
	fmt.Printf("%s\n", b)
	return 0
}

func runList(g *globalFlags, args []string) int {
	fs := newFlagSet("list")
	format := fs.String("format", "table", "table or json")
	fs.StringVar(format, "f", "table", "the same as --format")
	quiet := fs.Bool("quiet", false, "print only the IDs")
	fs.BoolVar(quiet, "q", false, "the same as --quiet")
	if _, err := parseArgs(fs, args); err != nil {
		return g.runtimeError(fmt.Errorf("list: %w", err))
	}
	cs, err := container.List(g.root)
	if err != nil {
		return g.runtimeError(err)
	}
	if *quiet {
		for _, c := range cs {
			fmt.Println(c.ID)
		}
		return 0
	}
	states := make([]containerState, 0, len(cs))
	for _, c := range cs {
		states = append(states, stateOf(c))
	}
	switch *format {
	case "json":
		b, _ := json.Marshal(states)
		fmt.Printf("%s\n", b)
	case "table":
		w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, s := range states {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
		}
		w.Flush()
	default:
		return g.runtimeError(fmt.Errorf("list: invalid format %q", *format))
	}
	return 0
}

func runPs(g *globalFlags, args []string) int {
	fs := newFlagSet("ps")
	format := fs.String("format", "table", "table or json")
	fs.StringVar(format, "f", "table", "the same as --format")
	positional, err := parseArgs(fs, args)
	if err != nil {
		return g.runtimeError(fmt.Errorf("ps: %w", err))
	}
	if len(positional) > 1 {
		// runc passes the rest to ps(1); the sandbox's processes are
		// not the host's, so only the default columns exist.
		return g.runtimeError(errors.New("ps: ps(1) options are not supported: the sandbox's processes are not host processes"))
	}
	c, err := g.loadContainer("ps", positional)
	if err != nil {
		return g.runtimeError(err)
	}
	if status := c.Status(); status == boot.StatusStopped {
		return g.runtimeError(errors.New("ps: container not running"))
	}
	procs, err := c.Client().Processes()
	if err != nil {
		return g.runtimeError(err)
	}
	switch *format {
	case "json":
		// As runc: the host PIDs of the container's cgroup, which is
		// what supervisors (containerd's shim, docker top) look up in
		// the host's /proc. The sandbox's own PIDs are the table's.
		pids, err := hostPids(c)
		if err != nil {
			return g.runtimeError(fmt.Errorf("ps: %w", err))
		}
		b, _ := json.Marshal(pids)
		fmt.Printf("%s\n", b)
	case "table":
		// The columns of ps -ef, which runc's table shows.
		w := tabwriter.NewWriter(os.Stdout, 0, 8, 1, ' ', 0)
		fmt.Fprint(w, "UID\tPID\tPPID\tSTAT\tSTIME\tCMD\n")
		for _, p := range procs {
			cmd := strings.Join(p.Argv, " ")
			if cmd == "" {
				cmd = "[" + p.Comm + "]"
			}
			fmt.Fprintf(w, "%d\t%d\t%d\t%c\t%s\t%s\n", p.UID, p.PID, p.PPID, p.State, p.StartTime.Format("15:04"), cmd)
		}
		w.Flush()
	default:
		return g.runtimeError(fmt.Errorf("ps: invalid format %q", *format))
	}
	return 0
}

func runKill(g *globalFlags, args []string) int {
	fs := newFlagSet("kill")
	all := fs.Bool("all", false, "send the signal to every process of the container")
	fs.BoolVar(all, "a", false, "the same as --all")
	positional, err := parseArgs(fs, args)
	if err != nil {
		return g.runtimeError(fmt.Errorf("kill: %w", err))
	}
	if len(positional) < 1 || len(positional) > 2 {
		return g.runtimeError(errors.New("kill: usage: kill [--all] ID [SIGNAL]"))
	}
	sig := unix.SIGTERM
	if len(positional) == 2 {
		if sig, err = parseSignal(positional[1]); err != nil {
			return g.runtimeError(err)
		}
	}
	c, err := g.loadContainer("kill", positional[:1])
	if err != nil {
		return g.runtimeError(err)
	}
	if !c.Alive() {
		return g.runtimeError(errors.New("container not running"))
	}
	if err := c.Client().Kill(sig, *all); err != nil {
		if err == boot.ErrNotRunning {
			err = errors.New("container not running")
		}
		return g.runtimeError(err)
	}
	return 0
}

// hostPids lists the host processes of the container: those of its
// cgroup, or the sandbox process alone without one.
func hostPids(c *container.Container) ([]int, error) {
	if c.CgroupPath == "" {
		return []int{c.Pid}, nil
	}
	cg, err := cgroup.New(c.CgroupPath, nil)
	if err != nil {
		return nil, err
	}
	pids, err := cg.Pids()
	if err != nil {
		return nil, err
	}
	sort.Ints(pids)
	return pids, nil
}

// parseSignal reads a signal as runc's kill does: a number, or a name
// with or without SIG.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	// SIGRTMIN+n and SIGRTMAX-n, which unix.SignalNum does not know.
	for _, rt := range []struct {
		prefix string
		base   int
		sign   int
	}{{"SIGRTMIN+", 34, 1}, {"SIGRTMAX-", 64, -1}} {
		if rest, ok := strings.CutPrefix(name, rt.prefix); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 && n <= 30 {
				return unix.Signal(rt.base + rt.sign*n), nil
			}
		}
	}
	switch name {
	case "SIGRTMIN":
		return 34, nil
	case "SIGRTMAX":
		return 64, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

func runDelete(g *globalFlags, args []string) int {
	fs := newFlagSet("delete")
	force := fs.Bool("force", false, "kill the container first if it is running")
	fs.BoolVar(force, "f", false, "the same as --force")
	positional, err := parseArgs(fs, args)
	if err != nil {
		return g.runtimeError(fmt.Errorf("delete: %w", err))
	}
	c, err := g.loadContainer("delete", positional)
	if err != nil {
		if errors.Is(err, container.ErrNotExist) && *force {
			return 0
		}
		return g.runtimeError(err)
	}
	if err := c.Lock(); err != nil {
		return g.runtimeError(err)
	}
	// With --force the status does not matter (and a wedged sandbox
	// takes a timeout to tell).
	if !*force {
		switch status := c.Status(); status {
		case boot.StatusStopped, boot.StatusCreated:
		default:
			c.Unlock()
			return g.runtimeError(fmt.Errorf("cannot delete container %s that is not stopped: %s", c.ID, status))
		}
	}
	if err := g.destroy(c); err != nil {
		return g.runtimeError(err)
	}
	return 0
}

// destroy kills what is left of the container, runs its poststop hooks
// and removes its state.
func (g *globalFlags) destroy(c *container.Container) error {
	if c.SandboxID != "" {
		if err := destroyJoined(c); err != nil {
			return err
		}
	} else if c.Alive() {
		// The sandbox process is its PID namespace's init: every
		// process of the sandbox dies with it.
		unix.Kill(c.Pid, unix.SIGKILL)
		if err := waitGone(c); err != nil {
			return err
		}
	}
	if c.SandboxID == "" && c.Sandbox == sandboxVM {
		// A pod's VM: its share goes, with the mounts of containers of
		// the pod not deleted yet (their delete finds them gone).
		if err := vm.RemovePodDir(c.Dir()); err != nil {
			return fmt.Errorf("container %s: %w", c.ID, err)
		}
	}
	if c.CgroupPath != "" {
		cg, err := cgroup.New(c.CgroupPath, nil)
		if err == nil {
			err = cg.Destroy()
		}
		if err != nil {
			return fmt.Errorf("removing the container's cgroup %s: %w", c.CgroupPath, err)
		}
	}
	if c.Hooks != nil {
		if err := runHooks("poststop", c.Hooks.Poststop, c.SpecState(boot.StatusStopped)); err != nil {
			// Warn only, as runc: the container is gone either way.
			fmt.Fprintf(os.Stderr, "magawa: %v\n", err)
			g.logf("warning", "%v", err)
		}
	}
	return c.Remove()
}

// waitGone waits until the sandbox process (and with it, its PID
// namespace) is gone.
func waitGone(c *container.Container) error {
	for deadline := time.Now().Add(10 * time.Second); c.Alive(); {
		if time.Now().After(deadline) {
			return fmt.Errorf("the sandbox process %d did not die", c.Pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func runPause(g *globalFlags, args []string) int  { return g.pauseResume("pause", args) }
func runResume(g *globalFlags, args []string) int { return g.pauseResume("resume", args) }

func (g *globalFlags) pauseResume(cmd string, args []string) int {
	positional, err := parseArgs(newFlagSet(cmd), args)
	if err != nil {
		return g.runtimeError(fmt.Errorf("%s: %w", cmd, err))
	}
	c, err := g.loadContainer(cmd, positional)
	if err != nil {
		return g.runtimeError(err)
	}
	if !c.Alive() {
		return g.runtimeError(errors.New("container not running"))
	}
	client := c.Client()
	if cmd == "pause" {
		err = client.Pause()
	} else {
		err = client.Resume()
	}
	if err != nil {
		return g.runtimeError(err)
	}
	return 0
}
