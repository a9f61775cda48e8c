package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/platform"
)

// A process's timers: the interval timers of setitimer(2) and alarm(2),
// and the POSIX timers of timer_create(2). Linux: kernel/time/itimer.c,
// kernel/time/posix-timers.c, kernel/time/posix-cpu-timers.c.
//
// Wall-clock timers run on the Go runtime's timers, which follow the
// monotonic clock: a CLOCK_REALTIME timer does not move when the host's
// wall clock is set. CPU-time timers (ITIMER_VIRTUAL, ITIMER_PROF and the
// CPU-time clocks) can only observe the platform's CPU clock of each stub
// thread, so while one is armed the process's threads are sampled every
// cpuPollInterval: such a timer fires up to that much CPU time late, and
// ITIMER_VIRTUAL counts system time too (the stub's clock does not tell
// them apart), like ITIMER_PROF.
//
// All state is guarded by Kernel.mu. Timer callbacks run on the Go
// runtime's goroutines and take Kernel.mu; a generation number makes a
// callback that lost the race with a re-arm or a stop give up.

// Which interval timer. Linux: include/uapi/linux/time.h.
const (
	ITIMER_REAL    = 0
	ITIMER_VIRTUAL = 1
	ITIMER_PROF    = 2
)

// Clock IDs timers run on. Linux: include/uapi/linux/time.h.
const (
	CLOCK_REALTIME           = 0
	CLOCK_MONOTONIC          = 1
	CLOCK_PROCESS_CPUTIME_ID = 2
	CLOCK_THREAD_CPUTIME_ID  = 3
	CLOCK_MONOTONIC_RAW      = 4
	CLOCK_REALTIME_COARSE    = 5
	CLOCK_MONOTONIC_COARSE   = 6
	CLOCK_BOOTTIME           = 7
	CLOCK_REALTIME_ALARM     = 8
	CLOCK_BOOTTIME_ALARM     = 9
	CLOCK_TAI                = 11
)

// sigevent notifications. Linux: include/uapi/asm-generic/siginfo.h.
const (
	SIGEV_SIGNAL    = 0
	SIGEV_NONE      = 1
	SIGEV_THREAD    = 2 // handled by the C library; the kernel sends a signal
	SIGEV_THREAD_ID = 4
)

// TIMER_ABSTIME makes timer_settime's value an absolute time.
const TIMER_ABSTIME = 1

// DelaytimerMax caps a POSIX timer's overrun count (DELAYTIMER_MAX).
const DelaytimerMax = 1<<31 - 1

// tickNsec is TICK_NSEC at HZ=250: Linux adds one tick to a CPU interval
// timer's value. Linux: kernel/time/itimer.c, set_cpu_itimer().
const tickNsec = 4 * time.Millisecond

// cpuPollInterval is how often the CPU clocks are sampled while a
// CPU-time timer is armed: the granularity of those timers.
const cpuPollInterval = 10 * time.Millisecond

// Host timers are not re-armed more often than this: a periodic timer
// with a tiny interval costs the sandbox at most one wake-up per
// minPeriod, or per idlePeriod while its signal waits in a queue or is
// ignored (Linux lets those tick once a jiffy). Expiries in between are
// counted, not lost.
const (
	minPeriod  = 20 * time.Microsecond
	idlePeriod = time.Millisecond
)

// TimerSpec is a timer's setting: the time to the next expiry (zero:
// disarmed) and the reload interval (zero: one-shot).
type TimerSpec struct {
	Value, Interval time.Duration
}

// SigEvent is the struct sigevent of timer_create.
type SigEvent struct {
	Value  uint64 // sigev_value
	Signo  int32
	Notify int32
	TID    int32 // SIGEV_THREAD_ID's target
}

// timerClock is the time source of wall-clock timers; tests replace it.
type timerClock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) timerHandle
}

type timerHandle interface{ Stop() bool }

type hostClock struct{}

func (hostClock) Now() time.Time { return time.Now() }
func (hostClock) AfterFunc(d time.Duration, f func()) timerHandle {
	return time.AfterFunc(d, f)
}

// timerBase is what a timer counts.
type timerBase int

const (
	wallBase       timerBase = iota // elapsed time
	processCPUBase                  // the process's CPU time
	threadCPUBase                   // one thread's CPU time
)

// ktimer is one timer: when it expires next, its interval, and what an
// expiry does.
type ktimer struct {
	base  timerBase
	task  *Task // threadCPUBase: whose CPU time
	armed bool
	// wallExp (wallBase) or cpuExp (the CPU bases, on the group's CPU
	// accounts) is the next expiry.
	wallExp  time.Time
	cpuExp   time.Duration
	interval time.Duration
	// oneStep: an expiry moves the next one a single interval on, as
	// Linux's CPU interval timers do; otherwise past now, counting the
	// expiries missed.
	oneStep bool
	// lazy timers (SIGEV_NONE) never fire: they are only read.
	lazy bool
	gen  uint64
	host timerHandle
	// expire runs with Kernel.mu held when the timer expires, n ≥ 1
	// times at once; idle says the timer's last notification is still
	// queued or was ignored, so that the timer may tick slowly. It
	// returns false to disarm the timer.
	expire func(n int) (keep, idle bool)
}

// cpuSample is a thread's CPU time as the sampler saw it: retired is what
// earlier stub threads used (exec gives a task a new one, whose clock
// starts from zero).
type cpuSample struct{ retired, last time.Duration }

func (s *cpuSample) total() time.Duration { return s.retired + s.last }

// groupTimers are a process's timers.
type groupTimers struct {
	k     *Kernel
	tg    *ThreadGroup
	clock timerClock

	itimers [3]*ktimer
	// realFired: ITIMER_REAL expired and sent SIGALRM; until that signal
	// leaves the process's queue the timer is idle, as Linux re-arms it
	// only when SIGALRM is dequeued.
	realFired bool

	posix  map[int32]*posixTimer
	nextID int32

	// CPU accounts: the threads' samples, what exited threads used since
	// sampling began, and the process's total at the last sample.
	cpu       map[*Task]*cpuSample
	cpuExited time.Duration
	cpuNow    time.Duration
	polling   bool

	stopped bool
}

// posixTimer is a timer of timer_create.
type posixTimer struct {
	ktimer
	id    int32
	clock int32
	owner uint32 // the creator's real user ID, for RLIMIT_SIGPENDING
	ev    SigEvent
	// target is SIGEV_THREAD_ID's thread.
	target *Task
	// info is the last signal queued; overrunLast the overrun count of
	// the signal delivered before it.
	info        *arch.SignalInfo
	overrunLast int32
}

func newGroupTimers(k *Kernel, tg *ThreadGroup, clock timerClock) *groupTimers {
	gt := &groupTimers{k: k, tg: tg, clock: clock, posix: map[int32]*posixTimer{}, cpu: map[*Task]*cpuSample{}}
	gt.itimers[ITIMER_REAL] = &ktimer{base: wallBase, expire: gt.expireReal}
	for _, which := range []int{ITIMER_VIRTUAL, ITIMER_PROF} {
		sig := unix.SIGVTALRM
		if which == ITIMER_PROF {
			sig = unix.SIGPROF
		}
		gt.itimers[which] = &ktimer{base: processCPUBase, oneStep: true, expire: func(int) (bool, bool) {
			// Linux: kernel/time/posix-cpu-timers.c, check_cpu_itimer().
			gt.k.sendSignalLocked(gt.tg, nil, &arch.SignalInfo{Signo: int32(sig), Code: arch.SI_KERNEL}, false)
			return true, false
		}}
	}
	return gt
}

// timersLocked returns tg's timers, made on first use.
func (tg *ThreadGroup) timersLocked(k *Kernel) *groupTimers {
	if tg.timers == nil {
		tg.timers = newGroupTimers(k, tg, hostClock{})
	}
	return tg.timers
}

// stopTimersLocked stops every timer of a process that has ended.
func (k *Kernel) stopTimersLocked(tg *ThreadGroup) {
	gt := tg.timers
	if gt == nil {
		return
	}
	gt.stopped = true
	for _, kt := range gt.itimers {
		gt.disarmLocked(kt)
	}
	k.deletePosixTimersLocked(tg)
}

// deletePosixTimersLocked deletes the process's POSIX timers, as exec
// does; interval timers survive exec. Linux: fs/exec.c, begin_new_exec().
func (k *Kernel) deletePosixTimersLocked(tg *ThreadGroup) {
	gt := tg.timers
	if gt == nil {
		return
	}
	for id, pt := range gt.posix {
		gt.disarmLocked(&pt.ktimer)
		delete(gt.posix, id)
	}
}

// disarmLocked stops kt; its interval stays.
func (gt *groupTimers) disarmLocked(kt *ktimer) {
	kt.armed = false
	kt.gen++
	if kt.host != nil {
		kt.host.Stop()
		kt.host = nil
	}
}

// armLocked starts kt: first expiry in value (> 0), then every interval.
func (gt *groupTimers) armLocked(kt *ktimer, value, interval time.Duration) {
	gt.disarmLocked(kt)
	kt.armed = true
	kt.interval = interval
	if kt.base == wallBase {
		kt.wallExp = gt.clock.Now().Add(value)
		if !kt.lazy {
			gt.scheduleLocked(kt, value)
		}
		return
	}
	kt.cpuExp = satAdd(gt.cpuClockLocked(kt), value)
	if !kt.lazy {
		gt.pollLocked()
	}
}

func (gt *groupTimers) scheduleLocked(kt *ktimer, d time.Duration) {
	gen := kt.gen
	kt.host = gt.clock.AfterFunc(d, func() { gt.wallFired(kt, gen) })
}

// wallFired runs when a wall-clock timer's host timer fires.
func (gt *groupTimers) wallFired(kt *ktimer, gen uint64) {
	k := gt.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if gt.stopped || kt.gen != gen || !kt.armed {
		return
	}
	now := gt.clock.Now()
	if now.Before(kt.wallExp) {
		gt.scheduleLocked(kt, kt.wallExp.Sub(now))
		return
	}
	n := 1
	if kt.interval > 0 {
		missed := now.Sub(kt.wallExp) / kt.interval
		n += int(min(missed, DelaytimerMax))
		kt.wallExp = kt.wallExp.Add((missed + 1) * kt.interval)
	} else {
		kt.armed = false
	}
	keep, idle := kt.expire(n)
	if kt.gen != gen {
		return // expire re-armed or stopped it
	}
	if !keep {
		gt.disarmLocked(kt)
		return
	}
	if kt.armed {
		// The expiries a floored wait skips are counted when it ends.
		floor := minPeriod
		if idle {
			floor = idlePeriod
		}
		gt.scheduleLocked(kt, max(kt.wallExp.Sub(now), floor))
	}
}

// cpuClockLocked is the current value of kt's CPU clock on the group's
// accounts, as of the last sample.
func (gt *groupTimers) cpuClockLocked(kt *ktimer) time.Duration {
	if kt.base == threadCPUBase {
		if s := gt.cpu[kt.task]; s != nil {
			return s.total()
		}
		return 0
	}
	return gt.cpuNow
}

// sampleCPU reads the CPU clocks of tg's threads into its accounts.
// Callers do not hold Kernel.mu: the clocks are read without it.
func (k *Kernel) sampleCPU(tg *ThreadGroup) {
	type probe struct {
		t   *Task
		ctx platform.Context
	}
	k.mu.Lock()
	var ps []probe
	for t := range tg.tasks {
		if t.ctx != nil {
			ps = append(ps, probe{t, t.ctx})
		}
	}
	k.mu.Unlock()
	ds := make([]time.Duration, len(ps))
	ok := make([]bool, len(ps))
	for i, p := range ps {
		d, err := p.ctx.CPUTime()
		ds[i], ok[i] = d, err == nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	gt := tg.timersLocked(k)
	for i, p := range ps {
		if !ok[i] {
			continue
		}
		s := gt.cpu[p.t]
		if s == nil {
			s = &cpuSample{}
			gt.cpu[p.t] = s
		}
		if ds[i] < s.last {
			s.retired += s.last // a new stub thread
		}
		s.last = ds[i]
	}
	total := gt.cpuExited
	for t, s := range gt.cpu {
		if _, alive := tg.tasks[t]; !alive {
			gt.cpuExited += s.total()
			total += s.total()
			delete(gt.cpu, t)
			continue
		}
		total += s.total()
	}
	gt.cpuNow = max(gt.cpuNow, total)
}

// cpuArmedLocked reports whether a CPU-time timer needs the poller.
func (gt *groupTimers) cpuArmedLocked() bool {
	for _, kt := range gt.itimers {
		if kt.armed && kt.base != wallBase {
			return true
		}
	}
	for _, pt := range gt.posix {
		if pt.armed && pt.base != wallBase && !pt.lazy {
			return true
		}
	}
	return false
}

// pollLocked starts the CPU poller if it is not running.
func (gt *groupTimers) pollLocked() {
	if gt.polling || gt.stopped {
		return
	}
	gt.polling = true
	gt.clock.AfterFunc(cpuPollInterval, gt.poll)
}

// poll samples the CPU clocks and fires the CPU-time timers that are due,
// every cpuPollInterval while one is armed.
func (gt *groupTimers) poll() {
	k := gt.k
	k.sampleCPU(gt.tg)
	k.mu.Lock()
	defer k.mu.Unlock()
	gt.polling = false
	if gt.stopped {
		return
	}
	gt.expireCPULocked()
	if gt.cpuArmedLocked() {
		gt.pollLocked()
	}
}

// expireCPULocked fires the CPU-time timers that are due.
func (gt *groupTimers) expireCPULocked() {
	due := func(kt *ktimer) {
		if !kt.armed || kt.base == wallBase || kt.lazy {
			return
		}
		if kt.base == threadCPUBase {
			if _, alive := gt.tg.tasks[kt.task]; !alive {
				gt.disarmLocked(kt) // its thread is gone
				return
			}
		}
		now := gt.cpuClockLocked(kt)
		if now < kt.cpuExp {
			return
		}
		n := 1
		switch {
		case kt.interval == 0:
			kt.armed = false
		case kt.oneStep:
			kt.cpuExp = satAdd(kt.cpuExp, kt.interval)
		default:
			// Linux: kernel/time/posix-cpu-timers.c, bump_cpu_timer().
			missed := (now - kt.cpuExp) / kt.interval
			n += int(min(missed, DelaytimerMax))
			kt.cpuExp = satAdd(kt.cpuExp, (missed+1)*kt.interval)
		}
		gen := kt.gen
		if keep, _ := kt.expire(n); !keep && kt.gen == gen {
			gt.disarmLocked(kt)
		}
	}
	for _, kt := range gt.itimers {
		due(kt)
	}
	for _, pt := range gt.posix {
		due(&pt.ktimer)
	}
}

// expireReal is ITIMER_REAL's expiry: SIGALRM to the process. Linux
// re-arms a periodic ITIMER_REAL only when SIGALRM is dequeued
// (kernel/signal.c, dequeue_signal()), so it stays silent while one is
// queued and stops for good when SIGALRM is ignored. The host timer keeps
// ticking at the timer's period; a tick finding the signal gone is where
// Linux's re-armed timer would expire. Linux: kernel/time/itimer.c,
// it_real_fn().
func (gt *groupTimers) expireReal(n int) (keep, idle bool) {
	tg := gt.tg
	if gt.realFired && tg.pending.set&Bit(unix.SIGALRM) != 0 {
		return true, true
	}
	if gt.k.ignoredLocked(tg, unix.SIGALRM, nil, false) {
		return false, true
	}
	gt.realFired = true
	gt.k.sendSignalLocked(tg, nil, &arch.SignalInfo{Signo: int32(unix.SIGALRM), Code: arch.SI_KERNEL}, false)
	return true, false
}

// itimerLocked reads interval timer which (the CPU accounts sampled).
// Linux: kernel/time/itimer.c, do_getitimer().
func (gt *groupTimers) itimerLocked(which int) TimerSpec {
	kt := gt.itimers[which]
	spec := TimerSpec{Interval: kt.interval}
	if !kt.armed {
		return spec
	}
	if which == ITIMER_REAL {
		if gt.realFired && gt.tg.pending.set&Bit(unix.SIGALRM) != 0 {
			return spec // fired; re-armed once SIGALRM is dequeued
		}
		rem := gt.remainingLocked(kt)
		if rem <= 0 {
			// Linux: itimer_get_remtime(), about to fire.
			rem = time.Microsecond
		}
		spec.Value = rem
		return spec
	}
	rem := kt.cpuExp - gt.cpuNow
	if rem < 0 {
		rem = tickNsec // Linux: get_cpu_itimer(), about to fire
	}
	spec.Value = rem
	return spec
}

// remainingLocked is the time to kt's next expiry; an interval timer that
// is late reports the time to the expiry after.
func (gt *groupTimers) remainingLocked(kt *ktimer) time.Duration {
	var rem time.Duration
	if kt.base == wallBase {
		rem = kt.wallExp.Sub(gt.clock.Now())
	} else {
		rem = kt.cpuExp - gt.cpuClockLocked(kt)
	}
	if rem <= 0 && kt.interval > 0 {
		rem = kt.interval - (-rem)%kt.interval
	}
	return rem
}

// validITimer reports whether which names an interval timer.
func validITimer(which int) bool { return which >= ITIMER_REAL && which <= ITIMER_PROF }

// GetITimer implements getitimer(2).
func (t *Task) GetITimer(which int) (TimerSpec, error) {
	if !validITimer(which) {
		return TimerSpec{}, unix.EINVAL
	}
	k := t.k
	if which != ITIMER_REAL {
		k.sampleCPU(t.ThreadGroup())
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return t.tg.timersLocked(k).itimerLocked(which), nil
}

// SetITimer implements setitimer(2): it returns the old setting. A zero
// value disarms the timer (ITIMER_REAL then forgets its interval; the
// CPU timers keep it, as Linux's do). A CPU timer's first expiry is one
// tick later than asked, as on Linux. Linux: kernel/time/itimer.c,
// do_setitimer() and set_cpu_itimer().
func (t *Task) SetITimer(which int, spec TimerSpec) (TimerSpec, error) {
	if !validITimer(which) {
		return TimerSpec{}, unix.EINVAL
	}
	k := t.k
	if which != ITIMER_REAL {
		k.sampleCPU(t.ThreadGroup())
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	gt := t.tg.timersLocked(k)
	old := gt.itimerLocked(which)
	kt := gt.itimers[which]
	if which == ITIMER_REAL {
		gt.realFired = false
		if spec.Value <= 0 {
			gt.disarmLocked(kt)
			kt.interval = 0
			return old, nil
		}
		gt.armLocked(kt, spec.Value, spec.Interval)
		return old, nil
	}
	if spec.Value <= 0 {
		gt.disarmLocked(kt)
		kt.interval = spec.Interval
		return old, nil
	}
	gt.armLocked(kt, satAdd(spec.Value, tickNsec), spec.Interval)
	return old, nil
}

// Alarm implements alarm(2) on ITIMER_REAL: it returns the seconds left
// of the previous alarm, rounded to the nearest, and never 0 for one
// still pending. Linux: kernel/time/itimer.c, alarm_setitimer().
func (t *Task) Alarm(seconds uint32) uint32 {
	old, _ := t.SetITimer(ITIMER_REAL, TimerSpec{Value: time.Duration(seconds) * time.Second})
	secs := uint32(old.Value / time.Second)
	frac := old.Value % time.Second
	if (secs == 0 && frac != 0) || frac >= time.Second/2 {
		secs++
	}
	return secs
}

// checkTimerClock is timer_create's first check of a clock ID: unknown
// clocks are invalid, and some have no timers.
// Linux: kernel/time/posix-timers.c, clockid_to_kclock().
func checkTimerClock(clock int32) error {
	switch {
	case clock < 0:
		if clock&7 == 3 { // CLOCKFD: dynamic POSIX clocks have no timers
			return unix.EOPNOTSUPP
		}
		return nil
	case clock == CLOCK_MONOTONIC_RAW, clock == CLOCK_REALTIME_COARSE, clock == CLOCK_MONOTONIC_COARSE:
		return unix.EOPNOTSUPP
	case clock <= CLOCK_BOOTTIME_ALARM, clock == CLOCK_TAI:
		return nil
	}
	return unix.EINVAL
}

// timerBaseOfLocked maps a valid clock ID to what a timer on it counts,
// with the thread of a thread CPU clock. Besides the CLOCK_* constants it
// takes the CPU clocks that C libraries build with MAKE_PROCESS_CPUCLOCK
// and MAKE_THREAD_CPUCLOCK (glibc's timer_create passes those for
// CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID); only the
// caller's own process and threads are offered. The alarm clocks need a
// real-time clock the sandbox does not have.
// Linux: kernel/time/posix-cpu-timers.c, posix_cpu_timer_create(), and
// alarmtimer.c, alarm_timer_create().
func (t *Task) timerBaseOfLocked(clock int32) (timerBase, *Task, error) {
	if clock < 0 {
		if clock&3 >= 3 { // CPUCLOCK_WHICH >= CPUCLOCK_MAX
			return 0, nil, unix.EINVAL
		}
		pid := ^(clock >> 3)
		if clock&4 != 0 {
			if pid == 0 {
				return threadCPUBase, t, nil
			}
			o := t.k.tasks[pid]
			if o == nil || o.tg != t.tg {
				return 0, nil, unix.EINVAL
			}
			return threadCPUBase, o, nil
		}
		if pid != 0 && pid != t.tg.id {
			return 0, nil, unix.EINVAL
		}
		return processCPUBase, nil, nil
	}
	switch clock {
	case CLOCK_PROCESS_CPUTIME_ID:
		return processCPUBase, nil, nil
	case CLOCK_THREAD_CPUTIME_ID:
		return threadCPUBase, t, nil
	case CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM:
		return 0, nil, unix.EOPNOTSUPP
	}
	return wallBase, nil, nil
}

// CreateTimer implements timer_create(2); ev nil is the default: SIGALRM
// with the timer's ID as si_value. IDs are the process's, counting up
// from 0 and not reused until they wrap; a creation that fails after its
// ID was handed out uses it up, as on Linux. The creator's user may have
// as many timers in the sandbox as its RLIMIT_SIGPENDING.
// Linux: kernel/time/posix-timers.c, do_timer_create() and
// good_sigevent().
func (t *Task) CreateTimer(clock int32, ev *SigEvent) (int32, error) {
	if err := checkTimerClock(clock); err != nil {
		return 0, err
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	owner := t.creds.UID
	n := uint64(0)
	for _, tg := range k.threadGroups {
		if tg.timers == nil {
			continue
		}
		for _, pt := range tg.timers.posix {
			if pt.owner == owner {
				n++
			}
		}
	}
	if n >= t.tg.rlimits[unix.RLIMIT_SIGPENDING].Cur {
		return 0, unix.EAGAIN
	}
	gt := t.tg.timersLocked(k)
	first := gt.nextID
	var id int32
	for {
		id = gt.nextID
		gt.nextID++
		if gt.nextID < 0 {
			gt.nextID = 0
		}
		if _, used := gt.posix[id]; !used {
			break
		}
		if gt.nextID == first {
			return 0, unix.EAGAIN
		}
	}
	pt := &posixTimer{id: id, clock: clock, owner: owner}
	if ev == nil {
		pt.ev = SigEvent{Notify: SIGEV_SIGNAL, Signo: int32(unix.SIGALRM), Value: uint64(uint32(id))}
	} else {
		pt.ev = *ev
		switch ev.Notify {
		case SIGEV_THREAD_ID:
			target := k.tasks[ev.TID]
			if target == nil || target.tg != t.tg {
				return 0, unix.EINVAL
			}
			pt.target = target
			fallthrough
		case SIGEV_SIGNAL, SIGEV_THREAD:
			if !ValidSignal(int(ev.Signo)) {
				return 0, unix.EINVAL
			}
		case SIGEV_NONE:
			pt.lazy = true
		default:
			return 0, unix.EINVAL
		}
	}
	base, task, err := t.timerBaseOfLocked(clock)
	if err != nil {
		return 0, err
	}
	pt.base, pt.task = base, task
	pt.expire = func(n int) (bool, bool) { return gt.expirePosix(pt, n) }
	gt.posix[id] = pt
	return id, nil
}

// expirePosix sends a POSIX timer's signal. While the last one is still
// queued, expiries only add to its si_overrun, as Linux's single
// preallocated sigqueue does; an ignored signal is not queued and the
// timer runs on. Linux: kernel/time/posix-timers.c, posix_timer_fn(),
// posixtimer_rearm(), and kernel/signal.c, send_sigqueue().
func (gt *groupTimers) expirePosix(pt *posixTimer, n int) (keep, idle bool) {
	tg := gt.tg
	if pt.info != nil && pendingInfoLocked(tg, pt.info) {
		pt.info.SetOverrun(addOverrun(pt.info.Overrun(), n))
		return true, true
	}
	if pt.info != nil {
		pt.overrunLast = pt.info.Overrun()
		pt.info = nil
	}
	if pt.target != nil {
		if _, alive := tg.tasks[pt.target]; !alive {
			return true, true
		}
	}
	sig := unix.Signal(pt.ev.Signo)
	if tg.zombie || tg.exiting || gt.k.ignoredLocked(tg, sig, pt.target, false) {
		return true, true
	}
	info := &arch.SignalInfo{Signo: pt.ev.Signo, Code: arch.SI_TIMER}
	info.SetTimerID(pt.id)
	info.SetOverrun(addOverrun(0, n-1))
	info.SetValue(pt.ev.Value)
	pt.info = info
	gt.k.sendSignalLocked(tg, pt.target, info, false)
	return true, false
}

func addOverrun(cur int32, n int) int32 {
	return int32(min(int64(cur)+int64(n), DelaytimerMax))
}

// pendingInfoLocked reports whether info is queued for tg or one of its
// threads.
func pendingInfoLocked(tg *ThreadGroup, info *arch.SignalInfo) bool {
	has := func(p *pendingSignals) bool {
		for _, i := range p.infos[info.Signo-1] {
			if i == info {
				return true
			}
		}
		return false
	}
	if has(&tg.pending) {
		return true
	}
	for t := range tg.tasks {
		if has(&t.pending) {
			return true
		}
	}
	return false
}

// posixTimerLocked looks a timer of the caller's process up.
func (t *Task) posixTimerLocked(id int32) (*groupTimers, *posixTimer, error) {
	gt := t.tg.timers
	if gt == nil || gt.posix[id] == nil {
		return nil, nil, unix.EINVAL
	}
	return gt, gt.posix[id], nil
}

// posixSettingLocked reads a POSIX timer. A timer whose signal has not
// been delivered yet reports at least 1ns; an expired SIGEV_NONE one
// reports zero. Linux: kernel/time/posix-timers.c, common_timer_get().
func (gt *groupTimers) posixSettingLocked(pt *posixTimer) TimerSpec {
	spec := TimerSpec{Interval: pt.interval}
	if !pt.armed {
		return spec
	}
	rem := gt.remainingLocked(&pt.ktimer)
	if rem <= 0 {
		if pt.lazy {
			pt.armed = false
			return spec
		}
		rem = time.Nanosecond
	}
	spec.Value = rem
	return spec
}

// sampleFor samples the CPU clocks if timer id runs on one.
func (t *Task) sampleFor(id int32) {
	k := t.k
	k.mu.Lock()
	cpu := false
	if gt := t.tg.timers; gt != nil && gt.posix[id] != nil {
		cpu = gt.posix[id].base != wallBase
	}
	tg := t.tg
	k.mu.Unlock()
	if cpu {
		k.sampleCPU(tg)
	}
}

// GetTimer implements timer_gettime(2).
func (t *Task) GetTimer(id int32) (TimerSpec, error) {
	t.sampleFor(id)
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	gt, pt, err := t.posixTimerLocked(id)
	if err != nil {
		return TimerSpec{}, err
	}
	return gt.posixSettingLocked(pt), nil
}

// SetTimer implements timer_settime(2) and returns the old setting. With
// TIMER_ABSTIME the value is a time on the timer's clock; a time already
// past expires at once. A CPU clock's absolute time is read on the
// calling thread's clock, as clock_gettime reads it. Re-arming forgets
// the overruns and the signal still queued. Linux:
// kernel/time/posix-timers.c, do_timer_settime() and common_timer_set().
func (t *Task) SetTimer(id int32, flags int32, spec TimerSpec) (TimerSpec, error) {
	k := t.k
	t.sampleFor(id)
	abs := flags&TIMER_ABSTIME != 0 && spec.Value > 0
	var now time.Duration
	if abs {
		k.mu.Lock()
		_, pt, err := t.posixTimerLocked(id)
		k.mu.Unlock()
		if err != nil {
			return TimerSpec{}, err
		}
		if now, err = t.clockNow(pt.clock); err != nil {
			return TimerSpec{}, err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	gt, pt, err := t.posixTimerLocked(id)
	if err != nil {
		return TimerSpec{}, err
	}
	old := gt.posixSettingLocked(pt)
	gt.disarmLocked(&pt.ktimer)
	pt.interval = 0
	pt.info = nil
	pt.overrunLast = 0
	if spec.Value <= 0 {
		return old, nil
	}
	value := spec.Value
	if abs {
		value = max(value-now, time.Nanosecond)
	}
	gt.armLocked(&pt.ktimer, value, spec.Interval)
	return old, nil
}

// clockNow reads clock for an absolute timer setting.
func (t *Task) clockNow(clock int32) (time.Duration, error) {
	host := int32(-1)
	switch clock {
	case CLOCK_REALTIME, CLOCK_REALTIME_ALARM:
		host = unix.CLOCK_REALTIME
	case CLOCK_TAI:
		host = unix.CLOCK_TAI
	case CLOCK_MONOTONIC:
		host = unix.CLOCK_MONOTONIC
	case CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM:
		host = unix.CLOCK_BOOTTIME
	}
	if host < 0 {
		return t.CPUTime()
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(host, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}

// TimerOverrun implements timer_getoverrun(2): the overrun count of the
// timer's last delivered signal.
func (t *Task) TimerOverrun(id int32) (int32, error) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	_, pt, err := t.posixTimerLocked(id)
	if err != nil {
		return 0, err
	}
	if pt.info != nil && !pendingInfoLocked(t.tg, pt.info) {
		return pt.info.Overrun(), nil
	}
	return pt.overrunLast, nil
}

// DeleteTimer implements timer_delete(2). A signal it already queued
// stays queued.
func (t *Task) DeleteTimer(id int32) error {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	gt, pt, err := t.posixTimerLocked(id)
	if err != nil {
		return err
	}
	gt.disarmLocked(&pt.ktimer)
	delete(gt.posix, id)
	return nil
}

// satAdd adds durations, saturating like Linux's ktime_add_safe().
func satAdd(a, b time.Duration) time.Duration {
	if s := a + b; s >= a || b < 0 {
		return s
	}
	return 1<<63 - 1
}
