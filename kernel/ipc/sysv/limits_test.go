package sysv

import (
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
)

// limitsNS is a namespace whose limits the test changes as /proc/sys
// does: each use reads them anew.
type limitsNS struct {
	*Namespace
	mu sync.Mutex
	l  Limits
}

func newLimitsNS(t *testing.T) *limitsNS {
	t.Helper()
	mf, err := memfile.New(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	n := &limitsNS{l: DefaultLimits()}
	n.Namespace = New(mf, func() Limits {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.l
	})
	return n
}

func (n *limitsNS) set(change func(l *Limits)) {
	n.mu.Lock()
	change(&n.l)
	n.mu.Unlock()
	n.LimitsChanged()
}

func TestMsgLimits(t *testing.T) {
	ns := newLimitsNS(t)
	id, err := ns.MsgGet(root, IPC_PRIVATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 20000)
	if err := ns.MsgSend(root, id, 1, big, IPC_NOWAIT, nil); err != unix.EINVAL {
		t.Errorf("20000 bytes past the default msgmax: %v, want EINVAL", err)
	}
	ns.set(func(l *Limits) { l.MsgMax, l.MsgMNB = 65536, 65536 })
	// The queue keeps the msg_qbytes it was made with; a new one takes
	// the new msgmnb.
	if err := ns.MsgSend(root, id, 1, big, IPC_NOWAIT, nil); err != unix.EAGAIN {
		t.Errorf("20000 bytes to a queue of 16384: %v, want EAGAIN", err)
	}
	id2, _ := ns.MsgGet(root, IPC_PRIVATE, 0o600)
	if ds, _, _ := ns.MsgStat(root, id2, IPC_STAT); ds.Qbytes != 65536 {
		t.Errorf("msg_qbytes of a new queue %d, want the new msgmnb", ds.Qbytes)
	}
	if err := ns.MsgSend(root, id2, 1, big, IPC_NOWAIT, nil); err != nil {
		t.Fatalf("20000 bytes with msgmax 65536: %v", err)
	}
	if _, _, err := ns.MsgReceive(root, id2, 8192, 0, IPC_NOWAIT, nil); err != unix.E2BIG {
		t.Errorf("receiving 20000 bytes into 8192: %v, want E2BIG", err)
	}
	if _, text, err := ns.MsgReceive(root, id2, 20000, 0, IPC_NOWAIT, nil); err != nil || len(text) != 20000 {
		t.Errorf("receiving 20000 bytes: %d, %v", len(text), err)
	}
	info, _ := ns.MsgLimits(IPC_INFO)
	if info.Msgmax != 65536 || info.Msgmnb != 65536 || info.Msgmni != MSGMNI || info.Msgpool != msgPOOL {
		t.Errorf("IPC_INFO %+v", info)
	}
	// Raising msg_qbytes past msgmnb needs CAP_SYS_RESOURCE.
	a, _ := ns.MsgGet(alice, IPC_PRIVATE, 0o600)
	ds, _, _ := ns.MsgStat(alice, a, IPC_STAT)
	ds.Qbytes = 65537
	if err := ns.MsgSet(alice, a, &ds); err != unix.EPERM {
		t.Errorf("msg_qbytes past msgmnb: %v, want EPERM", err)
	}
	ds.Qbytes = 65536
	if err := ns.MsgSet(alice, a, &ds); err != nil {
		t.Errorf("msg_qbytes at msgmnb: %v", err)
	}
	// msgmni bounds the queues, also below the number there are.
	ns.set(func(l *Limits) { l.MsgMNI = 3 })
	if _, err := ns.MsgGet(root, IPC_PRIVATE, 0o600); err != unix.ENOSPC {
		t.Errorf("a fourth queue with msgmni 3: %v, want ENOSPC", err)
	}
	ns.set(func(l *Limits) { l.MsgMNI = 1 })
	ns.MsgRemove(root, id)
	if _, err := ns.MsgGet(root, IPC_PRIVATE, 0o600); err != unix.ENOSPC {
		t.Errorf("a queue with 2 left and msgmni 1: %v, want ENOSPC", err)
	}
	ns.set(func(l *Limits) { l.MsgMNI = 4 })
	if _, err := ns.MsgGet(root, IPC_PRIVATE, 0o600); err != nil {
		t.Errorf("a third queue with msgmni 4: %v", err)
	}
}

func TestShmLimits(t *testing.T) {
	ns := newLimitsNS(t)
	ns.set(func(l *Limits) { l.ShmMax, l.ShmAll, l.ShmMNI = 3*pageSize, 4, 2 })
	if _, err := ns.ShmGet(root, IPC_PRIVATE, 3*pageSize+1, 0o600); err != unix.EINVAL {
		t.Errorf("past shmmax: %v, want EINVAL", err)
	}
	a, err := ns.ShmGet(root, IPC_PRIVATE, 3*pageSize, 0o600)
	if err != nil {
		t.Fatalf("at shmmax: %v", err)
	}
	if _, err := ns.ShmGet(root, IPC_PRIVATE, 2*pageSize, 0o600); err != unix.ENOSPC {
		t.Errorf("past shmall: %v, want ENOSPC", err)
	}
	if _, err := ns.ShmGet(root, IPC_PRIVATE, pageSize, 0o600); err != nil {
		t.Errorf("at shmall: %v", err)
	}
	ns.set(func(l *Limits) { l.ShmAll = 100 })
	if _, err := ns.ShmGet(root, IPC_PRIVATE, pageSize, 0o600); err != unix.ENOSPC {
		t.Errorf("past shmmni: %v, want ENOSPC", err)
	}
	info, _ := ns.ShmLimits()
	if info.Shmmax != 3*pageSize || info.Shmall != 100 || info.Shmmni != 2 || info.Shmseg != SHMSEG {
		t.Errorf("IPC_INFO %+v", info)
	}
	ns.ShmRemove(root, a)
	ns.set(func(l *Limits) { l.ShmMax = ^uint64(0) })
	if _, err := ns.ShmGet(root, IPC_PRIVATE, ^uint64(0), 0o600); err != unix.ENOSPC {
		t.Errorf("a size that overflows in pages: %v, want ENOSPC", err)
	}
}

func TestSemLimits(t *testing.T) {
	ns := newLimitsNS(t)
	ns.set(func(l *Limits) { l.SemMSL, l.SemMNS, l.SemOPM, l.SemMNI = 10, 15, 2, 2 })
	if _, err := ns.SemGet(root, IPC_PRIVATE, 11, 0o600); err != unix.EINVAL {
		t.Errorf("past semmsl: %v, want EINVAL", err)
	}
	id, err := ns.SemGet(root, IPC_PRIVATE, 10, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ns.SemGet(root, IPC_PRIVATE, 6, 0o600); err != unix.ENOSPC {
		t.Errorf("past semmns: %v, want ENOSPC", err)
	}
	if _, err := ns.SemGet(root, IPC_PRIVATE, 5, 0o600); err != nil {
		t.Errorf("at semmns: %v", err)
	}
	ns.set(func(l *Limits) { l.SemMNS = 100 })
	if _, err := ns.SemGet(root, IPC_PRIVATE, 1, 0o600); err != unix.ENOSPC {
		t.Errorf("past semmni: %v, want ENOSPC", err)
	}
	ops := []SemBuf{sb(0, 1, 0), sb(1, 1, 0), sb(2, 1, 0)}
	if err := ns.Semop(root, id, ops, time.Time{}, nil, nil); err != unix.E2BIG {
		t.Errorf("3 operations past semopm 2: %v, want E2BIG", err)
	}
	if err := ns.Semop(root, id, ops[:2], time.Time{}, nil, nil); err != nil {
		t.Errorf("2 operations: %v", err)
	}
	// Linux compares semopm unsigned: a negative one bounds nothing.
	ns.set(func(l *Limits) { l.SemOPM = -1 })
	if err := ns.Semop(root, id, ops, time.Time{}, nil, nil); err != nil {
		t.Errorf("3 operations, semopm -1: %v", err)
	}
	info, _ := ns.SemLimits(IPC_INFO)
	if info.Semmsl != 10 || info.Semmns != 100 || info.Semopm != -1 || info.Semmni != 2 ||
		info.Semmnu != SEMMNS || info.Semume != SEMOPM {
		t.Errorf("IPC_INFO %+v", info)
	}
	ns.set(func(l *Limits) { l.SemMSL = -1 })
	if _, err := ns.SemGet(root, IPC_PRIVATE, 0, 0o600); err != unix.EINVAL {
		t.Errorf("semget with semmsl -1: %v, want EINVAL", err)
	}
}

// shm_rmid_forced: a segment goes once nothing attaches it and its
// creator has exited.
func TestShmRmidForced(t *testing.T) {
	ns := newLimitsNS(t)
	creator, other := &Caller{Caps: ^uint64(0), PID: 1, Thread: "t1"}, &Caller{Caps: ^uint64(0), PID: 2, Thread: "t2"}
	exists := func(id int32) bool {
		_, _, err := ns.ShmStat(root, id, IPC_STAT)
		return err == nil
	}
	orphan, _ := ns.ShmGet(creator, IPC_PRIVATE, pageSize, 0o600)
	attached, _ := ns.ShmGet(creator, IPC_PRIVATE, pageSize, 0o600)
	alive, _ := ns.ShmGet(other, IPC_PRIVATE, pageSize, 0o600)
	a, err := ns.ShmAttach(other, attached, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.AddMapping(nil)
	a.Done(other, true)
	ns.TaskExited("t1")
	if !exists(orphan) || !exists(attached) {
		t.Fatal("segments destroyed at their creator's exit without shm_rmid_forced")
	}
	// Setting it destroys the orphans nothing attaches.
	ns.set(func(l *Limits) { l.ShmRmidForced = 1 })
	if exists(orphan) {
		t.Error("an orphan kept once shm_rmid_forced is set")
	}
	if !exists(attached) || !exists(alive) {
		t.Error("an attached segment, or one whose creator lives, was destroyed")
	}
	// An orphan goes with its last attachment.
	a.RemoveMapping(nil)
	if exists(attached) {
		t.Error("an orphan kept after its last detach")
	}
	// A segment whose creator lives goes with its last attachment too,
	// and one nothing attached with its creator.
	b, _ := ns.ShmAttach(other, alive, 0)
	b.AddMapping(nil)
	b.Done(other, true)
	b.RemoveMapping(nil)
	if exists(alive) {
		t.Error("a segment kept after its last detach with shm_rmid_forced")
	}
	c, _ := ns.ShmGet(other, IPC_PRIVATE, pageSize, 0o600)
	ns.TaskExited("t2")
	if exists(c) {
		t.Error("a segment nothing attached kept after its creator's exit")
	}
}
