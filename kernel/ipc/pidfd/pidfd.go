package pidfd

import (
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Thread is the flag of a thread pidfd: PIDFD_THREAD, which is O_EXCL.
const Thread = unix.O_EXCL

// Target is what a pidfd refers to.
type Target interface {
	// Readiness returns which of mask hold: EventIn|EventRdNorm once
	// the target exited, EventHUp too once it is gone.
	Readiness(mask uint32) uint32
	EventRegister(e *waiter.Entry)
	EventUnregister(e *waiter.Entry)
	// PID is the target's ID, -1 once it is gone.
	PID() int32
}

// pidFD is an open pidfd.
type pidFD struct {
	target atomic.Pointer[Target]
	thread bool

	// mu orders registrations with the setting of a pending target:
	// early holds the pollers that came before it, moved to the target
	// when it is set.
	mu    sync.Mutex
	early []*waiter.Entry
}

// New returns a pidfd of target; flags may hold O_NONBLOCK
// (PIDFD_NONBLOCK) and Thread.
func New(target Target, flags int) *vfs.File {
	f, p := newFile(flags)
	p.target.Store(&target)
	return f
}

// NewPending returns a pidfd whose target is not known yet, and the
// function that sets it (once): for CLONE_PIDFD, whose descriptor is
// handed out before the new process exists. Until then the pidfd is
// never ready and names nothing.
func NewPending(flags int) (*vfs.File, func(Target)) {
	f, p := newFile(flags)
	return f, p.set
}

func (p *pidFD) set(t Target) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.target.CompareAndSwap(nil, &t) {
		return
	}
	for _, e := range p.early {
		t.EventRegister(e)
	}
	p.early = nil
}

func newFile(flags int) (*vfs.File, *pidFD) {
	p := &pidFD{thread: flags&Thread != 0}
	return vfs.NewFile(p, unix.O_RDWR|flags&unix.O_NONBLOCK), p
}

// Of returns the target of a pidfd and whether it names a thread; ok is
// false for other files and for a pidfd whose target is not set yet.
func Of(f *vfs.File) (target Target, thread, ok bool) {
	p, isPidfd := f.Impl.(*pidFD)
	if !isPidfd {
		return nil, false, false
	}
	t := p.target.Load()
	if t == nil {
		return nil, p.thread, false
	}
	return *t, p.thread, true
}

// IsPidfd reports whether f is a pidfd.
func IsPidfd(f *vfs.File) bool {
	_, ok := f.Impl.(*pidFD)
	return ok
}

// ReadAt implements vfs.FileImpl: a pidfd has nothing to read.
func (p *pidFD) ReadAt(dst []byte, off int64) (int, error) { return 0, unix.EINVAL }

// WriteAt implements vfs.FileImpl.
func (p *pidFD) WriteAt(src []byte, off int64) (int, error) { return 0, unix.EINVAL }

// Stat implements vfs.FileImpl: pidfs gives its inodes the owner's
// permissions and no file type.
func (p *pidFD) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: 0o700, Nlink: 1, Blksize: 4096}
	return nil
}

// Seekable implements vfs.FileImpl (lseek is ESPIPE).
func (p *pidFD) Seekable() bool { return false }

// Release implements vfs.FileImpl.
func (p *pidFD) Release() {}

// Readiness implements vfs.Waitable.
func (p *pidFD) Readiness(mask uint32) uint32 {
	t := p.target.Load()
	if t == nil {
		return 0
	}
	return (*t).Readiness(mask)
}

// EventRegister implements vfs.Waitable.
func (p *pidFD) EventRegister(e *waiter.Entry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.target.Load(); t != nil {
		(*t).EventRegister(e)
		return
	}
	p.early = append(p.early, e)
}

// EventUnregister implements vfs.Waitable.
func (p *pidFD) EventUnregister(e *waiter.Entry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.target.Load(); t != nil {
		(*t).EventUnregister(e)
		return
	}
	for i, o := range p.early {
		if o == e {
			p.early = append(p.early[:i], p.early[i+1:]...)
			return
		}
	}
}

// ProcName names the file in /proc/[pid]/fd as Linux does.
func (p *pidFD) ProcName() string { return "anon_inode:[pidfd]" }

// FDInfo adds the target's ID to /proc/[pid]/fdinfo/N.
// Linux: kernel/pid.c, pidfd_show_fdinfo().
func (p *pidFD) FDInfo() string {
	pid := int32(-1)
	if t := p.target.Load(); t != nil {
		pid = (*t).PID()
	}
	return fmt.Sprintf("Pid:\t%d\nNSpid:\t%d\n", pid, pid)
}
