package kernel

import (
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/loader"
	"magawa/kernel/mm"
	"magawa/kernel/vfs"
)

// This file gives the proc file system (kernel/fs/proc) read-only views
// of the sandbox's processes and threads. Everything here takes Kernel.mu
// for a snapshot and returns copies; nothing blocks under the lock (CPU
// clocks are read after it is released).

// PIDMax is the largest thread ID (/proc/sys/kernel/pid_max).
const PIDMax = pidMax

// NrOpen is fs.nr_open, the ceiling of RLIMIT_NOFILE.
const NrOpen = nrOpen

// NumRlimits is the number of resource limits (RLIM_NLIMITS).
const NumRlimits = numRlimits

// StartTime is when the kernel started: the sandbox's boot time.
func (k *Kernel) StartTime() time.Time { return k.start }

// ThreadGroups returns the processes of the sandbox, zombies included, by
// ascending ID.
func (k *Kernel) ThreadGroups() []*ThreadGroup {
	k.mu.Lock()
	out := make([]*ThreadGroup, 0, len(k.threadGroups))
	for _, tg := range k.threadGroups {
		out = append(out, tg)
	}
	k.mu.Unlock()
	slices.SortFunc(out, func(a, b *ThreadGroup) int { return int(a.id - b.id) })
	return out
}

// ProcessInfo describes a process for a container runtime's ps.
type ProcessInfo struct {
	PID  int32 `json:"pid"`
	PPID int32 `json:"ppid"` // 0 for init and the processes Exec started
	PGID int32 `json:"pgid"`
	SID  int32 `json:"sid"`
	// UID is the real user ID.
	UID uint32 `json:"uid"`
	// Comm is the command name (/proc/[pid]/comm).
	Comm string `json:"comm"`
	// Argv are the argument strings as /proc/[pid]/cmdline gives them
	// (none for a zombie).
	Argv []string `json:"argv,omitempty"`
	// State is /proc's state letter: 'S', 'T' (stopped) or 'Z'.
	State byte `json:"state"`
	// StartTime is when the process was created.
	StartTime time.Time `json:"start_time"`
	// CPUTime is the CPU time of its threads, exited ones included.
	CPUTime time.Duration `json:"cputime"`
	Threads int           `json:"threads"`
	// Container is the container the process belongs to ("" the
	// sandbox's first).
	Container string `json:"container,omitempty"`
}

// Processes lists the processes of the sandbox, zombies included, by
// ascending ID.
func (k *Kernel) Processes() []ProcessInfo {
	tgs := k.ThreadGroups()
	out := make([]ProcessInfo, 0, len(tgs))
	for _, tg := range tgs {
		leader := tg.Leader()
		in := leader.Info(true)
		p := ProcessInfo{
			PID: in.TGID, PPID: in.PPID, PGID: in.PGID, SID: in.SID,
			UID:       in.Creds.UID,
			Comm:      in.Name,
			State:     in.State,
			StartTime: k.start.Add(in.StartTime),
			CPUTime:   in.CPUTime,
			Threads:   in.Threads,
			Container: tg.Container(),
		}
		if b, err := leader.Args(false); err == nil && len(b) > 0 {
			p.Argv = strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		}
		out = append(out, p)
	}
	return out
}

// Container is the container the process belongs to ("" the sandbox's
// first).
func (tg *ThreadGroup) Container() string {
	tg.leader.k.mu.Lock()
	defer tg.leader.k.mu.Unlock()
	return tg.container
}

// ProcessByID returns the process id (a zombie too), or nil.
func (k *Kernel) ProcessByID(id int32) *ThreadGroup {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.threadGroups[id]
}

// TaskStats are the sandbox-wide counts /proc/stat and /proc/loadavg
// show.
type TaskStats struct {
	// Threads is the number of live threads.
	Threads int
	// LastTID is the last thread ID handed out; with IDs never reused
	// before wrapping, it counts the forks since boot.
	LastTID int32
}

// TaskStats returns the sandbox-wide task counts.
func (k *Kernel) TaskStats() TaskStats {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, tg := range k.threadGroups {
		n += len(tg.tasks)
	}
	return TaskStats{Threads: n, LastTID: k.lastTID}
}

// CPUUsage returns the CPU time the sandbox's application code has used
// since boot: the live threads' clocks, the exited threads of live
// processes, and the reaped processes (accounted to a live ancestor's
// children time).
func (k *Kernel) CPUUsage() time.Duration {
	var ctxs []interface{ CPUTime() (time.Duration, error) }
	var total time.Duration
	k.mu.Lock()
	for _, tg := range k.threadGroups {
		if tg.zombie {
			// Its time is in its parent's children time already.
			continue
		}
		total += tg.cpuTime + tg.childrenCPU
		for t := range tg.tasks {
			if t.ctx != nil {
				ctxs = append(ctxs, t.ctx)
			}
		}
	}
	k.mu.Unlock()
	for _, c := range ctxs {
		if d, err := c.CPUTime(); err == nil {
			total += d
		}
	}
	return total
}

// UTSHostname returns the sandbox's host name (the UTS nodename).
func (k *Kernel) UTSHostname() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.Hostname
}

// SetUTSHostname changes the sandbox's host name, as sethostname(2)
// does once the caller's CAP_SYS_ADMIN is checked.
func (k *Kernel) SetUTSHostname(name string) error {
	if len(name) > 64 { // __NEW_UTS_LEN
		return unix.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.Hostname = name
	return nil
}

// UTSDomainname returns the sandbox's NIS domain name.
func (k *Kernel) UTSDomainname() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.Domainname
}

// SetUTSDomainname changes the sandbox's NIS domain name, as
// setdomainname(2) does once the caller's CAP_SYS_ADMIN is checked.
func (k *Kernel) SetUTSDomainname(name string) error {
	if len(name) > 64 { // __NEW_UTS_LEN
		return unix.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.Domainname = name
	return nil
}

// Reaped reports whether the process is gone from the sandbox: its ID
// may name another process now.
func (tg *ThreadGroup) Reaped() bool {
	k := tg.kernel()
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.threadGroups[tg.id] != tg
}

// kernel returns the process's kernel. A process always has a leader
// (exec replaces it, never clears it).
func (tg *ThreadGroup) kernel() *Kernel { return tg.leader.k }

// Leader returns the thread whose ID is the process's. After the leader
// exited it stays, a zombie, until the process is reaped.
func (tg *ThreadGroup) Leader() *Task {
	k := tg.kernel()
	k.mu.Lock()
	defer k.mu.Unlock()
	return tg.leader
}

// Threads returns the threads of the process by ascending TID: the live
// ones, and the leader if it exited before them (or the process is a
// zombie), as Linux lists /proc/[pid]/task.
func (tg *ThreadGroup) Threads() []*Task {
	k := tg.kernel()
	k.mu.Lock()
	out := make([]*Task, 0, len(tg.tasks)+1)
	for t := range tg.tasks {
		out = append(out, t)
	}
	if _, live := tg.tasks[tg.leader]; !live && k.threadGroups[tg.id] == tg {
		out = append(out, tg.leader)
	}
	k.mu.Unlock()
	slices.SortFunc(out, func(a, b *Task) int { return int(a.tid - b.tid) })
	return out
}

// Thread returns the process's thread tid (see Threads), or nil.
func (tg *ThreadGroup) Thread(tid int32) *Task {
	k := tg.kernel()
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.tasks[tid]
	if t == nil || t.tg != tg {
		return nil
	}
	return t
}

// Alive reports whether the task is still in the sandbox's thread table:
// live, or a leader that waits for its process to be reaped.
func (t *Task) Alive() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.k.tasks[t.tid] == t
}

// Identity returns a copy of the task's credentials and whether its
// process is dumpable: what ownership of its /proc files and ptrace-style
// access checks need.
func (t *Task) Identity() (Credentials, bool) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	c := t.creds
	c.Groups = slices.Clone(c.Groups)
	return c, t.tg.dumpable
}

// TaskInfo is a snapshot of a thread for /proc/[pid]/stat and status.
type TaskInfo struct {
	TID, TGID, PPID, PGID, SID int32
	Name                       string
	// State is the state letter: 'R', 'S', 'T' (stopped), 'Z' (a zombie,
	// or a leader that exited before its threads).
	State byte
	Creds Credentials
	Caps  Capabilities
	// NoNewPrivs and Dumpable are the process's prctl flags.
	NoNewPrivs, Dumpable bool
	Umask                uint32
	// Pending is the thread's own pending set, SharedPending the
	// process's; Blocked the thread's mask; Ignored and Caught come
	// from the process's handlers.
	Pending, SharedPending, Blocked, Ignored, Caught SignalSet
	// QueuedSignals counts the queued signals of the thread and process.
	QueuedSignals int
	Rlimits       [numRlimits]Rlimit
	Threads       int
	// CPUTime is the thread's CPU time, or the whole process's when the
	// snapshot was taken for the process; ChildrenCPUTime is that of its
	// reaped children.
	CPUTime, ChildrenCPUTime time.Duration
	Nice                     int32
	Policy, RTPriority       int32
	// StartTime is when the process started, since the kernel started.
	StartTime  time.Duration
	ExitSignal int32
	// ExitCode is a zombie's wait status (stat's exit_code).
	ExitCode    uint32
	CPU         int
	Affinity    CPUSet
	Personality uint32
	// ArgStart, ArgEnd, EnvStart and EnvEnd bound the argument and
	// environment strings (zero if exec did not record them).
	ArgStart, ArgEnd, EnvStart, EnvEnd uintptr
	// HasTTY says the process has a controlling terminal: TTY is its
	// device number and TPGID the terminal's foreground process group.
	HasTTY bool
	TTY    uint64
	TPGID  int32
}

// Info takes a snapshot of the task. With whole set, CPU time is the
// process's (all its threads, exited ones included) rather than the
// thread's.
func (t *Task) Info(whole bool) TaskInfo {
	k := t.k
	var clocks []interface{ CPUTime() (time.Duration, error) }
	k.mu.Lock()
	tg := t.tg
	in := TaskInfo{
		TID:           t.tid,
		TGID:          tg.id,
		Name:          t.name,
		State:         'S',
		Creds:         t.creds,
		Caps:          t.creds.Capabilities(),
		NoNewPrivs:    tg.noNewPrivs,
		Dumpable:      tg.dumpable,
		Pending:       t.pending.set,
		SharedPending: tg.pending.set,
		Blocked:       t.sigMask,
		QueuedSignals: t.pending.count() + tg.pending.count(),
		Rlimits:       tg.rlimits,
		Threads:       len(tg.tasks),
		Nice:          tg.nice,
		StartTime:     tg.startTime.Sub(k.start),
		ExitSignal:    int32(t.exitSignal),
		Personality:   tg.personality,
	}
	in.Creds.Groups = slices.Clone(in.Creds.Groups)
	if tg.ctty != nil {
		// Kernel.mu before the terminal's lock: the documented order.
		_, fg := tg.ctty.Session()
		in.HasTTY, in.TTY, in.TPGID = true, tg.ctty.SlaveDevice(), fg
	}
	in.ArgStart, in.ArgEnd, in.EnvStart, in.EnvEnd = t.argBoundsLocked()
	if t.fs != nil {
		in.Umask = t.fs.umask
	}
	if tg.parent != nil {
		in.PPID = tg.parent.id
	}
	if tg.pgrp != nil {
		in.PGID = tg.pgrp.id
		if tg.pgrp.session != nil {
			in.SID = tg.pgrp.session.id
		}
	}
	for i, a := range tg.handler.actions {
		switch a.Handler {
		case SIG_DFL:
		case SIG_IGN:
			in.Ignored |= 1 << uint(i)
		default:
			in.Caught |= 1 << uint(i)
		}
	}
	_, live := tg.tasks[t]
	switch {
	case !live || tg.zombie:
		in.State = 'Z'
		in.ExitCode = tg.status.WaitStatus()
	case tg.stopped || tg.stopping:
		in.State = 'T'
	}
	in.Affinity = allCPUs()
	if ts := t.schedLocked(); ts != nil {
		in.Policy, in.RTPriority = ts.params.Policy, ts.params.Priority
		if ts.affinity != nil {
			in.Affinity = slices.Clone(ts.affinity)
		}
	}
	start := int(t.tid) % numCPU
	for i := 0; i < numCPU; i++ {
		if c := (start + i) % numCPU; in.Affinity.Has(c) {
			in.CPU = c
			break
		}
	}
	in.ChildrenCPUTime = tg.childrenCPU
	if whole {
		in.CPUTime = tg.cpuTime
		for o := range tg.tasks {
			if o.ctx != nil {
				clocks = append(clocks, o.ctx)
			}
		}
	} else if t.ctx != nil && live {
		clocks = append(clocks, t.ctx)
	}
	k.mu.Unlock()
	for _, c := range clocks {
		if d, err := c.CPUTime(); err == nil {
			in.CPUTime += d
		}
	}
	return in
}

// Comm is Name for readers other than the task itself.
func (t *Task) Comm() string {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.name
}

// SetComm sets the command name, cut to 15 bytes (a write to
// /proc/[pid]/comm).
func (t *Task) SetComm(name string) {
	if len(name) > 15 {
		name = name[:15]
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.name = name
}

// Files returns the task's descriptor table, or nil once it exited.
func (t *Task) Files() *vfs.FDTable {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.fds
}

// AddressSpace returns the task's address space, or nil once it exited.
func (t *Task) AddressSpace() *mm.MM {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.mm
}

// ExecutablePath is Executable for readers other than the task itself.
func (t *Task) ExecutablePath() vfs.Path {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.exe
}

// MountNamespace returns the task's mount namespace: its container's.
func (t *Task) MountNamespace() *vfs.MountNamespace {
	if t.mounts == nil {
		return t.k.Mounts
	}
	return t.mounts
}

// maxArgsRead bounds a read of the argument or environment area: the
// most execve lets the strings take (6 MiB) and a little more for
// setproctitle's overflow.
const maxArgsRead = 8 << 20

// Args returns the process's argument strings as /proc/[pid]/cmdline
// shows them (NUL-terminated, read from its memory), or with env set its
// environment strings (environ). A task without an address space, or
// whose exec did not record where the strings are, has none.
// Linux: fs/proc/base.c, get_mm_cmdline() and environ_read().
func (t *Task) Args(env bool) ([]byte, error) {
	t.k.mu.Lock()
	m := t.mm
	argStart, argEnd, envStart, envEnd := t.argBoundsLocked()
	t.k.mu.Unlock()
	if m == nil || argEnd <= argStart {
		return nil, nil
	}
	read := func(start, end uintptr) ([]byte, error) {
		if end <= start {
			return nil, nil
		}
		b := make([]byte, min(end-start, maxArgsRead))
		n, err := m.CopyIn(start, b)
		if n == 0 && err != nil {
			return nil, err
		}
		return b[:n], nil
	}
	if env {
		return read(envStart, envEnd)
	}
	args, err := read(argStart, argEnd)
	if err != nil || len(args) == 0 || args[len(args)-1] == 0 {
		return args, err
	}
	// setproctitle(3) overwrote the strings and may run into the
	// environment: the title is one string, up to its NUL.
	if envStart != argEnd || envEnd < envStart {
		envEnd = argEnd
	}
	all, err := read(argStart, envEnd)
	if err != nil {
		return nil, err
	}
	if i := slices.Index(all, 0); i >= 0 {
		all = all[:i]
	}
	return all, nil
}

// argBoundsLocked returns where exec put the argument and environment
// strings (Linux's mm->arg_start and friends).
func (t *Task) argBoundsLocked() (argStart, argEnd, envStart, envEnd uintptr) {
	s := t.stackLocked()
	return s.ArgStart, s.ArgEnd, s.EnvStart, s.EnvEnd
}

// Auxv returns the auxiliary vector exec gave the process, AT_NULL
// included (/proc/[pid]/auxv); nil if it was not recorded.
func (t *Task) Auxv() []loader.AuxEntry {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return slices.Clone(t.stackLocked().Auxv)
}

// stackLocked describes the initial stack of the task's program.
func (t *Task) stackLocked() loader.Stack { return t.stack }

// Usage is what the processes of a container use.
type Usage struct {
	// Tasks counts their threads.
	Tasks int
	// CPUTime is their threads' CPU time, exited threads included.
	CPUTime time.Duration
	// Resident is the memory their address spaces have resident
	// (shared mappings counted in each address space that maps them,
	// as Rss is).
	Resident uint64
}

// ContainerUsage sums the usage of container's processes ("" the
// sandbox's first container).
func (k *Kernel) ContainerUsage(container string) Usage {
	var u Usage
	seen := map[*mm.MM]bool{}
	for _, tg := range k.ThreadGroups() {
		if tg.Container() != container {
			continue
		}
		leader := tg.Leader()
		in := leader.Info(true)
		u.Tasks += in.Threads
		u.CPUTime += in.CPUTime
		m := leader.AddressSpace()
		if m == nil || seen[m] {
			continue
		}
		seen[m] = true
		for _, vma := range m.Maps() {
			vec, err := m.Mincore(vma.Start, vma.End-vma.Start)
			if err != nil {
				continue
			}
			for _, b := range vec {
				u.Resident += uint64(b & 1)
			}
		}
	}
	u.Resident *= mm.PageSize
	return u
}
