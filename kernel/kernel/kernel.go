package kernel

import (
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"magawa/kernel/memfile"
	"magawa/kernel/platform"
	"magawa/kernel/vfs"
)

// FileSystem is the root file system as the kernel needs it for now: an
// absolute-path opener.
type FileSystem interface {
	Open(name string, flags int, mode uint32) (*vfs.File, error)
}

// Config is what the sandbox is started with.
type Config struct {
	Platform   platform.Platform
	MemoryFile *memfile.File
	Syscalls   *SyscallTable
	Root       FileSystem
	// ProtectInit gives the sandbox's PID 1 the protection of a PID
	// namespace's init: signals it sends itself (or that others in the
	// sandbox send it) are ignored unless it handles them. Containers
	// want it; `magawa do`, which runs a program as if directly, does not.
	ProtectInit bool
	// Hostname is the sandbox's UTS nodename.
	Hostname string
	// Log receives debug messages (unsupported system calls, faults).
	Log *log.Logger
	// Strace, when set, receives one line per system call.
	Strace io.Writer
	// StraceFormat formats a completed system call for Strace.
	StraceFormat func(t *Task, name string, args *SyscallArguments, ret uintptr, err error) string
}

// Kernel is one application kernel: one sandbox.
type Kernel struct {
	Config
	start time.Time

	// unsupportedLogged remembers which unsupported calls were logged.
	unsupportedLogged sync.Map

	// mu guards the task registry.
	mu    sync.Mutex
	tasks map[int32]*Task
	// nextTID is the next thread ID handed out (the first task is 1).
	nextTID int32
}

// New creates a kernel.
func New(cfg Config) (*Kernel, error) {
	if cfg.Platform == nil || cfg.MemoryFile == nil || cfg.Syscalls == nil || cfg.Root == nil {
		return nil, fmt.Errorf("kernel: incomplete configuration")
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "magawa"
	}
	return &Kernel{Config: cfg, start: time.Now(), tasks: map[int32]*Task{}, nextTID: 1}, nil
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

func (k *Kernel) allocTID() int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	tid := k.nextTID
	k.nextTID++
	return tid
}

// NumTasks returns the number of live tasks.
func (k *Kernel) NumTasks() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.tasks)
}
