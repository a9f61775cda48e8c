package boot

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/internal/network"
	"magawa/internal/sandbox"
	"magawa/kernel/kernel"
)

// server serves an OCI container's control socket.
type server struct {
	s *sandbox.Sandbox

	// mu guards status and networked.
	mu     sync.Mutex
	status string
	// networked is set once the sandbox has its interfaces.
	networked bool
	// joined are the containers that joined the sandbox (a pod's).
	joined joinedContainers
	// exit ends the sandbox process with a status (finish).
	exit     chan int
	exitOnce sync.Once
}

// finish ends the sandbox process with code; the first call wins.
func (srv *server) finish(code int) {
	srv.exitOnce.Do(func() { srv.exit <- code })
}

// serveContainer builds the sandbox, reports it created and serves the
// control socket until the container's init has exited (or a kill ends
// a container never started); it returns init's status.
func (b *booter) serveContainer(cfg sandbox.Config, listenFD int) int {
	cfg.ProtectInit = true
	s, err := sandbox.New(cfg)
	if err != nil {
		return b.fail(err, 125)
	}
	srv := &server{s: s, status: StatusCreated, exit: make(chan int, 1)}
	go Accept(listenFD, srv.serve, func(err error) { fmt.Fprintf(os.Stderr, "magawa: control socket: %v\n", err) })
	b.warning = s.PlatformNote()
	b.ready()
	code := <-srv.exit
	s.Close()
	return code
}

// Accept serves each connection of the control socket listenFD on a
// goroutine of its own until accepting fails, which it reports: the
// sandbox processes of both kinds (this package's and package vm's)
// answer the CLI this way.
func Accept(listenFD int, serve func(fd int), report func(error)) {
	for {
		fd, _, err := unix.Accept4(listenFD, unix.SOCK_CLOEXEC)
		if err == unix.EINTR || err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			report(err)
			return
		}
		go serve(fd)
	}
}

// serve answers one connection's request.
func (srv *server) serve(fd int) {
	defer unix.Close(fd)
	var req Request
	fds, err := receive(fd, &req)
	if err != nil {
		return
	}
	if req.Container != "" {
		srv.serveJoined(fd, req, fds)
		return
	}
	switch req.Op {
	case OpExec:
		srv.exec(fd, req, fds)
		return
	case OpNetwork:
		resp := Response{}
		if err := srv.attachNetwork(req.Network, fds); err != nil {
			resp.Error = err.Error()
		}
		send(fd, resp, nil)
		return
	}
	closeAll(fds)
	resp, err := srv.handle(req)
	if err != nil {
		resp = Response{Error: err.Error()}
	}
	send(fd, resp, nil)
}

func (srv *server) handle(req Request) (Response, error) {
	switch req.Op {
	case OpState:
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return Response{Status: srv.status}, nil
	case OpStart:
		return Response{}, srv.start()
	case OpKill:
		if req.PID != 0 {
			return Response{}, srv.killProcess(req.PID, unix.Signal(req.Signal))
		}
		return Response{}, srv.kill(unix.Signal(req.Signal), req.All)
	case OpPs:
		// The first container's: in a pod's sandbox, the others' are
		// theirs.
		var procs []kernel.ProcessInfo
		for _, p := range srv.s.Kernel().Processes() {
			if p.Container == "" {
				procs = append(procs, p)
			}
		}
		return Response{Processes: procs}, nil
	case OpPause:
		return Response{}, srv.pause(true)
	case OpResume:
		return Response{}, srv.pause(false)
	case OpUpdate:
		if req.TaskLimit != nil {
			srv.s.Kernel().SetTaskLimit(*req.TaskLimit)
		}
		return Response{}, nil
	case OpStats:
		k := srv.s.Kernel()
		return Response{Tasks: k.NumTasks(), TaskLimit: k.TaskLimit()}, nil
	}
	return Response{}, fmt.Errorf("unknown request %q", req.Op)
}

// start runs the container's process; the sandbox process exits with
// its status once the sandbox has ended.
func (srv *server) start() error {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.status != StatusCreated {
		return fmt.Errorf("cannot start a container that is %s", srv.status)
	}
	if err := srv.s.Start(); err != nil {
		srv.status = StatusStopped
		srv.finish(startCode(err))
		return fmt.Errorf("starting the container's process: %w", err)
	}
	srv.status = StatusRunning
	go func() {
		code := srv.s.Wait().HostCode()
		srv.mu.Lock()
		srv.status = StatusStopped
		srv.mu.Unlock()
		srv.finish(code)
	}()
	return nil
}

// attachNetwork serves the interfaces the runtime took over: once,
// before start, and only in a sandbox whose seccomp filter lets it.
func (srv *server) attachNetwork(cfg *network.Config, fds []int) error {
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "packet socket")
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	switch {
	case cfg == nil:
		closeFiles(files)
		return errors.New("a network request without a network")
	case srv.status != StatusCreated:
		closeFiles(files)
		return fmt.Errorf("cannot attach a network to a container that is %s", srv.status)
	case srv.networked:
		closeFiles(files)
		return errors.New("the sandbox has its network already")
	case srv.s.Config().Network != sandbox.NetworkSandbox:
		closeFiles(files)
		return errors.New("the sandbox was not made for a network of its own (--network=sandbox)")
	}
	srv.networked = true
	return srv.s.AttachNetwork(cfg, files)
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// kill signals init (or every process). A container never started has
// no process yet: a signal whose default action would end it ends the
// sandbox, as runc's kill of a created container does.
func (srv *server) kill(sig unix.Signal, all bool) error {
	if sig <= 0 || sig > 64 {
		return fmt.Errorf("invalid signal %d", sig)
	}
	srv.mu.Lock()
	status := srv.status
	srv.mu.Unlock()
	switch status {
	case StatusCreated:
		if terminates(sig) {
			srv.mu.Lock()
			srv.status = StatusStopped
			srv.mu.Unlock()
			srv.finish(128 + int(sig))
		}
		return nil
	case StatusStopped:
		return errors.New("container not running")
	}
	return srv.s.Kernel().Signal(1, sig, all)
}

// killProcess signals one process of a running sandbox.
func (srv *server) killProcess(pid int32, sig unix.Signal) error {
	if sig <= 0 || sig > 64 {
		return fmt.Errorf("invalid signal %d", sig)
	}
	srv.mu.Lock()
	status := srv.status
	srv.mu.Unlock()
	if status != StatusRunning && status != StatusPaused {
		return fmt.Errorf("container not running")
	}
	if err := srv.s.Kernel().Signal(pid, sig, false); err != nil {
		return fmt.Errorf("process %d: %w", pid, err)
	}
	return nil
}

// terminates reports whether sig's default action ends a process.
func terminates(sig unix.Signal) bool {
	switch sig {
	case unix.SIGCHLD, unix.SIGCONT, unix.SIGURG, unix.SIGWINCH,
		unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return false
	}
	return true
}

func (srv *server) pause(pause bool) error {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	k := srv.s.Kernel()
	switch {
	case pause && srv.status == StatusRunning:
		if err := k.Pause(); err != nil {
			return err
		}
		srv.status = StatusPaused
	case !pause && srv.status == StatusPaused:
		if err := k.Resume(); err != nil {
			return err
		}
		srv.status = StatusRunning
	case pause:
		return fmt.Errorf("cannot pause a container that is %s", srv.status)
	default:
		return fmt.Errorf("cannot resume a container that is %s", srv.status)
	}
	return nil
}

// exec starts a process in the running container and answers twice:
// its PID, then how it ended.
func (srv *server) exec(fd int, req Request, fds []int) {
	var err error
	srv.mu.Lock()
	if srv.status != StatusRunning {
		err = fmt.Errorf("cannot exec in a container that is %s", srv.status)
	}
	srv.mu.Unlock()
	srv.execWith(fd, req, fds, err, srv.s.Exec)
}

// execWith is exec with start, unless refused already.
func (srv *server) execWith(fd int, req Request, fds []int, refused error, start func(sandbox.Process, [3]int) (*sandbox.Execed, error)) {
	stdio := [3]int{-1, -1, -1}
	next := 0
	for i, sent := range req.Stdio {
		if sent && next < len(fds) {
			stdio[i] = fds[next]
			next++
		}
	}
	closeAll(fds[next:])
	fail := func(err error) {
		for _, fd := range stdio {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
		send(fd, Response{Error: err.Error()}, nil)
	}
	if req.Process == nil {
		refused = errors.New("exec without a process")
	}
	if refused != nil {
		fail(refused)
		return
	}
	p, err := start(*req.Process, stdio)
	if err != nil {
		send(fd, Response{Error: err.Error()}, nil)
		return
	}
	if err := send(fd, Response{PID: p.PID()}, nil); err != nil {
		return // detached: nobody waits
	}
	send(fd, Response{Exit: exitStatusOf(p.Wait())}, nil)
}
