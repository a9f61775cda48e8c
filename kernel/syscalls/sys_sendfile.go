package syscalls

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// This file holds the calls that move data between two descriptors in
// the kernel: sendfile(2) and copy_file_range(2). Data passes through a
// kernel buffer; nothing reaches the application's memory.

// copyChunk is how much one step moves.
const copyChunk = 128 << 10

// waitIO runs op until it stops failing with EAGAIN, waiting for events
// on a waitable file in blocking mode.
func waitIO(t *kernel.Task, f *vfs.File, events uint32, nonblock bool, op func() (int, error)) (int, error) {
	n, err := op()
	w, waitable := f.Impl.(vfs.Waitable)
	if err != unix.EAGAIN || !waitable || nonblock || f.NonBlocking() {
		return n, err
	}
	e, ch := waiter.NewChannelEntry(events | waiter.EventErr | waiter.EventHUp)
	w.EventRegister(e)
	defer w.EventUnregister(e)
	for {
		if n, err = op(); err != unix.EAGAIN {
			return n, err
		}
		if err := t.Block(ch, time.Time{}); err != nil {
			return 0, kernel.ERESTARTSYS
		}
	}
}

// transfer moves up to count bytes from in to out: from *inOff (which it
// advances) or in's offset, to out's offset (or *outOff). It returns what
// was moved; an error after some progress is dropped, as Linux does.
func transfer(t *kernel.Task, in *vfs.File, inOff *int64, out *vfs.File, outOff *int64, count int64, nonblock bool) (int64, error) {
	buf := make([]byte, min(count, copyChunk))
	var done int64
	for done < count {
		want := buf[:min(int64(len(buf)), count-done)]
		read := func() (int, error) {
			fill := func(read func([]byte) (int, error)) (int, error) { return read(want) }
			if inOff != nil {
				return in.Pread(*inOff, fill)
			}
			return in.Read(fill)
		}
		n, err := waitIO(t, in, waiter.EventIn, nonblock, read)
		if n <= 0 {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if inOff != nil {
			*inOff += int64(n)
		}
		data := want[:n]
		for len(data) > 0 {
			write := func() (int, error) {
				drain := func(write func([]byte) (int, error)) (int, error) { return write(data) }
				if outOff != nil {
					return out.Pwrite(*outOff, drain)
				}
				return out.Write(drain)
			}
			m, err := waitIO(t, out, waiter.EventOut, nonblock && done > 0, write)
			if m > 0 {
				data = data[m:]
				done += int64(m)
				if outOff != nil {
					*outOff += int64(m)
				}
			}
			if err != nil {
				if err == unix.EPIPE {
					t.SignalSelf(unix.SIGPIPE)
				}
				if done > 0 {
					return done, nil
				}
				return 0, err
			}
		}
		if n < len(want) {
			break // a short read: the end of the data for now
		}
	}
	return done, nil
}

// Sendfile implements sendfile(2). Linux: fs/read_write.c, do_sendfile().
func Sendfile(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	outfd, infd, offAddr, count := a.Int(0), a.Int(1), a.Pointer(2), a.Size(3)
	in, out, err := transferFiles(t, infd, outfd)
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	defer out.DecRef()
	if out.Flags()&unix.O_APPEND != 0 {
		return 0, unix.EINVAL
	}
	if _, isDir := in.Impl.(vfs.DirectoryImpl); isDir || in.Path().IsZero() {
		// The input must be a file that can be read at an offset, not
		// a pipe or a socket. Linux: fs/read_write.c, do_sendfile().
		return 0, unix.EINVAL
	}
	off, err := copyInOffset(t, offAddr)
	if err != nil {
		return 0, err
	}
	n, err := transfer(t, in, off, out, nil, int64(min(count, abi.MaxRWCount)), false)
	if n > 0 {
		if err := copyOutOffsets(t, offAddr, off, 0, nil); err != nil {
			return 0, err
		}
	}
	return uintptr(n), err
}

// CopyFileRange implements copy_file_range(2) between regular files.
// Linux: fs/read_write.c, generic_copy_file_checks().
func CopyFileRange(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	infd, inOffAddr, outfd, outOffAddr, count, flags := a.Int(0), a.Pointer(1), a.Int(2), a.Pointer(3), a.Size(4), a.Uint(5)
	if flags != 0 {
		return 0, unix.EINVAL
	}
	in, out, err := transferFiles(t, infd, outfd)
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	defer out.DecRef()
	if out.Flags()&unix.O_APPEND != 0 {
		return 0, unix.EBADF
	}
	ctx := t.FileContext()
	inSt, err := in.Statx(ctx, unix.STATX_TYPE|unix.STATX_INO)
	if err != nil {
		return 0, err
	}
	outSt, err := out.Statx(ctx, unix.STATX_TYPE|unix.STATX_INO)
	if err != nil {
		return 0, err
	}
	if inSt.Mode&unix.S_IFMT == unix.S_IFDIR || outSt.Mode&unix.S_IFMT == unix.S_IFDIR {
		return 0, unix.EISDIR
	}
	if inSt.Mode&unix.S_IFMT != unix.S_IFREG || outSt.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, unix.EINVAL
	}
	inOff, err := copyInOffset(t, inOffAddr)
	if err != nil {
		return 0, err
	}
	outOff, err := copyInOffset(t, outOffAddr)
	if err != nil {
		return 0, err
	}

	if vfs.IDOf(&inSt) == vfs.IDOf(&outSt) {
		// Overlapping ranges of one file are refused.
		i, o := int64(0), int64(0)
		if inOff != nil {
			i = *inOff
		} else if i, err = in.Seek(0, unix.SEEK_CUR); err != nil {
			return 0, err
		}
		if outOff != nil {
			o = *outOff
		} else if o, err = out.Seek(0, unix.SEEK_CUR); err != nil {
			return 0, err
		}
		n := int64(min(count, abi.MaxRWCount))
		if i < o+n && o < i+n {
			return 0, unix.EINVAL
		}
	}
	n, err := transfer(t, in, inOff, out, outOff, int64(min(count, abi.MaxRWCount)), false)
	if n > 0 {
		if err := copyOutOffsets(t, inOffAddr, inOff, outOffAddr, outOff); err != nil {
			return 0, err
		}
	}
	return uintptr(n), err
}

// transferFiles returns the two descriptors of a call that moves data
// between them, with references the caller drops: in readable, out
// writable, neither O_PATH.
func transferFiles(t *kernel.Task, infd, outfd int32) (in, out *vfs.File, err error) {
	if in, err = getFile(t, infd); err != nil {
		return nil, nil, err
	}
	if out, err = getFile(t, outfd); err != nil {
		in.DecRef()
		return nil, nil, err
	}
	if !in.Readable() || !out.Writable() || vfs.IsPathOnly(in) || vfs.IsPathOnly(out) {
		in.DecRef()
		out.DecRef()
		return nil, nil, unix.EBADF
	}
	return in, out, nil
}

// copyInOffset reads an loff_t argument: nil for a null pointer,
// EINVAL for a negative offset.
func copyInOffset(t *kernel.Task, addr uintptr) (*int64, error) {
	if addr == 0 {
		return nil, nil
	}
	off := new(int64)
	if err := copyInStruct(t, addr, off); err != nil {
		return nil, err
	}
	if *off < 0 {
		return nil, unix.EINVAL
	}
	return off, nil
}

// copyOutOffsets writes back the offsets a transfer advanced (nil ones
// were not given).
func copyOutOffsets(t *kernel.Task, inAddr uintptr, inOff *int64, outAddr uintptr, outOff *int64) error {
	if inOff != nil {
		if err := copyOutStruct(t, inAddr, inOff); err != nil {
			return err
		}
	}
	if outOff != nil {
		return copyOutStruct(t, outAddr, outOff)
	}
	return nil
}
