package boot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"magawa/internal/network"
	"magawa/internal/sandbox"
	"magawa/kernel/kernel"
)

// ErrNotRunning says no sandbox answers on the control socket: it has
// exited (the container is stopped) or never started.
var ErrNotRunning = errors.New("the sandbox is not running")

// Listen makes the control socket in the state directory stateDir and
// returns its listening descriptor, for Launch to hand to the sandbox.
func Listen(stateDir string) (*os.File, error) {
	dir, err := os.Open(stateDir)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: socketPath(dir)}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("binding the control socket: %w", err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return os.NewFile(uintptr(fd), "control"), nil
}

// Client talks to one sandbox through its control socket, about its
// first container or one that joined it.
type Client struct {
	stateDir  string
	container string
}

// NewClient returns a client of the sandbox whose state directory is
// stateDir.
func NewClient(stateDir string) *Client { return &Client{stateDir: stateDir} }

// NewContainerClient returns a client of container id, which joined
// the sandbox whose state directory is stateDir.
func NewContainerClient(stateDir, id string) *Client {
	return &Client{stateDir: stateDir, container: id}
}

// dial connects to the control socket.
func (c *Client) dial() (int, error) {
	dir, err := os.Open(c.stateDir)
	if err != nil {
		return -1, err
	}
	defer dir.Close()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: socketPath(dir)})
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, unix.ENOENT) {
			return -1, ErrNotRunning
		}
		return -1, fmt.Errorf("connecting to the sandbox: %w", err)
	}
	// A wedged sandbox (stopped, or stuck) must not hang the runtime's
	// commands: delete --force has to get past it.
	tv := unix.NsecToTimeval(callTimeout.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	return fd, nil
}

// callTimeout bounds a control request's answer. An exec's second
// answer, its process's end, is waited for without a bound.
const callTimeout = 5 * time.Second

// ErrNotAnswering says the sandbox process exists but did not answer in
// time: wedged, or stopped by a signal.
var ErrNotAnswering = errors.New("the sandbox does not answer")

// call sends req (with fds) and returns the first response.
func (c *Client) call(req Request, fds []int) (Response, int, error) {
	fd, err := c.dial()
	if err != nil {
		return Response{}, -1, err
	}
	req.Container = c.container
	if err := send(fd, req, fds); err != nil {
		unix.Close(fd)
		return Response{}, -1, fmt.Errorf("control request %s: %w", req.Op, err)
	}
	var resp Response
	if _, err := receive(fd, &resp); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EAGAIN) {
			return Response{}, -1, ErrNotAnswering
		}
		if errors.Is(err, unix.ECONNRESET) {
			// The sandbox exited while answering (kill of init).
			return Response{}, -1, ErrNotRunning
		}
		return Response{}, -1, fmt.Errorf("control request %s: %w", req.Op, err)
	}
	if resp.Error != "" {
		unix.Close(fd)
		return resp, -1, errors.New(resp.Error)
	}
	return resp, fd, nil
}

func (c *Client) simple(req Request, fds ...int) (Response, error) {
	resp, fd, err := c.call(req, fds)
	if fd >= 0 {
		unix.Close(fd)
	}
	return resp, err
}

// Status asks the sandbox for the container's status.
func (c *Client) Status() (string, error) {
	resp, err := c.simple(Request{Op: OpState})
	return resp.Status, err
}

// Start runs the container's process.
func (c *Client) Start() error {
	_, err := c.simple(Request{Op: OpStart})
	return err
}

// AttachNetwork hands the sandbox the interfaces cfg describes, with
// their packet sockets (one per link, in order), before it starts.
func (c *Client) AttachNetwork(cfg *network.Config, files []*os.File) error {
	var fds []int
	for _, f := range files {
		fds = append(fds, int(f.Fd()))
	}
	_, err := c.simple(Request{Op: OpNetwork, Network: cfg}, fds...)
	return err
}

// Kill sends sig to the container's init, or with all to every process.
func (c *Client) Kill(sig unix.Signal, all bool) error {
	_, err := c.simple(Request{Op: OpKill, Signal: int(sig), All: all})
	if err == ErrNotRunning && sig == unix.SIGKILL {
		return nil
	}
	return err
}

// KillProcess sends sig to the sandbox's process pid (an exec'd
// process, by the PID Exec returned).
func (c *Client) KillProcess(pid int32, sig unix.Signal) error {
	if pid <= 0 {
		return fmt.Errorf("invalid PID %d", pid)
	}
	_, err := c.simple(Request{Op: OpKill, Signal: int(sig), PID: pid})
	return err
}

// Processes lists the sandbox's processes.
func (c *Client) Processes() ([]kernel.ProcessInfo, error) {
	resp, err := c.simple(Request{Op: OpPs})
	return resp.Processes, err
}

// Pause freezes every process of the sandbox; Resume thaws them.
func (c *Client) Pause() error {
	_, err := c.simple(Request{Op: OpPause})
	return err
}

// Resume thaws a paused sandbox.
func (c *Client) Resume() error {
	_, err := c.simple(Request{Op: OpResume})
	return err
}

// SetTaskLimit changes the bound on the sandbox's tasks (update
// --pids-limit).
func (c *Client) SetTaskLimit(n int64) error {
	_, err := c.simple(Request{Op: OpUpdate, TaskLimit: &n})
	return err
}

// Update changes the limits of a VM sandbox's container (update).
func (c *Client) Update(r *specs.LinuxResources) error {
	_, err := c.simple(Request{Op: OpUpdate, Resources: r})
	return err
}

// Tasks returns the number of the sandbox's tasks and their bound.
func (c *Client) Tasks() (int, int64, error) {
	resp, err := c.simple(Request{Op: OpStats})
	return resp.Tasks, resp.TaskLimit, err
}

// Exec starts proc in the sandbox with stdio (-1: closed) as its
// descriptors 0-2 and returns its PID in the sandbox and a Waiter for
// its exit.
func (c *Client) Exec(proc sandbox.Process, stdio [3]int) (int32, *Waiter, error) {
	req := Request{Op: OpExec, Process: &proc}
	var fds []int
	for i, fd := range stdio {
		if fd >= 0 {
			req.Stdio[i] = true
			fds = append(fds, fd)
		}
	}
	resp, fd, err := c.call(req, fds)
	if err != nil {
		return 0, nil, err
	}
	var none unix.Timeval
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &none)
	return resp.PID, &Waiter{fd: fd}, nil
}

// Add makes container id join the sandbox with cfg, served by the gofer
// at the other end of goferFD; stdio (-1: none) become its process's
// descriptors at start. The Waiter returns its process's end.
func (c *Client) Add(id string, cfg sandbox.Config, goferFD int, stdio [3]int) (*Waiter, error) {
	req := Request{Op: OpAdd, Config: &cfg}
	fds := []int{goferFD}
	for i, fd := range stdio {
		if fd >= 0 {
			req.Stdio[i] = true
			fds = append(fds, fd)
		}
	}
	sub := NewContainerClient(c.stateDir, id)
	_, fd, err := sub.call(req, fds)
	if err != nil {
		return nil, err
	}
	var none unix.Timeval
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &none)
	return &Waiter{fd: fd}, nil
}

// Join makes container id join a sandbox of another kind (a VM's)
// with payload, its configuration as that sandbox reads it; stdio (-1:
// none) become its process's descriptors at start. The Waiter returns
// its process's end.
func (c *Client) Join(id string, payload any, stdio [3]int) (*Waiter, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	req := Request{Op: OpAdd, Payload: body}
	var fds []int
	for i, fd := range stdio {
		if fd >= 0 {
			req.Stdio[i] = true
			fds = append(fds, fd)
		}
	}
	sub := NewContainerClient(c.stateDir, id)
	_, fd, err := sub.call(req, fds)
	if err != nil {
		return nil, err
	}
	var none unix.Timeval
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &none)
	return &Waiter{fd: fd}, nil
}

// Usage returns what a joined container's processes use.
func (c *Client) Usage() (kernel.Usage, error) {
	resp, err := c.simple(Request{Op: OpStats})
	if err == nil && resp.Usage == nil {
		err = errors.New("the sandbox gave no usage")
	}
	if err != nil {
		return kernel.Usage{}, err
	}
	return *resp.Usage, nil
}

// Remove takes a joined container out of the sandbox, killing what is
// left of its processes.
func (c *Client) Remove() error {
	_, err := c.simple(Request{Op: OpRemove})
	return err
}

// Waiter waits for an exec'd process.
type Waiter struct{ fd int }

// Wait returns how the process ended.
func (w *Waiter) Wait() (ExitStatus, error) {
	defer w.Close()
	var resp Response
	if _, err := receive(w.fd, &resp); err != nil {
		return ExitStatus{}, fmt.Errorf("waiting for the process: %w", err)
	}
	if resp.Error != "" || resp.Exit == nil {
		return ExitStatus{}, fmt.Errorf("waiting for the process: %s", resp.Error)
	}
	return *resp.Exit, nil
}

// Close stops waiting; the process goes on.
func (w *Waiter) Close() {
	if w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
}

// FD is the waiter's connection, for handing the wait to another
// process (NewWaiter there).
func (w *Waiter) FD() int { return w.fd }

// NewWaiter waits on a connection an exec's Waiter handed over.
func NewWaiter(fd int) *Waiter { return &Waiter{fd: fd} }
