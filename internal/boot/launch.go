package boot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"magawa/internal/network"
	"magawa/internal/sandbox"
)

// Options say what sandbox process Launch starts.
type Options struct {
	Config sandbox.Config
	// Control is the listening control socket (Listen). With it the
	// sandbox is an OCI container: it reports it is created and waits for
	// start. Without it, it runs the process at once.
	Control *os.File
	// ConsoleSocket is the path of a Unix socket that gets the master of
	// the container's terminal (runc's --console-socket).
	ConsoleSocket string
	// Detach puts the sandbox in a session of its own that outlives its
	// launcher (create); otherwise it stays in the launcher's session and
	// process group (so a terminal's signals reach it) and is killed when
	// the launcher dies.
	Detach bool
	// DebugLog is the kernel's debug log file; Strace prints system
	// calls on the sandbox's stderr.
	DebugLog string
	Strace   bool
	// Stdio are the sandbox's descriptors 0-2; nil entries are the
	// launcher's own.
	Stdio [3]*os.File
	// Prepare, when set, is called with the sandbox process's PID
	// before it does anything (it waits for its configuration): the
	// runtime moves it into the container's cgroup there, so that every
	// process it starts is born inside.
	Prepare func(pid int) error
	// NetworkFiles are the packet sockets of Config.Interfaces, in order.
	NetworkFiles []*os.File
	// NetNS is the network namespace the sandbox process is started in
	// (a path, as OCI linux.namespaces gives one a CNI plugin or podman
	// prepared); empty makes a new one.
	NetNS string
	// Exe is the magawa binary (empty: this one) and Args go before the
	// verb.
	Exe  string
	Args []string
	// Verb is the hidden verb that runs the sandbox process: empty is
	// `boot`; the micro-VM sandbox's is `vm-boot` (package vm).
	Verb string
	// Payload, when set, is sent as the configuration instead of
	// Config (the sandbox process of another kind reads its own).
	Payload any
	// KeepMountPropagation clones the sandbox process's mount
	// namespace with the mounts' propagation as the host has it,
	// instead of making every mount private: mounts the host makes
	// later under a shared mount reach it (a VM pod's share). The
	// sandbox process must make its mounts slaves itself before it
	// mounts anything, or its mounts would reach the host.
	KeepMountPropagation bool
}

// Process is a launched sandbox process.
type Process struct {
	cmd *exec.Cmd
	// exit is the read end of the pipe on which the sandbox process
	// says it would have died of a signal (DieOfSignal).
	exit *os.File
	// Warning is what the sandbox said, ready, for the runtime's log.
	Warning string
}

// readyMessage is what the sandbox writes on its sync pipe: ready, or
// why it could not start and the exit status it will have.
type readyMessage struct {
	Error string `json:"error,omitempty"`
	Code  int    `json:"code,omitempty"`
	// Warning is for the runtime's log: the sandbox runs, but not as
	// asked (the default platform passed over).
	Warning string `json:"warning,omitempty"`
}

// LaunchError is a sandbox that failed to start: Code is the status a
// CLI should exit with (127: program not found, 126: not executable,
// 125: anything else).
type LaunchError struct {
	Msg  string
	Code int
}

func (e *LaunchError) Error() string { return e.Msg }

// Launch starts a sandbox process (`magawa boot`) in new PID, mount,
// IPC, UTS and network namespaces (no network namespace for
// sandbox.NetworkHost) and waits until it is ready: an OCI container
// created and waiting for start, or a `magawa do` program started.
//
// Without Detach the calling goroutine's thread is its parent for the
// parent-death signal, so Launch locks the goroutine to it: the caller
// must Wait on the same goroutine.
func Launch(opts Options) (*Process, error) {
	exe := opts.Exe
	if exe == "" {
		exe = "/proc/self/exe"
	}
	configR, configW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer configR.Close()
	syncR, syncW, err := os.Pipe()
	if err != nil {
		configW.Close()
		return nil, err
	}
	defer syncR.Close()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		configW.Close()
		syncW.Close()
		return nil, err
	}
	defer exitW.Close()
	verb := opts.Verb
	if verb == "" {
		verb = "boot"
	}
	args := append(append([]string{}, opts.Args...), verb,
		"--config-fd=3", "--sync-fd=4", "--exit-fd=5")
	extra := []*os.File{configR, syncW, exitW}
	if opts.Control != nil {
		args = append(args, "--control-fd="+strconv.Itoa(3+len(extra)))
		extra = append(extra, opts.Control)
	}
	if opts.ConsoleSocket != "" {
		args = append(args, "--console-socket="+opts.ConsoleSocket)
	}
	if len(opts.NetworkFiles) > 0 {
		args = append(args, "--network-fd="+strconv.Itoa(3+len(extra)))
		extra = append(extra, opts.NetworkFiles...)
	}
	if opts.DebugLog != "" {
		args = append(args, "--debug-log="+opts.DebugLog)
	}
	if opts.Strace {
		args = append(args, "--strace")
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if opts.Stdio[0] != nil {
		cmd.Stdin = opts.Stdio[0]
	}
	if opts.Stdio[1] != nil {
		cmd.Stdout = opts.Stdio[1]
	}
	if opts.Stdio[2] != nil {
		cmd.Stderr = opts.Stdio[2]
	}
	cmd.ExtraFiles = extra
	cmd.Env = []string{}
	// The switches for finding a call the allowlist lacks (package
	// confine) reach the sandbox process; nothing else of the
	// environment does.
	for _, name := range []string{"MAGAWA_SECCOMP_TRAP", "MAGAWA_SECCOMP_LOG"} {
		if v, ok := os.LookupEnv(name); ok {
			cmd.Env = append(cmd.Env, name+"="+v)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNET |
			// The host's cgroup paths are none of the sandbox's
			// business; the runtime moves it into its cgroup from outside.
			unix.CLONE_NEWCGROUP,
		// Unshared rather than cloned: Go then makes every mount
		// private before the exec, so nothing the sandbox mounts
		// propagates back to the host.
		Unshareflags: unix.CLONE_NEWNS,
	}
	if opts.KeepMountPropagation {
		cmd.SysProcAttr.Unshareflags = 0
		cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWNS
	}
	if opts.Detach {
		cmd.SysProcAttr.Setsid = true
	} else {
		runtime.LockOSThread()
		cmd.SysProcAttr.Pdeathsig = unix.SIGKILL
	}
	netns := opts.NetNS
	if netns != "" {
		cmd.SysProcAttr.Cloneflags &^= unix.CLONE_NEWNET
	}
	if opts.Config.Network == sandbox.NetworkHost {
		// The host's network: the sandbox process makes its Internet
		// sockets in the namespace it joins (NetNS) or else in its
		// launcher's, never in a new, empty one.
		cmd.SysProcAttr.Cloneflags &^= unix.CLONE_NEWNET
	}
	if err := startIn(cmd, netns); err != nil {
		configW.Close()
		syncW.Close()
		exitR.Close()
		return nil, fmt.Errorf("starting the sandbox process: %w", err)
	}
	syncW.Close()
	p := &Process{cmd: cmd, exit: exitR}
	if opts.Prepare != nil {
		if err := opts.Prepare(cmd.Process.Pid); err != nil {
			configW.Close()
			cmd.Process.Kill()
			cmd.Wait()
			exitR.Close()
			return nil, err
		}
	}
	// A large configuration (a long environment) fills the pipe: write
	// it while the sandbox reads.
	var payload any = opts.Config
	if opts.Payload != nil {
		payload = opts.Payload
	}
	go func() {
		json.NewEncoder(configW).Encode(payload)
		configW.Close()
	}()
	var msg readyMessage
	b, err := io.ReadAll(io.LimitReader(syncR, 1<<20))
	if err == nil && len(b) == 0 {
		err = errors.New("the sandbox process exited before it was ready")
	} else if err == nil {
		err = json.Unmarshal(b, &msg)
	}
	if err != nil || msg.Error != "" {
		if err == nil {
			err = &LaunchError{Msg: msg.Error, Code: msg.Code}
		}
		cmd.Process.Kill()
		cmd.Wait()
		exitR.Close()
		return nil, err
	}
	p.Warning = msg.Warning
	return p, nil
}

// Pid is the sandbox process's PID on the host.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the sandbox process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the sandbox process and returns its exit status as a
// shell reports it (128+N for a death by signal N), and the signal its
// launcher should die of: the sandbox process is its PID namespace's
// init, which cannot die of its own signals, so it reports one it would
// have died of (a `magawa do -t` sent SIGTERM restores the terminal and
// dies of it).
func (p *Process) Wait() (int, unix.Signal) {
	err := p.cmd.Wait()
	var sig unix.Signal
	if b, rerr := io.ReadAll(io.LimitReader(p.exit, 64)); rerr == nil && len(b) > 0 {
		if n, err := strconv.Atoi(string(b)); err == nil && n > 0 && n < 65 {
			sig = unix.Signal(n)
		}
	}
	p.exit.Close()
	return exitCode(err), sig
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exitErr.ExitCode()
	}
	return 125
}

// Release forgets the process: it lives on (a created container).
func (p *Process) Release() {
	p.exit.Close()
	p.cmd.Process.Release()
}

// startIn starts cmd in the network namespace at path (empty: the
// caller's). A child is born in its parent thread's network namespace,
// so the start happens on a thread that enters the namespace and leaves
// it again; a thread that cannot leave it is not used again.
func startIn(cmd *exec.Cmd, path string) error {
	if path == "" {
		return cmd.Start()
	}
	ns, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("the network namespace: %w", err)
	}
	defer ns.Close()
	return network.InNamespace(ns, cmd.Start)
}
