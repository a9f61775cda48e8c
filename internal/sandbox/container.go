package sandbox

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	goferfs "magawa/kernel/fs/gofer"
	"magawa/kernel/fs/overlay"
	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// A pod's sandbox holds several containers: the first, the one the
// sandbox was built for (a pod's sandbox container), and the others,
// which join it (AddContainer). Each has its own root, served by a gofer
// of its own, and mount namespace; they share the sandbox's PID, IPC,
// UTS and network namespaces, as a Kubernetes pod with
// shareProcessNamespace does.

// container is a container that joined the sandbox.
type container struct {
	id  string
	cfg Config
	fss *fileSystems
	// init is its first process, once started.
	init *Execed
}

// containers are the joined containers by ID; containersMu guards
// them.
type containers struct {
	mu sync.Mutex
	m  map[string]*container
}

// ErrNoContainer is the error for an unknown container ID.
var ErrNoContainer = errors.New("no such container in the sandbox")

// AddContainer makes a container join the running sandbox: its root and
// mounts (cfg's, as for the first container) served by the gofer at the
// other end of goferFD (which it takes), started by the runtime with
// GoferExports(cfg). Its process waits for StartContainer. The sandbox's
// own settings (hostname, sysctl, user namespace) are the pod's: cfg's
// are not applied.
func (s *Sandbox) AddContainer(id string, cfg Config, goferFD int) (err error) {
	if id == "" {
		unix.Close(goferFD)
		return errors.New("a container needs an ID")
	}
	s.joined.mu.Lock()
	defer s.joined.mu.Unlock()
	if s.joined.m == nil {
		s.joined.m = map[string]*container{}
	}
	if s.joined.m[id] != nil {
		unix.Close(goferFD)
		return fmt.Errorf("container %s is already in the sandbox", id)
	}
	uids, gids, err := s.cfg.idMaps()
	if err != nil {
		unix.Close(goferFD)
		return err
	}
	client, err := goferfs.NewClient(goferFD, goferfs.ClientOptions{MemoryFile: s.mf, UIDMap: uids, GIDMap: gids})
	if err != nil {
		return fmt.Errorf("container %s: the gofer: %w", id, err)
	}
	defer func() {
		if err != nil {
			client.Close()
		}
	}()
	image, err := client.Mount(0, goferfs.MountOptions{})
	if err != nil {
		return fmt.Errorf("container %s: its root: %w", id, err)
	}
	var root vfs.FileSystem = image
	source := cfg.RootDir
	if !cfg.NoOverlay {
		upper := tmpfs.DefaultOptions()
		upper.Mode = 0o755
		if root, err = overlay.New(image, tmpfs.New(s.mf, upper)); err != nil {
			return fmt.Errorf("container %s: its root: %w", id, err)
		}
		source = "overlay"
	}
	shared := s.fss
	_, bindExports := GoferExports(&cfg)
	fss := &fileSystems{
		vfs:          shared.vfs,
		mounts:       shared.vfs.NewMountNamespace(root, source, 0),
		release:      func() { client.Close() },
		client:       client,
		ociMounts:    cfg.Mounts,
		exports:      bindExports,
		masked:       cfg.MaskedPaths,
		readonly:     cfg.ReadonlyPaths,
		rootReadOnly: cfg.RootReadOnly,
		ociDevices:   cfg.Devices,
		console:      cfg.Process.Terminal,
		joined:       true,
		pts:          shared.pts,
		devices:      shared.devices,
	}
	rootPath := fss.mounts.Root()
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: rootPath, Cwd: rootPath}
	if fss.ociMounts == nil {
		fss.ociMounts = []Mount{}
	}
	if err := fss.mountOCI(ctx); err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	s.joined.m[id] = &container{id: id, cfg: cfg, fss: fss}
	return nil
}

// StartContainer runs a joined container's process, with stdio as Exec
// takes them.
func (s *Sandbox) StartContainer(id string, stdio [3]int) (*Execed, error) {
	s.joined.mu.Lock()
	c := s.joined.m[id]
	if c == nil || c.init != nil {
		s.joined.mu.Unlock()
		closeStdio(stdio)
		if c == nil {
			return nil, fmt.Errorf("container %s: %w", id, ErrNoContainer)
		}
		return nil, fmt.Errorf("container %s has started already", id)
	}
	s.joined.mu.Unlock()
	e, err := s.exec(c.fss, id, c.cfg.Process, stdio)
	if err != nil {
		return nil, err
	}
	s.joined.mu.Lock()
	c.init = e
	s.joined.mu.Unlock()
	return e, nil
}

// ExecIn starts another process in a joined container ("" is the
// sandbox's first).
func (s *Sandbox) ExecIn(id string, proc Process, stdio [3]int) (*Execed, error) {
	if id == "" {
		return s.Exec(proc, stdio)
	}
	s.joined.mu.Lock()
	c := s.joined.m[id]
	s.joined.mu.Unlock()
	if c == nil {
		closeStdio(stdio)
		return nil, fmt.Errorf("container %s: %w", id, ErrNoContainer)
	}
	return s.exec(c.fss, id, proc, stdio)
}

// RemoveContainer kills what is left of a joined container's processes
// and lets its gofer go.
func (s *Sandbox) RemoveContainer(id string) error {
	s.joined.mu.Lock()
	c := s.joined.m[id]
	delete(s.joined.m, id)
	s.joined.mu.Unlock()
	if c == nil {
		return fmt.Errorf("container %s: %w", id, ErrNoContainer)
	}
	s.k.SignalContainer(id, 0, unix.SIGKILL, true)
	if c.init != nil {
		c.init.Wait()
	}
	// Its file systems stay referenced by what its processes left
	// (open files passed to other containers): the gofer connection
	// ends with the sandbox then. Otherwise it ends now.
	c.fss.release()
	return nil
}

// Container returns a joined container's init, nil before it started.
func (s *Sandbox) Container(id string) (init *Execed, err error) {
	s.joined.mu.Lock()
	defer s.joined.mu.Unlock()
	c := s.joined.m[id]
	if c == nil {
		return nil, fmt.Errorf("container %s: %w", id, ErrNoContainer)
	}
	return c.init, nil
}

func closeStdio(fds [3]int) {
	for i, fd := range fds {
		if fd >= 0 && (i == 0 || fd != fds[0]) && (i < 2 || fd != fds[1]) {
			unix.Close(fd)
		}
	}
}

// containerSpec is processSpec for a process of container id with the
// file systems fss.
func (s *Sandbox) containerSpec(fss *fileSystems, id string, proc Process, stdio [3]*vfs.File) (kernel.ProcessSpec, error) {
	spec, err := processSpec(fss, proc, stdio)
	if err != nil {
		return spec, err
	}
	spec.Mounts = fss.mounts
	spec.Container = id
	return spec, nil
}
