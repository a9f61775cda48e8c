package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/containerd/ttrpc"
	"golang.org/x/sys/unix"

	"magawa/internal/vm/agentapi"
)

// serve serves a's API over an in-memory connection, as the agent
// serves it over the virtio-serial port, and returns a client.
func serve(t *testing.T, a *agent) agentapi.AgentService {
	t.Helper()
	hostEnd, guestEnd := net.Pipe()
	srv, err := ttrpc.NewServer(ttrpc.WithUnaryServerInterceptor(recoverPanics))
	if err != nil {
		t.Fatal(err)
	}
	agentapi.RegisterAgentService(srv, a)
	go srv.Serve(context.Background(), agentapi.NewConnListener(guestEnd))
	client := ttrpc.NewClient(hostEnd)
	t.Cleanup(func() {
		client.Close()
		srv.Close()
	})
	return agentapi.NewAgentClient(client)
}

// fakeProcess is a process whose streams are pipes the test holds the
// other ends of.
func fakeProcess(t *testing.T) (p *process, stdinR, stdoutW, stderrW *os.File) {
	t.Helper()
	inR, inW, _ := os.Pipe()
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	t.Cleanup(func() {
		inR.Close()
		outW.Close()
		errW.Close()
	})
	return &process{
		pid:    -1,
		stdin:  &stdin{f: inW},
		stdout: newStream(outR),
		stderr: newStream(errR),
		done:   make(chan struct{}),
	}, inR, outW, errW
}

func TestProtocolStreamsAndWait(t *testing.T) {
	a := newAgent()
	p, stdinR, stdoutW, stderrW := fakeProcess(t)
	a.containers["c"] = &container{id: "c", init: p, state: statusRunning, execs: map[string]*process{}}
	client := serve(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	ping, err := client.Ping(ctx, &agentapi.PingRequest{})
	if err != nil || ping.Version != Version {
		t.Fatalf("Ping = %v, %v", ping, err)
	}

	// stdin: written through, closed at CloseStdin.
	if _, err := client.WriteStdin(ctx, &agentapi.WriteStreamRequest{ContainerId: "c", Data: []byte("to the process")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CloseStdin(ctx, &agentapi.ProcessRequest{ContainerId: "c"}); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 100)
	n, _ := stdinR.Read(got)
	if string(got[:n]) != "to the process" {
		t.Errorf("stdin carried %q", got[:n])
	}
	if n, _ := stdinR.Read(got); n != 0 {
		t.Errorf("stdin not closed: read %d more bytes", n)
	}

	// stdout: more than a chunk, in order, then EOF.
	want := bytes.Repeat([]byte("0123456789abcdef"), agentapi.MaxChunk/16*3+7)
	go func() {
		stdoutW.Write(want)
		stdoutW.Close()
		stderrW.Write([]byte("oops\n"))
		stderrW.Close()
	}()
	var out []byte
	for {
		r, err := client.ReadStdout(ctx, &agentapi.ReadStreamRequest{ContainerId: "c", Max: agentapi.MaxChunk})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Data) > agentapi.MaxChunk {
			t.Fatalf("a read of %d bytes: more than a chunk", len(r.Data))
		}
		out = append(out, r.Data...)
		if r.Eof {
			break
		}
	}
	if !bytes.Equal(out, want) {
		t.Errorf("stdout carried %d bytes, want %d as written", len(out), len(want))
	}
	r, err := client.ReadStderr(ctx, &agentapi.ReadStreamRequest{ContainerId: "c", Max: 2})
	if err != nil || string(r.Data) != "oo" {
		t.Errorf("ReadStderr(max 2) = %q, %v", r.GetData(), err)
	}

	// Wait: answers once the process is reaped.
	waited := make(chan *agentapi.WaitProcessResponse, 1)
	go func() {
		w, err := client.WaitProcess(ctx, &agentapi.ProcessRequest{ContainerId: "c"})
		if err != nil {
			t.Error(err)
		}
		waited <- w
	}()
	select {
	case <-waited:
		t.Fatal("WaitProcess answered before the process ended")
	case <-time.After(50 * time.Millisecond):
	}
	p.ws = unix.WaitStatus(7 << 8) // exited with 7
	close(p.done)
	if w := <-waited; w == nil || w.ExitCode != 7 || w.Signal != 0 {
		t.Errorf("WaitProcess = %v, want exit code 7", w)
	}
}

func TestProtocolSignalledExitAndErrors(t *testing.T) {
	a := newAgent()
	p, _, _, _ := fakeProcess(t)
	p.ws = unix.WaitStatus(unix.SIGKILL) // killed
	close(p.done)
	a.containers["c"] = &container{id: "c", init: p, state: statusStopped, execs: map[string]*process{}}
	client := serve(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := client.WaitProcess(ctx, &agentapi.ProcessRequest{ContainerId: "c"})
	if err != nil || w.Signal != int32(unix.SIGKILL) || w.ExitCode != 128+int32(unix.SIGKILL) {
		t.Errorf("WaitProcess = %v, %v: want SIGKILL, 137", w, err)
	}
	if _, err := client.ReadStdout(ctx, &agentapi.ReadStreamRequest{ContainerId: "nope"}); err == nil || !strings.Contains(err.Error(), "no container") {
		t.Errorf("ReadStdout of an unknown container: %v", err)
	}
	if _, err := client.StartContainer(ctx, &agentapi.ContainerRequest{Id: "c"}); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("StartContainer of a stopped container: %v", err)
	}
	if _, err := client.ExecProcess(ctx, &agentapi.ExecProcessRequest{ContainerId: "c", ExecId: "e", Process: &agentapi.Process{Args: []string{"true"}}}); err == nil {
		t.Error("ExecProcess in a stopped container succeeded")
	}
	if _, err := client.SignalProcess(ctx, &agentapi.SignalProcessRequest{ContainerId: "c", Signal: 99}); err == nil {
		t.Error("signal 99 accepted")
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/prog", []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(dir+"/data", []byte(""), 0o644)
	env := []string{"HOME=/", "PATH=/nonexistent:" + dir}
	if p, err := lookPath("prog", env); err != nil || p != dir+"/prog" {
		t.Errorf("lookPath(prog) = %q, %v", p, err)
	}
	if _, err := lookPath("data", env); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("lookPath(data) = %v, want EACCES", err)
	}
	if _, err := lookPath("missing", env); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("lookPath(missing) = %v", err)
	}
	if p, _ := lookPath("/abs/prog", env); p != "/abs/prog" {
		t.Errorf("lookPath(/abs/prog) = %q", p)
	}
}

func TestToProcessSpec(t *testing.T) {
	s := toProcessSpec(&agentapi.Process{
		Args: []string{"sh"}, Uid: 1000, Gid: 100, AdditionalGids: []uint32{5}, HasUmask: true, Umask: 0o077,
		Rlimits:      []*agentapi.Rlimit{{Resource: 7, Soft: 1024, Hard: 4096}},
		Capabilities: &agentapi.Capabilities{Bounding: 1 << 21, Effective: 1},
	})
	if s.Umask == nil || *s.Umask != 0o077 || s.UID != 1000 || len(s.Rlimits) != 1 || s.Rlimits[0].Resource != 7 ||
		s.Caps == nil || s.Caps.Bounding != 1<<21 {
		t.Errorf("toProcessSpec = %+v", s)
	}
	if s := toProcessSpec(&agentapi.Process{}); s.Umask != nil || s.Caps != nil {
		t.Errorf("unset umask and capabilities came out set: %+v", s)
	}
}

// terminalProcess is a process on a host pseudo-terminal, as the agent
// holds one (the master); the test holds the slave, the program's side.
func terminalProcess(t *testing.T) (*process, *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no /dev/ptmx: %v", err)
	}
	var n int
	var ioErr error
	rc, _ := master.SyscallConn()
	rc.Control(func(fd uintptr) {
		if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr == nil {
			n, ioErr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	})
	if ioErr != nil {
		t.Fatal(ioErr)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		slave.Close()
		master.Close()
	})
	return &process{
		pid: -1, terminal: master, stdin: &stdin{f: master, terminal: true},
		stdout: newStream(master), stderr: emptyStream(), done: make(chan struct{}),
	}, slave
}

// readLine is one read(2) of a terminal in canonical mode: a line, what
// a VEOF pushed, or 0 bytes at end of file.
func readLine(t *testing.T, f *os.File) (string, bool) {
	t.Helper()
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	n, err := f.Read(buf)
	if err == io.EOF {
		return "", true
	}
	if err != nil {
		t.Fatalf("reading the terminal: %v", err)
	}
	return string(buf[:n]), false
}

// pending reports whether the terminal has input to read.
func pending(f *os.File) bool {
	n := 0
	onFD(f, func(fd int) {
		n, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 200)
	})
	return n > 0
}

// onFD runs do with f's descriptor; not f.Fd(), which would make it
// blocking and its read deadlines ineffective.
func onFD(f *os.File, do func(fd int)) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { do(int(fd)) })
	}
}

// TestTerminalEndOfInput: on a terminal, CloseStdin is the terminal's
// own VEOF typed (Linux's line discipline makes it the end of file): once
// after a whole line, twice after a partial one (the first only pushes
// it); the master stays open for the output; ResizeTerminal sets the
// terminal's window size.
func TestTerminalEndOfInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		reads []string
	}{
		{"whole line", "one\ntwo\n", []string{"one\n", "two\n"}},
		{"partial line", "one\ntw", []string{"one\n", "tw"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent()
			p, slave := terminalProcess(t)
			// Not ^D: the VEOF the program's terminal has.
			var ioErr error
			onFD(slave, func(fd int) {
				var tio *unix.Termios
				if tio, ioErr = unix.IoctlGetTermios(fd, unix.TCGETS); ioErr == nil {
					tio.Cc[unix.VEOF] = 0x01
					tio.Lflag &^= unix.ECHO
					ioErr = unix.IoctlSetTermios(fd, unix.TCSETS, tio)
				}
			})
			if ioErr != nil {
				t.Fatal(ioErr)
			}
			a.containers["c"] = &container{id: "c", init: p, state: statusRunning, execs: map[string]*process{}}
			client := serve(t, a)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := client.WriteStdin(ctx, &agentapi.WriteStreamRequest{ContainerId: "c", Data: []byte(tc.input)}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.CloseStdin(ctx, &agentapi.ProcessRequest{ContainerId: "c"}); err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.reads {
				if got, eof := readLine(t, slave); eof || got != want {
					t.Errorf("read %q (end of file %v), want %q", got, eof, want)
				}
			}
			if got, eof := readLine(t, slave); !eof {
				t.Errorf("read %q after the input, want end of file", got)
			}
			if pending(slave) {
				got, _ := readLine(t, slave)
				t.Errorf("more after the end of file: %q (a second VEOF after a whole line)", got)
			}
			if _, err := client.WriteStdin(ctx, &agentapi.WriteStreamRequest{ContainerId: "c", Data: []byte("x")}); err == nil {
				t.Error("WriteStdin after CloseStdin succeeded")
			}
			// The output still comes, with the terminal's "\r\n".
			slave.Write([]byte("out\n"))
			if r, err := client.ReadStdout(ctx, &agentapi.ReadStreamRequest{ContainerId: "c"}); err != nil || string(r.Data) != "out\r\n" {
				t.Errorf("ReadStdout after CloseStdin = %q, %v; want \"out\\r\\n\"", r.GetData(), err)
			}
			if _, err := client.ResizeTerminal(ctx, &agentapi.ResizeTerminalRequest{ContainerId: "c", Rows: 42, Columns: 133}); err != nil {
				t.Fatal(err)
			}
			var ws *unix.Winsize
			onFD(slave, func(fd int) { ws, ioErr = unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ) })
			if ioErr != nil || ws.Row != 42 || ws.Col != 133 {
				t.Errorf("window size after ResizeTerminal: %+v, %v; want 42x133", ws, ioErr)
			}
		})
	}
}
