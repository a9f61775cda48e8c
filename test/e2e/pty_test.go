package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// runTTY runs a client command as a person at a terminal would (`-it`):
// its stdin, stdout and stderr are the slave of a new host pty, which is
// also its controlling terminal. Once prompt appears in what the terminal
// shows, input is typed (nothing is typed when prompt is empty). The
// result's stdout is everything the terminal showed, with "\r" removed.
func (e *env) runTTY(prompt, input string, name string, args ...string) result {
	e.t.Helper()
	r := result{code: -1}
	master, slave, err := openPTY()
	if err != nil {
		r.err = err
		return r
	}
	defer master.Close()

	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append([]string{}, e.env...), "TERM=xterm")
	cmd.Dir = e.dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	cmd.WaitDelay = 10 * time.Second

	var mu sync.Mutex
	var out bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	shown := func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		slave.Close()
		r.err = err
		return r
	}
	slave.Close()
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()

	var waitErr error
	typed := prompt == ""
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case waitErr = <-waitDone:
			break loop
		case <-tick.C:
			if !typed && strings.Contains(shown(), prompt) {
				typed = true
				if _, err := master.Write([]byte(input)); err != nil {
					r.err = fmt.Errorf("typing on the pty: %w", err)
				}
			}
		}
	}
	// The client has exited: read what is left until EIO (no slave left
	// open), or give up after a moment if something kept the slave.
	select {
	case <-readDone:
	case <-time.After(3 * time.Second):
		master.SetReadDeadline(time.Now())
		<-readDone
	}
	r.stdout = strings.ReplaceAll(shown(), "\r", "")
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		r.code = cmd.ProcessState.ExitCode()
	}
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		r.err = waitErr
	}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("timed out after %v", cmdTimeout)
	}
	if !typed {
		r.err = fmt.Errorf("the prompt %q never appeared on the terminal", prompt)
	}
	e.t.Logf("$ %s %s  # on a pty, %.2fs, exit %d", name, strings.Join(quoteArgs(args), " "), time.Since(start).Seconds(), r.code)
	return r
}

// openPTY opens a host pseudo-terminal pair, 24x80.
func openPTY() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening /dev/ptmx: %w", err)
	}
	var n int
	var ioErr error
	rc, err := m.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) {
			if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr != nil {
				return
			}
			n, ioErr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		})
	}
	if err == nil {
		err = ioErr
	}
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlocking the pty: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("opening the pty's slave: %w", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		m.Close()
		s.Close()
		return nil, nil, fmt.Errorf("setting the pty's size: %w", err)
	}
	return m, s, nil
}
