package kernel

import (
	"io"
	"log"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/mm"
	"magawa/kernel/platform"
)

// newTestKernel is a kernel without platform, memory or file system:
// enough for the state this package keeps about tasks.
func newTestKernel() *Kernel {
	return &Kernel{
		Config:       Config{Log: log.New(io.Discard, "", 0)},
		tasks:        map[int32]*Task{},
		threadGroups: map[int32]*ThreadGroup{},
		mmUsers:      map[*mm.MM]int{},
		initGone:     make(chan struct{}),
	}
}

// newTestTask adds a task: a thread of tg, or the leader of a new process
// (child of parent) when tg is nil.
func (k *Kernel) newTestTask(tg, parent *ThreadGroup, creds Credentials) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	tid, err := k.allocTIDLocked()
	if err != nil {
		panic(err)
	}
	t := &Task{k: k, tid: tid, creds: creds, interruptCh: make(chan struct{}, 1), fs: &FSContext{}}
	if tg == nil {
		t.tg = k.newThreadGroupLocked(t, parent, &SignalHandlers{})
		if parent == nil && k.initTG == nil {
			k.initTG = t.tg
		}
	} else {
		t.tg = tg
		tg.tasks[t] = struct{}{}
	}
	k.tasks[tid] = t
	return t
}

// catch installs a handler for sig, so that it stays queued for the
// test to look at instead of killing the process.
func catch(t *Task, sigs ...unix.Signal) {
	for _, sig := range sigs {
		t.SetSigAction(sig, SigAction{Handler: 0x1000})
	}
}

// fakeClock is a timerClock that moves only when told.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c              *fakeClock
	when           time.Time
	f              func()
	stopped, fired bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) timerHandle {
	c.mu.Lock()
	defer c.mu.Unlock()
	ft := &fakeTimer{c: c, when: c.now.Add(d), f: f}
	c.timers = append(c.timers, ft)
	return ft
}

func (ft *fakeTimer) Stop() bool {
	ft.c.mu.Lock()
	defer ft.c.mu.Unlock()
	was := !ft.stopped && !ft.fired
	ft.stopped = true
	return was
}

// Advance moves the clock by d, running due timers in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, ft := range c.timers {
			if !ft.stopped && !ft.fired && !ft.when.After(target) && (next == nil || ft.when.Before(next.when)) {
				next = ft
			}
		}
		if next == nil {
			c.now = target
			c.mu.Unlock()
			return
		}
		if next.when.After(c.now) {
			c.now = next.when
		}
		next.fired = true
		c.mu.Unlock()
		next.f()
	}
}

// pending returns the queued siginfos of sig, for the process and its
// threads.
func pending(t *Task, sig unix.Signal) []*arch.SignalInfo {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	out := append([]*arch.SignalInfo(nil), t.tg.pending.infos[sig-1]...)
	for o := range t.tg.tasks {
		out = append(out, o.pending.infos[sig-1]...)
	}
	return out
}

// dequeue takes sig as delivery would.
func dequeue(t *Task, sig unix.Signal) *arch.SignalInfo {
	return t.DequeueSignal(Bit(sig))
}

func withClock(t *Task) *fakeClock {
	c := newFakeClock()
	t.k.mu.Lock()
	t.tg.timers = newGroupTimers(t.k, t.tg, c)
	t.k.mu.Unlock()
	return c
}

func TestITimerRealOneShot(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	catch(task, unix.SIGALRM)
	clock := withClock(task)

	old, err := task.SetITimer(ITIMER_REAL, TimerSpec{Value: 100 * time.Millisecond})
	if err != nil || old != (TimerSpec{}) {
		t.Fatalf("SetITimer = %v, %v", old, err)
	}
	clock.Advance(40 * time.Millisecond)
	if got, _ := task.GetITimer(ITIMER_REAL); got.Value != 60*time.Millisecond {
		t.Errorf("remaining = %v, want 60ms", got.Value)
	}
	clock.Advance(60 * time.Millisecond)
	infos := pending(task, unix.SIGALRM)
	if len(infos) != 1 || infos[0].Code != arch.SI_KERNEL {
		t.Fatalf("SIGALRM queued: %+v", infos)
	}
	if got, _ := task.GetITimer(ITIMER_REAL); got != (TimerSpec{}) {
		t.Errorf("after expiry: %+v, want zero", got)
	}
}

func TestITimerRealPeriodicWaitsForDequeue(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	catch(task, unix.SIGALRM)
	clock := withClock(task)
	task.SetITimer(ITIMER_REAL, TimerSpec{Value: 10 * time.Millisecond, Interval: 10 * time.Millisecond})

	clock.Advance(55 * time.Millisecond)
	if n := len(pending(task, unix.SIGALRM)); n != 1 {
		t.Fatalf("%d SIGALRM queued, want 1", n)
	}
	// Linux re-arms ITIMER_REAL only when SIGALRM is dequeued.
	if got, _ := task.GetITimer(ITIMER_REAL); got.Value != 0 || got.Interval != 10*time.Millisecond {
		t.Errorf("while SIGALRM is queued: %+v, want 0 with the interval", got)
	}
	dequeue(task, unix.SIGALRM)
	if got, _ := task.GetITimer(ITIMER_REAL); got.Value <= 0 || got.Value > 10*time.Millisecond {
		t.Errorf("after dequeue: %+v, want running", got)
	}
	clock.Advance(10 * time.Millisecond)
	if n := len(pending(task, unix.SIGALRM)); n != 1 {
		t.Errorf("%d SIGALRM queued after re-arm, want 1", n)
	}
}

func TestITimerRealIgnoredStops(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	task.SetSigAction(unix.SIGALRM, SigAction{Handler: SIG_IGN})
	clock := withClock(task)
	task.SetITimer(ITIMER_REAL, TimerSpec{Value: 10 * time.Millisecond, Interval: 10 * time.Millisecond})
	clock.Advance(15 * time.Millisecond)
	catch(task, unix.SIGALRM)
	clock.Advance(50 * time.Millisecond)
	if n := len(pending(task, unix.SIGALRM)); n != 0 {
		t.Errorf("%d SIGALRM queued, want none: the timer stopped when it was ignored", n)
	}
	if got, _ := task.GetITimer(ITIMER_REAL); got.Value != 0 || got.Interval != 10*time.Millisecond {
		t.Errorf("getitimer = %+v, want 0 with the interval", got)
	}
}

func TestITimerDisarm(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	withClock(task)
	task.SetITimer(ITIMER_REAL, TimerSpec{Value: time.Second, Interval: time.Second})
	old, _ := task.SetITimer(ITIMER_REAL, TimerSpec{Interval: 3 * time.Second})
	if old.Value != time.Second || old.Interval != time.Second {
		t.Errorf("old = %+v", old)
	}
	if got, _ := task.GetITimer(ITIMER_REAL); got != (TimerSpec{}) {
		t.Errorf("disarmed ITIMER_REAL = %+v, want zero (its interval is forgotten)", got)
	}
	task.SetITimer(ITIMER_PROF, TimerSpec{Interval: 3 * time.Second})
	if got, _ := task.GetITimer(ITIMER_PROF); got != (TimerSpec{Interval: 3 * time.Second}) {
		t.Errorf("disarmed ITIMER_PROF = %+v, want its interval kept", got)
	}
	if _, err := task.GetITimer(3); err != unix.EINVAL {
		t.Errorf("GetITimer(3) = %v", err)
	}
}

func TestAlarmRounding(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	withClock(task)
	for _, c := range []struct {
		left time.Duration
		want uint32
	}{
		{0, 0},
		{time.Microsecond, 1},
		{300 * time.Millisecond, 1},
		{1400 * time.Millisecond, 1},
		{1500 * time.Millisecond, 2},
		{5 * time.Second, 5},
	} {
		task.SetITimer(ITIMER_REAL, TimerSpec{Value: c.left})
		if got := task.Alarm(0); got != c.want {
			t.Errorf("alarm with %v left = %d, want %d", c.left, got, c.want)
		}
	}
}

// fakeCtx is a platform context whose only use is its CPU clock.
type fakeCtx struct {
	platform.Context
	cpu atomic.Int64
}

func (c *fakeCtx) CPUTime() (time.Duration, error) { return time.Duration(c.cpu.Load()), nil }
func (c *fakeCtx) Interrupt()                      {}
func (c *fakeCtx) PrepareSleep()                   {}
func (c *fakeCtx) add(d time.Duration)             { c.cpu.Add(int64(d)) }

func TestCPUITimers(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	other := k.newTestTask(task.tg, nil, Credentials{})
	c1, c2 := &fakeCtx{}, &fakeCtx{}
	task.ctx, other.ctx = c1, c2
	c1.add(5 * time.Second) // used before the timer: not counted
	catch(task, unix.SIGPROF)
	clock := withClock(task)

	task.SetITimer(ITIMER_PROF, TimerSpec{Value: 50 * time.Millisecond, Interval: 100 * time.Millisecond})
	if got, _ := task.GetITimer(ITIMER_PROF); got.Value != 50*time.Millisecond+tickNsec {
		t.Errorf("value = %v, want 50ms plus a tick", got.Value)
	}
	c1.add(30 * time.Millisecond)
	c2.add(20 * time.Millisecond)
	clock.Advance(cpuPollInterval)
	if n := len(pending(task, unix.SIGPROF)); n != 0 {
		t.Fatalf("SIGPROF after 50ms of CPU time: the tick is not over")
	}
	c2.add(5 * time.Millisecond)
	clock.Advance(cpuPollInterval)
	if n := len(pending(task, unix.SIGPROF)); n != 1 {
		t.Fatalf("%d SIGPROF after 55ms, want 1", n)
	}
	dequeue(task, unix.SIGPROF)
	// The other thread exits: what it used still counts.
	k.mu.Lock()
	delete(task.tg.tasks, other)
	k.mu.Unlock()
	c1.add(100 * time.Millisecond)
	clock.Advance(cpuPollInterval)
	if n := len(pending(task, unix.SIGPROF)); n != 1 {
		t.Errorf("%d SIGPROF after one interval more, want 1", n)
	}
	task.SetITimer(ITIMER_PROF, TimerSpec{})
	clock.Advance(time.Second)
	k.mu.Lock()
	polling := task.tg.timers.polling
	k.mu.Unlock()
	if polling {
		t.Errorf("the CPU poller runs on without an armed CPU timer")
	}
}

func TestCPUClockResetByExec(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	ctx := &fakeCtx{}
	task.ctx = ctx
	ctx.add(time.Second)
	withClock(task)
	k.sampleCPU(task.tg)
	k.mu.Lock()
	before := task.tg.timers.cpuNow
	k.mu.Unlock()
	// A new stub thread starts its clock from zero.
	ctx.cpu.Store(int64(10 * time.Millisecond))
	k.sampleCPU(task.tg)
	k.mu.Lock()
	after := task.tg.timers.cpuNow
	k.mu.Unlock()
	if after != before+10*time.Millisecond {
		t.Errorf("process CPU time went from %v to %v, want %v", before, after, before+10*time.Millisecond)
	}
}

func TestPosixTimerIDsAndErrors(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	withClock(task)
	for want := int32(0); want < 3; want++ {
		id, err := task.CreateTimer(CLOCK_MONOTONIC, nil)
		if err != nil || id != want {
			t.Fatalf("CreateTimer = %d, %v; want %d", id, err, want)
		}
	}
	task.DeleteTimer(1)
	if id, _ := task.CreateTimer(CLOCK_MONOTONIC, nil); id != 3 {
		t.Errorf("IDs are not reused before they wrap: got %d", id)
	}
	for _, c := range []struct {
		clock  int32
		ev     *SigEvent
		err    error
		usesID bool
	}{
		{CLOCK_MONOTONIC_RAW, nil, unix.EOPNOTSUPP, false},
		{10, nil, unix.EINVAL, false},
		{CLOCK_BOOTTIME_ALARM, nil, unix.EOPNOTSUPP, true},
		{CLOCK_MONOTONIC, &SigEvent{Notify: SIGEV_SIGNAL, Signo: 65}, unix.EINVAL, true},
		{CLOCK_MONOTONIC, &SigEvent{Notify: SIGEV_THREAD_ID, Signo: 10, TID: 999}, unix.EINVAL, true},
		{CLOCK_MONOTONIC, &SigEvent{Notify: 3}, unix.EINVAL, true},
		{-6 - 8*5, nil, unix.EINVAL, true}, // another process's CPU clock
	} {
		k.mu.Lock()
		before := task.tg.timers.nextID
		k.mu.Unlock()
		if _, err := task.CreateTimer(c.clock, c.ev); err != c.err {
			t.Errorf("CreateTimer(%d, %+v) = %v, want %v", c.clock, c.ev, err, c.err)
		}
		k.mu.Lock()
		used := task.tg.timers.nextID != before
		k.mu.Unlock()
		if used != c.usesID {
			t.Errorf("CreateTimer(%d, %+v) used an ID: %v, want %v", c.clock, c.ev, used, c.usesID)
		}
	}
	for _, clock := range []int32{CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_TAI, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, -6, -2} {
		if _, err := task.CreateTimer(clock, &SigEvent{Notify: SIGEV_NONE}); err != nil {
			t.Errorf("CreateTimer(%d) = %v", clock, err)
		}
	}
	if err := task.DeleteTimer(1); err != unix.EINVAL {
		t.Errorf("deleting a deleted timer: %v", err)
	}
	if _, err := task.GetTimer(100); err != unix.EINVAL {
		t.Errorf("GetTimer(100) = %v", err)
	}
}

func TestPosixTimerLimit(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{UID: 1000})
	child := k.newTestTask(nil, task.tg, Credentials{UID: 1000})
	root := k.newTestTask(nil, task.tg, Credentials{})
	task.SetRlimit(unix.RLIMIT_SIGPENDING, Rlimit{3, 3})
	for _, tk := range []*Task{task, child, root, root} {
		if _, err := tk.CreateTimer(CLOCK_MONOTONIC, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := task.CreateTimer(CLOCK_MONOTONIC, nil); err != nil {
		t.Fatalf("third timer of the user: %v", err)
	}
	if _, err := task.CreateTimer(CLOCK_MONOTONIC, nil); err != unix.EAGAIN {
		t.Errorf("fourth timer of the user = %v, want EAGAIN", err)
	}
}

func TestPosixTimerSignalAndOverrun(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	catch(task, unix.SIGALRM, sigRTMin)
	clock := withClock(task)

	id, _ := task.CreateTimer(CLOCK_MONOTONIC, nil)
	id, _ = task.CreateTimer(CLOCK_MONOTONIC, nil)
	task.SetTimer(id, 0, TimerSpec{Value: 5 * time.Millisecond, Interval: 10 * time.Millisecond})
	clock.Advance(5 * time.Millisecond)
	info := dequeue(task, unix.SIGALRM)
	if info == nil || info.Code != arch.SI_TIMER || info.TimerID() != id || info.Value() != uint64(id) || info.Overrun() != 0 {
		t.Fatalf("default timer signal: %+v", info)
	}
	// Blocked for 45ms: the queued signal counts the expiries.
	clock.Advance(45 * time.Millisecond)
	infos := pending(task, unix.SIGALRM)
	if len(infos) != 1 || infos[0].Overrun() != 3 {
		t.Fatalf("queued: %d signals, overrun %d; want 1 with overrun 3", len(infos), infos[0].Overrun())
	}
	if n, _ := task.TimerOverrun(id); n != 0 {
		t.Errorf("timer_getoverrun before delivery = %d, want 0", n)
	}
	dequeue(task, unix.SIGALRM)
	if n, _ := task.TimerOverrun(id); n != 3 {
		t.Errorf("timer_getoverrun after delivery = %d, want 3", n)
	}
	if spec, _ := task.GetTimer(id); spec.Value != 5*time.Millisecond || spec.Interval != 10*time.Millisecond {
		t.Errorf("timer_gettime = %+v", spec)
	}
	// A late host timer counts what it missed.
	clock.Advance(5 * time.Millisecond)
	dequeue(task, unix.SIGALRM)
	// Re-arming forgets the overrun.
	old, _ := task.SetTimer(id, 0, TimerSpec{Value: time.Second})
	if old.Interval != 10*time.Millisecond {
		t.Errorf("old setting %+v", old)
	}
	if n, _ := task.TimerOverrun(id); n != 0 {
		t.Errorf("overrun after settime = %d", n)
	}
	task.SetTimer(id, 0, TimerSpec{})
	if spec, _ := task.GetTimer(id); spec != (TimerSpec{}) {
		t.Errorf("disarmed: %+v", spec)
	}

	// sigev_value and a real-time signal.
	rt, _ := task.CreateTimer(CLOCK_REALTIME, &SigEvent{Notify: SIGEV_SIGNAL, Signo: int32(sigRTMin), Value: 4242})
	task.SetTimer(rt, 0, TimerSpec{Value: time.Millisecond})
	clock.Advance(time.Millisecond)
	if info := dequeue(task, sigRTMin); info == nil || info.Value() != 4242 || info.TimerID() != rt {
		t.Errorf("SIGRTMIN timer signal: %+v", info)
	}
}

func TestPosixTimerOverrunCap(t *testing.T) {
	if got := addOverrun(DelaytimerMax-1, 5); got != DelaytimerMax {
		t.Errorf("addOverrun saturates at %d, got %d", DelaytimerMax, got)
	}
}

func TestPosixTimerThreadTarget(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	thread := k.newTestTask(task.tg, nil, Credentials{})
	other := k.newTestTask(nil, task.tg, Credentials{})
	catch(task, unix.SIGUSR1)
	clock := withClock(task)
	if _, err := task.CreateTimer(CLOCK_MONOTONIC, &SigEvent{Notify: SIGEV_THREAD_ID, Signo: int32(unix.SIGUSR1), TID: other.tid}); err != unix.EINVAL {
		t.Errorf("SIGEV_THREAD_ID to another process: %v", err)
	}
	id, err := task.CreateTimer(CLOCK_MONOTONIC, &SigEvent{Notify: SIGEV_THREAD_ID, Signo: int32(unix.SIGUSR1), TID: thread.tid})
	if err != nil {
		t.Fatal(err)
	}
	task.SetTimer(id, 0, TimerSpec{Value: time.Millisecond})
	clock.Advance(time.Millisecond)
	k.mu.Lock()
	n := len(thread.pending.infos[unix.SIGUSR1-1])
	k.mu.Unlock()
	if n != 1 {
		t.Errorf("the thread has %d SIGUSR1 queued, want 1", n)
	}
}

func TestPosixTimerNone(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	clock := withClock(task)
	id, _ := task.CreateTimer(CLOCK_MONOTONIC, &SigEvent{Notify: SIGEV_NONE})
	task.SetTimer(id, 0, TimerSpec{Value: 10 * time.Millisecond})
	clock.Advance(5 * time.Millisecond)
	if spec, _ := task.GetTimer(id); spec.Value != 5*time.Millisecond {
		t.Errorf("running SIGEV_NONE timer: %+v", spec)
	}
	clock.Advance(10 * time.Millisecond)
	if spec, _ := task.GetTimer(id); spec.Value != 0 {
		t.Errorf("expired SIGEV_NONE timer: %+v, want 0", spec)
	}
	task.SetTimer(id, 0, TimerSpec{Value: 10 * time.Millisecond, Interval: 10 * time.Millisecond})
	clock.Advance(33 * time.Millisecond)
	if spec, _ := task.GetTimer(id); spec.Value != 7*time.Millisecond {
		t.Errorf("periodic SIGEV_NONE timer: %+v, want 7ms", spec)
	}
	if n := len(pending(task, unix.SIGALRM)); n != 0 {
		t.Errorf("SIGEV_NONE queued %d signals", n)
	}
}

func TestPosixCPUTimer(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	thread := k.newTestTask(task.tg, nil, Credentials{})
	c1, c2 := &fakeCtx{}, &fakeCtx{}
	task.ctx, thread.ctx = c1, c2
	catch(task, unix.SIGPROF, unix.SIGUSR2)
	clock := withClock(task)
	proc, _ := task.CreateTimer(CLOCK_PROCESS_CPUTIME_ID, &SigEvent{Notify: SIGEV_SIGNAL, Signo: int32(unix.SIGPROF)})
	// glibc's THREAD_CLOCK: the caller's thread.
	thr, _ := task.CreateTimer(-2, &SigEvent{Notify: SIGEV_SIGNAL, Signo: int32(unix.SIGUSR2)})
	task.SetTimer(proc, 0, TimerSpec{Value: 20 * time.Millisecond, Interval: 20 * time.Millisecond})
	task.SetTimer(thr, 0, TimerSpec{Value: 20 * time.Millisecond})
	c2.add(30 * time.Millisecond) // another thread: the process timer only
	clock.Advance(cpuPollInterval)
	infos := pending(task, unix.SIGPROF)
	if len(infos) != 1 || infos[0].TimerID() != proc {
		t.Fatalf("after 30ms in another thread: %d signals", len(infos))
	}
	c1.add(25 * time.Millisecond)
	clock.Advance(cpuPollInterval)
	infos = pending(task, unix.SIGPROF)
	if len(infos) != 1 || infos[0].Overrun() != 1 {
		t.Fatalf("after 25ms more in the caller: %d SIGPROF, overrun %d; want 1, 1", len(infos), infos[0].Overrun())
	}
	if infos := pending(task, unix.SIGUSR2); len(infos) != 1 || infos[0].TimerID() != thr {
		t.Fatalf("thread timer: %d signals, want 1", len(infos))
	}
	if spec, _ := task.GetTimer(thr); spec != (TimerSpec{}) {
		t.Errorf("fired one-shot thread timer: %+v", spec)
	}
}

func TestTimersStopAtExitAndExec(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	catch(task, unix.SIGALRM)
	clock := withClock(task)
	id, _ := task.CreateTimer(CLOCK_MONOTONIC, nil)
	task.SetTimer(id, 0, TimerSpec{Value: time.Millisecond})
	task.SetITimer(ITIMER_REAL, TimerSpec{Value: 2 * time.Millisecond})
	k.mu.Lock()
	task.execResetLocked(&image{euid: task.creds.EUID, egid: task.creds.EGID})
	k.mu.Unlock()
	if _, err := task.GetTimer(id); err != unix.EINVAL {
		t.Errorf("POSIX timer after exec: %v", err)
	}
	clock.Advance(time.Millisecond)
	if n := len(pending(task, unix.SIGALRM)); n != 0 {
		t.Errorf("a deleted timer fired")
	}
	clock.Advance(time.Millisecond)
	if n := len(pending(task, unix.SIGALRM)); n != 1 {
		t.Errorf("ITIMER_REAL did not survive exec")
	}
	dequeue(task, unix.SIGALRM)
	task.SetITimer(ITIMER_REAL, TimerSpec{Value: time.Millisecond})
	k.mu.Lock()
	k.stopTimersLocked(task.tg)
	k.mu.Unlock()
	clock.Advance(time.Second)
	if n := len(pending(task, unix.SIGALRM)); n != 0 {
		t.Errorf("a timer fired after the process ended")
	}
}

func TestForkDoesNotInheritTimers(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	withClock(task)
	task.SetITimer(ITIMER_REAL, TimerSpec{Value: time.Second})
	task.CreateTimer(CLOCK_MONOTONIC, nil)
	child := k.newTestTask(nil, task.tg, Credentials{})
	k.mu.Lock()
	k.inheritLocked(task, child, true)
	k.mu.Unlock()
	if spec, _ := child.GetITimer(ITIMER_REAL); spec != (TimerSpec{}) {
		t.Errorf("child's ITIMER_REAL = %+v", spec)
	}
	if _, err := child.GetTimer(0); err != unix.EINVAL {
		t.Errorf("child has timer 0: %v", err)
	}
}

// sigRTMin is the first real-time signal as the C library numbers it.
const sigRTMin = unix.Signal(34)
