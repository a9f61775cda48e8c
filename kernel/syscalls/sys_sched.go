package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	"magawa/kernel/kernel"
)

// cpumaskSize is the size of the kernel's cpumask in bytes: whole longs
// covering the sandbox's CPUs. Linux: include/linux/cpumask.h,
// cpumask_size().
func cpumaskSize() int { return (kernel.NumCPU() + 63) / 64 * 8 }

// SchedGetaffinity implements sched_getaffinity(2): it returns the number
// of bytes written, which is the kernel's cpumask size or less.
// Linux: kernel/sched/core.c.
func SchedGetaffinity(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	pid, size := a.Int(0), int(a.Uint(1))
	if size*8 < kernel.NumCPU() || size%8 != 0 {
		return 0, unix.EINVAL
	}
	set, err := t.Affinity(pid)
	if err != nil {
		return 0, err
	}
	b := make([]byte, cpumaskSize())
	for i, w := range set {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	b = b[:min(size, len(b))]
	if n, err := t.CopyOut(a.Pointer(2), b); err != nil || n != len(b) {
		return 0, unix.EFAULT
	}
	return uintptr(len(b)), nil
}

// SchedSetaffinity implements sched_setaffinity(2): a shorter mask leaves
// the CPUs beyond it out, a longer one is read up to the kernel's size.
// Linux: kernel/sched/core.c, get_user_cpu_mask().
func SchedSetaffinity(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	pid, size := a.Int(0), int(a.Uint(1))
	b := make([]byte, cpumaskSize())
	n := min(size, len(b))
	if got, err := t.CopyIn(a.Pointer(2), b[:n]); err != nil || got != n {
		return 0, unix.EFAULT
	}
	set := make(kernel.CPUSet, len(b)/8)
	for i := range set {
		set[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return 0, t.SetAffinity(pid, set)
}

// schedParam is struct sched_param.
type schedParam struct{ Priority int32 }

// SchedGetscheduler implements sched_getscheduler(2).
func SchedGetscheduler(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	pid := a.Int(0)
	if pid < 0 {
		return 0, unix.EINVAL
	}
	p, err := t.SchedParams(pid)
	if err != nil {
		return 0, err
	}
	policy := p.Policy
	if p.ResetOnFork {
		policy |= kernel.SCHED_RESET_ON_FORK
	}
	return uintptr(policy), nil
}

// SchedGetparam implements sched_getparam(2).
func SchedGetparam(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	pid, addr := a.Int(0), a.Pointer(1)
	if addr == 0 || pid < 0 {
		return 0, unix.EINVAL
	}
	p, err := t.SchedParams(pid)
	if err != nil {
		return 0, err
	}
	sp := schedParam{Priority: p.Priority}
	return 0, copyOutStruct(t, addr, &sp)
}

// setScheduler is sched_setscheduler and sched_setparam (policy -1).
// Linux: kernel/sched/core.c, do_sched_setscheduler().
func setScheduler(t *kernel.Task, pid int32, policy int32, addr uintptr) error {
	if addr == 0 || pid < 0 {
		return unix.EINVAL
	}
	var sp schedParam
	if err := copyInStruct(t, addr, &sp); err != nil {
		return err
	}
	reset := false
	if policy >= 0 {
		reset = policy&kernel.SCHED_RESET_ON_FORK != 0
		policy &^= kernel.SCHED_RESET_ON_FORK
	}
	return t.SetSchedParams(pid, policy, sp.Priority, reset)
}

// SchedSetscheduler implements sched_setscheduler(2): the policies are
// recorded and reported, the host schedules as it will.
func SchedSetscheduler(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	policy := a.Int(1)
	if policy < 0 {
		return 0, unix.EINVAL
	}
	return 0, setScheduler(t, a.Int(0), policy, a.Pointer(2))
}

// SchedSetparam implements sched_setparam(2).
func SchedSetparam(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, setScheduler(t, a.Int(0), -1, a.Pointer(1))
}

// SchedGetPriorityMax implements sched_get_priority_max(2).
func SchedGetPriorityMax(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	switch a.Int(0) {
	case kernel.SCHED_FIFO, kernel.SCHED_RR:
		return kernel.MaxRTPriority, nil
	case kernel.SCHED_NORMAL, kernel.SCHED_BATCH, kernel.SCHED_IDLE, kernel.SCHED_DEADLINE:
		return 0, nil
	}
	return 0, unix.EINVAL
}

// SchedGetPriorityMin implements sched_get_priority_min(2).
func SchedGetPriorityMin(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	switch a.Int(0) {
	case kernel.SCHED_FIFO, kernel.SCHED_RR:
		return 1, nil
	case kernel.SCHED_NORMAL, kernel.SCHED_BATCH, kernel.SCHED_IDLE, kernel.SCHED_DEADLINE:
		return 0, nil
	}
	return 0, unix.EINVAL
}

// rrTimeslice is SCHED_RR's time slice. Linux: include/linux/sched/rt.h,
// RR_TIMESLICE.
const rrTimeslice = 100 * time.Millisecond

// SchedRrGetInterval implements sched_rr_get_interval(2): SCHED_RR's
// slice, 0 for SCHED_FIFO, and 0 for the fair policies, as a current
// Linux at HZ=250 reports its base slice in whole jiffies.
func SchedRrGetInterval(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	pid := a.Int(0)
	if pid < 0 {
		return 0, unix.EINVAL
	}
	p, err := t.SchedParams(pid)
	if err != nil {
		return 0, err
	}
	var ts abi.Timespec
	if p.Policy == kernel.SCHED_RR {
		ts = durationTimespec(rrTimeslice)
	}
	return 0, copyOutStruct(t, a.Pointer(1), &ts)
}

// Getpriority implements getpriority(2): the result is 20 - nice, which
// the C library turns back into a nice value.
func Getpriority(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	p, err := t.Priority(a.Int(0), a.Int(1))
	return uintptr(p), err
}

// Setpriority implements setpriority(2).
func Setpriority(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetPriority(a.Int(0), a.Int(1), a.Int(2))
}

// Getcpu implements getcpu(2): a stable CPU of the thread's affinity, on
// NUMA node 0.
func Getcpu(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	if addr := a.Pointer(0); addr != 0 {
		cpu := uint32(t.CurrentCPU())
		if err := copyOutStruct(t, addr, &cpu); err != nil {
			return 0, err
		}
	}
	if addr := a.Pointer(1); addr != 0 {
		node := uint32(0)
		if err := copyOutStruct(t, addr, &node); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Personality implements personality(2).
func Personality(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	old, err := t.Personality(a.Uint(0))
	return uintptr(old), err
}

// sysinfo is struct sysinfo on x86-64.
type sysinfo struct {
	Uptime    int64
	Loads     [3]uint64
	Totalram  uint64
	Freeram   uint64
	Sharedram uint64
	Bufferram uint64
	Totalswap uint64
	Freeswap  uint64
	Procs     uint16
	_         [6]byte
	Totalhigh uint64
	Freehigh  uint64
	MemUnit   uint32
	_         [4]byte
}

// Sysinfo implements sysinfo(2) for the sandbox: its uptime (rounded up
// to a second, as Linux rounds), the host's memory with what the
// sandbox's memory file holds as used, no swap, no load figures, and its
// tasks as procs. Sizes are in bytes (mem_unit 1), as on 64-bit Linux.
// Linux: kernel/sys.c, do_sysinfo().
func Sysinfo(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	k := t.Kernel()
	var si sysinfo
	up := k.Uptime()
	si.Uptime = int64(up / time.Second)
	if up%time.Second != 0 {
		si.Uptime++
	}
	var host unix.Sysinfo_t
	if err := unix.Sysinfo(&host); err == nil {
		si.Totalram = host.Totalram * uint64(host.Unit)
	}
	used := k.MemoryFile.Used()
	if used < si.Totalram {
		si.Freeram = si.Totalram - used
	}
	si.Procs = uint16(min(k.NumTasks(), 0xffff))
	si.MemUnit = 1
	return 0, copyOutStruct(t, a.Pointer(0), &si)
}
