// Package timerfd implements timerfd_create(2) descriptors: a timer whose
// expirations are counted and read as a 64-bit number. Reads that would
// block return EAGAIN; the system-call layer waits on the queue.
//
// Locking: timerFD.mu guards the timer's state. The Go timer's callback
// takes it; the queue is notified after it is released.
package timerfd

import (
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Clock reads the clock a timer measures.
type Clock func() time.Time

type timerFD struct {
	queue   waiter.Queue
	clock   Clock
	clockID int32

	mu       sync.Mutex
	timer    *time.Timer
	gen      uint64        // bumped by every settime, so stale callbacks give up
	next     time.Time     // next expiry on clock; zero: disarmed
	interval time.Duration // 0: one-shot
	expired  uint64        // expirations not yet read
}

// New returns a timer descriptor for the clock clockID, which clock
// reads for relative times; flags may hold O_NONBLOCK.
func New(clock Clock, clockID int32, flags int) *vfs.File {
	return vfs.NewFile(&timerFD{clock: clock, clockID: clockID}, unix.O_RDWR|flags&unix.O_NONBLOCK)
}

// ClockID is the clock the timer was created for.
func (t *Timer) ClockID() int32 { return (*timerFD)(t).clockID }

// Of returns the timer behind a file, for timerfd_settime and gettime.
func Of(f *vfs.File) (*Timer, bool) {
	t, ok := f.Impl.(*timerFD)
	return (*Timer)(t), ok
}

// Timer is the handle the system calls use.
type Timer timerFD

// Get returns the time to the next expiry (0: disarmed) and the interval.
// Linux: fs/timerfd.c, timerfd_gettime().
func (t *Timer) Get() (value, interval time.Duration) {
	tf := (*timerFD)(t)
	tf.mu.Lock()
	defer tf.mu.Unlock()
	return tf.remainingLocked(), tf.interval
}

func (tf *timerFD) remainingLocked() time.Duration {
	if tf.next.IsZero() {
		return 0
	}
	d := tf.next.Sub(tf.clock())
	if d <= 0 {
		d = 1 // expired but not yet counted: Linux reports 1 ns
	}
	return d
}

// Set arms the timer to expire at value from now (or at the absolute time
// value on its clock) and then every interval; a zero value disarms it.
// It returns the previous setting.
func (t *Timer) Set(value time.Duration, absolute bool, at time.Time, interval time.Duration) (oldValue, oldInterval time.Duration) {
	tf := (*timerFD)(t)
	tf.mu.Lock()
	defer tf.mu.Unlock()
	oldValue, oldInterval = tf.remainingLocked(), tf.interval
	tf.gen++
	if tf.timer != nil {
		tf.timer.Stop()
		tf.timer = nil
	}
	tf.expired = 0
	tf.interval = interval
	tf.next = time.Time{}
	if value == 0 && !absolute {
		return
	}
	now := tf.clock()
	next := now.Add(value)
	if absolute {
		next = at
	}
	tf.next = next
	tf.armLocked(now)
	return
}

func (tf *timerFD) armLocked(now time.Time) {
	gen := tf.gen
	tf.timer = time.AfterFunc(max(tf.next.Sub(now), 0), func() { tf.fire(gen) })
}

// fire counts the expirations due and re-arms a periodic timer.
func (tf *timerFD) fire(gen uint64) {
	tf.mu.Lock()
	if gen != tf.gen || tf.next.IsZero() {
		tf.mu.Unlock()
		return
	}
	now := tf.clock()
	if now.Before(tf.next) {
		tf.armLocked(now) // woke early
		tf.mu.Unlock()
		return
	}
	if tf.interval > 0 {
		n := uint64(now.Sub(tf.next)/tf.interval) + 1
		tf.expired += n
		tf.next = tf.next.Add(time.Duration(n) * tf.interval)
		tf.armLocked(now)
	} else {
		tf.expired++
		tf.next = time.Time{}
		tf.timer = nil
	}
	tf.mu.Unlock()
	tf.queue.Notify(waiter.EventIn | waiter.EventRdNorm)
}

// ReadAt implements vfs.FileImpl: the expirations since the last read.
func (tf *timerFD) ReadAt(dst []byte, _ int64) (int, error) {
	if len(dst) < 8 {
		return 0, unix.EINVAL
	}
	tf.mu.Lock()
	n := tf.expired
	tf.expired = 0
	tf.mu.Unlock()
	if n == 0 {
		return 0, unix.EAGAIN
	}
	binary.LittleEndian.PutUint64(dst, n)
	return 8, nil
}

func (tf *timerFD) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }
func (tf *timerFD) Seekable() bool                     { return false }
func (tf *timerFD) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: 0o600, Nlink: 1, Blksize: 4096}
	return nil
}

// Release stops the timer.
func (tf *timerFD) Release() {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	tf.gen++
	if tf.timer != nil {
		tf.timer.Stop()
	}
}

// Readiness implements vfs.Waitable.
func (tf *timerFD) Readiness(mask uint32) uint32 {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	if tf.expired > 0 {
		return mask & (waiter.EventIn | waiter.EventRdNorm)
	}
	return 0
}

func (tf *timerFD) EventRegister(e *waiter.Entry)   { tf.queue.Register(e) }
func (tf *timerFD) EventUnregister(e *waiter.Entry) { tf.queue.Unregister(e) }
