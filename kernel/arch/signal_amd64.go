package arch

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Memory is the application's address space as the frame code needs it.
// *mm.MM implements it. A copy that cannot complete returns the bytes
// done and an error (EFAULT).
type Memory interface {
	CopyIn(addr uintptr, b []byte) (int, error)
	CopyOut(addr uintptr, b []byte) (int, error)
}

// sa_flags bits (Linux: arch/x86/include/uapi/asm/signal.h).
const (
	SA_NOCLDSTOP = 0x00000001
	SA_NOCLDWAIT = 0x00000002
	SA_SIGINFO   = 0x00000004
	SA_RESTORER  = 0x04000000
	SA_ONSTACK   = 0x08000000
	SA_RESTART   = 0x10000000
	SA_NODEFER   = 0x40000000
	SA_RESETHAND = 0x80000000
)

// uc_flags bits (Linux: arch/x86/include/uapi/asm/ucontext.h).
const (
	// UC_FP_XSTATE: the fpstate area holds XSAVE state (with the magic
	// numbers), not just the FXSAVE region.
	UC_FP_XSTATE = 0x1
	// UC_SIGCONTEXT_SS: the frame's ss is the interrupted ss.
	UC_SIGCONTEXT_SS = 0x2
	// UC_STRICT_RESTORE_SS: rt_sigreturn restores ss as saved.
	UC_STRICT_RESTORE_SS = 0x4
)

// x86-64 user segment selectors (Linux: __USER_CS, __USER_DS).
const (
	UserCS = 0x33
	UserSS = 0x2b
)

// RFLAGS bits.
const (
	eflagsCF  = 1 << 0
	eflagsPF  = 1 << 2
	eflagsAF  = 1 << 4
	eflagsZF  = 1 << 6
	eflagsSF  = 1 << 7
	eflagsTF  = 1 << 8
	eflagsIF  = 1 << 9
	eflagsDF  = 1 << 10
	eflagsOF  = 1 << 11
	eflagsRF  = 1 << 16
	eflagsAC  = 1 << 18
	eflagsOne = 1 << 1 // reserved, always set

	// eflagsSigreturn are the flags rt_sigreturn takes from the frame;
	// the others keep their current values. Linux: FIX_EFLAGS.
	eflagsSigreturn = eflagsAC | eflagsOF | eflagsDF | eflagsTF | eflagsSF |
		eflagsZF | eflagsAF | eflagsPF | eflagsCF | eflagsRF
)

// The signal frame (Linux: arch/x86/include/asm/sigframe.h, struct
// rt_sigframe; uapi asm-generic/ucontext.h, struct ucontext; uapi
// asm/sigcontext.h, struct sigcontext_64). Offsets are from the start of
// the frame, where the stack pointer points when the handler starts.
const (
	frameOffPretcode = 0
	frameOffUC       = 8
	frameOffInfo     = frameOffUC + ucSize
	frameSize        = frameOffInfo + SignalInfoSize

	ucOffFlags    = 0
	ucOffLink     = 8
	ucOffStack    = 16
	ucOffMcontext = 40
	ucOffSigmask  = ucOffMcontext + scSize
	ucSize        = ucOffSigmask + 8

	scOffR8      = 0
	scOffR9      = 8
	scOffR10     = 16
	scOffR11     = 24
	scOffR12     = 32
	scOffR13     = 40
	scOffR14     = 48
	scOffR15     = 56
	scOffRdi     = 64
	scOffRsi     = 72
	scOffRbp     = 80
	scOffRbx     = 88
	scOffRdx     = 96
	scOffRax     = 104
	scOffRcx     = 112
	scOffRsp     = 120
	scOffRip     = 128
	scOffEflags  = 136
	scOffCS      = 144
	scOffGS      = 146
	scOffFS      = 148
	scOffSS      = 150
	scOffErr     = 152
	scOffTrapno  = 160
	scOffOldmask = 168
	scOffCR2     = 176
	scOffFpstate = 184
	scOffRsvd    = 192 // reserved1[8]: rt_sigreturn reads up to here
	scSize       = 256
)

// redZone is the part of the stack below the stack pointer that leaf
// functions may use (System V AMD64 ABI, 3.2.2); a frame goes below it.
const redZone = 128

// Delivery is what SetupFrame needs to know about one signal.
type Delivery struct {
	// Info is the signal. Info.Signo goes to the handler in rdi; the
	// frame holds Info only with SA_SIGINFO, as on Linux.
	Info *SignalInfo
	// Handler, Flags and Restorer are sa_handler, sa_flags and
	// sa_restorer of the signal's action.
	Handler  uint64
	Flags    uint64
	Restorer uint64
	// Mask is the signal mask rt_sigreturn restores: the thread's blocked
	// set before delivery, or the one sigsuspend, ppoll and the like
	// saved (Linux: sigmask_to_save()).
	Mask uint64
	// Stack is the thread's alternate signal stack as the kernel stores
	// it (see SignalStack).
	Stack SignalStack
	// TrapNo, ErrorCode and CR2 are the thread's last hardware exception:
	// vector, error code, and faulting address of a page fault. Linux
	// saves them (thread.trap_nr, error_code, cr2) with every signal, so
	// a signal that is not a fault carries those of the last fault; zero
	// for a thread that never faulted.
	TrapNo, ErrorCode, CR2 uint64
}

// ErrNoRestorer is returned by SetupFrame for an action without
// SA_RESTORER: an x86-64 handler cannot return without one. Linux fails
// the delivery (the kernel must force SIGSEGV).
var ErrNoRestorer = errors.New("arch: signal action has no SA_RESTORER")

// ErrAltStackOverflow is returned by SetupFrame when the frame would not
// fit on the alternate signal stack it must use. Linux fails the delivery
// (the kernel must force SIGSEGV).
var ErrAltStackOverflow = errors.New("arch: signal frame overflows the alternate signal stack")

// SetupFrame builds a signal frame for d on the application's stack, as
// Linux does for a 64-bit process, and points regs at the handler.
// Linux: arch/x86/kernel/signal.c (get_sigframe, handle_signal) and
// signal_64.c (x64_setup_rt_frame).
//
// regs is the interrupted state the handler's return must resume (after
// any system call restart adjustment) and fpState the thread's XSAVE area
// as the platform returns it (PTRACE_GETREGSET NT_X86_XSTATE); it is not
// modified.
//
// On success regs enter the handler: rip = handler, rsp = the frame (its
// return address slot, so rsp+8 is 16-byte aligned), rdi = signal, rsi =
// &frame.info, rdx = &frame.uc, rax = 0, DF, TF and RF clear, user cs and
// ss. The kernel must then give the handler a fresh FP state
// (ResetFPState), block the action's mask, and disarm an SS_AUTODISARM
// stack.
//
// On error regs are unchanged and Linux would force SIGSEGV: the error is
// ErrNoRestorer, ErrAltStackOverflow, or wraps unix.EFAULT (the stack
// cannot be written) or ErrFPState (fpState is not an XSAVE area).
func SetupFrame(m Memory, regs *unix.PtraceRegs, fpState []byte, d *Delivery) error {
	if d.Flags&SA_RESTORER == 0 {
		return ErrNoRestorer
	}
	if d.Info == nil {
		return errors.New("arch: SetupFrame without siginfo")
	}
	l, err := layoutOf(fpState)
	if err != nil {
		return err
	}

	// Choose the stack. The thread is already on the alternate stack if
	// its stack pointer is; it moves to it if the action asks for it and
	// the stack pointer, past the red zone, is not on it.
	sp := regs.Rsp - redZone
	nested := d.Stack.OnStack(regs.Rsp)
	entering := false
	if d.Flags&SA_ONSTACK != 0 && d.Stack.Enabled() && !d.Stack.OnStack(sp) {
		sp = d.Stack.Top()
		entering = true
	}
	// The XSAVE area, 64-byte aligned, then the frame below it placed as
	// if the handler had been called: (rsp + 8) % 16 == 0.
	fpAddr := (sp - uint64(l.size+FP_XSTATE_MAGIC2_SIZE)) &^ 63
	frame := (fpAddr-frameSize)&^15 - 8
	if (nested || entering) && !d.Stack.Contains(frame) {
		return ErrAltStackOverflow
	}

	if err := writeAt(m, fpAddr, l.frameArea(fpState)); err != nil {
		return fmt.Errorf("arch: writing signal frame FP state: %w", err)
	}
	uc := make([]byte, frameOffInfo)
	le.PutUint64(uc[frameOffPretcode:], d.Restorer)
	u := uc[frameOffUC:]
	le.PutUint64(u[ucOffFlags:], UC_FP_XSTATE|UC_SIGCONTEXT_SS|UC_STRICT_RESTORE_SS)
	le.PutUint64(u[ucOffLink:], 0)
	d.Stack.Marshal(u[ucOffStack:])
	putSigcontext(u[ucOffMcontext:], regs, d, fpAddr)
	le.PutUint64(u[ucOffSigmask:], d.Mask)
	if err := writeAt(m, frame, uc); err != nil {
		return fmt.Errorf("arch: writing signal frame: %w", err)
	}
	if d.Flags&SA_SIGINFO != 0 {
		info := make([]byte, SignalInfoSize)
		d.Info.Marshal(info)
		if err := writeAt(m, frame+frameOffInfo, info); err != nil {
			return fmt.Errorf("arch: writing signal frame siginfo: %w", err)
		}
	}

	regs.Rdi = uint64(d.Info.Signo)
	regs.Rax = 0 // for handlers declared without a prototype (varargs)
	regs.Rsi = frame + frameOffInfo
	regs.Rdx = frame + frameOffUC
	regs.Rip = d.Handler
	regs.Rsp = frame
	regs.Cs = UserCS
	regs.Ss = UserSS
	// DF clear as the ABI requires at function entry; TF and RF so the
	// handler does not start with a stale trap.
	regs.Eflags &^= eflagsDF | eflagsTF | eflagsRF
	return nil
}

// putSigcontext writes struct sigcontext_64 for regs into b. The segment
// fields hold cs and ss; fs and gs are zero on 64-bit (their bases are not
// part of the context). Linux: __unsafe_setup_sigcontext().
func putSigcontext(b []byte, regs *unix.PtraceRegs, d *Delivery, fpAddr uint64) {
	for _, f := range []struct {
		off int
		v   uint64
	}{
		{scOffR8, regs.R8}, {scOffR9, regs.R9}, {scOffR10, regs.R10}, {scOffR11, regs.R11},
		{scOffR12, regs.R12}, {scOffR13, regs.R13}, {scOffR14, regs.R14}, {scOffR15, regs.R15},
		{scOffRdi, regs.Rdi}, {scOffRsi, regs.Rsi}, {scOffRbp, regs.Rbp}, {scOffRbx, regs.Rbx},
		{scOffRdx, regs.Rdx}, {scOffRax, regs.Rax}, {scOffRcx, regs.Rcx}, {scOffRsp, regs.Rsp},
		{scOffRip, regs.Rip}, {scOffEflags, regs.Eflags},
		{scOffErr, d.ErrorCode}, {scOffTrapno, d.TrapNo}, {scOffOldmask, d.Mask},
		{scOffCR2, d.CR2}, {scOffFpstate, fpAddr},
	} {
		le.PutUint64(b[f.off:], f.v)
	}
	le.PutUint16(b[scOffCS:], uint16(regs.Cs))
	le.PutUint16(b[scOffGS:], 0)
	le.PutUint16(b[scOffFS:], 0)
	le.PutUint16(b[scOffSS:], uint16(regs.Ss))
}

// SigreturnError is RestoreFrame's error: Linux's rt_sigreturn rejects the
// frame and forces SIGSEGV (signal_fault()). Linux has by then applied
// what it read before the bad part, and RestoreFrame leaves regs and the
// FP state the same way; MaskRead says whether the mask must be applied.
type SigreturnError struct {
	// What could not be restored: "frame" (uc_sigmask, uc_flags),
	// "sigcontext", "fpstate" or "uc_stack".
	What string
	// Addr is the frame's address.
	Addr uint64
	// MaskRead: uc_sigmask was read and RestoreFrame returned it. Linux
	// sets the blocked set before anything else, so the kernel must do
	// the same even though the frame is then refused.
	MaskRead bool
	// Err wraps unix.EFAULT (unreadable) or unix.EINVAL (an FP area the
	// CPU would refuse).
	Err error
}

func (e *SigreturnError) Error() string {
	return fmt.Sprintf("arch: rt_sigreturn frame at %#x: bad %s: %v", e.Addr, e.What, e.Err)
}

func (e *SigreturnError) Unwrap() error { return e.Err }

// RestoreFrame is rt_sigreturn: it reads the frame a handler's return
// left regs.Rsp just above and restores the interrupted state from it.
// Linux: arch/x86/kernel/signal_64.c (rt_sigreturn, restore_sigcontext)
// and fpu/signal.c (fpu__restore_sig).
//
// fpState is the thread's XSAVE area in the platform's layout (any state
// the platform returned will do: its length and software-reserved bytes
// describe the host); RestoreFrame overwrites it in place with the state
// to load with the platform's SetFPState. A frame whose fpstate pointer is
// 0 gives the initial state (ResetFPState); an fpstate without both
// FP_XSTATE magic numbers restores the FXSAVE region only, extended
// components initial (an FXSAVE image).
//
// The frame is never trusted: cs and ss become the 64-bit user selectors
// (Linux keeps any RPL-3 selector, which could switch the task to 32-bit
// mode; the sandbox does not run 32-bit code), only the FIX_EFLAGS bits
// come from the frame, fs and gs and their bases are untouched, and
// orig_rax becomes -1 so no system call restart applies.
//
// It returns uc_sigmask, which the kernel applies as the blocked set
// (less SIGKILL and SIGSTOP), and uc_stack, which the kernel passes to its
// sigaltstack(2) ignoring errors, with the restored rsp as the current
// stack pointer (Linux: restore_altstack()). The system call's result
// must be the restored rax (regs.Rax), not a value of its own.
//
// An fpState that is not an XSAVE area is the caller's bug: the error
// wraps ErrFPState and nothing is read or changed. Otherwise an error is
// a *SigreturnError and the kernel forces SIGSEGV. regs and
// fpState are then as Linux leaves them: untouched if the registers could
// not be read; registers restored and fpState reset if the FP area is
// bad; all restored if only uc_stack is unreadable.
func RestoreFrame(m Memory, regs *unix.PtraceRegs, fpState []byte) (mask uint64, alt SignalStack, err error) {
	if _, err := layoutOf(fpState); err != nil {
		return 0, SignalStack{}, err
	}
	frame := regs.Rsp - 8 // the handler's ret popped pretcode
	uc := frame + frameOffUC
	fail := func(what string, maskRead bool, err error) error {
		var errno unix.Errno
		if !errors.As(err, &errno) {
			err = fmt.Errorf("%v: %w", err, unix.EFAULT)
		}
		return &SigreturnError{What: what, Addr: frame, MaskRead: maskRead, Err: err}
	}
	if frame+frameSize < frame {
		return 0, SignalStack{}, fail("frame", false, unix.EFAULT)
	}

	var b [8]byte
	if err := readAt(m, uc+ucOffSigmask, b[:]); err != nil {
		return 0, SignalStack{}, fail("frame", false, err)
	}
	mask = le.Uint64(b[:])
	if err := readAt(m, uc+ucOffFlags, b[:]); err != nil {
		return 0, SignalStack{}, fail("frame", false, err)
	}
	// uc_flags matters to Linux only for UC_STRICT_RESTORE_SS, and ss is
	// always the user selector here.

	sc := make([]byte, scOffRsvd)
	if err := readAt(m, uc+ucOffMcontext, sc); err != nil {
		return mask, SignalStack{}, fail("sigcontext", true, err)
	}
	restoreRegs(regs, sc)
	if err := restoreFPState(m, le.Uint64(sc[scOffFpstate:]), fpState); err != nil {
		return mask, SignalStack{}, fail("fpstate", true, err)
	}

	st := make([]byte, SignalStackSize)
	if err := readAt(m, uc+ucOffStack, st); err != nil {
		return mask, SignalStack{}, fail("uc_stack", true, err)
	}
	alt.Unmarshal(st)
	return mask, alt, nil
}

// restoreRegs loads regs from a sigcontext_64 (its first scOffRsvd
// bytes). Linux: restore_sigcontext().
func restoreRegs(regs *unix.PtraceRegs, sc []byte) {
	for _, f := range []struct {
		off int
		p   *uint64
	}{
		{scOffR8, &regs.R8}, {scOffR9, &regs.R9}, {scOffR10, &regs.R10}, {scOffR11, &regs.R11},
		{scOffR12, &regs.R12}, {scOffR13, &regs.R13}, {scOffR14, &regs.R14}, {scOffR15, &regs.R15},
		{scOffRdi, &regs.Rdi}, {scOffRsi, &regs.Rsi}, {scOffRbp, &regs.Rbp}, {scOffRbx, &regs.Rbx},
		{scOffRdx, &regs.Rdx}, {scOffRax, &regs.Rax}, {scOffRcx, &regs.Rcx}, {scOffRsp, &regs.Rsp},
		{scOffRip, &regs.Rip},
	} {
		*f.p = le.Uint64(sc[f.off:])
	}
	regs.Cs = UserCS
	regs.Ss = UserSS
	regs.Eflags = regs.Eflags&^eflagsSigreturn | le.Uint64(sc[scOffEflags:])&eflagsSigreturn |
		eflagsIF | eflagsOne
	regs.Orig_rax = ^uint64(0)
}

// readAt fills b from application memory at addr.
func readAt(m Memory, addr uint64, b []byte) error {
	if addr+uint64(len(b)) < addr {
		return unix.EFAULT
	}
	n, err := m.CopyIn(uintptr(addr), b)
	if err != nil {
		return err
	}
	if n != len(b) {
		return unix.EFAULT
	}
	return nil
}

// writeAt copies b to application memory at addr.
func writeAt(m Memory, addr uint64, b []byte) error {
	if addr+uint64(len(b)) < addr {
		return unix.EFAULT
	}
	n, err := m.CopyOut(uintptr(addr), b)
	if err != nil {
		return err
	}
	if n != len(b) {
		return unix.EFAULT
	}
	return nil
}
