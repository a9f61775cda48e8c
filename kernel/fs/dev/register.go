package dev

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/devpts"
	"magawa/kernel/tty"
	"magawa/kernel/vfs"
)

// Terminal devices. Linux: Documentation/admin-guide/devices.txt (major 5).
const (
	ttyAuxMajor  = 5
	ttyMinor     = 0
	consoleMinor = 1
)

// Devices are the registered devices of a VFS, with the state they need:
// the devpts instance ptmx opens pairs in, and the console.
type Devices struct {
	pts     *devpts.FS
	console atomic.Pointer[tty.Terminal]
}

// Register makes v open the sandbox's character devices (see the package
// doc). pts is the devpts instance /dev/ptmx opens pairs in (nil: ptmx
// opens nothing, ENXIO).
func Register(v *vfs.VFS, pts *devpts.FS) *Devices {
	d := &Devices{pts: pts}
	v.RegisterCharDevice(memMajor, nullMinor, openNull)
	v.RegisterCharDevice(memMajor, zeroMinor, openZero)
	v.RegisterCharDevice(memMajor, fullMinor, openFull)
	v.RegisterCharDevice(memMajor, randomMinor, openRandom(randomMinor))
	v.RegisterCharDevice(memMajor, urandMinor, openRandom(urandMinor))
	v.RegisterCharDevice(ttyAuxMajor, ttyMinor, openTTY)
	v.RegisterCharDevice(ttyAuxMajor, consoleMinor, d.openConsole)
	v.RegisterCharDevice(tty.PTMXMajor, tty.PTMXMinor, d.openPTMX)
	return d
}

// SetConsole makes t the terminal /dev/console opens (nil: none). runc
// bind-mounts the container's console pty slave on /dev/console; here the
// node is 5:1 and opens that slave.
func (d *Devices) SetConsole(t *tty.Terminal) { d.console.Store(t) }

// openTTY opens the caller's controlling terminal. Linux: drivers/tty/
// tty_io.c, tty_open_current_tty().
func openTTY(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	tk, ok := ctx.Task.(tty.Task)
	if !ok {
		return nil, unix.ENXIO
	}
	var t *tty.Terminal
	tk.WithJobControl(func(jc tty.JobControl) error {
		t = jc.ControllingTerminal()
		return nil
	})
	if t == nil {
		return nil, unix.ENXIO
	}
	return t.OpenSlave(ctx, flags, true)
}

// openConsole opens the console's slave. Opening the console never makes
// it a controlling terminal, as on Linux.
func (d *Devices) openConsole(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	t := d.console.Load()
	if t == nil {
		return nil, unix.ENXIO
	}
	return t.OpenSlave(ctx, flags, true)
}

func (d *Devices) openPTMX(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	if d.pts == nil {
		return nil, unix.ENXIO
	}
	return d.pts.OpenMaster(ctx, flags)
}
