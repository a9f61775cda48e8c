package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/kernel"
	"magawa/kernel/tty"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Read implements read(2).
func Read(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	count := clampCount(a.Size(2))
	if count == 0 {
		if !f.Readable() {
			return 0, unix.EBADF
		}
		return 0, nil
	}
	return readFile(t, f, []abi.Iovec{{Base: uint64(a.Pointer(1)), Len: uint64(count)}})
}

// Write implements write(2).
func Write(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	count := clampCount(a.Size(2))
	// A socket sends even nothing: an empty datagram.
	if n, ok, err := socketWritev(t, f, []abi.Iovec{{Base: uint64(a.Pointer(1)), Len: uint64(count)}}); ok {
		return n, err
	}
	if count == 0 {
		if !f.Writable() {
			return 0, unix.EBADF
		}
		return 0, nil
	}
	return writeFile(t, f, []abi.Iovec{{Base: uint64(a.Pointer(1)), Len: uint64(count)}})
}

// readFile reads into the application's buffers at the file offset. A
// waitable file (pipe, socket) in blocking mode is waited on until data
// or end-of-file arrives; a signal interrupts the wait (ERESTARTSYS).
// A terminal's slave first applies job control (tty.JobControlled).
func readFile(t *kernel.Task, f *vfs.File, iovs []abi.Iovec) (uintptr, error) {
	if n, ok, err := socketReadv(t, f, iovs); ok {
		return n, err
	}
	if jc, ok := f.Impl.(tty.JobControlled); ok {
		if err := jc.BeginRead(t, f.NonBlocking()); err != nil {
			return 0, err
		}
	}
	op := func() (int, error) {
		if _, ok := f.Impl.(vfs.HostBlocking); ok {
			return bounceRead(t, f, iovs)
		}
		return f.Read(func(read func([]byte) (int, error)) (int, error) {
			return vectorIO(t, iovs, true, read)
		})
	}
	return partial(readWaiting(f, op, func(ch <-chan struct{}) error { return t.Block(ch, time.Time{}) }))
}

// readWaiting runs op, a read of f, and, while a waitable file in
// blocking mode has nothing to give (EAGAIN), waits with block for it to
// become readable and runs op again. Bytes read are the result even when
// the read then ran dry (a readv whose first buffer a pipe filled
// exactly): they were consumed, so waiting for more would lose them.
func readWaiting(f *vfs.File, op func() (int, error), block func(<-chan struct{}) error) (int, error) {
	n, err := op()
	w, waitable := f.Impl.(vfs.Waitable)
	if n > 0 || err != unix.EAGAIN || !waitable || f.NonBlocking() {
		return n, err
	}
	e, ch := waiter.NewChannelEntry(waiter.EventIn | waiter.EventHUp | waiter.EventErr | waiter.EventRdHUp)
	w.EventRegister(e)
	defer w.EventUnregister(e)
	for {
		if n, err = op(); n > 0 || err != unix.EAGAIN {
			return n, err
		}
		if err := block(ch); err != nil {
			return 0, kernel.ERESTARTSYS
		}
	}
}

// bounceRead reads a host descriptor that may block for long (a terminal,
// a pipe from outside the sandbox) into a kernel buffer first: the
// application's memory must not stay locked while the read waits.
func bounceRead(t *kernel.Task, f *vfs.File, iovs []abi.Iovec) (int, error) {
	var want uint64
	for _, iov := range iovs {
		want += iov.Len
	}
	buf := make([]byte, min(want, 1<<20))
	n, err := f.Read(func(read func([]byte) (int, error)) (int, error) { return read(buf) })
	if n <= 0 {
		return n, err
	}
	done := 0
	for _, iov := range iovs {
		if done == n {
			break
		}
		k := min(int(iov.Len), n-done)
		c, cerr := t.CopyOut(uintptr(iov.Base), buf[done:done+k])
		done += c
		if cerr != nil {
			return done, unix.EFAULT
		}
	}
	return done, err
}

// writeFile writes the application's buffers at the file offset. A
// waitable file in blocking mode takes everything, waiting for room as
// needed; EPIPE also raises SIGPIPE. A terminal's slave first applies
// job control (tty.JobControlled). Linux: fs/pipe.c, pipe_write().
func writeFile(t *kernel.Task, f *vfs.File, iovs []abi.Iovec) (uintptr, error) {
	if n, ok, err := socketWritev(t, f, iovs); ok {
		return n, err
	}
	defer removePrivs(t, f)
	if jc, ok := f.Impl.(tty.JobControlled); ok {
		if err := jc.BeginWrite(t); err != nil {
			return 0, err
		}
	}
	var want uint64
	for _, iov := range iovs {
		want += iov.Len
	}
	w, waitable := f.Impl.(vfs.Waitable)
	var e *waiter.Entry
	var ch <-chan struct{}
	total := 0
	for {
		n, err := f.Write(func(write func([]byte) (int, error)) (int, error) {
			return vectorIO(t, skipIovecs(iovs, total), false, write)
		})
		total += n
		if err == unix.EPIPE {
			t.SignalSelf(unix.SIGPIPE)
			return partial(total, err)
		}
		if uint64(total) >= want || (err != nil && err != unix.EAGAIN) || !waitable {
			return partial(total, err)
		}
		if err == nil {
			continue // a partial write made progress: go on
		}
		if f.NonBlocking() {
			return partial(total, err)
		}
		if e == nil {
			e, ch = waiter.NewChannelEntry(waiter.EventOut | waiter.EventErr)
			w.EventRegister(e)
			defer w.EventUnregister(e)
			continue // re-check after registering, so no wake is lost
		}
		if err := t.Block(ch, time.Time{}); err != nil {
			if total > 0 {
				return uintptr(total), nil
			}
			return 0, kernel.ERESTARTSYS
		}
	}
}

// skipIovecs returns iovs without their first n bytes.
func skipIovecs(iovs []abi.Iovec, n int) []abi.Iovec {
	for len(iovs) > 0 && n > 0 {
		if uint64(n) < iovs[0].Len {
			first := iovs[0]
			first.Base += uint64(n)
			first.Len -= uint64(n)
			return append([]abi.Iovec{first}, iovs[1:]...)
		}
		n -= int(iovs[0].Len)
		iovs = iovs[1:]
	}
	return iovs
}

// Pread64 implements pread64(2): preadv with one buffer.
func Pread64(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return positionalIO(t, a, true)
}

// Pwrite64 implements pwrite64(2): pwritev with one buffer.
func Pwrite64(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return positionalIO(t, a, false)
}

// positionalIO is pread64 and pwrite64: fd, buf, count, offset.
func positionalIO(t *kernel.Task, a *kernel.SyscallArguments, read bool) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	iovs := []abi.Iovec{{Base: uint64(a.Pointer(1)), Len: uint64(clampCount(a.Size(2)))}}
	io := func(op func([]byte) (int, error)) (int, error) { return vectorIO(t, iovs, read, op) }
	var n int
	if read {
		n, err = f.Pread(a.Int64(3), io)
	} else {
		n, err = f.Pwrite(a.Int64(3), io)
		removePrivs(t, f)
	}
	return partial(n, err)
}

// removePrivs clears the set-ID bits of a file written by a caller
// without CAP_FSETID (only files opened with such bits pay for it).
func removePrivs(t *kernel.Task, f *vfs.File) {
	if f.HasSetIDBits() {
		t.Kernel().VFS.RemovePrivs(t.FileContext(), f)
	}
}

// Readv implements readv(2).
func Readv(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return withIovecs(t, a, func(f *vfs.File, iovs []abi.Iovec) (uintptr, error) {
		return readFile(t, f, iovs)
	})
}

// Writev implements writev(2).
func Writev(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return withIovecs(t, a, func(f *vfs.File, iovs []abi.Iovec) (uintptr, error) {
		return writeFile(t, f, iovs)
	})
}

// Preadv implements preadv(2).
func Preadv(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return withIovecs(t, a, func(f *vfs.File, iovs []abi.Iovec) (uintptr, error) {
		n, err := f.Pread(a.Int64(3), func(read func([]byte) (int, error)) (int, error) {
			return vectorIO(t, iovs, true, read)
		})
		return partial(n, err)
	})
}

// Pwritev implements pwritev(2).
func Pwritev(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return withIovecs(t, a, func(f *vfs.File, iovs []abi.Iovec) (uintptr, error) {
		n, err := f.Pwrite(a.Int64(3), func(write func([]byte) (int, error)) (int, error) {
			return vectorIO(t, iovs, false, write)
		})
		removePrivs(t, f)
		return partial(n, err)
	})
}

// copyInIovecs reads an iovec array, limiting the total to MAX_RW_COUNT
// as Linux does. Linux: lib/iov_iter.c, import_iovec().
func copyInIovecs(t *kernel.Task, addr uintptr, count int32) ([]abi.Iovec, error) {
	if count < 0 || count > abi.IOVMax {
		return nil, unix.EINVAL
	}
	iovs := make([]abi.Iovec, count)
	var total uint64
	for i := range iovs {
		if err := copyInStruct(t, addr+uintptr(i)*16, &iovs[i]); err != nil {
			return nil, err
		}
		if int64(iovs[i].Len) < 0 {
			return nil, unix.EINVAL
		}
		if total+iovs[i].Len > abi.MaxRWCount {
			iovs[i].Len = abi.MaxRWCount - total
		}
		total += iovs[i].Len
	}
	return iovs, nil
}

// vectorIO runs io over each iovec in turn, stopping at a short transfer.
func vectorIO(t *kernel.Task, iovs []abi.Iovec, toApp bool, io func([]byte) (int, error)) (int, error) {
	return eachIovec(iovs, func(addr uintptr, n int) (int, error) {
		return t.MM().WithBytes(addr, n, toApp, io)
	})
}

// eachIovec is vectorIO's walk, with the transfer of one buffer (at addr,
// n bytes) left to io: it stops at an error or a short transfer and
// returns the bytes moved before it.
func eachIovec(iovs []abi.Iovec, io func(addr uintptr, n int) (int, error)) (int, error) {
	done := 0
	for _, iov := range iovs {
		if iov.Len == 0 {
			continue
		}
		n, err := io(uintptr(iov.Base), int(iov.Len))
		done += n
		if err != nil {
			return done, err
		}
		if n < int(iov.Len) {
			break
		}
	}
	return done, nil
}

func clampCount(n uint64) int {
	if n > abi.MaxRWCount {
		return abi.MaxRWCount
	}
	return int(n)
}

// partial reports a transfer that moved some bytes before failing as a
// success, as Linux does.
func partial(n int, err error) (uintptr, error) {
	if n > 0 {
		return uintptr(n), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// withIovecs runs fn with the file and the iovec array of a vectored call
// (fd, iov, iovcnt in the first three arguments).
func withIovecs(t *kernel.Task, a *kernel.SyscallArguments, fn func(f *vfs.File, iovs []abi.Iovec) (uintptr, error)) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	iovs, err := copyInIovecs(t, a.Pointer(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	return fn(f, iovs)
}

// RWF_* flags of preadv2 and pwritev2. Linux: include/uapi/linux/fs.h.
const (
	rwfHipri  = 0x1
	rwfDsync  = 0x2
	rwfSync   = 0x4
	rwfNowait = 0x8
	rwfAppend = 0x10
)

// Preadv2 implements preadv2(2): an offset of -1 reads at the file
// offset. RWF_HIPRI is a hint; RWF_NOWAIT is refused where Linux refuses
// it for files that may block.
func Preadv2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	flags := a.Uint(5)
	if flags&^(rwfHipri|rwfDsync|rwfSync|rwfNowait|rwfAppend) != 0 {
		return 0, unix.EOPNOTSUPP
	}
	return withIovecs(t, a, func(f *vfs.File, iovs []abi.Iovec) (uintptr, error) {
		if flags&rwfNowait != 0 {
			if _, waitable := f.Impl.(vfs.Waitable); !waitable {
				return 0, unix.EOPNOTSUPP
			}
		}
		off := a.Int64(3)
		if off == -1 {
			return readFile(t, f, iovs)
		}
		n, err := f.Pread(off, func(read func([]byte) (int, error)) (int, error) {
			return vectorIO(t, iovs, true, read)
		})
		return partial(n, err)
	})
}

// Pwritev2 implements pwritev2(2): an offset of -1 writes at the file
// offset; data is written through, so RWF_DSYNC and RWF_SYNC need
// nothing more.
func Pwritev2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	flags := a.Uint(5)
	if flags&^(rwfHipri|rwfDsync|rwfSync|rwfNowait|rwfAppend) != 0 {
		return 0, unix.EOPNOTSUPP
	}
	return withIovecs(t, a, func(f *vfs.File, iovs []abi.Iovec) (uintptr, error) {
		if flags&rwfNowait != 0 {
			if _, waitable := f.Impl.(vfs.Waitable); !waitable {
				return 0, unix.EOPNOTSUPP
			}
		}
		off := a.Int64(3)
		if off == -1 {
			return writeFile(t, f, iovs)
		}
		write := func(write func([]byte) (int, error)) (int, error) {
			return vectorIO(t, iovs, false, write)
		}
		var n int
		var err error
		if flags&rwfAppend != 0 {
			// At the end, whatever the offset; the file offset stays.
			n, err = f.AppendAt(write)
		} else {
			n, err = f.Pwrite(off, write)
		}
		removePrivs(t, f)
		return partial(n, err)
	})
}

// Fallocate implements fallocate(2). Linux: fs/open.c, vfs_fallocate().
func Fallocate(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	mode, off, length := a.Uint(1), a.Int64(2), a.Int64(3)
	if off < 0 || length <= 0 {
		return 0, unix.EINVAL
	}
	if off+length < 0 {
		return 0, unix.EFBIG
	}
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if !f.Writable() || vfs.IsPathOnly(f) {
		return 0, unix.EBADF
	}
	if f.Path().IsZero() {
		return 0, unix.ESPIPE
	}
	switch f.Path().Dentry.Type() {
	case unix.S_IFDIR:
		return 0, unix.EISDIR
	case unix.S_IFREG:
	default:
		return 0, unix.ENODEV
	}
	if lim, _ := t.Rlimit(unix.RLIMIT_FSIZE); mode&unix.FALLOC_FL_KEEP_SIZE == 0 && uint64(off+length) > lim.Cur {
		t.SignalSelf(unix.SIGXFSZ)
		return 0, unix.EFBIG
	}
	al, ok := f.Impl.(vfs.FallocateImpl)
	if !ok {
		return 0, unix.EOPNOTSUPP
	}
	return 0, f.NotifyModify(al.Fallocate(mode, off, length))
}

// Fadvise64 implements posix_fadvise(2): advice is a hint the kernel's
// memory-backed and written-through files have no use for, but the
// arguments are checked as Linux does.
func Fadvise64(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if _, ok := f.Impl.(vfs.Waitable); ok || f.Path().IsZero() {
		return 0, unix.ESPIPE
	}
	if a.Int64(2) < 0 || a.Int(3) < 0 || a.Int(3) > unix.FADV_NOREUSE {
		return 0, unix.EINVAL
	}
	return 0, nil
}

// Readahead implements readahead(2), a hint with fadvise's checks.
func Readahead(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if !f.Readable() || vfs.IsPathOnly(f) {
		return 0, unix.EBADF
	}
	if f.Path().IsZero() || f.Path().Dentry.Type() != unix.S_IFREG {
		return 0, unix.EINVAL
	}
	return 0, nil
}
