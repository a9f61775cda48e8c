package vfs

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// DefaultMaxFDs is RLIMIT_NOFILE's usual soft limit.
const DefaultMaxFDs = 1024

type descriptor struct {
	file    *File
	cloexec bool
}

// FDTable maps descriptor numbers to open files.
type FDTable struct {
	// refs counts the tasks sharing the table (CLONE_FILES).
	refs atomic.Int32

	mu  sync.Mutex
	fds []descriptor // index is the descriptor; file nil when free
}

// NewFDTable returns an empty table with one reference.
func NewFDTable() *FDTable {
	t := &FDTable{}
	t.refs.Store(1)
	return t
}

// IncRef adds a task sharing the table.
func (t *FDTable) IncRef() { t.refs.Add(1) }

// DecRef drops a task's use; the last closes every descriptor.
func (t *FDTable) DecRef() {
	if t.refs.Add(-1) == 0 {
		t.RemoveAll()
	}
}

// Shared reports whether several tasks use the table.
func (t *FDTable) Shared() bool { return t.refs.Load() > 1 }

// Install puts f at the lowest free descriptor >= minFD, below limit.
// It takes its own reference on f.
func (t *FDTable) Install(f *File, minFD int, cloexec bool, limit int) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for fd := minFD; fd < limit; fd++ {
		if fd >= len(t.fds) {
			t.growLocked(fd + 1)
		}
		if t.fds[fd].file == nil {
			f.IncRef()
			t.fds[fd] = descriptor{f, cloexec}
			return fd, nil
		}
	}
	return -1, unix.EMFILE
}

// InstallAt puts f at fd, closing what was there (dup2 semantics).
func (t *FDTable) InstallAt(fd int, f *File, cloexec bool, limit int) error {
	if fd < 0 || fd >= limit {
		return unix.EBADF
	}
	t.mu.Lock()
	if fd >= len(t.fds) {
		t.growLocked(fd + 1)
	}
	old := t.fds[fd].file
	f.IncRef()
	t.fds[fd] = descriptor{f, cloexec}
	t.mu.Unlock()
	if old != nil {
		old.closedBy(t)
		old.DecRef()
	}
	return nil
}

func (t *FDTable) growLocked(n int) {
	if n <= len(t.fds) {
		return
	}
	grown := make([]descriptor, max(n, 2*len(t.fds)))
	copy(grown, t.fds)
	t.fds = grown
}

// Get returns the file at fd with a reference the caller must drop.
func (t *FDTable) Get(fd int) (*File, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		return nil, false, unix.EBADF
	}
	d := t.fds[fd]
	d.file.IncRef()
	return d.file, d.cloexec, nil
}

// SetCloexec changes the close-on-exec flag of fd.
func (t *FDTable) SetCloexec(fd int, cloexec bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		return unix.EBADF
	}
	t.fds[fd].cloexec = cloexec
	return nil
}

// Remove closes fd.
func (t *FDTable) Remove(fd int) error {
	t.mu.Lock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		t.mu.Unlock()
		return unix.EBADF
	}
	f := t.fds[fd].file
	t.fds[fd] = descriptor{}
	t.mu.Unlock()
	f.closedBy(t)
	f.DecRef()
	return nil
}

// RemoveAll closes every descriptor.
func (t *FDTable) RemoveAll() {
	t.mu.Lock()
	fds := t.fds
	t.fds = nil
	t.mu.Unlock()
	for _, d := range fds {
		if d.file != nil {
			d.file.closedBy(t)
			d.file.DecRef()
		}
	}
}

// Count returns the number of open descriptors.
func (t *FDTable) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, d := range t.fds {
		if d.file != nil {
			n++
		}
	}
	return n
}

// Fork returns a new table holding the same files (clone without
// CLONE_FILES, fork).
func (t *FDTable) Fork() *FDTable {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &FDTable{fds: make([]descriptor, len(t.fds))}
	n.refs.Store(1)
	copy(n.fds, t.fds)
	for _, d := range n.fds {
		if d.file != nil {
			d.file.IncRef()
		}
	}
	return n
}

// CloseOnExec closes every descriptor marked close-on-exec.
func (t *FDTable) CloseOnExec() {
	t.mu.Lock()
	var closing []*File
	for i, d := range t.fds {
		if d.file != nil && d.cloexec {
			closing = append(closing, d.file)
			t.fds[i] = descriptor{}
		}
	}
	t.mu.Unlock()
	for _, f := range closing {
		f.closedBy(t)
		f.DecRef()
	}
}

// CloseRange closes descriptors first..last (close_range(2) without
// flags), or marks them close-on-exec (CLOSE_RANGE_CLOEXEC).
func (t *FDTable) CloseRange(first, last int, cloexecOnly bool) {
	t.mu.Lock()
	var closing []*File
	for i := first; i <= last && i < len(t.fds); i++ {
		if i < 0 || t.fds[i].file == nil {
			continue
		}
		if cloexecOnly {
			t.fds[i].cloexec = true
			continue
		}
		closing = append(closing, t.fds[i].file)
		t.fds[i] = descriptor{}
	}
	t.mu.Unlock()
	for _, f := range closing {
		f.closedBy(t)
		f.DecRef()
	}
}

// Capacity is the size the table has grown to, as Linux's fdtable max_fds:
// a power of two, at least 64 (BITS_PER_LONG). select(2) ignores
// descriptors beyond it.
func (t *FDTable) Capacity() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 64
	for n < len(t.fds) {
		n *= 2
	}
	return n
}
