package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// globalFlags are the flags before the verb, as runc and runsc take them.
type globalFlags struct {
	platform string
	strace   bool
	debugLog string
	overlay  string

	// runc's: the state root, the log and its format, debug logging.
	root      string
	log       string
	logFormat string
	debug     bool
	// Accepted as runc accepts them; magawa has no use for them yet.
	systemdCgroup bool
	rootless      string
	criu          string
	// network is the sandbox's network: sandbox, host or none.
	network string
	// sandbox is the kind of sandbox: kernel (the application
	// kernel) or vm (a micro-VM per container); vm holds the VM's
	// flags.
	sandbox string
	vm      vmFlags
}

// command is one verb.
type command struct {
	name    string
	summary string
	run     func(g *globalFlags, args []string) int
	// hidden verbs are run by magawa itself and left out of the usage.
	hidden bool
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

// Main runs the CLI and returns the process exit status.
func Main(args []string) int {
	var g globalFlags
	fs := flag.NewFlagSet("magawa", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&g.platform, "platform", "", "how application code runs: "+platformNames()+" (default: systrap where the host allows it, else ptrace)")
	fs.BoolVar(&g.strace, "strace", false, "print each system call of the sandboxed program to stderr")
	fs.StringVar(&g.debugLog, "debug-log", "", "write the kernel's debug log to `FILE`")
	fs.StringVar(&g.overlay, "overlay", "memory", "the root file system: `memory` (the image read-only, writes kept in memory) or none (writes reach the image)")
	fs.StringVar(&g.root, "root", "/run/magawa", "the directory of the containers' state")
	fs.StringVar(&g.log, "log", "", "write errors (and with --debug, debug messages) to `FILE`")
	fs.StringVar(&g.logFormat, "log-format", "text", "the --log file's format: text or json")
	fs.BoolVar(&g.debug, "debug", false, "log debug messages")
	fs.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "accepted for runc compatibility; cgroupfs is used")
	fs.StringVar(&g.rootless, "rootless", "auto", "accepted for runc compatibility")
	fs.StringVar(&g.criu, "criu", "", "accepted for runc compatibility (checkpoint is not supported yet)")
	fs.StringVar(&g.network, "network", "sandbox", "the sandbox's network: `sandbox` (the container's interfaces served by the sandbox's own TCP/IP stack), host (Internet sockets passed through to the host's stack: fast, less isolated) or none (loopback only)")
	fs.StringVar(&g.sandbox, "sandbox", sandboxKernel, "the kind of sandbox a container gets: `kernel` (magawa's application kernel) or vm (a micro-VM with its own guest kernel, under QEMU)")
	g.vm.register(fs)
	var version bool
	fs.BoolVar(&version, "version", false, "print the version")
	fs.BoolVar(&version, "v", false, "the same as --version")
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			usage(fs)
			return 0
		}
		fmt.Fprintf(os.Stderr, "magawa: %v\n", err)
		usage(fs)
		return 2
	}
	if version {
		printVersion()
		return 0
	}
	switch g.network {
	case "sandbox", "none", "host":
	default:
		fmt.Fprintf(os.Stderr, "magawa: --network=%s: want sandbox, host or none\n", g.network)
		return 2
	}
	switch g.sandbox {
	case sandboxKernel, sandboxVM:
	default:
		fmt.Fprintf(os.Stderr, "magawa: --sandbox=%s: want %s or %s\n", g.sandbox, sandboxKernel, sandboxVM)
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		usage(fs)
		return 2
	}
	c, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "magawa: unknown command %q\n", rest[0])
		usage(fs)
		return 2
	}
	return c.run(&g, rest[1:])
}

// Version is magawa's version, set at build time
// (-ldflags "-X magawa/internal/cli.Version=...").
var Version = "0.1.0-dev"

// printVersion prints the version as runc does: clients (podman info)
// read its first line and the spec version.
func printVersion() {
	fmt.Printf("magawa version %s\n", Version)
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				fmt.Printf("commit: %s\n", s.Value)
			}
		}
	}
	fmt.Printf("spec: %s\n", specs.Version)
	fmt.Printf("go: %s\n", runtime.Version())
}

func usage(fs *flag.FlagSet) {
	w := os.Stderr
	fmt.Fprintln(w, "usage: magawa [global flags] COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	var names []string
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nglobal flags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// openDebugLog returns a logger for --debug-log (discarding when unset).
func openDebugLog(path string) (*log.Logger, func(), error) {
	if path == "" {
		return log.New(io.Discard, "", 0), func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("opening debug log: %w", err)
	}
	return log.New(f, fmt.Sprintf("magawa[%d] ", os.Getpid()), log.LstdFlags|log.Lmicroseconds), func() { f.Close() }, nil
}

func platformNames() string {
	return strings.Join(platformList(), ", ")
}
