package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

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
	root := fs.String("root-dir", "/", "host directory served, read-only, as the sandbox's root")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "magawa do: %v\nusage: magawa do [--root-dir DIR] [--] PROG [ARGS...]\n", err)
		return 2
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "usage: magawa do [--root-dir DIR] [--] PROG [ARGS...]")
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
		Platform: g.platform,
		RootDir:  *root,
		Argv:     argv,
		Env:      os.Environ(),
		Cwd:      cwd,
		UID:      uint32(os.Getuid()),
		GID:      uint32(os.Getgid()),
		Log:      logger,
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
