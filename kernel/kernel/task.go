package kernel

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/mm"
	"magawa/kernel/platform"
	"magawa/kernel/vfs"
)

// Credentials are a task's user and group IDs.
type Credentials struct {
	UID, EUID, SUID, FSUID uint32
	GID, EGID, SGID, FSGID uint32
	Groups                 []uint32
}

// ExitStatus is how a thread group ended.
type ExitStatus struct {
	Code   int         // exit code when Signal is 0
	Signal unix.Signal // the fatal signal, or 0
	Core   bool        // the signal's default action dumps core
}

// HostCode is the status a shell reports: the exit code, or 128+signal.
func (s ExitStatus) HostCode() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code
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

// ThreadGroup is a process: what the threads of one process share.
type ThreadGroup struct {
	id int32 // TGID, the process ID in the sandbox

	// mu guards the fields below.
	actions [numSignals]SigAction
	rlimits [numRlimits]Rlimit
	exited  bool
	status  ExitStatus
}

// Task is one application thread.
type Task struct {
	k   *Kernel
	tid int32
	tg  *ThreadGroup
	// Only the task's own goroutine uses the fields below.
	mm      *mm.MM
	fds     *vfs.FDTable
	creds   Credentials
	ctx     platform.Context
	Regs    platform.Registers
	sigMask SignalSet
	// clearChildTID and robustList are recorded for thread exit.
	clearChildTID uintptr
	robustList    uintptr
	// exiting is set when the task must stop running application code.
	exiting bool
	// name is the command name (comm).
	name string
	// cwd is the working directory, an absolute path.
	cwd string
}

// errExitGroup is returned by exit and exit_group to stop the task loop.
var errExitGroup = errors.New("exit group")

// Kernel returns the task's kernel.
func (t *Task) Kernel() *Kernel { return t.k }

// TID is the thread ID in the sandbox's PID namespace.
func (t *Task) TID() int32 { return t.tid }

// TGID is the process ID in the sandbox's PID namespace.
func (t *Task) TGID() int32 { return t.tg.id }

// PPID is the parent's process ID (0 for the sandbox's init).
func (t *Task) PPID() int32 { return 0 }

// MM is the task's address space.
func (t *Task) MM() *mm.MM { return t.mm }

// FDTable is the task's descriptor table.
func (t *Task) FDTable() *vfs.FDTable { return t.fds }

// Credentials returns the task's credentials.
func (t *Task) Credentials() *Credentials { return &t.creds }

// ThreadGroup returns the task's process.
func (t *Task) ThreadGroup() *ThreadGroup { return t.tg }

// Cwd is the task's working directory.
func (t *Task) Cwd() string { return t.cwd }

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

// Exit ends the thread group with status; the task loop stops after the
// current system call.
func (t *Task) Exit(status ExitStatus) error {
	if !t.tg.exited {
		t.tg.exited = true
		t.tg.status = status
	}
	t.exiting = true
	return errExitGroup
}

// run is the task loop: run the application until the next event, serve
// it, repeat. It runs on its own locked OS thread (the platform requires
// the thread that traces a stub to stay the same).
func (t *Task) run() {
	for !t.exiting {
		ev, err := t.ctx.Switch(t.mm.AddressSpace(), &t.Regs)
		if err != nil {
			t.k.Debugf("task %d: platform failure: %v", t.tid, err)
			t.Exit(ExitStatus{Signal: unix.SIGKILL})
			break
		}
		switch ev.Kind {
		case platform.EventSyscall:
			t.doSyscall()
		case platform.EventFault:
			t.handleFault(ev)
		case platform.EventInterrupted:
		}
	}
}

func (t *Task) handleFault(ev platform.Event) {
	switch ev.Signo {
	case unix.SIGSEGV:
		if ok, code := t.mm.HandleFault(ev.Addr); ok {
			return
		} else {
			t.k.Debugf("task %d: SIGSEGV at %#x (code %d), rip %#x", t.tid, ev.Addr, code, t.Regs.Rip)
			t.forceSignal(unix.SIGSEGV)
		}
	case unix.SIGSYS:
		// The stub's seccomp filter trapped a call that did not come
		// through PTRACE_SYSEMU: the legacy vsyscall page, whose calls
		// the host emulates without a syscall entry. Linux with
		// vsyscall=none answers with SIGSEGV, and so do we.
		t.k.Debugf("task %d: system call outside SYSEMU at rip %#x: SIGSEGV", t.tid, t.Regs.Rip)
		t.forceSignal(unix.SIGSEGV)
	default:
		t.k.Debugf("task %d: %v at %#x, rip %#x", t.tid, ev.Signo, ev.Addr, t.Regs.Rip)
		t.forceSignal(ev.Signo)
	}
}

// Start creates the sandbox's first task from the executable at path and
// runs it to completion on a dedicated OS thread.
func (k *Kernel) Run(spec ProcessSpec) (ExitStatus, error) {
	type result struct {
		status ExitStatus
		err    error
	}
	done := make(chan result, 1)
	go func() {
		// The task goroutine owns its OS thread for life: ptrace stops are
		// reported to the thread that attached.
		runtime.LockOSThread()
		t, err := k.newInitTask(spec)
		if err != nil {
			done <- result{err: err}
			return
		}
		t.run()
		status := t.tg.status
		t.release()
		done <- result{status: status}
	}()
	r := <-done
	return r.status, r.err
}

func (t *Task) release() {
	t.fds.RemoveAll()
	t.mm.Release()
	t.ctx.Release()
	t.k.mu.Lock()
	delete(t.k.tasks, t.tid)
	t.k.mu.Unlock()
}

// SetCwd sets the working directory (an absolute, clean path).
func (t *Task) SetCwd(p string) { t.cwd = p }

// CPUTime is the CPU time the task's application code has used.
func (t *Task) CPUTime() (time.Duration, error) { return t.ctx.CPUTime() }
