// Package pipe implements pipes: a bounded byte buffer with a read end and
// a write end, with Linux's semantics for end-of-file, EPIPE, PIPE_BUF
// atomicity and readiness. Reads and writes never block here; they return
// EAGAIN and the system-call layer waits on the pipe's queue.
//
// Locking: pipe.mu guards the buffer and the end counts; the waiter queue
// is notified after it is released.
package pipe

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Sizes. Linux: include/linux/pipe_fs_i.h and fs/pipe.c.
const (
	// PipeBuf is PIPE_BUF: writes of at most this many bytes are atomic.
	PipeBuf = 4096
	// DefaultSize is the capacity of a new pipe (16 pages).
	DefaultSize = 65536
	// MaxSize is /proc/sys/fs/pipe-max-size's default.
	MaxSize = 1 << 20
)

var nextIno atomic.Uint64

type pipe struct {
	queue waiter.Queue
	ino   uint64

	mu      sync.Mutex
	buf     []byte
	size    int
	readers int
	writers int
	// hadWriter is set once a writer has been open: a FIFO read end
	// opened before any writer reports no hang-up. Linux: fs/pipe.c,
	// pipe_poll() and w_counter.
	hadWriter bool
	// release, for a FIFO, runs when an end closes.
	release func()
}

// New returns the read and write ends of a new pipe, with extra status
// flags (O_NONBLOCK, O_DIRECT) on both.
func New(flags int) (r, w *vfs.File) {
	p := &pipe{size: DefaultSize, readers: 1, writers: 1, hadWriter: true, ino: nextIno.Add(1)}
	flags &= unix.O_NONBLOCK | unix.O_DIRECT
	return vfs.NewFile(&readEnd{p}, unix.O_RDONLY|flags), vfs.NewFile(&writeEnd{p}, unix.O_WRONLY|flags)
}

func (p *pipe) read(dst []byte) (int, error) {
	p.mu.Lock()
	if len(p.buf) == 0 {
		writers := p.writers
		p.mu.Unlock()
		if writers == 0 {
			return 0, nil // end of file
		}
		return 0, unix.EAGAIN
	}
	n := copy(dst, p.buf)
	p.buf = p.buf[n:]
	if len(p.buf) == 0 {
		p.buf = nil
	}
	p.mu.Unlock()
	p.queue.Notify(waiter.EventOut)
	return n, nil
}

func (p *pipe) write(src []byte) (int, error) {
	if len(src) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	if p.readers == 0 {
		p.mu.Unlock()
		return 0, unix.EPIPE
	}
	room := p.size - len(p.buf)
	if room <= 0 || (len(src) <= PipeBuf && room < len(src)) {
		p.mu.Unlock()
		return 0, unix.EAGAIN
	}
	n := min(room, len(src))
	p.buf = append(p.buf, src[:n]...)
	p.mu.Unlock()
	p.queue.Notify(waiter.EventIn | waiter.EventRdNorm)
	return n, nil
}

func (p *pipe) readiness(mask uint32, readSide bool) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var r uint32
	if readSide {
		if len(p.buf) > 0 {
			r |= waiter.EventIn | waiter.EventRdNorm
		}
		if p.writers == 0 && p.hadWriter {
			r |= waiter.EventHUp
		}
	} else {
		if p.size-len(p.buf) >= PipeBuf {
			r |= waiter.EventOut
		}
		if p.readers == 0 {
			r |= waiter.EventErr
		}
	}
	return r & (mask | waiter.EventErr | waiter.EventHUp)
}

func (p *pipe) stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: unix.S_IFIFO | 0o600, Nlink: 1, Ino: p.ino, Blksize: PipeBuf, Dev: pipeDev}
	return nil
}

// pipeDev is the device number of pipefs as stat shows it.
const pipeDev = 0xe

// Available returns the number of bytes buffered (FIONREAD).
func (p *pipe) available() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buf)
}

// setSize implements F_SETPIPE_SZ. Linux: fs/pipe.c, pipe_set_size().
func (p *pipe) setSize(n int) (int, error) {
	if n <= 0 || n > MaxSize {
		if n > MaxSize {
			return 0, unix.EPERM
		}
		return 0, unix.EINVAL
	}
	size := PipeBuf
	for size < n {
		size <<= 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > size {
		return 0, unix.EBUSY
	}
	p.size = size
	return size, nil
}

type readEnd struct{ p *pipe }

func (r *readEnd) ReadAt(dst []byte, _ int64) (int, error) { return r.p.read(dst) }
func (r *readEnd) WriteAt([]byte, int64) (int, error)      { return 0, unix.EBADF }
func (r *readEnd) Stat(st *unix.Stat_t) error              { return r.p.stat(st) }
func (r *readEnd) Seekable() bool                          { return false }
func (r *readEnd) Readiness(mask uint32) uint32            { return r.p.readiness(mask, true) }
func (r *readEnd) EventRegister(e *waiter.Entry)           { r.p.queue.Register(e) }
func (r *readEnd) EventUnregister(e *waiter.Entry)         { r.p.queue.Unregister(e) }
func (r *readEnd) Release()                                { r.p.dropEnd(true, false) }

type writeEnd struct{ p *pipe }

func (w *writeEnd) ReadAt([]byte, int64) (int, error)        { return 0, unix.EBADF }
func (w *writeEnd) WriteAt(src []byte, _ int64) (int, error) { return w.p.write(src) }
func (w *writeEnd) Stat(st *unix.Stat_t) error               { return w.p.stat(st) }
func (w *writeEnd) Seekable() bool                           { return false }
func (w *writeEnd) Readiness(mask uint32) uint32             { return w.p.readiness(mask, false) }
func (w *writeEnd) EventRegister(e *waiter.Entry)            { w.p.queue.Register(e) }
func (w *writeEnd) EventUnregister(e *waiter.Entry)          { w.p.queue.Unregister(e) }
func (w *writeEnd) Release()                                 { w.p.dropEnd(false, true) }

// Of returns the pipe behind a file, for fcntl and ioctl.
func Of(f *vfs.File) (Pipe, bool) {
	switch e := f.Impl.(type) {
	case *readEnd:
		return Pipe{e.p}, true
	case *writeEnd:
		return Pipe{e.p}, true
	case *bothEnds:
		return Pipe{e.p}, true
	}
	return Pipe{}, false
}

// Pipe is the handle fcntl and ioctl use.
type Pipe struct{ p *pipe }

// Size is F_GETPIPE_SZ.
func (h Pipe) Size() int {
	h.p.mu.Lock()
	defer h.p.mu.Unlock()
	return h.p.size
}

// SetSize is F_SETPIPE_SZ.
func (h Pipe) SetSize(n int) (int, error) { return h.p.setSize(n) }

// Available is FIONREAD.
func (h Pipe) Available() int { return h.p.available() }

// Peek copies buffered bytes into dst without consuming them (tee), and
// returns the number of writers, so a caller finding nothing can tell
// end-of-file from "wait".
func (h Pipe) Peek(dst []byte) (n, writers int) {
	h.p.mu.Lock()
	defer h.p.mu.Unlock()
	return copy(dst, h.p.buf), h.p.writers
}
