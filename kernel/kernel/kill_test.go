package kernel

import (
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
)

// exiting reports whether task's process is being killed.
func exiting(task *Task) bool {
	task.k.mu.Lock()
	defer task.k.mu.Unlock()
	return task.tg.exiting
}

// A protected init takes from outside what Linux lets through from an
// ancestor PID namespace, and from inside only what it handles.
func TestInitProtection(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sig     unix.Signal
		handled bool
		outside bool
		// delivered: queued, or (SIGKILL, SIGTERM unhandled) killing;
		// for SIGSTOP, stopping.
		delivered bool
	}{
		{"SIGTERM from inside", unix.SIGTERM, false, false, false},
		{"SIGKILL from inside", unix.SIGKILL, false, false, false},
		{"SIGSTOP from inside", unix.SIGSTOP, false, false, false},
		{"handled SIGTERM from inside", unix.SIGTERM, true, false, true},
		{"SIGTERM from outside", unix.SIGTERM, false, true, false},
		{"SIGINT from outside", unix.SIGINT, false, true, false},
		{"handled SIGTERM from outside", unix.SIGTERM, true, true, true},
		{"SIGKILL from outside", unix.SIGKILL, false, true, true},
		{"SIGSTOP from outside", unix.SIGSTOP, false, true, true},
	} {
		k := newTestKernel()
		k.ProtectInit = true
		init := k.newTestTask(nil, nil, Credentials{})
		other := k.newTestTask(nil, init.tg, Credentials{})
		if tc.handled {
			catch(init, tc.sig)
		}
		var err error
		if tc.outside {
			err = k.Signal(1, tc.sig, false)
		} else {
			err = other.Kill(1, &arch.SignalInfo{Signo: int32(tc.sig), Code: arch.SI_USER})
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got := len(pending(init, tc.sig)) > 0 || exiting(init)
		if tc.delivered != got {
			t.Errorf("%s: delivered %v, want %v", tc.name, got, tc.delivered)
		}
	}
}

// Without the protection (magawa do), init is a process like another.
func TestUnprotectedInit(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	other := k.newTestTask(nil, init.tg, Credentials{})
	if err := other.Kill(1, &arch.SignalInfo{Signo: int32(unix.SIGTERM), Code: arch.SI_USER}); err != nil {
		t.Fatal(err)
	}
	if !exiting(init) {
		t.Error("SIGTERM from inside spared an unprotected init")
	}
}

func TestSignalFromOutsideInfo(t *testing.T) {
	k := newTestKernel()
	k.ProtectInit = true
	init := k.newTestTask(nil, nil, Credentials{})
	user := k.newTestTask(nil, init.tg, userCreds(1000, 1000))
	catch(init, unix.SIGUSR1)
	catch(user, unix.SIGUSR1)
	if err := k.Signal(0, unix.SIGUSR1, true); err != nil {
		t.Fatal(err)
	}
	for _, task := range []*Task{init, user} {
		infos := pending(task, unix.SIGUSR1)
		if len(infos) != 1 {
			t.Errorf("process %d: %d SIGUSR1 pending, want 1", task.tg.id, len(infos))
			continue
		}
		if i := infos[0]; i.Code != arch.SI_USER || i.PID() != 0 || i.UID() != 0 {
			t.Errorf("process %d: code %d pid %d uid %d, want SI_USER from 0, 0", task.tg.id, i.Code, i.PID(), i.UID())
		}
	}
	if err := k.Signal(user.tg.id, 0, false); err != nil {
		t.Errorf("signal 0 to a process: %v", err)
	}
	if len(pending(user, unix.SIGUSR1)) != 1 {
		t.Error("signal 0 queued something")
	}
	if err := k.Signal(12345, unix.SIGTERM, false); err != unix.ESRCH {
		t.Errorf("no such process: %v, want ESRCH", err)
	}
	for _, sig := range []unix.Signal{-1, 65} {
		if err := k.Signal(1, sig, false); err != unix.EINVAL {
			t.Errorf("signal %d: %v, want EINVAL", sig, err)
		}
	}
	k.mu.Lock()
	k.initDone()
	k.mu.Unlock()
	if err := k.Signal(1, unix.SIGKILL, false); err != unix.ESRCH {
		t.Errorf("after the sandbox ended: %v, want ESRCH", err)
	}
}

// A signal queued to a protected init while blocked is dropped when it
// is taken with its default action: init never dies of it.
func TestProtectedInitDropsAtDelivery(t *testing.T) {
	k := newTestKernel()
	k.ProtectInit = true
	init := k.newTestTask(nil, nil, Credentials{})
	other := k.newTestTask(nil, init.tg, Credentials{})
	init.SetSigMask(Bit(unix.SIGTERM))
	if err := other.Kill(1, &arch.SignalInfo{Signo: int32(unix.SIGTERM), Code: arch.SI_USER}); err != nil {
		t.Fatal(err)
	}
	if len(pending(init, unix.SIGTERM)) != 1 {
		t.Fatal("a blocked SIGTERM was not queued")
	}
	init.SetSigMask(0)
	if init.handleSignals() {
		t.Error("init exits for an unhandled SIGTERM")
	}
	if exiting(init) || len(pending(init, unix.SIGTERM)) != 0 {
		t.Error("the SIGTERM was not dropped")
	}
}

// SIGCONT continues a stopped process even when it then ignores the
// signal, a protected init's case.
func TestContinueProtectedInit(t *testing.T) {
	k := newTestKernel()
	k.ProtectInit = true
	init := k.newTestTask(nil, nil, Credentials{})
	other := k.newTestTask(nil, init.tg, Credentials{})
	k.mu.Lock()
	k.startGroupStopLocked(init.tg, unix.SIGSTOP)
	k.mu.Unlock()
	if err := other.Kill(1, &arch.SignalInfo{Signo: int32(unix.SIGCONT), Code: arch.SI_USER}); err != nil {
		t.Fatal(err)
	}
	if in := init.Info(false); in.State != 'S' {
		t.Errorf("init's state after SIGCONT: %c", in.State)
	}
}

// A process without a parent in the sandbox (Exec's) is reaped by the
// kernel, which tells its Process; init's status stays init's.
func TestParentlessExit(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	exec := k.newTestTask(nil, nil, Credentials{})
	child := k.newTestTask(nil, exec.tg, Credentials{})
	p := &Process{pid: exec.tg.id, done: make(chan struct{})}
	exec.tg.process = p
	k.mu.Lock()
	k.exitGroupLocked(exec.tg, ExitStatus{Code: 4})
	k.mu.Unlock()
	exitProcess(exec)
	select {
	case <-p.Done():
	default:
		t.Fatal("the Process was not told")
	}
	if st := p.Wait(); st != (ExitStatus{Code: 4}) {
		t.Errorf("status %v, want exit 4", st)
	}
	if k.ProcessByID(exec.tg.id) != nil {
		t.Error("the process was not reaped")
	}
	if child.PPID() != 1 {
		t.Errorf("its child's parent is %d, want init", child.PPID())
	}
	// An orphan that outlives a dead init does not overwrite its status.
	k.mu.Lock()
	k.exitGroupLocked(init.tg, ExitStatus{Code: 9})
	k.mu.Unlock()
	exitProcess(init)
	exitProcess(child)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.initStatus != (ExitStatus{Code: 9}) {
		t.Errorf("init's status %v, want exit 9", k.initStatus)
	}
}

func TestProcessesList(t *testing.T) {
	k := newTestKernel()
	init := k.newTestTask(nil, nil, Credentials{})
	user := k.newTestTask(nil, init.tg, userCreds(1000, 1000))
	k.newTestTask(user.tg, nil, user.creds)
	user.SetComm("worker")
	ps := k.Processes()
	if len(ps) != 2 {
		t.Fatalf("Processes = %+v", ps)
	}
	if p := ps[1]; p.PID != user.tg.id || p.PPID != 1 || p.UID != 1000 || p.Comm != "worker" ||
		p.State != 'S' || p.Threads != 2 || p.Argv != nil {
		t.Errorf("the user's process: %+v", p)
	}
}
