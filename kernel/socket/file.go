package socket

import (
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/kernel/waiter"
)

// File is what the sockets of every family share as open files: an
// inode number, and the answers to stat, seek and /proc/PID/fd. A
// family's socket embeds it.
type File struct {
	// Ino is the socket's inode number.
	Ino uint64
}

// Dev is the st_dev of sockets (sockfs's anonymous device).
const Dev = 0x8

// Stat implements vfs.FileImpl.
func (f *File) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: unix.S_IFSOCK | 0o777, Nlink: 1, Ino: f.Ino, Blksize: 4096, Dev: Dev}
	return nil
}

// Seekable implements vfs.FileImpl: sockets have no offsets.
func (f *File) Seekable() bool { return false }

// ProcName is the socket's name in /proc/PID/fd.
func (f *File) ProcName() string { return fmt.Sprintf("socket:[%d]", f.Ino) }

// Read is read(2) on s as a receive without flags or caller, for a
// family's vfs.FileImpl: the system-call layer routes reads to Recv
// itself, and this serves callers that see one buffer at a time.
func Read(s Socket, dst []byte) (int, error) {
	r, err := s.Recv(nil, len(dst), 0, nil)
	if err != nil {
		return 0, err
	}
	return copy(dst, r.Data), nil
}

// Retry runs op until it stops failing with EAGAIN, waiting on q for the
// events of mask between tries; with a nil Blocker it tries once. The
// waiter is registered before the second try, so an event between a
// failed try and the wait is not lost.
func Retry(q *waiter.Queue, mask uint32, block Blocker, op func() error) error {
	err := op()
	if err != unix.EAGAIN || block == nil {
		return err
	}
	e, ch := waiter.NewChannelEntry(mask)
	q.Register(e)
	defer q.Unregister(e)
	for {
		if err = op(); err != unix.EAGAIN {
			return err
		}
		if err := block(ch); err != nil {
			return err
		}
	}
}
