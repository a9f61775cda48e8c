package pipe

import (
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// FIFOs are the named pipes of a sandbox: one pipe per FIFO file, shared
// by every open of it while any is open. Linux: fs/pipe.c, fifo_open().
type FIFOs struct {
	mu    sync.Mutex
	pipes map[vfs.FileID]*fifo
}

// fifo is a named pipe's pipe and the bookkeeping of opens waiting for
// the other side.
type fifo struct {
	p *pipe
	// opened is closed (and replaced) whenever an end is opened, to wake
	// opens waiting for the other side. Guarded by FIFOs.mu.
	opened chan struct{}
	// readerOpens and writerOpens count opens ever made, so that a
	// waiter sees an end that came and went while it slept (Linux's
	// r_counter and w_counter).
	readerOpens, writerOpens uint64
}

// NewFIFOs returns an empty FIFO table.
func NewFIFOs() *FIFOs { return &FIFOs{pipes: map[vfs.FileID]*fifo{}} }

// Open implements vfs.FIFOOpener: O_RDONLY waits for a writer and
// O_WRONLY for a reader, unless O_NONBLOCK (where a writer without a
// reader fails with ENXIO); O_RDWR never waits.
func (fs *FIFOs) Open(ctx *vfs.Context, id vfs.FileID, flags int) (vfs.FileImpl, error) {
	fs.mu.Lock()
	f, ok := fs.pipes[id]
	if !ok {
		f = &fifo{p: &pipe{size: DefaultSize, ino: nextIno.Add(1)}, opened: make(chan struct{})}
		f.p.release = func() { fs.dropIfUnused(id, f) }
		fs.pipes[id] = f
	}
	nonblock := flags&unix.O_NONBLOCK != 0
	switch flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		f.addEnd(true, false)
		fs.wake(f)
		if !nonblock {
			if err := fs.waitFor(ctx, f, false); err != nil {
				fs.mu.Unlock()
				f.p.dropEnd(true, false)
				return nil, err
			}
		}
		fs.mu.Unlock()
		return &readEnd{f.p}, nil
	case unix.O_WRONLY:
		if nonblock && f.p.endCount(true) == 0 {
			fs.mu.Unlock()
			fs.dropIfUnused(id, f)
			return nil, unix.ENXIO
		}
		f.addEnd(false, true)
		fs.wake(f)
		if !nonblock {
			if err := fs.waitFor(ctx, f, true); err != nil {
				fs.mu.Unlock()
				f.p.dropEnd(false, true)
				return nil, err
			}
		}
		fs.mu.Unlock()
		return &writeEnd{f.p}, nil
	case unix.O_RDWR:
		f.addEnd(true, true)
		fs.wake(f)
		fs.mu.Unlock()
		return &bothEnds{f.p}, nil
	}
	fs.mu.Unlock()
	return nil, unix.EINVAL
}

func (f *fifo) addEnd(reader, writer bool) {
	f.p.mu.Lock()
	if reader {
		f.p.readers++
		f.readerOpens++
	}
	if writer {
		f.p.writers++
		f.writerOpens++
		f.p.hadWriter = true
	}
	f.p.mu.Unlock()
}

// wake tells waiting opens that an end came. fs.mu held.
func (fs *FIFOs) wake(f *fifo) {
	close(f.opened)
	f.opened = make(chan struct{})
	f.p.queue.Notify(waiter.EventIn | waiter.EventOut)
}

// waitFor waits, fs.mu held (and dropped while sleeping), until the
// other side is open: a writer for a reader (forReader) or a reader for
// a writer. An end that opened and closed again while the caller slept
// counts, as on Linux.
func (fs *FIFOs) waitFor(ctx *vfs.Context, f *fifo, forReader bool) error {
	f.p.mu.Lock()
	start := f.writerOpens
	if forReader {
		start = f.readerOpens
	}
	present := f.p.writers > 0
	if forReader {
		present = f.p.readers > 0
	}
	f.p.mu.Unlock()
	for !present {
		ch := f.opened
		fs.mu.Unlock()
		var err error
		if ctx.Block != nil {
			err = ctx.Block(ch)
		} else {
			<-ch
		}
		fs.mu.Lock()
		if err != nil {
			return err
		}
		f.p.mu.Lock()
		if forReader {
			present = f.readerOpens != start
		} else {
			present = f.writerOpens != start
		}
		f.p.mu.Unlock()
	}
	return nil
}

// dropIfUnused forgets a FIFO's pipe when no end is open: its data goes
// with it, as on Linux.
func (fs *FIFOs) dropIfUnused(id vfs.FileID, f *fifo) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f.p.mu.Lock()
	unused := f.p.readers == 0 && f.p.writers == 0
	f.p.mu.Unlock()
	if unused && fs.pipes[id] == f {
		delete(fs.pipes, id)
	}
}

// bothEnds is a FIFO opened O_RDWR: one description that reads and
// writes.
type bothEnds struct{ p *pipe }

func (b *bothEnds) ReadAt(dst []byte, _ int64) (int, error)  { return b.p.read(dst) }
func (b *bothEnds) WriteAt(src []byte, _ int64) (int, error) { return b.p.write(src) }
func (b *bothEnds) Stat(st *unix.Stat_t) error               { return b.p.stat(st) }
func (b *bothEnds) Seekable() bool                           { return false }
func (b *bothEnds) Readiness(mask uint32) uint32 {
	return b.p.readiness(mask, true) | b.p.readiness(mask, false)
}
func (b *bothEnds) EventRegister(e *waiter.Entry)   { b.p.queue.Register(e) }
func (b *bothEnds) EventUnregister(e *waiter.Entry) { b.p.queue.Unregister(e) }
func (b *bothEnds) Release()                        { b.p.dropEnd(true, true) }

// endCount returns the open readers (or writers).
func (p *pipe) endCount(readers bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if readers {
		return p.readers
	}
	return p.writers
}

// dropEnd closes a reader and/or a writer.
func (p *pipe) dropEnd(reader, writer bool) {
	p.mu.Lock()
	if reader {
		p.readers--
	}
	if writer {
		p.writers--
	}
	p.mu.Unlock()
	p.queue.Notify(waiter.EventHUp | waiter.EventIn | waiter.EventErr | waiter.EventOut)
	if p.release != nil {
		p.release()
	}
}

// Reopen implements vfs.ReopenImpl: /proc/[pid]/fd/N of a pipe opens a
// new description of the same pipe, with FIFO semantics minus waiting.
func (r *readEnd) Reopen(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	return r.p.reopen(flags)
}

// Reopen implements vfs.ReopenImpl.
func (w *writeEnd) Reopen(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	return w.p.reopen(flags)
}

func (p *pipe) reopen(flags int) (vfs.FileImpl, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		p.readers++
		return &readEnd{p}, nil
	case unix.O_WRONLY:
		if p.readers == 0 {
			return nil, unix.ENXIO
		}
		p.writers++
		p.hadWriter = true
		return &writeEnd{p}, nil
	case unix.O_RDWR:
		p.readers++
		p.writers++
		p.hadWriter = true
		return &bothEnds{p}, nil
	}
	return nil, unix.EINVAL
}
