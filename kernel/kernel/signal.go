package kernel

import (
	"golang.org/x/sys/unix"
)

// numSignals is the number of signals, 1 to 64.
const numSignals = 64

// SignalSet is a set of signals, bit n-1 for signal n.
type SignalSet uint64

// Bit returns the set holding only sig.
func Bit(sig unix.Signal) SignalSet { return 1 << (uint(sig) - 1) }

// unblockable are the signals no mask can block.
const unblockable = SignalSet(1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1))

// SigAction is struct sigaction as rt_sigaction passes it on x86-64.
type SigAction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     SignalSet
}

// Special handler values.
const (
	SIG_DFL = 0
	SIG_IGN = 1
)

// SigactionSize is the size of struct sigaction for rt_sigaction.
const SigactionSize = 32

// defaultAction is what a signal does with SIG_DFL.
type defaultAction int

const (
	actTerminate defaultAction = iota
	actCore
	actIgnore
	actStop
	actContinue
)

// Linux: kernel/signal.c, the SIG_KERNEL_*_MASK definitions.
func defaultActionOf(sig unix.Signal) defaultAction {
	switch sig {
	case unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS, unix.SIGFPE,
		unix.SIGSEGV, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGSYS:
		return actCore
	case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH:
		return actIgnore
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return actStop
	case unix.SIGCONT:
		return actContinue
	}
	return actTerminate
}

// SigAction returns the action for sig.
func (t *Task) SigAction(sig unix.Signal) SigAction { return t.tg.actions[sig-1] }

// SetSigAction replaces the action for sig.
func (t *Task) SetSigAction(sig unix.Signal, act SigAction) { t.tg.actions[sig-1] = act }

// SigMask returns the task's blocked set.
func (t *Task) SigMask() SignalSet { return t.sigMask }

// SetSigMask replaces the blocked set; SIGKILL and SIGSTOP stay unblocked.
func (t *Task) SetSigMask(m SignalSet) { t.sigMask = m &^ unblockable }

// ValidSignal reports whether sig is a signal number (1-64).
func ValidSignal(sig int) bool { return sig >= 1 && sig <= numSignals }

// SendSignalToSelf delivers sig sent by the process to itself (kill,
// tgkill, raise). Handlers run in user space are not yet supported: until
// they are, a caught signal takes its default action, which the debug log
// records.
func (t *Task) SendSignalToSelf(sig unix.Signal) {
	act := t.tg.actions[sig-1]
	if t.k.ProtectInit && t.tg.id == 1 && act.Handler == SIG_DFL {
		// The init of a PID namespace only receives signals from inside
		// it that it has a handler for, SIGKILL and SIGSTOP included, as
		// in any container. Linux: kernel/signal.c, sig_task_ignored()
		// and SIGNAL_UNKILLABLE.
		t.k.Debugf("task %d: %v to the sandbox's init with the default action: ignored", t.tid, sig)
		return
	}
	if sig != unix.SIGKILL && sig != unix.SIGSTOP {
		if act.Handler == SIG_IGN {
			return
		}
		if t.sigMask&Bit(sig) != 0 {
			// Blocked: it would stay pending. Without a signal queue
			// yet, it is dropped; the debug log says so.
			t.k.Debugf("task %d: blocked %v dropped (no signal queue yet)", t.tid, sig)
			return
		}
		if act.Handler != SIG_DFL {
			t.k.Debugf("task %d: handler for %v not run (signal frames not yet supported): default action", t.tid, sig)
		}
	}
	t.defaultSignalAction(sig)
}

// forceSignal delivers a synchronous fault signal. Linux: kernel/signal.c,
// force_sig_info_to_task(): a blocked or ignored fault signal kills.
func (t *Task) forceSignal(sig unix.Signal) {
	act := t.tg.actions[sig-1]
	if act.Handler != SIG_DFL && act.Handler != SIG_IGN && t.sigMask&Bit(sig) == 0 {
		t.k.Debugf("task %d: handler for %v not run (signal frames not yet supported): default action", t.tid, sig)
	}
	if a := defaultActionOf(sig); a == actIgnore || a == actStop || a == actContinue {
		t.Exit(ExitStatus{Signal: sig})
		return
	}
	t.defaultSignalAction(sig)
}

func (t *Task) defaultSignalAction(sig unix.Signal) {
	switch defaultActionOf(sig) {
	case actTerminate:
		t.Exit(ExitStatus{Signal: sig})
	case actCore:
		t.Exit(ExitStatus{Signal: sig, Core: true})
	case actIgnore, actContinue:
	case actStop:
		// Job control arrives with processes; a lone init cannot be
		// stopped from inside anyway.
		t.k.Debugf("task %d: stop signal %v ignored", t.tid, sig)
	}
}
