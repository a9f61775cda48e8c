package kernel

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// Scheduling attributes. The sandbox does not schedule: the host does.
// What programs set is checked as Linux checks it, stored and reported
// back: policies and priorities, CPU affinity (the sandbox's CPUs are the
// host's online CPUs as runtime.NumCPU counts them, numbered from 0),
// nice values (per process here; per thread on Linux) and the
// personality. Linux: kernel/sched/core.c, kernel/sys.c.
//
// All state is guarded by Kernel.mu.

// Scheduling policies. Linux: include/uapi/linux/sched.h.
const (
	SCHED_NORMAL   = 0
	SCHED_FIFO     = 1
	SCHED_RR       = 2
	SCHED_BATCH    = 3
	SCHED_IDLE     = 5
	SCHED_DEADLINE = 6

	// SCHED_RESET_ON_FORK is or'ed into a policy: children start with
	// the default policy.
	SCHED_RESET_ON_FORK = 0x40000000
)

// MaxRTPriority is the highest SCHED_FIFO and SCHED_RR priority
// (MAX_RT_PRIO - 1).
const MaxRTPriority = 99

// Nice values. Linux: include/linux/sched/prio.h.
const (
	MinNice = -20
	MaxNice = 19
)

// setpriority's which. Linux: include/uapi/linux/resource.h.
const (
	PRIO_PROCESS = 0
	PRIO_PGRP    = 1
	PRIO_USER    = 2
)

// Personalities. Linux: include/uapi/linux/personality.h.
const (
	PER_LINUX         = 0
	PER_MASK          = 0xff
	READ_IMPLIES_EXEC = 0x0400000
)

// numCPU is the number of the sandbox's CPUs.
var numCPU = runtime.NumCPU()

// NumCPU is the number of the sandbox's CPUs (nr_cpu_ids).
func NumCPU() int { return numCPU }

// CPUSet is a CPU mask as the affinity calls pass it: bit n%64 of word
// n/64 for CPU n.
type CPUSet []uint64

// allCPUs is the set of every CPU of the sandbox.
func allCPUs() CPUSet {
	s := make(CPUSet, (numCPU+63)/64)
	for c := 0; c < numCPU; c++ {
		s[c/64] |= 1 << (c % 64)
	}
	return s
}

// Has reports whether CPU c is in the set.
func (s CPUSet) Has(c int) bool { return c/64 < len(s) && s[c/64]&(1<<(c%64)) != 0 }

// SchedParams are a thread's policy and priority.
type SchedParams struct {
	Policy      int32
	Priority    int32
	ResetOnFork bool
}

// taskSched are a thread's scheduling attributes; a thread without one
// has the defaults: SCHED_NORMAL and every CPU.
type taskSched struct {
	params   SchedParams
	affinity CPUSet // nil: every CPU
}

func rtPolicy(p int32) bool { return p == SCHED_FIFO || p == SCHED_RR }

func validPolicy(p int32) bool {
	switch p {
	case SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE:
		return true
	}
	return false
}

// schedLocked returns t's attributes (nil for the defaults).
func (t *Task) schedLocked() *taskSched { return t.tg.taskSched[t] }

// setSchedLocked records t's attributes, forgetting those of threads
// that are gone.
func (t *Task) setSchedLocked(ts *taskSched) {
	tg := t.tg
	if tg.taskSched == nil {
		tg.taskSched = map[*Task]*taskSched{}
	}
	for o := range tg.taskSched {
		if _, alive := tg.tasks[o]; !alive {
			delete(tg.taskSched, o)
		}
	}
	tg.taskSched[t] = ts
}

// schedTargetLocked finds the thread tid (0: the caller) for the sched_*
// calls. Linux: kernel/sched/core.c, find_process_by_pid().
func (t *Task) schedTargetLocked(tid int32) (*Task, error) {
	if tid == 0 {
		return t, nil
	}
	o := t.k.tasks[tid]
	if o == nil {
		return nil, unix.ESRCH
	}
	return o, nil
}

// sameOwnerLocked reports whether t acts for o's user.
// Linux: kernel/sched/core.c, check_same_owner().
func (t *Task) sameOwnerLocked(o *Task) bool {
	return t.creds.EUID == o.creds.EUID || t.creds.EUID == o.creds.UID
}

// canNiceLocked reports whether o may get nice value n: within
// RLIMIT_NICE, or with CAP_SYS_NICE. Linux: kernel/sched/core.c, can_nice().
func (t *Task) canNiceLocked(o *Task, n int32) bool {
	return uint64(20-n) <= o.tg.rlimits[unix.RLIMIT_NICE].Cur || t.creds.HasCap(unix.CAP_SYS_NICE)
}

// SchedParams implements sched_getscheduler(2) and sched_getparam(2).
func (t *Task) SchedParams(tid int32) (SchedParams, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	o, err := t.schedTargetLocked(tid)
	if err != nil {
		return SchedParams{}, err
	}
	if ts := o.schedLocked(); ts != nil {
		return ts.params, nil
	}
	return SchedParams{}, nil
}

// SetSchedParams implements sched_setscheduler(2) and, with policy -1
// (keep the policy), sched_setparam(2). Without CAP_SYS_NICE a thread may
// only lower real-time priorities within RLIMIT_RTPRIO, of its own user's
// threads. Linux: kernel/sched/core.c, __sched_setscheduler().
func (t *Task) SetSchedParams(tid int32, policy int32, priority int32, resetOnFork bool) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	o, err := t.schedTargetLocked(tid)
	if err != nil {
		return err
	}
	cur := SchedParams{}
	if ts := o.schedLocked(); ts != nil {
		cur = ts.params
	}
	if policy < 0 {
		policy, resetOnFork = cur.Policy, cur.ResetOnFork
	} else if !validPolicy(policy) {
		return unix.EINVAL
	}
	if uint32(priority) > MaxRTPriority {
		return unix.EINVAL
	}
	// SCHED_DEADLINE needs the parameters only sched_setattr passes.
	if policy == SCHED_DEADLINE || rtPolicy(policy) != (priority != 0) {
		return unix.EINVAL
	}
	if !t.creds.HasCap(unix.CAP_SYS_NICE) {
		if rtPolicy(policy) {
			rtprio := o.tg.rlimits[unix.RLIMIT_RTPRIO].Cur
			if policy != cur.Policy && rtprio == 0 {
				return unix.EPERM
			}
			if priority > cur.Priority && uint64(priority) > rtprio {
				return unix.EPERM
			}
		}
		if cur.Policy == SCHED_IDLE && policy != SCHED_IDLE && !t.canNiceLocked(o, o.tg.nice) {
			return unix.EPERM
		}
		if !t.sameOwnerLocked(o) {
			return unix.EPERM
		}
		if cur.ResetOnFork && !resetOnFork {
			return unix.EPERM
		}
	}
	ts := &taskSched{}
	if old := o.schedLocked(); old != nil {
		*ts = *old
	}
	ts.params = SchedParams{Policy: policy, Priority: priority, ResetOnFork: resetOnFork}
	o.setSchedLocked(ts)
	return nil
}

// Affinity implements sched_getaffinity(2): the thread's CPUs.
func (t *Task) Affinity(tid int32) (CPUSet, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	o, err := t.schedTargetLocked(tid)
	if err != nil {
		return nil, err
	}
	if ts := o.schedLocked(); ts != nil && ts.affinity != nil {
		return append(CPUSet(nil), ts.affinity...), nil
	}
	return allCPUs(), nil
}

// SetAffinity implements sched_setaffinity(2): CPUs the sandbox does not
// have are dropped, and none left is EINVAL. Another user's threads need
// CAP_SYS_NICE. Linux: kernel/sched/core.c, sched_setaffinity().
func (t *Task) SetAffinity(tid int32, mask CPUSet) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	o, err := t.schedTargetLocked(tid)
	if err != nil {
		return err
	}
	if !t.sameOwnerLocked(o) && !t.creds.HasCap(unix.CAP_SYS_NICE) {
		return unix.EPERM
	}
	set := allCPUs()
	empty := true
	for i := range set {
		if i < len(mask) {
			set[i] &= mask[i]
		} else {
			set[i] = 0
		}
		if set[i] != 0 {
			empty = false
		}
	}
	if empty {
		return unix.EINVAL
	}
	ts := &taskSched{}
	if old := o.schedLocked(); old != nil {
		*ts = *old
	}
	ts.affinity = set
	o.setSchedLocked(ts)
	return nil
}

// CurrentCPU is getcpu(2)'s CPU: a stable choice among the thread's
// allowed CPUs, spread by thread ID.
func (t *Task) CurrentCPU() int {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	var set CPUSet
	if ts := t.schedLocked(); ts != nil {
		set = ts.affinity
	}
	start := int(t.tid) % numCPU
	for i := 0; i < numCPU; i++ {
		c := (start + i) % numCPU
		if set == nil || set.Has(c) {
			return c
		}
	}
	return 0
}

// priorityTargetsLocked are the processes getpriority and setpriority
// act on. Nice values are per process here, so PRIO_PROCESS's who (a
// thread ID on Linux) selects the thread's process.
// Linux: kernel/sys.c, sys_setpriority().
func (t *Task) priorityTargetsLocked(which, who int32) ([]*ThreadGroup, error) {
	k := t.k
	var out []*ThreadGroup
	switch which {
	case PRIO_PROCESS:
		if who == 0 {
			return []*ThreadGroup{t.tg}, nil
		}
		if o := k.tasks[who]; o != nil {
			out = append(out, o.tg)
		}
	case PRIO_PGRP:
		pgid := who
		if who == 0 {
			pgid = t.tg.pgrp.id
		}
		for _, tg := range k.threadGroups {
			if tg.pgrp != nil && tg.pgrp.id == pgid {
				out = append(out, tg)
			}
		}
	case PRIO_USER:
		uid := uint32(who)
		if who == 0 {
			uid = t.creds.UID
		}
		for _, tg := range k.threadGroups {
			if tg.leader != nil && tg.leader.creds.UID == uid {
				out = append(out, tg)
			}
		}
	default:
		return nil, unix.EINVAL
	}
	return out, nil
}

// Priority implements getpriority(2): the highest priority among the
// targets, as 20 - nice (1 to 40), the system call's unbiased form.
func (t *Task) Priority(which, who int32) (int32, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	tgs, err := t.priorityTargetsLocked(which, who)
	if err != nil {
		return 0, err
	}
	if len(tgs) == 0 {
		return 0, unix.ESRCH
	}
	best := int32(0)
	for _, tg := range tgs {
		best = max(best, 20-tg.nice)
	}
	return best, nil
}

// SetPriority implements setpriority(2): nice is clamped to
// [MinNice, MaxNice]; another user's processes need CAP_SYS_NICE
// (EPERM), and lowering a nice value beyond RLIMIT_NICE too (EACCES).
// Linux: kernel/sys.c, set_one_prio().
func (t *Task) SetPriority(which, who, nice int32) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	tgs, err := t.priorityTargetsLocked(which, who)
	if err != nil {
		return err
	}
	nice = min(max(nice, MinNice), MaxNice)
	err = unix.ESRCH
	for _, tg := range tgs {
		o := tg.leader
		if o == nil {
			continue
		}
		if o.creds.UID != t.creds.EUID && o.creds.EUID != t.creds.EUID && !t.creds.HasCap(unix.CAP_SYS_NICE) {
			err = unix.EPERM
			continue
		}
		if nice < tg.nice && !t.canNiceLocked(o, nice) {
			err = unix.EACCES
			continue
		}
		if err == unix.ESRCH {
			err = nil
		}
		tg.nice = nice
	}
	return err
}

// Personality implements personality(2): 0xffffffff only reads it. Only
// the Linux execution domain is offered (PER_LINUX32 and the others are
// EINVAL); the flags are stored and reported but change nothing (the
// sandbox's address-space layout is not randomized anyway).
func (t *Task) Personality(p uint32) (uint32, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	old := t.tg.personality
	if p == 0xffffffff {
		return old, nil
	}
	if p&PER_MASK != PER_LINUX {
		return 0, unix.EINVAL
	}
	t.tg.personality = p
	return old, nil
}

// inheritLocked gives a new task what it inherits besides its
// credentials: its creator's scheduling attributes (reset to the
// defaults with SCHED_RESET_ON_FORK) and, for a new process, the nice
// value and personality. Interval and POSIX timers are not inherited.
// Linux: kernel/sched/core.c, sched_fork().
func (k *Kernel) inheritLocked(parent, child *Task, newProcess bool) {
	reset := false
	if ts := parent.schedLocked(); ts != nil {
		c := &taskSched{params: ts.params, affinity: append(CPUSet(nil), ts.affinity...)}
		if c.params.ResetOnFork {
			reset = true
			if rtPolicy(c.params.Policy) || c.params.Policy == SCHED_DEADLINE {
				c.params.Policy, c.params.Priority = SCHED_NORMAL, 0
			}
			c.params.ResetOnFork = false
		}
		child.setSchedLocked(c)
	}
	if newProcess {
		child.tg.nice = parent.tg.nice
		if reset && child.tg.nice < 0 {
			child.tg.nice = 0
		}
		child.tg.personality = parent.tg.personality
	}
}

// execResetLocked does what exec does to the process attributes this
// file and creds.go keep: the credentials take their exec form (the
// effective IDs of a set-ID file, the saved IDs, capabilities,
// SECBIT_KEEP_CAPS), POSIX timers are deleted (interval timers
// survive), a 64-bit program loses READ_IMPLIES_EXEC, and the process
// is dumpable again unless its IDs now differ (a set-ID program's
// memory and /proc files are not its caller's to read). It is Execve's
// to call, with Kernel.mu held, once the other threads are gone and
// exec can no longer fail.
// Linux: fs/exec.c, begin_new_exec(); arch/x86/kernel/process_64.c,
// set_personality_64bit().
func (t *Task) execResetLocked(img *image) {
	if img.euid != t.creds.EUID || img.egid != t.creds.EGID {
		t.creds.EUID, t.creds.EGID = img.euid, img.egid
		// A set-ID exec clears the ambient capabilities.
		// Linux: security/commoncap.c, cap_bprm_creds_from_file().
		caps := t.creds.Capabilities()
		caps.Ambient = 0
		t.creds.setCaps(caps)
	}
	t.tg.dumpable = !img.secure
	t.creds.afterExec()
	t.k.deletePosixTimersLocked(t.tg)
	t.tg.personality &^= READ_IMPLIES_EXEC
}
