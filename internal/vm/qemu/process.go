package qemu

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is a running QEMU.
type Process struct {
	cmd *exec.Cmd
	// Agent is the host's end of the agent's virtio-serial port.
	Agent   net.Conn
	Console *Console
	// exited is closed once QEMU has exited and its output is read;
	// waitErr is then how it ended.
	exited  chan struct{}
	waitErr error
}

// StartOptions say how QEMU is run.
type StartOptions struct {
	// ConsoleLog gets every line of the guest's console and QEMU's
	// messages.
	ConsoleLog io.Writer
	// Jail, when set, is a directory QEMU is chrooted into; the
	// configuration's paths are then inside it.
	Jail string
	// KeepCaps are the capabilities QEMU keeps; every other one is
	// dropped from its bounding set, so that it does not have it after
	// exec, and it runs with no_new_privs.
	KeepCaps []uintptr
	// Tap, when set, is a tap device for the VM's NIC; QEMU gets its
	// own descriptor of it.
	Tap *os.File
}

// Start starts QEMU with cfg (whose ConsoleFD and AgentFD it sets):
// its console collected, its agent socket returned as a net.Conn.
func Start(cfg Config, opts StartOptions) (*Process, error) {
	consoleFDs, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	agentFDs, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		unix.Close(consoleFDs[0])
		unix.Close(consoleFDs[1])
		return nil, fmt.Errorf("agent socket: %w", err)
	}
	consoleHost, consoleVM := os.NewFile(uintptr(consoleFDs[0]), "console"), os.NewFile(uintptr(consoleFDs[1]), "console-vm")
	agentHost, agentVM := os.NewFile(uintptr(agentFDs[0]), "agent"), os.NewFile(uintptr(agentFDs[1]), "agent-vm")
	defer consoleVM.Close()
	defer agentVM.Close()
	cfg.ConsoleFD, cfg.AgentFD = 3, 4
	extra := []*os.File{consoleVM, agentVM}
	if opts.Tap != nil {
		cfg.NetFD = 3 + len(extra)
		extra = append(extra, opts.Tap)
	}
	args, err := cfg.Args()
	if err != nil {
		consoleHost.Close()
		agentHost.Close()
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		consoleHost.Close()
		agentHost.Close()
		return nil, err
	}
	cmd := exec.Command(cfg.Binary, args...)
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = outW, outW
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// QEMU dies with the process that started it.
		Pdeathsig: unix.SIGKILL,
	}
	if opts.Jail != "" {
		cmd.SysProcAttr.Chroot = opts.Jail
		cmd.Dir = "/"
	}
	exited := make(chan struct{})
	err = startConfined(cmd, opts.KeepCaps, exited)
	outW.Close()
	if err != nil {
		consoleHost.Close()
		agentHost.Close()
		outR.Close()
		return nil, fmt.Errorf("starting QEMU: %w", err)
	}
	console := NewConsole(opts.ConsoleLog)
	serialDone, outDone := make(chan struct{}), make(chan struct{})
	go console.collect(consoleHost, "", serialDone)
	go console.collect(outR, "qemu: ", outDone)
	conn, err := net.FileConn(agentHost)
	agentHost.Close()
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		close(exited)
		return nil, err
	}
	p := &Process{cmd: cmd, Agent: conn, Console: console, exited: exited}
	go func() {
		p.waitErr = cmd.Wait()
		<-outDone
		// The console's socket ends with QEMU; what it had is read.
		select {
		case <-serialDone:
		case <-time.After(time.Second):
		}
		consoleHost.Close()
		outR.Close()
		close(p.exited)
	}()
	return p, nil
}

// startConfined starts cmd from a thread whose capability bounding set
// holds only keep and that has no_new_privs: QEMU, root still, gets
// only keep at exec. The bounding set and no_new_privs are per thread;
// the thread is never used again (its goroutine ends locked). It lives
// until exited is closed: QEMU's parent-death signal follows the
// thread that started it.
func startConfined(cmd *exec.Cmd, keep []uintptr, exited <-chan struct{}) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		kept := map[uintptr]bool{}
		for _, c := range keep {
			kept[c] = true
		}
		for c := uintptr(0); c < 64; c++ {
			if kept[c] {
				continue
			}
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil {
				if err == unix.EINVAL {
					break // past the kernel's last capability
				}
				errc <- fmt.Errorf("dropping capability %d: %w", c, err)
				return
			}
		}
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			errc <- fmt.Errorf("no_new_privs: %w", err)
			return
		}
		err := cmd.Start()
		errc <- err
		if err == nil {
			<-exited
		}
	}()
	return <-errc
}

// Pid is QEMU's PID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once QEMU has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitError describes how QEMU ended (after Exited).
func (p *Process) ExitError() error {
	if p.waitErr == nil {
		return errors.New("QEMU exited")
	}
	return fmt.Errorf("QEMU exited: %w", p.waitErr)
}

// Kill kills QEMU and waits for it.
func (p *Process) Kill() {
	p.cmd.Process.Kill()
	<-p.exited
	p.Agent.Close()
}

// Stop waits up to timeout for QEMU to exit (the guest powered off),
// then kills it.
func (p *Process) Stop(timeout time.Duration) {
	select {
	case <-p.exited:
		p.Agent.Close()
	case <-time.After(timeout):
		p.Kill()
	}
}

// TailText is the console's last n lines, indented, for an error.
func (p *Process) TailText(n int) string {
	lines := p.Console.Tail(n)
	if len(lines) == 0 {
		return "  (the console is empty)"
	}
	return "  " + strings.Join(lines, "\n  ")
}
