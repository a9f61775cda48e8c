package sysv

import (
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The SEM_UNDO flag of an operation and the commands of semctl. Linux:
// include/uapi/linux/sem.h.
const (
	SEM_UNDO = 0x1000

	GETPID       = 11
	GETVAL       = 12
	GETALL       = 13
	GETNCNT      = 14
	GETZCNT      = 15
	SETVAL       = 16
	SETALL       = 17
	SEM_STAT     = 18
	SEM_INFO     = 19
	SEM_STAT_ANY = 20
)

type semState struct {
	mu  sync.Mutex
	reg registry[*semSet]
	// used counts the semaphores of all sets (Linux's used_sems).
	used int
}

type semaphore struct {
	val int32
	// pid is the process that changed the value last.
	pid int32
}

// semSet is a semaphore set. Guarded by semState.mu.
type semSet struct {
	object
	sems         []semaphore
	otime, ctime int64
	// pending are the queued semop calls, oldest first.
	pending []*semWaiter
	// undos are the undo lists holding adjustments for this set.
	undos map[*UndoList]*semUndo
}

// semWaiter is a semop call waiting in a set's queue.
type semWaiter struct {
	ops   []SemBuf
	undo  *semUndo
	pid   int32
	alter bool
	// blocking is the index of the operation that would block, for
	// GETNCNT and GETZCNT.
	blocking int
	done     chan struct{}
	// finished is set, and err is the outcome, once a waker (or the
	// set's removal) completed the call.
	finished bool
	err      error
}

func (w *semWaiter) finish(err error) {
	w.finished, w.err = true, err
	close(w.done)
}

// UndoList holds the SEM_UNDO adjustments of the tasks that share it
// (threads, CLONE_SYSVSEM): one array per set they operated on. The
// kernel applies it when the last of them exits (Exit). Linux: struct
// sem_undo_list.
type UndoList struct {
	ns *Namespace
	// entries is guarded by ns.sem.mu.
	entries map[*semSet]*semUndo
}

// semUndo is one list's adjustments for one set (Linux: struct
// sem_undo): what exit adds to each semaphore.
type semUndo struct {
	adj []int32
}

// NewUndoList returns an empty undo list.
func (ns *Namespace) NewUndoList() *UndoList {
	return &UndoList{ns: ns, entries: map[*semSet]*semUndo{}}
}

// entryLocked returns l's adjustments for s, made on first use. Linux:
// ipc/sem.c, find_alloc_undo().
func (l *UndoList) entryLocked(s *semSet) *semUndo {
	if u, ok := l.entries[s]; ok {
		return u
	}
	u := &semUndo{adj: make([]int32, len(s.sems))}
	l.entries[s] = u
	if s.undos == nil {
		s.undos = map[*UndoList]*semUndo{}
	}
	s.undos[l] = u
	return u
}

// Exit applies the adjustments, as the last task sharing the list
// exits, on behalf of process pid: each value is clamped to [0, SEMVMX]
// (Linux's choice; POSIX leaves it open) and waiters get another look.
// The list is empty afterwards. Linux: ipc/sem.c, exit_sem().
func (l *UndoList) Exit(pid int32) {
	st := &l.ns.sem
	st.mu.Lock()
	defer st.mu.Unlock()
	now := l.ns.seconds()
	for s, u := range l.entries {
		delete(s.undos, l)
		for i, a := range u.adj {
			if a == 0 {
				continue
			}
			s.sems[i].val = min(max(s.sems[i].val+a, 0), SEMVMX)
			s.sems[i].pid = pid
		}
		st.updateLocked(s, now)
	}
	l.entries = map[*semSet]*semUndo{}
}

// SemGet implements semget(2): at most semmsl semaphores per set,
// semmns in all sets and semmni sets. Linux: ipc/sem.c, ksys_semget()
// and newary().
func (ns *Namespace) SemGet(c *Caller, key, nsems int32, flags int) (int32, error) {
	l := ns.limits()
	if nsems < 0 || nsems > l.SemMSL {
		return 0, unix.EINVAL
	}
	st := &ns.sem
	st.mu.Lock()
	defer st.mu.Unlock()
	more := func(s *semSet) error {
		if int(nsems) > len(s.sems) {
			return unix.EINVAL
		}
		return nil
	}
	return get(&st.reg, c, key, flags, l.SemMNI, more, func() (*semSet, error) {
		if nsems == 0 {
			return nil, unix.EINVAL
		}
		if st.used+int(nsems) > int(l.SemMNS) || st.reg.full(l.SemMNI) {
			return nil, unix.ENOSPC
		}
		st.used += int(nsems)
		return &semSet{sems: make([]semaphore, nsems), ctime: ns.seconds()}, nil
	})
}

// TooManySemops reports whether a semop of nsops operations exceeds
// semopm, compared as Linux compares them: unsigned, so that a negative
// semopm bounds nothing.
func TooManySemops(nsops uint64, l Limits) bool { return nsops > uint64(uint32(l.SemOPM)) }

// perform applies w's operations all or none. It returns -1 when they
// were applied, the index of the operation that must wait, or an error:
// EAGAIN when that operation has IPC_NOWAIT, ERANGE when a value or an
// adjustment would leave its range. Operations apply in order, so a
// later one sees an earlier one's change to the same semaphore.
// Linux: ipc/sem.c, perform_atomic_semop_slow().
func (s *semSet) perform(w *semWaiter) (int, error) {
	var err error
	blocked := -1
	i := 0
	for ; i < len(w.ops); i++ {
		op := w.ops[i]
		v := s.sems[op.Num].val
		if op.Op == 0 && v != 0 {
			blocked = i
			break
		}
		v += int32(op.Op)
		if v < 0 {
			blocked = i
			break
		}
		if v > SEMVMX {
			err = unix.ERANGE
			break
		}
		if op.Flg&SEM_UNDO != 0 {
			adj := w.undo.adj[op.Num] - int32(op.Op)
			if adj < -SEMAEM-1 || adj > SEMAEM {
				err = unix.ERANGE
				break
			}
			w.undo.adj[op.Num] = adj
		}
		s.sems[op.Num].val = v
	}
	if blocked < 0 && err == nil {
		for _, op := range w.ops {
			s.sems[op.Num].pid = w.pid
		}
		return -1, nil
	}
	for j := i - 1; j >= 0; j-- {
		op := w.ops[j]
		s.sems[op.Num].val -= int32(op.Op)
		if op.Flg&SEM_UNDO != 0 {
			w.undo.adj[op.Num] += int32(op.Op)
		}
	}
	if err != nil {
		return -1, err
	}
	if w.ops[blocked].Flg&IPC_NOWAIT != 0 {
		return -1, unix.EAGAIN
	}
	return blocked, nil
}

// updateLocked retries the queue of s after a change, oldest first,
// completing the calls that succeed or fail now; after one that changed
// values it starts again from the oldest. Linux: ipc/sem.c,
// update_queue().
func (st *semState) updateLocked(s *semSet, now int64) {
	for again := true; again; {
		again = false
		for i := 0; i < len(s.pending); i++ {
			w := s.pending[i]
			at, err := s.perform(w)
			if err == nil && at >= 0 {
				w.blocking = at
				continue
			}
			s.pending = slices.Delete(s.pending, i, i+1)
			i--
			w.finish(err)
			if err == nil {
				s.otime = now
				if w.alter {
					again = true
					break
				}
			}
		}
	}
}

// Semop implements semop(2) and semtimedop(2) once the operations are
// copied in; deadline is the timeout's end, zero for none. undo returns
// the caller's undo list, made on first use; it is called (with no lock
// held) only when an operation has SEM_UNDO. A wait that times out
// fails with EAGAIN; an interrupted one with ErrInterrupted (EINTR:
// Linux never restarts semop). More operations than semopm is E2BIG.
// Linux: ipc/sem.c, do_semtimedop().
func (ns *Namespace) Semop(c *Caller, id int32, ops []SemBuf, deadline time.Time, b Blocker, undo func() *UndoList) error {
	if len(ops) < 1 || id < 0 {
		return unix.EINVAL
	}
	if TooManySemops(uint64(len(ops)), ns.limits()) {
		return unix.E2BIG
	}
	var maxNum uint16
	undos, alter := false, false
	for _, op := range ops {
		maxNum = max(maxNum, op.Num)
		undos = undos || op.Flg&SEM_UNDO != 0
		alter = alter || op.Op != 0
	}
	var list *UndoList
	if undos {
		list = undo()
	}
	st := &ns.sem
	st.mu.Lock()
	s, err := st.reg.find(id)
	if err != nil {
		st.mu.Unlock()
		return err
	}
	if int(maxNum) >= len(s.sems) {
		st.mu.Unlock()
		return unix.EFBIG
	}
	acc := uint32(mayRead)
	if alter {
		acc = mayWrite
	}
	if !s.allowed(c, acc) {
		st.mu.Unlock()
		return unix.EACCES
	}
	w := &semWaiter{ops: ops, pid: c.PID, alter: alter}
	if list != nil {
		w.undo = list.entryLocked(s)
	}
	at, err := s.perform(w)
	if err != nil || at < 0 {
		if err == nil {
			s.otime = ns.seconds()
			if alter {
				st.updateLocked(s, s.otime)
			}
		}
		st.mu.Unlock()
		return err
	}
	w.blocking = at
	w.done = make(chan struct{})
	s.pending = append(s.pending, w)
	st.mu.Unlock()

	berr := b.Block(w.done, deadline)
	st.mu.Lock()
	defer st.mu.Unlock()
	if w.finished {
		return w.err
	}
	if i := slices.Index(s.pending, w); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
	if berr == ErrTimedOut {
		return unix.EAGAIN
	}
	return ErrInterrupted
}

// removeLocked destroys s: its waiters fail with EIDRM and the undo
// lists forget it. Linux: ipc/sem.c, freeary().
func (st *semState) removeLocked(s *semSet) {
	st.reg.remove(s)
	st.used -= len(s.sems)
	for _, w := range s.pending {
		w.finish(unix.EIDRM)
	}
	s.pending = nil
	for l := range s.undos {
		delete(l.entries, s)
	}
	s.undos = nil
}

// SemStat implements semctl IPC_STAT, SEM_STAT and SEM_STAT_ANY; it
// returns the identifier for the last two. Linux: ipc/sem.c,
// semctl_stat().
func (ns *Namespace) SemStat(c *Caller, id int32, cmd int) (SemidDS, int32, error) {
	st := &ns.sem
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := findStat(&st.reg, id, cmd != IPC_STAT)
	if err != nil {
		return SemidDS{}, 0, err
	}
	if cmd != SEM_STAT_ANY && !s.allowed(c, mayRead) {
		return SemidDS{}, 0, unix.EACCES
	}
	ds := SemidDS{Perm: s.perm(), Otime: s.otime, Ctime: s.ctime, Nsems: uint64(len(s.sems))}
	if cmd == IPC_STAT {
		return ds, 0, nil
	}
	return ds, s.id, nil
}

// SemLimits implements semctl IPC_INFO and SEM_INFO (which puts the
// number of sets in Semusz and of semaphores in Semaem); it returns the
// highest index in use. Linux: ipc/sem.c, semctl_info().
func (ns *Namespace) SemLimits(cmd int) (Seminfo, int) {
	l := ns.limits()
	st := &ns.sem
	st.mu.Lock()
	defer st.mu.Unlock()
	// semmap, semmnu and semume are Linux's constants, whatever the
	// limits.
	info := Seminfo{Semmap: SEMMNS, Semmni: l.SemMNI, Semmns: l.SemMNS, Semmnu: SEMMNS, Semmsl: l.SemMSL,
		Semopm: l.SemOPM, Semume: SEMOPM, Semusz: 20, Semvmx: SEMVMX, Semaem: SEMAEM}
	if cmd == SEM_INFO {
		info.Semusz, info.Semaem = int32(len(st.reg.byIndex)), int32(st.used)
	}
	return info, st.reg.maxIndex()
}

// SemValue implements semctl GETVAL, GETPID, GETNCNT and GETZCNT.
// Waiters count for the operation they wait on. Linux: ipc/sem.c,
// semctl_main() and count_semcnt().
func (ns *Namespace) SemValue(c *Caller, id, num int32, cmd int) (int, error) {
	st := &ns.sem
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := st.reg.find(id)
	if err != nil {
		return 0, err
	}
	if !s.allowed(c, mayRead) {
		return 0, unix.EACCES
	}
	if num < 0 || int(num) >= len(s.sems) {
		return 0, unix.EINVAL
	}
	switch cmd {
	case GETVAL:
		return int(s.sems[num].val), nil
	case GETPID:
		return int(s.sems[num].pid), nil
	}
	n := 0
	for _, w := range s.pending {
		op := w.ops[w.blocking]
		if int32(op.Num) == num && (cmd == GETZCNT && op.Op == 0 || cmd == GETNCNT && op.Op < 0) {
			n++
		}
	}
	return n, nil
}

// SemGetAll implements semctl GETALL.
func (ns *Namespace) SemGetAll(c *Caller, id int32) ([]uint16, error) {
	st := &ns.sem
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := st.reg.find(id)
	if err != nil {
		return nil, err
	}
	if !s.allowed(c, mayRead) {
		return nil, unix.EACCES
	}
	out := make([]uint16, len(s.sems))
	for i, sem := range s.sems {
		out[i] = uint16(sem.val)
	}
	return out, nil
}

// setLocked gives semaphore i the value v: the adjustments of every
// undo list for it are forgotten. Linux: ipc/sem.c, semctl_setval().
func (s *semSet) setLocked(i int, v int32, pid int32) {
	for _, u := range s.undos {
		u.adj[i] = 0
	}
	s.sems[i] = semaphore{val: v, pid: pid}
}

// SemSetVal implements semctl SETVAL.
func (ns *Namespace) SemSetVal(c *Caller, id, num, val int32) error {
	if val < 0 || val > SEMVMX {
		return unix.ERANGE
	}
	st := &ns.sem
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := st.reg.find(id)
	if err != nil {
		return err
	}
	if num < 0 || int(num) >= len(s.sems) {
		return unix.EINVAL
	}
	if !s.allowed(c, mayWrite) {
		return unix.EACCES
	}
	s.setLocked(int(num), val, c.PID)
	s.ctime = ns.seconds()
	st.updateLocked(s, s.ctime)
	return nil
}

// SemSetAll implements semctl SETALL: read, called with no lock held,
// copies in the values of the set's n semaphores. Linux: ipc/sem.c,
// semctl_main().
func (ns *Namespace) SemSetAll(c *Caller, id int32, read func(n int) ([]uint16, error)) error {
	st := &ns.sem
	st.mu.Lock()
	s, err := st.reg.find(id)
	if err != nil {
		st.mu.Unlock()
		return err
	}
	if !s.allowed(c, mayWrite) {
		st.mu.Unlock()
		return unix.EACCES
	}
	n := len(s.sems)
	st.mu.Unlock()
	vals, err := read(n)
	if err != nil {
		return err
	}
	for _, v := range vals {
		if v > SEMVMX {
			return unix.ERANGE
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.removed {
		return unix.EIDRM
	}
	for i, v := range vals {
		s.setLocked(i, int32(v), c.PID)
	}
	s.ctime = ns.seconds()
	st.updateLocked(s, s.ctime)
	return nil
}

// SemSet implements semctl IPC_SET.
func (ns *Namespace) SemSet(c *Caller, id int32, p *IPCPerm) error {
	st := &ns.sem
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := st.reg.findOwned(id, c)
	if err != nil {
		return err
	}
	if err := s.setPerm(p); err != nil {
		return err
	}
	s.ctime = ns.seconds()
	return nil
}

// SemRemove implements semctl IPC_RMID.
func (ns *Namespace) SemRemove(c *Caller, id int32) error {
	st := &ns.sem
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := st.reg.findOwned(id, c)
	if err != nil {
		return err
	}
	st.removeLocked(s)
	return nil
}
