package boot

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/internal/sandbox"
	"magawa/kernel/kernel"
)

// The containers that join a pod's sandbox (OpAdd): the sandbox's first
// container is the pod's sandbox container, whose requests name no
// container; requests naming one are served here.

// joined is a container that joined the sandbox.
type joined struct {
	// status, stdio (until start), init and exit are guarded by
	// server.mu.
	status string
	stdio  [3]int
	init   *sandbox.Execed
	exit   ExitStatus
	// done is closed once the container has ended.
	done chan struct{}
}

// joinedContainers are the server's joined containers by ID.
type joinedContainers struct {
	m map[string]*joined
}

func (srv *server) joinedContainer(id string) (*joined, error) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	j := srv.joined.m[id]
	if j == nil {
		return nil, fmt.Errorf("container %s: %w", id, sandbox.ErrNoContainer)
	}
	return j, nil
}

// end records a joined container's end; the first call wins.
func (srv *server) endJoined(j *joined, status ExitStatus) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if j.status == StatusStopped {
		return
	}
	j.status = StatusStopped
	j.exit = status
	for i, fd := range j.stdio {
		if fd >= 0 {
			unix.Close(fd)
		}
		j.stdio[i] = -1
	}
	close(j.done)
}

// serveJoined answers a request about a joined container.
func (srv *server) serveJoined(fd int, req Request, fds []int) {
	id := req.Container
	switch req.Op {
	case OpAdd:
		srv.add(fd, id, req, fds)
		return
	case OpExec:
		srv.execIn(fd, id, req, fds)
		return
	}
	closeAll(fds)
	resp, err := srv.handleJoined(id, req)
	if err != nil {
		resp = Response{Error: err.Error()}
	}
	send(fd, resp, nil)
}

// add makes the container and answers; its second answer is its end.
func (srv *server) add(fd int, id string, req Request, fds []int) {
	fail := func(err error) {
		closeAll(fds)
		send(fd, Response{Error: err.Error()}, nil)
	}
	if req.Config == nil || len(fds) == 0 {
		fail(errors.New("a container joins with its configuration and its gofer"))
		return
	}
	srv.mu.Lock()
	status := srv.status
	srv.mu.Unlock()
	if status != StatusRunning && status != StatusCreated {
		fail(fmt.Errorf("cannot join a sandbox that is %s", status))
		return
	}
	stdio := [3]int{-1, -1, -1}
	next := 1
	for i, sent := range req.Stdio {
		if sent && next < len(fds) {
			stdio[i] = fds[next]
			next++
		}
	}
	closeAll(fds[next:])
	goferFD := fds[0]
	if err := srv.s.AddContainer(id, *req.Config, goferFD); err != nil {
		closeAll(stdio[:])
		send(fd, Response{Error: err.Error()}, nil)
		return
	}
	j := &joined{status: StatusCreated, stdio: stdio, done: make(chan struct{})}
	srv.mu.Lock()
	if srv.joined.m == nil {
		srv.joined.m = map[string]*joined{}
	}
	srv.joined.m[id] = j
	srv.mu.Unlock()
	if err := send(fd, Response{Status: StatusCreated}, nil); err != nil {
		return
	}
	<-j.done
	send(fd, Response{Exit: &j.exit}, nil)
}

func (srv *server) handleJoined(id string, req Request) (Response, error) {
	j, err := srv.joinedContainer(id)
	if err != nil {
		return Response{}, err
	}
	switch req.Op {
	case OpState:
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return Response{Status: j.status}, nil
	case OpStart:
		return Response{}, srv.startJoined(id, j)
	case OpKill:
		return Response{}, srv.killJoined(id, j, req)
	case OpPs:
		var procs []kernel.ProcessInfo
		for _, p := range srv.s.Kernel().Processes() {
			if p.Container == id {
				procs = append(procs, p)
			}
		}
		return Response{Processes: procs}, nil
	case OpRemove:
		err := srv.s.RemoveContainer(id)
		srv.endJoined(j, ExitStatus{Signal: int(unix.SIGKILL)})
		srv.mu.Lock()
		delete(srv.joined.m, id)
		srv.mu.Unlock()
		return Response{}, err
	case OpStats:
		u := srv.s.Kernel().ContainerUsage(id)
		return Response{Usage: &u}, nil
	case OpPause, OpResume, OpUpdate, OpNetwork:
		return Response{}, fmt.Errorf("%s is the pod's: ask its sandbox container", req.Op)
	}
	return Response{}, fmt.Errorf("unknown request %q", req.Op)
}

func (srv *server) startJoined(id string, j *joined) error {
	srv.mu.Lock()
	if j.status != StatusCreated {
		defer srv.mu.Unlock()
		return fmt.Errorf("cannot start a container that is %s", j.status)
	}
	stdio := j.stdio
	j.stdio = [3]int{-1, -1, -1}
	srv.mu.Unlock()
	e, err := srv.s.StartContainer(id, stdio)
	if err != nil {
		srv.endJoined(j, ExitStatus{Code: startCode(err)})
		return fmt.Errorf("starting the container's process: %w", err)
	}
	srv.mu.Lock()
	j.status = StatusRunning
	j.init = e
	srv.mu.Unlock()
	go func() { srv.endJoined(j, *exitStatusOf(e.Wait())) }()
	return nil
}

// killJoined signals a joined container's init, one of its processes,
// or all of them; a container never started ends of a signal that
// would end a process, as the sandbox's first does.
func (srv *server) killJoined(id string, j *joined, req Request) error {
	sig := unix.Signal(req.Signal)
	if sig <= 0 || sig > 64 {
		return fmt.Errorf("invalid signal %d", sig)
	}
	srv.mu.Lock()
	status, init := j.status, j.init
	srv.mu.Unlock()
	switch status {
	case StatusCreated:
		if terminates(sig) {
			srv.endJoined(j, ExitStatus{Signal: int(sig)})
		}
		return nil
	case StatusStopped:
		return errors.New("container not running")
	}
	pid := req.PID
	if pid == 0 && !req.All {
		pid = init.PID()
	}
	return srv.s.Kernel().SignalContainer(id, pid, sig, req.All)
}

// execIn is exec in a joined container.
func (srv *server) execIn(fd int, id string, req Request, fds []int) {
	j, err := srv.joinedContainer(id)
	if err == nil {
		srv.mu.Lock()
		if j.status != StatusRunning {
			err = fmt.Errorf("cannot exec in a container that is %s", j.status)
		}
		srv.mu.Unlock()
	}
	srv.execWith(fd, req, fds, err, func(proc sandbox.Process, stdio [3]int) (*sandbox.Execed, error) {
		return srv.s.ExecIn(id, proc, stdio)
	})
}
