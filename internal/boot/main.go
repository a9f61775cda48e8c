package boot

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"magawa/internal/confine"
	"magawa/internal/sandbox"
)

// Confine is how the sandbox process confines itself once the sandbox is
// built and before application code runs (sandbox.Config.Confine): an
// empty root, no capabilities, no_new_privs and the kernel's seccomp
// allowlist (package confine).
var Confine = func(cfg *sandbox.Config) error {
	return confine.Sandbox(confine.Options{
		Network:     cfg.Network == sandbox.NetworkSandbox,
		HostNetwork: cfg.Network == sandbox.NetworkHost,
	})
}

// Main is `magawa boot`: the sandbox process. It returns the process's
// exit status: the program's (as a shell reports it) for `magawa do`,
// the container init's for an OCI container.
func Main(args []string) int {
	fs := flag.NewFlagSet("boot", flag.ContinueOnError)
	configFD := fs.Int("config-fd", -1, "descriptor of the sandbox's configuration (JSON)")
	syncFD := fs.Int("sync-fd", -1, "descriptor on which to report readiness")
	exitFD := fs.Int("exit-fd", -1, "descriptor on which to report a signal the launcher should die of")
	controlFD := fs.Int("control-fd", -1, "listening control socket: serve an OCI container")
	consoleSocket := fs.String("console-socket", "", "Unix socket to send the terminal's master to")
	networkFD := fs.Int("network-fd", -1, "first of the packet sockets of the configuration's interfaces")
	var networkFiles []*os.File
	debugLog := fs.String("debug-log", "", "the kernel's debug log")
	strace := fs.Bool("strace", false, "print each system call on stderr")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "magawa boot: %v\n", err)
		return 125
	}
	if *configFD < 0 || *syncFD < 0 {
		fmt.Fprintln(os.Stderr, "magawa boot: run by magawa itself (--config-fd and --sync-fd are required)")
		return 125
	}
	syncFile := os.NewFile(uintptr(*syncFD), "sync")
	b := &booter{sync: syncFile}
	// The host's /proc shows the host's PIDs; the platform finds its stub
	// processes by the PIDs of this process's namespace. The mount is
	// this process's own (its launcher unshared the mount namespace).
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return b.fail(fmt.Errorf("mounting /proc for the sandbox's PID namespace: %w", err), 125)
	}
	unix.CloseOnExec(*configFD)
	unix.CloseOnExec(*syncFD)
	if *exitFD >= 0 {
		unix.CloseOnExec(*exitFD)
		exitFile := os.NewFile(uintptr(*exitFD), "exit")
		sandbox.DieOfSignal = func(sig unix.Signal) {
			// This process is its PID namespace's init and cannot die
			// of its own signal: the launcher dies of it instead.
			fmt.Fprintf(exitFile, "%d", int(sig))
			os.Exit(128 + int(sig))
		}
	}
	var cfg sandbox.Config
	configFile := os.NewFile(uintptr(*configFD), "config")
	err := json.NewDecoder(io.LimitReader(configFile, maxMessage)).Decode(&cfg)
	configFile.Close()
	if err != nil {
		return b.fail(fmt.Errorf("reading the sandbox configuration: %w", err), 125)
	}
	logger := log.New(io.Discard, "", 0)
	if *debugLog != "" {
		f, err := os.OpenFile(*debugLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return b.fail(fmt.Errorf("opening the debug log: %w", err), 125)
		}
		logger = log.New(f, fmt.Sprintf("magawa-boot[%d] ", os.Getpid()), log.LstdFlags|log.Lmicroseconds)
	}
	cfg.Log = logger
	if *strace {
		cfg.Strace = os.Stderr
	}
	cfg.Confine = func() error { return Confine(&cfg) }
	if *consoleSocket != "" {
		if err := SendConsole(*consoleSocket, cfg.Process.ConsoleRows, cfg.Process.ConsoleColumns); err != nil {
			return b.fail(err, 125)
		}
		cfg.TTY = sandbox.TTYOn
	}
	if cfg.Interfaces != nil {
		if *networkFD < 0 {
			return b.fail(errors.New("interfaces without their packet sockets"), 125)
		}
		for i := range cfg.Interfaces.Links {
			fd := *networkFD + i
			unix.CloseOnExec(fd)
			networkFiles = append(networkFiles, os.NewFile(uintptr(fd), "packet socket"))
		}
	}
	if *controlFD < 0 {
		return b.runDo(cfg, networkFiles)
	}
	unix.CloseOnExec(*controlFD)
	return b.serveContainer(cfg, *controlFD)
}

// booter reports readiness or failure to the launcher, once.
type booter struct {
	sync *os.File
	// warning goes with the readiness report.
	warning string
}

// ready tells the launcher the sandbox is up.
func (b *booter) ready() {
	if b.sync != nil {
		json.NewEncoder(b.sync).Encode(readyMessage{Warning: b.warning})
		b.sync.Close()
		b.sync = nil
	}
}

// fail reports err to the launcher (or, once ready, on stderr) and
// returns the exit status.
func (b *booter) fail(err error, code int) int {
	if b.sync != nil {
		json.NewEncoder(b.sync).Encode(readyMessage{Error: err.Error(), Code: code})
		b.sync.Close()
		b.sync = nil
	} else {
		fmt.Fprintf(os.Stderr, "magawa: %v\n", err)
	}
	return code
}

// startCode is the status for a program that could not be started: as a
// shell's, 127 when it is not found and 126 when it cannot be executed.
func startCode(err error) int {
	var errno unix.Errno
	if errors.As(err, &errno) {
		switch errno {
		case unix.ENOENT:
			return 127
		case unix.EACCES, unix.ENOEXEC:
			return 126
		}
	}
	return 125
}

// forwardedSignals are relayed to the sandbox's init: what would end or
// stop the sandbox process is the program's to handle, as it would be
// run directly.
var forwardedSignals = []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2}

// runDo runs the program at once (`magawa do`) and returns its status.
func (b *booter) runDo(cfg sandbox.Config, networkFiles []*os.File) int {
	s, err := sandbox.New(cfg)
	if err != nil {
		return b.fail(err, 125)
	}
	defer s.Close()
	if cfg.Interfaces != nil {
		if err := s.AttachNetwork(cfg.Interfaces, networkFiles); err != nil {
			return b.fail(fmt.Errorf("the sandbox's network: %w", err), 125)
		}
	}
	if err := s.Start(); err != nil {
		return b.fail(err, startCode(err))
	}
	b.warning = s.PlatformNote()
	b.ready()
	if !cfg.TTY.Wanted() {
		// With a terminal, the console handles the host's signals.
		stop := forwardSignals(s)
		defer stop()
	}
	return s.Wait().HostCode()
}

// forwardSignals relays forwardedSignals to the sandbox's init until
// the returned function is called.
func forwardSignals(s *sandbox.Sandbox) func() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				s.Kernel().Signal(1, sig.(unix.Signal), false)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}
