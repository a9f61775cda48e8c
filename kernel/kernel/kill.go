package kernel

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
)

// mayKillLocked reports whether t may signal tg. Linux: kernel/signal.c,
// kill_ok_by_cred(): CAP_KILL may signal anything; otherwise the real or
// effective user ID must match the target's real or saved one.
func (t *Task) mayKillLocked(tg *ThreadGroup) bool {
	c := &t.creds
	if c.HasCap(unix.CAP_KILL) || tg.leader == nil {
		return true
	}
	tc := &tg.leader.creds
	return c.EUID == tc.SUID || c.EUID == tc.UID || c.UID == tc.SUID || c.UID == tc.UID
}

// Kill implements kill(2)'s choice of targets: a process (pid > 0), the
// caller's process group (0), every process it may signal but init and
// itself (-1), or a process group (< -1). sig 0 only checks.
// Linux: kernel/signal.c, kill_something_info().
func (t *Task) Kill(pid int32, info *arch.SignalInfo) error {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	send := func(tg *ThreadGroup) error {
		if !t.mayKillLocked(tg) {
			return unix.EPERM
		}
		if info.Signo == 0 {
			return nil
		}
		i := *info
		return k.sendSignalLocked(tg, nil, &i, true)
	}
	switch {
	case pid > 0:
		tg := k.threadGroups[pid]
		if tg == nil {
			return unix.ESRCH
		}
		return send(tg)
	case pid == -1:
		// Every process but init and the caller.
		return k.sendEachLocked(send, func(tg *ThreadGroup) bool { return tg != k.initTG && tg != t.tg })
	default:
		pgid := -pid
		if pid == 0 {
			pgid = t.tg.pgrp.id
		}
		return k.sendEachLocked(send, func(tg *ThreadGroup) bool { return tg.pgrp != nil && tg.pgrp.id == pgid })
	}
}

// sendEachLocked sends to every process match accepts: ESRCH if none
// does, success if any send succeeded, else the last error.
func (k *Kernel) sendEachLocked(send func(*ThreadGroup) error, match func(*ThreadGroup) bool) error {
	found, ok := false, false
	var lastErr error
	for _, tg := range k.threadGroups {
		if !match(tg) {
			continue
		}
		found = true
		if err := send(tg); err == nil {
			ok = true
		} else {
			lastErr = err
		}
	}
	switch {
	case !found:
		return unix.ESRCH
	case !ok:
		return lastErr
	}
	return nil
}

// Tgkill implements tgkill(2) (tgid > 0) and tkill(2) (tgid 0): a signal
// to one thread.
func (t *Task) Tgkill(tgid, tid int32, info *arch.SignalInfo) error {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	target := k.tasks[tid]
	if target == nil || (tgid > 0 && target.tg.id != tgid) {
		return unix.ESRCH
	}
	if _, alive := target.tg.tasks[target]; !alive {
		return unix.ESRCH
	}
	if !t.mayKillLocked(target.tg) {
		return unix.EPERM
	}
	if info.Signo == 0 {
		return nil
	}
	return k.sendSignalLocked(target.tg, target, info, true)
}

// Signal sends sig from outside the sandbox, as its runtime does (runc
// kill): to process pid, or with all to every process of the sandbox
// (runc kill --all). sig 0 only checks that the target exists. The
// sender is privileged and lives in an ancestor PID namespace: the
// signal comes as SI_USER with si_pid 0 (no ID in the sandbox) and
// si_uid 0, and it reaches a protected init as Linux lets it (SIGKILL
// and SIGSTOP always, other signals only if init handles them).
// Linux: kernel/signal.c, send_signal_locked() with force.
func (k *Kernel) Signal(pid int32, sig unix.Signal, all bool) error {
	return k.SignalContainer("", pid, sig, all)
}

// SignalContainer is Signal for one container of a pod's sandbox:
// process pid of that container, or with all every process of it.
func (k *Kernel) SignalContainer(container string, pid int32, sig unix.Signal, all bool) error {
	if sig != 0 && !ValidSignal(int(sig)) {
		return unix.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.initTG == nil || k.endedLocked() {
		return unix.ESRCH
	}
	send := func(tg *ThreadGroup) error {
		if sig == 0 {
			return nil
		}
		info := &arch.SignalInfo{Signo: int32(sig), Code: arch.SI_USER}
		info.SetPID(0)
		info.SetUID(0)
		return k.sendSignalLocked(tg, nil, info, false)
	}
	if all {
		return k.sendEachLocked(send, func(tg *ThreadGroup) bool { return tg.container == container })
	}
	tg := k.threadGroups[pid]
	if tg == nil || tg.container != container {
		return unix.ESRCH
	}
	return send(tg)
}
