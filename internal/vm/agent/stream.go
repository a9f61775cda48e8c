package agent

import (
	"context"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"magawa/internal/vm/agentapi"
)

// stream is a process's output (stdout, stderr, or a terminal's
// master) as the host reads it: a goroutine reads the pipe into
// chunks, ReadStdout and ReadStderr take them. The channel's capacity
// is the backpressure: a host that does not read stops the reader, and
// then the process's writes.
type stream struct {
	chunks chan []byte
	// mu guards pending, the rest of a chunk larger than a read asked
	// for.
	mu      sync.Mutex
	pending []byte
}

func newStream(r io.ReadCloser) *stream {
	s := &stream{chunks: make(chan []byte, 16)}
	go func() {
		defer close(s.chunks)
		defer r.Close()
		for {
			buf := make([]byte, 32<<10)
			n, err := r.Read(buf)
			if n > 0 {
				s.chunks <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

// read returns the next data, at most max bytes, waiting for it;
// eof once the writers have all gone and everything was read.
func (s *stream) read(ctx context.Context, max int) ([]byte, bool, error) {
	if max <= 0 || max > agentapi.MaxChunk {
		max = agentapi.MaxChunk
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		select {
		case c, ok := <-s.chunks:
			if !ok {
				return nil, true, nil
			}
			s.pending = c
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	// Take whatever else is ready too, up to max.
more:
	for len(s.pending) < max {
		select {
		case c, ok := <-s.chunks:
			if !ok {
				break more
			}
			s.pending = append(s.pending, c...)
		default:
			break more
		}
	}
	n := min(len(s.pending), max)
	out := s.pending[:n:n]
	s.pending = s.pending[n:]
	return out, false, nil
}

// emptyStream is a stream that has ended (stderr of a terminal).
func emptyStream() *stream {
	s := &stream{chunks: make(chan []byte)}
	close(s.chunks)
	return s
}

// stdin is a process's standard input as the host writes it.
type stdin struct {
	mu sync.Mutex
	f  *os.File // nil once closed
	// terminal says f is the master of the process's terminal: it
	// stays open for the output, and the end of the input is typed.
	terminal bool
	// partial says the input written since the last newline is a
	// partial line.
	partial bool
}

func (s *stdin) write(b []byte) (int, error) {
	s.mu.Lock()
	f := s.f
	s.mu.Unlock()
	if f == nil {
		return 0, os.ErrClosed
	}
	n, err := f.Write(b)
	if n > 0 {
		s.mu.Lock()
		s.partial = b[n-1] != '\n'
		s.mu.Unlock()
	}
	return n, err
}

// close ends the input: the process reads end of file. A pipe is
// closed; on a terminal it is its VEOF character typed, twice after a
// partial line (the first only ends the line), as a terminal emulator
// fed from a pipe would do. A program that put its terminal in raw
// mode reads the character itself.
func (s *stdin) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return
	}
	if s.terminal {
		eof := []byte{terminalEOF(s.f)}
		if s.partial {
			eof = append(eof, eof[0])
		}
		s.f.Write(eof)
	} else {
		s.f.Close()
	}
	s.f = nil
}

// terminalEOF is the VEOF character of the terminal whose master is
// f: Linux applies a master's termios ioctls to its slave.
func terminalEOF(f *os.File) byte {
	var eof byte = 0x04 // ^D
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			if t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS); err == nil && t.Cc[unix.VEOF] != 0 {
				eof = t.Cc[unix.VEOF]
			}
		})
	}
	return eof
}
