package vm

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

	"magawa/internal/boot"
	"magawa/internal/confine"
)

// VerbName is the hidden verb of the supervisor, for boot.Launch.
const VerbName = "vm-boot"

// Main is `magawa vm-boot`: the supervisor of one VM sandbox, started
// by the runtime's create with boot.Launch (in its own PID, mount, IPC,
// UTS, network and cgroup namespaces, in the container's cgroup). It
// boots the VM and creates the container in it, reports ready on the
// sync pipe, serves the control socket, and exits with the status of
// the container's init once the VM is off. QEMU is its child in its PID
// namespace: whatever ends the supervisor ends QEMU.
func Main(args []string) int {
	fs := flag.NewFlagSet(VerbName, flag.ContinueOnError)
	configFD := fs.Int("config-fd", -1, "descriptor of the configuration (JSON)")
	syncFD := fs.Int("sync-fd", -1, "descriptor on which to report readiness")
	exitFD := fs.Int("exit-fd", -1, "unused: the launcher's signal to die of")
	controlFD := fs.Int("control-fd", -1, "listening control socket")
	consoleSocket := fs.String("console-socket", "", "Unix socket to send the terminal's master to")
	// What boot.Launch passes that the VM has its own ways for (the
	// debug log comes with the configuration).
	fs.String("debug-log", "", "ignored: the configuration names it")
	fs.Bool("strace", false, "ignored: the guest's calls are its kernel's")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "magawa %s: %v\n", VerbName, err)
		return 125
	}
	if *configFD < 0 || *syncFD < 0 || *controlFD < 0 {
		fmt.Fprintf(os.Stderr, "magawa %s: run by magawa itself (--config-fd, --sync-fd and --control-fd are required)\n", VerbName)
		return 125
	}
	// First of all: nothing the supervisor mounts (QEMU's jail, staged
	// files) may reach the host. Its mount namespace is cloned with the
	// host's propagation when it is a pod's (boot.Options'
	// KeepMountPropagation), so that the pod's share receives what the
	// runtime mounts under it later; as a slave, it receives and sends
	// nothing back. (Without KeepMountPropagation every mount is
	// private already, and stays so.)
	if err := makeMountsSlaves(); err != nil {
		fmt.Fprintf(os.Stderr, "magawa %s: %v\n", VerbName, err)
		return 125
	}
	for _, fd := range []int{*configFD, *syncFD, *exitFD, *controlFD} {
		if fd >= 0 {
			unix.CloseOnExec(fd)
		}
	}
	if *exitFD >= 0 {
		unix.Close(*exitFD)
	}
	// The container's output goes to the supervisor's descriptors: a
	// reader that has gone must not end the VM (copyOut drops what it
	// cannot write).
	signal.Ignore(unix.SIGPIPE)
	rep := boot.NewReporter(os.NewFile(uintptr(*syncFD), "sync"))
	var cfg Config
	configFile := os.NewFile(uintptr(*configFD), "config")
	err := json.NewDecoder(io.LimitReader(configFile, 16<<20)).Decode(&cfg)
	configFile.Close()
	if err != nil {
		return rep.Fail(fmt.Errorf("reading the VM sandbox's configuration: %w", err), 125)
	}
	// hangup gets the console's hangup (its master closed), from when
	// the console is the supervisor's controlling terminal.
	var hangup chan os.Signal
	if *consoleSocket != "" {
		hangup = make(chan os.Signal, 1)
		signal.Notify(hangup, unix.SIGHUP)
		if err := boot.SendConsole(*consoleSocket, cfg.Process.ConsoleRows, cfg.Process.ConsoleColumns); err != nil {
			return rep.Fail(err, 125)
		}
		// Raw at once: what the socket's owner types before start must
		// reach the guest's terminal alone, which echoes it.
		if _, err := makeRaw(0); err != nil {
			return rep.Fail(fmt.Errorf("console: putting it in raw mode: %w", err), 125)
		}
	}
	logger := log.New(io.Discard, "", 0)
	if cfg.VM.DebugLog != "" {
		f, err := os.OpenFile(cfg.VM.DebugLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return rep.Fail(fmt.Errorf("opening the debug log: %w", err), 125)
		}
		logger = log.New(f, fmt.Sprintf("magawa-vm[%d] ", os.Getpid()), log.LstdFlags|log.Lmicroseconds)
	}
	s, err := Boot(cfg, logger)
	if err != nil {
		return rep.Fail(err, 125)
	}
	// From here on the supervisor needs none of root's powers: it
	// relays calls between descriptors it holds and signals its own
	// child.
	if err := confine.DropCapabilities(nil); err != nil {
		s.Shutdown()
		return rep.Fail(fmt.Errorf("dropping the supervisor's capabilities: %w", err), 125)
	}
	if hangup != nil {
		// As a terminal's hangup signals its session's leader: the
		// container's init, whose terminal's host side this is.
		go func() {
			for range hangup {
				logger.Printf("the console hung up: SIGHUP to the container")
				s.kill(unix.SIGHUP, false)
			}
		}()
	}
	go s.Serve(*controlFD)
	rep.Ready()
	code := s.Wait()
	s.Shutdown()
	logger.Printf("exiting with status %d", code)
	return code
}

// makeMountsSlaves makes every mount of the supervisor's mount
// namespace a slave (one that is private stays private). It refuses to
// touch the namespace of the host's init: a supervisor started by hand
// outside magawa would otherwise change the host's mounts.
func makeMountsSlaves() error {
	own, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("its mount namespace: %w", err)
	}
	if host, err := os.Readlink("/proc/1/ns/mnt"); err == nil && host == own {
		return errors.New("run by magawa itself: its mount namespace is the host's")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("making its mounts slaves: %w", err)
	}
	return nil
}
