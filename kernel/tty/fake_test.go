package tty

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// world is a fake kernel: processes with their groups, sessions and
// controlling terminals, and a record of the signals sent. mu plays the
// kernel's lock.
type world struct {
	mu      sync.Mutex
	procs   map[int32]*proc
	sent    []sent
	hangups []int32
}

type proc struct {
	pid, pgid, sid int32
	ctty           *Terminal
	ignored        map[unix.Signal]bool
	orphaned       bool
	admin          bool
}

type sent struct {
	pgid int32 // negative: a single process (the session leader)
	sig  unix.Signal
}

func newWorld() *world { return &world{procs: map[int32]*proc{}} }

// addProc adds a process; a leader (pid == sid) leads its session.
func (w *world) addProc(pid, pgid, sid int32) *task {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := &proc{pid: pid, pgid: pgid, sid: sid, ignored: map[unix.Signal]bool{}}
	w.procs[pid] = p
	return &task{w: w, p: p, mem: make([]byte, 4096)}
}

func (w *world) SignalProcessGroup(pgid int32, sig unix.Signal) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent = append(w.sent, sent{pgid, sig})
}

func (w *world) HangUp(sid int32, t *Terminal) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hangups = append(w.hangups, sid)
	for _, p := range w.procs {
		if p.sid == sid && p.ctty == t {
			p.ctty = nil
		}
		if p.pid == sid {
			w.sent = append(w.sent, sent{-p.pid, unix.SIGHUP}, sent{-p.pid, unix.SIGCONT})
		}
	}
}

func (w *world) signals() []sent {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.sent
	w.sent = nil
	return s
}

// task is a fake calling task: job control, memory for ioctls, and a
// descriptor table for TIOCGPTPEER.
type task struct {
	w         *world
	p         *proc
	mem       []byte
	installed []*vfs.File
}

func (tk *task) WithJobControl(fn func(JobControl) error) error {
	tk.w.mu.Lock()
	defer tk.w.mu.Unlock()
	return fn(jcView{tk})
}

func (tk *task) CopyIn(addr uintptr, dst []byte) (int, error) {
	if addr >= uintptr(len(tk.mem)) || addr+uintptr(len(dst)) > uintptr(len(tk.mem)) {
		return 0, unix.EFAULT
	}
	return copy(dst, tk.mem[addr:]), nil
}

func (tk *task) CopyOut(addr uintptr, src []byte) (int, error) {
	if addr >= uintptr(len(tk.mem)) || addr+uintptr(len(src)) > uintptr(len(tk.mem)) {
		return 0, unix.EFAULT
	}
	return copy(tk.mem[addr:], src), nil
}

func (tk *task) InstallFile(f *vfs.File, cloexec bool) (int32, error) {
	f.IncRef()
	tk.installed = append(tk.installed, f)
	return int32(9 + len(tk.installed)), nil
}

func (tk *task) ctty() *Terminal {
	tk.w.mu.Lock()
	defer tk.w.mu.Unlock()
	return tk.p.ctty
}

// jcView is the JobControl of a task, used under world.mu.
type jcView struct{ tk *task }

func (v jcView) ProcessGroup() int32                { return v.tk.p.pgid }
func (v jcView) Session() int32                     { return v.tk.p.sid }
func (v jcView) SessionLeader() bool                { return v.tk.p.pid == v.tk.p.sid }
func (v jcView) ControllingTerminal() *Terminal     { return v.tk.p.ctty }
func (v jcView) SetControllingTerminal(t *Terminal) { v.tk.p.ctty = t }
func (v jcView) SignalIgnored(sig unix.Signal) bool { return v.tk.p.ignored[sig] }
func (v jcView) ProcessGroupOrphaned() bool         { return v.tk.p.orphaned }
func (v jcView) Capable(cap int) bool               { return v.tk.p.admin }
func (v jcView) SignalProcessGroup(pgid int32, sig unix.Signal) {
	v.tk.w.sent = append(v.tk.w.sent, sent{pgid, sig})
}

func (v jcView) ClearControllingTerminal(sid int32, t *Terminal) {
	for _, p := range v.tk.w.procs {
		if p.sid == sid && (t == nil || p.ctty == t) {
			p.ctty = nil
		}
	}
}

func (v jcView) ProcessGroupSession(pgid int32) (int32, bool) {
	for _, p := range v.tk.w.procs {
		if p.pgid == pgid {
			return p.sid, true
		}
	}
	return 0, false
}

// fakeClock is the terminal's clock in tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// pair is a terminal under test with its master and an open slave.
type pair struct {
	t     *Terminal
	m     *Master
	s     *Slave
	w     *world
	clock *fakeClock
}

func newPair(tb testing.TB) *pair {
	tb.Helper()
	w := newWorld()
	t, m := New(0, unix.O_RDWR, w, Hooks{})
	clock := &fakeClock{t: time.Unix(1000, 0)}
	t.now = clock.now
	t.Unlock()
	s, err := t.OpenSlave(&vfs.Context{Creds: &vfs.Creds{}}, unix.O_RDWR|unix.O_NOCTTY, false)
	if err != nil {
		tb.Fatal(err)
	}
	return &pair{t: t, m: m, s: s, w: w, clock: clock}
}

// typeIn writes on the master, as a user typing.
func (p *pair) typeIn(tb testing.TB, s string) {
	tb.Helper()
	n, err := p.m.WriteAt([]byte(s), -1)
	if err != nil || n != len(s) {
		tb.Fatalf("master write %q: %d, %v", s, n, err)
	}
}

// readSlave reads the slave with a buffer of size n.
func (p *pair) readSlave(n int) (string, error) {
	b := make([]byte, n)
	k, err := p.s.ReadAt(b, -1)
	return string(b[:k]), err
}

// readMaster reads everything the master has.
func (p *pair) readMaster(tb testing.TB) string {
	tb.Helper()
	var out []byte
	b := make([]byte, 512)
	for {
		n, err := p.m.ReadAt(b, -1)
		out = append(out, b[:n]...)
		if err == unix.EAGAIN {
			return string(out)
		}
		if err != nil {
			tb.Fatalf("master read: %v", err)
		}
	}
}

// setTermios changes the slave's settings through TCSETS.
func (p *pair) setTermios(tb testing.TB, change func(*unix.Termios)) {
	tb.Helper()
	tk := p.w.addProc(99, 99, 99)
	tio := p.getTermios(tb)
	change(&tio)
	b := make([]byte, termiosSize)
	encodeTermios(&tio, b)
	copy(tk.mem[100:], b)
	if _, err := p.s.Ioctl(tk, unix.TCSETS, 100); err != nil {
		tb.Fatalf("TCSETS: %v", err)
	}
}

func (p *pair) getTermios(tb testing.TB) unix.Termios {
	tb.Helper()
	tk := &task{w: p.w, p: &proc{}, mem: make([]byte, 256)}
	if _, err := p.s.Ioctl(tk, unix.TCGETS, 0); err != nil {
		tb.Fatalf("TCGETS: %v", err)
	}
	return decodeTermios(tk.mem[:termiosSize], &unix.Termios{Ispeed: 38400, Ospeed: 38400})
}

func getInt32(tk *task, addr uintptr) int32 {
	return int32(binary.LittleEndian.Uint32(tk.mem[addr:]))
}

func putInt32(tk *task, addr uintptr, v int32) {
	binary.LittleEndian.PutUint32(tk.mem[addr:], uint32(v))
}
