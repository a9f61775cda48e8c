package vm

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/hostio"
	"magawa/internal/vm/agentapi"
)

// sizePollInterval is how often the window size of an exec'd process's
// host terminal is looked at: the supervisor gets no SIGWINCH for a
// terminal that is not its controlling one.
const sizePollInterval = 250 * time.Millisecond

// terminal is the host's side of a process's terminal in the guest. The
// terminal itself is the guest's, in the container's devpts (the agent
// makes it): its line discipline echoes, turns "\n" into "\r\n" and
// makes ^C a SIGINT. The host relays bytes between it and the host's
// descriptors (in, out; -1: none), as a terminal emulator would: a host
// terminal that is in is put in raw mode meanwhile, so that it neither
// processes them a second time nor keeps a key to itself; a resize of
// the host terminal (host: in if it is one, else out) is passed on.
type terminal struct {
	s *Sandbox
	// containerID and execID name the process.
	containerID string
	execID      string
	in          int
	out         *os.File
	host        int
	// hostIsIn says host is in, and that in is in raw mode while the
	// process runs.
	hostIsIn bool
	// saved are host's settings before raw mode, nil if unchanged.
	saved *unix.Termios
	// size is the guest terminal's window size as it was last given.
	size unix.Winsize

	done         chan struct{}
	wakeR, wakeW int
	wg           sync.WaitGroup
	stopOnce     sync.Once
}

// newTerminal makes the host side of the terminal of a process of
// container containerID (execID; empty: the container's init) whose
// host descriptors are in and out (nil: none). They stay the caller's.
func (s *Sandbox) newTerminal(containerID, execID string, in, out *os.File) *terminal {
	t := &terminal{s: s, containerID: containerID, execID: execID, in: fdOf(in), out: out, host: -1, wakeR: -1, wakeW: -1}
	switch {
	case t.in >= 0 && isTerminal(t.in):
		t.host, t.hostIsIn = t.in, true
	case fdOf(out) >= 0 && isTerminal(fdOf(out)):
		t.host = fdOf(out)
	}
	return t
}

// fdOf is f's descriptor, -1 for none. Not f.Fd(): that would make a
// non-blocking description, shared with others, blocking.
func fdOf(f *os.File) int {
	if f == nil {
		return -1
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	rc.Control(func(raw uintptr) { fd = int(raw) })
	return fd
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// initialSize sets the window size p's terminal is made with: the host
// terminal's, as runc gives a terminal its user's (a console socket's
// has the process's consoleSize unless its owner resized it since),
// else the process's consoleSize.
func (t *terminal) initialSize(p *agentapi.Process) {
	if t.host >= 0 {
		if ws, err := unix.IoctlGetWinsize(t.host, unix.TIOCGWINSZ); err == nil && (ws.Row != 0 || ws.Col != 0) {
			p.ConsoleRows, p.ConsoleColumns = uint32(ws.Row), uint32(ws.Col)
		}
	}
	t.size = unix.Winsize{Row: uint16(p.ConsoleRows), Col: uint16(p.ConsoleColumns)}
}

// prepare puts a host terminal that is in in raw mode (cfmakeraw(3))
// until stop, and makes what relay needs, so that relay cannot fail
// once the process runs.
func (t *terminal) prepare() error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return fmt.Errorf("the terminal's relay: %w", err)
	}
	t.wakeR, t.wakeW = p[0], p[1]
	if t.hostIsIn {
		saved, err := makeRaw(t.host)
		if err != nil {
			t.stop()
			return fmt.Errorf("putting the terminal in raw mode: %w", err)
		}
		t.saved = saved
	}
	return nil
}

// makeRaw puts the terminal fd in raw mode and returns its settings
// before.
func makeRaw(fd int) (*unix.Termios, error) {
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *saved
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return saved, nil
}

// relay starts relaying, once prepared: input, output and the window
// size, which follows SIGWINCH (the host terminal is the supervisor's
// controlling terminal, or its foreground process group's) or, with
// pollSize, is looked at every sizePollInterval. The returned channel
// is closed once the output has ended.
func (t *terminal) relay(pollSize bool) <-chan struct{} {
	t.done = make(chan struct{})
	var sigs chan os.Signal
	if !pollSize && t.host >= 0 {
		// Before the first look, so that no change falls in between.
		sigs = make(chan os.Signal, 4)
		signal.Notify(sigs, unix.SIGWINCH)
	}
	t.wg.Add(2)
	go t.relayInput()
	go t.followSize(sigs, pollSize)
	outputs := make(chan struct{})
	// A terminal has one output stream: the agent's stderr of it is
	// empty.
	var out io.Writer
	if t.out != nil {
		out = t.out
	}
	go t.s.copyOut(t.containerID, t.execID, false, out, outputs)
	return outputs
}

// stop ends the relaying once the process has ended and its output is
// out, and gives the host terminal its settings back. It may run more
// than once, and on a terminal never started.
func (t *terminal) stop() {
	t.stopOnce.Do(func() {
		if t.done != nil {
			close(t.done)
			unix.Write(t.wakeW, []byte{0})
			t.wg.Wait()
		}
		if t.wakeR >= 0 {
			unix.Close(t.wakeR)
			unix.Close(t.wakeW)
		}
		if t.saved != nil {
			unix.IoctlSetTermios(t.host, unix.TCSETS, t.saved)
			t.saved = nil
		}
	})
}

// relayInput copies the host's input to the guest's terminal until
// stop. The host descriptor is not made non-blocking (its description
// may be shared with the user's shell): the goroutine waits in poll(2)
// with the wake pipe, and reads nothing once the process has ended.
// The end of a pipe or file is the end of the process's input (the
// agent types VEOF); the end of a host terminal (its master closed) is
// not: it only ends the relaying.
func (t *terminal) relayInput() {
	defer t.wg.Done()
	if t.in < 0 {
		return
	}
	ctx := context.Background()
	id := t.containerID
	buf := make([]byte, 32<<10)
	for {
		n, woken := hostio.ReadOrWake(t.in, t.wakeR, buf)
		if woken {
			return
		}
		if n <= 0 {
			if !t.hostIsIn {
				t.s.agent.CloseStdin(ctx, &agentapi.ProcessRequest{ContainerId: id, ExecId: t.execID})
			}
			return
		}
		if _, err := t.s.agent.WriteStdin(ctx, &agentapi.WriteStreamRequest{ContainerId: id, ExecId: t.execID, Data: buf[:n]}); err != nil {
			return
		}
	}
}

// followSize passes the host terminal's window size on to the guest's
// when it changes, until stop.
func (t *terminal) followSize(sigs chan os.Signal, poll bool) {
	defer t.wg.Done()
	if t.host < 0 {
		return
	}
	if sigs != nil {
		defer signal.Stop(sigs)
	}
	var tick <-chan time.Time
	if poll {
		ticker := time.NewTicker(sizePollInterval)
		defer ticker.Stop()
		tick = ticker.C
	}
	// The host terminal may have changed since the guest's was made.
	t.resize()
	for {
		select {
		case <-t.done:
			return
		case <-sigs:
			t.resize()
		case <-tick:
			t.resize()
		}
	}
}

// resize gives the guest's terminal the host terminal's size if it
// changed; the guest's foreground process group gets SIGWINCH.
func (t *terminal) resize() {
	ws, err := unix.IoctlGetWinsize(t.host, unix.TIOCGWINSZ)
	if err != nil || (ws.Row == t.size.Row && ws.Col == t.size.Col) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	req := &agentapi.ResizeTerminalRequest{ContainerId: t.containerID, ExecId: t.execID, Rows: uint32(ws.Row), Columns: uint32(ws.Col)}
	if _, err := t.s.agent.ResizeTerminal(ctx, req); err != nil {
		t.s.log.Printf("resizing the terminal of %q: %v", t.execID, agentError(err))
		return
	}
	t.size = unix.Winsize{Row: ws.Row, Col: ws.Col}
}
