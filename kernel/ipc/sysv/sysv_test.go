package sysv

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
)

func newNS(t *testing.T) *Namespace {
	t.Helper()
	mf, err := memfile.New(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	return New(mf, nil)
}

var (
	root  = &Caller{Caps: ^uint64(0), PID: 1}
	alice = &Caller{EUID: 1000, EGID: 1000, FSGID: 1000, PID: 2}
	bob   = &Caller{EUID: 1001, EGID: 1001, FSGID: 1001, Groups: []uint32{1000}, PID: 3}
	carol = &Caller{EUID: 1002, EGID: 1002, FSGID: 1002, PID: 4}
)

// fakeBlocker sleeps until wake, the deadline, or interrupt is closed.
type fakeBlocker struct {
	interrupt chan struct{}
	blocked   chan struct{} // receives once per Block call, if set
}

func newBlocker() *fakeBlocker {
	return &fakeBlocker{interrupt: make(chan struct{}), blocked: make(chan struct{}, 16)}
}

func (b *fakeBlocker) Block(wake <-chan struct{}, deadline time.Time) error {
	b.blocked <- struct{}{}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		tm := time.NewTimer(time.Until(deadline))
		defer tm.Stop()
		timeout = tm.C
	}
	select {
	case <-wake:
		return nil
	case <-timeout:
		return ErrTimedOut
	case <-b.interrupt:
		return ErrInterrupted
	}
}

// run starts f and returns its result channel once f blocks.
func run(b *fakeBlocker, f func() error) <-chan error {
	res := make(chan error, 1)
	go func() { res <- f() }()
	select {
	case <-b.blocked:
	case err := <-res:
		res <- err
	}
	return res
}

func result(t *testing.T, res <-chan error) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("call still blocked")
		return nil
	}
}

func pending(res <-chan error) bool {
	select {
	case err := <-res:
		_ = err
		return false
	case <-time.After(20 * time.Millisecond):
		return true
	}
}

func TestIdentifiersAndKeys(t *testing.T) {
	ns := newNS(t)
	a, err := ns.MsgGet(alice, 42, IPC_CREAT|0o600)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := ns.MsgGet(alice, 42, 0); id != a || err != nil {
		t.Errorf("by key: %d, %v", id, err)
	}
	if _, err := ns.MsgGet(alice, 42, IPC_CREAT|IPC_EXCL); err != unix.EEXIST {
		t.Errorf("IPC_EXCL: %v", err)
	}
	if _, err := ns.MsgGet(alice, 43, 0); err != unix.ENOENT {
		t.Errorf("missing key: %v", err)
	}
	if _, err := ns.MsgGet(carol, 42, 0o400); err != unix.EACCES {
		t.Errorf("another user asking to read: %v", err)
	}
	if _, err := ns.MsgGet(carol, 42, 0); err != nil {
		t.Errorf("another user asking nothing: %v", err)
	}
	p1, _ := ns.MsgGet(alice, IPC_PRIVATE, 0o600)
	p2, _ := ns.MsgGet(alice, IPC_PRIVATE, IPC_CREAT|IPC_EXCL|0o600)
	if p1 == p2 || p1 == a {
		t.Errorf("IPC_PRIVATE ids %d %d %d", a, p1, p2)
	}
	if err := ns.MsgRemove(carol, a); err != unix.EPERM {
		t.Errorf("remove by another user: %v", err)
	}
	if err := ns.MsgRemove(alice, a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ns.MsgStat(alice, a, IPC_STAT); err != unix.EINVAL {
		t.Errorf("stale id: %v", err)
	}
	// A new queue does not take the freed index at once, and never the
	// old identifier.
	b, _ := ns.MsgGet(alice, 42, IPC_CREAT|0o600)
	if b == a || b%ipcMNI == a%ipcMNI {
		t.Errorf("new id %d reuses %d", b, a)
	}
	if _, _, err := ns.MsgStat(alice, -1, IPC_STAT); err != unix.EINVAL {
		t.Errorf("id -1: %v", err)
	}
	if _, id, err := ns.MsgStat(alice, b%ipcMNI, MSG_STAT); id != b || err != nil {
		t.Errorf("MSG_STAT by index: %d, %v", id, err)
	}
}

func TestPermissions(t *testing.T) {
	o := &object{uid: 1000, gid: 1000, cuid: 1000, cgid: 1000, mode: 0o640}
	for _, c := range []struct {
		who  *Caller
		flag uint32
		ok   bool
	}{
		{alice, mayRead | mayWrite, true},
		{bob, mayRead, true}, // a supplementary group
		{bob, mayWrite, false},
		{carol, mayRead, false},
		{root, mayRead | mayWrite | mayExec, true}, // CAP_IPC_OWNER
		{carol, 0, true},
		{alice, 0o600, true}, // the mode of a get, in the owner's position
		{alice, 0o700, false},
	} {
		if got := o.allowed(c.who, c.flag); got != c.ok {
			t.Errorf("uid %d asking %o: %v, want %v", c.who.EUID, c.flag, got, c.ok)
		}
	}
	if !o.owns(alice) || o.owns(bob) || !o.owns(root) {
		t.Error("owns")
	}
}

func TestShmChunksAndLife(t *testing.T) {
	ns := newNS(t)
	used := ns.mf.Used()
	size := uint64(5<<20 + 100)
	id, err := ns.ShmGet(root, IPC_PRIVATE, size, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if ns.mf.Used() != used {
		t.Error("memory allocated before any use")
	}
	if _, err := ns.ShmGet(root, IPC_PRIVATE, 0, 0o600); err != unix.EINVAL {
		t.Errorf("size 0: %v", err)
	}
	a, err := ns.ShmAttach(root, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.AddMapping(nil)
	a.Done(root, true)
	// A range across a chunk boundary comes in two pieces; the end of the
	// segment is its last page.
	rs, err := a.MapPages(2<<20-pageSize, 2<<20+pageSize)
	if err != nil || len(rs) != 2 || rs[0].Len != pageSize || rs[1].FileOff != 2<<20 {
		t.Fatalf("MapPages across chunks: %+v, %v", rs, err)
	}
	end := (size + pageSize - 1) &^ (pageSize - 1)
	last, err := a.MapPages(4<<20, 8<<20)
	if err != nil || len(last) != 1 || last[0].FileOff+last[0].Len != end {
		t.Fatalf("MapPages at the end: %+v, %v", last, err)
	}
	again, _ := a.MapPages(2<<20, 2<<20+pageSize)
	if again[0].Off != rs[1].Off {
		t.Error("a chunk was allocated twice")
	}
	for _, r := range append(append(rs, last...), again...) {
		ns.mf.DecRef(r.Off, r.Len)
	}
	if err := ns.ShmRemove(root, id); err != nil {
		t.Fatal(err)
	}
	if ds, _, err := ns.ShmStat(root, id, IPC_STAT); err != nil || ds.Perm.Mode&SHM_DEST == 0 || ds.Perm.Key != 0 {
		t.Errorf("removed while attached: %+v, %v", ds.Perm, err)
	}
	a.RemoveMapping(nil)
	if _, _, err := ns.ShmStat(root, id, IPC_STAT); err != unix.EINVAL {
		t.Errorf("after the last detach: %v", err)
	}
	if ns.mf.Used() != used {
		t.Errorf("memory file uses %d, %d before", ns.mf.Used(), used)
	}
	info, _ := ns.ShmUsage()
	if info.UsedIDs != 0 || info.ShmTot != 0 {
		t.Errorf("SHM_INFO after: %+v", info)
	}
}

func TestShmAttachRemovedBeforeMapping(t *testing.T) {
	ns := newNS(t)
	id, _ := ns.ShmGet(root, IPC_PRIVATE, pageSize, 0o600)
	a, err := ns.ShmAttach(root, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	ns.ShmRemove(root, id)
	if _, _, err := ns.ShmStat(root, id, IPC_STAT); err != nil {
		t.Errorf("segment gone while shmat is mapping it: %v", err)
	}
	a.Done(root, false)
	if _, _, err := ns.ShmStat(root, id, IPC_STAT); err != unix.EINVAL {
		t.Errorf("segment kept after a failed shmat: %v", err)
	}
}

func sb(num uint16, op int16, flg int16) SemBuf { return SemBuf{Num: num, Op: op, Flg: flg} }

func TestSemopAtomicity(t *testing.T) {
	ns := newNS(t)
	id, _ := ns.SemGet(root, IPC_PRIVATE, 2, 0o600)
	b := newBlocker()
	nowait := int16(IPC_NOWAIT)
	if err := ns.Semop(root, id, []SemBuf{sb(0, 2, 0), sb(1, -1, nowait)}, time.Time{}, b, nil); err != unix.EAGAIN {
		t.Errorf("second op would block: %v", err)
	}
	if v, _ := ns.SemValue(root, id, 0, GETVAL); v != 0 {
		t.Errorf("first op applied: %d", v)
	}
	if err := ns.Semop(root, id, []SemBuf{sb(0, 2, 0), sb(0, -1, 0), sb(0, -1, 0)}, time.Time{}, b, nil); err != nil {
		t.Errorf("ops on one semaphore see each other: %v", err)
	}
	ns.SemSetVal(root, id, 0, SEMVMX)
	if err := ns.Semop(root, id, []SemBuf{sb(1, 1, 0), sb(0, 1, 0)}, time.Time{}, b, nil); err != unix.ERANGE {
		t.Errorf("past SEMVMX: %v", err)
	}
	if v, _ := ns.SemValue(root, id, 1, GETVAL); v != 0 {
		t.Errorf("rolled back: %d", v)
	}
	if err := ns.Semop(root, id, []SemBuf{sb(2, 1, 0)}, time.Time{}, b, nil); err != unix.EFBIG {
		t.Errorf("semnum 2: %v", err)
	}
	if err := ns.Semop(carol, id, []SemBuf{sb(0, 0, nowait)}, time.Time{}, b, nil); err != unix.EACCES {
		t.Errorf("another user: %v", err)
	}
}

func TestSemWaitersInOrder(t *testing.T) {
	ns := newNS(t)
	id, _ := ns.SemGet(root, IPC_PRIVATE, 1, 0o600)
	ba, bb := newBlocker(), newBlocker()
	a := run(ba, func() error {
		return ns.Semop(alice.with(0), id, []SemBuf{sb(0, -2, 0)}, time.Time{}, ba, nil)
	})
	b := run(bb, func() error {
		return ns.Semop(bob.with(0), id, []SemBuf{sb(0, -1, 0)}, time.Time{}, bb, nil)
	})
	if n, _ := ns.SemValue(root, id, 0, GETNCNT); n != 2 {
		t.Errorf("GETNCNT %d", n)
	}
	ns.Semop(root, id, []SemBuf{sb(0, 1, 0)}, time.Time{}, nil, nil)
	if err := result(t, b); err != nil {
		t.Errorf("B: %v", err)
	}
	if !pending(a) {
		t.Fatal("A woke with one unit")
	}
	ns.Semop(root, id, []SemBuf{sb(0, 2, 0)}, time.Time{}, nil, nil)
	if err := result(t, a); err != nil {
		t.Errorf("A: %v", err)
	}
	if v, _ := ns.SemValue(root, id, 0, GETVAL); v != 0 {
		t.Errorf("value %d", v)
	}
	if pid, _ := ns.SemValue(root, id, 0, GETPID); pid != 2 {
		t.Errorf("GETPID %d, want A's", pid)
	}
}

// with returns a copy of c (the tests' callers are shared).
func (c *Caller) with(pid int32) *Caller {
	d := *c
	d.Caps = ^uint64(0)
	if pid != 0 {
		d.PID = pid
	}
	return &d
}

func TestSemWaitEnds(t *testing.T) {
	ns := newNS(t)
	id, _ := ns.SemGet(root, IPC_PRIVATE, 1, 0o600)
	b := newBlocker()
	if err := ns.Semop(root, id, []SemBuf{sb(0, -1, 0)}, time.Now().Add(10*time.Millisecond), b, nil); err != unix.EAGAIN {
		t.Errorf("timeout: %v", err)
	}
	res := run(b, func() error { return ns.Semop(root, id, []SemBuf{sb(0, -1, 0)}, time.Time{}, b, nil) })
	close(b.interrupt)
	if err := result(t, res); err != ErrInterrupted {
		t.Errorf("interrupted: %v", err)
	}
	if n, _ := ns.SemValue(root, id, 0, GETNCNT); n != 0 {
		t.Errorf("GETNCNT %d after the waiter left", n)
	}
	b = newBlocker()
	res = run(b, func() error { return ns.Semop(root, id, []SemBuf{sb(0, 0, 0), sb(0, -1, 0)}, time.Time{}, b, nil) })
	if n, _ := ns.SemValue(root, id, 0, GETNCNT); n != 1 {
		t.Errorf("GETNCNT %d", n)
	}
	ns.SemRemove(root, id)
	if err := result(t, res); err != unix.EIDRM {
		t.Errorf("removed: %v", err)
	}
}

func TestSemUndo(t *testing.T) {
	ns := newNS(t)
	id, _ := ns.SemGet(root, IPC_PRIVATE, 2, 0o600)
	list := ns.NewUndoList()
	undo := func() *UndoList { return list }
	u := int16(SEM_UNDO)
	ns.SemSetVal(root, id, 0, 1)
	if err := ns.Semop(root, id, []SemBuf{sb(0, 3, u), sb(1, 2, u), sb(0, -2, u)}, time.Time{}, nil, undo); err != nil {
		t.Fatal(err)
	}
	// Another process takes sem 1 down: the adjustment would make it
	// negative, so exit clamps it at 0.
	ns.Semop(root, id, []SemBuf{sb(1, -2, 0)}, time.Time{}, nil, nil)
	list.Exit(7)
	if v, _ := ns.SemValue(root, id, 0, GETVAL); v != 1 {
		t.Errorf("sem 0 after exit: %d, want 1", v)
	}
	if v, _ := ns.SemValue(root, id, 1, GETVAL); v != 0 {
		t.Errorf("sem 1 after exit: %d, want 0", v)
	}
	if pid, _ := ns.SemValue(root, id, 0, GETPID); pid != 7 {
		t.Errorf("GETPID after exit: %d", pid)
	}
	// SETVAL forgets adjustments; the adjustment has a range.
	list = ns.NewUndoList()
	ns.Semop(root, id, []SemBuf{sb(0, 5, u)}, time.Time{}, nil, undo)
	ns.SemSetVal(root, id, 0, 10)
	ns.SemSetVal(root, id, 1, SEMVMX)
	if err := ns.Semop(root, id, []SemBuf{sb(1, -SEMVMX, u)}, time.Time{}, nil, undo); err != nil {
		t.Fatal(err)
	}
	ns.Semop(root, id, []SemBuf{sb(1, SEMVMX, 0)}, time.Time{}, nil, nil)
	if err := ns.Semop(root, id, []SemBuf{sb(1, -1, u)}, time.Time{}, nil, undo); err != unix.ERANGE {
		t.Errorf("adjustment past SEMAEM: %v", err)
	}
	list.Exit(7)
	if v, _ := ns.SemValue(root, id, 0, GETVAL); v != 10 {
		t.Errorf("sem 0 after SETVAL and exit: %d, want 10", v)
	}
	if v, _ := ns.SemValue(root, id, 1, GETVAL); v != SEMVMX {
		t.Errorf("sem 1 clamped at SEMVMX: %d", v)
	}
	// A waiter woken by an exit's adjustments.
	list = ns.NewUndoList()
	ns.SemSetVal(root, id, 0, 0)
	ns.Semop(root, id, []SemBuf{sb(0, 1, u)}, time.Time{}, nil, undo)
	b := newBlocker()
	res := run(b, func() error { return ns.Semop(root, id, []SemBuf{sb(0, 0, 0)}, time.Time{}, b, nil) })
	list.Exit(7)
	if err := result(t, res); err != nil {
		t.Errorf("zero waiter: %v", err)
	}
	// The undo list of a removed set is dropped.
	list = ns.NewUndoList()
	ns.Semop(root, id, []SemBuf{sb(0, 1, u)}, time.Time{}, nil, undo)
	ns.SemRemove(root, id)
	list.Exit(7)
	if len(list.entries) != 0 {
		t.Error("entries left")
	}
}

func TestSemSetAll(t *testing.T) {
	ns := newNS(t)
	id, _ := ns.SemGet(root, IPC_PRIVATE, 3, 0o600)
	if err := ns.SemSetAll(root, id, func(n int) ([]uint16, error) { return []uint16{1, 2, SEMVMX + 1}, nil }); err != unix.ERANGE {
		t.Errorf("SETALL past SEMVMX: %v", err)
	}
	err := ns.SemSetAll(root, id, func(n int) ([]uint16, error) {
		ns.SemRemove(root, id) // the set goes while the values are copied in
		return make([]uint16, n), nil
	})
	if err != unix.EIDRM {
		t.Errorf("SETALL of a set removed meanwhile: %v", err)
	}
}

func TestMsgTypes(t *testing.T) {
	ns := newNS(t)
	id, _ := ns.MsgGet(root, IPC_PRIVATE, 0o600)
	for _, m := range []struct {
		t int64
		s string
	}{{1, "one"}, {2, "two"}, {3, "three"}, {2, "deux"}, {1, "un"}} {
		if err := ns.MsgSend(root, id, m.t, []byte(m.s), 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		typ   int64
		flags int
		want  string
	}{
		{0, MSG_COPY | IPC_NOWAIT, "one"},
		{3, MSG_COPY | IPC_NOWAIT, "deux"},
		{2, 0, "two"},
		{-3, 0, "one"},
		{1, MSG_EXCEPT, "three"},
		{-2, 0, "un"},
		{0, 0, "deux"},
	} {
		_, text, err := ns.MsgReceive(root, id, 100, c.typ, c.flags|IPC_NOWAIT, nil)
		if string(text) != c.want || err != nil {
			t.Errorf("type %d flags %o: %q, %v; want %q", c.typ, c.flags, text, err, c.want)
		}
	}
	if _, _, err := ns.MsgReceive(root, id, 100, 0, IPC_NOWAIT, nil); err != unix.ENOMSG {
		t.Errorf("empty: %v", err)
	}
	ns.MsgSend(root, id, 1, []byte("long text"), 0, nil)
	if _, _, err := ns.MsgReceive(root, id, 4, 0, IPC_NOWAIT, nil); err != unix.E2BIG {
		t.Errorf("short buffer: %v", err)
	}
	if _, _, err := ns.MsgReceive(root, id, 4, 0, IPC_NOWAIT|MSG_COPY|MSG_NOERROR, nil); err != unix.EINVAL {
		t.Errorf("short buffer, MSG_COPY|MSG_NOERROR: %v", err)
	}
	if _, text, err := ns.MsgReceive(root, id, 4, 0, IPC_NOWAIT|MSG_NOERROR, nil); string(text) != "long" || err != nil {
		t.Errorf("MSG_NOERROR: %q, %v", text, err)
	}
}

func TestMsgBlocking(t *testing.T) {
	ns := newNS(t)
	id, _ := ns.MsgGet(root, IPC_PRIVATE, 0o600)
	// A waiting receiver gets its message directly; one with too small
	// a buffer fails and the message is queued.
	br := newBlocker()
	var got []byte
	recv := run(br, func() error {
		_, text, err := ns.MsgReceive(root, id, 100, 5, 0, br)
		got = text
		return err
	})
	bs := newBlocker()
	small := run(bs, func() error {
		_, _, err := ns.MsgReceive(root, id, 2, 0, 0, bs)
		return err
	})
	ns.MsgSend(root, id, 4, []byte("four"), 0, nil)
	if err := result(t, small); err != unix.E2BIG {
		t.Errorf("small buffer: %v", err)
	}
	ns.MsgSend(root, id, 5, []byte("five"), 0, nil)
	if err := result(t, recv); err != nil || string(got) != "five" {
		t.Errorf("receiver: %q, %v", got, err)
	}
	if ds, _, _ := ns.MsgStat(root, id, IPC_STAT); ds.Qnum != 1 || ds.Cbytes != 4 {
		t.Errorf("queue: %d messages, %d bytes", ds.Qnum, ds.Cbytes)
	}

	// A full queue makes senders wait for enough room; removal fails
	// them.
	ns.MsgReceive(root, id, 100, 4, 0, nil)
	big := make([]byte, MSGMAX)
	ns.MsgSend(root, id, 1, big, 0, nil)
	ns.MsgSend(root, id, 3, make([]byte, 100), 0, nil)
	ns.MsgSend(root, id, 2, make([]byte, 8000), 0, nil)
	if err := ns.MsgSend(root, id, 1, big, IPC_NOWAIT, nil); err != unix.EAGAIN {
		t.Errorf("full, IPC_NOWAIT: %v", err)
	}
	b := newBlocker()
	send := run(b, func() error { return ns.MsgSend(root, id, 1, big, 0, b) })
	ns.MsgReceive(root, id, MSGMAX, 3, 0, nil)
	if !pending(send) {
		t.Fatal("sender went on without room")
	}
	ns.MsgReceive(root, id, MSGMAX, 2, 0, nil)
	if err := result(t, send); err != nil {
		t.Errorf("sender: %v", err)
	}
	b = newBlocker()
	send = run(b, func() error { return ns.MsgSend(root, id, 1, big, 0, b) })
	b2 := newBlocker()
	recv = run(b2, func() error {
		_, _, err := ns.MsgReceive(root, id, 10, 9, 0, b2)
		return err
	})
	ns.MsgRemove(root, id)
	if err := result(t, send); err != unix.EIDRM {
		t.Errorf("sender on a removed queue: %v", err)
	}
	if err := result(t, recv); err != unix.EIDRM {
		t.Errorf("receiver on a removed queue: %v", err)
	}
}

func TestMsgSetAndInterrupt(t *testing.T) {
	ns := newNS(t)
	id, _ := ns.MsgGet(alice, IPC_PRIVATE, 0o644)
	b := newBlocker()
	recv := run(b, func() error {
		_, _, err := ns.MsgReceive(bob, id, 10, 0, 0, b)
		return err
	})
	// IPC_SET makes waiters check their permission again.
	ds, _, _ := ns.MsgStat(alice, id, IPC_STAT)
	ds.Perm.Mode = 0o600
	if err := ns.MsgSet(alice, id, &ds); err != nil {
		t.Fatal(err)
	}
	if err := result(t, recv); err != unix.EACCES {
		t.Errorf("receiver after IPC_SET: %v", err)
	}
	ds.Qbytes = MSGMNB + 1
	if err := ns.MsgSet(alice, id, &ds); err != unix.EPERM {
		t.Errorf("qbytes above MSGMNB without CAP_SYS_RESOURCE: %v", err)
	}
	b = newBlocker()
	recv = run(b, func() error {
		_, _, err := ns.MsgReceive(alice, id, 10, 0, 0, b)
		return err
	})
	close(b.interrupt)
	if err := result(t, recv); err != ErrInterrupted {
		t.Errorf("interrupted: %v", err)
	}
	ns.MsgSend(alice, id, 1, []byte("x"), 0, nil)
	if ds, _, _ := ns.MsgStat(alice, id, IPC_STAT); ds.Qnum != 1 {
		t.Error("a message went to a receiver that had left")
	}
}

func TestDecodeSemBufs(t *testing.T) {
	got := DecodeSemBufs([]byte{1, 0, 0xff, 0xff, 0x00, 0x18, 2, 0, 3, 0, 0, 0})
	want := []SemBuf{{1, -1, 0x1800}, {2, 3, 0}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("DecodeSemBufs = %+v", got)
	}
}
