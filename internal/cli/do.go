package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/internal/boot"
	"magawa/internal/network"
	"magawa/internal/sandbox"
)

func init() {
	register(command{
		name:    "do",
		summary: "run a host program in a sandbox: magawa do [--] PROG [ARGS...]",
		run:     runDo,
	})
}

func runDo(g *globalFlags, args []string) int {
	fs := flag.NewFlagSet("do", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	root := fs.String("root-dir", "/", "host directory served as the sandbox's root")
	fs.StringVar(root, "rootfs", "/", "the same as --root-dir")
	var volumes volumeFlag
	fs.Var(&volumes, "volume", "bind-mount a host file or directory: `HOST:TARGET[:ro]` (repeatable)")
	fs.Var(&volumes, "v", "the same as --volume")
	var tty ttyFlag
	fs.Var(&tty, "tty", "run the program on a terminal of the sandbox relayed to this one: true, false or auto (default: auto, when stdin is a terminal)")
	fs.Var(&tty, "t", "the same as --tty")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "magawa do: %v\n%s\n", err, doUsage)
		return 2
	}
	if g.overlay != "memory" && g.overlay != "none" {
		fmt.Fprintf(os.Stderr, "magawa: --overlay must be memory or none, not %q\n", g.overlay)
		return 2
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, doUsage)
		return 2
	}
	cwd, err := os.Getwd()
	if err != nil || *root != "/" {
		cwd = "/"
	}
	cfg := sandbox.Config{
		Platform:  g.platform,
		RootDir:   *root,
		NoOverlay: g.overlay == "none",
		Volumes:   volumes,
		Process: sandbox.Process{
			Argv: argv,
			Env:  os.Environ(),
			Cwd:  cwd,
			UID:  uint32(os.Getuid()),
			GID:  uint32(os.Getgid()),
		},
		TTY: tty.mode,
	}
	opts := boot.Options{Config: cfg, DebugLog: g.debugLog, Strace: g.strace}
	// As root the sandbox gets a network of its own that reaches the
	// host's (--network=sandbox); otherwise, or when it cannot be set
	// up, loopback only. What went wrong goes to the log, not to stderr,
	// which is the program's.
	var private *network.Private
	if g.network == "host" {
		// Internet sockets are the host's: no private network, and the
		// sandbox process stays in this one's network namespace.
		opts.Config.Network = sandbox.NetworkHost
	} else if g.network == "sandbox" && os.Geteuid() == 0 {
		private, err = network.NewPrivate()
		if err != nil {
			g.logf("warning", "the sandbox has loopback only: %v", err)
		} else {
			if private.Warning != "" {
				g.logf("warning", "%s", private.Warning)
			}
			opts.Config.Network = sandbox.NetworkSandbox
			opts.Config.Interfaces = private.Config
			opts.NetworkFiles = private.Files
			opts.NetNS = fmt.Sprintf("/proc/self/fd/%d", private.NS.Fd())
		}
	}
	proc, err := boot.Launch(opts)
	if private != nil {
		// The sandbox process holds the namespace and the sockets now;
		// the veth and the masquerading rule go when it is gone.
		defer private.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "magawa: %v\n", err)
		var launchErr *boot.LaunchError
		if errors.As(err, &launchErr) {
			return launchErr.Code
		}
		return 125
	}
	if proc.Warning != "" {
		fmt.Fprintf(os.Stderr, "magawa: %s\n", proc.Warning)
		g.logf("warning", "%s", proc.Warning)
	}
	// The terminal's signals (^C, ^\) reach the sandbox process
	// directly, in this process group; those sent to magawa alone are
	// passed on.
	signal.Ignore(unix.SIGINT, unix.SIGQUIT)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH)
	go func() {
		for sig := range sigs {
			proc.Signal(sig)
		}
	}()
	code, sig := proc.Wait()
	if private != nil {
		private.Close()
	}
	if sig != 0 {
		dieOf(sig)
	}
	return code
}

const doUsage = "usage: magawa do [--rootfs DIR] [--volume HOST:TARGET[:ro]]... [-t|--tty[=true|false|auto]] [--] PROG [ARGS...]"

// ttyFlag is --tty: a boolean flag (-t alone is true) that also takes
// auto, the default.
type ttyFlag struct{ mode sandbox.TTYMode }

func (f *ttyFlag) String() string {
	switch f.mode {
	case sandbox.TTYOn:
		return "true"
	case sandbox.TTYOff:
		return "false"
	}
	return "auto"
}

func (f *ttyFlag) Set(s string) error {
	if s == "auto" {
		f.mode = sandbox.TTYAuto
		return nil
	}
	on, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("--tty %q: want true, false or auto", s)
	}
	f.mode = sandbox.TTYOff
	if on {
		f.mode = sandbox.TTYOn
	}
	return nil
}

func (f *ttyFlag) IsBoolFlag() bool { return true }

// volumeFlag collects --volume HOST:TARGET[:ro] flags.
type volumeFlag []sandbox.Volume

func (v *volumeFlag) String() string { return fmt.Sprint(*v) }

func (v *volumeFlag) Set(s string) error {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") {
		return fmt.Errorf("volume %q: want HOST:TARGET[:ro] with an absolute TARGET", s)
	}
	vol := sandbox.Volume{HostPath: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			vol.ReadOnly = true
		case "rw":
		default:
			return fmt.Errorf("volume %q: unknown option %q", s, parts[2])
		}
	}
	abs, err := filepath.Abs(vol.HostPath)
	if err != nil {
		return err
	}
	vol.HostPath = abs
	*v = append(*v, vol)
	return nil
}
