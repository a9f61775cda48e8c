package inotify

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Limits, as /proc/sys/fs/inotify shows them.
const (
	// MaxQueuedEvents bounds an instance's queue; the event after the
	// last that fits becomes IN_Q_OVERFLOW.
	MaxQueuedEvents = 16384
	// MaxUserInstances bounds the instances of one user (EMFILE).
	MaxUserInstances = 128
	// MaxUserWatches bounds the watches of one user (ENOSPC).
	MaxUserWatches = 8192
)

// Watch flags beyond the events. Linux: include/uapi/linux/inotify.h.
const (
	flagOnlyDir    = unix.IN_ONLYDIR
	flagDontFollow = unix.IN_DONT_FOLLOW
	flagExclUnlink = unix.IN_EXCL_UNLINK
	flagMaskCreate = unix.IN_MASK_CREATE
	flagMaskAdd    = unix.IN_MASK_ADD
	flagOneShot    = unix.IN_ONESHOT

	// AllBits are the bits inotify_add_watch knows; a mask with none of
	// them is EINVAL. Linux: ALL_INOTIFY_BITS.
	AllBits = unix.IN_ALL_EVENTS | unix.IN_UNMOUNT | unix.IN_Q_OVERFLOW | unix.IN_IGNORED |
		flagOnlyDir | flagDontFollow | flagExclUnlink | flagMaskCreate | flagMaskAdd | unix.IN_ISDIR | flagOneShot

	// kept are the bits a watch keeps: its events and the flags that
	// act on events.
	kept = unix.IN_ALL_EVENTS | flagExclUnlink | flagOneShot
)

// fionread is the FIONREAD ioctl (TIOCINQ on x86-64).
const fionread = unix.TIOCINQ

// eventHeader is sizeof(struct inotify_event); a name is padded with NULs
// to a multiple of it.
const eventHeader = 16

// event is one queued event.
type event struct {
	wd           int32
	mask, cookie uint32
	name         string
}

// size is the event's length as read: the header and the padded name.
func (e *event) size() int { return eventHeader + nameLen(e.name) }

func nameLen(name string) int {
	if name == "" {
		return 0
	}
	return (len(name) + eventHeader) &^ (eventHeader - 1) // room for the NUL, rounded up
}

// user identifies an owner for the per-user limits: a user of one VFS
// (one sandbox).
type user struct {
	vfs *vfs.VFS
	uid uint32
}

type usage struct{ instances, watches int }

var (
	limitsMu sync.Mutex
	limits   = map[user]*usage{}
)

// charge counts one more instance (watch false) or watch of u against
// its limit.
func charge(u user, watch bool) bool {
	limitsMu.Lock()
	defer limitsMu.Unlock()
	c := limits[u]
	if c == nil {
		c = &usage{}
		limits[u] = c
	}
	if watch {
		if c.watches >= MaxUserWatches {
			return false
		}
		c.watches++
	} else {
		if c.instances >= MaxUserInstances {
			return false
		}
		c.instances++
	}
	return true
}

func uncharge(u user, instances, watches int) {
	limitsMu.Lock()
	defer limitsMu.Unlock()
	if c := limits[u]; c != nil {
		c.instances -= instances
		c.watches -= watches
		if c.instances <= 0 && c.watches <= 0 {
			delete(limits, u)
		}
	}
}

// Instance is one inotify instance.
type Instance struct {
	vfs   *vfs.VFS
	owner user
	queue waiter.Queue

	mu sync.Mutex
	// events are queued in order from head on; size sums their sizes
	// (FIONREAD); overflowed says IN_Q_OVERFLOW is queued.
	events     []event
	head       int
	size       int
	overflowed bool
	watches    map[int32]*watch
	byInode    map[vfs.Inode]*watch
	lastWD     int32
	released   bool
}

// watch is one watch of an instance: a vfs.Watch.
type watch struct {
	in   *Instance
	wd   int32
	path vfs.Path
	mask uint32 // guarded by in.mu
}

// New returns a new instance of v owned by uid; flags may hold
// O_NONBLOCK. It fails with EMFILE when the user has
// MaxUserInstances already.
func New(v *vfs.VFS, uid uint32, flags int) (*vfs.File, error) {
	in := &Instance{vfs: v, owner: user{v, uid}, watches: map[int32]*watch{}, byInode: map[vfs.Inode]*watch{}}
	if !charge(in.owner, false) {
		return nil, unix.EMFILE
	}
	return vfs.NewFile(in, unix.O_RDONLY|flags&unix.O_NONBLOCK), nil
}

// Of returns the instance behind an inotify file.
func Of(f *vfs.File) (*Instance, bool) {
	in, ok := f.Impl.(*Instance)
	return in, ok
}

// AddWatch implements inotify_add_watch(2) for the file at p, resolved
// and checked by the caller (IN_DONT_FOLLOW, IN_ONLYDIR, read
// permission): a new watch, or, for a file already watched, the same
// one with a new mask (IN_MASK_ADD adds to it; IN_MASK_CREATE fails with
// EEXIST). It returns the watch descriptor. Linux:
// fs/notify/inotify/inotify_user.c, inotify_update_watch().
func (in *Instance) AddWatch(p vfs.Path, mask uint32) (int32, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.released {
		return 0, unix.EBADF
	}
	inode := p.Dentry.Inode()
	if w := in.byInode[inode]; w != nil {
		switch {
		case mask&flagMaskCreate != 0:
			return 0, unix.EEXIST
		case mask&flagMaskAdd != 0:
			w.mask |= mask & kept
		default:
			w.mask = mask & kept
		}
		return w.wd, nil
	}
	if !charge(in.owner, true) {
		return 0, unix.ENOSPC
	}
	// Descriptors count up and are not reused until they wrap, as
	// Linux's cyclic allocation.
	wd := in.lastWD
	for {
		if wd++; wd <= 0 {
			wd = 1
		}
		if in.watches[wd] == nil {
			break
		}
	}
	in.lastWD = wd
	w := &watch{in: in, wd: wd, path: p, mask: mask & kept}
	in.watches[wd] = w
	in.byInode[inode] = w
	in.vfs.AddWatch(p, w)
	return wd, nil
}

// RemoveWatch implements inotify_rm_watch(2): the watch ends with
// IN_IGNORED. EINVAL for a descriptor the instance does not have.
func (in *Instance) RemoveWatch(wd int32) error {
	in.mu.Lock()
	w := in.watches[wd]
	if w == nil {
		in.mu.Unlock()
		return unix.EINVAL
	}
	in.forgetLocked(w)
	in.vfs.RemoveWatch(w.path, w)
	in.queueLocked(event{wd: wd, mask: unix.IN_IGNORED})
	in.mu.Unlock()
	in.queue.Notify(waiter.EventIn | waiter.EventRdNorm)
	return nil
}

// forgetLocked drops w from the instance, in.mu held.
func (in *Instance) forgetLocked(w *watch) {
	delete(in.watches, w.wd)
	delete(in.byInode, w.path.Dentry.Inode())
	uncharge(in.owner, 0, 1)
}

// Event implements vfs.Watch: an event the watch asked for is queued;
// IN_ONESHOT ends the watch after its first event, IN_DELETE_SELF and
// IN_UNMOUNT end it whatever it asked for, and an ended watch queues
// IN_IGNORED. Linux: fs/notify/inotify/inotify_fsnotify.c,
// inotify_handle_inode_event().
func (w *watch) Event(ev vfs.NotifyEvent) {
	in := w.in
	in.mu.Lock()
	if in.watches[w.wd] != w {
		in.mu.Unlock()
		return // removed meanwhile
	}
	mask := ev.Mask
	if mask&(unix.IN_MOVE_SELF|unix.IN_DELETE_SELF) != 0 {
		// inotify never reported IN_ISDIR with these, and keeps it so.
		mask &^= unix.IN_ISDIR
	}
	wanted := mask&w.mask&unix.IN_ALL_EVENTS != 0 || mask&unix.IN_UNMOUNT != 0
	if ev.Unlinked && w.mask&flagExclUnlink != 0 {
		wanted = false
	}
	queued := false
	if wanted {
		queued = in.queueLocked(event{wd: w.wd, mask: mask & (unix.IN_ALL_EVENTS | unix.IN_ISDIR | unix.IN_UNMOUNT), cookie: ev.Cookie, name: ev.Name})
	}
	// The VFS forgets a watch it ends itself; a one-shot watch is ended
	// here.
	ended := mask&(unix.IN_DELETE_SELF|unix.IN_UNMOUNT) != 0
	if !ended && wanted && w.mask&flagOneShot != 0 {
		in.vfs.RemoveWatch(w.path, w)
		ended = true
	}
	if ended {
		in.forgetLocked(w)
		queued = in.queueLocked(event{wd: w.wd, mask: unix.IN_IGNORED}) || queued
	}
	in.mu.Unlock()
	if queued {
		in.queue.Notify(waiter.EventIn | waiter.EventRdNorm)
	}
}

// queueLocked appends e, in.mu held, and reports whether the queue
// changed. A full queue takes one IN_Q_OVERFLOW instead; an event equal
// to the last one queued (and not yet read) is dropped.
// Linux: fs/notify/notification.c, fsnotify_insert_event(), and
// inotify_merge().
func (in *Instance) queueLocked(e event) bool {
	if in.released {
		return false
	}
	if len(in.events)-in.head >= MaxQueuedEvents {
		if in.overflowed {
			return false
		}
		in.overflowed = true
		e = event{wd: -1, mask: unix.IN_Q_OVERFLOW}
	} else if n := len(in.events); n > in.head {
		last := &in.events[n-1]
		if last.mask&unix.IN_IGNORED == 0 && last.mask == e.mask && last.wd == e.wd && last.name == e.name {
			return false
		}
	}
	in.events = append(in.events, e)
	in.size += e.size()
	return true
}

// ReadAt implements vfs.FileImpl: as many whole events as fit in dst,
// oldest first. EAGAIN when there are none; EINVAL when the first does
// not fit. Linux: fs/notify/inotify/inotify_user.c, inotify_read().
func (in *Instance) ReadAt(dst []byte, _ int64) (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.head == len(in.events) {
		return 0, unix.EAGAIN
	}
	n := 0
	for in.head < len(in.events) {
		e := &in.events[in.head]
		sz := e.size()
		if n+sz > len(dst) {
			break
		}
		b := dst[n : n+sz]
		binary.LittleEndian.PutUint32(b[0:], uint32(e.wd))
		binary.LittleEndian.PutUint32(b[4:], e.mask)
		binary.LittleEndian.PutUint32(b[8:], e.cookie)
		binary.LittleEndian.PutUint32(b[12:], uint32(sz-eventHeader))
		clear(b[eventHeader:])
		copy(b[eventHeader:], e.name)
		n += sz
		in.size -= sz
		if e.mask&unix.IN_Q_OVERFLOW != 0 {
			in.overflowed = false
		}
		*e = event{}
		in.head++
	}
	if n == 0 {
		return 0, unix.EINVAL
	}
	if in.head == len(in.events) {
		in.events, in.head = in.events[:0], 0
	} else if in.head > len(in.events)/2 {
		in.events = append(in.events[:0], in.events[in.head:]...)
		in.head = 0
	}
	return n, nil
}

// WriteAt implements vfs.FileImpl (the file is read-only).
func (in *Instance) WriteAt(src []byte, off int64) (int, error) { return 0, unix.EINVAL }

// Stat implements vfs.FileImpl: an anonymous inode.
func (in *Instance) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: 0o600, Nlink: 1, Blksize: 4096}
	return nil
}

// Seekable implements vfs.FileImpl (lseek is ESPIPE).
func (in *Instance) Seekable() bool { return false }

// Release implements vfs.FileImpl: the watches end without IN_IGNORED,
// since nobody can read it.
func (in *Instance) Release() {
	in.mu.Lock()
	in.released = true
	ws := make([]*watch, 0, len(in.watches))
	for _, w := range in.watches {
		ws = append(ws, w)
	}
	for _, w := range ws {
		in.forgetLocked(w)
		in.vfs.RemoveWatch(w.path, w)
	}
	in.events, in.head, in.size = nil, 0, 0
	in.mu.Unlock()
	uncharge(in.owner, 1, 0)
}

// Readiness implements vfs.Waitable.
func (in *Instance) Readiness(mask uint32) uint32 {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.head < len(in.events) {
		return mask & (waiter.EventIn | waiter.EventRdNorm)
	}
	return 0
}

// EventRegister implements vfs.Waitable.
func (in *Instance) EventRegister(e *waiter.Entry) { in.queue.Register(e) }

// EventUnregister implements vfs.Waitable.
func (in *Instance) EventUnregister(e *waiter.Entry) { in.queue.Unregister(e) }

// Queued returns the bytes a read could return now (FIONREAD).
func (in *Instance) Queued() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.size
}

// Ioctl implements vfs.IoctlImpl: FIONREAD.
func (in *Instance) Ioctl(io vfs.IO, request uint32, arg uintptr) (uintptr, error) {
	if request != fionread {
		return 0, unix.ENOTTY
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(in.Queued()))
	if n, err := io.CopyOut(arg, b[:]); err != nil || n != len(b) {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// HostBlocking implements vfs.HostBlocking. An instance never waits on
// the host, but the marker makes the system-call layer read it with one
// ReadAt into a kernel buffer, so that whole events fit however the
// application's buffer is split into pieces of memory.
func (in *Instance) HostBlocking() {}

// ProcName names the file in /proc/[pid]/fd as Linux does.
func (in *Instance) ProcName() string { return "anon_inode:inotify" }

// FDInfo lists the watches in /proc/[pid]/fdinfo/N by descriptor, as
// Linux does without its file handles. Linux: fs/notify/fdinfo.c.
func (in *Instance) FDInfo() string {
	type line struct {
		wd   int32
		path vfs.Path
		mask uint32
	}
	in.mu.Lock()
	lines := make([]line, 0, len(in.watches))
	for _, w := range in.watches {
		lines = append(lines, line{w.wd, w.path, w.mask})
	}
	in.mu.Unlock()
	slices.SortFunc(lines, func(a, b line) int { return int(a.wd - b.wd) })
	ctx := &vfs.Context{Creds: &vfs.RootCreds}
	var out strings.Builder
	for _, l := range lines {
		st, err := l.path.Dentry.Inode().Stat(ctx, unix.STATX_INO)
		if err != nil {
			continue
		}
		fmt.Fprintf(&out, "inotify wd:%x ino:%x sdev:%x mask:%x ignored_mask:0\n",
			l.wd, st.Ino, unix.Mkdev(st.Dev_major, st.Dev_minor), l.mask&unix.IN_ALL_EVENTS)
	}
	return out.String()
}
