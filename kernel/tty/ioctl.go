package tty

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// ioctl serves a terminal ioctl on the master (master) or slave side.
// Settings (termios, window size, process groups) are the slave's on
// both sides, as Linux's "real tty"; flushing, flow control and queue
// sizes are the side's own. Unknown requests fail with ENOTTY. Linux:
// drivers/tty/tty_io.c, tty_ioctl(); tty_ioctl.c, tty_mode_ioctl() and
// n_tty_ioctl_helper(); tty_jobctrl.c; n_tty.c, n_tty_ioctl(); pty.c.
func (t *Terminal) ioctl(master, readable bool, io vfs.IO, req uint32, arg uintptr) (uintptr, error) {
	if !master {
		t.mu.Lock()
		hungUp := t.hungUp
		t.mu.Unlock()
		if hungUp {
			// Linux: tty_io.c, hung_up_tty_ioctl().
			if req == unix.TIOCSPGRP {
				return 0, unix.ENOTTY
			}
			return 0, unix.EIO
		}
	}
	// sideCheck is job control for requests that act on the file's own
	// side: a master is nobody's controlling terminal.
	sideCheck := func() error {
		if master {
			return nil
		}
		return t.checkChange(io, unix.SIGTTOU)
	}
	switch req {
	case unix.TCGETS, unix.TCGETS2:
		b := make([]byte, termiosSize, termios2Size)
		if req == unix.TCGETS2 {
			b = b[:termios2Size]
		}
		t.mu.Lock()
		encodeTermios(&t.termios, b)
		t.mu.Unlock()
		return 0, copyOut(io, arg, b)

	case unix.TCSETS, unix.TCSETSW, unix.TCSETSF, unix.TCSETS2, unix.TCSETSW2, unix.TCSETSF2:
		// Job control applies to the slave even through the master.
		if err := t.checkChange(io, unix.SIGTTOU); err != nil {
			return 0, err
		}
		size := termiosSize
		if req == unix.TCSETS2 || req == unix.TCSETSW2 || req == unix.TCSETSF2 {
			size = termios2Size
		}
		b := make([]byte, size)
		if err := copyIn(io, arg, b); err != nil {
			return 0, err
		}
		// TCSETSW and TCSETSF wait for output to drain: a pty's output
		// is with the master already (Linux's pty has no
		// chars_in_buffer), so there is nothing to wait for.
		var ev events
		t.mu.Lock()
		if req == unix.TCSETSF || req == unix.TCSETSF2 {
			t.flushReadBufLocked(&ev)
		}
		t.setTermiosLocked(decodeTermios(b, &t.termios), &ev)
		t.mu.Unlock()
		t.deliver(&ev)
		return 0, nil

	case unix.TIOCGWINSZ:
		b := make([]byte, winsizeSize)
		ws := t.WindowSize()
		encodeWinsize(&ws, b)
		return 0, copyOut(io, arg, b)

	case unix.TIOCSWINSZ:
		b := make([]byte, winsizeSize)
		if err := copyIn(io, arg, b); err != nil {
			return 0, err
		}
		t.SetWindowSize(decodeWinsize(b))
		return 0, nil

	case unix.TIOCGPGRP, unix.TIOCGSID:
		// The slave answers only its controlling process's session; the
		// master answers anybody.
		if !master {
			err := t.withCaller(io, func(jc JobControl) error {
				if jc.ControllingTerminal() != t {
					return unix.ENOTTY
				}
				return nil
			})
			if err != nil {
				return 0, err
			}
		}
		sid, pgrp := t.Session()
		if req == unix.TIOCGPGRP {
			return 0, copyOutInt32(io, arg, pgrp)
		}
		if sid == 0 {
			return 0, unix.ENOTTY
		}
		return 0, copyOutInt32(io, arg, sid)

	case unix.TIOCSPGRP:
		if err := t.checkChange(io, unix.SIGTTOU); err != nil {
			if err == unix.EIO {
				return 0, unix.ENOTTY
			}
			return 0, err
		}
		pgrp, inErr := copyInInt32(io, arg)
		return 0, t.withCaller(io, func(jc JobControl) error {
			t.mu.Lock()
			sess := t.session
			t.mu.Unlock()
			if jc.ControllingTerminal() != t || sess != jc.Session() {
				return unix.ENOTTY
			}
			if inErr != nil {
				return inErr
			}
			if pgrp < 0 {
				return unix.EINVAL
			}
			sid, ok := jc.ProcessGroupSession(pgrp)
			if !ok {
				return unix.ESRCH
			}
			if sid != jc.Session() {
				return unix.EPERM
			}
			t.mu.Lock()
			t.pgrp = pgrp
			t.mu.Unlock()
			return nil
		})

	case unix.TIOCSCTTY:
		return 0, t.withCaller(io, func(jc JobControl) error {
			return t.makeControlling(jc, arg == 1, readable)
		})

	case unix.TIOCNOTTY:
		if master {
			return 0, unix.ENOTTY
		}
		return 0, t.withCaller(io, func(jc JobControl) error {
			if jc.ControllingTerminal() != t {
				return unix.ENOTTY
			}
			Disassociate(jc, false)
			jc.SetControllingTerminal(nil)
			return nil
		})

	case unix.TIOCINQ:
		t.mu.Lock()
		var n int
		if master {
			n = len(t.out)
		} else {
			n = t.inputQueuedLocked()
		}
		t.mu.Unlock()
		return 0, copyOutInt32(io, arg, int32(n))

	case unix.TIOCOUTQ:
		// A pty hands its output to the other side at once (Linux's pty
		// has no chars_in_buffer): nothing is ever queued.
		return 0, copyOutInt32(io, arg, 0)

	case unix.TCFLSH:
		if err := sideCheck(); err != nil {
			return 0, err
		}
		if arg != unix.TCIFLUSH && arg != unix.TCOFLUSH && arg != unix.TCIOFLUSH {
			return 0, unix.EINVAL
		}
		var ev events
		t.mu.Lock()
		in := arg == unix.TCIFLUSH || arg == unix.TCIOFLUSH
		out := arg == unix.TCOFLUSH || arg == unix.TCIOFLUSH
		if master {
			if in {
				t.out, t.outFlip = nil, nil
				t.flushHeldLocked()
				ev.slave |= writable
			}
			if out {
				t.flip = nil
				ev.master |= writable
			}
		} else {
			if in {
				t.flip = nil
				t.flushReadBufLocked(&ev)
				ev.master |= writable
			}
			if out {
				t.flushOutputLocked(&ev)
			}
		}
		t.mu.Unlock()
		t.deliver(&ev)
		return 0, nil

	case unix.TCXONC:
		if err := sideCheck(); err != nil {
			return 0, err
		}
		return 0, t.xonc(master, arg)

	case unix.TCSBRK, unix.TCSBRKP, unix.TIOCSBRK, unix.TIOCCBRK:
		// A pty has no line to send a break on, and its output is
		// drained at once (tcdrain(3) is TCSBRK 1).
		return 0, sideCheck()

	case unix.TIOCGETD:
		return 0, copyOutInt32(io, arg, 0) // N_TTY

	case unix.TIOCSETD:
		if err := sideCheck(); err != nil {
			return 0, err
		}
		d, err := copyInInt32(io, arg)
		if err != nil {
			return 0, err
		}
		if d != 0 {
			return 0, unix.EINVAL // only N_TTY exists here
		}
		return 0, nil

	case unix.TIOCEXCL, unix.TIOCNXCL:
		if !master {
			t.mu.Lock()
			t.exclusive = req == unix.TIOCEXCL
			t.mu.Unlock()
		}
		return 0, nil

	case unix.TIOCGEXCL:
		t.mu.Lock()
		excl := !master && t.exclusive
		t.mu.Unlock()
		return 0, copyOutInt32(io, arg, int32(boolInt(excl)))

	case unix.TIOCGDEV:
		// Linux: new_encode_dev() of the slave's number, on both sides.
		dev := uint32(t.index&0xff | SlaveMajor<<8 | (t.index&^0xff)<<12)
		return 0, copyOutInt32(io, arg, int32(dev))

	case unix.TIOCGSOFTCAR:
		t.mu.Lock()
		on := t.termios.Cflag&unix.CLOCAL != 0
		t.mu.Unlock()
		return 0, copyOutInt32(io, arg, int32(boolInt(on)))

	case unix.TIOCSSOFTCAR:
		v, err := copyInInt32(io, arg)
		if err != nil {
			return 0, err
		}
		t.mu.Lock()
		t.termios.Cflag &^= unix.CLOCAL
		if v != 0 {
			t.termios.Cflag |= unix.CLOCAL
		}
		t.mu.Unlock()
		return 0, nil

	case unix.TIOCSTI:
		return 0, t.sti(master, io, arg)
	}
	if master {
		return t.masterIoctl(io, req, arg)
	}
	if req == unix.TIOCGPTPEER {
		return 0, unix.EIO // Linux: ptm_open_peer() of a slave
	}
	return 0, unix.ENOTTY
}

// masterIoctl serves the requests only the master takes. Linux: pty.c,
// pty_unix98_ioctl() and ptm_open_peer().
func (t *Terminal) masterIoctl(io vfs.IO, req uint32, arg uintptr) (uintptr, error) {
	switch req {
	case unix.TIOCGPTN:
		return 0, copyOutInt32(io, arg, int32(t.index))

	case unix.TIOCSPTLCK:
		v, err := copyInInt32(io, arg)
		if err != nil {
			return 0, err
		}
		t.mu.Lock()
		t.locked = v != 0
		t.mu.Unlock()
		return 0, nil

	case unix.TIOCGPTLCK:
		t.mu.Lock()
		locked := t.locked
		t.mu.Unlock()
		return 0, copyOutInt32(io, arg, int32(boolInt(locked)))

	case unix.TIOCPKT:
		v, err := copyInInt32(io, arg)
		if err != nil {
			return 0, err
		}
		t.mu.Lock()
		if v != 0 && !t.packet {
			t.pktStatus = 0
		}
		t.packet = v != 0
		t.mu.Unlock()
		return 0, nil

	case unix.TIOCGPKT:
		t.mu.Lock()
		on := t.packet
		t.mu.Unlock()
		return 0, copyOutInt32(io, arg, int32(boolInt(on)))

	case unix.TIOCSIG:
		sig := unix.Signal(arg)
		if sig != unix.SIGINT && sig != unix.SIGQUIT && sig != unix.SIGTSTP {
			return 0, unix.EINVAL
		}
		if _, pgrp := t.Session(); pgrp != 0 && t.kernel != nil {
			t.signal(pgrp, sig)
			t.post.flush()
		}
		return 0, nil

	case unix.TIOCGPTPEER:
		return t.openPeer(io, int(arg))
	}
	return 0, unix.ENOTTY
}

// openPeer opens the slave for the caller and installs it (TIOCGPTPEER):
// a race-free open that needs no path. The description has no path, so
// fstat(2) answers from Slave.Stat.
func (t *Terminal) openPeer(io vfs.IO, flags int) (uintptr, error) {
	inst, ok := io.(FileInstaller)
	if !ok {
		return 0, unix.ENOTTY
	}
	capable := false
	if tk, ok := io.(Task); ok {
		tk.WithJobControl(func(jc JobControl) error {
			capable = jc.Capable(vfs.CapSysAdmin)
			return nil
		})
	}
	s, err := t.openSlave(io, capable, flags, false)
	if err != nil {
		return 0, err
	}
	f := vfs.NewFile(s, flags&(unix.O_ACCMODE|unix.O_NONBLOCK|unix.O_APPEND))
	defer f.DecRef()
	fd, err := inst.InstallFile(f, flags&unix.O_CLOEXEC != 0)
	if err != nil {
		return 0, err
	}
	return uintptr(fd), nil
}

// xonc is TCXONC. Linux: tty_ioctl.c, n_tty_ioctl_helper().
func (t *Terminal) xonc(master bool, arg uintptr) error {
	var ev events
	t.mu.Lock()
	defer func() {
		t.mu.Unlock()
		t.deliver(&ev)
	}()
	switch arg {
	case unix.TCOOFF, unix.TCOON:
		if master {
			// The master's own output is never stopped here: its writes
			// go to the slave's flip buffer regardless.
			return nil
		}
		if arg == unix.TCOOFF && !t.tcoStopped {
			t.tcoStopped, t.stopped = true, true
			t.notifyStopLocked(&ev, unix.TIOCPKT_STOP)
		} else if arg == unix.TCOON && t.tcoStopped {
			t.startLocked(&ev)
		}
	case unix.TCIOFF, unix.TCION:
		// Send the STOP or START character to the other side. The
		// master's characters are its raw settings' defaults.
		i := unix.VSTOP
		if arg == unix.TCION {
			i = unix.VSTART
		}
		if master {
			c := DefaultTermios().Cc[i]
			if len(t.flip) < flipSize {
				t.flip = append(t.flip, c)
				t.receiveLocked(&ev)
			}
			return nil
		}
		if c := t.termios.Cc[i]; c != vdisable && t.masterOpen {
			t.outFlip = append(t.outFlip, c)
			t.pushOutLocked()
			ev.master |= readable
		}
	default:
		return unix.EINVAL
	}
	return nil
}

// sti is TIOCSTI: the byte at arg becomes input of the file's side, as
// if typed. Only on one's controlling terminal, or with CAP_SYS_ADMIN.
// Linux: tty_io.c, tiocsti().
func (t *Terminal) sti(master bool, io vfs.IO, arg uintptr) error {
	if tk, ok := io.(Task); ok {
		err := tk.WithJobControl(func(jc JobControl) error {
			if (master || jc.ControllingTerminal() != t) && !jc.Capable(vfs.CapSysAdmin) {
				return unix.EPERM
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	var b [1]byte
	if err := copyIn(io, arg, b[:]); err != nil {
		return err
	}
	var ev events
	t.mu.Lock()
	if master {
		// The master's line discipline is raw: the byte is simply there
		// to read.
		if len(t.out) < readBufSize-1 {
			t.out = append(t.out, b[0])
			ev.master |= readable
		}
	} else if len(t.in) < readBufSize-1 || t.canonical() && t.canonHead == 0 {
		t.receiveByteLocked(b[0], &ev)
	}
	t.mu.Unlock()
	t.deliver(&ev)
	return nil
}

// withCaller runs fn with the caller's job-control state; a caller that
// is not a task has no controlling terminal (ENOTTY).
func (t *Terminal) withCaller(io vfs.IO, fn func(JobControl) error) error {
	tk, ok := io.(Task)
	if !ok {
		return unix.ENOTTY
	}
	return tk.WithJobControl(fn)
}

func copyOut(io vfs.IO, addr uintptr, b []byte) error {
	if _, err := io.CopyOut(addr, b); err != nil {
		return unix.EFAULT
	}
	return nil
}

func copyIn(io vfs.IO, addr uintptr, b []byte) error {
	if _, err := io.CopyIn(addr, b); err != nil {
		return unix.EFAULT
	}
	return nil
}

func copyOutInt32(io vfs.IO, addr uintptr, v int32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	return copyOut(io, addr, b[:])
}

func copyInInt32(io vfs.IO, addr uintptr) (int32, error) {
	var b [4]byte
	if err := copyIn(io, addr, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(b[:])), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
