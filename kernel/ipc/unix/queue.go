package unix

import (
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// message is one send's data in a receiver's queue (for a stream, one
// piece of it), with what it carries.
type message struct {
	data []byte
	// from is the sender, charged charge until the message is consumed.
	from   *Socket
	charge int64
	// addr is the sender's name when it sent.
	addr Address
	// creds are the sender's credentials, nil when not attached (no
	// side asked for them).
	creds *Creds
	// files are the descriptors in flight (SCM_RIGHTS), one reference
	// each.
	files []*vfs.File
}

// chargeOf is what sending n bytes in one message costs the sender.
func chargeOf(n int) int64 { return msgOverhead + int64(max((n+63)&^63, 64)) }

// finish returns the message's charge to its sender, waking it. Called
// without locks, once the message left its queue.
func (m *message) finish() {
	if m.from != nil && m.charge != 0 {
		m.from.wmem.Add(-m.charge)
		m.charge = 0
		m.from.queue.Notify(outEvents)
	}
}

// dropMessages discards messages taken off a queue: charges go back and
// descriptors in flight are closed. Called without locks (closing a file
// may release another socket).
func dropMessages(msgs []*message) {
	for _, m := range msgs {
		m.finish()
		for _, f := range m.files {
			f.DecRef()
		}
		m.files = nil
	}
}

// sameCreds reports whether two messages' credentials are the same,
// absent ones included: a stream read never glues data from different
// writers when the reader asked for credentials.
func sameCreds(a, b *Creds) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// msgQueue is a receive queue: a FIFO of messages and their byte count.
type msgQueue struct {
	msgs  []*message
	head  int
	bytes int
}

func (q *msgQueue) len() int { return len(q.msgs) - q.head }

func (q *msgQueue) at(i int) *message { return q.msgs[q.head+i] }

func (q *msgQueue) front() *message {
	if q.len() == 0 {
		return nil
	}
	return q.msgs[q.head]
}

func (q *msgQueue) push(m *message) {
	q.msgs = append(q.msgs, m)
	q.bytes += len(m.data)
}

// pop removes the front message (whose unread bytes the caller already
// took off q.bytes if it consumed part of it).
func (q *msgQueue) pop() *message {
	m := q.msgs[q.head]
	q.msgs[q.head] = nil
	q.head++
	q.bytes -= len(m.data)
	if q.head == len(q.msgs) {
		q.msgs, q.head = q.msgs[:0], 0
	} else if q.head >= 64 && q.head*2 >= len(q.msgs) {
		n := copy(q.msgs, q.msgs[q.head:])
		clear(q.msgs[n:])
		q.msgs, q.head = q.msgs[:n], 0
	}
	return m
}

// drain empties the queue and returns its messages.
func (q *msgQueue) drain() []*message {
	msgs := q.msgs[q.head:]
	*q = msgQueue{}
	return msgs
}

// Blocker waits until ch is ready: it returns nil then, or an error when
// the caller gives up (a signal, a deadline), which the operation
// returns as it is. A nil Blocker does not wait: operations fail with
// EAGAIN instead.
type Blocker func(ch <-chan struct{}) error

// waitReg is one blocking operation's registration on a waiter queue.
type waitReg struct {
	q  *waiter.Queue
	e  *waiter.Entry
	ch <-chan struct{}
}

// wait waits for an event on q: the first call for a queue registers
// and returns at once, so that the caller checks again with no wake-up
// lost; later calls block.
func (w *waitReg) wait(block Blocker, q *waiter.Queue) error {
	if w.q != q {
		w.done()
		w.e, w.ch = waiter.NewChannelEntry(allEvents)
		q.Register(w.e)
		w.q = q
		return nil
	}
	return block(w.ch)
}

// done unregisters.
func (w *waitReg) done() {
	if w.q != nil {
		w.q.Unregister(w.e)
		w.q = nil
	}
}
