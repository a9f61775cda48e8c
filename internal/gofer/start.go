package gofer

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	goferfs "magawa/kernel/fs/gofer"
	"magawa/kernel/fs/gofer/wire"
)

// Config says what gofer to start.
type Config struct {
	// Exports are the trees to serve, in the order the client names
	// them (export 0, 1, ...).
	Exports []Export
	// Exe is the magawa binary, run with the hidden "gofer" verb; empty
	// means this very binary (/proc/self/exe).
	Exe string
	// Args go before the verb (a test binary's own re-exec marker).
	Args []string
	// Stderr receives the gofer's error messages; nil discards them.
	Stderr io.Writer
	// StartTimeout bounds the wait for the gofer to confine itself and
	// say it serves; zero means 10 seconds.
	StartTimeout time.Duration
}

// Gofer is a running gofer process.
type Gofer struct {
	cmd *exec.Cmd
	// ReadOnly is each export's read-only flag, as the gofer reported it.
	ReadOnly []bool

	mu     sync.Mutex
	fd     int // the client's end of the control channel, until taken
	waited chan struct{}
	err    error
}

// controlFD is where the gofer finds its control channel (the first of
// exec.Cmd's ExtraFiles).
const controlFD = 3

// Start runs a gofer process serving cfg.Exports and waits until it has
// confined itself and serves. Its control channel's client end is then
// Gofer.TakeFD's (or Gofer.Client's). The gofer exits when every client
// end of its channels is closed; Close kills it sooner.
//
// The gofer starts in a new mount namespace (so that its mounts are its
// own) and a new session (so that a terminal's signals, meant for the
// sandbox, do not reach it). It is not killed with its parent thread
// (Pdeathsig follows the thread that started it, which Go may retire):
// the closing of the channels ends it.
func Start(cfg Config) (*Gofer, error) {
	if len(cfg.Exports) == 0 {
		return nil, errors.New("gofer: no exports")
	}
	exe := cfg.Exe
	if exe == "" {
		exe = "/proc/self/exe"
	}
	var ns unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &ns); err != nil {
		return nil, fmt.Errorf("gofer: reading our mount namespace: %w", err)
	}
	args := append(append([]string{}, cfg.Args...), "gofer",
		"--control-fd="+strconv.Itoa(controlFD),
		fmt.Sprintf("--not-mntns=%d:%d", ns.Dev, ns.Ino),
		"--")
	for _, e := range cfg.Exports {
		if e.Path == "" || e.Path[0] != '/' {
			return nil, fmt.Errorf("gofer: export %q is not an absolute path", e.Path)
		}
		mode := "rw"
		if e.ReadOnly {
			mode = "ro"
		}
		args = append(args, mode+":"+e.Path)
	}
	fds, err := wire.SocketPair()
	if err != nil {
		return nil, fmt.Errorf("gofer: %w", err)
	}
	child := os.NewFile(uintptr(fds[1]), "gofer-control")
	cmd := exec.Command(exe, args...)
	cmd.Env = []string{}
	cmd.Stderr = cfg.Stderr
	cmd.ExtraFiles = []*os.File{child}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Unshare rather than clone: Go then also makes every mount
		// private before the exec, so nothing the gofer mounts can
		// propagate back.
		Unshareflags: unix.CLONE_NEWNS,
		Setsid:       true,
	}
	err = cmd.Start()
	child.Close()
	if err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("gofer: starting %s: %w", exe, err)
	}
	g := &Gofer{cmd: cmd, fd: fds[0], waited: make(chan struct{})}
	go func() {
		g.err = cmd.Wait()
		close(g.waited)
	}()
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	hello, err := readHello(fds[0], timeout)
	if err == nil && hello.Error != "" {
		err = errors.New(hello.Error)
	}
	if err == nil && hello.Version != wire.Version {
		err = fmt.Errorf("protocol version %d, want %d", hello.Version, wire.Version)
	}
	if err == nil && len(hello.ReadOnly) != len(cfg.Exports) {
		err = fmt.Errorf("%d exports served, want %d", len(hello.ReadOnly), len(cfg.Exports))
	}
	if err != nil {
		g.Close()
		return nil, fmt.Errorf("gofer: %w", err)
	}
	g.ReadOnly = hello.ReadOnly
	return g, nil
}

// readHello waits for the gofer's first message.
func readHello(fd int, timeout time.Duration) (*wire.Hello, error) {
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, err
	}
	defer unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{})
	buf := make([]byte, wire.MaxMessage)
	oob := make([]byte, wire.OOBSize)
	n, fds, err := wire.Recv(fd, buf, oob, time.Now().Add(timeout))
	for _, fd := range fds {
		unix.Close(fd)
	}
	switch {
	case err == io.EOF:
		return nil, errors.New("exited before serving")
	case err == unix.EAGAIN:
		return nil, fmt.Errorf("not serving after %v", timeout)
	case err != nil:
		return nil, err
	}
	var h wire.Hello
	d := wire.NewDecoder(buf[:n])
	h.Decode(d)
	if err := d.Err(); err != nil {
		return nil, err
	}
	return &h, nil
}

// Pid returns the gofer's process ID.
func (g *Gofer) Pid() int { return g.cmd.Process.Pid }

// TakeFD hands over the client end of the control channel: the caller
// owns it (and passes it to goferfs.NewClient, here or in another
// process). It returns -1 once taken.
func (g *Gofer) TakeFD() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	fd := g.fd
	g.fd = -1
	return fd
}

// Client takes the control channel and returns a client over it.
func (g *Gofer) Client(opts goferfs.ClientOptions) (*goferfs.Client, error) {
	fd := g.TakeFD()
	if fd < 0 {
		return nil, errors.New("gofer: control channel already taken")
	}
	return goferfs.NewClient(fd, opts)
}

// Wait waits for the gofer to exit.
func (g *Gofer) Wait() error {
	<-g.waited
	return g.err
}

// Close kills the gofer if it still runs, waits for it and closes the
// control channel unless it was taken.
func (g *Gofer) Close() error {
	if fd := g.TakeFD(); fd >= 0 {
		unix.Close(fd)
	}
	select {
	case <-g.waited:
	default:
		g.cmd.Process.Kill()
		<-g.waited
	}
	return nil
}

// Main is the hidden verb "magawa gofer": it confines the process and
// serves the exports given as "ro:PATH" or "rw:PATH" arguments on the
// control channel, and returns the exit status. Start runs it; it
// refuses to run anywhere but in a mount namespace of its own.
func Main(args []string) int {
	fs := flag.NewFlagSet("gofer", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ctl := fs.Int("control-fd", -1, "")
	notNS := fs.String("not-mntns", "", "")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "magawa gofer: %v\n", err)
		return 2
	}
	if *ctl < 0 || !wire.IsChannel(*ctl) {
		fmt.Fprintln(os.Stderr, "magawa gofer: no control channel (this verb is run by magawa itself)")
		return 2
	}
	if err := closeInherited(*ctl); err != nil {
		fmt.Fprintf(os.Stderr, "magawa gofer: %v\n", err)
		return 1
	}
	unix.CloseOnExec(*ctl)
	fail := func(format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		fmt.Fprintf(os.Stderr, "magawa gofer: %s\n", msg)
		var e wire.Encoder
		(&wire.Hello{Version: wire.Version, Error: msg}).Encode(&e)
		wire.Send(*ctl, e.Bytes(), -1)
		return 1
	}
	exports, err := parseExports(fs.Args())
	if err != nil {
		return fail("%v", err)
	}
	if err := checkOwnMountNamespace(*notNS); err != nil {
		return fail("%v", err)
	}
	exports, err = confineExports(exports)
	if err != nil {
		return fail("confining the gofer: %v", err)
	}
	srv, err := NewServer(exports)
	if err != nil {
		return fail("%v", err)
	}
	// The last step of the confinement: from here on, only the system
	// calls a file server needs.
	if err := installSeccomp(); err != nil {
		return fail("%v", err)
	}
	var e wire.Encoder
	(&wire.Hello{Version: wire.Version, ReadOnly: srv.ReadOnly()}).Encode(&e)
	if err := wire.Send(*ctl, e.Bytes(), -1); err != nil {
		return 1
	}
	if err := srv.Serve(*ctl); err != nil {
		fmt.Fprintf(os.Stderr, "magawa gofer: %v\n", err)
		return 1
	}
	// The client is gone: the other channels' clients were in the same
	// process, so there is no one left to serve.
	return 0
}

// closeInherited closes the descriptors the gofer inherited besides the
// standard streams and the control channel: one naming a host directory
// would lead around the pivoted root. Inherited descriptors are those
// without close-on-exec (the exec kept them); the Go runtime's own have
// it and stay.
func closeInherited(ctl int) error {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("listing descriptors: %w", err)
	}
	names, err := dir.Readdirnames(-1)
	self := int(dir.Fd())
	if err != nil {
		dir.Close()
		return fmt.Errorf("listing descriptors: %w", err)
	}
	var inherited []int
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 || fd == ctl || fd == self {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			inherited = append(inherited, fd)
		}
	}
	dir.Close()
	for _, fd := range inherited {
		unix.Close(fd)
	}
	return nil
}

// parseExports reads "ro:PATH" and "rw:PATH" arguments.
func parseExports(args []string) ([]Export, error) {
	if len(args) == 0 {
		return nil, errors.New("no exports")
	}
	var out []Export
	for _, a := range args {
		mode, p, ok := strings.Cut(a, ":")
		if !ok || (mode != "ro" && mode != "rw") || p == "" || p[0] != '/' {
			return nil, fmt.Errorf("bad export %q (want ro:PATH or rw:PATH)", a)
		}
		out = append(out, Export{Path: p, ReadOnly: mode == "ro"})
	}
	return out, nil
}

// checkOwnMountNamespace refuses to go on in the mount namespace of the
// process that started us (named "dev:ino"): confine's mounts and
// pivot_root would change the host's view.
func checkOwnMountNamespace(parent string) error {
	if parent == "" {
		return errors.New("refusing to run without --not-mntns (this verb is run by magawa itself)")
	}
	var ns unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &ns); err != nil {
		return fmt.Errorf("reading our mount namespace: %w", err)
	}
	if fmt.Sprintf("%d:%d", ns.Dev, ns.Ino) == parent {
		return errors.New("refusing to run in the parent's mount namespace")
	}
	return nil
}
