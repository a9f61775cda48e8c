package sysv

import (
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Flags of msgrcv and the commands of msgctl. Linux:
// include/uapi/linux/msg.h.
const (
	MSG_NOERROR = 0o10000
	MSG_EXCEPT  = 0o20000
	MSG_COPY    = 0o40000

	MSG_STAT     = 11
	MSG_INFO     = 12
	MSG_STAT_ANY = 13
)

// The constants msgctl IPC_INFO reports, whatever the limits. Linux:
// include/uapi/linux/msg.h.
const (
	msgPOOL = MSGMNI * MSGMNB / 1024
	msgSSZ  = 16
	msgSEG  = 0xffff
)

type msgState struct {
	mu  sync.Mutex
	reg registry[*msgQueue]
	// bytes and count are the messages of all queues (MSG_INFO).
	bytes, count int
}

type message struct {
	mtype int64
	text  []byte
}

// msgQueue is a message queue. Guarded by msgState.mu.
type msgQueue struct {
	object
	msgs                []*message
	cbytes, qbytes      uint64
	lspid, lrpid        int32
	stime, rtime, ctime int64
	// receivers wait for a message, oldest first.
	receivers []*msgReceiver
	// room is closed (and replaced) when waiting senders should look
	// again: a message left, the limit or the permissions changed, or
	// the queue went.
	room chan struct{}
}

// How a receiver picks a message. Linux: ipc/msg.c, SEARCH_*.
const (
	searchAny = iota
	searchEqual
	searchNotEqual
	searchLessEqual
	searchNumber
)

// msgReceiver is a msgrcv call waiting for a message.
type msgReceiver struct {
	mtype   int64
	mode    int
	maxSize int
	pid     int32
	done    chan struct{}
	// finished is set once the call was given a message (msg) or an
	// error (err; errRetry: look again).
	finished bool
	msg      *message
	err      error
}

func (r *msgReceiver) finish(m *message, err error) {
	r.finished, r.msg, r.err = true, m, err
	close(r.done)
}

// errRetry tells a woken receiver to check its permission and look at
// the queue again (IPC_SET changed them).
var errRetry = errors.New("sysv: look again")

// MsgGet implements msgget(2): at most msgmni queues, a new one taking
// msgmnb as its msg_qbytes. Linux: ipc/msg.c, newque().
func (ns *Namespace) MsgGet(c *Caller, key int32, flags int) (int32, error) {
	l := ns.limits()
	st := &ns.msg
	st.mu.Lock()
	defer st.mu.Unlock()
	return get(&st.reg, c, key, flags, l.MsgMNI, nil, func() (*msgQueue, error) {
		if st.reg.full(l.MsgMNI) {
			return nil, unix.ENOSPC
		}
		return &msgQueue{qbytes: uint64(max(l.MsgMNB, 0)), ctime: ns.seconds(), room: make(chan struct{})}, nil
	})
}

func (q *msgQueue) fits(n int) bool {
	return uint64(n)+q.cbytes <= q.qbytes && uint64(len(q.msgs))+1 <= q.qbytes
}

// wakeSendersLocked makes waiting senders look again.
func (q *msgQueue) wakeSendersLocked() {
	close(q.room)
	q.room = make(chan struct{})
}

// MsgSend implements msgsnd(2) once the message is copied in: a queue
// without room makes the caller wait (EAGAIN with IPC_NOWAIT);
// interrupted, it fails with ErrInterrupted. A text longer than msgmax
// is EINVAL. Linux: ipc/msg.c, do_msgsnd().
func (ns *Namespace) MsgSend(c *Caller, id int32, mtype int64, text []byte, flags int, b Blocker) error {
	if int64(len(text)) > int64(ns.limits().MsgMax) || id < 0 || mtype < 1 {
		return unix.EINVAL
	}
	st := &ns.msg
	st.mu.Lock()
	defer st.mu.Unlock()
	q, err := st.reg.find(id)
	if err != nil {
		return err
	}
	for {
		if !q.allowed(c, mayWrite) {
			return unix.EACCES
		}
		if q.removed {
			return unix.EIDRM
		}
		if q.fits(len(text)) {
			break
		}
		if flags&IPC_NOWAIT != 0 {
			return unix.EAGAIN
		}
		room := q.room
		st.mu.Unlock()
		berr := b.Block(room, time.Time{})
		st.mu.Lock()
		if q.removed {
			return unix.EIDRM
		}
		if berr != nil {
			return ErrInterrupted
		}
	}
	now := ns.seconds()
	q.lspid, q.stime = c.PID, now
	m := &message{mtype: mtype, text: text}
	if !q.handOverLocked(m, now) {
		q.msgs = append(q.msgs, m)
		q.cbytes += uint64(len(text))
		st.bytes += len(text)
		st.count++
	}
	return nil
}

// handOverLocked gives m to the oldest receiver waiting for it, if any;
// receivers whose buffer is too small fail with E2BIG meanwhile.
// Linux: ipc/msg.c, pipelined_send().
func (q *msgQueue) handOverLocked(m *message, now int64) bool {
	for i := 0; i < len(q.receivers); i++ {
		r := q.receivers[i]
		if !matches(m, r.mtype, r.mode) {
			continue
		}
		q.receivers = slices.Delete(q.receivers, i, i+1)
		i--
		if r.maxSize < len(m.text) {
			r.finish(nil, unix.E2BIG)
			continue
		}
		q.lrpid, q.rtime = r.pid, now
		r.finish(m, nil)
		return true
	}
	return false
}

func matches(m *message, mtype int64, mode int) bool {
	switch mode {
	case searchEqual:
		return m.mtype == mtype
	case searchNotEqual:
		return m.mtype != mtype
	case searchLessEqual:
		return m.mtype <= mtype
	}
	return true
}

// convertMode turns msgrcv's msgtyp and flags into a search. Linux:
// ipc/msg.c, convert_mode().
func convertMode(mtype int64, flags int) (int64, int) {
	switch {
	case flags&MSG_COPY != 0:
		return mtype, searchNumber
	case mtype == 0:
		return 0, searchAny
	case mtype < 0:
		if mtype == math.MinInt64 {
			return math.MaxInt64, searchLessEqual
		}
		return -mtype, searchLessEqual
	case flags&MSG_EXCEPT != 0:
		return mtype, searchNotEqual
	}
	return mtype, searchEqual
}

// findLocked returns the index of the message a search picks, or -1:
// the first that matches; for searchLessEqual the first of the lowest
// type; for searchNumber the mtype-th. Linux: ipc/msg.c, find_msg().
func (q *msgQueue) findLocked(mtype int64, mode int) int {
	found := -1
	var count int64
	for i, m := range q.msgs {
		if !matches(m, mtype, mode) {
			continue
		}
		switch {
		case mode == searchLessEqual && m.mtype != 1:
			mtype, found = m.mtype-1, i
		case mode == searchNumber:
			if count == mtype {
				return i
			}
			count++
		default:
			return i
		}
	}
	return found
}

// MsgReceive implements msgrcv(2) up to the copy-out: it returns the
// message's type and text, cut to maxSize with MSG_NOERROR. With no
// message to take the caller waits (ENOMSG with IPC_NOWAIT);
// interrupted, it fails with ErrInterrupted. MSG_COPY copies the
// msgtyp-th message without taking it. Linux: ipc/msg.c, do_msgrcv().
func (ns *Namespace) MsgReceive(c *Caller, id int32, maxSize int64, msgtyp int64, flags int, b Blocker) (int64, []byte, error) {
	if id < 0 || maxSize < 0 {
		return 0, nil, unix.EINVAL
	}
	if flags&MSG_COPY != 0 && (flags&MSG_EXCEPT != 0 || flags&IPC_NOWAIT == 0) {
		return 0, nil, unix.EINVAL
	}
	size := int(min(maxSize, math.MaxInt32))
	mtype, mode := convertMode(msgtyp, flags)
	st := &ns.msg
	st.mu.Lock()
	defer st.mu.Unlock()
	q, err := st.reg.find(id)
	if err != nil {
		return 0, nil, err
	}
	cut := func(m *message) (int64, []byte, error) {
		return m.mtype, m.text[:min(len(m.text), size)], nil
	}
	for {
		if !q.allowed(c, mayRead) {
			return 0, nil, unix.EACCES
		}
		if q.removed {
			return 0, nil, unix.EIDRM
		}
		if i := q.findLocked(mtype, mode); i >= 0 {
			m := q.msgs[i]
			if size < len(m.text) && flags&MSG_NOERROR == 0 {
				return 0, nil, unix.E2BIG
			}
			if flags&MSG_COPY != 0 {
				// The copy is made in a buffer of min(size, msgmax)
				// bytes, which must hold the whole text even with
				// MSG_NOERROR. Linux: ipc/msgutil.c, copy_msg().
				if len(m.text) > min(size, int(max(ns.limits().MsgMax, 0))) {
					return 0, nil, unix.EINVAL
				}
				return m.mtype, slices.Clone(m.text), nil
			}
			q.msgs = slices.Delete(q.msgs, i, i+1)
			q.cbytes -= uint64(len(m.text))
			st.bytes -= len(m.text)
			st.count--
			q.rtime, q.lrpid = ns.seconds(), c.PID
			q.wakeSendersLocked()
			return cut(m)
		}
		if flags&IPC_NOWAIT != 0 {
			return 0, nil, unix.ENOMSG
		}
		r := &msgReceiver{mtype: mtype, mode: mode, maxSize: size, pid: c.PID, done: make(chan struct{})}
		if flags&MSG_NOERROR != 0 {
			r.maxSize = math.MaxInt
		}
		q.receivers = append(q.receivers, r)
		st.mu.Unlock()
		berr := b.Block(r.done, time.Time{})
		st.mu.Lock()
		if r.finished {
			switch {
			case r.err == errRetry:
				continue
			case r.err != nil:
				return 0, nil, r.err
			}
			return cut(r.msg)
		}
		if i := slices.Index(q.receivers, r); i >= 0 {
			q.receivers = slices.Delete(q.receivers, i, i+1)
		}
		if berr != nil {
			return 0, nil, ErrInterrupted
		}
	}
}

// MsgStat implements msgctl IPC_STAT, MSG_STAT and MSG_STAT_ANY; it
// returns the identifier for the last two. Linux: ipc/msg.c,
// msgctl_stat().
func (ns *Namespace) MsgStat(c *Caller, id int32, cmd int) (MsqidDS, int32, error) {
	st := &ns.msg
	st.mu.Lock()
	defer st.mu.Unlock()
	q, err := findStat(&st.reg, id, cmd != IPC_STAT)
	if err != nil {
		return MsqidDS{}, 0, err
	}
	if cmd != MSG_STAT_ANY && !q.allowed(c, mayRead) {
		return MsqidDS{}, 0, unix.EACCES
	}
	ds := MsqidDS{Perm: q.perm(), Stime: q.stime, Rtime: q.rtime, Ctime: q.ctime, Cbytes: q.cbytes,
		Qnum: uint64(len(q.msgs)), Qbytes: q.qbytes, Lspid: q.lspid, Lrpid: q.lrpid}
	if cmd == IPC_STAT {
		return ds, 0, nil
	}
	return ds, q.id, nil
}

// MsgLimits implements msgctl IPC_INFO and MSG_INFO (which reports the
// queues, messages and bytes in use in Msgpool, Msgmap and Msgtql); it
// returns the highest index in use. Linux: ipc/msg.c, msgctl_info().
func (ns *Namespace) MsgLimits(cmd int) (Msginfo, int) {
	l := ns.limits()
	st := &ns.msg
	st.mu.Lock()
	defer st.mu.Unlock()
	info := Msginfo{Msgpool: msgPOOL, Msgmap: MSGMNB, Msgmax: l.MsgMax, Msgmnb: l.MsgMNB, Msgmni: l.MsgMNI,
		Msgssz: msgSSZ, Msgtql: MSGMNB, Msgseg: msgSEG}
	if cmd == MSG_INFO {
		info.Msgpool, info.Msgmap, info.Msgtql = int32(len(st.reg.byIndex)), int32(st.count), int32(min(st.bytes, math.MaxInt32))
	}
	return info, st.reg.maxIndex()
}

// MsgSet implements msgctl IPC_SET: the owner, mode and msg_qbytes
// (above msgmnb only with CAP_SYS_RESOURCE). Waiters look again.
// Linux: ipc/msg.c, msgctl_down().
func (ns *Namespace) MsgSet(c *Caller, id int32, ds *MsqidDS) error {
	st := &ns.msg
	st.mu.Lock()
	defer st.mu.Unlock()
	q, err := st.reg.findOwned(id, c)
	if err != nil {
		return err
	}
	if ds.Qbytes > uint64(max(ns.limits().MsgMNB, 0)) && !c.capable(capSysResource) {
		return unix.EPERM
	}
	if err := q.setPerm(&ds.Perm); err != nil {
		return err
	}
	q.qbytes = ds.Qbytes
	q.ctime = ns.seconds()
	for _, r := range q.receivers {
		r.finish(nil, errRetry)
	}
	q.receivers = nil
	q.wakeSendersLocked()
	return nil
}

// MsgRemove implements msgctl IPC_RMID: waiters fail with EIDRM.
// Linux: ipc/msg.c, freeque().
func (ns *Namespace) MsgRemove(c *Caller, id int32) error {
	st := &ns.msg
	st.mu.Lock()
	defer st.mu.Unlock()
	q, err := st.reg.findOwned(id, c)
	if err != nil {
		return err
	}
	st.reg.remove(q)
	for _, r := range q.receivers {
		r.finish(nil, unix.EIDRM)
	}
	q.receivers = nil
	q.wakeSendersLocked()
	for _, m := range q.msgs {
		st.bytes -= len(m.text)
	}
	st.count -= len(q.msgs)
	q.msgs, q.cbytes = nil, 0
	return nil
}
