package sandbox

import (
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/hostfs"
	"magawa/kernel/kernel"
	"magawa/kernel/memfile"
	"magawa/kernel/platform"
	_ "magawa/kernel/platform/ptrace" // registers "ptrace"
	"magawa/kernel/strace"
	"magawa/kernel/syscalls"
	"magawa/kernel/vfs"
)

// RunDo runs one program in a new sandbox and returns how it ended.
func RunDo(cfg Config) (kernel.ExitStatus, error) {
	useTTY := cfg.TTY.wanted()
	newPlatform, err := platform.Lookup(cfg.Platform)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	mf, err := memfile.New(memfile.DefaultSize)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	defer mf.Close()
	p, err := newPlatform(mf.FD())
	if err != nil {
		return kernel.ExitStatus{}, fmt.Errorf("starting platform %s: %w", cfg.Platform, err)
	}
	defer p.Close()
	fss, err := newFileSystems(mf, cfg.RootDir, !cfg.NoOverlay, cfg.Volumes)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	defer fss.release()
	fss.console = useTTY
	var k *kernel.Kernel
	kcfg := kernel.Config{
		Platform:   p,
		MemoryFile: mf,
		Syscalls:   syscalls.Table(),
		VFS:        fss.vfs,
		Mounts:     fss.mounts,
		Hostname:   "magawa",
		Futexes: syscalls.NewFutexes(func(tid uint32) bool {
			return k != nil && k.FutexAlive(int32(tid))
		}),
		Log: cfg.Log,
	}
	if cfg.Strace != nil {
		kcfg.Strace = cfg.Strace
		if f, ok := cfg.Strace.(*os.File); ok && useTTY && isTerminal(int(f.Fd())) {
			// The host terminal is in raw mode while the program runs.
			kcfg.Strace = crlfWriter{f}
		}
		kcfg.StraceFormat = straceLine
	}
	k, err = kernel.New(kcfg)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	if err := fss.mountContainerFileSystems(k); err != nil {
		return kernel.ExitStatus{}, err
	}
	var stdio [3]*vfs.File
	var cons *console
	if useTTY {
		if cons, err = newConsole(fss, cfg.Process.UID, cfg.Process.GID); err != nil {
			return kernel.ExitStatus{}, err
		}
		defer cons.stop()
		stdio = cons.stdio()
	} else if stdio, err = hostStdio(); err != nil {
		return kernel.ExitStatus{}, err
	}
	rootCtx := &vfs.Context{Creds: &vfs.RootCreds, Root: fss.mounts.Root(), Cwd: fss.mounts.Root()}
	exe, err := lookPath(cfg.Process.Argv[0], cfg.Process.Env, func(p string) bool {
		_, err := fss.vfs.Resolve(rootCtx, rootCtx.Root, p, 0)
		return err == nil
	})
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	spec := kernel.ProcessSpec{
		Path:  exe,
		Argv:  cfg.Process.Argv,
		Envv:  cfg.Process.Env,
		Stdio: stdio,
		Cwd:   cfg.Process.Cwd,
		Creds: kernel.Credentials{
			UID: cfg.Process.UID, EUID: cfg.Process.UID, SUID: cfg.Process.UID, FSUID: cfg.Process.UID,
			GID: cfg.Process.GID, EGID: cfg.Process.GID, SGID: cfg.Process.GID, FSGID: cfg.Process.GID,
		},
	}
	if cfg.Confine != nil {
		if err := cfg.Confine(); err != nil {
			return kernel.ExitStatus{}, fmt.Errorf("confining the sandbox: %w", err)
		}
	}
	if cons != nil {
		if err := cons.start(); err != nil {
			return kernel.ExitStatus{}, err
		}
	}
	return k.Run(spec)
}

// hostStdio wraps duplicates of the host's standard descriptors.
func hostStdio() ([3]*vfs.File, error) {
	var files [3]*vfs.File
	for fd := 0; fd < 3; fd++ {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			continue // closed on the host: closed in the sandbox
		}
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return files, fmt.Errorf("duplicating descriptor %d: %w", fd, err)
		}
		files[fd] = hostfs.StreamFile(dup, flags&(unix.O_ACCMODE|unix.O_APPEND))
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
