package lock

import (
	"slices"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Set sets the record lock of owner o on r of file id to typ (Read, Write,
// or Unlock to release). Unlocking bytes o does not hold is not an error.
// When another owner's lock conflicts, Set fails with EAGAIN if block is
// nil (F_SETLK), and otherwise sleeps in block until it can be granted
// (F_SETLKW), failing with EDEADLK if a POSIX owner would wait for a
// process that waits for it, or with block's error if interrupted. o's
// own locks never conflict with the request: they are replaced. A bad
// type or range is EINVAL.
//
// The system-call layer checks, before calling, what depends on the
// description: a Read lock needs it open for reading and a Write lock for
// writing (EBADF), and an OFD request's l_pid must be 0 (EINVAL).
// Linux: fs/locks.c, fcntl_setlk() and posix_lock_inode().
func (t *Table) Set(id vfs.FileID, o Owner, typ Type, r Range, block BlockFunc) error {
	if !typ.valid() || !r.valid() || o.id.key == nil {
		return unix.EINVAL
	}
	req := record{owner: o.id, pid: o.pid, typ: typ, r: r}
	t.mu.Lock()
	for {
		e := t.files[id]
		if typ == Unlock {
			if e != nil {
				t.replaceLocked(id, e, req)
				t.tidyLocked(id, e)
			}
			t.mu.Unlock()
			return nil
		}
		if e == nil {
			e = t.entryLocked(id)
		}
		blockers, conflict := e.recordConflicts(req)
		if !conflict {
			t.replaceLocked(id, e, req)
			t.mu.Unlock()
			return nil
		}
		if block == nil {
			t.tidyLocked(id, e)
			t.mu.Unlock()
			return unix.EAGAIN
		}
		w := &waiter{}
		if !o.id.ofd {
			if t.deadlockLocked(o.id.key, blockers) {
				t.tidyLocked(id, e)
				t.mu.Unlock()
				return unix.EDEADLK
			}
			w.proc, w.blockers = o.id.key, blockers
		}
		wake := t.waitLocked(e, w)
		t.mu.Unlock()
		err := block(wake)
		t.mu.Lock()
		t.unwaitLocked(e, w)
		if err != nil {
			t.tidyLocked(id, e)
			t.mu.Unlock()
			return err
		}
	}
}

// recordConflicts reports whether req conflicts with a lock of another
// owner, and lists the distinct processes holding conflicting POSIX locks
// (the edges of a POSIX waiter).
func (e *entry) recordConflicts(req record) (procs []any, conflict bool) {
	for _, l := range e.records {
		if l.owner == req.owner || !l.r.overlaps(req.r) || !conflicts(l.typ, req.typ) {
			continue
		}
		conflict = true
		if !l.owner.ofd && !containsKey(procs, l.owner.key) {
			procs = append(procs, l.owner.key)
		}
	}
	return procs, conflict
}

func containsKey(keys []any, k any) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// Test returns the first lock of another owner that conflicts with a typ
// lock on r of file id, as F_GETLK reports it, and whether there is one.
// An OFD owner may test with Unlock: Test then returns the owner's own
// first lock overlapping r (Linux 6.7's F_OFD_GETLK with F_UNLCK); a POSIX
// owner may not (EINVAL), nor may anyone with another type or a bad range.
//
// When there is none, F_GETLK sets l_type to F_UNLCK and leaves the rest of
// the caller's struct flock as it was.
// Linux: fs/locks.c, fcntl_getlk() and posix_test_lock().
func (t *Table) Test(id vfs.FileID, o Owner, typ Type, r Range) (Lock, bool, error) {
	if !typ.valid() || (typ == Unlock && !o.id.ofd) || !r.valid() || o.id.key == nil {
		return Lock{}, false, unix.EINVAL
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.files[id]
	if e == nil {
		return Lock{}, false, nil
	}
	for _, l := range e.records {
		if !l.r.overlaps(r) {
			continue
		}
		if typ == Unlock {
			if l.owner != o.id {
				continue
			}
		} else if l.owner == o.id || !conflicts(l.typ, typ) {
			continue
		}
		return l.lock(), true, nil
	}
	return Lock{}, false, nil
}

func (l record) lock() Lock {
	pid := l.pid
	if l.owner.ofd {
		pid = -1
	}
	return Lock{Type: l.typ, Range: l.r, PID: pid}
}

// ReleasePOSIX releases every POSIX lock of process proc on file id. The
// system-call layer calls it whenever the process closes any descriptor
// of the file, whichever description it refers to (POSIX's rule, which
// makes a library's close() drop the application's locks).
// Linux: fs/locks.c, locks_remove_posix().
func (t *Table) ReleasePOSIX(id vfs.FileID, proc any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.releaseRecordsLocked(id, ownerID{key: proc})
}

// ReleaseProcess releases every POSIX lock of process proc, on every file.
// The system-call layer calls it when the process exits (its descriptors
// may live on in a table it shared).
func (t *Table) ReleaseProcess(proc any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.held[proc] {
		t.releaseRecordsLocked(id, ownerID{key: proc})
	}
}

// ReleaseFile releases the OFD locks and the flock(2) lock of open file
// description desc on file id. The system-call layer calls it when the
// description's last reference goes.
// Linux: fs/locks.c, locks_remove_file().
func (t *Table) ReleaseFile(id vfs.FileID, desc any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.releaseRecordsLocked(id, ownerID{key: desc, ofd: true})
	if e := t.files[id]; e != nil {
		if i := e.flockIndex(desc); i >= 0 {
			e.flocks = slices.Delete(e.flocks, i, i+1)
			t.wakeLocked(e)
		}
		t.tidyLocked(id, e)
	}
}

func (t *Table) releaseRecordsLocked(id vfs.FileID, owner ownerID) {
	if e := t.files[id]; e != nil {
		t.replaceLocked(id, e, record{owner: owner, typ: Unlock, r: Whole})
		t.tidyLocked(id, e)
	}
}

// replaceLocked applies req (a lock or an unlock) to req.owner's locks on
// e, which must not conflict with other owners', wakes the waiters if
// that can have unblocked any, and keeps the per-process index.
func (t *Table) replaceLocked(id vfs.FileID, e *entry, req record) {
	lo, hi := e.ownerSpan(req.owner)
	if lo == hi && req.typ == Unlock {
		return
	}
	mine, released := apply(e.records[lo:hi], req)
	if len(mine) != hi-lo {
		rest := e.records[hi:]
		recs := make([]record, 0, lo+len(mine)+len(rest))
		recs = append(recs, e.records[:lo]...)
		recs = append(recs, mine...)
		e.records = append(recs, rest...)
	} else {
		copy(e.records[lo:hi], mine)
	}
	if released {
		t.wakeLocked(e)
	}
	if !req.owner.ofd {
		t.indexLocked(id, req.owner.key, len(mine) > 0)
	}
}

// ownerSpan returns the indexes [lo, hi) of owner's locks in e.records:
// where they would go (the end) when it has none.
func (e *entry) ownerSpan(owner ownerID) (lo, hi int) {
	lo = len(e.records)
	for i, l := range e.records {
		if l.owner == owner {
			lo = i
			break
		}
	}
	hi = lo
	for hi < len(e.records) && e.records[hi].owner == owner {
		hi++
	}
	return lo, hi
}

// indexLocked records whether proc has POSIX locks on id.
func (t *Table) indexLocked(id vfs.FileID, proc any, has bool) {
	files := t.held[proc]
	if has {
		if files == nil {
			if t.held == nil {
				t.held = make(map[any]map[vfs.FileID]struct{})
			}
			files = make(map[vfs.FileID]struct{})
			t.held[proc] = files
		}
		files[id] = struct{}{}
		return
	}
	delete(files, id)
	if len(files) == 0 {
		delete(t.held, proc)
	}
}

// apply returns one owner's locks (disjoint, sorted by start, touching
// same-type locks merged) after req sets req.r to req.typ: bytes of
// req.r the owner held with another type are cut out of those locks
// (which may split one in two), and a lock of req.typ that overlaps or
// touches req.r is merged into the new one. released reports whether the
// owner gave anything up that another request could be waiting for: some
// bytes unlocked, or a write lock turned into a read lock. mine is not
// modified.
func apply(mine []record, req record) (out []record, released bool) {
	out = make([]record, 0, len(mine)+2)
	for _, l := range mine {
		if req.typ == l.typ && touches(l.r, req.r) {
			// Same type: the new lock absorbs this one.
			req.r.Start = min(req.r.Start, l.r.Start)
			req.r.End = max(req.r.End, l.r.End)
			continue
		}
		if !l.r.overlaps(req.r) {
			out = append(out, l)
			continue
		}
		if req.typ == Unlock || (l.typ == Write && req.typ == Read) {
			released = true
		}
		if l.r.Start < req.r.Start {
			left := l
			left.r.End = req.r.Start - 1
			out = append(out, left)
		}
		if l.r.End > req.r.End {
			right := l
			right.r.Start = req.r.End + 1
			out = append(out, right)
		}
	}
	if req.typ != Unlock {
		i := 0
		for i < len(out) && out[i].r.Start < req.r.Start {
			i++
		}
		out = append(out, record{})
		copy(out[i+1:], out[i:])
		out[i] = req
	}
	return out, released
}

// touches reports whether a and b overlap or are adjacent.
func touches(a, b Range) bool {
	// a.End < b.Start implies a.End < MaxOffset, so a.End+1 cannot
	// overflow; likewise for b.
	if a.End < b.Start {
		return a.End+1 == b.Start
	}
	if b.End < a.Start {
		return b.End+1 == a.Start
	}
	return true
}
