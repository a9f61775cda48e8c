package kernel

import (
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/mm"
	"magawa/kernel/platform"
	"magawa/kernel/userns"
	"magawa/kernel/vfs"
	"magawa/kernel/vfs/lock"
)

// Futexes is what the kernel needs of the futex implementation when a
// thread exits.
type Futexes interface {
	// ExitThread releases the robust and priority-inheritance futexes a
	// dying (or exec'ing) thread holds.
	ExitThread(t *Task, robustHead uintptr)
	// WakeAddress wakes one waiter of the futex at addr
	// (CLONE_CHILD_CLEARTID).
	WakeAddress(t *Task, addr uintptr)
}

// Config is what the sandbox is started with.
type Config struct {
	Platform   platform.Platform
	MemoryFile *memfile.File
	Syscalls   *SyscallTable
	// VFS is the sandbox's file system layer and Mounts the mount
	// namespace its first process starts in.
	VFS     *vfs.VFS
	Mounts  *vfs.MountNamespace
	Futexes Futexes
	// Hostname and Domainname are the sandbox's UTS nodename and NIS
	// domain name; empty, they are "magawa" and Linux's "(none)".
	Hostname   string
	Domainname string
	// OOMScoreAdj is the oom_score_adj the sandbox's processes report
	// until they set their own (OCI process.oomScoreAdj; the host's OOM
	// killer sees it on the sandbox's host processes).
	OOMScoreAdj int32
	// ProtectInit gives the sandbox's PID 1 the protection of a PID
	// namespace's init: a signal it does not handle is ignored, but for
	// SIGKILL and SIGSTOP from outside the sandbox (Kernel.Signal).
	// Containers want it; `magawa do`, which runs a program as if
	// directly, does not.
	ProtectInit bool
	// HostNetwork makes the sandbox's Internet sockets host sockets
	// (--network=host, kernel/net/hostinet); netlink sockets and
	// loopback-only netstack stay the sandbox's.
	HostNetwork bool
	// UIDMap and GIDMap are the sandbox's user namespace: how its IDs
	// relate to the host's (OCI linux.uidMappings and gidMappings); nil
	// is the identity.
	UIDMap, GIDMap *userns.Map
	// Log receives debug messages (unsupported system calls, faults).
	Log *log.Logger
	// Strace, when set, receives one line per system call.
	Strace io.Writer
	// StraceFormat formats a completed system call for Strace.
	StraceFormat func(t *Task, name string, args *SyscallArguments, ret uintptr, err error) string
}

// Kernel is one application kernel: one sandbox, one PID namespace.
type Kernel struct {
	Config
	start time.Time

	// unsupportedLogged remembers which unsupported calls were logged.
	unsupportedLogged sync.Map
	// straceMu keeps strace lines whole.
	straceMu sync.Mutex
	// running counts task goroutines.
	running sync.WaitGroup

	// mu is the kernel's big lock: it guards the tasks and thread groups,
	// their tree, process groups and sessions, and all signal state.
	mu           sync.Mutex
	tasks        map[int32]*Task
	threadGroups map[int32]*ThreadGroup
	mmUsers      map[*mm.MM]int
	// started is set by Start: there is one init per sandbox.
	started    bool
	initTG     *ThreadGroup
	initStatus ExitStatus
	initGone   chan struct{}
	// lastTID is the last thread ID handed out; the first is 1.
	lastTID int32
	// taskLimit bounds len(tasks) when positive (SetTaskLimit).
	taskLimit int64
	// freezer is the state of Pause and Resume (freeze.go).
	freezer freezer

	// fileLocks are the sandbox's advisory file locks.
	fileLocks lock.Table
	// vvar is the vDSO's data page (vvar.go), set by Start; vvarStop
	// stops its updater once, when the sandbox has ended.
	vvar     *vvar
	vvarStop sync.Once
	// ipc is the sandbox's IPC namespace (ipc.go), net its network
	// namespace's tunables (net.go).
	ipc ipcNamespace
	net netNamespace

	// cloneStarted, when set (by tests), runs in Clone's caller right
	// after the new task is started: from then on the child may run, and
	// even exec or exit, before its parent takes another step.
	cloneStarted func(child *Task)
}

// FileLocks returns the sandbox's advisory lock table.
func (k *Kernel) FileLocks() *lock.Table { return &k.fileLocks }

// pidMax is the largest thread ID, as Linux's default pid_max on 64-bit.
const pidMax = 4194304

// New creates a kernel.
func New(cfg Config) (*Kernel, error) {
	if cfg.Platform == nil || cfg.MemoryFile == nil || cfg.Syscalls == nil || cfg.VFS == nil || cfg.Mounts == nil {
		return nil, fmt.Errorf("kernel: incomplete configuration")
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "magawa"
	}
	if cfg.Domainname == "" {
		cfg.Domainname = "(none)"
	}
	return &Kernel{
		Config:       cfg,
		start:        time.Now(),
		tasks:        map[int32]*Task{},
		threadGroups: map[int32]*ThreadGroup{},
		mmUsers:      map[*mm.MM]int{},
		initGone:     make(chan struct{}),
	}, nil
}

// Uptime is the time since the kernel started.
func (k *Kernel) Uptime() time.Duration { return time.Since(k.start) }

// Debugf logs to the kernel's debug log.
func (k *Kernel) Debugf(format string, args ...any) { k.Log.Printf(format, args...) }

// logUnsupported logs an unsupported system call, once per number.
func (k *Kernel) logUnsupported(nr uintptr, name string) {
	if _, seen := k.unsupportedLogged.LoadOrStore(nr, true); seen {
		return
	}
	if name == "" {
		name = fmt.Sprintf("syscall_%d", nr)
	}
	k.Log.Printf("unsupported system call %s (%d): ENOSYS", name, nr)
}

// SetTaskLimit bounds the number of tasks (threads) of the sandbox, as a
// pids cgroup's pids.max bounds a container's: beyond it, clone and fork
// fail with EAGAIN. Zero or less is no limit. The host's pids cgroup
// cannot do this job: it counts the sandbox process's own threads too.
func (k *Kernel) SetTaskLimit(n int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.taskLimit = n
}

// TaskLimit returns the limit SetTaskLimit set (zero or less: none).
func (k *Kernel) TaskLimit() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.taskLimit
}

// allocTIDLocked hands out the next free thread ID, wrapping at pid_max.
func (k *Kernel) allocTIDLocked() (int32, error) {
	if k.taskLimit > 0 && int64(len(k.tasks)) >= k.taskLimit {
		return 0, unix.EAGAIN // Linux: kernel/cgroup/pids.c, pids_can_fork()
	}
	for i := 0; i < pidMax; i++ {
		k.lastTID++
		if k.lastTID >= pidMax {
			k.lastTID = 2 // 1 is init's; Linux wraps to RESERVED_PIDS
		}
		if _, used := k.tasks[k.lastTID]; !used {
			if _, used := k.threadGroups[k.lastTID]; !used {
				return k.lastTID, nil
			}
		}
	}
	return 0, unix.EAGAIN
}

// NumTasks returns the number of live tasks.
func (k *Kernel) NumTasks() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.tasks)
}

// TaskByTID looks a thread up in the sandbox's PID namespace.
func (k *Kernel) TaskByTID(tid int32) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.tasks[tid]
}

// initDone records that the sandbox's init is gone. Callers hold k.mu.
func (k *Kernel) initDone() {
	select {
	case <-k.initGone:
	default:
		close(k.initGone)
	}
}

// Run starts the sandbox's first process and waits until the sandbox
// ends: its init has exited and every other task is gone.
func (k *Kernel) Run(spec ProcessSpec) (ExitStatus, error) {
	if err := k.Start(spec); err != nil {
		return ExitStatus{}, err
	}
	return k.Wait(), nil
}

// UIDMap is the sandbox's user-ID map (package userns).
func (k *Kernel) UIDMap() *userns.Map {
	if k.Config.UIDMap == nil {
		return userns.Identity
	}
	return k.Config.UIDMap
}

// GIDMap is the sandbox's group-ID map.
func (k *Kernel) GIDMap() *userns.Map {
	if k.Config.GIDMap == nil {
		return userns.Identity
	}
	return k.Config.GIDMap
}
