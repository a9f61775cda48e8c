package hostfs

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Stream is one of the sandbox's standard streams: a host descriptor
// (a terminal, pipe or file handed to `magawa do`) that the kernel reads
// and writes on the application's behalf.
type Stream struct {
	fd int
}

// NewStream wraps a host descriptor; the Stream owns it.
func NewStream(fd int) *Stream { return &Stream{fd: fd} }

func (s *Stream) ReadAt(dst []byte, _ int64) (int, error) {
	for {
		n, err := unix.Read(s.fd, dst)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

func (s *Stream) WriteAt(src []byte, _ int64) (int, error) {
	done := 0
	for done < len(src) {
		n, err := unix.Write(s.fd, src[done:])
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

func (s *Stream) Seekable() bool { return false }

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
