package kernel

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/tty"
	"magawa/kernel/vfs"
)

// newTerminal returns an unlocked pseudo-terminal pair signalling k.
func newTerminal(t *testing.T, k *Kernel, index uint32) (*tty.Terminal, *tty.Master) {
	t.Helper()
	term, m := tty.New(index, unix.O_RDWR, k, tty.Hooks{})
	term.Unlock()
	return term, m
}

// openSlave opens term's slave as task would with open(2).
func openSlave(t *testing.T, task *Task, term *tty.Terminal, flags int) *tty.Slave {
	t.Helper()
	s, err := term.OpenSlave(&vfs.Context{Creds: &vfs.Creds{}, Task: task}, flags, false)
	if err != nil {
		t.Fatalf("opening the slave: %v", err)
	}
	return s
}

// makeControlling is TIOCSCTTY by task.
func makeControlling(task *Task, term *tty.Terminal) error {
	return task.WithJobControl(func(jc tty.JobControl) error { return term.MakeControlling(jc, false) })
}

// newSession returns a process, child of parent, that leads a session
// of its own (as after setsid).
func newSession(t *testing.T, k *Kernel, parent *Task) *Task {
	t.Helper()
	leader := k.newTestTask(nil, parent.tg, Credentials{})
	if _, err := leader.Setsid(); err != nil {
		t.Fatalf("setsid: %v", err)
	}
	return leader
}

// exitProcess ends every thread of task's process, as exitThread does
// with the last of them.
func exitProcess(task *Task) {
	k := task.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := task.tg
	for o := range tg.tasks {
		delete(tg.tasks, o)
		if o != tg.leader {
			delete(k.tasks, o.tid)
		}
	}
	k.groupExitedLocked(tg)
}

// sentByKernel reports whether task's process has sig pending, from the
// kernel, count times.
func sentByKernel(t *testing.T, task *Task, sig unix.Signal, count int) {
	t.Helper()
	infos := pending(task, sig)
	if len(infos) != count {
		t.Errorf("process %d: %d %v pending, want %d", task.tg.id, len(infos), sig, count)
		return
	}
	for _, info := range infos {
		if info.Code != arch.SI_KERNEL {
			t.Errorf("process %d: %v with code %d, want SI_KERNEL", task.tg.id, sig, info.Code)
		}
	}
}

func TestControllingTerminalInheritedAndDroppedBySetsid(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	leader := newSession(t, k, init)
	term, _ := newTerminal(t, k, 0)

	// Opening for reading, without O_NOCTTY, acquires it.
	openSlave(t, leader, term, unix.O_RDWR)
	if got := leader.tg.ControllingTerminal(); got != term {
		t.Fatalf("the session leader's terminal after open: %p, want %p", got, term)
	}
	if sid, pgrp := term.Session(); sid != leader.tg.id || pgrp != leader.tg.id {
		t.Errorf("terminal's session and group: %d, %d; want %d", sid, pgrp, leader.tg.id)
	}
	child := k.newTestTask(nil, leader.tg, Credentials{})
	if got := child.tg.ControllingTerminal(); got != term {
		t.Errorf("a child's terminal: %p, want its parent's", got)
	}
	if _, err := child.Setsid(); err != nil {
		t.Fatal(err)
	}
	if got := child.tg.ControllingTerminal(); got != nil {
		t.Errorf("terminal after setsid: %p, want none", got)
	}
	if got := leader.tg.ControllingTerminal(); got != term {
		t.Errorf("the child's setsid took the parent's terminal")
	}
	// Only a session leader acquires; one terminal per session.
	if err := makeControlling(child, term); err != unix.EPERM {
		t.Errorf("TIOCSCTTY of another session's terminal: %v, want EPERM", err)
	}
	grandchild := k.newTestTask(nil, child.tg, Credentials{})
	other, _ := newTerminal(t, k, 1)
	if err := makeControlling(grandchild, other); err != unix.EPERM {
		t.Errorf("TIOCSCTTY by a non-leader: %v, want EPERM", err)
	}
	if err := makeControlling(child, other); err != nil || child.tg.ControllingTerminal() != other {
		t.Errorf("TIOCSCTTY by a new session's leader: %v", err)
	}
}

func TestKernelSignalsProcessGroup(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	a := k.newTestTask(nil, init.tg, Credentials{})
	b := k.newTestTask(nil, init.tg, Credentials{})
	catch(init, unix.SIGINT)
	catch(a, unix.SIGINT)
	catch(b, unix.SIGINT)
	if err := a.SetPgid(0, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.SetPgid(0, a.tg.id); err != nil {
		t.Fatal(err)
	}
	k.SignalProcessGroup(a.tg.id, unix.SIGINT)
	sentByKernel(t, a, unix.SIGINT, 1)
	sentByKernel(t, b, unix.SIGINT, 1)
	sentByKernel(t, init, unix.SIGINT, 0)

	// A group that is gone, or no group at all, is nothing to signal.
	k.SignalProcessGroup(12345, unix.SIGINT)
	k.SignalProcessGroup(0, unix.SIGINT)
	k.SignalProcessGroup(a.tg.id, unix.Signal(0))
	k.SignalProcessGroup(a.tg.id, unix.Signal(99))
	// Neither is anything once the sandbox ended.
	k.mu.Lock()
	k.initDone()
	k.mu.Unlock()
	k.SignalProcessGroup(a.tg.id, unix.SIGINT)
	k.HangUp(init.tg.id, nil)
	sentByKernel(t, a, unix.SIGINT, 1)
}

func TestHangUp(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	leader := newSession(t, k, init)
	catch(leader, unix.SIGHUP, unix.SIGCONT)
	term, _ := newTerminal(t, k, 0)
	if err := makeControlling(leader, term); err != nil {
		t.Fatal(err)
	}
	child := k.newTestTask(nil, leader.tg, Credentials{})
	catch(child, unix.SIGHUP, unix.SIGCONT)
	stranger := k.newTestTask(nil, leader.tg, Credentials{})
	other, _ := newTerminal(t, k, 1)
	stranger.WithJobControl(func(jc tty.JobControl) error {
		jc.SetControllingTerminal(other)
		return nil
	})

	k.HangUp(leader.tg.id, term)
	for _, task := range []*Task{leader, child} {
		if got := task.tg.ControllingTerminal(); got != nil {
			t.Errorf("process %d kept the hung-up terminal", task.tg.id)
		}
	}
	if stranger.tg.ControllingTerminal() != other {
		t.Errorf("a process whose terminal did not hang up lost it")
	}
	// The leader alone is told, and woken if stopped.
	sentByKernel(t, leader, unix.SIGHUP, 1)
	sentByKernel(t, leader, unix.SIGCONT, 1)
	sentByKernel(t, child, unix.SIGHUP, 0)
}

// Closing the master hangs the terminal up through its own goroutine.
func TestMasterCloseHangsUp(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	leader := newSession(t, k, init)
	catch(leader, unix.SIGHUP, unix.SIGCONT)
	term, master := newTerminal(t, k, 0)
	slave := openSlave(t, leader, term, unix.O_RDWR)
	defer slave.Release()
	master.Release()
	deadline := time.Now().Add(10 * time.Second)
	for leader.tg.ControllingTerminal() != nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if leader.tg.ControllingTerminal() != nil {
		t.Fatal("the session leader kept its terminal after the master closed")
	}
	sentByKernel(t, leader, unix.SIGHUP, 1)
	sentByKernel(t, leader, unix.SIGCONT, 1)
}

func TestBackgroundReadAndWrite(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	leader := newSession(t, k, init)
	term, _ := newTerminal(t, k, 0)
	slave := openSlave(t, leader, term, unix.O_RDWR)
	defer slave.Release()
	bg := k.newTestTask(nil, leader.tg, Credentials{})
	if err := bg.SetPgid(0, 0); err != nil {
		t.Fatal(err)
	}
	catch(bg, unix.SIGTTIN)

	if err := slave.BeginRead(leader, false); err != nil {
		t.Errorf("foreground read: %v", err)
	}
	if err := slave.BeginRead(bg, false); err != ERESTARTSYS {
		t.Errorf("background read: %v, want ERESTARTSYS", err)
	}
	sentByKernel(t, bg, unix.SIGTTIN, 1)
	sentByKernel(t, leader, unix.SIGTTIN, 0)
	// Without TOSTOP a background process may write.
	if err := slave.BeginWrite(bg); err != nil {
		t.Errorf("background write without TOSTOP: %v", err)
	}

	// A blocked or ignored SIGTTIN makes the read fail instead.
	bg.SetSigMask(Bit(unix.SIGTTIN))
	if err := slave.BeginRead(bg, false); err != unix.EIO {
		t.Errorf("background read with SIGTTIN blocked: %v, want EIO", err)
	}
	bg.SetSigMask(0)
	bg.SetSigAction(unix.SIGTTIN, SigAction{Handler: SIG_IGN})
	if err := slave.BeginRead(bg, false); err != unix.EIO {
		t.Errorf("background read with SIGTTIN ignored: %v, want EIO", err)
	}
	catch(bg, unix.SIGTTIN)

	// So does an orphaned group: nobody could bring it back.
	k.mu.Lock()
	bg.tg.parent = init.tg // in another session
	k.mu.Unlock()
	if err := slave.BeginRead(bg, false); err != unix.EIO {
		t.Errorf("read from an orphaned background group: %v, want EIO", err)
	}

	// A process whose terminal it is not is not subject to its job
	// control.
	stranger := k.newTestTask(nil, init.tg, Credentials{})
	if err := slave.BeginRead(stranger, false); err != nil {
		t.Errorf("read by another session's process: %v", err)
	}
}

func TestJobControlView(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	leader := newSession(t, k, init)
	child := k.newTestTask(nil, leader.tg, userCreds(1000, 1000))
	if err := child.SetPgid(0, 0); err != nil {
		t.Fatal(err)
	}
	grandchild := k.newTestTask(nil, child.tg, Credentials{})
	exitProcess(grandchild) // a zombie keeps its IDs until reaped

	leader.WithJobControl(func(jc tty.JobControl) error {
		if jc.ProcessGroup() != leader.tg.id || jc.Session() != leader.tg.id || !jc.SessionLeader() {
			t.Errorf("leader: group %d, session %d, leads %v", jc.ProcessGroup(), jc.Session(), jc.SessionLeader())
		}
		for _, c := range []struct {
			pgid, sid int32
			ok        bool
		}{
			{child.tg.id, leader.tg.id, true},
			{leader.tg.id, leader.tg.id, true},
			{init.tg.id, init.tg.id, true},
			{grandchild.tg.id, leader.tg.id, true}, // a process, not a group
			{9999, 0, false},
			{-1, 0, false},
		} {
			if sid, ok := jc.ProcessGroupSession(c.pgid); sid != c.sid || ok != c.ok {
				t.Errorf("ProcessGroupSession(%d) = %d, %v; want %d, %v", c.pgid, sid, ok, c.sid, c.ok)
			}
		}
		if !jc.Capable(vfs.CapSysAdmin) {
			t.Errorf("root is not capable")
		}
		if !jc.ProcessGroupOrphaned() {
			// Its only member's parent is in another session.
			t.Errorf("a session leader's group alone is not orphaned")
		}
		return nil
	})
	child.WithJobControl(func(jc tty.JobControl) error {
		if jc.SessionLeader() || jc.Session() != leader.tg.id || jc.ProcessGroup() != child.tg.id {
			t.Errorf("child: group %d, session %d, leads %v", jc.ProcessGroup(), jc.Session(), jc.SessionLeader())
		}
		if jc.Capable(vfs.CapSysAdmin) {
			t.Errorf("an unprivileged user is capable")
		}
		if jc.ProcessGroupOrphaned() {
			t.Errorf("a group whose member's parent is in another group of the session is orphaned")
		}
		if jc.SignalIgnored(unix.SIGTTOU) {
			t.Errorf("SIGTTOU reported ignored under SIG_DFL")
		}
		return nil
	})
	if err := leader.WithJobControl(func(tty.JobControl) error { return unix.EPERM }); err != unix.EPERM {
		t.Errorf("WithJobControl returned %v, want fn's error", err)
	}
}

// The exit of a session leader takes the terminal from its session and
// hangs up the foreground group.
func TestSessionLeaderExit(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	leader := newSession(t, k, init)
	term, _ := newTerminal(t, k, 0)
	if err := makeControlling(leader, term); err != nil {
		t.Fatal(err)
	}
	fg := k.newTestTask(nil, leader.tg, Credentials{}) // the leader's group: the foreground
	bg := k.newTestTask(nil, leader.tg, Credentials{})
	if err := bg.SetPgid(0, 0); err != nil {
		t.Fatal(err)
	}
	for _, task := range []*Task{fg, bg} {
		catch(task, unix.SIGHUP, unix.SIGCONT)
	}
	// A process that is not its session's leader leaves the terminal be.
	outsider := newSession(t, k, init)
	exitProcess(outsider)
	if leader.tg.ControllingTerminal() != term {
		t.Fatal("another session's exit took the terminal")
	}

	exitProcess(leader)
	sentByKernel(t, fg, unix.SIGHUP, 1)
	sentByKernel(t, fg, unix.SIGCONT, 0) // none on exit
	sentByKernel(t, bg, unix.SIGHUP, 0)
	for _, task := range []*Task{leader, fg, bg} {
		if task.tg.ControllingTerminal() != nil {
			t.Errorf("process %d kept the terminal after its session leader exited", task.tg.id)
		}
	}
	if sid, pgrp := term.Session(); sid != 0 || pgrp != 0 {
		t.Errorf("the terminal still controls session %d (group %d)", sid, pgrp)
	}
}

// A process group orphaned by an exit, with a stopped member, gets SIGHUP
// and SIGCONT: nobody is left to continue it.
func TestOrphanedStoppedGroupHungUp(t *testing.T) {
	for _, stopped := range []bool{false, true} {
		k := newTestKernel()
		init := k.newTestTask(nil, nil, Credentials{})
		leader := newSession(t, k, init)
		parent := k.newTestTask(nil, leader.tg, Credentials{})
		if err := parent.SetPgid(0, 0); err != nil {
			t.Fatal(err)
		}
		sibling := k.newTestTask(nil, parent.tg, Credentials{}) // in parent's group
		job := k.newTestTask(nil, parent.tg, Credentials{})
		if err := parent.SetPgid(job.tg.id, job.tg.id); err != nil {
			t.Fatal(err)
		}
		for _, task := range []*Task{sibling, job} {
			catch(task, unix.SIGHUP, unix.SIGCONT)
			k.mu.Lock()
			task.tg.stopped = stopped
			k.mu.Unlock()
		}
		// Their parent's exit reparents them to init, in another
		// session: the job's group and the parent's lose their link.
		exitProcess(parent)
		want := 0
		if stopped {
			want = 1
		}
		for _, task := range []*Task{job, sibling} {
			sentByKernel(t, task, unix.SIGHUP, want)
			sentByKernel(t, task, unix.SIGCONT, want)
			k.mu.Lock()
			if task.tg.stopped {
				t.Errorf("process %d is still stopped", task.tg.id)
			}
			k.mu.Unlock()
		}
	}
}

func TestInstallFile(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	task.fds = vfs.NewFDTable()
	defer task.fds.DecRef()
	term, _ := newTerminal(t, k, 0)
	f := vfs.NewFile(openSlave(t, task, term, unix.O_RDWR|unix.O_NOCTTY), unix.O_RDWR)
	defer f.DecRef()
	fd, err := task.InstallFile(f, true)
	if err != nil || fd != 0 {
		t.Fatalf("InstallFile = %d, %v; want 0", fd, err)
	}
	if got, cloexec, err := task.fds.Get(0); err != nil || got != f || !cloexec {
		t.Errorf("descriptor 0: %p, %v, %v", got, cloexec, err)
	} else {
		got.DecRef()
	}
	if task.tg.ControllingTerminal() != nil {
		t.Errorf("O_NOCTTY gave a terminal")
	}
}

func TestStdioTerminal(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	term, _ := newTerminal(t, k, 0)
	slave := vfs.NewFile(openSlave(t, init, term, unix.O_RDWR|unix.O_NOCTTY), unix.O_RDWR)
	defer slave.DecRef()
	k.mu.Lock()
	k.stdioTerminalLocked(init.tg, []*vfs.File{nil, slave, slave})
	k.mu.Unlock()
	if init.tg.ControllingTerminal() != term {
		t.Fatal("the first process did not get the terminal of its standard streams")
	}
	if sid, pgrp := term.Session(); sid != init.tg.id || pgrp != init.tg.id {
		t.Errorf("terminal's session and group: %d, %d", sid, pgrp)
	}
}
