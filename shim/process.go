package shim

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/fifo"
)

// process is a container's init (id "") or one of its exec'd processes.
type process struct {
	id    string
	stdio stdio

	mu sync.Mutex
	// pid is the init's host PID (the sandbox process, which exits with
	// the container's status) or an exec'd process's PID in the sandbox.
	pid        int
	status     task.Status
	exitStatus uint32
	exitedAt   time.Time
	// done is closed once the process has exited.
	done chan struct{}
	io   *processIO
}

// stdio is where containerd wants the process's streams: FIFO paths,
// empty for none.
type stdio struct {
	stdin, stdout, stderr string
	terminal              bool
}

func newProcess(id string, s stdio) *process {
	return &process{id: id, stdio: s, status: task.Status_CREATED, done: make(chan struct{})}
}

func (p *process) state() (task.Status, int, uint32, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status, p.pid, p.exitStatus, p.exitedAt
}

func (p *process) setStatus(s task.Status) {
	p.mu.Lock()
	if p.status != task.Status_STOPPED {
		p.status = s
	}
	p.mu.Unlock()
}

// exited records the process's end once; it reports whether this call
// was the one.
func (p *process) exited(status int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return false
	default:
	}
	p.status = task.Status_STOPPED
	p.exitStatus = uint32(status)
	p.exitedAt = time.Now()
	close(p.done)
	return true
}

// processIO connects a process's stdio with containerd's FIFOs: through
// pipes (the process's ends go to the runtime) or a terminal's master.
type processIO struct {
	// theirs are the process's descriptors 0-2, until handed over.
	theirs [3]*os.File
	// stdin is the shim's end of the process's input, closed by
	// CloseIO or at the FIFO's end.
	stdinMu sync.Mutex
	stdin   io.WriteCloser
	console console.Console
	// open are the FIFOs and pipe ends the shim holds.
	open   []io.Closer
	copies sync.WaitGroup
}

// newPipeIO makes the pipes of a process without a terminal and starts
// copying between them and the FIFOs. A stream without a FIFO is
// /dev/null.
func newPipeIO(ctx context.Context, s stdio) (_ *processIO, err error) {
	pio := &processIO{}
	defer func() {
		if err != nil {
			pio.closeTheirs()
			pio.close()
		}
	}()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	for i := range pio.theirs {
		pio.theirs[i] = null
	}
	if s.stdin != "" {
		in, err := fifo.OpenFifo(ctx, s.stdin, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("stdin FIFO %s: %w", s.stdin, err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			in.Close()
			return nil, err
		}
		pio.theirs[0], pio.stdin = r, w
		pio.open = append(pio.open, in)
		go func() {
			io.Copy(w, in)
			pio.closeStdin()
		}()
	}
	for i, path := range []string{s.stdout, s.stderr} {
		if path == "" {
			continue
		}
		out, err := openOutputFIFO(ctx, path)
		if err != nil {
			return nil, err
		}
		pio.open = append(pio.open, out)
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		pio.theirs[1+i] = w
		pio.open = append(pio.open, r)
		pio.copies.Add(1)
		go func() {
			defer pio.copies.Done()
			io.Copy(out, r)
			out.Close()
		}()
	}
	return pio, nil
}

// openOutputFIFO opens a FIFO for writing, with a read end held too so
// that a client that goes away (ctr's detach) does not make the
// process's writes fail: its output is dropped until one reads again.
func openOutputFIFO(ctx context.Context, path string) (io.WriteCloser, error) {
	w, err := fifo.OpenFifo(ctx, path, syscall.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("output FIFO %s: %w", path, err)
	}
	r, err := fifo.OpenFifo(ctx, path, syscall.O_RDONLY, 0)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("output FIFO %s: %w", path, err)
	}
	return &heldFIFO{WriteCloser: w, reader: r}, nil
}

type heldFIFO struct {
	io.WriteCloser
	reader io.Closer
}

func (f *heldFIFO) Close() error {
	err := f.WriteCloser.Close()
	f.reader.Close()
	return err
}

// attachConsole copies between a terminal's master and the FIFOs: input
// to the master, the master's output (stdout and stderr are one stream
// on a terminal) to stdout.
func attachConsole(ctx context.Context, s stdio, master console.Console) (*processIO, error) {
	pio := &processIO{console: master}
	if s.stdin != "" {
		in, err := fifo.OpenFifo(ctx, s.stdin, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("stdin FIFO %s: %w", s.stdin, err)
		}
		pio.open = append(pio.open, in)
		go io.Copy(master, in)
	}
	if s.stdout != "" {
		out, err := openOutputFIFO(ctx, s.stdout)
		if err != nil {
			return nil, err
		}
		pio.open = append(pio.open, out)
		pio.copies.Add(1)
		go func() {
			defer pio.copies.Done()
			io.Copy(out, master)
			out.Close()
		}()
	}
	return pio, nil
}

// closeTheirs closes the shim's copies of the process's descriptors,
// once the runtime has them: then the output pipes end when the
// process's ends close.
func (pio *processIO) closeTheirs() {
	closed := map[*os.File]bool{}
	for i, f := range pio.theirs {
		if f != nil && !closed[f] {
			f.Close()
			closed[f] = true
		}
		pio.theirs[i] = nil
	}
}

func (pio *processIO) closeStdin() {
	pio.stdinMu.Lock()
	defer pio.stdinMu.Unlock()
	if pio.stdin != nil {
		pio.stdin.Close()
		pio.stdin = nil
	}
}

// wait waits for the output to be copied, at most timeout: a process
// of the sandbox that inherited the streams may keep them open.
func (pio *processIO) wait(timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		pio.copies.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

func (pio *processIO) close() {
	pio.closeStdin()
	for _, c := range pio.open {
		c.Close()
	}
	if pio.console != nil {
		pio.console.Close()
	}
}
