package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/loader"
	"magawa/kernel/mm"
	"magawa/kernel/vdso"
)

// The vvar page: the data from which the vDSO (package vdso) answers
// clock_gettime, gettimeofday and time without a system call. It is one
// page of the memory file, allocated when the sandbox starts (Run) and
// mapped read-only below the vDSO into every address space at exec
// (fork shares it). An updater goroutine keeps it close to the host's
// clocks, which the system calls read: it samples them against the TSC
// and publishes a vdso.Timekeeper's Data every vvarPeriod, the first
// time vvarCalibration after the start. On a host without an invariant
// TSC it never starts, the page stays zeros, and the vDSO makes system
// calls, as it also does until the first Data. The clocks cannot be set
// from the sandbox (clock_settime is EPERM); a host clock that is set
// is seen at the next update.

const (
	vvarPeriod      = 100 * time.Millisecond
	vvarCalibration = 2 * time.Millisecond
	// vvarIdlePeriod bounds the period while no task runs application
	// code: it doubles at each idle update up to this. Every update
	// wakes the sandbox process (the timer, Go's scheduler and sysmon
	// behind it), which an idle sandbox should not pay ten times a
	// second; and nothing reads the page while every task waits in the
	// kernel. The first task back is served by a line continued from
	// the last update, off by the TSC's drift over that time at most,
	// and steered again at the next update, one vvarPeriod on.
	vvarIdlePeriod = 1600 * time.Millisecond
)

// vvar is the kernel's vvar page. It is set once, by Run, before any
// task starts; the updater owns the page's contents.
type vvar struct {
	off  uint64 // the page in the memory file: the kernel holds a reference
	stop chan struct{}
	done chan struct{}
}

// startVVar allocates the vvar page and starts its updater. Without
// memory the vDSO gets a page of zeros at exec (loader.MapVDSO).
func (k *Kernel) startVVar() {
	off, err := k.MemoryFile.Allocate(vdso.VVarSize)
	if err != nil {
		k.Log.Printf("vdso: no vvar page (%v): clocks are read by system calls", err)
		return
	}
	v := &vvar{off: off, stop: make(chan struct{}), done: make(chan struct{})}
	k.vvar = v
	ok, why := vdso.InvariantTSC()
	if !ok {
		k.Log.Printf("vdso: %s: clocks are read by system calls", why)
		close(v.done)
		return
	}
	page := vdso.NewPage(k.MemoryFile.Slice(off, vdso.VVarSize))
	go v.update(page, k.idleSince)
}

// update keeps page up to date until v.stop closes, less often while
// idle (no task entered application code since the last update) says
// so.
func (v *vvar) update(page *vdso.Page, idle func(last uint64) (bool, uint64)) {
	defer close(v.done)
	tk := vdso.Timekeeper{Period: vvarPeriod}
	s := vdso.SampleHost()
	tk.Update(&s)
	timer := time.NewTimer(vvarCalibration)
	defer timer.Stop()
	_, entries := idle(0)
	period := vvarPeriod
	for {
		select {
		case <-v.stop:
			return
		case <-timer.C:
		}
		var quiet bool
		if quiet, entries = idle(entries); quiet {
			period = min(2*period, vvarIdlePeriod)
		} else {
			period = vvarPeriod
		}
		// The line's error is spread over the time to the next update.
		tk.Period = period
		s := vdso.SampleHost()
		d := tk.Update(&s)
		page.Store(&d)
		timer.Reset(period)
	}
}

// stopVVar stops the updater and drops the kernel's reference to the
// page: address spaces that still map it keep theirs.
func (k *Kernel) stopVVar() {
	v := k.vvar
	if v == nil {
		return
	}
	close(v.stop)
	<-v.done
	k.MemoryFile.DecRef(v.off, vdso.VVarSize)
}

// vdsoMemory returns what exec maps the vDSO into (loader.MapVDSO): m,
// able to map the kernel's vvar page if there is one.
func (k *Kernel) vdsoMemory(m *mm.MM) loader.Memory {
	if k.vvar == nil {
		return m
	}
	return vvarMemory{m, k.vvar.off}
}

// vvarMemory is an address space that maps the vvar page at off.
type vvarMemory struct {
	*mm.MM
	off uint64
}

// MapVVar implements loader.VVarMapper.
func (m vvarMemory) MapVVar(addr uintptr) error {
	return m.MapKernelMemory(addr, vdso.VVarSize, unix.PROT_READ, m.off, loader.VVarName)
}
