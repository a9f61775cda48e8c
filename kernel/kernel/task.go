package kernel

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/loader"
	"magawa/kernel/mm"
	"magawa/kernel/platform"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Credentials are a task's user and group IDs and capabilities. A task
// changes its own (creds.go) with Kernel.mu held, so that other tasks may
// read them under the lock.
type Credentials struct {
	UID, EUID, SUID, FSUID uint32
	GID, EGID, SGID, FSGID uint32
	Groups                 []uint32
	// caps are the capability sets once capsSet; until then they are
	// what exec gives these IDs (Capabilities), so that credentials made
	// of IDs alone give the sandbox's root its full sets.
	caps    Capabilities
	capsSet bool
	// Securebits are the SECBIT_* flags (prctl PR_SET_SECUREBITS,
	// PR_SET_KEEPCAPS).
	Securebits uint32
}

// ExitStatus is how a thread group ended.
type ExitStatus struct {
	Code   int         // exit code when Signal is 0
	Signal unix.Signal // the fatal signal, or 0
	Core   bool        // the signal's default action dumps core (none is written)
}

// HostCode is the status a shell reports: the exit code, or 128+signal.
func (s ExitStatus) HostCode() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code
}

// WaitStatus is the status word wait4 reports. Linux: include/linux/wait.h.
func (s ExitStatus) WaitStatus() uint32 {
	if s.Signal != 0 {
		// No core file is ever written, so the core bit stays clear:
		// Linux sets it only for a dump that happened.
		return uint32(s.Signal)
	}
	return uint32(s.Code&0xff) << 8
}

func (s ExitStatus) String() string {
	if s.Signal != 0 {
		core := ""
		if s.Core {
			core = " (core dumped)"
		}
		return fmt.Sprintf("killed by %v%s", s.Signal, core)
	}
	return fmt.Sprintf("exit %d", s.Code)
}

// FSContext is what CLONE_FS shares: the root and working directories
// and the umask.
type FSContext struct {
	// Guarded by Kernel.mu.
	root  vfs.Path
	cwd   vfs.Path
	umask uint32
	refs  int
}

func (fs *FSContext) shared() bool { return fs.refs > 1 }

// Task is one application thread.
type Task struct {
	k   *Kernel
	tid int32

	// Guarded by Kernel.mu: the task's place in the sandbox and its
	// signal state.
	tg          *ThreadGroup
	pending     pendingSignals
	sigMask     SignalSet
	savedMask   SignalSet // restored after rt_sigsuspend's handler
	realBlocked SignalSet // the mask rt_sigtimedwait lifted while it waits
	haveSaved   bool
	exitSelf    bool // exit(2): only this thread ends
	ctx         platform.Context
	fs          *FSContext
	// mounts is the task's mount namespace: its container's.
	mounts      *vfs.MountNamespace
	interruptCh chan struct{}
	// vforkDone is closed when a vfork child execs or exits, which then
	// clears it (under Kernel.mu), so that it is closed once. The
	// parent waits on its own copy (Clone).
	vforkDone chan struct{}
	// exitSignal is sent to the parent when this (leader) task's group
	// ends: SIGCHLD for fork, whatever clone asked for.
	exitSignal unix.Signal

	// Only the task's own goroutine uses the fields below.
	mm    *mm.MM
	fds   *vfs.FDTable
	creds Credentials
	Regs  platform.Registers
	// syscallArgs are the arguments of the system call being served
	// (doSyscall), kept here rather than allocated at every call.
	syscallArgs   SyscallArguments
	altStack      arch.SignalStack
	clearChildTID uintptr
	robustList    uintptr
	// restart is the restart code of the last system call (ERESTART*),
	// or 0; restartFn is what restart_syscall runs.
	restart   unix.Errno
	restartFn func(t *Task) (uintptr, error)
	// name, exe, stack, and mm and fds above, are written under
	// Kernel.mu, so that /proc may read them from other tasks.
	name string
	exe  vfs.Path
	// stack is where exec put the argument and environment strings and
	// the auxiliary vector (Linux's mm->arg_start and friends).
	stack loader.Stack
	// signalQueue is notified when a signal is queued for the task (or
	// its group): signalfd waits on it.
	signalQueue waiter.Queue
	// lastFault is where the last unresolved access fault happened, so a
	// possibly stale one is retried once.
	lastFault faultSite
	// stracePrefix is an exec's strace line formatted before the call.
	stracePrefix string
	// pendingFP is FP state to load before the task first runs (a clone
	// inherits its parent's).
	pendingFP []byte
	startTime time.Time
	// futexExited is set once the thread gave up its futexes: a PI
	// owner that is exiting no longer counts as alive.
	futexExited atomic.Bool
	// sysvsem is the semaphore undo list the task shares (ipc.go).
	sysvsem *sysvSem
}

// FutexAlive reports whether tid is a thread that may own a PI futex.
func (k *Kernel) FutexAlive(tid int32) bool {
	t := k.TaskByTID(tid)
	return t != nil && !t.futexExited.Load()
}

// Kernel returns the task's kernel.
func (t *Task) Kernel() *Kernel { return t.k }

// TID is the thread ID in the sandbox's PID namespace.
func (t *Task) TID() int32 { return t.tid }

// TGID is the process ID in the sandbox's PID namespace.
func (t *Task) TGID() int32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.id
}

// PPID is the parent's process ID (0 for the sandbox's init).
func (t *Task) PPID() int32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if t.tg.parent == nil {
		return 0
	}
	return t.tg.parent.id
}

// MM is the task's address space.
func (t *Task) MM() *mm.MM { return t.mm }

// FDTable is the task's descriptor table.
func (t *Task) FDTable() *vfs.FDTable { return t.fds }

// Credentials returns the task's credentials.
func (t *Task) Credentials() *Credentials { return &t.creds }

// ThreadGroup returns the task's process.
func (t *Task) ThreadGroup() *ThreadGroup {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg
}

// Name is the task's command name (comm).
func (t *Task) Name() string { return t.name }

// SetName sets the command name, cut to 15 bytes like TASK_COMM_LEN.
func (t *Task) SetName(n string) {
	if len(n) > 15 {
		n = n[:15]
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.name = n
}

// Cwd is the task's working directory's name, as getcwd(2) gives it.
func (t *Task) Cwd() string {
	root, cwd := t.Directories()
	name, _ := t.k.VFS.PathName(root, cwd)
	return name
}

// Directories returns the task's root and working directories.
func (t *Task) Directories() (root, cwd vfs.Path) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.fs.root, t.fs.cwd
}

// SetWorkingDirectory changes the working directory (chdir).
func (t *Task) SetWorkingDirectory(p vfs.Path) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.fs.cwd = p
}

// SetRoot changes the root directory (chroot).
func (t *Task) SetRoot(p vfs.Path) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.fs.root = p
}

// FileContext returns the context file operations of the task run in:
// its file-system credentials, directories and umask.
func (t *Task) FileContext() *vfs.Context {
	t.k.mu.Lock()
	ctx := &vfs.Context{
		Creds: &vfs.Creds{
			UID:    t.creds.FSUID,
			GID:    t.creds.FSGID,
			Groups: t.creds.Groups,
			Caps:   uint64(t.creds.Capabilities().Effective),
		},
		Root:  t.fs.root,
		Cwd:   t.fs.cwd,
		Umask: t.fs.umask,
		Task:  t,
	}
	t.k.mu.Unlock()
	ctx.Block = func(wake <-chan struct{}) error { return t.Block(wake, time.Time{}) }
	return ctx
}

// Umask returns the file-mode creation mask.
func (t *Task) Umask() uint32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.fs.umask
}

// SetUmask replaces the umask and returns the old one.
func (t *Task) SetUmask(m uint32) uint32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	old := t.fs.umask
	t.fs.umask = m & 0o777
	return old
}

// CopyIn, CopyOut and CopyInString access the task's memory.
func (t *Task) CopyIn(addr uintptr, dst []byte) (int, error)  { return t.mm.CopyIn(addr, dst) }
func (t *Task) CopyOut(addr uintptr, src []byte) (int, error) { return t.mm.CopyOut(addr, src) }
func (t *Task) CopyInString(addr uintptr, max int) (string, error) {
	return t.mm.CopyInString(addr, max)
}

// SetClearChildTID records set_tid_address's pointer.
func (t *Task) SetClearChildTID(addr uintptr) { t.clearChildTID = addr }

// SetRobustList records set_robust_list's head.
func (t *Task) SetRobustList(addr uintptr) { t.robustList = addr }

// RobustList returns the recorded robust-list head.
func (t *Task) RobustList() uintptr { return t.robustList }

// CPUTime is the CPU time the task's application code has used.
func (t *Task) CPUTime() (time.Duration, error) { return t.ctx.CPUTime() }

// start runs the task on a new goroutine, locked to its own OS thread
// where the platform requires it (ptrace: the thread that traces a stub
// thread must stay the same).
func (t *Task) start() {
	t.k.running.Add(1)
	t.launch()
}

// launch is start for a task already counted in Kernel.running.
func (t *Task) launch() {
	go func() {
		defer t.k.running.Done()
		if t.k.Platform.NeedsOSThread() {
			runtime.LockOSThread()
			// The thread is not unlocked: a thread that traced stubs
			// is left to end with its goroutine.
		}
		ctx, err := t.k.Platform.NewContext()
		if err != nil {
			t.k.Debugf("task %d: creating platform context: %v", t.tid, err)
			t.k.mu.Lock()
			t.exitGroupLocked(ExitStatus{Signal: unix.SIGKILL})
			t.k.mu.Unlock()
			t.exitThread()
			return
		}
		if t.pendingFP != nil {
			ctx.SetFPState(t.pendingFP)
			t.pendingFP = nil
		}
		t.k.mu.Lock()
		t.ctx = ctx
		t.k.mu.Unlock()
		t.run()
		t.exitThread()
	}()
}

// run is the task loop: run the application until the next event, serve
// it, look at signals, repeat, until the task must exit.
func (t *Task) run() {
	for {
		if t.handleSignals() {
			return
		}
		ev, err := t.ctx.Switch(t.mm.AddressSpace(), &t.Regs)
		t.k.leaveApplication()
		if err != nil {
			t.k.Debugf("task %d: platform failure: %v", t.tid, err)
			t.k.mu.Lock()
			t.exitGroupLocked(ExitStatus{Signal: unix.SIGKILL})
			t.k.mu.Unlock()
			return
		}
		switch ev.Kind {
		case platform.EventSyscall:
			t.lastFault = faultSite{}
			t.doSyscall()
		case platform.EventFault:
			t.handleFault(ev)
		case platform.EventInterrupted:
		}
	}
}

// killedLocked reports whether the task must stop running application
// code: its group is exiting or it called exit.
func (t *Task) killedLocked() bool { return t.exitSelf || t.tg.exiting }

func (t *Task) handleFault(ev platform.Event) {
	info := &arch.SignalInfo{Signo: int32(ev.Signo), Code: ev.Code}
	info.SetAddr(uint64(ev.Addr))
	switch ev.Signo {
	case unix.SIGSEGV:
		ok, sig, code := t.mm.HandleFaultSignal(ev.Addr, ev.Code)
		if ok {
			t.lastFault = faultSite{}
			return
		}
		if sig == unix.SIGSEGV && code == mm.SEGV_ACCERR {
			// Another thread may have changed the mapping between the
			// fault and now (mapped the vma, broken copy-on-write): the
			// host's report can be stale. Retry once; the same access
			// faulting again at the same place is a real violation.
			site := faultSite{rip: t.Regs.Rip, addr: uint64(ev.Addr)}
			if t.lastFault != site {
				t.lastFault = site
				return
			}
		}
		t.lastFault = faultSite{}
		info.Signo, info.Code = int32(sig), code
		t.k.Debugf("task %d: %v at %#x (code %d), rip %#x", t.tid, sig, ev.Addr, code, t.Regs.Rip)
	case unix.SIGSYS:
		// The stub's seccomp filter trapped a call that did not come
		// through PTRACE_SYSEMU: the legacy vsyscall page, whose calls
		// the host emulates without a syscall entry. Linux with
		// vsyscall=none answers with SIGSEGV, and so do we.
		t.k.Debugf("task %d: system call outside SYSEMU at rip %#x: SIGSEGV", t.tid, t.Regs.Rip)
		info = &arch.SignalInfo{Signo: int32(unix.SIGSEGV), Code: arch.SEGV_MAPERR}
		info.SetAddr(t.Regs.Rip)
	default:
		t.k.Debugf("task %d: %v at %#x, rip %#x", t.tid, ev.Signo, ev.Addr, t.Regs.Rip)
	}
	t.k.mu.Lock()
	t.forceSignalLocked(info)
	t.k.mu.Unlock()
}

// faultSite identifies an access fault: the instruction and the address.
type faultSite struct{ rip, addr uint64 }

// UnshareFiles gives the task a private copy of a descriptor table it
// shares (unshare(CLONE_FILES), close_range(CLOSE_RANGE_UNSHARE)).
func (t *Task) UnshareFiles() {
	if !t.fds.Shared() {
		return
	}
	old := t.fds
	t.k.mu.Lock()
	t.fds = old.Fork()
	t.k.mu.Unlock()
	old.DecRef()
}

// ReplaceDirectories makes every task whose root or working directory is
// old use new instead (pivot_root).
func (k *Kernel) ReplaceDirectories(old, new vfs.Path) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, t := range k.tasks {
		if t.fs == nil {
			continue
		}
		if t.fs.root == old {
			t.fs.root = new
		}
		if t.fs.cwd == old {
			t.fs.cwd = new
		}
	}
}
