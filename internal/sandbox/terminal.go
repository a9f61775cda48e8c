package sandbox

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/hostio"
	"magawa/kernel/tty"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// TTYMode says whether `magawa do` runs its program on a terminal of the
// sandbox (`docker run -it`) or on the host's descriptors themselves.
type TTYMode int

const (
	// TTYAuto gives the program a terminal when the host's standard
	// input is one.
	TTYAuto TTYMode = iota
	// TTYOn always does (`magawa do -t`).
	TTYOn
	// TTYOff never does: the host's descriptors, wrapped (`-t=false`).
	TTYOff
)

// Wanted reports whether a run gets a terminal.
func (m TTYMode) Wanted() bool {
	switch m {
	case TTYOn:
		return true
	case TTYOff:
		return false
	}
	return isTerminal(0)
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// console is the terminal a `magawa do` program runs on: a pseudo-terminal
// pair of the sandbox's devpts instance. Its slave, /dev/pts/N, is the
// program's descriptors 0, 1 and 2, its controlling terminal (the kernel
// makes it so when it starts the program) and /dev/console. Its master
// stays with magawa, which relays the host's standard input to it and
// its output to the host's standard output, as a terminal emulator
// would, with the host's terminal in raw mode so that every key reaches
// the sandbox's line discipline (^C is the sandbox's SIGINT, not the
// host's).
//
// The host side: in and out are the host's descriptors 0 and 1 (-1 when
// closed: no input, output discarded); host is the host's terminal
// (stdin, or else stdout, -1 for none), whose settings and window size
// the pair starts with; raw mode is only for a terminal that is stdin.
//
// Three goroutines serve it from start to stop: input (host stdin →
// master), output (master → host stdout) and signals (SIGWINCH resizes
// the pair; SIGCONT puts the host terminal back in raw mode; a fatal
// signal restores the host terminal before magawa dies of it).
type console struct {
	term   *tty.Terminal
	master *tty.Master
	// slave is /dev/pts/N opened through the VFS (so that ttyname(3)
	// finds it), until stdio hands it over.
	slave *vfs.File

	in, out, host int
	// hostIsIn says host is in: raw mode is for it alone.
	hostIsIn bool
	// exec says the console is an exec'd process's: it owns in and out
	// and polls the window size (newExecConsole).
	exec bool
	// saved are host's settings before raw mode.
	saved unix.Termios

	// mu guards raw: the host terminal is in raw mode.
	mu  sync.Mutex
	raw bool

	// done is closed at stop.
	done chan struct{}
	// wakeR and wakeW are a pipe that wakes the input goroutine out of
	// poll(2) at stop.
	wakeR, wakeW int
	sigs         chan os.Signal
	wg           sync.WaitGroup
	stopOnce     sync.Once
}

// newConsole makes the pair, owned by uid and gid (group tty, as devpts's
// gid= says), gives it the host terminal's settings and size, opens its
// slave and makes it the sandbox's /dev/console. Its host side is the
// sandbox process's descriptors 0 and 1.
func newConsole(fss *fileSystems, uid, gid uint32) (*console, error) {
	in, out := -1, -1
	if hostOpen(0) {
		in = 0
	}
	if hostOpen(1) {
		out = 1
	}
	return newTerminal(fss, uid, gid, in, out, false)
}

// newExecConsole makes the terminal of a process exec'd into a running
// sandbox, its host side the descriptors in and out that `magawa exec`
// sent (its own terminal, or one whose master went to a console socket);
// the console owns them. It is not /dev/console, and it follows the host
// terminal's size by polling: the sandbox process gets no SIGWINCH for a
// terminal it does not control.
func newExecConsole(fss *fileSystems, uid, gid uint32, in, out int) (*console, error) {
	return newTerminal(fss, uid, gid, in, out, true)
}

func newTerminal(fss *fileSystems, uid, gid uint32, in, out int, exec bool) (_ *console, err error) {
	owner := &vfs.Context{Creds: &vfs.Creds{UID: uid, GID: gid}}
	term, master, err := fss.pts.NewPair(owner, unix.O_RDWR)
	if err != nil {
		return nil, fmt.Errorf("making the terminal: %w", err)
	}
	defer func() {
		if err != nil {
			master.Release()
		}
	}()
	term.Unlock()
	c := &console{term: term, master: master, in: in, out: out, host: -1, wakeR: -1, wakeW: -1, exec: exec}
	switch {
	case in >= 0 && isTerminal(in):
		c.host = in
		c.hostIsIn = true
	case out >= 0 && isTerminal(out):
		c.host = out
	}
	if c.host >= 0 {
		saved, err := unix.IoctlGetTermios(c.host, unix.TCGETS)
		if err != nil {
			return nil, fmt.Errorf("reading the host terminal's settings: %w", err)
		}
		c.saved = *saved
		if err := c.setTermios(c.saved); err != nil {
			return nil, fmt.Errorf("setting the terminal: %w", err)
		}
		if ws, err := unix.IoctlGetWinsize(c.host, unix.TIOCGWINSZ); err == nil {
			term.SetWindowSize(*ws)
		}
	}
	root := fss.mounts.Root()
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: root, Cwd: root}
	name := fmt.Sprintf("/dev/pts/%d", term.Index())
	c.slave, err = fss.vfs.Open(ctx, root, name, vfs.OpenHow{Flags: unix.O_RDWR | unix.O_NOCTTY})
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	if !exec {
		fss.devices.SetConsole(term)
	}
	return c, nil
}

// hostOpen reports whether the host's descriptor fd is open.
func hostOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err == nil
}

// stdio returns the slave as descriptors 0, 1 and 2: one open file
// description, as a terminal emulator's child has; the references are
// the caller's.
func (c *console) stdio() [3]*vfs.File {
	s := c.slave
	c.slave = nil
	s.IncRef()
	s.IncRef()
	return [3]*vfs.File{s, s, s}
}

// setTermios gives the pair the host terminal's settings (TCSETS2 on the
// master, as a terminal emulator would): the line discipline is N_TTY.
func (c *console) setTermios(t unix.Termios) error {
	// struct termios2. Linux: include/uapi/asm-generic/termbits.h.
	b := make(ioBuf, 44)
	le := binary.LittleEndian
	le.PutUint32(b[0:], t.Iflag)
	le.PutUint32(b[4:], t.Oflag)
	le.PutUint32(b[8:], t.Cflag)
	le.PutUint32(b[12:], t.Lflag)
	b[16] = 0 // N_TTY
	copy(b[17:36], t.Cc[:])
	le.PutUint32(b[36:], t.Ispeed)
	le.PutUint32(b[40:], t.Ospeed)
	_, err := c.master.Ioctl(b, unix.TCSETS2, 0)
	return err
}

// eofChar returns the pair's VEOF character, ^D unless changed.
func (c *console) eofChar() byte {
	b := make(ioBuf, 36)
	if _, err := c.master.Ioctl(b, unix.TCGETS, 0); err != nil {
		return 0x04
	}
	return b[17+unix.VEOF]
}

// ioBuf is the memory of the ioctls magawa makes on the master itself:
// the buffer, at address 0.
type ioBuf []byte

func (b ioBuf) CopyIn(addr uintptr, dst []byte) (int, error) {
	if addr > uintptr(len(b)) {
		return 0, unix.EFAULT
	}
	return copy(dst, b[addr:]), nil
}

func (b ioBuf) CopyOut(addr uintptr, src []byte) (int, error) {
	if addr > uintptr(len(b)) {
		return 0, unix.EFAULT
	}
	return copy(b[addr:], src), nil
}

// DieOfSignal ends the sandbox process as if by sig, once the console has
// restored the host terminal. By default it dies of it; a process that
// cannot (a PID namespace's init ignores its own default-action signals)
// replaces it.
var DieOfSignal = func(sig unix.Signal) {
	signal.Reset(sig)
	// To this thread, which acts on it as the call returns: sent to the
	// process, it could land on another thread while this one goes on.
	runtime.LockOSThread()
	unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
	time.Sleep(time.Second)
}

// fatalSignals are the signals whose default action kills magawa: the
// host terminal is restored before it dies of them.
var fatalSignals = []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM}

// start puts the host terminal in raw mode and starts relaying. stop
// undoes it; the caller defers it at once, so that a panic restores the
// host terminal too.
func (c *console) start() error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return fmt.Errorf("making a pipe: %w", err)
	}
	c.wakeR, c.wakeW = p[0], p[1]
	c.done = make(chan struct{})
	c.sigs = make(chan os.Signal, 8)
	if !c.exec {
		signal.Notify(c.sigs, unix.SIGWINCH, unix.SIGCONT)
		for _, sig := range fatalSignals {
			// A signal ignored at start (nohup) stays ignored.
			if !signal.Ignored(sig) {
				signal.Notify(c.sigs, sig)
			}
		}
	}
	if c.hostIsIn {
		if err := c.makeRaw(); err != nil {
			return fmt.Errorf("putting the terminal in raw mode: %w", err)
		}
	}
	// A resize between newTerminal's look at the size and Notify above
	// sent its SIGWINCH to nobody: look again (a console socket's
	// owner, ctr run -t, resizes as soon as the container is created).
	c.resize()
	c.wg.Add(3)
	go c.relayInput()
	go c.relayOutput()
	go c.handleSignals()
	return nil
}

// stop ends the relaying once the program has ended: what it wrote is
// all sent to the host first. It restores the host terminal and closes
// the master. It may run more than once, and on a console never started.
func (c *console) stop() {
	c.stopOnce.Do(func() {
		if c.done != nil {
			close(c.done)
			unix.Write(c.wakeW, []byte{0})
			c.wg.Wait()
			unix.Close(c.wakeR)
			unix.Close(c.wakeW)
		}
		c.restore()
		if c.sigs != nil {
			signal.Stop(c.sigs)
			// A fatal signal that came while stopping: die of it now.
			for len(c.sigs) > 0 {
				if sig := <-c.sigs; sig != unix.SIGWINCH && sig != unix.SIGCONT {
					DieOfSignal(sig.(unix.Signal))
				}
			}
		}
		if c.slave != nil {
			c.slave.DecRef()
			c.slave = nil
		}
		c.master.Release()
		if c.exec {
			if c.in >= 0 {
				unix.Close(c.in)
			}
			if c.out >= 0 && c.out != c.in {
				unix.Close(c.out)
			}
		}
	})
}

// makeRaw is cfmakeraw(3) on the host terminal.
func (c *console) makeRaw() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.saved
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(c.host, unix.TCSETS, &t); err != nil {
		return err
	}
	c.raw = true
	return nil
}

// restore gives the host terminal back its settings.
func (c *console) restore() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raw {
		unix.IoctlSetTermios(c.host, unix.TCSETS, &c.saved)
		c.raw = false
	}
}

// resize gives the pair the host terminal's window size; the sandbox's
// foreground process group gets SIGWINCH if it changed.
func (c *console) resize() {
	if c.host < 0 {
		return
	}
	if ws, err := unix.IoctlGetWinsize(c.host, unix.TIOCGWINSZ); err == nil {
		c.term.SetWindowSize(*ws)
	}
}

func (c *console) handleSignals() {
	defer c.wg.Done()
	var poll <-chan time.Time
	if c.exec {
		ticker := time.NewTicker(250 * time.Millisecond)
		defer ticker.Stop()
		poll = ticker.C
	}
	for {
		select {
		case <-c.done:
			return
		case <-poll:
			c.resize()
		case sig := <-c.sigs:
			switch sig {
			case unix.SIGWINCH:
				c.resize()
			case unix.SIGCONT:
				// Stopped and continued: the host's shell may have
				// taken its terminal back in the meantime.
				c.mu.Lock()
				raw := c.raw
				c.mu.Unlock()
				if raw {
					c.makeRaw()
				}
				c.resize()
			default:
				// Die of it as without a terminal, but leave the
				// host terminal as it was.
				c.restore()
				DieOfSignal(sig.(unix.Signal))
			}
		}
	}
}

// relayInput copies the host's stdin to the master until stop. The host
// descriptor is not made non-blocking (its description is shared with
// the host's shell): the goroutine waits in poll(2) with the wake pipe.
func (c *console) relayInput() {
	defer c.wg.Done()
	if c.in < 0 {
		return
	}
	e, ready := waiter.NewChannelEntry(waiter.EventOut)
	c.master.EventRegister(e)
	defer c.master.EventUnregister(e)
	buf := make([]byte, 4096)
	last := byte('\n')
	for {
		n, woken := hostio.ReadOrWake(c.in, c.wakeR, buf)
		if woken {
			return
		}
		if n <= 0 {
			if !c.hostIsIn {
				// The end of a pipe or file: the program reads end of
				// file (a partial line needs a second VEOF).
				eof := []byte{c.eofChar()}
				if last != '\n' {
					eof = append(eof, eof[0])
				}
				c.writeMaster(eof, ready)
			}
			return
		}
		last = buf[n-1]
		if !c.writeMaster(buf[:n], ready) {
			return
		}
	}
}

// writeMaster writes all of p on the master, waiting while the pair's
// input queue is full; false at stop.
func (c *console) writeMaster(p []byte, ready <-chan struct{}) bool {
	for len(p) > 0 {
		n, err := c.master.WriteAt(p, -1)
		p = p[n:]
		switch err {
		case nil:
		case unix.EAGAIN:
			select {
			case <-ready:
			case <-c.done:
				return false
			}
		default:
			return false
		}
	}
	return true
}

// relayOutput copies what the program writes on its terminal (and the
// echoes) from the master to the host's stdout. At stop it sends what is
// left: the program has ended, so nothing more comes.
func (c *console) relayOutput() {
	defer c.wg.Done()
	e, ready := waiter.NewChannelEntry(waiter.EventIn)
	c.master.EventRegister(e)
	defer c.master.EventUnregister(e)
	buf := make([]byte, 8192)
	stopping := false
	for {
		n, err := c.master.ReadAt(buf, -1)
		if n > 0 {
			c.writeHost(buf[:n])
			continue
		}
		if err != unix.EAGAIN && err != unix.EIO {
			return
		}
		// Empty (EIO: and no slave is open; one may be opened again).
		if stopping {
			return
		}
		select {
		case <-ready:
		case <-c.done:
			stopping = true
		}
	}
}

// writeHost writes all of p on the host's stdout; after an error the
// output is dropped, as a closed stdout's is.
func (c *console) writeHost(p []byte) {
	for len(p) > 0 && c.out >= 0 {
		n, err := unix.Write(c.out, p)
		if n > 0 {
			p = p[n:]
		}
		switch err {
		case nil:
		case unix.EINTR:
		case unix.EAGAIN:
			// A non-blocking description shared with someone else.
			unix.Poll([]unix.PollFd{{Fd: int32(c.out), Events: unix.POLLOUT}}, -1)
		default:
			c.out = -1
		}
	}
}

// crlfWriter turns "\n" into "\r\n": magawa's own lines (--strace) on a
// host terminal in raw mode.
type crlfWriter struct{ w io.Writer }

func (w crlfWriter) Write(p []byte) (int, error) {
	if _, err := w.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}
