package kernel

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
	"magawa/kernel/tty"
	"magawa/kernel/vfs"
)

// The kernel is what terminals signal through when no system call is
// at hand (signal characters typed on the master, SIGWINCH, hang-ups).
var _ tty.Kernel = (*Kernel)(nil)

// SignalProcessGroup implements tty.Kernel: sig, from the kernel, to every
// live process of group pgid. A group that no longer exists is ignored,
// and so is everything once the sandbox ended: its processes are gone or
// being killed. It takes k.mu; the terminal calls it with no lock held.
func (k *Kernel) SignalProcessGroup(pgid int32, sig unix.Signal) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.endedLocked() {
		return
	}
	k.signalProcessGroupLocked(pgid, sig)
}

// HangUp implements tty.Kernel: t's master closed while t was the
// controlling terminal of session sid. Every process of the session whose
// controlling terminal is t loses it, and the session's leader gets
// SIGHUP, then SIGCONT (which wakes it if it was stopped, so that it sees
// the SIGHUP). Linux: tty_jobctrl.c, tty_signal_session_leader().
func (k *Kernel) HangUp(sid int32, t *tty.Terminal) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.endedLocked() || sid == 0 {
		return
	}
	k.clearControllingTerminalLocked(sid, t)
	for _, tg := range k.threadGroups {
		if tg.pgrp == nil || tg.pgrp.session.id != sid || tg.pgrp.session.leader != tg {
			continue
		}
		k.kernelSignalLocked(tg, unix.SIGHUP)
		k.kernelSignalLocked(tg, unix.SIGCONT)
	}
}

// endedLocked reports whether the sandbox's init is gone, after which
// signals from terminals have nobody left to matter to.
func (k *Kernel) endedLocked() bool {
	select {
	case <-k.initGone:
		return true
	default:
		return false
	}
}

// kernelSignalLocked sends sig to tg from the kernel itself (SI_KERNEL,
// Linux's SEND_SIG_PRIV): not subject to the init protection that
// signals sent by processes are.
func (k *Kernel) kernelSignalLocked(tg *ThreadGroup, sig unix.Signal) {
	k.sendSignalLocked(tg, nil, &arch.SignalInfo{Signo: int32(sig), Code: arch.SI_KERNEL}, false)
}

// signalProcessGroupLocked sends sig from the kernel to every process of
// group pgid; zombies and exiting processes ignore it (sendSignalLocked).
// Linux: kill_pgrp(pgrp, sig, 1).
func (k *Kernel) signalProcessGroupLocked(pgid int32, sig unix.Signal) {
	if pgid <= 0 || !ValidSignal(int(sig)) {
		return
	}
	for _, tg := range k.threadGroups {
		if tg.pgrp != nil && tg.pgrp.id == pgid {
			k.kernelSignalLocked(tg, sig)
		}
	}
}

// clearControllingTerminalLocked makes every process of session sid whose
// controlling terminal is t (any terminal, if t is nil) lose it.
// Linux: tty_jobctrl.c, session_clear_tty().
func (k *Kernel) clearControllingTerminalLocked(sid int32, t *tty.Terminal) {
	for _, tg := range k.threadGroups {
		if tg.ctty == nil || tg.pgrp == nil || tg.pgrp.session.id != sid {
			continue
		}
		if t == nil || tg.ctty == t {
			tg.ctty = nil
		}
	}
}

// Tasks are the callers of terminal operations: job control, TIOCSCTTY
// and the rest see the caller's process through them, and TIOCGPTPEER
// installs its descriptor through them.
var (
	_ tty.Task          = (*Task)(nil)
	_ tty.FileInstaller = (*Task)(nil)
	_ tty.JobControl    = jobControl{}
)

// WithJobControl implements tty.Task: fn runs under k.mu with the
// caller's view of sessions, process groups and signals.
func (t *Task) WithJobControl(fn func(tty.JobControl) error) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return fn(jobControl{k: t.k, tg: t.tg, t: t})
}

// InstallFile implements tty.FileInstaller (TIOCGPTPEER): f at the
// lowest free descriptor under RLIMIT_NOFILE, with its own reference.
func (t *Task) InstallFile(f *vfs.File, cloexec bool) (int32, error) {
	fd, err := t.FDTable().Install(f, 0, cloexec, t.MaxFDs())
	if err != nil {
		return -1, err
	}
	return int32(fd), nil
}

// ControllingTerminal returns the process's controlling terminal, nil if
// it has none (what /proc/[pid]/stat shows as tty_nr). It takes
// Kernel.mu: callers must not hold it, nor a terminal's lock, which
// comes after it.
func (tg *ThreadGroup) ControllingTerminal() *tty.Terminal {
	k := tg.kernel()
	k.mu.Lock()
	defer k.mu.Unlock()
	return tg.ctty
}

// jobControl is tty.JobControl for process tg: the view a terminal has of
// it while k.mu is held. t is the calling thread, nil when the kernel
// itself acts for the process (its session leader's exit), in which case
// only what concerns the process (not a thread) is asked.
type jobControl struct {
	k  *Kernel
	tg *ThreadGroup
	t  *Task
}

func (jc jobControl) ProcessGroup() int32 { return jc.tg.pgrp.id }

func (jc jobControl) Session() int32 { return jc.tg.pgrp.session.id }

func (jc jobControl) SessionLeader() bool { return jc.tg.pgrp.session.leader == jc.tg }

func (jc jobControl) ControllingTerminal() *tty.Terminal { return jc.tg.ctty }

func (jc jobControl) SetControllingTerminal(t *tty.Terminal) { jc.tg.ctty = t }

func (jc jobControl) ClearControllingTerminal(sid int32, t *tty.Terminal) {
	jc.k.clearControllingTerminalLocked(sid, t)
}

// ProcessGroupSession finds the session of group pgid, or, failing that,
// of process pgid, as Linux's session_of_pgrp() does. Zombies count:
// they keep their IDs until reaped.
func (jc jobControl) ProcessGroupSession(pgid int32) (int32, bool) {
	if pgid <= 0 {
		return 0, false
	}
	for _, tg := range jc.k.threadGroups {
		if tg.pgrp != nil && tg.pgrp.id == pgid {
			return tg.pgrp.session.id, true
		}
	}
	if tg := jc.k.threadGroups[pgid]; tg != nil && tg.pgrp != nil {
		return tg.pgrp.session.id, true
	}
	return 0, false
}

// SignalIgnored reports whether the calling thread blocks sig or its
// process ignores it explicitly. A default action of ignoring does not
// count: Linux's is_ignored() looks at SIG_IGN only.
func (jc jobControl) SignalIgnored(sig unix.Signal) bool {
	if !ValidSignal(int(sig)) {
		return false
	}
	if jc.t != nil && jc.t.sigMask&Bit(sig) != 0 {
		return true
	}
	return jc.tg.handler.actions[sig-1].Handler == SIG_IGN
}

func (jc jobControl) ProcessGroupOrphaned() bool {
	return jc.k.orphanedLocked(jc.tg.pgrp, nil)
}

func (jc jobControl) SignalProcessGroup(pgid int32, sig unix.Signal) {
	jc.k.signalProcessGroupLocked(pgid, sig)
}

func (jc jobControl) Capable(cap int) bool {
	// Only the calling thread's own goroutine reads its credentials,
	// and it is the one in here.
	return jc.t != nil && jc.t.creds.HasCap(cap)
}

// jobControlLocked is the kernel's own view of tg, for what it does to
// its process's terminal (a session leader's exit).
func (k *Kernel) jobControlLocked(tg *ThreadGroup) jobControl {
	return jobControl{k: k, tg: tg}
}

// orphanedLocked reports whether process group pg is orphaned, or would
// be without process ignore: no member (zombies and ignore aside) has a
// parent in another group of the same session, which is what lets a
// shell bring the group back to the foreground. The sandbox's first
// process has no parent here, so a group with it alone is orphaned.
// Linux: kernel/exit.c, will_become_orphaned_pgrp().
func (k *Kernel) orphanedLocked(pg *ProcessGroup, ignore *ThreadGroup) bool {
	for tg := range pg.members {
		if tg == ignore || tg.zombie {
			continue
		}
		if p := tg.parent; p != nil && p.pgrp != pg && p.pgrp.session == pg.session {
			return false
		}
	}
	return true
}

// hasStoppedLocked reports whether a member of pg is stopped (or
// stopping).
func hasStoppedLocked(pg *ProcessGroup) bool {
	for tg := range pg.members {
		if tg.stopped || tg.stopping {
			return true
		}
	}
	return false
}

// hangUpOrphanedLocked is POSIX's rule for a process group that becomes
// orphaned while a member is stopped: nobody is left to continue it, so
// every member gets SIGHUP, then SIGCONT. parent is the parent through
// which tg's group was not orphaned (tg's own, or the one it just lost),
// and ignore the process whose exit may orphan it. Linux: kernel/exit.c,
// kill_orphaned_pgrp().
func (k *Kernel) hangUpOrphanedLocked(tg, parent, ignore *ThreadGroup) {
	pg := tg.pgrp
	if pg == nil || parent == nil || parent.pgrp == pg || parent.pgrp.session != pg.session {
		return
	}
	if !k.orphanedLocked(pg, ignore) || !hasStoppedLocked(pg) {
		return
	}
	k.signalProcessGroupLocked(pg.id, unix.SIGHUP)
	k.signalProcessGroupLocked(pg.id, unix.SIGCONT)
}

// exitJobControlLocked is the first half of what tg's exit, its last
// thread gone, means for terminals and process groups: a session
// leader's terminal is disassociated (its foreground group gets SIGHUP).
// It returns tg's children for orphansLocked, which runs once they have
// their new parent. Linux: kernel/exit.c, do_exit().
func (k *Kernel) exitJobControlLocked(tg *ThreadGroup) []*ThreadGroup {
	if tg.pgrp == nil {
		return nil
	}
	// Disassociate does nothing for a process that does not lead its
	// session: such a zombie keeps its terminal, as /proc shows it.
	tty.Disassociate(k.jobControlLocked(tg), true)
	children := make([]*ThreadGroup, 0, len(tg.children))
	for c := range tg.children {
		children = append(children, c)
	}
	return children
}

// orphansLocked is the second half, after tg's children were reparented:
// the groups tg's exit orphans, its children's (which lost their link to
// the session through tg) and its own, are hung up if a member is
// stopped. Linux: kernel/exit.c, exit_notify() and reparent_leader().
func (k *Kernel) orphansLocked(tg *ThreadGroup, children []*ThreadGroup) {
	for _, c := range children {
		if !c.zombie {
			k.hangUpOrphanedLocked(c, tg, nil)
		}
	}
	k.hangUpOrphanedLocked(tg, tg.parent, tg)
}

// stdioTerminalLocked gives tg, which leads its session and has no
// controlling terminal, the terminal whose slave is the first of files
// that is one: what a container runtime does with setsid(2) and
// TIOCSCTTY before it runs a container's process on a terminal. Other
// files are skipped; a terminal another session controls is left alone.
func (k *Kernel) stdioTerminalLocked(tg *ThreadGroup, files []*vfs.File) {
	for _, f := range files {
		if f == nil {
			continue
		}
		if s, ok := f.Impl.(*tty.Slave); ok {
			s.Terminal().MakeControlling(k.jobControlLocked(tg), false)
			return
		}
	}
}
