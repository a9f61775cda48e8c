package kernel

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// doSyscall serves the system call the task stopped at.
func (t *Task) doSyscall() {
	nr := uintptr(t.Regs.Orig_rax)
	// The arguments live in the task: an implementation is called
	// through a function value, so a local would escape to the heap
	// at every call.
	args := &t.syscallArgs
	*args = SyscallArguments{
		uintptr(t.Regs.Rdi), uintptr(t.Regs.Rsi), uintptr(t.Regs.Rdx),
		uintptr(t.Regs.R10), uintptr(t.Regs.R8), uintptr(t.Regs.R9),
	}
	sc := t.k.Syscalls.Lookup(nr)
	var ret uintptr
	var err error
	name := ""
	if sc != nil {
		name = sc.Name
	}
	if t.k.Strace != nil && t.k.StraceFormat != nil && (name == "execve" || name == "execveat") {
		// A successful exec replaces the memory the arguments are in:
		// format them now.
		line := t.k.StraceFormat(t, name, args, 0, nil)
		if i := strings.LastIndex(line, " = "); i >= 0 {
			t.stracePrefix = line[:i]
		}
	}
	if sc != nil && sc.Fn != nil {
		ret, err = sc.Fn(t, args)
	} else {
		err = unix.ENOSYS
		if sc != nil && sc.Err != 0 {
			err = sc.Err
		}
		t.k.logUnsupported(nr, name)
	}
	if err == errExitGroup {
		t.strace(name, nr, args, 0, err)
		return
	}
	t.restart = 0
	if err != nil {
		errno := t.errnoOf(name, err)
		ret = uintptr(-int64(errno))
		err = errno
		switch errno {
		case ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK:
			// Never seen by the application: signal delivery turns it
			// into a restart or EINTR.
			t.restart = errno
		}
	}
	t.Regs.Rax = uint64(ret)
	t.strace(name, nr, args, ret, err)
}

// errnoOf turns an implementation's error into the errno the application
// sees. A non-errno error is a kernel bug or a host failure: it is logged
// and reported as EIO rather than crashing anything.
func (t *Task) errnoOf(name string, err error) unix.Errno {
	switch err {
	case ErrInterrupted:
		return ERESTARTSYS
	case ErrTimedOut:
		return unix.ETIMEDOUT
	}
	if errno, ok := err.(unix.Errno); ok {
		return errno
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	t.k.Debugf("task %d: %s: internal error: %v", t.tid, name, err)
	return unix.EIO
}

func (t *Task) strace(name string, nr uintptr, args *SyscallArguments, ret uintptr, err error) {
	if t.k.Strace == nil {
		return
	}
	if name == "" {
		name = fmt.Sprintf("syscall_%d", nr)
	}
	var line string
	if t.k.StraceFormat != nil {
		line = t.k.StraceFormat(t, name, args, ret, err)
		if t.stracePrefix != "" {
			if i := strings.LastIndex(line, " = "); i >= 0 {
				line = t.stracePrefix + line[i:]
			}
			t.stracePrefix = ""
		}
	} else {
		line = fmt.Sprintf("%s(%#x, %#x, %#x, %#x, %#x, %#x) = %#x", name, args[0], args[1], args[2], args[3], args[4], args[5], ret)
	}
	t.k.straceMu.Lock()
	fmt.Fprintf(t.k.Strace, "[pid %d] %s\n", t.tid, line)
	t.k.straceMu.Unlock()
}

// IsExit reports whether err is the task-loop control error of exit and
// exit_group (strace prints such calls as "= ?").
func IsExit(err error) bool { return err == errExitGroup }
