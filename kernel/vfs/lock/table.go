package lock

import (
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Type is a lock's type, with the values of struct flock's l_type.
type Type int16

// The lock types. flock(2)'s LOCK_SH and LOCK_EX are Read and Write.
const (
	Read   Type = unix.F_RDLCK
	Write  Type = unix.F_WRLCK
	Unlock Type = unix.F_UNLCK
)

func (t Type) valid() bool { return t == Read || t == Write || t == Unlock }

// conflicts reports whether locks of types a and b on overlapping bytes
// (or on the same file, for flock) exclude each other.
func conflicts(a, b Type) bool { return a == Write || b == Write }

// BlockFunc sleeps until wake is closed or the caller is interrupted. It
// returns nil when woken (a spurious return is harmless: the request is
// retried) and a non-nil error when interrupted; Set and Flock return that
// error unchanged. It is called without any lock of this package held.
type BlockFunc func(wake <-chan struct{}) error

// Owner is who holds a record lock: a process, for POSIX locks, or an open
// file description, for OFD locks. The zero Owner is not valid.
type Owner struct {
	id  ownerID
	pid int32
}

// ownerID is what makes two owners the same. The kind is part of it, so a
// process and a description never compare equal whatever keys the caller
// picks.
type ownerID struct {
	key any
	ofd bool
}

// POSIXOwner returns the owner of a process's POSIX locks. proc is any
// comparable value identifying the process for as long as it may hold
// locks (the thread group object, not a reusable PID); pid is what F_GETLK
// reports to others as l_pid.
func POSIXOwner(proc any, pid int32) Owner {
	return Owner{id: ownerID{key: proc}, pid: pid}
}

// OFDOwner returns the owner of an open file description's OFD locks.
// desc is any comparable value identifying the description for its
// lifetime (the *vfs.File). F_GETLK reports its locks with l_pid -1.
func OFDOwner(desc any) Owner {
	return Owner{id: ownerID{key: desc, ofd: true}, pid: -1}
}

// Lock is a record lock as F_GETLK reports it.
type Lock struct {
	Type  Type
	Range Range
	// PID is the owning process's PID for a POSIX lock and -1 for an OFD
	// lock.
	PID int32
}

// Flock returns l as struct flock: whence SEEK_SET, l_len 0 for a lock
// that runs to the end of the file.
// Linux: fs/locks.c, posix_lock_to_flock().
func (l Lock) Flock() unix.Flock_t {
	return unix.Flock_t{
		Type:   int16(l.Type),
		Whence: unix.SEEK_SET,
		Start:  l.Range.Start,
		Len:    l.Range.Len(),
		Pid:    l.PID,
	}
}

// Table holds the locks of every file of a sandbox. The zero Table is
// ready to use; it must not be copied after first use.
type Table struct {
	mu sync.Mutex
	// files has an entry for every file with locks or waiters.
	files map[vfs.FileID]*entry
	// held indexes, per process, the files on which it has POSIX locks,
	// so that ReleaseProcess need not scan every file.
	held map[any]map[vfs.FileID]struct{}
	// waitsFor is the waits-for graph between processes: waitsFor[a][b]
	// counts the edges "a waiting POSIX request of a conflicts with a
	// POSIX lock of b".
	waitsFor map[any]map[any]int
}

// entry is the lock state of one file.
type entry struct {
	// records holds the POSIX and OFD locks: each owner's together,
	// disjoint and sorted by start, owners in the order they first locked
	// (Linux's order, which decides what F_GETLK reports).
	records []record
	// flocks holds the flock(2) locks, at most one per description.
	flocks []flockLock
	// waiters are the requests sleeping on wake.
	waiters []*waiter
	// wake is closed (and cleared) to wake every waiter; nil when nobody
	// has waited since the last wake.
	wake chan struct{}
}

type record struct {
	owner ownerID
	pid   int32
	typ   Type
	r     Range
}

type flockLock struct {
	desc any
	typ  Type
}

// waiter is a request sleeping on an entry. proc and blockers are set for
// POSIX requests only: they are the waiter's edges in the waits-for graph
// while registered, nil after a wake removed them.
type waiter struct {
	proc     any
	blockers []any
}

func (e *entry) empty() bool {
	return len(e.records) == 0 && len(e.flocks) == 0 && len(e.waiters) == 0
}

// entryLocked returns id's entry, creating it.
func (t *Table) entryLocked(id vfs.FileID) *entry {
	e := t.files[id]
	if e == nil {
		if t.files == nil {
			t.files = make(map[vfs.FileID]*entry)
		}
		e = &entry{}
		t.files[id] = e
	}
	return e
}

// tidyLocked forgets id's entry when it holds nothing.
func (t *Table) tidyLocked(id vfs.FileID, e *entry) {
	if e != nil && e.empty() {
		delete(t.files, id)
	}
}

// waitLocked registers w on e, with its edges, and returns the channel to
// sleep on.
func (t *Table) waitLocked(e *entry, w *waiter) <-chan struct{} {
	e.waiters = append(e.waiters, w)
	t.addEdgesLocked(w)
	if e.wake == nil {
		e.wake = make(chan struct{})
	}
	return e.wake
}

// unwaitLocked takes w off e after its sleep.
func (t *Table) unwaitLocked(e *entry, w *waiter) {
	if i := slices.Index(e.waiters, w); i >= 0 {
		e.waiters = slices.Delete(e.waiters, i, i+1)
	}
	t.dropEdgesLocked(w)
}

// wakeLocked wakes every waiter of e to retry. Their edges go now, not
// when they run: what they waited for may be gone, and a stale edge could
// make another request fail with a false EDEADLK.
func (t *Table) wakeLocked(e *entry) {
	if e.wake == nil {
		return
	}
	close(e.wake)
	e.wake = nil
	for _, w := range e.waiters {
		t.dropEdgesLocked(w)
	}
}
