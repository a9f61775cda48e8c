// Package eventfd implements eventfd(2): a 64-bit counter that write adds
// to and read takes (all of it, or one in semaphore mode). Reads and
// writes that would block return EAGAIN; the system-call layer waits on
// the queue.
//
// Locking: eventFD.mu guards the counter; the queue is notified after it
// is released.
package eventfd

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// maxValue is the largest value the counter may hold.
const maxValue = ^uint64(0) - 1

// Flags of eventfd2.
const (
	Semaphore = 1
)

type eventFD struct {
	queue     waiter.Queue
	semaphore bool

	mu    sync.Mutex
	count uint64
}

// New returns an event descriptor starting at initval; flags may hold
// O_NONBLOCK, and semaphore selects semaphore mode.
func New(initval uint64, semaphore bool, flags int) *vfs.File {
	e := &eventFD{count: initval, semaphore: semaphore}
	return vfs.NewFile(e, unix.O_RDWR|flags&unix.O_NONBLOCK)
}

// ReadAt implements vfs.FileImpl. Linux: fs/eventfd.c, eventfd_read().
func (e *eventFD) ReadAt(dst []byte, _ int64) (int, error) {
	if len(dst) < 8 {
		return 0, unix.EINVAL
	}
	e.mu.Lock()
	if e.count == 0 {
		e.mu.Unlock()
		return 0, unix.EAGAIN
	}
	v := e.count
	if e.semaphore {
		v = 1
	}
	e.count -= v
	e.mu.Unlock()
	binary.LittleEndian.PutUint64(dst, v)
	e.queue.Notify(waiter.EventOut)
	return 8, nil
}

// WriteAt implements vfs.FileImpl. Linux: fs/eventfd.c, eventfd_write().
func (e *eventFD) WriteAt(src []byte, _ int64) (int, error) {
	if len(src) < 8 {
		return 0, unix.EINVAL
	}
	v := binary.LittleEndian.Uint64(src)
	if v == ^uint64(0) {
		return 0, unix.EINVAL
	}
	e.mu.Lock()
	if maxValue-e.count < v {
		e.mu.Unlock()
		return 0, unix.EAGAIN
	}
	e.count += v
	e.mu.Unlock()
	if v > 0 {
		e.queue.Notify(waiter.EventIn | waiter.EventRdNorm)
	}
	return 8, nil
}

// Readiness implements vfs.Waitable.
func (e *eventFD) Readiness(mask uint32) uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var r uint32
	if e.count > 0 {
		r |= waiter.EventIn | waiter.EventRdNorm
	}
	if e.count < maxValue {
		r |= waiter.EventOut
	}
	return r & mask
}

func (e *eventFD) EventRegister(w *waiter.Entry)   { e.queue.Register(w) }
func (e *eventFD) EventUnregister(w *waiter.Entry) { e.queue.Unregister(w) }
func (e *eventFD) Seekable() bool                  { return false }
func (e *eventFD) Release()                        {}

func (e *eventFD) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: 0o600, Nlink: 1, Blksize: 4096}
	return nil
}
