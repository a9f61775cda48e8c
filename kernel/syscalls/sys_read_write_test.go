package syscalls

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/ipc/pipe"
	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// readvOp is readFile's op for a readv of f into bufs, the iovecs'
// addresses being indices into bufs.
func readvOp(f *vfs.File, bufs [][]byte) func() (int, error) {
	iovs := make([]abi.Iovec, len(bufs))
	for i, b := range bufs {
		iovs[i] = abi.Iovec{Base: uint64(i), Len: uint64(len(b))}
	}
	return func() (int, error) {
		return f.Read(func(read func([]byte) (int, error)) (int, error) {
			return eachIovec(iovs, func(addr uintptr, n int) (int, error) { return read(bufs[addr][:n]) })
		})
	}
}

func writeString(t *testing.T, f *vfs.File, s string) {
	t.Helper()
	if n, err := f.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte(s)) }); n != len(s) || err != nil {
		t.Fatalf("write %q: %d, %v", s, n, err)
	}
}

var errWouldBlock = errors.New("the read waited")

// A readv whose first buffer a pipe fills exactly, the pipe then being
// empty, returns those bytes: they were taken from the pipe, and waiting
// for more (the read's EAGAIN) would lose them.
func TestReadvFirstBufferFilled(t *testing.T) {
	r, w := pipe.New(0)
	defer r.DecRef()
	defer w.DecRef()
	writeString(t, w, "abcd")
	bufs := [][]byte{make([]byte, 4), make([]byte, 4)}
	n, err := partial(readWaiting(r, readvOp(r, bufs), func(<-chan struct{}) error { return errWouldBlock }))
	if n != 4 || err != nil || string(bufs[0]) != "abcd" {
		t.Fatalf("readv: %d, %v, %q; want 4 bytes, abcd", n, err, bufs[0])
	}
}

// The same after a wait: the data that woke the reader fills the first
// buffer exactly.
func TestReadvFirstBufferFilledAfterWait(t *testing.T) {
	r, w := pipe.New(0)
	defer r.DecRef()
	defer w.DecRef()
	bufs := [][]byte{make([]byte, 4), make([]byte, 4)}
	waits := 0
	n, err := partial(readWaiting(r, readvOp(r, bufs), func(<-chan struct{}) error {
		waits++
		if waits > 1 {
			return errWouldBlock
		}
		writeString(t, w, "wxyz")
		return nil
	}))
	if n != 4 || err != nil || string(bufs[0]) != "wxyz" || waits != 1 {
		t.Fatalf("readv: %d, %v, %q after %d waits; want 4 bytes, wxyz, 1 wait", n, err, bufs[0], waits)
	}
}

// An empty pipe waits; an interrupted wait restarts the call; a
// non-blocking one fails with EAGAIN at once.
func TestReadWaitingEmpty(t *testing.T) {
	r, w := pipe.New(0)
	defer r.DecRef()
	defer w.DecRef()
	buf := [][]byte{make([]byte, 4)}
	if n, err := readWaiting(r, readvOp(r, buf), func(<-chan struct{}) error { return errWouldBlock }); n != 0 || err != kernel.ERESTARTSYS {
		t.Errorf("interrupted read: %d, %v; want ERESTARTSYS", n, err)
	}
	nr, nw := pipe.New(unix.O_NONBLOCK)
	defer nr.DecRef()
	defer nw.DecRef()
	if n, err := readWaiting(nr, readvOp(nr, buf), func(<-chan struct{}) error {
		t.Error("a non-blocking read waited")
		return errWouldBlock
	}); n != 0 || err != unix.EAGAIN {
		t.Errorf("non-blocking read: %d, %v; want EAGAIN", n, err)
	}
}
