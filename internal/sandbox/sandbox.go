package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/hostfs"
	"magawa/kernel/kernel"
	"magawa/kernel/memfile"
	"magawa/kernel/platform"
	_ "magawa/kernel/platform/ptrace"  // registers "ptrace"
	_ "magawa/kernel/platform/systrap" // registers "systrap"
	"magawa/kernel/strace"
	"magawa/kernel/syscalls"
	"magawa/kernel/vfs"
)

// Sandbox is an application kernel with its file systems and its
// terminal: everything of a sandbox that lives in the sandbox process.
// New builds it, Start runs the configured process as the sandbox's
// init, Wait waits for the sandbox to end, and Close releases what is
// left (the gofer, the platform, the memory file).
type Sandbox struct {
	cfg  Config
	mf   *memfile.File
	p    platform.Platform
	fss  *fileSystems
	k    *kernel.Kernel
	cons *console
	// joined are the containers that joined a pod's sandbox.
	joined containers
	// platformNote says why the default platform was passed over, if
	// it was.
	platformNote string
}

// DefaultPlatforms are tried in order when Config.Platform is empty:
// systrap, the faster, needs a few host features (FSGSBASE for user
// mode, seccomp's SECCOMP_RET_TRAP); ptrace works wherever ptrace does.
var DefaultPlatforms = []string{"systrap", "ptrace"}

// startPlatform starts the configured platform or, with none
// configured, the first of DefaultPlatforms that starts, noting why
// the others did not.
func (s *Sandbox) startPlatform() error {
	names := DefaultPlatforms
	if s.cfg.Platform != "" {
		names = []string{s.cfg.Platform}
	}
	var passed []string
	for i, name := range names {
		newPlatform, err := platform.Lookup(name)
		if err == nil {
			s.p, err = newPlatform(s.mf.FD())
		}
		if err == nil {
			if len(passed) > 0 {
				s.platformNote = fmt.Sprintf("%s; using platform %s", strings.Join(passed, "; "), name)
			}
			if s.cfg.Log != nil {
				s.cfg.Log.Printf("platform %s", name)
				if s.platformNote != "" {
					s.cfg.Log.Printf("%s", s.platformNote)
				}
			}
			return nil
		}
		if i == len(names)-1 {
			return fmt.Errorf("starting platform %s: %w", name, err)
		}
		passed = append(passed, fmt.Sprintf("platform %s unavailable: %v", name, err))
	}
	return errors.New("no platform to start")
}

// Platform is the name of the platform application code runs on.
func (s *Sandbox) Platform() string { return s.p.Name() }

// PlatformNote says why the default platform was passed over for
// another, or is empty.
func (s *Sandbox) PlatformNote() string { return s.platformNote }

// RunDo runs one program in a new sandbox and returns how it ended.
func RunDo(cfg Config) (kernel.ExitStatus, error) {
	s, err := New(cfg)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		return kernel.ExitStatus{}, err
	}
	return s.Wait(), nil
}

// New builds a sandbox: memory file, platform, gofer and file systems,
// kernel, and the terminal its init runs on when it has one; then calls
// cfg.Confine. No application code has run when it returns.
func New(cfg Config) (_ *Sandbox, err error) {
	if len(cfg.Process.Argv) == 0 {
		return nil, fmt.Errorf("no program to run")
	}
	s := &Sandbox{cfg: cfg}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	useTTY := cfg.TTY.Wanted()
	if cfg.Platform != "" {
		if _, err := platform.Lookup(cfg.Platform); err != nil {
			return nil, err
		}
	}
	if s.mf, err = memfile.New(memfile.DefaultSize); err != nil {
		return nil, err
	}
	if err := s.startPlatform(); err != nil {
		return nil, err
	}
	if s.fss, err = newFileSystems(s.mf, &cfg); err != nil {
		return nil, err
	}
	s.fss.console = useTTY
	uids, gids, err := cfg.idMaps()
	if err != nil {
		return nil, err
	}
	var k *kernel.Kernel
	kcfg := kernel.Config{
		Platform:   s.p,
		MemoryFile: s.mf,
		Syscalls:   syscalls.Table(),
		VFS:        s.fss.vfs,
		Mounts:     s.fss.mounts,
		Hostname:   cfg.Hostname,
		Domainname: cfg.Domainname,
		Futexes: syscalls.NewFutexes(func(tid uint32) bool {
			return k != nil && k.FutexAlive(int32(tid))
		}),
		ProtectInit: cfg.ProtectInit,
		OOMScoreAdj: cfg.OOMScoreAdj,
		HostNetwork: cfg.Network == NetworkHost,
		UIDMap:      uids,
		GIDMap:      gids,
		Log:         cfg.Log,
	}
	if cfg.Strace != nil {
		kcfg.Strace = cfg.Strace
		if f, ok := cfg.Strace.(*os.File); ok && useTTY && isTerminal(int(f.Fd())) {
			// The host terminal is in raw mode while the program runs.
			kcfg.Strace = crlfWriter{f}
		}
		kcfg.StraceFormat = straceLine
	}
	if k, err = kernel.New(kcfg); err != nil {
		return nil, err
	}
	s.k = k
	k.SetTaskLimit(cfg.TaskLimit)
	if err := s.fss.mountContainerFileSystems(k); err != nil {
		return nil, err
	}
	if len(cfg.Sysctl) > 0 {
		if err := s.fss.applySysctl(cfg.Sysctl); err != nil {
			return nil, err
		}
	}
	if useTTY {
		if s.cons, err = newConsole(s.fss, cfg.Process.UID, cfg.Process.GID); err != nil {
			return nil, err
		}
	}
	if cfg.Confine != nil {
		if err := cfg.Confine(); err != nil {
			return nil, fmt.Errorf("confining the sandbox: %w", err)
		}
	}
	return s, nil
}

// Config is the configuration the sandbox was made with.
func (s *Sandbox) Config() *Config { return &s.cfg }

// Kernel is the sandbox's application kernel.
func (s *Sandbox) Kernel() *kernel.Kernel { return s.k }

// Start runs the configured process as the sandbox's init, on the
// sandbox's terminal or on the sandbox process's own descriptors 0-2.
func (s *Sandbox) Start() error {
	var stdio [3]*vfs.File
	var err error
	if s.cons != nil {
		stdio = s.cons.stdio()
	} else if stdio, err = hostStdio([3]int{0, 1, 2}); err != nil {
		return err
	}
	spec, err := processSpec(s.fss, s.cfg.Process, stdio)
	if err != nil {
		return err
	}
	if s.cons != nil {
		if err := s.cons.start(); err != nil {
			return err
		}
	}
	return s.k.Start(spec)
}

// Wait waits until the sandbox has ended (its init has exited and every
// other process is gone) and returns init's status.
func (s *Sandbox) Wait() kernel.ExitStatus {
	status := s.k.Wait()
	if s.cons != nil {
		// What the program wrote reaches the host before magawa exits.
		s.cons.stop()
	}
	return status
}

// Exec starts another process in the running sandbox. Its descriptors
// 0-2 are the host descriptors stdio (-1: closed), which Exec takes; with
// proc.Terminal, it runs on a new terminal of the sandbox relayed to
// stdio[0] and stdio[1] instead.
func (s *Sandbox) Exec(proc Process, stdio [3]int) (*Execed, error) {
	return s.exec(s.fss, "", proc, stdio)
}

// exec is Exec in container id, whose file systems are fss.
func (s *Sandbox) exec(fss *fileSystems, id string, proc Process, stdio [3]int) (*Execed, error) {
	closeFDs := func() {
		for i, fd := range stdio {
			if fd >= 0 && (i == 0 || fd != stdio[0]) {
				unix.Close(fd)
			}
		}
	}
	var files [3]*vfs.File
	var cons *console
	var err error
	if proc.Terminal {
		if stdio[2] >= 0 && stdio[2] != stdio[0] && stdio[2] != stdio[1] {
			unix.Close(stdio[2])
		}
		if cons, err = newExecConsole(fss, proc.UID, proc.GID, stdio[0], stdio[1]); err != nil {
			for _, fd := range stdio[:2] {
				if fd >= 0 {
					unix.Close(fd)
				}
			}
			return nil, err
		}
		if proc.ConsoleRows != 0 || proc.ConsoleColumns != 0 {
			cons.term.SetWindowSize(unix.Winsize{Row: proc.ConsoleRows, Col: proc.ConsoleColumns})
		}
		files = cons.stdio()
	} else {
		files, err = hostStdio(stdio)
		closeFDs()
		if err != nil {
			return nil, err
		}
	}
	fail := func(err error) (*Execed, error) {
		if cons != nil {
			cons.stop()
		}
		return nil, err
	}
	spec, err := s.containerSpec(fss, id, proc, files)
	if err != nil {
		return fail(err)
	}
	if cons != nil {
		if err := cons.start(); err != nil {
			dropFiles(spec.Stdio)
			return fail(err)
		}
	}
	p, err := s.k.Exec(spec)
	if err != nil {
		return fail(err)
	}
	return &Execed{p: p, cons: cons}, nil
}

// Execed is a process Exec started.
type Execed struct {
	p    *kernel.Process
	cons *console
}

// PID is the process's ID in the sandbox.
func (e *Execed) PID() int32 { return e.p.PID() }

// Wait waits for the process to end; its terminal's output reaches the
// host first.
func (e *Execed) Wait() kernel.ExitStatus {
	status := e.p.Wait()
	if e.cons != nil {
		e.cons.stop()
	}
	return status
}

// Close releases the sandbox's host resources. The kernel must have
// ended (Wait) or never started.
func (s *Sandbox) Close() {
	if s.cons != nil {
		s.cons.stop()
	}
	if s.fss != nil {
		s.fss.release()
	}
	if s.p != nil {
		s.p.Close()
	}
	if s.mf != nil {
		s.mf.Close()
	}
}

// processSpec resolves proc's program in the sandbox and describes it
// to the kernel; on error it drops the stdio references.
func processSpec(fss *fileSystems, proc Process, stdio [3]*vfs.File) (kernel.ProcessSpec, error) {
	rootCtx := &vfs.Context{Creds: &vfs.RootCreds, Root: fss.mounts.Root(), Cwd: fss.mounts.Root()}
	if len(proc.Argv) == 0 {
		dropFiles(stdio)
		return kernel.ProcessSpec{}, fmt.Errorf("no program to run")
	}
	exe, err := lookPath(proc.Argv[0], proc.Env, func(p string) bool {
		_, err := fss.vfs.Resolve(rootCtx, rootCtx.Root, p, 0)
		return err == nil
	})
	if err != nil {
		dropFiles(stdio)
		return kernel.ProcessSpec{}, err
	}
	spec := kernel.ProcessSpec{
		Path:  exe,
		Argv:  proc.Argv,
		Envv:  proc.Env,
		Stdio: stdio,
		Cwd:   proc.Cwd,
		Creds: kernel.Credentials{
			UID: proc.UID, EUID: proc.UID, SUID: proc.UID, FSUID: proc.UID,
			GID: proc.GID, EGID: proc.GID, SGID: proc.GID, FSGID: proc.GID,
			Groups: proc.AdditionalGIDs,
		},
		Umask:           proc.Umask,
		NoNewPrivileges: proc.NoNewPrivileges,
	}
	if c := proc.Capabilities; c != nil {
		spec.Capabilities = &kernel.Capabilities{
			Effective:   kernel.CapSet(c.Effective),
			Permitted:   kernel.CapSet(c.Permitted),
			Inheritable: kernel.CapSet(c.Inheritable),
			Bounding:    kernel.CapSet(c.Bounding),
			Ambient:     kernel.CapSet(c.Ambient),
		}
	}
	if len(proc.Rlimits) > 0 {
		spec.Rlimits = map[int]kernel.Rlimit{}
		for _, r := range proc.Rlimits {
			spec.Rlimits[r.Resource] = kernel.Rlimit{Cur: r.Soft, Max: r.Hard}
		}
	}
	return spec, nil
}

func dropFiles(files [3]*vfs.File) {
	for _, f := range files {
		if f != nil {
			f.DecRef()
		}
	}
}

// hostStdio wraps duplicates of host descriptors (-1: closed) as
// descriptors 0, 1 and 2.
func hostStdio(fds [3]int) ([3]*vfs.File, error) {
	var files [3]*vfs.File
	for i, fd := range fds {
		if fd < 0 {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			continue // closed on the host: closed in the sandbox
		}
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			dropFiles(files)
			return [3]*vfs.File{}, fmt.Errorf("duplicating descriptor %d: %w", fd, err)
		}
		files[i] = hostfs.StreamFile(dup, flags&(unix.O_ACCMODE|unix.O_APPEND))
	}
	return files, nil
}

func straceLine(t *kernel.Task, name string, args *kernel.SyscallArguments, ret uintptr, err error) string {
	if kernel.IsExit(err) {
		return strace.Line(t.MM(), name, *args, 0, 0)
	}
	var errno unix.Errno
	if e, ok := err.(unix.Errno); ok {
		errno = e
	}
	return strace.Line(t.MM(), name, *args, ret, errno)
}

// lookPath finds name on PATH as a shell would, for names without a
// slash; a name with a slash is used as it is (relative to the working
// directory).
func lookPath(name string, env []string, exists func(string) bool) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathVar := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, dir := range strings.Split(pathVar, ":") {
		if dir == "" {
			dir = "."
		}
		if p := path.Join(dir, name); exists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH: %w", name, unix.ENOENT)
}
