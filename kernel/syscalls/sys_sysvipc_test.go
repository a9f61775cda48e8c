package syscalls

import (
	"testing"

	"magawa/kernel/ipc/mqueue"
	"magawa/kernel/ipc/sysv"
	"magawa/kernel/kernel"
)

// The kernel's default IPC limits are those the IPC packages define.
func TestIPCLimitsDefaults(t *testing.T) {
	l := kernel.DefaultIPCLimits()
	if got, want := sysv.Limits(l.SysV), sysv.DefaultLimits(); got != want {
		t.Errorf("kernel's System V defaults %+v, sysv's %+v", got, want)
	}
	if got, want := mqueue.Limits(l.MQ), mqueue.DefaultLimits(); got != want {
		t.Errorf("kernel's message queue defaults %+v, mqueue's %+v", got, want)
	}
}
