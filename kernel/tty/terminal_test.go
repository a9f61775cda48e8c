package tty

import (
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

func TestHangUpOnMasterClose(t *testing.T) {
	var masterClosed, released int
	w := newWorld()
	term, m := New(3, unix.O_RDWR, w, Hooks{
		MasterClosed: func() { masterClosed++ },
		Released:     func() { released++ },
	})
	term.Unlock()
	leader := w.addProc(10, 10, 10)
	s, err := term.OpenSlave(&vfs.Context{Creds: &vfs.Creds{}, Task: leader}, unix.O_RDWR, false)
	if err != nil {
		t.Fatal(err)
	}
	if leader.ctty() != term {
		t.Fatal("the session leader did not acquire its terminal on open")
	}
	m.WriteAt([]byte("unread\n"), -1)
	e, ch := waiter.NewChannelEntry(waiter.EventIn | waiter.EventHUp)
	s.EventRegister(e)
	defer s.EventUnregister(e)

	m.Release()
	term.post.flush()
	select {
	case <-ch:
	default:
		t.Error("slave readers not woken by the hang-up")
	}
	if masterClosed != 1 || released != 0 {
		t.Errorf("hooks: masterClosed %d released %d, want 1 0", masterClosed, released)
	}
	if n, err := s.ReadAt(make([]byte, 10), -1); n != 0 || err != nil {
		t.Errorf("read after hang-up: %d, %v; want end of file", n, err)
	}
	if _, err := s.WriteAt([]byte("x"), -1); err != unix.EIO {
		t.Errorf("write after hang-up: %v, want EIO", err)
	}
	if r := s.Readiness(waiter.EventIn | waiter.EventOut); r&(waiter.EventHUp|waiter.EventIn|waiter.EventOut) != waiter.EventHUp|waiter.EventIn|waiter.EventOut {
		t.Errorf("readiness after hang-up = %#x", r)
	}
	if _, err := s.Ioctl(leader, unix.TCGETS, 0); err != unix.EIO {
		t.Errorf("TCGETS after hang-up: %v, want EIO", err)
	}
	if _, err := s.Ioctl(leader, unix.TIOCSPGRP, 0); err != unix.ENOTTY {
		t.Errorf("TIOCSPGRP after hang-up: %v, want ENOTTY", err)
	}
	if len(w.hangups) != 1 || w.hangups[0] != 10 {
		t.Errorf("HangUp calls %v, want session 10", w.hangups)
	}
	if leader.ctty() != nil {
		t.Error("the session kept its hung-up terminal")
	}
	if got := w.signals(); len(got) != 2 || got[0] != (sent{-10, unix.SIGHUP}) || got[1] != (sent{-10, unix.SIGCONT}) {
		t.Errorf("signals %v, want SIGHUP and SIGCONT to the leader", got)
	}
	if _, err := term.OpenSlave(&vfs.Context{Creds: &vfs.Creds{}}, unix.O_RDWR, false); err != unix.EIO {
		t.Errorf("open after the master closed: %v, want EIO", err)
	}
	s.Release()
	if released != 1 {
		t.Errorf("released %d after the last close", released)
	}
}

func TestSlaveClose(t *testing.T) {
	p := newPair(t)
	// Before the slave was ever closed, an empty master waits.
	if _, err := p.m.ReadAt(make([]byte, 10), -1); err != unix.EAGAIN {
		t.Fatalf("empty master read: %v", err)
	}
	p.s.WriteAt([]byte("bye"), -1)
	p.s.Release()
	if r := p.m.Readiness(waiter.EventIn); r&waiter.EventHUp == 0 || r&waiter.EventIn == 0 {
		t.Errorf("master readiness %#x, want IN|HUP", r)
	}
	b := make([]byte, 10)
	if n, err := p.m.ReadAt(b, -1); string(b[:n]) != "bye" || err != nil {
		t.Errorf("master read %q, %v: queued output first", b[:n], err)
	}
	if _, err := p.m.ReadAt(b, -1); err != unix.EIO {
		t.Errorf("master read after the slave closed: %v, want EIO", err)
	}
	// Writing to a closed slave is allowed; reopening it clears the HUP.
	if _, err := p.m.WriteAt([]byte("x"), -1); err != nil {
		t.Errorf("master write: %v", err)
	}
	s, err := p.t.OpenSlave(&vfs.Context{Creds: &vfs.Creds{}}, unix.O_RDWR, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	if p.m.Readiness(waiter.EventIn)&waiter.EventHUp != 0 {
		t.Error("HUP after the slave reopened")
	}
}

func TestLockAndPTYIoctls(t *testing.T) {
	w := newWorld()
	term, m := New(7, unix.O_RDWR, w, Hooks{})
	ctx := &vfs.Context{Creds: &vfs.Creds{}}
	if _, err := term.OpenSlave(ctx, unix.O_RDWR, false); err != unix.EIO {
		t.Fatalf("open of a locked slave: %v, want EIO", err)
	}
	tk := w.addProc(1, 1, 1)
	if _, err := m.Ioctl(tk, unix.TIOCGPTLCK, 0); err != nil || getInt32(tk, 0) != 1 {
		t.Errorf("TIOCGPTLCK: %v %d", err, getInt32(tk, 0))
	}
	putInt32(tk, 0, 0)
	if _, err := m.Ioctl(tk, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	s, err := term.OpenSlave(ctx, unix.O_RDWR, false)
	if err != nil {
		t.Fatalf("open after unlock: %v", err)
	}
	if _, err := m.Ioctl(tk, unix.TIOCGPTN, 0); err != nil || getInt32(tk, 0) != 7 {
		t.Errorf("TIOCGPTN: %v %d", err, getInt32(tk, 0))
	}
	if _, err := s.Ioctl(tk, unix.TIOCGPTN, 0); err != unix.ENOTTY {
		t.Errorf("TIOCGPTN on the slave: %v, want ENOTTY", err)
	}
	if _, err := s.Ioctl(tk, unix.TIOCGDEV, 0); err != nil || uint32(getInt32(tk, 0)) != 136<<8|7 {
		t.Errorf("TIOCGDEV: %v %#x", err, getInt32(tk, 0))
	}
	// TIOCGPTPEER opens another slave, installed by the task.
	fd, err := m.Ioctl(tk, unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY)
	if err != nil || len(tk.installed) != 1 {
		t.Fatalf("TIOCGPTPEER: %d, %v", fd, err)
	}
	peer := tk.installed[0]
	m.WriteAt([]byte("hi\n"), -1)
	b := make([]byte, 10)
	if n, _ := peer.Impl.ReadAt(b, -1); string(b[:n]) != "hi\n" {
		t.Errorf("peer read %q", b[:n])
	}
	peer.DecRef()
	// TIOCEXCL: only CAP_SYS_ADMIN opens again.
	s.Ioctl(tk, unix.TIOCEXCL, 0)
	if _, err := term.OpenSlave(ctx, unix.O_RDWR, false); err != unix.EBUSY {
		t.Errorf("open under TIOCEXCL: %v, want EBUSY", err)
	}
	admin := &vfs.Context{Creds: &vfs.Creds{Caps: 1 << vfs.CapSysAdmin}}
	s2, err := term.OpenSlave(admin, unix.O_RDWR, false)
	if err != nil {
		t.Errorf("CAP_SYS_ADMIN open under TIOCEXCL: %v", err)
	} else {
		s2.Release()
	}
	s.Release()
	m.Release()
}

func TestWindowSize(t *testing.T) {
	p := newPair(t)
	p.t.session, p.t.pgrp = 5, 6
	tk := p.w.addProc(1, 1, 1)
	copy(tk.mem[8:], []byte{24, 0, 80, 0, 0, 0, 0, 0})
	if _, err := p.m.Ioctl(tk, unix.TIOCSWINSZ, 8); err != nil {
		t.Fatal(err)
	}
	// The signal is pending when the ioctl returns.
	if s := p.w.signals(); len(s) != 1 || s[0] != (sent{6, unix.SIGWINCH}) {
		t.Errorf("signals %v, want SIGWINCH to group 6", s)
	}
	if _, err := p.s.Ioctl(tk, unix.TIOCGWINSZ, 0); err != nil {
		t.Fatal(err)
	}
	if ws := decodeWinsize(tk.mem[:8]); ws.Row != 24 || ws.Col != 80 {
		t.Errorf("window %+v", ws)
	}
	// The same size again: no signal.
	p.s.Ioctl(tk, unix.TIOCSWINSZ, 8)
	if s := p.w.signals(); len(s) != 0 {
		t.Errorf("signals %v for an unchanged size", s)
	}
}

func TestControllingTerminal(t *testing.T) {
	p := newPair(t)
	leader := p.w.addProc(10, 10, 10)
	member := p.w.addProc(11, 10, 10)
	other := p.w.addProc(20, 20, 20)

	// The slave was opened with O_NOCTTY: nobody controls it.
	if _, err := p.s.Ioctl(leader, unix.TIOCGPGRP, 0); err != unix.ENOTTY {
		t.Errorf("TIOCGPGRP without a controlling terminal: %v", err)
	}
	if _, err := p.s.Ioctl(member, unix.TIOCSCTTY, 0); err != unix.EPERM {
		t.Errorf("TIOCSCTTY by a non-leader: %v, want EPERM", err)
	}
	if _, err := p.s.Ioctl(leader, unix.TIOCSCTTY, 0); err != nil {
		t.Fatalf("TIOCSCTTY: %v", err)
	}
	if leader.ctty() != p.t {
		t.Fatal("TIOCSCTTY did not set the controlling terminal")
	}
	if sid, pg := p.t.Session(); sid != 10 || pg != 10 {
		t.Errorf("session %d group %d", sid, pg)
	}
	// Another session cannot take it, nor steal it without CAP_SYS_ADMIN.
	if _, err := p.s.Ioctl(other, unix.TIOCSCTTY, 1); err != unix.EPERM {
		t.Errorf("TIOCSCTTY of another session's terminal: %v", err)
	}
	if _, err := p.s.Ioctl(leader, unix.TIOCGSID, 4); err != nil || getInt32(leader, 4) != 10 {
		t.Errorf("TIOCGSID: %v %d", err, getInt32(leader, 4))
	}
	// The master answers TIOCGPGRP for anybody.
	if _, err := p.m.Ioctl(other, unix.TIOCGPGRP, 0); err != nil || getInt32(other, 0) != 10 {
		t.Errorf("master TIOCGPGRP: %v %d", err, getInt32(other, 0))
	}

	// tcsetpgrp: a group of the session.
	member.p.ctty = p.t
	p.w.mu.Lock()
	member.p.pgid = 11
	p.w.mu.Unlock()
	putInt32(leader, 0, 11)
	if _, err := p.s.Ioctl(leader, unix.TIOCSPGRP, 0); err != nil {
		t.Fatalf("TIOCSPGRP: %v", err)
	}
	putInt32(member, 0, 20)
	if _, err := p.s.Ioctl(member, unix.TIOCSPGRP, 0); err != unix.EPERM {
		t.Errorf("TIOCSPGRP to another session's group: %v, want EPERM", err)
	}
	putInt32(member, 0, 99)
	if _, err := p.s.Ioctl(member, unix.TIOCSPGRP, 0); err != unix.ESRCH {
		t.Errorf("TIOCSPGRP to no group: %v, want ESRCH", err)
	}
	if _, err := p.s.Ioctl(other, unix.TIOCSPGRP, 0); err != unix.ENOTTY {
		t.Errorf("TIOCSPGRP by another session: %v, want ENOTTY", err)
	}

	// TIOCNOTTY by the leader: the foreground group gets SIGHUP and
	// SIGCONT, and the session loses the terminal.
	p.w.signals()
	if _, err := p.s.Ioctl(leader, unix.TIOCNOTTY, 0); err != nil {
		t.Fatal(err)
	}
	if s := p.w.signals(); len(s) != 2 || s[0] != (sent{11, unix.SIGHUP}) || s[1] != (sent{11, unix.SIGCONT}) {
		t.Errorf("signals %v", s)
	}
	if leader.ctty() != nil || member.ctty() != nil {
		t.Error("the session kept its terminal")
	}
	if sid, pg := p.t.Session(); sid != 0 || pg != 0 {
		t.Errorf("terminal still has session %d group %d", sid, pg)
	}
	// Now free: another leader steals nothing, it just takes it.
	if _, err := p.s.Ioctl(other, unix.TIOCSCTTY, 0); err != nil {
		t.Errorf("TIOCSCTTY of a free terminal: %v", err)
	}
	// Stealing back needs CAP_SYS_ADMIN and arg 1.
	leader.p.admin = true
	if _, err := p.s.Ioctl(leader, unix.TIOCSCTTY, 1); err != nil {
		t.Errorf("steal with CAP_SYS_ADMIN: %v", err)
	}
	if other.ctty() != nil || leader.ctty() != p.t {
		t.Error("steal did not move the terminal")
	}
}

func TestJobControl(t *testing.T) {
	p := newPair(t)
	leader := p.w.addProc(10, 10, 10)
	bg := p.w.addProc(12, 12, 10)
	if _, err := p.s.Ioctl(leader, unix.TIOCSCTTY, 0); err != nil {
		t.Fatal(err)
	}
	bg.p.ctty = p.t

	if err := p.s.BeginRead(leader, false); err != nil {
		t.Errorf("foreground read: %v", err)
	}
	if err := p.s.BeginRead(bg, false); err != errRestartSys {
		t.Errorf("background read: %v, want ERESTARTSYS", err)
	}
	if s := p.w.signals(); len(s) != 1 || s[0] != (sent{12, unix.SIGTTIN}) {
		t.Errorf("signals %v, want SIGTTIN to group 12", s)
	}
	bg.p.ignored[unix.SIGTTIN] = true
	if err := p.s.BeginRead(bg, false); err != unix.EIO {
		t.Errorf("background read ignoring SIGTTIN: %v, want EIO", err)
	}
	bg.p.ignored[unix.SIGTTIN] = false
	bg.p.orphaned = true
	if err := p.s.BeginRead(bg, false); err != unix.EIO {
		t.Errorf("read by an orphaned group: %v, want EIO", err)
	}
	bg.p.orphaned = false

	// Writes are checked only under TOSTOP.
	if err := p.s.BeginWrite(bg); err != nil {
		t.Errorf("background write without TOSTOP: %v", err)
	}
	p.setTermios(t, func(tio *unix.Termios) { tio.Lflag |= unix.TOSTOP })
	if err := p.s.BeginWrite(bg); err != errRestartSys {
		t.Errorf("background write with TOSTOP: %v", err)
	}
	bg.p.ignored[unix.SIGTTOU] = true
	if err := p.s.BeginWrite(bg); err != nil {
		t.Errorf("background write ignoring SIGTTOU: %v, want allowed", err)
	}
	bg.p.ignored[unix.SIGTTOU] = false
	p.w.signals()
	// Changing settings from the background stops the group.
	if _, err := p.s.Ioctl(bg, unix.TCSETS, 0); err != errRestartSys {
		t.Errorf("background TCSETS: %v", err)
	}
	if s := p.w.signals(); len(s) != 1 || s[0] != (sent{12, unix.SIGTTOU}) {
		t.Errorf("signals %v, want SIGTTOU", s)
	}
	// A process with another controlling terminal is not concerned.
	outsider := p.w.addProc(30, 30, 30)
	if err := p.s.BeginRead(outsider, false); err != nil {
		t.Errorf("read by a process of another session: %v", err)
	}
}

func TestOpenAcquiresControllingTerminal(t *testing.T) {
	w := newWorld()
	term, m := New(0, unix.O_RDWR, w, Hooks{})
	defer m.Release()
	term.Unlock()
	leader := w.addProc(10, 10, 10)
	ctx := &vfs.Context{Creds: &vfs.Creds{}, Task: leader}
	// Write-only, O_NOCTTY, or noctty: no.
	for _, o := range []struct {
		flags   int
		noctty  bool
		comment string
	}{{unix.O_WRONLY, false, "write-only"}, {unix.O_RDWR | unix.O_NOCTTY, false, "O_NOCTTY"}, {unix.O_RDWR, true, "noctty"}} {
		s, err := term.OpenSlave(ctx, o.flags, o.noctty)
		if err != nil {
			t.Fatal(err)
		}
		if leader.ctty() != nil {
			t.Errorf("%s open made the terminal controlling", o.comment)
		}
		s.Release()
	}
	member := w.addProc(11, 10, 10)
	s, _ := term.OpenSlave(&vfs.Context{Creds: &vfs.Creds{}, Task: member}, unix.O_RDWR, false)
	s.Release()
	if member.ctty() != nil {
		t.Error("a non-leader acquired the terminal")
	}
	s, _ = term.OpenSlave(ctx, unix.O_RDONLY, false)
	defer s.Release()
	if leader.ctty() != term {
		t.Error("the leader's read open did not acquire the terminal")
	}
}

func TestDisassociateOnExit(t *testing.T) {
	p := newPair(t)
	leader := p.w.addProc(10, 10, 10)
	member := p.w.addProc(11, 11, 10)
	p.s.Ioctl(leader, unix.TIOCSCTTY, 0)
	member.p.ctty = p.t
	p.t.pgrp = 11
	leader.WithJobControl(func(jc JobControl) error {
		Disassociate(jc, true)
		return nil
	})
	if s := p.w.signals(); len(s) != 1 || s[0] != (sent{11, unix.SIGHUP}) {
		t.Errorf("signals %v, want only SIGHUP to the foreground group", s)
	}
	if member.ctty() != nil {
		t.Error("the session kept the terminal")
	}
	// A non-leader's exit changes nothing.
	member.WithJobControl(func(jc JobControl) error {
		Disassociate(jc, true)
		return nil
	})
}

func TestTIOCSTI(t *testing.T) {
	p := newPair(t)
	leader := p.w.addProc(10, 10, 10)
	stranger := p.w.addProc(20, 20, 20)
	p.s.Ioctl(leader, unix.TIOCSCTTY, 0)
	leader.mem[0], stranger.mem[0] = 'z', 'y'
	if _, err := p.s.Ioctl(stranger, unix.TIOCSTI, 0); err != unix.EPERM {
		t.Errorf("TIOCSTI on another's terminal: %v, want EPERM", err)
	}
	if _, err := p.s.Ioctl(leader, unix.TIOCSTI, 0); err != nil {
		t.Fatal(err)
	}
	p.typeIn(t, "\n")
	if got, _ := p.readSlave(10); got != "z\n" {
		t.Errorf("line %q", got)
	}
}

func TestTIOCSIG(t *testing.T) {
	p := newPair(t)
	p.t.session, p.t.pgrp = 1, 4
	tk := p.w.addProc(2, 2, 2)
	if _, err := p.m.Ioctl(tk, unix.TIOCSIG, uintptr(unix.SIGINT)); err != nil {
		t.Fatal(err)
	}
	if s := p.w.signals(); len(s) != 1 || s[0] != (sent{4, unix.SIGINT}) {
		t.Errorf("signals %v", s)
	}
	if _, err := p.m.Ioctl(tk, unix.TIOCSIG, uintptr(unix.SIGKILL)); err != unix.EINVAL {
		t.Errorf("TIOCSIG SIGKILL: %v, want EINVAL", err)
	}
}

// TestStreamWithWaits moves 256 KiB from the master to the slave and
// back, each side waiting on its queue as the system-call layer does: no
// wake-up may be lost, and nothing reordered.
func TestStreamWithWaits(t *testing.T) {
	p := newPair(t)
	p.setTermios(t, func(tio *unix.Termios) {
		tio.Lflag &^= unix.ICANON | unix.ECHO | unix.ISIG | unix.IEXTEN
		tio.Iflag &^= unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
	})
	data := make([]byte, 256<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	// wait retries op until it stops failing with EAGAIN.
	wait := func(w interface {
		EventRegister(*waiter.Entry)
		EventUnregister(*waiter.Entry)
	}, mask uint32, op func() (int, error)) (int, error) {
		e, ch := waiter.NewChannelEntry(mask)
		w.EventRegister(e)
		defer w.EventUnregister(e)
		for {
			n, err := op()
			if err != unix.EAGAIN {
				return n, err
			}
			<-ch
		}
	}
	pump := func(src []byte, w func([]byte) (int, error), side interface {
		EventRegister(*waiter.Entry)
		EventUnregister(*waiter.Entry)
	}) {
		for len(src) > 0 {
			n, err := wait(side, waiter.EventOut, func() (int, error) { return w(src[:min(len(src), 3000)]) })
			if err != nil {
				t.Error(err)
				return
			}
			src = src[n:]
		}
	}
	drain := func(r func([]byte) (int, error), side interface {
		EventRegister(*waiter.Entry)
		EventUnregister(*waiter.Entry)
	}) []byte {
		var got []byte
		buf := make([]byte, 1000)
		for len(got) < len(data) {
			n, err := wait(side, waiter.EventIn, func() (int, error) { return r(buf) })
			if err != nil {
				t.Error(err)
				break
			}
			got = append(got, buf[:n]...)
		}
		return got
	}
	done := make(chan []byte)
	go func() { done <- drain(func(b []byte) (int, error) { return p.s.ReadAt(b, -1) }, p.s) }()
	pump(data, func(b []byte) (int, error) { return p.m.WriteAt(b, -1) }, p.m)
	if got := <-done; string(got) != string(data) {
		t.Errorf("master to slave: %d bytes, differing", len(got))
	}
	go func() { done <- drain(func(b []byte) (int, error) { return p.m.ReadAt(b, -1) }, p.m) }()
	pump(data, func(b []byte) (int, error) { return p.s.WriteAt(b, -1) }, p.s)
	if got := <-done; string(got) != string(data) {
		t.Errorf("slave to master: %d bytes, differing", len(got))
	}
}
