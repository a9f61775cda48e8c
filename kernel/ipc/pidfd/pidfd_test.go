package pidfd

import (
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// fakeTarget is a process that exits when told.
type fakeTarget struct {
	queue  waiter.Queue
	exited bool
	pid    int32
}

func (f *fakeTarget) Readiness(mask uint32) uint32 {
	if f.exited {
		return mask & (waiter.EventIn | waiter.EventRdNorm)
	}
	return 0
}
func (f *fakeTarget) EventRegister(e *waiter.Entry)   { f.queue.Register(e) }
func (f *fakeTarget) EventUnregister(e *waiter.Entry) { f.queue.Unregister(e) }
func (f *fakeTarget) PID() int32                      { return f.pid }

func (f *fakeTarget) exit() {
	f.exited = true
	f.queue.Notify(waiter.EventIn | waiter.EventRdNorm)
}

func TestPidfd(t *testing.T) {
	target := &fakeTarget{pid: 42}
	f := New(target, unix.O_NONBLOCK)
	defer f.DecRef()
	if got, thread, ok := Of(f); !ok || got != Target(target) || thread {
		t.Fatalf("Of = %v, %v, %v", got, thread, ok)
	}
	if f.Flags() != unix.O_RDWR|unix.O_NONBLOCK {
		t.Errorf("flags = %#x", f.Flags())
	}
	if _, err := f.Impl.ReadAt(make([]byte, 8), 0); err != unix.EINVAL {
		t.Errorf("read = %v, want EINVAL", err)
	}
	w := f.Impl.(vfs.Waitable)
	e, ch := waiter.NewChannelEntry(waiter.EventIn)
	w.EventRegister(e)
	defer w.EventUnregister(e)
	if w.Readiness(waiter.EventIn) != 0 {
		t.Fatal("ready before the exit")
	}
	target.exit()
	select {
	case <-ch:
	default:
		t.Fatal("no wake at the exit")
	}
	if w.Readiness(waiter.EventIn|waiter.EventOut) != waiter.EventIn {
		t.Error("not readable after the exit")
	}
	if got := f.Impl.(interface{ FDInfo() string }).FDInfo(); got != "Pid:\t42\nNSpid:\t42\n" {
		t.Errorf("fdinfo = %q", got)
	}
	if !IsPidfd(f) {
		t.Error("IsPidfd = false")
	}
}

func TestPendingPidfd(t *testing.T) {
	f, set := NewPending(Thread)
	defer f.DecRef()
	if _, thread, ok := Of(f); ok || !thread {
		t.Fatalf("Of a pending pidfd: ok %v thread %v", ok, thread)
	}
	w := f.Impl.(vfs.Waitable)
	e, ch := waiter.NewChannelEntry(waiter.EventIn)
	w.EventRegister(e) // before the target is known
	target := &fakeTarget{pid: 7}
	set(target)
	set(&fakeTarget{}) // a second set changes nothing
	if got, _, ok := Of(f); !ok || got != Target(target) {
		t.Fatalf("Of after set = %v, %v", got, ok)
	}
	target.exit()
	select {
	case <-ch:
	default:
		t.Fatal("a poller registered before the target was set missed the exit")
	}
	w.EventUnregister(e)
	if !target.queue.Empty() {
		t.Error("EventUnregister left the entry on the target")
	}
}
