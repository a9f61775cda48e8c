package tty

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/waiter"
)

func TestCanonicalLineAndEcho(t *testing.T) {
	p := newPair(t)
	p.typeIn(t, "hel")
	if _, err := p.readSlave(100); err != unix.EAGAIN {
		t.Fatalf("read of a partial line: %v, want EAGAIN", err)
	}
	if p.s.Readiness(waiter.EventIn) != 0 {
		t.Error("slave readable before the line ends")
	}
	p.typeIn(t, "lo\r")
	if p.s.Readiness(waiter.EventIn) == 0 {
		t.Error("slave not readable after the line ends")
	}
	if got, err := p.readSlave(100); got != "hello\n" || err != nil {
		t.Fatalf("read = %q, %v; want \"hello\\n\" (ICRNL)", got, err)
	}
	if got := p.readMaster(t); got != "hello\r\n" {
		t.Errorf("echo = %q, want \"hello\\r\\n\"", got)
	}
}

func TestCanonicalOneLinePerRead(t *testing.T) {
	p := newPair(t)
	p.typeIn(t, "ab\ncdefg\n")
	for _, want := range []struct {
		n    int
		want string
	}{{100, "ab\n"}, {3, "cde"}, {100, "fg\n"}} {
		if got, err := p.readSlave(want.n); got != want.want || err != nil {
			t.Errorf("read(%d) = %q, %v; want %q", want.n, got, err, want.want)
		}
	}
	if _, err := p.readSlave(100); err != unix.EAGAIN {
		t.Errorf("read of an empty queue: %v, want EAGAIN", err)
	}
}

func TestCanonicalEOF(t *testing.T) {
	p := newPair(t)
	p.typeIn(t, "ab\x04")
	if got, err := p.readSlave(100); got != "ab" || err != nil {
		t.Fatalf("read = %q, %v; want \"ab\" pushed by EOF", got, err)
	}
	p.typeIn(t, "\x04")
	if got, err := p.readSlave(100); got != "" || err != nil {
		t.Fatalf("read at EOF = %q, %v; want end of file", got, err)
	}
	// An EOF right after a read's count is taken with the line.
	p.typeIn(t, "xy\x04z\n")
	if got, _ := p.readSlave(2); got != "xy" {
		t.Fatalf("read(2) = %q", got)
	}
	if got, _ := p.readSlave(100); got != "z\n" {
		t.Errorf("next read = %q, want \"z\\n\" (the EOF went with \"xy\")", got)
	}
	if got := p.readMaster(t); got != "abxyz\r\n" {
		t.Errorf("echo = %q: EOF is not echoed", got)
	}
}

func TestErase(t *testing.T) {
	p := newPair(t)
	p.typeIn(t, "abc\x7f\x7fd\n")
	if got, _ := p.readSlave(100); got != "ad\n" {
		t.Errorf("line = %q, want \"ad\\n\"", got)
	}
	if got := p.readMaster(t); got != "abc\b \b\b \bd\r\n" {
		t.Errorf("echo = %q", got)
	}
	// Erasing past the line's start does nothing.
	p.typeIn(t, "\x7fx\n")
	if got, _ := p.readSlave(100); got != "x\n" {
		t.Errorf("line = %q", got)
	}
	if got := p.readMaster(t); got != "x\r\n" {
		t.Errorf("echo = %q", got)
	}
}

func TestEraseControlAndTab(t *testing.T) {
	p := newPair(t)
	// A control character shows as ^A, so erasing takes two columns.
	p.typeIn(t, "\x01\x7f")
	if got := p.readMaster(t); got != "^A\b \b\b \b" {
		t.Errorf("echo = %q", got)
	}
	// A tab after "ab" took 6 columns.
	p.typeIn(t, "ab\t\x7f")
	if got := p.readMaster(t); got != "ab\t\b\b\b\b\b\b" {
		t.Errorf("echo = %q", got)
	}
}

func TestEraseWithoutECHOE(t *testing.T) {
	p := newPair(t)
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag &^= unix.ECHOE })
	p.typeIn(t, "ab\x7f")
	if got := p.readMaster(t); got != "ab^?" {
		t.Errorf("echo = %q, want the ERASE character shown", got)
	}
}

func TestKill(t *testing.T) {
	p := newPair(t)
	p.typeIn(t, "abc\x15xy\n")
	if got, _ := p.readSlave(100); got != "xy\n" {
		t.Errorf("line = %q", got)
	}
	if got := p.readMaster(t); got != "abc"+strings.Repeat("\b \b", 3)+"xy\r\n" {
		t.Errorf("echo with ECHOKE = %q", got)
	}
	// Without ECHOKE: the KILL character, then a newline (ECHOK).
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag &^= unix.ECHOKE })
	p.typeIn(t, "ab\x15")
	if got := p.readMaster(t); got != "ab^U\r\n" {
		t.Errorf("echo with ECHOK = %q", got)
	}
}

func TestWordErase(t *testing.T) {
	p := newPair(t)
	p.typeIn(t, "foo bar  \x17baz\n")
	if got, _ := p.readSlave(100); got != "foo baz\n" {
		t.Errorf("line = %q", got)
	}
}

func TestEraseUTF8(t *testing.T) {
	p := newPair(t)
	p.setTermios(t, func(tio *unix.Termios) { tio.Iflag |= unix.IUTF8 })
	p.typeIn(t, "aé\x7f\n")
	if got, _ := p.readSlave(100); got != "a\n" {
		t.Errorf("line = %q: the whole character goes", got)
	}
	if got := p.readMaster(t); got != "aé\b \b\r\n" {
		t.Errorf("echo = %q: one column erased", got)
	}
}

func TestLiteralNext(t *testing.T) {
	p := newPair(t)
	p.typeIn(t, "\x16\x7f\x16\x03\n")
	if got, _ := p.readSlave(100); got != "\x7f\x03\n" {
		t.Errorf("line = %q", got)
	}
	if s := p.w.signals(); len(s) != 0 {
		t.Errorf("signals %v for a literal ^C", s)
	}
}

func TestReprint(t *testing.T) {
	p := newPair(t)
	p.typeIn(t, "ab\x12")
	if got := p.readMaster(t); got != "ab^R\r\nab" {
		t.Errorf("echo = %q", got)
	}
}

func TestInputTranslation(t *testing.T) {
	for _, tc := range []struct {
		name       string
		set, clear uint32
		in, want   string
	}{
		{"ICRNL", 0, 0, "a\r", "a\n"},
		{"IGNCR", unix.IGNCR, 0, "a\rb\n", "ab\n"},
		{"INLCR", unix.INLCR, unix.ICRNL, "a\nb\r", "a\rb\r"},
		{"no ICRNL", 0, unix.ICRNL, "a\rb\n", "a\rb\n"},
		{"ISTRIP", unix.ISTRIP, 0, "\xe1\n", "a\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t)
			p.setTermios(t, func(tio *unix.Termios) {
				tio.Iflag = tio.Iflag&^tc.clear | tc.set
				if tc.name == "INLCR" {
					tio.Lflag &^= unix.ICANON
				}
			})
			p.typeIn(t, tc.in)
			if got, _ := p.readSlave(100); got != tc.want {
				t.Errorf("read %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEchoFlags(t *testing.T) {
	p := newPair(t)
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag &^= unix.ECHO; tio.Lflag |= unix.ECHONL })
	p.typeIn(t, "secret\n")
	if got := p.readMaster(t); got != "\r\n" {
		t.Errorf("ECHONL echo = %q, want only the newline", got)
	}
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag |= unix.ECHO; tio.Lflag &^= unix.ECHOCTL })
	p.typeIn(t, "\x01\n")
	if got := p.readMaster(t); got != "\x01\r\n" {
		t.Errorf("echo without ECHOCTL = %q", got)
	}
	// A newline in non-canonical mode is an ordinary byte: ^J under
	// ECHOCTL, as on Linux.
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag |= unix.ECHOCTL; tio.Lflag &^= unix.ICANON })
	p.typeIn(t, "\n")
	if got := p.readMaster(t); got != "^J" {
		t.Errorf("raw newline echo = %q", got)
	}
}

func TestOutputProcessing(t *testing.T) {
	for _, tc := range []struct {
		name       string
		set, clear uint32
		out, want  string
	}{
		{"ONLCR", 0, 0, "a\nb", "a\r\nb"},
		{"no OPOST", 0, unix.OPOST, "a\nb", "a\nb"},
		{"OCRNL", unix.OCRNL, unix.ONLCR, "a\rb", "a\nb"},
		{"ONOCR", unix.ONOCR, 0, "\rab\r", "ab\r"},
		{"XTABS", unix.XTABS, 0, "ab\tc", "ab      c"},
		{"OLCUC", unix.OLCUC, 0, "ab", "AB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t)
			p.setTermios(t, func(tio *unix.Termios) { tio.Oflag = tio.Oflag&^tc.clear | tc.set })
			if n, err := p.s.WriteAt([]byte(tc.out), -1); n != len(tc.out) || err != nil {
				t.Fatalf("write: %d, %v", n, err)
			}
			if got := p.readMaster(t); got != tc.want {
				t.Errorf("master read %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNonCanonicalMinTime(t *testing.T) {
	p := newPair(t)
	raw := func(vmin, vtime uint8) {
		p.setTermios(t, func(tio *unix.Termios) {
			tio.Lflag &^= unix.ICANON | unix.ECHO
			tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = vmin, vtime
		})
	}
	// MIN 0, TIME 0: a poll.
	raw(0, 0)
	if got, err := p.readSlave(10); got != "" || err != nil {
		t.Errorf("MIN=0 TIME=0 empty read = %q, %v; want 0 bytes", got, err)
	}
	p.typeIn(t, "ab")
	if got, _ := p.readSlave(10); got != "ab" {
		t.Errorf("read %q", got)
	}

	// MIN 3, TIME 0: wait for three bytes (or a smaller count).
	raw(3, 0)
	p.typeIn(t, "xy")
	if _, err := p.readSlave(10); err != unix.EAGAIN {
		t.Errorf("MIN=3 with 2 bytes: %v, want EAGAIN", err)
	}
	if p.s.Readiness(waiter.EventIn) != 0 {
		t.Error("poll readable below MIN with TIME 0")
	}
	if got, _ := p.readSlave(2); got != "xy" {
		t.Errorf("read(2) = %q: a count below MIN is enough", got)
	}
	p.typeIn(t, "xy")
	// O_NONBLOCK returns what is there.
	p.s.BeginRead(nil, true)
	if got, err := p.readSlave(10); got != "xy" || err != nil {
		t.Errorf("nonblocking read = %q, %v", got, err)
	}
	p.s.BeginRead(nil, false)

	// MIN 0, TIME 5: a read timer of half a second.
	raw(0, 5)
	p.s.BeginRead(nil, false)
	if _, err := p.readSlave(10); err != unix.EAGAIN {
		t.Fatalf("MIN=0 TIME=5: %v, want EAGAIN", err)
	}
	p.clock.advance(400 * time.Millisecond)
	if _, err := p.readSlave(10); err != unix.EAGAIN {
		t.Fatalf("before the timeout: %v, want EAGAIN", err)
	}
	p.clock.advance(100 * time.Millisecond)
	if got, err := p.readSlave(10); got != "" || err != nil {
		t.Fatalf("at the timeout: %q, %v; want 0 bytes", got, err)
	}
	p.s.BeginRead(nil, false)
	p.typeIn(t, "q")
	if got, _ := p.readSlave(10); got != "q" {
		t.Errorf("read = %q", got)
	}

	// MIN 4, TIME 2: an inter-byte timer.
	raw(4, 2)
	p.s.BeginRead(nil, false)
	if _, err := p.readSlave(10); err != unix.EAGAIN {
		t.Fatalf("no byte yet: %v", err)
	}
	p.clock.advance(time.Second) // no timer before the first byte
	if _, err := p.readSlave(10); err != unix.EAGAIN {
		t.Fatalf("no byte yet after a second: %v", err)
	}
	p.typeIn(t, "a")
	p.clock.advance(150 * time.Millisecond)
	p.typeIn(t, "b") // restarts the timer
	p.clock.advance(150 * time.Millisecond)
	if _, err := p.readSlave(10); err != unix.EAGAIN {
		t.Fatalf("inside the inter-byte time: %v", err)
	}
	p.clock.advance(50 * time.Millisecond)
	if got, err := p.readSlave(10); got != "ab" || err != nil {
		t.Errorf("after the inter-byte time: %q, %v", got, err)
	}
	p.typeIn(t, "wxyz")
	if got, _ := p.readSlave(10); got != "wxyz" {
		t.Errorf("MIN reached: %q", got)
	}
}

func TestCanonToggleMakesALine(t *testing.T) {
	p := newPair(t)
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag &^= unix.ICANON })
	p.typeIn(t, "ab")
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag |= unix.ICANON })
	if got, _ := p.readSlave(10); got != "ab" {
		t.Errorf("read %q: raw input becomes a line", got)
	}
}

func TestSignalCharacters(t *testing.T) {
	p := newPair(t)
	p.t.session, p.t.pgrp = 10, 12
	p.typeIn(t, "abc\x03")
	p.t.post.flush()
	if s := p.w.signals(); len(s) != 1 || s[0] != (sent{12, unix.SIGINT}) {
		t.Fatalf("signals = %v, want SIGINT to group 12", s)
	}
	if got := p.readMaster(t); got != "abc^C" {
		t.Errorf("echo = %q", got)
	}
	p.typeIn(t, "\n")
	if got, _ := p.readSlave(10); got != "\n" {
		t.Errorf("input after ^C = %q: the line was flushed", got)
	}
	p.typeIn(t, "\x1c\x1a")
	p.t.post.flush()
	if s := p.w.signals(); len(s) != 2 || s[0].sig != unix.SIGQUIT || s[1].sig != unix.SIGTSTP {
		t.Errorf("signals = %v, want SIGQUIT then SIGTSTP", s)
	}
	// NOFLSH keeps the input; without ISIG ^C is data.
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag |= unix.NOFLSH })
	p.typeIn(t, "x\x03y\n")
	if got, _ := p.readSlave(10); got != "xy\n" {
		t.Errorf("NOFLSH line = %q", got)
	}
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag &^= unix.ISIG })
	p.typeIn(t, "\x03\n")
	if got, _ := p.readSlave(10); got != "\x03\n" {
		t.Errorf("without ISIG: %q", got)
	}
	p.t.post.flush()
	if s := p.w.signals(); len(s) != 1 {
		t.Errorf("signals = %v, want the one of the NOFLSH line", s)
	}
}

func TestFlowControl(t *testing.T) {
	p := newPair(t)
	p.typeIn(t, "\x13") // ^S
	if _, err := p.s.WriteAt([]byte("x"), -1); err != unix.EAGAIN {
		t.Fatalf("write while stopped: %v, want EAGAIN", err)
	}
	if p.s.Readiness(waiter.EventOut) != 0 {
		t.Error("slave writable while stopped")
	}
	p.typeIn(t, "\x11") // ^Q
	if n, err := p.s.WriteAt([]byte("x"), -1); n != 1 || err != nil {
		t.Fatalf("write after start: %d, %v", n, err)
	}
	if got := p.readMaster(t); got != "x" {
		t.Errorf("master read %q", got)
	}
}

func TestBufferLimits(t *testing.T) {
	p := newPair(t)
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag &^= unix.ECHO })
	// A canonical line is cut at 4096 bytes but still ends.
	p.typeIn(t, strings.Repeat("a", 5000))
	p.typeIn(t, "\n")
	got, _ := p.readSlave(10000)
	if len(got) != readBufSize || !strings.HasSuffix(got, "a\n") {
		t.Errorf("long line: %d bytes, want %d ending in a newline", len(got), readBufSize)
	}
	// Raw mode: the read buffer and the flip buffer fill, then writes wait.
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag &^= unix.ICANON })
	total := 0
	for {
		n, err := p.m.WriteAt(make([]byte, 1000), -1)
		total += n
		if err == unix.EAGAIN {
			break
		}
	}
	if want := readBufSize - 1 + flipSize; total != want {
		t.Errorf("raw input took %d bytes, want %d", total, want)
	}
	if p.m.Readiness(waiter.EventOut) != 0 {
		t.Error("master writable with full buffers")
	}
	if got, _ := p.readSlave(100); len(got) != 100 {
		t.Fatalf("read %d", len(got))
	}
	if p.m.Readiness(waiter.EventOut) == 0 {
		t.Error("master not writable after the slave read")
	}
	// Output: the master's read buffer and flip buffer fill.
	total = 0
	for {
		n, err := p.s.WriteAt(make([]byte, 1000), -1)
		total += n
		if err == unix.EAGAIN {
			break
		}
	}
	if want := readBufSize - 1 + flipSize; total != want {
		t.Errorf("output took %d bytes, want %d", total, want)
	}
}

func TestPacketMode(t *testing.T) {
	p := newPair(t)
	tk := p.w.addProc(1, 1, 1)
	putInt32(tk, 0, 1)
	if _, err := p.m.Ioctl(tk, unix.TIOCPKT, 0); err != nil {
		t.Fatal(err)
	}
	p.s.WriteAt([]byte("hi"), -1)
	b := make([]byte, 10)
	if n, _ := p.m.ReadAt(b, -1); string(b[:n]) != "\x00hi" {
		t.Errorf("packet = %q, want a 0 header and the data", b[:n])
	}
	p.typeIn(t, "\x13")
	if p.m.Readiness(waiter.EventPri) == 0 {
		t.Error("no POLLPRI for a status")
	}
	if n, _ := p.m.ReadAt(b, -1); n != 1 || b[0] != unix.TIOCPKT_STOP {
		t.Errorf("status = %v", b[:n])
	}
}

func TestFIONREAD(t *testing.T) {
	p := newPair(t)
	tk := p.w.addProc(1, 1, 1)
	p.typeIn(t, "ab\ncd\x04ef")
	if _, err := p.s.Ioctl(tk, unix.TIOCINQ, 0); err != nil {
		t.Fatal(err)
	}
	if n := getInt32(tk, 0); n != 5 {
		t.Errorf("slave FIONREAD = %d, want 5 (complete lines, no EOF mark)", n)
	}
	p.m.Ioctl(tk, unix.TIOCINQ, 0)
	if n := getInt32(tk, 0); n != 8 {
		t.Errorf("master FIONREAD = %d, want the 8 echoed bytes (\"ab\\r\\ncdef\")", n)
	}
	p.s.Ioctl(tk, unix.TIOCOUTQ, 0)
	if n := getInt32(tk, 0); n != 0 {
		t.Errorf("TIOCOUTQ = %d", n)
	}
}

func TestFlush(t *testing.T) {
	p := newPair(t)
	tk := p.w.addProc(1, 1, 1)
	p.typeIn(t, "ab\n")
	if _, err := p.s.Ioctl(tk, unix.TCFLSH, unix.TCIFLUSH); err != nil {
		t.Fatal(err)
	}
	if _, err := p.readSlave(10); err != unix.EAGAIN {
		t.Errorf("read after TCIFLUSH: %v", err)
	}
	if _, err := p.m.Ioctl(tk, unix.TCFLSH, unix.TCIFLUSH); err != nil {
		t.Fatal(err)
	}
	if got := p.readMaster(t); got != "" {
		t.Errorf("master read after its TCIFLUSH: %q", got)
	}
	if _, err := p.s.Ioctl(tk, unix.TCFLSH, 7); err != unix.EINVAL {
		t.Errorf("TCFLSH 7: %v", err)
	}
}

func TestTermiosLayout(t *testing.T) {
	p := newPair(t)
	tk := p.w.addProc(1, 1, 1)
	for i := range tk.mem {
		tk.mem[i] = 0xee
	}
	if _, err := p.s.Ioctl(tk, unix.TCGETS, 0); err != nil {
		t.Fatal(err)
	}
	if tk.mem[termiosSize] != 0xee {
		t.Error("TCGETS wrote past struct termios")
	}
	tio := decodeTermios(tk.mem[:termiosSize], &unix.Termios{})
	want := DefaultTermios()
	if tio != want {
		t.Errorf("TCGETS = %+v\nwant %+v", tio, want)
	}
	if _, err := p.s.Ioctl(tk, unix.TCGETS2, 0); err != nil {
		t.Fatal(err)
	}
	if tio2 := decodeTermios(tk.mem[:termios2Size], &unix.Termios{}); tio2.Ispeed != 38400 || tio2.Ospeed != 38400 {
		t.Errorf("TCGETS2 speeds %d/%d", tio2.Ispeed, tio2.Ospeed)
	}
	// The pty keeps CS8 and CREAD; TCSETS moves speeds with CBAUD.
	p.setTermios(t, func(tio *unix.Termios) {
		tio.Cflag = tio.Cflag&^(unix.CBAUD|unix.CSIZE|unix.CREAD) | unix.B9600 | unix.CS7 | unix.PARENB
	})
	got := p.getTermios(t)
	if got.Cflag&unix.CSIZE != unix.CS8 || got.Cflag&unix.CREAD == 0 || got.Cflag&unix.PARENB != 0 {
		t.Errorf("cflag %#x: want CS8|CREAD without PARENB", got.Cflag)
	}
	if got.Ospeed != 9600 {
		t.Errorf("ospeed = %d", got.Ospeed)
	}
	if _, err := p.s.Ioctl(tk, unix.TCGETS, 5000); err != unix.EFAULT {
		t.Errorf("TCGETS to a bad address: %v", err)
	}
	if _, err := p.s.Ioctl(tk, 0x1234, 0); err != unix.ENOTTY {
		t.Errorf("unknown ioctl: %v, want ENOTTY", err)
	}
}
