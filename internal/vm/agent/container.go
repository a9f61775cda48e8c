package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/vm/agentapi"
)

// Container statuses, as OCI names them.
const (
	statusCreated = "created"
	statusRunning = "running"
	statusStopped = "stopped"
)

type agent struct {
	reaper *reaper

	// mu guards containers, shares and each container's status and
	// execs.
	mu         sync.Mutex
	containers map[string]*container
	// shares are the mounted shares: tag -> directory.
	shares map[string]string
}

func newAgent() *agent {
	return &agent{reaper: newReaper(), containers: map[string]*container{}, shares: map[string]string{}}
}

type container struct {
	id     string
	dir    string // containersDir/ID: upper, work, rootfs
	rootfs string
	cgroup string // its directory in the guest's cgroup2 tree
	// devDir is the tmpfs of its staged device nodes (user namespace).
	devDir string
	// holder starts its processes in its user namespace; nil without
	// one. A pod's other container with the same ID maps shares its
	// pod's first container's (sharedHolder), as Kubernetes puts a pod
	// in one user namespace; the first's end ends it.
	holder       *nsHolder
	sharedHolder bool
	// uidMaps and gidMaps are its user namespace's.
	uidMaps, gidMaps []*agentapi.IDMapping
	init             *process
	// start is the write end of the init helper's start pipe; status
	// reads its status pipe.
	start  *os.File
	status *json.Decoder
	statR  *os.File
	// Guarded by agent.mu.
	state string
	execs map[string]*process
}

// process is a process the agent started: a container's init or an
// exec'd one.
type process struct {
	pid    int // in the guest's PID namespace
	stdin  *stdin
	stdout *stream
	stderr *stream
	// terminal is the master of the process's terminal, or nil.
	terminal *os.File
	// done is closed once the process has been reaped; ws is then its
	// status.
	done chan struct{}
	ws   unix.WaitStatus
}

func validID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") || len(id) > 1024 {
		return fmt.Errorf("invalid container ID %q", id)
	}
	return nil
}

func (a *agent) container(id string) (*container, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.containers[id]
	if !ok {
		return nil, fmt.Errorf("no container %q", id)
	}
	return c, nil
}

// process finds a container's init (execID empty) or exec'd process.
func (a *agent) process(containerID, execID string) (*container, *process, error) {
	c, err := a.container(containerID)
	if err != nil {
		return nil, nil, err
	}
	if execID == "" {
		return c, c.init, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := c.execs[execID]
	if !ok {
		return nil, nil, fmt.Errorf("no process %q in container %q", execID, containerID)
	}
	return c, p, nil
}

// mountShare mounts a share of the host once, at sharesDir/TAG.
func (a *agent) mountShare(s *agentapi.Share) (string, error) {
	if s.Tag == "" || strings.ContainsAny(s.Tag, "/\x00") || s.Tag == "." || s.Tag == ".." {
		return "", fmt.Errorf("invalid share tag %q", s.Tag)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if dir, ok := a.shares[s.Tag]; ok {
		return dir, nil
	}
	dir := filepath.Join(sharesDir, s.Tag)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var flags uintptr = unix.MS_NODEV
	if s.Readonly {
		flags |= unix.MS_RDONLY
	}
	var err error
	switch s.Fs {
	case "9p", "":
		// A read-only share (an image) may be cached; one the host
		// may write to (a volume) is not.
		cache := "cache=mmap"
		if s.Readonly {
			cache = "cache=loose"
		}
		err = unix.Mount(s.Tag, dir, "9p", flags, "trans=virtio,version=9p2000.L,msize=512000,"+cache)
	case "virtiofs":
		if err = loadModules(groupVirtiofs); err == nil {
			err = unix.Mount(s.Tag, dir, "virtiofs", flags, "")
		}
	default:
		err = fmt.Errorf("unknown file system %q", s.Fs)
	}
	if err != nil {
		return "", fmt.Errorf("mounting share %s (%s): %w", s.Tag, s.Fs, err)
	}
	a.shares[s.Tag] = dir
	return dir, nil
}

// createContainer builds a container and its init, which waits for
// start.
func (a *agent) createContainer(req *agentapi.CreateContainerRequest) (err error) {
	if err := validID(req.Id); err != nil {
		return err
	}
	if req.Process == nil {
		return errors.New("a container without a process")
	}
	a.mu.Lock()
	if _, ok := a.containers[req.Id]; ok {
		a.mu.Unlock()
		return fmt.Errorf("container %q exists", req.Id)
	}
	c := &container{id: req.Id, dir: filepath.Join(containersDir, req.Id), execs: map[string]*process{}}
	a.containers[req.Id] = c
	a.mu.Unlock()
	defer func() {
		if err != nil {
			a.mu.Lock()
			delete(a.containers, req.Id)
			a.mu.Unlock()
			c.cleanup()
		}
	}()

	shares := map[string]string{}
	for _, s := range req.Shares {
		dir, err := a.mountShare(s)
		if err != nil {
			return err
		}
		shares[s.Tag] = dir
	}
	lower, ok := shares[req.RootShare]
	if !ok {
		return fmt.Errorf("the root share %q is not among the shares", req.RootShare)
	}
	if req.RootPath != "" {
		lower = filepath.Join(lower, filepath.Clean("/"+req.RootPath))
	}
	// The image read-only below, the guest's memory above.
	upper, work := filepath.Join(c.dir, "upper"), filepath.Join(c.dir, "work")
	c.rootfs = filepath.Join(c.dir, "rootfs")
	for _, d := range []string{upper, work, c.rootfs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The overlay's root is its upper directory: it takes the image's
	// root's owner and mode (in a user namespace, the container's root
	// must own it to write there).
	var rootSt unix.Stat_t
	if err := unix.Stat(lower, &rootSt); err != nil {
		return fmt.Errorf("the image's root: %w", err)
	}
	if err := os.Chown(upper, int(rootSt.Uid), int(rootSt.Gid)); err != nil {
		return err
	}
	if err := os.Chmod(upper, os.FileMode(rootSt.Mode&0o777)); err != nil {
		return err
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if err := unix.Mount("overlay", c.rootfs, "overlay", 0, opts); err != nil {
		return fmt.Errorf("the root's overlay: %w", err)
	}

	cfg := helperConfig{
		Rootfs:        c.rootfs,
		RootReadonly:  req.RootReadonly,
		Hostname:      req.Hostname,
		Domainname:    req.Domainname,
		MaskedPaths:   req.MaskedPaths,
		ReadonlyPaths: req.ReadonlyPaths,
		Sysctl:        req.Sysctl,
		Process:       toProcessSpec(req.Process),
	}
	if cfg.Devices, err = toDeviceSpecs(req.Devices); err != nil {
		return err
	}
	// A pod's other container joins the IPC and UTS namespaces of the
	// pod's first: its hostname is the pod's, not its own to set.
	var podNS []namespaceFile
	var pod *container
	if req.SandboxId != "" {
		if pod, podNS, err = a.podNamespaces(req.SandboxId); err != nil {
			return err
		}
		defer closeNamespaces(podNS)
		cfg.Hostname, cfg.Domainname = "", ""
	}
	userNS := len(req.UidMappings) > 0 || len(req.GidMappings) > 0
	if userNS {
		if err := checkIDMaps(req.UidMappings, req.GidMappings); err != nil {
			return err
		}
		// The namespace's root walks to the container's root and the
		// shares' directories, owned by the guest's root, which it
		// does not map.
		for _, d := range []string{runDir, sharesDir, containersDir} {
			if err := os.Chmod(d, 0o711); err != nil {
				return err
			}
		}
		devs := cfg.Devices
		for _, m := range req.Mounts {
			if filepath.Clean(m.Destination) == "/dev" {
				devs = append(append([]deviceSpec(nil), defaultDevices...), devs...)
				break
			}
		}
		if cfg.StagedDevices, err = c.stageDevices(devs, req.UidMappings, req.GidMappings); err != nil {
			return err
		}
		c.uidMaps, c.gidMaps = req.UidMappings, req.GidMappings
		if pod != nil && pod.holder != nil && sameIDMaps(pod.uidMaps, c.uidMaps) && sameIDMaps(pod.gidMaps, c.gidMaps) {
			// The pod's user namespace owns its IPC and UTS namespaces:
			// the container may mount its mqueue there, which a user
			// namespace of its own could not.
			c.holder, c.sharedHolder = pod.holder, true
		} else if c.holder, err = a.startHolder(req.UidMappings, req.GidMappings, podNS); err != nil {
			return err
		}
	}
	for _, m := range req.Mounts {
		hm := helperMount{Destination: m.Destination, Type: m.Type, Source: m.Source, Options: m.Options}
		if m.Share != "" {
			dir, ok := shares[m.Share]
			if !ok {
				return fmt.Errorf("mount %s: share %q is not among the shares", m.Destination, m.Share)
			}
			hm.Source = filepath.Join(dir, filepath.Clean("/"+m.Source))
		}
		cfg.Mounts = append(cfg.Mounts, hm)
	}
	if err := c.makeCgroup(req.Resources); err != nil {
		return err
	}
	cg, err := os.Open(c.cgroup)
	if err != nil {
		return err
	}
	defer cg.Close()

	startR, startW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer startR.Close()
	c.start = startW
	var spawn func(*os.ProcAttr) (int, error)
	switch {
	case c.sharedHolder:
		// The pod's holder enters the pod's IPC and UTS namespaces,
		// which its user namespace owns.
		spawn = func(attr *os.ProcAttr) (int, error) { return c.holder.spawn(initVerb, attr, podNS) }
	case c.holder != nil:
		// Born in the pod's IPC and UTS namespaces, if any: its
		// children inherit them.
		spawn = func(attr *os.ProcAttr) (int, error) { return c.holder.spawn(initVerb, attr, nil) }
	case podNS != nil:
		spawn = func(attr *os.ProcAttr) (int, error) {
			return inNamespaces(podNS, func() (int, error) { return forkHelper(initVerb, attr) })
		}
	}
	p, err := a.startHelper(initVerb, &cfg, req.Process.Terminal, startR, func(attr *os.ProcAttr) {
		// No CLONE_NEWNET: the container sees the guest's NIC and
		// loopback, as a pod's containers see the pod's (the VM is the
		// pod). A PID namespace of its own also in a pod, as
		// Kubernetes gives each container by default.
		attr.Sys.Cloneflags = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC
		if podNS != nil {
			attr.Sys.Cloneflags = unix.CLONE_NEWNS | unix.CLONE_NEWPID
		}
		if c.holder == nil {
			attr.Sys.UseCgroupFD = true
			attr.Sys.CgroupFD = int(cg.Fd())
		}
	}, spawn, c.prepare(req.Process), c)
	if err != nil {
		return err
	}
	c.init = p
	var st helperStatus
	if err := c.status.Decode(&st); err != nil || !st.Created {
		unix.Kill(p.pid, unix.SIGKILL)
		<-p.done
		if err == nil {
			err = errors.New(st.Error)
		}
		return fmt.Errorf("creating the container: %w", err)
	}
	a.mu.Lock()
	c.state = statusCreated
	a.mu.Unlock()
	go func() {
		<-p.done
		a.mu.Lock()
		c.state = statusStopped
		a.mu.Unlock()
		if c.holder != nil && !c.sharedHolder {
			c.holder.close()
		}
	}()
	return nil
}

// podNamespaces returns the pod's first container and opens the IPC
// and UTS namespaces of its init, which the pod's other containers
// join.
func (a *agent) podNamespaces(sandboxID string) (*container, []namespaceFile, error) {
	sb, err := a.container(sandboxID)
	if err != nil {
		return nil, nil, fmt.Errorf("the pod's sandbox container: %w", err)
	}
	a.mu.Lock()
	init, state := sb.init, sb.state
	a.mu.Unlock()
	if init == nil || state == statusStopped {
		return nil, nil, fmt.Errorf("the pod's sandbox container %q has ended", sandboxID)
	}
	var out []namespaceFile
	for _, name := range []string{"ipc", "uts"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", init.pid, name))
		if err != nil {
			closeNamespaces(out)
			return nil, nil, fmt.Errorf("the pod's %s namespace: %w", name, err)
		}
		out = append(out, namespaceFile{name, f})
	}
	return sb, out, nil
}

// sameIDMaps reports whether two ID maps are the same.
func sameIDMaps(a, b []*agentapi.IDMapping) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ContainerId != b[i].ContainerId || a[i].HostId != b[i].HostId || a[i].Size != b[i].Size {
			return false
		}
	}
	return true
}

// deleteTimeout bounds the wait for a deleted container's processes to
// be gone.
const deleteTimeout = 10 * time.Second

// deleteContainer kills a container's processes, waits for them and
// undoes what createContainer made: a pod's container that leaves while
// the others go on. cgroup.kill ends every process of its cgroup, and
// its init is its PID namespace's: every process of the container
// (exec'd ones entered that namespace) dies with it.
func (a *agent) deleteContainer(id string) error {
	c, err := a.container(id)
	if err != nil {
		return err
	}
	a.mu.Lock()
	init := c.init
	a.mu.Unlock()
	if c.cgroup != "" {
		os.WriteFile(filepath.Join(c.cgroup, "cgroup.kill"), []byte("1"), 0)
	}
	if init != nil {
		unix.Kill(init.pid, unix.SIGKILL)
	}
	if c.holder != nil && !c.sharedHolder {
		c.holder.close()
	}
	deadline := time.Now().Add(deleteTimeout)
	if init != nil {
		select {
		case <-init.done:
		case <-time.After(deleteTimeout):
			return fmt.Errorf("container %q: its init did not die", id)
		}
	}
	// The namespace's other processes die after its init is reaped.
	for c.cgroup != "" && cgroupPopulated(c.cgroup) {
		if time.Now().After(deadline) {
			return fmt.Errorf("container %q: its processes did not die", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.mu.Lock()
	delete(a.containers, id)
	a.mu.Unlock()
	c.cleanup()
	return nil
}

// cgroupPopulated reports whether a cgroup (or one below it) still
// holds processes.
func cgroupPopulated(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "populated "); ok {
			return strings.TrimSpace(v) == "1"
		}
	}
	return false
}

// prepare returns what is done to a helper of the container before it
// reads its configuration, from outside: in a user namespace, its move
// into the container's cgroup (it could not be born there) and its
// rlimits (raising a hard limit takes CAP_SYS_RESOURCE in the guest's
// namespace, which the helper lacks there; it sets them again itself,
// which tells Go's runtime to keep them at exec); and its
// oom_score_adj, which lowering takes the same capability for.
func (c *container) prepare(p *agentapi.Process) func(pid int) error {
	return func(pid int) error {
		if c.holder != nil {
			if err := moveToCgroup(c.cgroup, pid); err != nil {
				return err
			}
			for _, r := range p.Rlimits {
				lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
				if err := unix.Prlimit(pid, int(r.Resource), &lim, nil); err != nil {
					return fmt.Errorf("setrlimit %d: %w", r.Resource, err)
				}
			}
		}
		if p.HasOomScoreAdj {
			err := os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte(strconv.Itoa(int(p.OomScoreAdj))), 0)
			if err != nil {
				return fmt.Errorf("process.oomScoreAdj: %w", err)
			}
		}
		return nil
	}
}

// makeCgroup makes the container's cgroup with its limits.
func (c *container) makeCgroup(r *agentapi.Resources) error {
	c.cgroup = filepath.Join(cgroupRoot, "magawa-"+c.id)
	if err := os.Mkdir(c.cgroup, 0o755); err != nil {
		return fmt.Errorf("the container's cgroup: %w", err)
	}
	if r == nil {
		return nil
	}
	return setLimits(c.cgroup, r)
}

// cleanup undoes what createContainer made; its processes are gone.
func (c *container) cleanup() {
	if c.start != nil {
		c.start.Close()
	}
	if c.statR != nil {
		c.statR.Close()
	}
	if c.holder != nil && !c.sharedHolder {
		c.holder.close()
	}
	if c.devDir != "" {
		unix.Unmount(c.devDir, unix.MNT_DETACH)
	}
	if c.rootfs != "" {
		unix.Unmount(c.rootfs, unix.MNT_DETACH)
	}
	if c.cgroup != "" {
		os.Remove(c.cgroup)
	}
	os.RemoveAll(c.dir)
}

// startHelper starts the agent's helper with cfg and the process's
// stdio, with extra as its descriptor 5. tweak adjusts the process's
// attributes; spawn, when set, starts it (forkHelper's job otherwise);
// prepare, when set, is done to it before it reads cfg. For
// container-init, c gets the status pipe. With a terminal, the helper
// makes it in the container and sends its master back (setupTerminal):
// its stdio until then is /dev/null.
func (a *agent) startHelper(verb string, cfg *helperConfig, terminal bool, extra *os.File,
	tweak func(*os.ProcAttr), spawn func(*os.ProcAttr) (int, error), prepare func(pid int) error, c *container) (*process, error) {
	p := &process{done: make(chan struct{})}
	var childStdio [3]*os.File
	var closeAfter []*os.File
	defer func() {
		for _, f := range closeAfter {
			f.Close()
		}
	}()
	// consoleSock receives the terminal's master; consoleHelper is the
	// helper's end.
	var consoleSock, consoleHelper *os.File
	if terminal {
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("the terminal's socket: %w", err)
		}
		consoleSock = os.NewFile(uintptr(pair[0]), "console")
		defer consoleSock.Close()
		consoleHelper = os.NewFile(uintptr(pair[1]), "console-helper")
		closeAfter = append(closeAfter, consoleHelper)
		null, err := os.OpenFile(os.DevNull, os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		closeAfter = append(closeAfter, null)
		childStdio = [3]*os.File{null, null, null}
	} else {
		inR, inW, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		outR, outW, err := os.Pipe()
		if err != nil {
			inR.Close()
			inW.Close()
			return nil, err
		}
		errR, errW, err := os.Pipe()
		if err != nil {
			inR.Close()
			inW.Close()
			outR.Close()
			outW.Close()
			return nil, err
		}
		closeAfter = append(closeAfter, inR, outW, errW)
		childStdio = [3]*os.File{inR, outW, errW}
		p.stdin = &stdin{f: inW}
		p.stdout = newStream(outR)
		p.stderr = newStream(errR)
	}
	fail := func(err error) (*process, error) {
		if p.stdin != nil {
			p.stdin.close()
		}
		if p.terminal != nil {
			p.terminal.Close()
		}
		return nil, err
	}
	configR, configW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	closeAfter = append(closeAfter, configR)
	statR, statW, err := os.Pipe()
	if err != nil {
		configW.Close()
		return fail(err)
	}
	closeAfter = append(closeAfter, statW)
	files := []*os.File{childStdio[0], childStdio[1], childStdio[2], configR, statW}
	if extra != nil {
		files = append(files, extra)
	}
	if terminal {
		if len(files) != helperConsoleFD {
			configW.Close()
			statR.Close()
			return fail(errors.New("the helper's terminal socket would not be its descriptor 6"))
		}
		files = append(files, consoleHelper)
	}
	attr := &os.ProcAttr{
		Files: files,
		Env:   []string{},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	}
	if tweak != nil {
		tweak(attr)
	}
	fork := func() (int, error) { return forkHelper(verb, attr) }
	if spawn != nil {
		fork = func() (int, error) { return spawn(attr) }
	}
	pid, exited, err := a.reaper.start(fork)
	if err != nil {
		configW.Close()
		statR.Close()
		return fail(fmt.Errorf("starting the helper: %w", err))
	}
	p.pid = pid
	// The child's ends: the status pipe ends only once no one else
	// holds its write end.
	for _, f := range closeAfter {
		f.Close()
	}
	closeAfter = nil
	go func() {
		p.ws = <-exited
		close(p.done)
	}()
	if prepare != nil {
		if err := prepare(pid); err != nil {
			unix.Kill(pid, unix.SIGKILL)
			configW.Close()
			statR.Close()
			<-p.done
			return fail(err)
		}
	}
	go func() {
		json.NewEncoder(configW).Encode(cfg)
		configW.Close()
	}()
	if terminal {
		master, err := receiveTerminal(int(consoleSock.Fd()))
		if err != nil {
			// The helper failed before it made the terminal: its
			// status says why.
			var st helperStatus
			if derr := json.NewDecoder(statR).Decode(&st); derr == nil && st.Error != "" {
				err = errors.New(st.Error)
			}
			statR.Close()
			unix.Kill(pid, unix.SIGKILL)
			<-p.done
			return nil, err
		}
		p.terminal = master
		p.stdin = &stdin{f: master, terminal: true}
		p.stdout = newStream(master)
		p.stderr = emptyStream()
	}
	if c != nil {
		c.statR = statR
		c.status = json.NewDecoder(statR)
		return p, nil
	}
	// container-exec: the program runs once the status pipe closes
	// without a word.
	defer statR.Close()
	var st helperStatus
	err = json.NewDecoder(statR).Decode(&st)
	if err == io.EOF {
		return p, nil
	}
	if err == nil {
		err = errors.New(st.Error)
	}
	<-p.done
	return nil, err
}

// forkHelper starts the agent's helper verb with attr.
func forkHelper(verb string, attr *os.ProcAttr) (int, error) {
	proc, err := os.StartProcess("/proc/self/exe", []string{"magawa-agent", verb}, attr)
	if err != nil {
		return 0, err
	}
	pid := proc.Pid
	proc.Release()
	return pid, nil
}

// startContainer lets the init run the program.
func (a *agent) startContainer(id string) error {
	c, err := a.container(id)
	if err != nil {
		return err
	}
	a.mu.Lock()
	state := c.state
	if state == statusCreated {
		c.state = statusRunning
	}
	a.mu.Unlock()
	if state != statusCreated {
		return fmt.Errorf("cannot start a container that is %s", state)
	}
	if _, err := c.start.Write([]byte{0}); err != nil {
		return fmt.Errorf("starting the container: %w", err)
	}
	c.start.Close()
	var st helperStatus
	err = c.status.Decode(&st)
	c.statR.Close()
	if err == io.EOF {
		return nil
	}
	if err == nil {
		err = errors.New(st.Error)
	}
	return err
}

// execProcess starts another process in a running container.
func (a *agent) execProcess(req *agentapi.ExecProcessRequest) (int, error) {
	if req.Process == nil {
		return 0, errors.New("exec without a process")
	}
	c, err := a.container(req.ContainerId)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	state := c.state
	_, dup := c.execs[req.ExecId]
	a.mu.Unlock()
	if state != statusRunning {
		return 0, fmt.Errorf("cannot exec in a container that is %s", state)
	}
	if req.ExecId == "" || dup {
		return 0, fmt.Errorf("invalid or duplicate exec ID %q", req.ExecId)
	}
	initPid := c.init.pid
	mntns, err := os.Open(fmt.Sprintf("/proc/%d/ns/mnt", initPid))
	if err != nil {
		return 0, fmt.Errorf("the container's mount namespace: %w", err)
	}
	defer mntns.Close()
	cg, err := os.Open(c.cgroup)
	if err != nil {
		return 0, err
	}
	defer cg.Close()
	nss, err := openNamespaces(initPid)
	if err != nil {
		return 0, err
	}
	defer closeNamespaces(nss)
	cfg := helperConfig{Process: toProcessSpec(req.Process)}
	p, err := a.startHelper(execVerb, &cfg, req.Process.Terminal, mntns, func(attr *os.ProcAttr) {
		if c.holder == nil {
			attr.Sys.UseCgroupFD = true
			attr.Sys.CgroupFD = int(cg.Fd())
		}
	}, func(attr *os.ProcAttr) (int, error) {
		if c.holder != nil {
			return c.holder.spawn(execVerb, attr, nss)
		}
		return inNamespaces(nss, func() (int, error) { return forkHelper(execVerb, attr) })
	}, c.prepare(req.Process), nil)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	c.execs[req.ExecId] = p
	a.mu.Unlock()
	return nsPID(p.pid), nil
}

// inNamespaces runs fork on a thread that has entered the namespaces
// (those of namespaceFlags: PID, IPC, UTS, network and cgroup), so that
// the child is born in them.
func inNamespaces(nss []namespaceFile, fork func() (int, error)) (int, error) {
	return onThreadIn(func() error {
		for _, ns := range nss {
			flag := 0
			for _, nf := range namespaceFlags {
				if nf.name == ns.name {
					flag = nf.flag
				}
			}
			if inNamespace(int(ns.f.Fd()), ns.name) {
				continue
			}
			if err := unix.Setns(int(ns.f.Fd()), flag); err != nil {
				return fmt.Errorf("entering the container's %s namespace: %w", ns.name, err)
			}
		}
		return nil
	}, fork)
}

// inNamespace reports whether the calling thread is in the namespace
// fd names already: the container shares the guest's network namespace,
// which a thread in the container's user namespace could not enter
// again (setns needs CAP_SYS_ADMIN in the namespace's owner).
func inNamespace(fd int, name string) bool {
	var target, own unix.Stat_t
	if unix.Fstat(fd, &target) != nil || unix.Stat("/proc/thread-self/ns/"+name, &own) != nil {
		return false
	}
	return target.Dev == own.Dev && target.Ino == own.Ino
}

// nsPID is a process's PID in its own (innermost) namespace, from
// /proc/PID/status's NSpid.
func nsPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return pid
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			if n, err := strconv.Atoi(f[len(f)-1]); err == nil {
				return n
			}
		}
	}
	return pid
}

// receiveTerminal receives the master of a terminal a helper made
// (setupTerminal) on sock: one descriptor, which must be a terminal.
func receiveTerminal(sock int) (*os.File, error) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receiving the terminal: %w", err)
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for i := range msgs {
			if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("the helper sent no terminal")
	}
	if _, err := unix.IoctlGetTermios(fds[0], unix.TCGETS); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("the helper sent something other than a terminal: %w", err)
	}
	// Non-blocking, so that Go's poller serves its reads and writes.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), "/dev/ptmx"), nil
}

func toProcessSpec(p *agentapi.Process) processSpec {
	s := processSpec{
		Args: p.Args, Env: p.Env, Cwd: p.Cwd, UID: p.Uid, GID: p.Gid,
		AdditionalGids: p.AdditionalGids, NoNewPrivileges: p.NoNewPrivileges, Terminal: p.Terminal,
		ConsoleRows: uint16(min(p.ConsoleRows, 0xffff)), ConsoleColumns: uint16(min(p.ConsoleColumns, 0xffff)),
	}
	if p.HasUmask {
		u := p.Umask
		s.Umask = &u
	}
	for _, r := range p.Rlimits {
		s.Rlimits = append(s.Rlimits, rlimitSpec{Resource: int(r.Resource), Soft: r.Soft, Hard: r.Hard})
	}
	if c := p.Capabilities; c != nil {
		s.Caps = &capSpec{Bounding: c.Bounding, Effective: c.Effective, Inheritable: c.Inheritable, Permitted: c.Permitted, Ambient: c.Ambient}
	}
	return s
}

// waitProcess waits for a process's end.
func waitProcess(ctx context.Context, p *process) (unix.WaitStatus, error) {
	select {
	case <-p.done:
		return p.ws, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
