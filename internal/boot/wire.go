package boot

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"magawa/internal/network"
	"magawa/internal/sandbox"
	"magawa/kernel/kernel"
)

// The control protocol: a stream Unix socket, one connection per
// request. A message is a 4-byte little-endian length and that many bytes
// of JSON; descriptors (an exec's stdio) ride with the message's first
// sendmsg. The server answers each request with one response, and an
// exec with a second one when its process exits.

// maxMessage bounds a message: a process's argv and environment fit
// many times over.
const maxMessage = 16 << 20

// Request is a command to the sandbox.
type Request struct {
	Op string `json:"op"`
	// Container names a container that joined the sandbox (a pod's):
	// the request is about it. Empty: the sandbox's first container.
	Container string `json:"container,omitempty"`
	// Config is an add request's: the joining container's root, mounts
	// and process; its gofer's connection comes with the request, then
	// its stdio (Stdio says which).
	Config *sandbox.Config `json:"config,omitempty"`
	// Payload is, instead of Config and a gofer, the configuration of a
	// container joining a sandbox of another kind, as that sandbox
	// reads it (a VM's: package vm's Config); its stdio comes with the
	// request (Stdio says which).
	Payload json.RawMessage `json:"payload,omitempty"`
	// Signal and All are a kill's; PID, when set, is the process of
	// the sandbox it signals (an exec'd one) instead of init.
	Signal int   `json:"signal,omitempty"`
	All    bool  `json:"all,omitempty"`
	PID    int32 `json:"pid,omitempty"`
	// Process is an exec's; Stdio says which of descriptors 0-2 were
	// sent, in order, with the request.
	Process *sandbox.Process `json:"process,omitempty"`
	Stdio   [3]bool          `json:"stdio,omitempty"`
	// TaskLimit is an update's new bound on the sandbox's tasks.
	TaskLimit *int64 `json:"taskLimit,omitempty"`
	// Resources are an update's new limits for a VM sandbox, whose
	// container's cgroup is in its guest (the host's cgroup holds the
	// VM without the container's limits).
	Resources *specs.LinuxResources `json:"resources,omitempty"`
	// Network is a network request's: the interfaces the sandbox takes
	// over, whose packet sockets come with the request, in order.
	Network *network.Config `json:"network,omitempty"`
}

// Requests.
const (
	OpState  = "state"
	OpStart  = "start"
	OpKill   = "kill"
	OpExec   = "exec"
	OpPs     = "ps"
	OpPause  = "pause"
	OpResume = "resume"
	OpUpdate = "update"
	OpStats  = "stats"
	// OpNetwork hands the sandbox the interfaces of its network
	// namespace, before start.
	OpNetwork = "network"
	// OpAdd makes a container join the sandbox (a pod's); it answers
	// twice, as an exec does: once the container is made, then when
	// its process has ended (or it was removed unstarted). OpRemove
	// takes it out.
	OpAdd    = "add"
	OpRemove = "remove"
)

// maxFDs bounds the descriptors one request carries: an exec's stdio,
// or a network request's packet sockets.
const maxFDs = 16

// Statuses, as the runtime spec names them.
const (
	StatusCreated = "created"
	StatusRunning = "running"
	StatusPaused  = "paused"
	StatusStopped = "stopped"
)

// Response answers a request.
type Response struct {
	Error string `json:"error,omitempty"`
	// Status is the container's (state).
	Status string `json:"status,omitempty"`
	// PID is an exec'd process's, in the sandbox.
	PID int32 `json:"pid,omitempty"`
	// Exit is how an exec'd process ended (its second response).
	Exit *ExitStatus `json:"exit,omitempty"`
	// Processes are ps's.
	Processes []kernel.ProcessInfo `json:"processes,omitempty"`
	// Tasks and TaskLimit are stats': the sandbox's tasks (threads)
	// and their bound (zero or less: none), its pids controller.
	Tasks     int   `json:"tasks,omitempty"`
	TaskLimit int64 `json:"taskLimit,omitempty"`
	// Usage is a joined container's stats: what its processes use,
	// from the sandbox's own accounting.
	Usage *kernel.Usage `json:"usage,omitempty"`
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code   int `json:"code"`
	Signal int `json:"signal,omitempty"`
}

// HostCode is the status a shell reports: the exit code, or 128+signal.
func (s ExitStatus) HostCode() int {
	if s.Signal != 0 {
		return 128 + s.Signal
	}
	return s.Code
}

func exitStatusOf(s kernel.ExitStatus) *ExitStatus {
	return &ExitStatus{Code: s.Code, Signal: int(s.Signal)}
}

// send writes one message carrying fds.
func send(fd int, v any, fds []int) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	msg := make([]byte, 4+len(body))
	binary.LittleEndian.PutUint32(msg, uint32(len(body)))
	copy(msg[4:], body)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	for len(msg) > 0 {
		n, err := unix.SendmsgN(fd, msg, oob, nil, unix.MSG_NOSIGNAL)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		msg, oob = msg[n:], nil
	}
	return nil
}

// receive reads one message into v and returns the descriptors that
// came with it (close-on-exec).
func receive(fd int, v any) ([]int, error) {
	var fds []int
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	header := make([]byte, 4)
	if err := readFull(fd, header, oob, &fds); err != nil {
		return nil, err
	}
	size := binary.LittleEndian.Uint32(header)
	if size > maxMessage {
		closeAll(fds)
		return nil, fmt.Errorf("control message of %d bytes", size)
	}
	body := make([]byte, size)
	if err := readFull(fd, body, oob, &fds); err != nil {
		closeAll(fds)
		return nil, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		closeAll(fds)
		return nil, fmt.Errorf("control message: %w", err)
	}
	return fds, nil
}

func readFull(fd int, buf, oob []byte, fds *[]int) error {
	for len(buf) > 0 {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if oobn > 0 {
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err == nil {
				for _, m := range msgs {
					if rights, err := unix.ParseUnixRights(&m); err == nil {
						*fds = append(*fds, rights...)
					}
				}
			}
		}
		if n == 0 {
			return fmt.Errorf("control connection closed: %w", unix.ECONNRESET)
		}
		buf = buf[n:]
	}
	return nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// socketPath names the control socket in dir by a short path: Unix
// socket names are limited to 108 bytes, which a state directory named
// by a 64-character container ID under a deep root can exceed. The
// descriptor dir must stay open while the name is used.
func socketPath(dir *os.File) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), ControlSocketName)
}

// ControlSocketName is the control socket's name in the state directory.
const ControlSocketName = "control.sock"
