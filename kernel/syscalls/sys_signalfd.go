package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/ipc/signalfd"
	"magawa/kernel/kernel"
)

// Signalfd implements signalfd(2).
func Signalfd(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return signalfd4(t, a.Int(0), a.Pointer(1), a.Size(2), 0)
}

// Signalfd4 implements signalfd4(2).
func Signalfd4(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return signalfd4(t, a.Int(0), a.Pointer(1), a.Size(2), int(a.Int(3)))
}

func signalfd4(t *kernel.Task, fd int32, maskAddr uintptr, size uint64, flags int) (uintptr, error) {
	if flags&^(unix.SFD_CLOEXEC|unix.SFD_NONBLOCK) != 0 || size != sigsetSize {
		return 0, unix.EINVAL
	}
	var mask kernel.SignalSet
	if err := copyInStruct(t, maskAddr, &mask); err != nil {
		return 0, err
	}
	if fd != -1 {
		f, err := getFile(t, fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if !signalfd.SetMask(f, mask) {
			return 0, unix.EINVAL
		}
		return uintptr(fd), nil
	}
	f := signalfd.New(t, mask, flags)
	defer f.DecRef()
	nfd, err := t.FDTable().Install(f, 0, flags&unix.SFD_CLOEXEC != 0, t.MaxFDs())
	return uintptr(nfd), err
}
