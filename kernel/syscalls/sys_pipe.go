package syscalls

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/ipc/pipe"
	"magawa/kernel/kernel"
)

// Pipe implements pipe(2).
func Pipe(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, pipe2(t, a.Pointer(0), 0)
}

// Pipe2 implements pipe2(2).
func Pipe2(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, pipe2(t, a.Pointer(0), int(a.Int(1)))
}

func pipe2(t *kernel.Task, addr uintptr, flags int) error {
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_DIRECT) != 0 {
		return unix.EINVAL
	}
	r, w := pipe.New(flags)
	defer r.DecRef()
	defer w.DecRef()
	cloexec := flags&unix.O_CLOEXEC != 0
	rfd, err := t.FDTable().Install(r, 0, cloexec, t.MaxFDs())
	if err != nil {
		return err
	}
	wfd, err := t.FDTable().Install(w, 0, cloexec, t.MaxFDs())
	if err != nil {
		t.FDTable().Remove(rfd)
		return err
	}
	fds := [2]int32{int32(rfd), int32(wfd)}
	if err := copyOutStruct(t, addr, &fds); err != nil {
		t.FDTable().Remove(rfd)
		t.FDTable().Remove(wfd)
		return err
	}
	return nil
}
