package kernel

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestSchedParams(t *testing.T) {
	k := newTestKernel()
	root := k.newTestTask(nil, nil, Credentials{})
	if p, _ := root.SchedParams(0); p != (SchedParams{}) {
		t.Errorf("default: %+v", p)
	}
	for _, c := range []struct {
		policy, prio int32
		err          error
	}{
		{SCHED_FIFO, 0, unix.EINVAL},
		{SCHED_NORMAL, 1, unix.EINVAL},
		{SCHED_FIFO, 100, unix.EINVAL},
		{SCHED_RR, -1, unix.EINVAL},
		{SCHED_DEADLINE, 0, unix.EINVAL},
		{4, 0, unix.EINVAL},
		{SCHED_FIFO, 50, nil},
		{SCHED_BATCH, 0, nil},
	} {
		if err := root.SetSchedParams(0, c.policy, c.prio, false); err != c.err {
			t.Errorf("SetSchedParams(%d, %d) = %v, want %v", c.policy, c.prio, err, c.err)
		}
	}
	if err := root.SetSchedParams(0, SCHED_RR, 10, true); err != nil {
		t.Fatal(err)
	}
	if err := root.SetSchedParams(0, -1, 20, false); err != nil {
		t.Fatal(err)
	}
	if p, _ := root.SchedParams(root.tid); p != (SchedParams{SCHED_RR, 20, true}) {
		t.Errorf("after sched_setparam: %+v", p)
	}
	if _, err := root.SchedParams(9999); err != unix.ESRCH {
		t.Errorf("unknown thread: %v", err)
	}

	// A child of a SCHED_RESET_ON_FORK thread starts with the defaults.
	root.SetPriority(PRIO_PROCESS, 0, -5)
	child := k.newTestTask(nil, root.tg, Credentials{})
	k.mu.Lock()
	k.inheritLocked(root, child, true)
	k.mu.Unlock()
	if p, _ := child.SchedParams(0); p != (SchedParams{}) || child.tg.nice != 0 {
		t.Errorf("child of a reset-on-fork thread: %+v, nice %d", p, child.tg.nice)
	}

	user := k.newTestTask(nil, root.tg, userCreds(1000, 1000))
	if err := user.SetSchedParams(0, SCHED_FIFO, 1, false); err != unix.EPERM {
		t.Errorf("user to SCHED_FIFO: %v", err)
	}
	if err := user.SetSchedParams(root.tid, SCHED_NORMAL, 0, false); err != unix.EPERM {
		t.Errorf("user changing root's thread: %v", err)
	}
	if err := user.SetSchedParams(0, SCHED_IDLE, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := user.SetSchedParams(0, SCHED_NORMAL, 0, false); err != unix.EPERM {
		t.Errorf("user leaving SCHED_IDLE beyond RLIMIT_NICE: %v", err)
	}
}

func TestAffinity(t *testing.T) {
	k := newTestKernel()
	root := k.newTestTask(nil, nil, Credentials{})
	all := allCPUs()
	if got, _ := root.Affinity(0); len(got) != len(all) || got[0] != all[0] {
		t.Errorf("default affinity %v, want %v", got, all)
	}
	last := NumCPU() - 1
	mask := make(CPUSet, 4)
	mask[last/64] = 1 << (last % 64)
	mask[3] |= 1 << 63 // a CPU the sandbox does not have
	if err := root.SetAffinity(0, mask); err != nil {
		t.Fatal(err)
	}
	got, _ := root.Affinity(0)
	if !got.Has(last) || len(got) != len(all) {
		t.Errorf("affinity %v, want only CPU %d", got, last)
	}
	if cpu := root.CurrentCPU(); cpu != last {
		t.Errorf("getcpu %d, want %d", cpu, last)
	}
	if err := root.SetAffinity(0, CPUSet{0, 0, 0, 1 << 63}); err != unix.EINVAL {
		t.Errorf("no CPU of the sandbox: %v", err)
	}
	thread := k.newTestTask(root.tg, nil, Credentials{})
	k.mu.Lock()
	k.inheritLocked(root, thread, false)
	k.mu.Unlock()
	if got, _ := thread.Affinity(0); !got.Has(last) || (last > 0 && got.Has(0)) {
		t.Errorf("a new thread's affinity %v, want its creator's", got)
	}
	user := k.newTestTask(nil, root.tg, userCreds(1000, 1000))
	if err := user.SetAffinity(root.tid, all); err != unix.EPERM {
		t.Errorf("user setting root's affinity: %v", err)
	}
	if c := user.CurrentCPU(); c < 0 || c >= NumCPU() {
		t.Errorf("getcpu %d", c)
	}
}

func TestPriority(t *testing.T) {
	k := newTestKernel()
	root := k.newTestTask(nil, nil, Credentials{})
	a := k.newTestTask(nil, root.tg, userCreds(1000, 1000))
	b := k.newTestTask(nil, root.tg, userCreds(1000, 1000))
	if p, _ := root.Priority(PRIO_PROCESS, 0); p != 20 {
		t.Errorf("default priority %d, want 20 (nice 0)", p)
	}
	if err := root.SetPriority(PRIO_PROCESS, 0, -30); err != nil {
		t.Fatal(err)
	}
	if p, _ := root.Priority(PRIO_PROCESS, 0); p != 40 {
		t.Errorf("priority %d after nice -30, want 40 (clamped to -20)", p)
	}
	if err := root.SetPriority(PRIO_USER, 1000, 7); err != nil {
		t.Fatal(err)
	}
	if a.tg.nice != 7 || b.tg.nice != 7 {
		t.Errorf("PRIO_USER: nice %d %d", a.tg.nice, b.tg.nice)
	}
	if err := a.SetPriority(PRIO_PROCESS, 0, 5); err != unix.EACCES {
		t.Errorf("user lowering its nice value: %v", err)
	}
	if err := a.SetPriority(PRIO_PROCESS, b.tid, 9); err != nil {
		t.Errorf("user raising another of its processes: %v", err)
	}
	if err := a.SetPriority(PRIO_PROCESS, root.tid, 19); err != unix.EPERM {
		t.Errorf("user changing root's process: %v", err)
	}
	if p, _ := root.Priority(PRIO_USER, 1000); p != 13 {
		t.Errorf("PRIO_USER priority %d, want 13 (the best nice, 7)", p)
	}
	if _, err := root.Priority(PRIO_PROCESS, 9999); err != unix.ESRCH {
		t.Errorf("unknown process: %v", err)
	}
	if _, err := root.Priority(3, 0); err != unix.EINVAL {
		t.Errorf("bad which: %v", err)
	}
	if err := root.SetPriority(PRIO_PGRP, 4321, 1); err != unix.ESRCH {
		t.Errorf("unknown process group: %v", err)
	}
}

func TestPersonality(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	const addrNoRandomize = 0x0040000
	if old, err := task.Personality(addrNoRandomize | READ_IMPLIES_EXEC); err != nil || old != 0 {
		t.Fatalf("Personality = %#x, %v", old, err)
	}
	if cur, _ := task.Personality(0xffffffff); cur != addrNoRandomize|READ_IMPLIES_EXEC {
		t.Errorf("query: %#x", cur)
	}
	if _, err := task.Personality(8 /* PER_LINUX32 */); err != unix.EINVAL {
		t.Errorf("PER_LINUX32: %v", err)
	}
	child := k.newTestTask(nil, task.tg, Credentials{})
	k.mu.Lock()
	k.inheritLocked(task, child, true)
	task.execResetLocked(&image{euid: task.creds.EUID, egid: task.creds.EGID})
	k.mu.Unlock()
	if cur, _ := child.Personality(0xffffffff); cur != addrNoRandomize|READ_IMPLIES_EXEC {
		t.Errorf("inherited: %#x", cur)
	}
	if cur, _ := task.Personality(0xffffffff); cur != addrNoRandomize {
		t.Errorf("after exec: %#x, want READ_IMPLIES_EXEC cleared", cur)
	}
}
