package kernel

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/arch"
)

// numSignals is the number of signals, 1 to 64.
const numSignals = 64

// firstRTSignal is SIGRTMIN as the kernel numbers it.
const firstRTSignal = 32

// SignalSet is a set of signals, bit n-1 for signal n.
type SignalSet uint64

// Bit returns the set holding only sig.
func Bit(sig unix.Signal) SignalSet { return 1 << (uint(sig) - 1) }

// unblockable are the signals no mask can block.
const unblockable = SignalSet(1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1))

// stopSignals are the job-control stop signals; SIGCONT discards them.
const stopSignals = SignalSet(1<<(unix.SIGSTOP-1) | 1<<(unix.SIGTSTP-1) | 1<<(unix.SIGTTIN-1) | 1<<(unix.SIGTTOU-1))

// syncSignals are the signals of synchronous faults, delivered before
// others. Linux: kernel/signal.c, SYNCHRONOUS_MASK.
const syncSignals = SignalSet(1<<(unix.SIGSEGV-1) | 1<<(unix.SIGBUS-1) | 1<<(unix.SIGILL-1) |
	1<<(unix.SIGTRAP-1) | 1<<(unix.SIGFPE-1) | 1<<(unix.SIGSYS-1))

// SigAction is struct sigaction as rt_sigaction passes it on x86-64.
type SigAction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     SignalSet
}

// Special handler values and sa_flags. Linux: include/uapi/asm-generic/signal-defs.h.
const (
	SIG_DFL = 0
	SIG_IGN = 1

	SA_NOCLDSTOP = 0x00000001
	SA_NOCLDWAIT = 0x00000002
	SA_SIGINFO   = 0x00000004
	SA_RESTORER  = 0x04000000
	SA_ONSTACK   = 0x08000000
	SA_RESTART   = 0x10000000
	SA_NODEFER   = 0x40000000
	SA_RESETHAND = 0x80000000
)

// SignalHandlers are the actions of a thread group (shared by CLONE_SIGHAND).
// Guarded by Kernel.mu.
type SignalHandlers struct {
	actions [numSignals]SigAction
}

func (sh *SignalHandlers) copy() *SignalHandlers {
	c := *sh
	return &c
}

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

// ValidSignal reports whether sig is a signal number (1-64).
func ValidSignal(sig int) bool { return sig >= 1 && sig <= numSignals }

// pendingSignals is a queue of signals: standard signals coalesce, real-
// time signals queue. Guarded by Kernel.mu.
type pendingSignals struct {
	set   SignalSet
	infos [numSignals][]*arch.SignalInfo
}

func (p *pendingSignals) add(info *arch.SignalInfo) {
	sig := unix.Signal(info.Signo)
	if sig < firstRTSignal && p.set&Bit(sig) != 0 {
		return // a standard signal is pending at most once
	}
	p.set |= Bit(sig)
	p.infos[sig-1] = append(p.infos[sig-1], info)
}

// take removes one instance of sig.
func (p *pendingSignals) take(sig unix.Signal) *arch.SignalInfo {
	q := p.infos[sig-1]
	if len(q) == 0 {
		return nil
	}
	info := q[0]
	q[0] = nil
	p.infos[sig-1] = q[1:]
	if len(p.infos[sig-1]) == 0 {
		p.set &^= Bit(sig)
		p.infos[sig-1] = nil
	}
	return info
}

// discard removes every instance of the signals in set.
func (p *pendingSignals) discard(set SignalSet) {
	for s := unix.Signal(1); s <= numSignals; s++ {
		if set&Bit(s) != 0 && p.set&Bit(s) != 0 {
			p.infos[s-1] = nil
			p.set &^= Bit(s)
		}
	}
}

func (p *pendingSignals) count() int {
	n := 0
	for i := range p.infos {
		n += len(p.infos[i])
	}
	return n
}

// lowest picks the signal to deliver first from set: synchronous faults
// first, then the lowest number. Linux: kernel/signal.c, next_signal().
func lowest(set SignalSet) unix.Signal {
	if s := set & syncSignals; s != 0 {
		set = s
	}
	for s := unix.Signal(1); s <= numSignals; s++ {
		if set&Bit(s) != 0 {
			return s
		}
	}
	return 0
}

// SignalStack is a task's alternate signal stack.
type SignalStack = arch.SignalStack
