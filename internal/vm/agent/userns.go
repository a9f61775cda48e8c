package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/vm/agentapi"
)

// A container with a user namespace (OCI linux.uidMappings and
// gidMappings). Its processes are born in the namespace, with the
// container's other namespaces owned by it, as runc makes them; the
// agent writes the maps from outside.
//
// A Go program cannot join a user namespace: setns(CLONE_NEWUSER)
// wants a single-threaded caller, and the Go runtime has started
// threads before main. So the namespace has a holder: a helper the
// agent starts in a new user namespace (Go's SysProcAttr writes its
// maps from the agent), which stays outside the container's PID
// namespace and cgroup and, on the agent's request, starts the
// container's init (in new namespaces it owns) and its exec'd
// processes (from a thread that entered the container's namespaces).
// It starts them with CLONE_PARENT: they are the agent's children, which
// its reaper waits for as for any other. The agent then moves each into
// the container's cgroup before the helper reads its configuration.

// holderVerb is the holder's helper verb.
const holderVerb = "container-userns"

// holderRequest asks the holder to start a helper. The descriptors
// that come with it are the helper's first Files ones (stdio, config,
// status, and its extra one), then one per entry of Namespaces, which
// the helper is started in.
type holderRequest struct {
	Verb       string
	Cloneflags uintptr
	Setctty    bool
	Files      int
	Namespaces []string
}

type holderResponse struct {
	Pid   int    `json:",omitempty"`
	Error string `json:",omitempty"`
}

// nsHolder is the agent's side of a holder.
type nsHolder struct {
	pid  int
	done <-chan unix.WaitStatus
	// mu serialises requests on sock (SOCK_SEQPACKET: a message each).
	mu   sync.Mutex
	sock *os.File
}

// holderTimeout bounds the wait for the holder's answer.
const holderTimeout = 20 * time.Second

// maxHolderFDs bounds the descriptors of a request: six files and five
// namespaces.
const maxHolderFDs = 16

// checkIDMaps checks a user namespace's maps as runc does: both given,
// and the container's root (0) mapped, which its helpers start as.
func checkIDMaps(uids, gids []*agentapi.IDMapping) error {
	if len(uids) == 0 || len(gids) == 0 {
		return errors.New("a user namespace needs both uid and gid mappings")
	}
	for _, m := range [][]*agentapi.IDMapping{uids, gids} {
		for _, e := range m {
			if e.Size == 0 || uint64(e.ContainerId)+uint64(e.Size) > 1<<32 || uint64(e.HostId)+uint64(e.Size) > 1<<32 {
				return fmt.Errorf("invalid ID mapping %d %d %d", e.ContainerId, e.HostId, e.Size)
			}
		}
	}
	if _, ok := mapID(uids, 0); !ok {
		return errors.New("the uid mappings do not map the container's root (0)")
	}
	if _, ok := mapID(gids, 0); !ok {
		return errors.New("the gid mappings do not map the container's root group (0)")
	}
	return nil
}

func toSysMaps(m []*agentapi.IDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerId), HostID: int(e.HostId), Size: int(e.Size)}
	}
	return out
}

// startHolder starts a holder in a new user namespace with these maps,
// as the namespace's root; in the namespaces given (a pod's IPC and
// UTS), which the processes it starts inherit (from inside the new user
// namespace it could not enter them: it has no capability in their
// owner).
func (a *agent) startHolder(uids, gids []*agentapi.IDMapping, namespaces []namespaceFile) (*nsHolder, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("the user namespace's socket: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "holder"), os.NewFile(uintptr(fds[1]), "agent")
	defer theirs.Close()
	devNull, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		mine.Close()
		return nil, err
	}
	defer devNull.Close()
	attr := &os.ProcAttr{
		// Its errors go to the console.
		Files: []*os.File{devNull, devNull, os.Stderr, theirs},
		Env:   []string{},
		Sys: &syscall.SysProcAttr{
			Setsid:      true,
			Cloneflags:  unix.CLONE_NEWUSER,
			UidMappings: toSysMaps(uids),
			GidMappings: toSysMaps(gids),
			// The container's processes take supplementary groups.
			GidMappingsEnableSetgroups: true,
			// Root of the namespace, so that it keeps its capabilities
			// there across execve.
			Credential: &syscall.Credential{Uid: 0, Gid: 0},
		},
	}
	// A holder that hangs must not hang the agent's call.
	tv := unix.NsecToTimeval(holderTimeout.Nanoseconds())
	unix.SetsockoptTimeval(fds[0], unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	pid, exited, err := a.reaper.start(func() (int, error) {
		if len(namespaces) > 0 {
			return inNamespaces(namespaces, func() (int, error) { return forkHelper(holderVerb, attr) })
		}
		return forkHelper(holderVerb, attr)
	})
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("starting the user namespace: %w", err)
	}
	return &nsHolder{pid: pid, done: exited, sock: mine}, nil
}

// spawn has the holder start a helper with attr's descriptors and
// clone flags, in the namespaces given (name and descriptor), and
// returns its PID.
func (h *nsHolder) spawn(verb string, attr *os.ProcAttr, namespaces []namespaceFile) (int, error) {
	req := holderRequest{Verb: verb, Cloneflags: attr.Sys.Cloneflags, Setctty: attr.Sys.Setctty, Files: len(attr.Files)}
	var fds []int
	for _, f := range attr.Files {
		fds = append(fds, int(f.Fd()))
	}
	for _, ns := range namespaces {
		req.Namespaces = append(req.Namespaces, ns.name)
		fds = append(fds, int(ns.f.Fd()))
	}
	body, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sock == nil {
		return 0, errors.New("the container's user namespace has ended")
	}
	sock := int(h.sock.Fd())
	if err := unix.Sendmsg(sock, body, unix.UnixRights(fds...), nil, unix.MSG_NOSIGNAL); err != nil {
		h.closeLocked()
		return 0, fmt.Errorf("asking the user namespace's holder: %w", err)
	}
	buf := make([]byte, 4096)
	n, _, _, _, err := unix.Recvmsg(sock, buf, nil, 0)
	if err != nil || n == 0 {
		// A late answer would be taken for the next request's.
		h.closeLocked()
		return 0, fmt.Errorf("the user namespace's holder did not answer: %v", err)
	}
	var resp holderResponse
	if err := json.Unmarshal(buf[:n], &resp); err != nil {
		return 0, fmt.Errorf("the user namespace's holder: %w", err)
	}
	if resp.Error != "" {
		return 0, errors.New(resp.Error)
	}
	return resp.Pid, nil
}

// close ends the holder: it exits once its socket is closed.
func (h *nsHolder) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closeLocked()
}

func (h *nsHolder) closeLocked() {
	if h.sock != nil {
		h.sock.Close()
		h.sock = nil
	}
}

// namespaceFile is an open namespace of a process, by its /proc/PID/ns
// name.
type namespaceFile struct {
	name string
	f    *os.File
}

// namespaceFlags are the namespaces an exec'd process enters before it
// is born (its mount namespace it enters itself), and their clone flags.
var namespaceFlags = []struct {
	name string
	flag int
}{{"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS}, {"net", unix.CLONE_NEWNET}, {"cgroup", unix.CLONE_NEWCGROUP}, {"pid", unix.CLONE_NEWPID}}

// openNamespaces opens pid's namespaces of namespaceFlags.
func openNamespaces(pid int) ([]namespaceFile, error) {
	var out []namespaceFile
	for _, ns := range namespaceFlags {
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, ns.name))
		if err != nil {
			closeNamespaces(out)
			return nil, fmt.Errorf("the container's %s namespace: %w", ns.name, err)
		}
		out = append(out, namespaceFile{ns.name, f})
	}
	return out, nil
}

func closeNamespaces(nss []namespaceFile) {
	for _, ns := range nss {
		ns.f.Close()
	}
}

// userNSHolder is the holder's main: it serves the agent's requests on
// descriptor 3 until the agent closes it.
func userNSHolder() int {
	unix.CloseOnExec(3)
	sock := 3
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(maxHolderFDs*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return 0
		}
		var fds []int
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if rights, err := unix.ParseUnixRights(&m); err == nil {
					fds = append(fds, rights...)
				}
			}
		}
		var resp holderResponse
		var req holderRequest
		if err := json.Unmarshal(buf[:n], &req); err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			resp.Error = fmt.Sprintf("the holder's request: %v", err)
		} else if pid, err := holderSpawn(req, fds); err != nil {
			resp.Error = err.Error()
		} else {
			resp.Pid = pid
		}
		body, _ := json.Marshal(resp)
		if err := unix.Sendmsg(sock, body, nil, nil, unix.MSG_NOSIGNAL); err != nil {
			return 1
		}
	}
}

// holderSpawn starts the helper a request asks for, and closes the
// request's descriptors.
func holderSpawn(req holderRequest, fds []int) (int, error) {
	bad := ""
	switch {
	case req.Verb != initVerb && req.Verb != execVerb:
		bad = fmt.Sprintf("the holder does not start %q", req.Verb)
	case req.Files < 3 || req.Files+len(req.Namespaces) != len(fds):
		bad = fmt.Sprintf("a request of %d files and %d namespaces came with %d descriptors", req.Files, len(req.Namespaces), len(fds))
	}
	if bad != "" {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return 0, errors.New(bad)
	}
	files := make([]*os.File, req.Files)
	for i := range files {
		files[i] = os.NewFile(uintptr(fds[i]), fmt.Sprintf("fd%d", i))
	}
	nsFDs := fds[req.Files:]
	defer func() {
		for _, f := range files {
			f.Close()
		}
		for _, fd := range nsFDs {
			unix.Close(fd)
		}
	}()
	attr := &os.ProcAttr{
		Files: files,
		Env:   []string{},
		Sys: &syscall.SysProcAttr{
			Setsid: true,
			// The agent's child, not the holder's: its reaper waits
			// for it.
			Cloneflags: req.Cloneflags | unix.CLONE_PARENT,
		},
	}
	if req.Setctty {
		attr.Sys.Setctty = true
		attr.Sys.Ctty = 0
	}
	if len(req.Namespaces) == 0 {
		return forkHelper(req.Verb, attr)
	}
	return onThreadIn(func() error {
		for i, name := range req.Namespaces {
			flag := -1
			for _, ns := range namespaceFlags {
				if ns.name == name {
					flag = ns.flag
				}
			}
			if flag < 0 {
				return fmt.Errorf("unknown namespace %q", name)
			}
			if inNamespace(nsFDs[i], name) {
				continue
			}
			if err := unix.Setns(nsFDs[i], flag); err != nil {
				return fmt.Errorf("entering the container's %s namespace: %w", name, err)
			}
		}
		return nil
	}, func() (int, error) { return forkHelper(req.Verb, attr) })
}

// onThreadIn runs fork on a thread of its own once enter has moved
// that thread into other namespaces, so that the child is born in
// them. The thread is never used again: its goroutine ends locked.
func onThreadIn(enter func() error, fork func() (int, error)) (int, error) {
	type result struct {
		pid int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := enter(); err != nil {
			ch <- result{0, err}
			return
		}
		p, err := fork()
		ch <- result{p, err}
	}()
	r := <-ch
	return r.pid, r.err
}
