package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/ipc/pipe"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// splice(2) flags. Linux: include/linux/splice.h.
const (
	spliceMove     = 1
	spliceNonblock = 2
	spliceMore     = 4
	spliceGift     = 8
	spliceAll      = spliceMove | spliceNonblock | spliceMore | spliceGift
)

// Splice implements splice(2): data moves between a pipe and another
// descriptor through a kernel buffer (Linux moves page references; the
// result is the same). Linux: fs/splice.c, do_splice().
func Splice(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	inFD, inOffAddr, outFD, outOffAddr, length, flags := a.Int(0), a.Pointer(1), a.Int(2), a.Pointer(3), a.Size(4), a.Uint(5)
	if flags&^spliceAll != 0 {
		return 0, unix.EINVAL
	}
	in, out, err := transferFiles(t, inFD, outFD)
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	defer out.DecRef()
	_, inPipe := pipe.Of(in)
	_, outPipe := pipe.Of(out)
	if !inPipe && !outPipe {
		return 0, unix.EINVAL
	}
	if inPipe && inOffAddr != 0 || outPipe && outOffAddr != 0 {
		return 0, unix.ESPIPE
	}
	if out.Flags()&unix.O_APPEND != 0 && !outPipe {
		return 0, unix.EINVAL
	}
	if length == 0 {
		return 0, nil
	}
	inOff, err := copyInOffset(t, inOffAddr)
	if err != nil {
		return 0, err
	}
	outOff, err := copyInOffset(t, outOffAddr)
	if err != nil {
		return 0, err
	}

	// One pipe's worth at most, as one splice moves at most a pipe's
	// buffers.
	n, err := transfer(t, in, inOff, out, outOff, int64(min(length, abi.MaxRWCount, pipe.MaxSize)), flags&spliceNonblock != 0)
	if n > 0 {
		if err := copyOutOffsets(t, inOffAddr, inOff, outOffAddr, outOff); err != nil {
			return 0, err
		}
	}
	return uintptr(n), err
}

// Tee implements tee(2): copies data from one pipe to another without
// consuming it. Linux: fs/splice.c, do_tee().
func Tee(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	length, flags := a.Size(2), a.Uint(3)
	if flags&^spliceAll != 0 {
		return 0, unix.EINVAL
	}
	in, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	out, err := getFile(t, a.Int(1))
	if err != nil {
		return 0, err
	}
	defer out.DecRef()
	if !in.Readable() || !out.Writable() {
		return 0, unix.EBADF
	}
	src, ok1 := pipe.Of(in)
	dst, ok2 := pipe.Of(out)
	if !ok1 || !ok2 || src == dst {
		return 0, unix.EINVAL
	}
	if length == 0 {
		return 0, nil
	}
	buf := make([]byte, min(length, pipe.MaxSize))
	nonblock := flags&spliceNonblock != 0
	var e *waiter.Entry
	var ch <-chan struct{}
	for {
		n, writers := src.Peek(buf)
		if n > 0 {
			buf = buf[:n]
			break
		}
		if writers == 0 {
			return 0, nil
		}
		if nonblock || in.NonBlocking() {
			return 0, unix.EAGAIN
		}
		if e == nil {
			w := in.Impl.(vfs.Waitable)
			e, ch = waiter.NewChannelEntry(waiter.EventIn | waiter.EventHUp)
			w.EventRegister(e)
			defer w.EventUnregister(e)
			continue
		}
		if err := t.Block(ch, time.Time{}); err != nil {
			return 0, kernel.ERESTARTSYS
		}
	}
	m, err := waitIO(t, out, waiter.EventOut, nonblock, func() (int, error) {
		return out.Write(func(write func([]byte) (int, error)) (int, error) { return write(buf) })
	})
	if err == unix.EPIPE {
		t.SignalSelf(unix.SIGPIPE)
	}
	return partial(m, err)
}

// SyncFileRange implements sync_file_range(2): files are written
// through, so only the arguments are checked. Linux: fs/sync.c.
func SyncFileRange(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	off, n, flags := a.Int64(1), a.Int64(2), a.Uint(3)
	const valid = 1 | 2 | 4 // SYNC_FILE_RANGE_WAIT_BEFORE | _WRITE | _WAIT_AFTER
	if flags&^valid != 0 || off < 0 || n < 0 || off+n < 0 {
		return 0, unix.EINVAL
	}
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if vfs.IsPathOnly(f) {
		return 0, unix.EBADF
	}
	if f.Path().IsZero() {
		return 0, unix.ESPIPE
	}
	switch f.Path().Dentry.Type() {
	case unix.S_IFREG, unix.S_IFDIR, unix.S_IFBLK, unix.S_IFLNK:
		return 0, nil
	}
	return 0, unix.ESPIPE
}

// Vmsplice implements vmsplice(2): the caller's memory into a pipe open
// for writing, or a pipe open for reading into the caller's memory. It
// copies, as writev and readv would (Linux maps the pages into the pipe
// with SPLICE_F_GIFT; the data is the same); SPLICE_F_NONBLOCK makes one
// attempt whatever the pipe's own mode. Linux: fs/splice.c, vmsplice.
func Vmsplice(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	flags := a.Uint(3)
	if flags&^spliceAll != 0 {
		return 0, unix.EINVAL
	}
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if _, ok := pipe.Of(f); !ok {
		return 0, unix.EBADF
	}
	iovs, err := copyInIovecs(t, a.Pointer(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	// A FIFO open for reading and writing is written to, as Linux's
	// vmsplice_type() decides.
	var toPipe bool
	switch f.Flags() & unix.O_ACCMODE {
	case unix.O_WRONLY, unix.O_RDWR:
		toPipe = true
	case unix.O_RDONLY:
	default:
		return 0, unix.EBADF
	}
	if flags&spliceNonblock != 0 {
		var n int
		if toPipe {
			n, err = f.Write(func(write func([]byte) (int, error)) (int, error) {
				return vectorIO(t, iovs, false, write)
			})
		} else {
			n, err = f.Read(func(read func([]byte) (int, error)) (int, error) {
				return vectorIO(t, iovs, true, read)
			})
		}
		return partial(n, err)
	}
	if toPipe {
		return writeFile(t, f, iovs)
	}
	return readFile(t, f, iovs)
}
