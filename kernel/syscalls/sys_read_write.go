package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/kernel"
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
	n, err := f.Read(func(read func([]byte) (int, error)) (int, error) {
		return t.MM().WithBytes(a.Pointer(1), count, true, read)
	})
	return partial(n, err)
}

// Write implements write(2).
func Write(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	count := clampCount(a.Size(2))
	if count == 0 {
		if !f.Writable() {
			return 0, unix.EBADF
		}
		return 0, nil
	}
	n, err := f.Write(func(write func([]byte) (int, error)) (int, error) {
		return t.MM().WithBytes(a.Pointer(1), count, false, write)
	})
	return partial(n, err)
}

// Pread64 implements pread64(2).
func Pread64(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	count := clampCount(a.Size(2))
	n, err := f.Pread(a.Int64(3), func(read func([]byte) (int, error)) (int, error) {
		if count == 0 {
			return 0, nil
		}
		return t.MM().WithBytes(a.Pointer(1), count, true, read)
	})
	return partial(n, err)
}

// Pwrite64 implements pwrite64(2).
func Pwrite64(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	count := clampCount(a.Size(2))
	n, err := f.Pwrite(a.Int64(3), func(write func([]byte) (int, error)) (int, error) {
		if count == 0 {
			return 0, nil
		}
		return t.MM().WithBytes(a.Pointer(1), count, false, write)
	})
	return partial(n, err)
}

// Readv implements readv(2).
func Readv(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	iovs, err := copyInIovecs(t, a.Pointer(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	n, err := f.Read(func(read func([]byte) (int, error)) (int, error) {
		return vectorIO(t, iovs, true, read)
	})
	return partial(n, err)
}

// Writev implements writev(2).
func Writev(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	iovs, err := copyInIovecs(t, a.Pointer(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	n, err := f.Write(func(write func([]byte) (int, error)) (int, error) {
		return vectorIO(t, iovs, false, write)
	})
	return partial(n, err)
}

// Preadv implements preadv(2).
func Preadv(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	iovs, err := copyInIovecs(t, a.Pointer(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	n, err := f.Pread(a.Int64(3), func(read func([]byte) (int, error)) (int, error) {
		return vectorIO(t, iovs, true, read)
	})
	return partial(n, err)
}

// Pwritev implements pwritev(2).
func Pwritev(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	iovs, err := copyInIovecs(t, a.Pointer(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	n, err := f.Pwrite(a.Int64(3), func(write func([]byte) (int, error)) (int, error) {
		return vectorIO(t, iovs, false, write)
	})
	return partial(n, err)
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
	done := 0
	for _, iov := range iovs {
		if iov.Len == 0 {
			continue
		}
		n, err := t.MM().WithBytes(uintptr(iov.Base), int(iov.Len), toApp, io)
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
