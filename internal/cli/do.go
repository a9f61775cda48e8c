package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

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
	logger, closeLog, err := openDebugLog(g.debugLog)
	if err != nil {
		fmt.Fprintf(os.Stderr, "magawa: %v\n", err)
		return 125
	}
	defer closeLog()
	cwd, err := os.Getwd()
	if err != nil || *root != "/" {
		cwd = "/"
	}
	cfg := sandbox.Config{
		Platform:  g.platform,
		RootDir:   *root,
		NoOverlay: g.overlay == "none",
		Volumes:   volumes,
		Argv:      argv,
		Env:       os.Environ(),
		Cwd:       cwd,
		UID:       uint32(os.Getuid()),
		GID:       uint32(os.Getgid()),
		Log:       logger,
	}
	if g.strace {
		cfg.Strace = os.Stderr
	}
	status, err := sandbox.RunDo(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "magawa: %v\n", err)
		var errno unix.Errno
		if errors.As(err, &errno) && (errno == unix.ENOENT || errno == unix.EACCES || errno == unix.ENOEXEC) {
			// Like a shell: 127 when the program is not found, 126
			// when it cannot be executed.
			if errno == unix.ENOENT {
				return 127
			}
			return 126
		}
		return 125
	}
	return status.HostCode()
}

const doUsage = "usage: magawa do [--rootfs DIR] [--volume HOST:TARGET[:ro]]... [--] PROG [ARGS...]"

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
