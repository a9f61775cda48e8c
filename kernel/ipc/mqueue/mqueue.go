package mqueue

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Limits. The hard ones are fixed; the others are the namespace's
// Limits, which these are Linux's defaults of (the names in brackets are
// their /proc/sys/fs/mqueue files). Linux: include/linux/ipc_namespace.h.
const (
	MQ_PRIO_MAX = 32768

	DFLT_MSG        = 10       // [msg_default] mq_maxmsg of a queue made without attributes
	DFLT_MSGSIZE    = 8192     // [msgsize_default]
	DFLT_MSGMAX     = 10       // [msg_max] mq_maxmsg without CAP_SYS_RESOURCE
	DFLT_MSGSIZEMAX = 8192     // [msgsize_max]
	DFLT_QUEUESMAX  = 256      // [queues_max] queues without CAP_SYS_RESOURCE
	HARD_MSGMAX     = 65536    // mq_maxmsg with CAP_SYS_RESOURCE
	HARD_MSGSIZEMAX = 16 << 20 // mq_msgsize with CAP_SYS_RESOURCE
)

// Limits are the namespace's tunable limits, read at each use (Linux:
// struct ipc_namespace's mq_*). Its fields are kernel.MQLimits's, which
// the kernel keeps and converts. Linux keeps them unsigned, though
// queues_max takes any int: a negative one bounds nothing.
type Limits struct {
	QueuesMax      int32 // [queues_max]
	MsgMax         int32 // [msg_max]
	MsgsizeMax     int32 // [msgsize_max]
	MsgDefault     int32 // [msg_default]
	MsgsizeDefault int32 // [msgsize_default]
}

// DefaultLimits are Linux's defaults.
func DefaultLimits() Limits {
	return Limits{QueuesMax: DFLT_QUEUESMAX, MsgMax: DFLT_MSGMAX, MsgsizeMax: DFLT_MSGSIZEMAX,
		MsgDefault: DFLT_MSG, MsgsizeDefault: DFLT_MSGSIZE}
}

// sigevent notification kinds. Linux: include/uapi/asm-generic/siginfo.h.
const (
	SIGEV_SIGNAL = 0
	SIGEV_NONE   = 1
	SIGEV_THREAD = 2
)

const (
	// mqueueDev is the device number of the queues' inodes.
	mqueueDev      = 0x14
	capSysResource = 24
	eventWrNorm    = 0x100 // POLLWRNORM
	maxSignal      = 64
)

// Errors a Blocker returns.
var (
	ErrInterrupted = errors.New("mqueue: wait interrupted")
	ErrTimedOut    = errors.New("mqueue: wait timed out")
)

// Blocker puts the calling task to sleep until wake is ready (nil), the
// deadline passes (ErrTimedOut; a zero deadline never does) or a signal
// interrupts it (ErrInterrupted).
type Blocker interface {
	Block(wake <-chan struct{}, deadline time.Time) error
}

// Attr is struct mq_attr.
type Attr struct {
	Flags, Maxmsg, Msgsize, Curmsgs int64
	_                               [4]int64
}

// SigEvent is what mq_notify registers: the kind and, for SIGEV_SIGNAL,
// the signal and its value.
type SigEvent struct {
	Notify int32
	Signo  int32
	Value  uint64
}

// Notification is the signal owed to a registered process.
type Notification struct {
	Signo int32
	Value uint64
	// PID and UID are the sender's, for si_pid and si_uid.
	PID int32
	UID uint32
}

// Registry is the sandbox's message queues.
type Registry struct {
	// signal sends a notification to process tgid; alive reports
	// whether a process still exists. Both are called with no lock held.
	signal func(tgid int32, n Notification)
	alive  func(tgid int32) bool
	// limits returns the limits as they are now; it takes no lock of
	// this package's.
	limits func() Limits

	mu     sync.Mutex
	queues map[string]*Queue
	// count is the number of queues, unlinked ones still open included.
	count int
	// lastIno numbers the queues (st_ino).
	lastIno uint64
}

// New returns an empty registry whose limits are what limits returns at
// each use (nil: DefaultLimits).
func New(signal func(tgid int32, n Notification), alive func(tgid int32) bool, limits func() Limits) *Registry {
	if limits == nil {
		limits = DefaultLimits
	}
	return &Registry{signal: signal, alive: alive, limits: limits, queues: map[string]*Queue{}}
}

// Queue is a message queue.
type Queue struct {
	r               *Registry
	ino             uint64
	uid, gid        uint32
	mode            uint32
	maxmsg, msgsize int64
	events          waiter.Queue

	mu sync.Mutex
	// msgs are in the order they are received: by priority, highest
	// first, and in the order they were sent within a priority.
	msgs []message
	// bytes is the size of all messages (the status line's QSIZE).
	bytes int64
	// changed is closed and replaced when a message comes or goes.
	changed chan struct{}
	// receivers counts the receivers waiting.
	receivers int
	// owner is the process registered by mq_notify (0: none), with what
	// it asked for; ownerFDs is its descriptor table, whose closes of
	// the queue end the registration.
	owner    int32
	ownerFDs *vfs.FDTable
	notify   SigEvent
	// refs counts open descriptions; named says the queue has its
	// name. The queue is gone when it has neither.
	refs  int
	named bool
}

type message struct {
	prio uint32
	data []byte
}

// checkName applies the mqueue file system's rules to a name (the part
// after glibc's leading slash). Linux: fs/namei.c, lookup_one_common().
func checkName(name string) error {
	switch {
	case name == "":
		return unix.ENOENT
	case name == "." || name == ".." || strings.ContainsRune(name, '/'):
		return unix.EACCES
	case len(name) > 255:
		return unix.ENAMETOOLONG
	}
	return nil
}

// checkAttr validates the attributes of a new queue: at most msg_max
// messages of msgsize_max bytes, or the hard limits with
// CAP_SYS_RESOURCE. Linux: ipc/mqueue.c, mq_attr_ok().
func checkAttr(c *vfs.Creds, a *Attr, l Limits) error {
	if a.Maxmsg <= 0 || a.Msgsize <= 0 {
		return unix.EINVAL
	}
	if c.HasCap(capSysResource) {
		if a.Maxmsg > HARD_MSGMAX || a.Msgsize > HARD_MSGSIZEMAX {
			return unix.EINVAL
		}
	} else if a.Maxmsg > int64(uint32(l.MsgMax)) || a.Msgsize > int64(uint32(l.MsgsizeMax)) {
		return unix.EINVAL
	}
	return nil
}

// Open implements mq_open(2): it returns a description of the queue
// name, made with mode (less umask) and attr (nil: the defaults) if
// flags has O_CREAT and there is none. Linux: ipc/mqueue.c, do_mq_open()
// and prepare_open().
func (r *Registry) Open(c *vfs.Creds, name string, flags int, mode, umask uint32, attr *Attr) (*vfs.File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.queues[name]
	switch {
	case !ok && flags&unix.O_CREAT == 0:
		return nil, unix.ENOENT
	case !ok:
		// Without attributes, the defaults within the maxima.
		l := r.limits()
		a := Attr{Maxmsg: int64(min(uint32(l.MsgMax), uint32(l.MsgDefault))),
			Msgsize: int64(min(uint32(l.MsgsizeMax), uint32(l.MsgsizeDefault)))}
		if attr != nil {
			if err := checkAttr(c, attr, l); err != nil {
				return nil, err
			}
			a.Maxmsg, a.Msgsize = attr.Maxmsg, attr.Msgsize
		}
		if uint32(r.count) >= uint32(l.QueuesMax) && !c.HasCap(capSysResource) {
			return nil, unix.ENOSPC
		}
		r.lastIno++
		q = &Queue{r: r, ino: r.lastIno, uid: c.UID, gid: c.GID, mode: mode & 0o7777 &^ umask, maxmsg: a.Maxmsg, msgsize: a.Msgsize,
			changed: make(chan struct{}), named: true}
		r.queues[name] = q
		r.count++
	case flags&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL:
		return nil, unix.EEXIST
	default:
		var may uint32
		switch flags & unix.O_ACCMODE {
		case unix.O_RDONLY:
			may = vfs.MayRead
		case unix.O_WRONLY:
			may = vfs.MayWrite
		case unix.O_RDWR:
			may = vfs.MayRead | vfs.MayWrite
		default:
			return nil, unix.EINVAL
		}
		if err := vfs.CheckPermission(c, unix.S_IFREG|q.mode, q.uid, q.gid, may); err != nil {
			return nil, err
		}
	}
	q.mu.Lock()
	q.refs++
	q.mu.Unlock()
	return vfs.NewFile(&file{q: q}, flags&(unix.O_ACCMODE|unix.O_NONBLOCK)), nil
}

// Unlink implements mq_unlink(2): the name goes; the queue lives while it
// is open. The root of the names is sticky and root's: only the queue's
// owner, root or CAP_FOWNER may remove it. Linux: ipc/mqueue.c,
// mq_unlink(); fs/namei.c, may_delete().
func (r *Registry) Unlink(c *vfs.Creds, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	r.mu.Lock()
	q, ok := r.queues[name]
	if !ok {
		r.mu.Unlock()
		return unix.ENOENT
	}
	if c.UID != q.uid && c.UID != 0 && !c.HasCap(vfs.CapFowner) {
		r.mu.Unlock()
		return unix.EPERM
	}
	delete(r.queues, name)
	q.mu.Lock()
	q.named = false
	if q.refs == 0 {
		r.count--
	}
	q.mu.Unlock()
	r.mu.Unlock()
	return nil
}

// QueueOf returns the queue a description opens, or EBADF if it is not
// a message queue.
func QueueOf(f *vfs.File) (*Queue, error) {
	if mf, ok := f.Impl.(*file); ok {
		return mf.q, nil
	}
	return nil, unix.EBADF
}

// Msgsize is the largest message the queue takes.
func (q *Queue) Msgsize() int64 { return q.msgsize }

// changedLocked wakes the waiters to look again.
func (q *Queue) changedLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Send implements mq_timedsend(2) once the message is copied in: a full
// queue makes the caller wait (EAGAIN if nonblock) until deadline (zero:
// none; ETIMEDOUT), or a signal (ErrInterrupted). sender is who sends,
// for the notification. Linux: ipc/mqueue.c, do_mq_timedsend().
func (q *Queue) Send(data []byte, prio uint32, nonblock bool, deadline time.Time, b Blocker, sender Notification) error {
	if prio >= MQ_PRIO_MAX {
		return unix.EINVAL
	}
	if int64(len(data)) > q.msgsize {
		return unix.EMSGSIZE
	}
	q.mu.Lock()
	for int64(len(q.msgs)) >= q.maxmsg {
		if nonblock {
			q.mu.Unlock()
			return unix.EAGAIN
		}
		ch := q.changed
		q.mu.Unlock()
		err := b.Block(ch, deadline)
		q.mu.Lock()
		if err != nil && int64(len(q.msgs)) >= q.maxmsg {
			q.mu.Unlock()
			if err == ErrTimedOut {
				return unix.ETIMEDOUT
			}
			return ErrInterrupted
		}
	}
	i := len(q.msgs)
	for i > 0 && q.msgs[i-1].prio < prio {
		i--
	}
	q.msgs = append(q.msgs, message{})
	copy(q.msgs[i+1:], q.msgs[i:])
	q.msgs[i] = message{prio: prio, data: data}
	q.bytes += int64(len(data))
	q.changedLocked()
	// A message on an empty queue nobody waits on is what mq_notify
	// waits for. Linux: ipc/mqueue.c, __do_notify().
	var owner int32
	var ev SigEvent
	if len(q.msgs) == 1 && q.receivers == 0 && q.owner != 0 {
		owner, ev = q.owner, q.notify
		q.owner, q.ownerFDs = 0, nil
	}
	q.mu.Unlock()
	q.events.Notify(waiter.EventIn | waiter.EventRdNorm)
	if owner != 0 && ev.Notify == SIGEV_SIGNAL && q.r.signal != nil {
		sender.Signo, sender.Value = ev.Signo, ev.Value
		q.r.signal(owner, sender)
	}
	return nil
}

// Receive implements mq_timedreceive(2) up to the copy-out: the oldest
// message of the highest priority. An empty queue makes the caller wait
// as Send does. size is the caller's buffer (EMSGSIZE below mq_msgsize).
// Linux: ipc/mqueue.c, do_mq_timedreceive().
func (q *Queue) Receive(size int64, nonblock bool, deadline time.Time, b Blocker) ([]byte, uint32, error) {
	if size < q.msgsize {
		return nil, 0, unix.EMSGSIZE
	}
	q.mu.Lock()
	for len(q.msgs) == 0 {
		if nonblock {
			q.mu.Unlock()
			return nil, 0, unix.EAGAIN
		}
		ch := q.changed
		q.receivers++
		q.mu.Unlock()
		err := b.Block(ch, deadline)
		q.mu.Lock()
		q.receivers--
		if err != nil && len(q.msgs) == 0 {
			q.mu.Unlock()
			if err == ErrTimedOut {
				return nil, 0, unix.ETIMEDOUT
			}
			return nil, 0, ErrInterrupted
		}
	}
	m := q.msgs[0]
	q.msgs = q.msgs[1:]
	q.bytes -= int64(len(m.data))
	q.changedLocked()
	q.mu.Unlock()
	q.events.Notify(waiter.EventOut | eventWrNorm)
	return m.data, m.prio, nil
}

// CheckSigEvent checks what mq_notify registers, before the descriptor
// (Linux's order): SIGEV_NONE, or SIGEV_SIGNAL with a valid signal (0
// included). SIGEV_THREAD needs a netlink socket, which the sandbox does
// not have: EINVAL.
func CheckSigEvent(ev *SigEvent) error {
	if ev == nil {
		return nil
	}
	switch ev.Notify {
	case SIGEV_NONE:
		return nil
	case SIGEV_SIGNAL:
		if ev.Signo >= 0 && ev.Signo <= maxSignal {
			return nil
		}
	}
	return unix.EINVAL
}

// Notify implements mq_notify(2) for process pid, whose descriptor
// table is fds: ev nil removes pid's registration; otherwise pid
// registers, unless a process has (EBUSY, pid included). Linux:
// ipc/mqueue.c, do_mq_notify().
func (q *Queue) Notify(pid int32, fds *vfs.FDTable, ev *SigEvent) error {
	if err := CheckSigEvent(ev); err != nil {
		return err
	}
	q.mu.Lock()
	owner := q.owner
	q.mu.Unlock()
	// A registration whose process is gone is no registration.
	ownerGone := owner != 0 && owner != pid && q.r.alive != nil && !q.r.alive(owner)
	q.mu.Lock()
	defer q.mu.Unlock()
	if ownerGone && q.owner == owner {
		q.owner, q.ownerFDs = 0, nil
	}
	switch {
	case ev == nil:
		if q.owner == pid {
			q.owner, q.ownerFDs = 0, nil
		}
	case q.owner != 0:
		return unix.EBUSY
	default:
		q.owner, q.ownerFDs, q.notify = pid, fds, *ev
	}
	return nil
}

// Closed tells the queue that the descriptor table fds closed one of its
// descriptors: a registration of the process that owns fds ends. Linux:
// ipc/mqueue.c, mqueue_flush_file().
func (q *Queue) Closed(fds *vfs.FDTable) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.owner != 0 && q.ownerFDs == fds {
		q.owner, q.ownerFDs = 0, nil
	}
}

// Attr describes the queue as f sees it (mq_getattr).
func (q *Queue) Attr(f *vfs.File) Attr {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Attr{Flags: int64(f.Flags() & unix.O_NONBLOCK), Maxmsg: q.maxmsg, Msgsize: q.msgsize, Curmsgs: int64(len(q.msgs))}
}

// file is an open message queue.
type file struct {
	q *Queue

	// pos is where read(2) is in the status line: a read advances it,
	// as Linux's file position does, and nothing moves it back.
	posMu sync.Mutex
	pos   int64
}

// status is the line read(2) returns. Linux: ipc/mqueue.c,
// mqueue_read_file().
func (q *Queue) status() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var notify, signo int32
	if q.owner != 0 {
		notify = q.notify.Notify
		if notify == SIGEV_SIGNAL {
			signo = q.notify.Signo
		}
	}
	return fmt.Sprintf("QSIZE:%-10d NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n", q.bytes, notify, signo, q.owner)
}

// ReadAt implements vfs.FileImpl: the status line, from the position
// of earlier reads (the file is not seekable: off is -1).
func (f *file) ReadAt(dst []byte, off int64) (int, error) {
	s := f.q.status()
	f.posMu.Lock()
	defer f.posMu.Unlock()
	if f.pos >= int64(len(s)) {
		return 0, nil
	}
	n := copy(dst, s[f.pos:])
	f.pos += int64(n)
	return n, nil
}

// WriteAt implements vfs.FileImpl; a queue is not written to.
func (f *file) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }

// Stat implements vfs.FileImpl.
func (f *file) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Dev: mqueueDev, Ino: f.q.ino, Nlink: 1, Mode: unix.S_IFREG | f.q.mode, Uid: f.q.uid, Gid: f.q.gid, Size: 80, Blksize: 4096}
	return nil
}

// Seekable implements vfs.FileImpl.
func (f *file) Seekable() bool { return false }

// Release implements vfs.FileImpl: an unlinked queue goes with its last
// description.
func (f *file) Release() {
	q := f.q
	q.r.mu.Lock()
	defer q.r.mu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.refs--; q.refs == 0 && !q.named {
		q.r.count--
	}
}

// Readiness implements vfs.Waitable. Linux: ipc/mqueue.c,
// mqueue_poll_file().
func (f *file) Readiness(mask uint32) uint32 {
	q := f.q
	q.mu.Lock()
	defer q.mu.Unlock()
	var r uint32
	if len(q.msgs) > 0 {
		r |= waiter.EventIn | waiter.EventRdNorm
	}
	if int64(len(q.msgs)) < q.maxmsg {
		r |= waiter.EventOut | eventWrNorm
	}
	return r & mask
}

// EventRegister implements vfs.Waitable.
func (f *file) EventRegister(e *waiter.Entry) { f.q.events.Register(e) }

// EventUnregister implements vfs.Waitable.
func (f *file) EventUnregister(e *waiter.Entry) { f.q.events.Unregister(e) }
