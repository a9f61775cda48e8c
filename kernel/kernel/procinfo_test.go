package kernel

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestProcInfo(t *testing.T) {
	k := newTestKernel()
	root := Credentials{}
	init := k.newTestTask(nil, nil, root)
	child := k.newTestTask(nil, init.tg, Credentials{UID: 1000, EUID: 1000, SUID: 1000, FSUID: 1000, Groups: []uint32{5}})
	thread := k.newTestTask(child.tg, nil, child.creds)

	ps := k.ThreadGroups()
	if len(ps) != 2 || ps[0] != init.tg || ps[1] != child.tg {
		t.Fatalf("ThreadGroups = %v", ps)
	}
	if got := child.tg.Threads(); len(got) != 2 || got[0] != child || got[1] != thread {
		t.Errorf("Threads = %v", got)
	}
	if child.tg.Thread(init.tid) != nil || child.tg.Thread(thread.tid) != thread {
		t.Error("Thread finds a thread of another process, or misses its own")
	}
	if k.ProcessByID(child.tg.id) != child.tg || child.tg.Leader() != child {
		t.Error("ProcessByID or Leader")
	}

	child.SetSigAction(unix.SIGPIPE, SigAction{Handler: SIG_IGN})
	child.SetSigAction(unix.SIGUSR1, SigAction{Handler: 0x1000})
	child.SetSigMask(Bit(unix.SIGINT))
	child.SetComm("a-very-long-name-indeed")
	in := child.Info(true)
	if in.TGID != child.tg.id || in.TID != child.tid || in.PPID != init.tg.id || in.Threads != 2 || in.State != 'S' {
		t.Errorf("Info identity: %+v", in)
	}
	if in.Ignored != Bit(unix.SIGPIPE) || in.Caught != Bit(unix.SIGUSR1) || in.Blocked != Bit(unix.SIGINT) {
		t.Errorf("Info signals: ignored %x caught %x blocked %x", in.Ignored, in.Caught, in.Blocked)
	}
	if in.Name != "a-very-long-nam" || child.Comm() != "a-very-long-nam" {
		t.Errorf("Name = %q", in.Name)
	}
	if in.Rlimits[unix.RLIMIT_NOFILE].Cur != 1024 || len(in.Affinity) == 0 || !in.Affinity.Has(in.CPU) {
		t.Errorf("Info limits or CPUs: %+v", in)
	}
	creds, dumpable := child.Identity()
	if creds.UID != 1000 || !dumpable {
		t.Errorf("Identity = %+v, %v", creds, dumpable)
	}
	creds.Groups[0] = 9
	if child.creds.Groups[0] != 5 {
		t.Error("Identity shares the groups")
	}

	// A leader that exits before its threads shows as a zombie and
	// stays listed.
	k.mu.Lock()
	delete(child.tg.tasks, child)
	k.mu.Unlock()
	if got := child.Info(false).State; got != 'Z' {
		t.Errorf("exited leader's state %c, want Z", got)
	}
	if got := child.tg.Threads(); len(got) != 2 || !child.Alive() {
		t.Errorf("exited leader not listed: %v", got)
	}
	if st := k.TaskStats(); st.Threads != 2 || st.LastTID != thread.tid {
		t.Errorf("TaskStats = %+v", st)
	}

	k.mu.Lock()
	k.reapLocked(child.tg)
	k.mu.Unlock()
	if !child.tg.Reaped() || child.Alive() || len(k.Processes()) != 1 {
		t.Error("a reaped process is still there")
	}
	if a, _ := child.Args(false); a != nil {
		t.Errorf("Args without an address space = %q", a)
	}
}
