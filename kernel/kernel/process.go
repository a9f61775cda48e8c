package kernel

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Processes started from outside the sandbox: its init (Start) and the
// processes a container runtime adds to the running sandbox (Exec, as
// `runc exec` does). Neither has a parent in the sandbox: the runtime
// that started them is outside its PID namespace, so getppid() is 0.
// Each leads a session and a process group of its own, as runc's
// setsid() before the exec makes it, and takes the terminal of its
// standard streams, if one is a terminal's slave, as its controlling
// terminal.
//
// A process Exec started is reaped by the kernel when it exits (nobody
// in the sandbox may wait for it), and its status goes to Process.Wait.
// Like every process of the sandbox it is killed when init exits, as a
// PID namespace's processes are when its init does.

// ProcessSpec describes a process started from outside the sandbox.
type ProcessSpec struct {
	// Path is the executable, an absolute path in the sandbox's root (or
	// one relative to Cwd).
	Path string
	Argv []string
	Envv []string
	// Stdio become descriptors 0, 1 and 2 (the kernel takes the
	// references, also when starting the process fails).
	Stdio [3]*vfs.File
	// Creds are the user and group IDs, with the supplementary groups.
	Creds Credentials
	// Capabilities, when set, are the capability sets the process holds
	// when its program is executed, as an OCI runtime sets them
	// (process.capabilities) before its exec: exec's rules then apply,
	// so that root gets its bounding set (and the inheritable one) as
	// permitted, and any other user keeps only the ambient set. Nil
	// gives Creds' own sets (what exec gives their IDs, unless set).
	Capabilities *Capabilities
	// Cwd is the working directory, resolved from the root; empty is
	// the root.
	Cwd string
	// Rlimits replace the default limits of the resources they name
	// (RLIMIT_*).
	Rlimits map[int]Rlimit
	// Umask is the file-mode creation mask; nil is 0022.
	Umask *uint32
	// NoNewPrivileges sets no_new_privs (prctl PR_SET_NO_NEW_PRIVS).
	NoNewPrivileges bool
	// Mounts is the mount namespace the process lives in, whose root is
	// its root (a pod's container has one of its own); nil is the
	// sandbox's.
	Mounts *vfs.MountNamespace
	// Container names the container the process belongs to, as its
	// descendants do: "" is the sandbox's first container, whose init
	// the sandbox is built around; a pod's other containers share its
	// PID, IPC, UTS and network namespaces.
	Container string
}

// Process is a process Exec started.
type Process struct {
	pid  int32
	done chan struct{}
	// status is how the process ended, written before done is closed.
	status ExitStatus
}

// PID is the process ID in the sandbox.
func (p *Process) PID() int32 { return p.pid }

// Wait waits until the process has exited and returns how it ended.
func (p *Process) Wait() ExitStatus {
	<-p.done
	return p.status
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// exitedLocked records the process's end; the kernel reaped it.
func (p *Process) exitedLocked(status ExitStatus) {
	p.status = status
	close(p.done)
}

// Errors of starting processes from outside.
var (
	ErrStarted    = errors.New("kernel: the sandbox has already been started")
	ErrNotRunning = errors.New("kernel: the sandbox is not running")
)

// Start starts the sandbox's first process, PID 1, and returns once its
// program is loaded. If Start fails, the sandbox has ended.
func (k *Kernel) Start(spec ProcessSpec) error {
	k.mu.Lock()
	started := k.started
	k.started = true
	k.mu.Unlock()
	if started {
		dropFiles(spec.Stdio[:])
		return ErrStarted
	}
	k.startVVar()
	if _, err := k.startProcess(spec, true); err != nil {
		k.mu.Lock()
		k.initDone()
		k.mu.Unlock()
		k.vvarStop.Do(k.stopVVar)
		return err
	}
	return nil
}

// Wait waits until the sandbox has ended: its init has exited and every
// other task is gone. It returns init's status. It must follow Start
// (a failed one too).
func (k *Kernel) Wait() ExitStatus {
	<-k.initGone
	k.running.Wait()
	k.vvarStop.Do(k.stopVVar)
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.initStatus
}

// Exec starts another process in the running sandbox, as `runc exec`
// does: in the sandbox's mount namespace, from its root, in a session
// of its own, without a parent in the sandbox.
func (k *Kernel) Exec(spec ProcessSpec) (*Process, error) {
	return k.startProcess(spec, false)
}

// startProcess creates a process from spec, without a parent, loads its
// program and starts it: the sandbox's init, or with init false one
// Exec adds, for which it returns the Process.
func (k *Kernel) startProcess(spec ProcessSpec, init bool) (*Process, error) {
	// The descriptors first: from here on, a failure releases them with
	// the table.
	fds := vfs.NewFDTable()
	for i, f := range spec.Stdio {
		if f == nil {
			continue
		}
		if err := fds.InstallAt(i, f, false, len(spec.Stdio)); err != nil {
			dropFiles(spec.Stdio[i:])
			fds.DecRef()
			return nil, err
		}
		f.DecRef()
	}
	creds, err := spec.credentials()
	if err != nil {
		fds.DecRef()
		return nil, err
	}
	rlimits, err := spec.rlimits()
	if err != nil {
		fds.DecRef()
		return nil, err
	}
	umask := uint32(0o022)
	if spec.Umask != nil {
		umask = *spec.Umask & 0o777
	}
	t := &Task{
		k:           k,
		fds:         fds,
		creds:       creds,
		fs:          &FSContext{umask: umask},
		interruptCh: make(chan struct{}, 1),
		exitSignal:  unix.SIGCHLD,
		startTime:   time.Now(),
	}
	t.mounts = k.Mounts
	if spec.Mounts != nil {
		t.mounts = spec.Mounts
	}
	t.fs.root = t.mounts.Root()
	t.fs.cwd = t.fs.root
	if spec.Cwd != "" {
		ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: t.fs.root, Cwd: t.fs.root}
		cwd, err := k.VFS.Resolve(ctx, t.fs.root, spec.Cwd, vfs.ResolveDirectory)
		if err != nil {
			fds.DecRef()
			return nil, fmt.Errorf("working directory %s: %w", spec.Cwd, err)
		}
		t.fs.cwd = cwd
	}

	var p *Process
	k.mu.Lock()
	if !init && (k.initTG == nil || k.initTG.exiting || k.endedLocked()) {
		// Once init is dying the sandbox only waits for its last tasks
		// to die: nothing may join it, as a PID namespace whose init
		// exits takes no new process (Linux: alloc_pid() fails).
		k.mu.Unlock()
		fds.DecRef()
		return nil, ErrNotRunning
	}
	tid, err := k.allocTIDLocked()
	if err != nil {
		k.mu.Unlock()
		fds.DecRef()
		return nil, err
	}
	t.tid = tid
	t.tg = k.newThreadGroupLocked(t, nil, &SignalHandlers{})
	t.tg.rlimits = rlimits
	t.tg.noNewPrivs = spec.NoNewPrivileges
	t.tg.container = spec.Container
	if init {
		k.initTG = t.tg
	} else {
		p = &Process{pid: tid, done: make(chan struct{})}
		t.tg.process = p
	}
	k.tasks[tid] = t
	// Counted now, under the lock, while init lives: Wait must not
	// return before this task's goroutine has come and gone, even if
	// init exits before it starts.
	k.running.Add(1)
	k.stdioTerminalLocked(t.tg, spec.Stdio[:])
	k.mu.Unlock()

	m, img, err := t.load(ExecTarget{Start: t.fs.cwd, Name: spec.Path}, spec.Argv, spec.Envv)
	if err != nil {
		t.fds.DecRef()
		k.mu.Lock()
		// Gone before it ran: nobody hears of it, but a terminal it
		// took is given up, as its exit would.
		t.tg.process = nil
		k.exitGroupLocked(t.tg, ExitStatus{Signal: unix.SIGKILL})
		k.exitJobControlLocked(t.tg)
		k.reapLocked(t.tg)
		k.mu.Unlock()
		k.running.Done()
		return nil, fmt.Errorf("executing %s: %w", spec.Path, err)
	}
	t.installImage(m, img)
	t.launch()
	return p, nil
}

// credentials are the process's credentials: spec's, with the
// supplementary groups sorted as setgroups(2) keeps them, and with
// explicit capability sets put through exec.
func (spec *ProcessSpec) credentials() (Credentials, error) {
	c := spec.Creds
	if len(c.Groups) > NgroupsMax {
		return Credentials{}, fmt.Errorf("%d supplementary groups (at most %d): %w", len(c.Groups), NgroupsMax, unix.EINVAL)
	}
	c.Groups = slices.Clone(c.Groups)
	slices.Sort(c.Groups)
	for _, id := range []uint32{c.UID, c.EUID, c.SUID, c.FSUID, c.GID, c.EGID, c.SGID, c.FSGID} {
		if id == noID {
			return Credentials{}, fmt.Errorf("user or group ID %d: %w", id, unix.EINVAL)
		}
	}
	if spec.Capabilities == nil {
		return c, nil
	}
	caps := *spec.Capabilities
	caps.Bounding &= CapFull
	caps.Effective &= CapFull
	caps.Permitted &= CapFull
	caps.Inheritable &= CapFull
	// What capset(2) refuses a runtime, this refuses too; an ambient
	// capability that cannot be raised (not permitted and inheritable)
	// is left out, as runc leaves it with a warning.
	if caps.Effective&^caps.Permitted != 0 {
		return Credentials{}, fmt.Errorf("capabilities: effective set %#x not within the permitted set %#x: %w",
			uint64(caps.Effective), uint64(caps.Permitted), unix.EPERM)
	}
	if caps.Inheritable&^caps.Bounding != 0 {
		return Credentials{}, fmt.Errorf("capabilities: inheritable set %#x not within the bounding set %#x: %w",
			uint64(caps.Inheritable), uint64(caps.Bounding), unix.EPERM)
	}
	caps.Ambient &= caps.Permitted & caps.Inheritable
	c.setCaps(caps)
	c.afterExec()
	return c, nil
}

// rlimits are the default limits with spec's replacements.
// Linux: kernel/sys.c, do_prlimit().
func (spec *ProcessSpec) rlimits() ([numRlimits]Rlimit, error) {
	r := defaultRlimits()
	for res, l := range spec.Rlimits {
		switch {
		case res < 0 || res >= numRlimits, l.Cur > l.Max:
			return r, fmt.Errorf("resource limit %d (%d, %d): %w", res, l.Cur, l.Max, unix.EINVAL)
		case res == unix.RLIMIT_NOFILE && l.Max > nrOpen:
			return r, fmt.Errorf("RLIMIT_NOFILE above fs.nr_open (%d): %w", nrOpen, unix.EPERM)
		}
		r[res] = l
	}
	return r, nil
}

// dropFiles releases the references of files the kernel was given.
func dropFiles(files []*vfs.File) {
	for _, f := range files {
		if f != nil {
			f.DecRef()
		}
	}
}
