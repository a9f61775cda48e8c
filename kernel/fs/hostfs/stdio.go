package hostfs

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// Stream is one of the sandbox's standard streams: a host descriptor
// (a terminal, pipe or file handed to `magawa do`) that the kernel reads
// and writes on the application's behalf.
type Stream struct {
	fd    int
	queue waiter.Queue

	// watchMu guards the watcher of the host descriptor.
	watchMu   sync.Mutex
	watchers  int
	stopWatch chan struct{}
	// positional: the descriptor is a regular file or block device, so
	// pread and pwrite work.
	positional bool
}

// NewStream wraps a host descriptor; the Stream owns it.
func NewStream(fd int) *Stream {
	s := &Stream{fd: fd}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		t := st.Mode & unix.S_IFMT
		s.positional = t == unix.S_IFREG || t == unix.S_IFBLK
	}
	return s
}

// ReadAt reads at the host descriptor's offset (off < 0) or at off. A
// read at the offset that would wait returns EAGAIN instead, and the
// system-call layer waits on the stream's queue.
func (s *Stream) ReadAt(dst []byte, off int64) (int, error) {
	if off < 0 && !s.positional && s.Readiness(waiter.EventIn) == 0 {
		return 0, unix.EAGAIN
	}
	for {
		var n int
		var err error
		if off < 0 {
			n, err = unix.Read(s.fd, dst)
		} else {
			n, err = unix.Pread(s.fd, dst, off)
		}
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

// WriteAt writes at the host descriptor's offset (off < 0) or at off.
func (s *Stream) WriteAt(src []byte, off int64) (int, error) {
	done := 0
	for done < len(src) {
		var n int
		var err error
		if off < 0 {
			n, err = unix.Write(s.fd, src[done:])
		} else {
			n, err = unix.Pwrite(s.fd, src[done:], off+int64(done))
		}
		if err == unix.EINTR {
			continue
		}
		if n > 0 {
			done += n
		}
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (s *Stream) Stat(st *unix.Stat_t) error { return unix.Fstat(s.fd, st) }

// ProcName names the stream in /proc/[pid]/fd as Linux names what it
// is: a pipe or socket by inode, /dev/null as itself; a host file's path
// is not the sandbox's to see.
func (s *Stream) ProcName() string {
	var st unix.Stat_t
	if err := unix.Fstat(s.fd, &st); err != nil {
		return "anon_inode:[stream]"
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return fmt.Sprintf("pipe:[%d]", st.Ino)
	case unix.S_IFSOCK:
		return fmt.Sprintf("socket:[%d]", st.Ino)
	case unix.S_IFCHR:
		if unix.Major(st.Rdev) == 1 && unix.Minor(st.Rdev) == 3 {
			return "/dev/null"
		}
	}
	return "anon_inode:[stream]"
}

// Seekable is false: the offset is the host descriptor's (see Seek).
func (s *Stream) Seekable() bool { return false }

// Seek implements vfs.SeekImpl on the host descriptor's offset.
func (s *Stream) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case unix.SEEK_SET, unix.SEEK_CUR, unix.SEEK_END, unix.SEEK_DATA, unix.SEEK_HOLE:
	default:
		return 0, unix.EINVAL
	}
	return unix.Seek(s.fd, offset, whence)
}

// Positional implements vfs.SeekImpl.
func (s *Stream) Positional() bool { return s.positional }

func (s *Stream) Release() { unix.Close(s.fd) }

// Ioctl implements vfs.IoctlImpl: the terminal queries programs make on
// their standard streams. Only these read-only requests reach the host
// descriptor, and only with a kernel-owned buffer.
func (s *Stream) Ioctl(io vfs.IO, request uint32, arg uintptr) (uintptr, error) {
	switch request {
	case unix.TCGETS:
		t, err := unix.IoctlGetTermios(s.fd, unix.TCGETS)
		if err != nil {
			return 0, err
		}
		return 0, copyOutTermios(io, arg, t)
	case unix.TIOCGWINSZ:
		ws, err := unix.IoctlGetWinsize(s.fd, unix.TIOCGWINSZ)
		if err != nil {
			return 0, err
		}
		return 0, copyOutWinsize(io, arg, ws)
	}
	return 0, unix.ENOTTY
}

// StreamFile wraps a host descriptor as an open file with access mode
// flags.
func StreamFile(fd int, flags int) *vfs.File {
	return vfs.NewFile(NewStream(fd), flags)
}

// HostBlocking implements vfs.HostBlocking.
func (s *Stream) HostBlocking() {}

// The standard streams are waitable, so that a read on an empty terminal
// or pipe waits in the kernel, where a signal can interrupt it, instead of
// in a host read that nothing could interrupt. The host descriptor is
// polled: without timeout to answer Readiness, and by a watcher goroutine,
// in short rounds, while anybody waits.

// Readiness implements vfs.Waitable.
func (s *Stream) Readiness(mask uint32) uint32 {
	fds := []unix.PollFd{{Fd: int32(s.fd), Events: int16(mask & (waiter.EventIn | waiter.EventOut))}}
	n, err := unix.Poll(fds, 0)
	if err != nil || n == 0 {
		return 0
	}
	return uint32(uint16(fds[0].Revents)) & (mask | waiter.EventErr | waiter.EventHUp)
}

// EventRegister implements vfs.Waitable.
func (s *Stream) EventRegister(e *waiter.Entry) {
	s.queue.Register(e)
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	s.watchers++
	if s.watchers == 1 {
		stop := make(chan struct{})
		s.stopWatch = stop
		go s.watch(stop)
	}
}

// EventUnregister implements vfs.Waitable.
func (s *Stream) EventUnregister(e *waiter.Entry) {
	s.queue.Unregister(e)
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	s.watchers--
	if s.watchers == 0 {
		close(s.stopWatch)
		s.stopWatch = nil
	}
}

// watchRound bounds how long the watcher sleeps in poll before it looks
// whether anybody still waits.
const watchRound = 50

func (s *Stream) watch(stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN | unix.POLLOUT}}
		n, err := unix.Poll(fds, watchRound)
		if err != nil && err != unix.EINTR {
			return
		}
		if n > 0 {
			s.queue.Notify(uint32(uint16(fds[0].Revents)))
			if fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				// Readable for good: waiters wake from Readiness.
				select {
				case <-stop:
				case <-time.After(watchRound * time.Millisecond):
				}
			}
		}
	}
}
