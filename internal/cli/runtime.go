package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/container"
)

// The runtime's commands (create, start, state, kill, delete, ...) follow
// runc's: the same flags, output and exit statuses (1 for an error), so
// that Docker, podman and containerd can drive magawa in its place.

// runtimeError reports err as runc does: on stderr and, with --log, in
// the log file (containerd reads the last error from it), and returns
// the exit status 1.
func (g *globalFlags) runtimeError(err error) int {
	fmt.Fprintf(os.Stderr, "magawa: %v\n", err)
	g.logf("error", "%v", err)
	return 1
}

// logf appends a message to the --log file in its format.
func (g *globalFlags) logf(level, format string, args ...any) {
	if g.log == "" || (level == "debug" && !g.debug) {
		return
	}
	f, err := os.OpenFile(g.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	msg := fmt.Sprintf(format, args...)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if g.logFormat == "json" {
		b, _ := json.Marshal(map[string]string{"level": level, "msg": msg, "time": now})
		fmt.Fprintf(f, "%s\n", b)
		return
	}
	fmt.Fprintf(f, "time=%q level=%s msg=%q\n", now, level, msg)
}

// newFlagSet makes a command's flag set; its errors are the caller's to
// print.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseArgs parses a command's flags, which runc (urfave/cli) also takes
// after the container ID: `kill ID --all` is `kill --all ID`. It returns
// the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
		if len(args) > 0 && args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
	}
}

// loadContainer loads the container named by the one positional
// argument.
func (g *globalFlags) loadContainer(cmd string, positional []string) (*container.Container, error) {
	if len(positional) != 1 {
		return nil, fmt.Errorf("%s: want exactly one container ID, got %d arguments", cmd, len(positional))
	}
	return container.Load(g.root, positional[0])
}

// writePidFile writes pid to path atomically, as runc's --pid-file.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp")
	if err := os.WriteFile(tmp, []byte(fmt.Sprint(pid)), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// notImplemented answers a command magawa does not offer yet, clearly.
func notImplemented(name, what string) command {
	return command{
		name:    name,
		summary: what + " (not supported yet)",
		run: func(g *globalFlags, args []string) int {
			return g.runtimeError(errors.New(name + ": " + what + " is not supported yet by magawa"))
		},
	}
}

func init() {
	register(notImplemented("checkpoint", "checkpointing a container"))
	register(notImplemented("restore", "restoring a container from a checkpoint"))
}

// dieOf ends magawa as if killed by sig, so that whoever waits for it
// (a shell, a supervisor) sees the signal its sandboxed program died
// of. The signal goes to the calling thread, which acts on it as the
// call returns: sent to the process, it may land on another thread
// while this one returns and exits with a status instead.
func dieOf(sig unix.Signal) {
	signal.Reset(sig)
	runtime.LockOSThread()
	unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
	// Should it be blocked here, it still comes, soon.
	time.Sleep(time.Second)
}
