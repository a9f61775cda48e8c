package lock

import (
	"slices"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// lockMand is flock(2)'s obsolete LOCK_MAND, which x/sys/unix lacks.
const lockMand = 0x20

// ParseFlock decodes flock(2)'s operation: the lock type (LOCK_SH is Read,
// LOCK_EX Write, LOCK_UN Unlock) and whether the call may wait (no
// LOCK_NB). ignore reports LOCK_MAND, which Linux accepts and ignores
// since 5.15: the call returns 0 at once, before even looking at the
// descriptor. Any other operation is EINVAL, also checked before the
// descriptor.
// Linux: fs/locks.c, SYSCALL_DEFINE2(flock).
func ParseFlock(op uint32) (typ Type, wait, ignore bool, err error) {
	if op&lockMand != 0 {
		return 0, false, true, nil
	}
	wait = op&unix.LOCK_NB == 0
	switch op &^ unix.LOCK_NB {
	case unix.LOCK_SH:
		return Read, wait, false, nil
	case unix.LOCK_EX:
		return Write, wait, false, nil
	case unix.LOCK_UN:
		return Unlock, wait, false, nil
	}
	return 0, false, false, unix.EINVAL
}

// Flock sets the flock(2) lock of open file description desc on file id
// to typ: Read (LOCK_SH), Write (LOCK_EX) or Unlock (LOCK_UN). Holding the
// same type already succeeds at once. Converting between Read and Write
// drops the held lock first and then takes the new one as a fresh
// request, so a conversion is not atomic and a failed or interrupted one
// leaves the description with no lock, as on Linux. When another
// description's lock conflicts, Flock fails with EWOULDBLOCK if block is
// nil (LOCK_NB) and otherwise sleeps in block until it can be granted,
// returning block's error if interrupted. flock locks and record locks
// never conflict.
//
// The system-call layer checks the descriptor first: EBADF for an O_PATH
// descriptor, or for a lock (not an unlock) on a description open for
// neither reading nor writing.
// Linux: fs/locks.c, flock_lock_inode().
func (t *Table) Flock(id vfs.FileID, desc any, typ Type, block BlockFunc) error {
	if !typ.valid() || desc == nil {
		return unix.EINVAL
	}
	t.mu.Lock()
	for {
		e := t.files[id]
		if e != nil {
			if i := e.flockIndex(desc); i >= 0 {
				if e.flocks[i].typ == typ {
					t.mu.Unlock()
					return nil
				}
				e.flocks = slices.Delete(e.flocks, i, i+1)
				t.wakeLocked(e)
			}
		}
		if typ == Unlock {
			t.tidyLocked(id, e)
			t.mu.Unlock()
			return nil
		}
		if e == nil {
			e = t.entryLocked(id)
		}
		if !e.flockConflicts(desc, typ) {
			e.flocks = append(e.flocks, flockLock{desc: desc, typ: typ})
			t.mu.Unlock()
			return nil
		}
		if block == nil {
			t.tidyLocked(id, e)
			t.mu.Unlock()
			return unix.EWOULDBLOCK
		}
		w := &waiter{}
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

func (e *entry) flockIndex(desc any) int {
	for i, l := range e.flocks {
		if l.desc == desc {
			return i
		}
	}
	return -1
}

func (e *entry) flockConflicts(desc any, typ Type) bool {
	for _, l := range e.flocks {
		if l.desc != desc && conflicts(l.typ, typ) {
			return true
		}
	}
	return false
}
