// Package waiter lets blocking system calls and readiness multiplexers
// (poll, epoll) wait for events on files: a file keeps a Queue, waiters
// register an Entry with the events they care about, and the file calls
// Notify when its state changes.
//
// Locking: Queue.mu guards the entry list. Callbacks run with it held, so
// they must not call back into the queue; channel entries only do a
// non-blocking send.
package waiter

import "sync"

// Event masks, with the values of poll(2)'s and epoll(7)'s bits.
const (
	EventIn     = 0x001
	EventPri    = 0x002
	EventOut    = 0x004
	EventErr    = 0x008
	EventHUp    = 0x010
	EventRdNorm = 0x040
	EventRdHUp  = 0x2000
)

// Entry is one waiter on a queue.
type Entry struct {
	mask     uint32
	callback func(mask uint32)
	next     *Entry
	prev     *Entry
}

// NewEntry returns an entry calling fn with the events that happened when
// any of mask happens.
func NewEntry(mask uint32, fn func(mask uint32)) *Entry {
	return &Entry{mask: mask, callback: fn}
}

// NewChannelEntry returns an entry that makes the returned channel ready
// when any of mask happens.
func NewChannelEntry(mask uint32) (*Entry, <-chan struct{}) {
	ch := make(chan struct{}, 1)
	return NewEntry(mask, func(uint32) {
		select {
		case ch <- struct{}{}:
		default:
		}
	}), ch
}

// Queue is a list of waiters.
type Queue struct {
	mu   sync.Mutex
	head *Entry
}

// Register adds e.
func (q *Queue) Register(e *Entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e.prev, e.next = nil, q.head
	if q.head != nil {
		q.head.prev = e
	}
	q.head = e
}

// Unregister removes e (a no-op if it is not registered).
func (q *Queue) Unregister(e *Entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e.prev != nil {
		e.prev.next = e.next
	} else if q.head == e {
		q.head = e.next
	} else {
		return
	}
	if e.next != nil {
		e.next.prev = e.prev
	}
	e.prev, e.next = nil, nil
}

// Notify tells the waiters interested in any of mask.
func (q *Queue) Notify(mask uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for e := q.head; e != nil; e = e.next {
		if e.mask&mask != 0 {
			e.callback(mask & e.mask)
		}
	}
}

// Empty reports whether nobody waits.
func (q *Queue) Empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.head == nil
}
