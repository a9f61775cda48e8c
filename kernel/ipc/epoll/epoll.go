// Package epoll implements epoll(7) instances: an interest list of
// (file, descriptor) pairs, each registered on its file's waiter queue,
// and a ready list filled by their callbacks. Level-triggered items stay
// ready while their file is; edge-triggered ones are reported once per
// event; one-shot ones are disabled after a report. An item goes when
// its file is released (vfs.File.OnRelease), as Linux's do: the
// instance holds no reference to the files it watches.
//
// Locking: EventPoll.mu guards the interest and ready lists. File
// callbacks run under the file's waiter.Queue lock and take EventPoll.mu,
// so EventPoll.mu is never held while registering on or unregistering from
// a file's queue. Readiness checks take the file's own lock under
// EventPoll.mu. Order: waiter.Queue.mu → EventPoll.mu → file locks.
package epoll

import (
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Flags of epoll_event.events beyond the readiness bits.
const (
	EPOLLEXCLUSIVE = 1 << 28
	EPOLLWAKEUP    = 1 << 29
	EPOLLONESHOT   = 1 << 30
	EPOLLET        = 1 << 31

	// readinessBits are the events a file can report.
	readinessBits = waiter.EventIn | waiter.EventPri | waiter.EventOut | waiter.EventErr |
		waiter.EventHUp | waiter.EventRdNorm | waiter.EventRdHUp | 0x80 /* WRNORM... */ | 0x100 | 0x200 | 0x400
)

// Event is one reported event (struct epoll_event).
type Event struct {
	Events uint32
	Data   uint64
}

type itemKey struct {
	file *vfs.File
	fd   int32
}

type item struct {
	key    itemKey
	events uint32 // interest mask with flags
	data   uint64
	entry  *waiter.Entry
	ready  bool
}

// EventPoll is one epoll instance.
type EventPoll struct {
	queue waiter.Queue

	mu    sync.Mutex
	items map[itemKey]*item
	ready []*item
}

// New returns a new epoll file.
func New(flags int) *vfs.File {
	return vfs.NewFile(&EventPoll{items: map[itemKey]*item{}}, unix.O_RDWR|flags&unix.O_NONBLOCK)
}

// Of returns the instance behind an epoll file.
func Of(f *vfs.File) (*EventPoll, bool) {
	ep, ok := f.Impl.(*EventPoll)
	return ep, ok
}

func (ep *EventPoll) markReady(it *item) {
	ep.mu.Lock()
	if !it.ready && it.events&readinessBits != 0 {
		it.ready = true
		ep.ready = append(ep.ready, it)
	}
	ep.mu.Unlock()
	ep.queue.Notify(waiter.EventIn)
}

// Add implements EPOLL_CTL_ADD. Linux: fs/eventpoll.c, ep_insert().
func (ep *EventPoll) Add(f *vfs.File, fd int32, events uint32, data uint64) error {
	w, ok := f.Impl.(vfs.Waitable)
	if !ok {
		return unix.EPERM
	}
	if f.Impl == vfs.FileImpl(ep) {
		return unix.EINVAL
	}
	key := itemKey{f, fd}
	ep.mu.Lock()
	if _, dup := ep.items[key]; dup {
		ep.mu.Unlock()
		return unix.EEXIST
	}
	it := &item{key: key, events: events | waiter.EventErr | waiter.EventHUp, data: data}
	it.entry = waiter.NewEntry(readinessBits, func(uint32) { ep.markReady(it) })
	ep.items[key] = it
	ep.mu.Unlock()
	f.OnRelease(it, func() { ep.forget(it) })
	w.EventRegister(it.entry)
	if w.Readiness(it.events&readinessBits) != 0 {
		ep.markReady(it)
	}
	return nil
}

// Modify implements EPOLL_CTL_MOD.
func (ep *EventPoll) Modify(f *vfs.File, fd int32, events uint32, data uint64) error {
	ep.mu.Lock()
	it, ok := ep.items[itemKey{f, fd}]
	if !ok {
		ep.mu.Unlock()
		return unix.ENOENT
	}
	if it.events&EPOLLEXCLUSIVE != 0 {
		ep.mu.Unlock()
		return unix.EINVAL
	}
	it.events = events | waiter.EventErr | waiter.EventHUp
	it.data = data
	ep.mu.Unlock()
	if f.Impl.(vfs.Waitable).Readiness(events&readinessBits) != 0 {
		ep.markReady(it)
	}
	return nil
}

// Delete implements EPOLL_CTL_DEL.
func (ep *EventPoll) Delete(f *vfs.File, fd int32) error {
	ep.mu.Lock()
	it, ok := ep.items[itemKey{f, fd}]
	if !ok {
		ep.mu.Unlock()
		return unix.ENOENT
	}
	delete(ep.items, it.key)
	it.events = 0
	ep.mu.Unlock()
	f.RemoveOnRelease(it)
	f.Impl.(vfs.Waitable).EventUnregister(it.entry)
	return nil
}

// forget drops the item of a file being released: its last descriptor
// is closed, and Linux's epoll forgets it then (a closed descriptor never
// reports events, even if its number is reused).
func (ep *EventPoll) forget(it *item) {
	ep.mu.Lock()
	if ep.items[it.key] == it {
		delete(ep.items, it.key)
	}
	it.events = 0
	ep.mu.Unlock()
	it.key.file.Impl.(vfs.Waitable).EventUnregister(it.entry)
}

// Collect takes up to max ready events. Linux: fs/eventpoll.c,
// ep_send_events(). The files' readiness is asked without ep.mu held:
// some files take the kernel's lock to answer (signalfd), and the kernel
// notifies their queues, which lead here, with that lock held.
func (ep *EventPoll) Collect(max int) []Event {
	ep.mu.Lock()
	candidates := ep.ready
	ep.ready = nil
	masks := make([]uint32, len(candidates))
	for i, it := range candidates {
		// Not ready until proven: a wake-up from now on queues the
		// item again, so none is lost while the lock is dropped.
		it.ready = false
		masks[i] = it.events & readinessBits
	}
	ep.mu.Unlock()

	results := make([]uint32, len(candidates))
	for i, it := range candidates {
		if i < max && masks[i] != 0 {
			results[i] = it.key.file.Impl.(vfs.Waitable).Readiness(masks[i])
		}
	}

	ep.mu.Lock()
	defer ep.mu.Unlock()
	var out []Event
	var keep []*item
	requeue := func(it *item) {
		if !it.ready {
			it.ready = true
			keep = append(keep, it)
		}
	}
	for i, it := range candidates {
		if i >= max || len(out) >= max {
			requeue(it)
			continue
		}
		r := results[i]
		if r == 0 || it.events&readinessBits == 0 {
			continue // not ready, or removed or disarmed meanwhile
		}
		out = append(out, Event{Events: r, Data: it.data})
		switch {
		case it.events&EPOLLONESHOT != 0:
			it.events &= EPOLLET | EPOLLONESHOT
		case it.events&EPOLLET != 0:
		default:
			requeue(it)
		}
	}
	ep.ready = append(keep, ep.ready...)
	return out
}

// ReadAt, WriteAt, Stat, Seekable and Release implement vfs.FileImpl.
func (ep *EventPoll) ReadAt([]byte, int64) (int, error)  { return 0, unix.EINVAL }
func (ep *EventPoll) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }
func (ep *EventPoll) Seekable() bool                     { return false }
func (ep *EventPoll) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: 0o600, Nlink: 1, Blksize: 4096}
	return nil
}

// Release unregisters every item from its file.
func (ep *EventPoll) Release() {
	ep.mu.Lock()
	items := ep.items
	ep.items = map[itemKey]*item{}
	ep.ready = nil
	ep.mu.Unlock()
	for _, it := range items {
		it.key.file.RemoveOnRelease(it)
		it.key.file.Impl.(vfs.Waitable).EventUnregister(it.entry)
	}
}

// Readiness implements vfs.Waitable: an epoll file is readable when it
// has ready events (epoll inside epoll).
func (ep *EventPoll) Readiness(mask uint32) uint32 {
	ep.mu.Lock()
	ready := append([]*item(nil), ep.ready...)
	ep.mu.Unlock()
	for _, it := range ready {
		if it.key.file.Impl.(vfs.Waitable).Readiness(it.events&readinessBits) != 0 {
			return waiter.EventIn & mask
		}
	}
	return 0
}

func (ep *EventPoll) EventRegister(e *waiter.Entry)   { ep.queue.Register(e) }
func (ep *EventPoll) EventUnregister(e *waiter.Entry) { ep.queue.Unregister(e) }
