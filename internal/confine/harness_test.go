package confine_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/confine"
	"magawa/internal/gofer"
	"magawa/internal/sandbox"
)

// TestMain doubles as the processes the tests start: the gofer (which
// the sandbox starts by re-executing this binary), a sandbox process
// running a program, and a probe that confines itself and then does
// what it is told.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "gofer":
			os.Exit(gofer.Main(os.Args[2:]))
		case "sandbox-child":
			os.Exit(sandboxChild(os.Args[2:]))
		case "probe-child":
			os.Exit(probeChild(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

// skip skips with a reason, or fails when MAGAWA_TEST_NO_SKIP is set (CI
// must not skip anything).
func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("MAGAWA_TEST_NO_SKIP") != "" {
		t.Fatalf("MAGAWA_TEST_NO_SKIP is set, so failing instead of skipping: %s", msg)
	}
	t.Skip(msg)
}

// requireRoot skips tests that start confined processes when they
// cannot.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root: the sandbox process needs new namespaces, mounts and capabilities to drop (CI runs as root)")
	}
	if raceEnabled {
		// Not skip(): this is how -race builds are, not a missing
		// resource CI could provide.
		t.Skip("the race detector links cgo, with which the sandbox process cannot drop capabilities on every thread")
	}
}

// namespaces are those the launcher gives the sandbox process. No
// Unshareflags: Sandbox makes the mounts private itself, as it must for
// a launcher that only clones.
const namespaces = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// childTimeout bounds every child, so that a hung sandbox fails its test.
const childTimeout = 5 * time.Minute

// programEnv is the environment of the programs run in the sandbox.
var programEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "LANG=C"}

// child is a finished child process.
type child struct {
	stdout, stderr string
	state          *os.ProcessState
	err            error
}

func (c child) String() string {
	return fmt.Sprintf("%v (%v)\nstdout:\n%s\nstderr:\n%s", c.state, c.err, c.stdout, c.stderr)
}

// killedBy reports whether the child died of sig.
func (c child) killedBy(sig syscall.Signal) bool {
	if c.state == nil {
		return false
	}
	ws := c.state.Sys().(syscall.WaitStatus)
	return ws.Signaled() && ws.Signal() == sig
}

// command is this test binary re-executed as verb in the sandbox
// process's namespaces.
func command(ctx context.Context, t testing.TB, verb string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{verb}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: namespaces, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// runChild runs verb with args to its end, with stdin (nil: none).
func runChild(t testing.TB, stdin io.Reader, verb string, args ...string) child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := command(ctx, t, verb, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return child{stdout: stdout.String(), stderr: stderr.String(), state: cmd.ProcessState, err: err}
}

// sandboxOptions are what a sandbox gets besides its program.
type sandboxOptions struct {
	// volume is "HOST:TARGET", a host directory mounted read-write.
	volume string
	// stdin returns the program's standard input (nil: none) for each
	// run.
	stdin func() io.Reader
}

// runSandbox runs argv in a sandbox (the host's root under an overlay),
// confined or not, with the kernel process kept busy meanwhile
// (kernelLoad). Its exit status is the program's.
func runSandbox(t testing.TB, confined bool, opts sandboxOptions, argv ...string) child {
	t.Helper()
	args := []string{fmt.Sprintf("-confine=%v", confined)}
	if opts.volume != "" {
		args = append(args, "-volume="+opts.volume)
	}
	var stdin io.Reader
	if opts.stdin != nil {
		stdin = opts.stdin()
	}
	return runChild(t, stdin, "sandbox-child", append(append(args, "--"), argv...)...)
}

// sandboxChild is the sandbox process: it runs its arguments' program
// with sandbox.RunDo, confining itself with confine.Sandbox first when
// told to, and exits with the program's status (125 when the sandbox
// failed). What it says itself goes to stderr, after "sandbox-child:".
// -load=false leaves the kernel process's runtime alone (for
// debugging); -volume=HOST:TARGET mounts a host directory read-write;
// -tty runs the program on a terminal of the sandbox relayed to the
// host's descriptors, as `magawa do -t` does.
func sandboxChild(args []string) int {
	fs := flag.NewFlagSet("sandbox-child", flag.ContinueOnError)
	confined := fs.Bool("confine", true, "")
	withLoad := fs.Bool("load", true, "")
	volume := fs.String("volume", "", "")
	tty := fs.Bool("tty", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "sandbox-child: usage: sandbox-child [-confine=BOOL] -- PROGRAM ARGS...")
		return 125
	}
	// As `magawa boot` does: the kernel names its stubs by the PIDs of
	// this namespace, so the unconfined sandbox needs a /proc of it too.
	// Private first, so that the mount does not reach the launcher's
	// /proc.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-child: making the mounts private:", err)
		return 125
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-child: mounting /proc:", err)
		return 125
	}
	load := newKernelLoad()
	cfg := sandbox.Config{
		Platform: "ptrace",
		RootDir:  "/",
		TTY:      sandbox.TTYOff,
		Process:  sandbox.Process{Argv: fs.Args(), Env: programEnv, Cwd: "/"},
		Confine: func() error {
			if *confined {
				if err := confine.Sandbox(confine.Options{}); err != nil {
					return err
				}
			}
			if *withLoad {
				load.start()
			}
			return nil
		},
	}
	if *volume != "" {
		host, target, _ := strings.Cut(*volume, ":")
		cfg.Volumes = []sandbox.Volume{{HostPath: host, Target: target}}
	}
	if *tty {
		cfg.TTY = sandbox.TTYOn
	}
	status, err := sandbox.RunDo(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-child:", err)
		return 125
	}
	if err := load.stop(*withLoad); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-child:", err)
		return 125
	}
	return status.HostCode()
}

// kernelLoad keeps the Go runtime of the sandbox process busy while the
// program runs, so that what it does only now and then shows under the
// filter: threads made and ended (a goroutine that exits locked to its
// thread takes the thread along), stop-the-world changes of GOMAXPROCS,
// collections and returning memory to the host, timers, pipes through
// the network poller, signals to itself.
type kernelLoad struct {
	done   chan struct{}
	wg     sync.WaitGroup
	rounds atomic.Int64
	mu     sync.Mutex
	err    error
}

func newKernelLoad() *kernelLoad { return &kernelLoad{done: make(chan struct{})} }

func (l *kernelLoad) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

func (l *kernelLoad) start() {
	for i := range 4 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			var keep [][]byte
			for j := 0; ; j++ {
				select {
				case <-l.done:
					return
				default:
				}
				keep = append(keep, make([]byte, 1<<10*(j%64+1)))
				if len(keep) > 64 {
					keep = keep[:0]
				}
				if j%512 == 0 {
					l.round(i, j)
					// Room for the sandbox on a small machine.
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
}

// round is one of the rarer things, chosen by worker and iteration.
func (l *kernelLoad) round(worker, j int) {
	l.rounds.Add(1)
	switch (worker + j/512) % 6 {
	case 0:
		runtime.GC()
		debug.FreeOSMemory()
	case 1:
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(done)
			// Exiting locked: the thread exits with the goroutine.
		}()
		<-done
	case 2:
		n := runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(1)
		runtime.GOMAXPROCS(n)
	case 3:
		r, w, err := os.Pipe()
		if err != nil {
			l.fail(fmt.Errorf("pipe: %w", err))
			return
		}
		go func() {
			w.Write([]byte("ping"))
			w.Close()
		}()
		r.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 8)
		if n, err := r.Read(buf); err != nil || string(buf[:n]) != "ping" {
			l.fail(fmt.Errorf("pipe read %q: %v", buf[:n], err))
		}
		r.Close()
	case 4:
		fired := make(chan struct{})
		time.AfterFunc(time.Millisecond, func() { close(fired) })
		select {
		case <-fired:
		case <-time.After(10 * time.Second):
			l.fail(fmt.Errorf("a timer did not fire"))
		}
	case 5:
		time.Sleep(100 * time.Microsecond)
		runtime.Gosched()
	}
}

// stop ends the load, and fails if it never ran (while it was started)
// or something in it failed.
func (l *kernelLoad) stop(started bool) error {
	close(l.done)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	if started && l.rounds.Load() == 0 {
		return fmt.Errorf("the kernel load never ran")
	}
	return nil
}

// probeChild confines itself (no sandbox, only the process) and then
// does what its argument says: "wait" waits for its standard input to
// close, so that the test can look at it from the outside; "twice"
// confines itself a second time; "directory" holds a directory open,
// which must stop the confinement; any other word is a call the filter
// must kill it for (deniedCalls).
func probeChild(args []string) int {
	if len(args) != 1 {
		fmt.Println("usage: probe-child WHAT")
		return 2
	}
	if args[0] == "directory" {
		dir, err := os.Open("/etc")
		if err != nil {
			fmt.Println(err)
			return 2
		}
		defer dir.Close()
		fmt.Println("confine:", confine.Sandbox(confine.Options{}))
		return 0
	}
	// Descriptors a careless launcher might leave behind must not stop
	// the confinement unless they are directories: a host file, a
	// pipe.
	hostFile, err := os.Open("/etc/hostname")
	if err != nil {
		hostFile, err = os.Open("/proc/version")
	}
	if err != nil {
		fmt.Println(err)
		return 2
	}
	defer hostFile.Close()
	if err := confine.Sandbox(confine.Options{}); err != nil {
		fmt.Println("confine:", err)
		return 2
	}
	fmt.Println("confined")
	if args[0] == "twice" {
		fmt.Println("again:", confine.Sandbox(confine.Options{}))
		return 0
	}
	if args[0] == "wait" {
		report := func(what string, err error) { fmt.Printf("%s: %v\n", what, err) }
		_, err := os.Open("/etc/passwd")
		report("open /etc/passwd", err)
		_, err = os.Stat("/bin/sh")
		report("stat /bin/sh", err)
		b, err := os.ReadFile("/proc/self/status")
		report("read /proc/self/status", err)
		if i := strings.Index(string(b), "Seccomp:"); i >= 0 {
			fmt.Print(string(b[i:]))
		}
		fmt.Println("waiting")
		os.Stdin.Read(make([]byte, 1))
		return 0
	}
	deny, ok := deniedCalls[args[0]]
	if !ok {
		fmt.Println("unknown call", args[0])
		return 2
	}
	deny()
	fmt.Println("survived")
	return 0
}
