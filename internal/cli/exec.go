package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"magawa/internal/boot"
	"magawa/internal/oci"
)

func init() {
	register(command{name: "exec", summary: "run another process in a running container: exec [flags] ID COMMAND [ARGS...] or exec --process FILE ID", run: runExec})
	register(command{name: "exec-wait", hidden: true, summary: "wait for a detached exec's process (run by magawa itself)", run: runExecWait})
}

func runExec(g *globalFlags, args []string) int {
	fs := newFlagSet("exec")
	processFile := fs.String("process", "", "a JSON file of the process to run (the runtime spec's process)")
	fs.StringVar(processFile, "p", "", "the same as --process")
	consoleSocket := fs.String("console-socket", "", "a Unix socket to send the terminal's master to")
	cwd := fs.String("cwd", "", "the working directory in the container")
	var env, caps, gids stringsFlag
	fs.Var(&env, "env", "set an environment variable: KEY=VALUE (repeatable)")
	fs.Var(&env, "e", "the same as --env")
	fs.Var(&caps, "cap", "add a capability (repeatable)")
	fs.Var(&caps, "c", "the same as --cap")
	fs.Var(&gids, "additional-gids", "add a supplementary group (repeatable)")
	fs.Var(&gids, "g", "the same as --additional-gids")
	tty := fs.Bool("tty", false, "give the process a terminal")
	fs.BoolVar(tty, "t", false, "the same as --tty")
	user := fs.String("user", "", "UID[:GID] to run as")
	fs.StringVar(user, "u", "", "the same as --user")
	detach := fs.Bool("detach", false, "do not wait for the process")
	fs.BoolVar(detach, "d", false, "the same as --detach")
	pidFile := fs.String("pid-file", "", "write the PID of a process that ends with the exec'd one to this file")
	noNewPrivs := fs.Bool("no-new-privs", false, "set no_new_privs for the process")
	preserveFDs := fs.Int("preserve-fds", 0, "pass this many descriptors after 0-2 (not supported yet)")
	var ignored string
	fs.StringVar(&ignored, "apparmor", "", "accepted for runc compatibility")
	fs.StringVar(&ignored, "process-label", "", "accepted for runc compatibility")
	var ignoredBool bool
	fs.BoolVar(&ignoredBool, "ignore-paused", false, "accepted for runc compatibility")
	// Flags stop at the container ID: what follows is the command's.
	if err := fs.Parse(args); err != nil {
		return g.runtimeError(fmt.Errorf("exec: %w", err))
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return g.runtimeError(errors.New("exec: want a container ID"))
	}
	if *preserveFDs != 0 {
		return g.runtimeError(errors.New("exec: --preserve-fds is not supported yet"))
	}
	c, err := g.loadContainer("exec", rest[:1])
	if err != nil {
		return g.runtimeError(err)
	}
	var p *specs.Process
	if *processFile != "" {
		b, err := os.ReadFile(*processFile)
		if err != nil {
			return g.runtimeError(fmt.Errorf("exec: %w", err))
		}
		p = new(specs.Process)
		if err := json.Unmarshal(b, p); err != nil {
			return g.runtimeError(fmt.Errorf("exec: %s: %w", *processFile, err))
		}
	} else {
		if len(rest) < 2 {
			return g.runtimeError(errors.New("exec: want a command to run"))
		}
		// As runc: the container's own process is the template.
		spec, err := oci.Load(c.Bundle)
		if err != nil {
			return g.runtimeError(fmt.Errorf("exec: %w", err))
		}
		p = spec.Process
		if p == nil {
			p = &specs.Process{}
		}
		p.Args = rest[1:]
		p.Terminal = *tty
		p.Env = append(p.Env, env...)
		if *cwd != "" {
			p.Cwd = *cwd
		}
		if *user != "" {
			uid, gid, err := parseUser(*user)
			if err != nil {
				return g.runtimeError(err)
			}
			p.User.UID, p.User.GID = uid, gid
		}
		for _, s := range gids {
			gid, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return g.runtimeError(fmt.Errorf("exec: --additional-gids %q: %w", s, err))
			}
			p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(gid))
		}
		if *noNewPrivs {
			p.NoNewPrivileges = true
		}
		if len(caps) > 0 {
			if p.Capabilities == nil {
				p.Capabilities = &specs.LinuxCapabilities{}
			}
			for _, name := range caps {
				p.Capabilities.Bounding = append(p.Capabilities.Bounding, name)
				p.Capabilities.Effective = append(p.Capabilities.Effective, name)
				p.Capabilities.Permitted = append(p.Capabilities.Permitted, name)
			}
		}
	}
	proc, err := oci.ToProcess(p)
	if err != nil {
		return g.runtimeError(fmt.Errorf("exec: %w", err))
	}
	if *consoleSocket != "" && !proc.Terminal {
		return g.runtimeError(errors.New("exec: --console-socket is for a process with a terminal (--tty)"))
	}
	if status := c.Status(); status != boot.StatusRunning {
		return g.runtimeError(fmt.Errorf("exec: cannot exec in a %s container", status))
	}
	stdio := [3]int{0, 1, 2}
	if proc.Terminal {
		if *consoleSocket != "" {
			slave, err := boot.ConsoleSocketTerminal(*consoleSocket, proc.ConsoleRows, proc.ConsoleColumns)
			if err != nil {
				return g.runtimeError(fmt.Errorf("exec: %w", err))
			}
			defer unix.Close(slave)
			stdio = [3]int{slave, slave, -1}
		} else if *detach {
			return g.runtimeError(errors.New("exec: a detached process with a terminal needs --console-socket"))
		} else {
			// This terminal: the sandbox puts it in raw mode while the
			// process runs; it is restored here too, whatever happens.
			if saved, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
				defer unix.IoctlSetTermios(0, unix.TCSETS, saved)
			}
			stdio = [3]int{0, 1, -1}
		}
	}
	pid, waiter, err := c.Client().Exec(proc, stdio)
	if err != nil {
		return g.runtimeError(fmt.Errorf("exec: %w", err))
	}
	g.logf("debug", "exec'd process %d in %s", pid, c.ID)
	if *detach {
		return g.detachExec(waiter, *pidFile)
	}
	if err := writePidFile(*pidFile, os.Getpid()); err != nil {
		return g.runtimeError(err)
	}
	// Signals for this process go to the exec'd one, as runc's exec
	// forwards them.
	signal.Ignore(unix.SIGINT, unix.SIGQUIT)
	status, err := waiter.Wait()
	if err != nil {
		return g.runtimeError(err)
	}
	return status.HostCode()
}

// detachExec hands the wait for a detached exec to a small host process
// (`magawa exec-wait`) that exits with the exec'd process's status: the
// process a supervisor (conmon) waits for, whose PID goes to the pid
// file, as runc's detached exec leaves the process itself.
func (g *globalFlags) detachExec(w *boot.Waiter, pidFile string) int {
	conn := os.NewFile(uintptr(w.FD()), "exec-wait")
	cmd := exec.Command("/proc/self/exe", "exec-wait", "--fd=3")
	cmd.ExtraFiles = []*os.File{conn}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Start()
	w.Close()
	if err != nil {
		return g.runtimeError(fmt.Errorf("exec: %w", err))
	}
	if err := writePidFile(pidFile, cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		return g.runtimeError(err)
	}
	cmd.Process.Release()
	return 0
}

func runExecWait(g *globalFlags, args []string) int {
	fs := newFlagSet("exec-wait")
	fd := fs.Int("fd", -1, "the exec's control connection")
	if err := fs.Parse(args); err != nil || *fd < 0 {
		return 125
	}
	status, err := boot.NewWaiter(*fd).Wait()
	if err != nil {
		return 125
	}
	if status.Signal != 0 {
		// Die of the same signal, so a supervisor's wait sees it.
		dieOf(unix.Signal(status.Signal))
	}
	return status.HostCode()
}

// parseUser reads --user UID[:GID].
func parseUser(s string) (uint32, uint32, error) {
	uidStr, gidStr, _ := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(uidStr, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user %q: want UID[:GID] (numeric)", s)
	}
	var gid uint64
	if gidStr != "" {
		if gid, err = strconv.ParseUint(gidStr, 10, 32); err != nil {
			return 0, 0, fmt.Errorf("--user %q: want UID[:GID] (numeric)", s)
		}
	}
	return uint32(uid), uint32(gid), nil
}
