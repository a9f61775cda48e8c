package systrap

import (
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// The signal frame the host writes on a stub thread's alternate stack
// (Linux: arch/x86/include/uapi/asm/{ucontext,sigcontext}.h, struct
// rt_sigframe): the kernel reads the application's registers from its
// ucontext and writes them back there for rt_sigreturn.
const (
	ucFlags    = 0
	ucStack    = 16 // stack_t: ss_sp, ss_flags, ss_size
	ucMcontext = 40 // struct sigcontext
	ucSigmask  = ucMcontext + 256
	ucSize     = ucSigmask + 8

	// Offsets in struct sigcontext (64-bit).
	scR8      = 0
	scR9      = 8
	scR10     = 16
	scR11     = 24
	scR12     = 32
	scR13     = 40
	scR14     = 48
	scR15     = 56
	scRdi     = 64
	scRsi     = 72
	scRbp     = 80
	scRbx     = 88
	scRdx     = 96
	scRax     = 104
	scRcx     = 112
	scRsp     = 120
	scRip     = 128
	scEflags  = 136
	scCs      = 144 // u16, then gs, fs, ss
	scSs      = 150
	scFpstate = 184

	// siginfo_t: signo, errno, code, then the union: si_addr for
	// faults; si_call_addr, si_syscall and si_arch for SIGSYS.
	siSigno   = 0
	siCode    = 8
	siAddr    = 16
	siSyscall = 24
	siSize    = 128

	sysSeccomp = 1 // SIGSYS si_code of a seccomp trap

	// The XSAVE area's software-reserved bytes (struct _fpx_sw_bytes)
	// and the header.
	fxSW          = 464
	fxMXCSR       = 24
	fxMXCSRMask   = 28
	xsaveHeader   = 512
	xsaveMin      = 576
	fpMagic1      = 0x46505853
	fpMagic2      = 0x46505845
	mxcsrMaskDflt = 0xffbf
)

// frame is a validated view of a stub thread's signal frame, in the
// sandbox process's mapping of its slot. Everything in it may be
// written by the application at any time (it is in the stub's memory):
// only its location was checked, and every value read from it is used
// as data.
type frame struct {
	s    *slot
	info []byte
	uc   []byte
	// fp is the XSAVE area, fpSize bytes (the magic after it excluded).
	fp     []byte
	fpSize int
	// features are the XSAVE components the frame holds.
	features uint64
}

// frame locates the signal frame the handler published: each part must
// lie in the slot's stack.
func (t *stubThread) frame() (*frame, error) {
	s := t.slot
	lo, hi := s.addr()+pageSize, s.addr()+slotSize
	in := func(addr, size uint64) ([]byte, bool) {
		if addr < lo || addr > hi || size > hi-addr {
			return nil, false
		}
		off := addr - s.addr()
		return s.b[off : off+size : off+size], true
	}
	// The thread's own frame view, reused: this runs twice per system
	// call, by the goroutine using the thread.
	f := &t.view
	*f = frame{s: s}
	var ok bool
	if f.info, ok = in(s.u64(stInfo), siSize); !ok {
		return nil, fmt.Errorf("systrap: stub thread %d: siginfo at %#x outside its stack", t.tid, s.u64(stInfo))
	}
	if f.uc, ok = in(s.u64(stUcontext), ucSize); !ok {
		return nil, fmt.Errorf("systrap: stub thread %d: ucontext at %#x outside its stack", t.tid, s.u64(stUcontext))
	}
	fpAddr := le.Uint64(f.uc[ucMcontext+scFpstate:])
	head, ok := in(fpAddr, xsaveMin)
	if !ok || le.Uint32(head[fxSW:]) != fpMagic1 {
		return nil, fmt.Errorf("systrap: stub thread %d: no XSAVE area in its frame", t.tid)
	}
	size := uint64(le.Uint32(head[fxSW+16:]))
	if size < xsaveMin {
		return nil, fmt.Errorf("systrap: stub thread %d: XSAVE area of %d bytes", t.tid, size)
	}
	if f.fp, ok = in(fpAddr, size+4); !ok {
		return nil, fmt.Errorf("systrap: stub thread %d: XSAVE area outside its stack", t.tid)
	}
	f.fpSize = int(size)
	f.features = le.Uint64(head[fxSW+8:])
	return f, nil
}

func (f *frame) mc(off int) uint64 { return le.Uint64(f.uc[ucMcontext+off:]) }

func (f *frame) setMC(off int, v uint64) { le.PutUint64(f.uc[ucMcontext+off:], v) }

func (f *frame) rip() uint64 { return f.mc(scRip) }

func (f *frame) syscallNr() int32 { return int32(le.Uint32(f.info[siSyscall:])) }

// event says what the frame reports; false for a signal from the host
// that is not the application's (sent ones carry si_code <= 0).
func (f *frame) event() (platform.Event, bool) {
	signo := unix.Signal(le.Uint32(f.info[siSigno:]))
	code := int32(le.Uint32(f.info[siCode:]))
	switch signo {
	case unix.SIGSYS:
		if code == sysSeccomp {
			return platform.Event{Kind: platform.EventSyscall}, true
		}
	case interruptSignal:
		return platform.Event{Kind: platform.EventInterrupted}, true
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP:
		if code > 0 {
			return platform.Event{Kind: platform.EventFault, Signo: signo, Code: code, Addr: uintptr(le.Uint64(f.info[siAddr:]))}, true
		}
	}
	return platform.Event{}, false
}

// store reads the application's registers from the frame.
func (t *stubThread) store(f *frame, regs *platform.Registers) {
	*regs = platform.Registers{
		R8: f.mc(scR8), R9: f.mc(scR9), R10: f.mc(scR10), R11: f.mc(scR11),
		R12: f.mc(scR12), R13: f.mc(scR13), R14: f.mc(scR14), R15: f.mc(scR15),
		Rdi: f.mc(scRdi), Rsi: f.mc(scRsi), Rbp: f.mc(scRbp), Rbx: f.mc(scRbx),
		Rdx: f.mc(scRdx), Rax: f.mc(scRax), Rcx: f.mc(scRcx), Rsp: f.mc(scRsp),
		Rip: f.mc(scRip), Eflags: f.mc(scEflags),
		Cs:       uint64(le.Uint16(f.uc[ucMcontext+scCs:])),
		Ss:       uint64(le.Uint16(f.uc[ucMcontext+scSs:])),
		Orig_rax: ^uint64(0),
		Fs_base:  t.slot.u64(stFSBase),
		Gs_base:  t.slot.u64(stGSBase),
	}
}

// load writes regs into the frame for rt_sigreturn, and fs_base and
// gs_base for the handler's WRFSBASE and WRGSBASE. It also puts back
// the signal mask and alternate stack the thread must run with, in
// case the application forged a frame of its own to change them.
func (t *stubThread) load(f *frame, regs *platform.Registers) error {
	if !canonical(regs.Fs_base) || !canonical(regs.Gs_base) {
		// WRFSBASE would fault in the handler.
		return fmt.Errorf("systrap: non-canonical fs_base %#x or gs_base %#x: %w", regs.Fs_base, regs.Gs_base, unix.EINVAL)
	}
	for _, r := range []struct {
		off int
		v   uint64
	}{
		{scR8, regs.R8}, {scR9, regs.R9}, {scR10, regs.R10}, {scR11, regs.R11},
		{scR12, regs.R12}, {scR13, regs.R13}, {scR14, regs.R14}, {scR15, regs.R15},
		{scRdi, regs.Rdi}, {scRsi, regs.Rsi}, {scRbp, regs.Rbp}, {scRbx, regs.Rbx},
		{scRdx, regs.Rdx}, {scRax, regs.Rax}, {scRcx, regs.Rcx}, {scRsp, regs.Rsp},
		{scRip, regs.Rip}, {scEflags, regs.Eflags},
	} {
		f.setMC(r.off, r.v)
	}
	le.PutUint64(f.uc[ucSigmask:], 0)
	s := t.slot
	le.PutUint64(f.uc[ucStack:], s.addr()+pageSize)
	le.PutUint64(f.uc[ucStack+8:], 0)
	le.PutUint64(f.uc[ucStack+16:], slotSize-pageSize)
	s.putU64(stFSBase, regs.Fs_base)
	s.putU64(stGSBase, regs.Gs_base)
	return nil
}

// canonical reports whether v is a canonical x86-64 address (bits 63-47
// all equal).
func canonical(v uint64) bool {
	top := v >> 47
	return top == 0 || top == 1<<17-1
}

// fpState returns the frame's XSAVE area in the form of PTRACE_GETREGSET
// NT_X86_XSTATE, which the kernel's arch package reads: the first word
// of the software-reserved bytes is the enabled components (XCR0) where
// a frame has FP_XSTATE_MAGIC1 and the sizes.
func (f *frame) fpState() []byte {
	b := make([]byte, f.fpSize)
	copy(b, f.fp[:f.fpSize])
	clear(b[fxSW:xsaveHeader])
	le.PutUint64(b[fxSW:], f.features)
	return b
}

// setFP loads state, in the form fpState returns, into the frame. The
// frame's software-reserved bytes and magic stay; the header is made
// valid for the host's XRSTOR (only components the frame has, the
// standard form, reserved bytes zero) and MXCSR's reserved bits are
// cleared, so that rt_sigreturn cannot fail on what the kernel wrote.
func (f *frame) setFP(state []byte) error {
	if len(state) < xsaveMin {
		return fmt.Errorf("systrap: FP state of %d bytes: %w", len(state), unix.EINVAL)
	}
	n := min(len(state), f.fpSize)
	copy(f.fp[:fxSW], state[:fxSW])
	copy(f.fp[xsaveHeader:n], state[xsaveHeader:n])
	clear(f.fp[n:f.fpSize])
	bv := le.Uint64(f.fp[xsaveHeader:]) & f.features
	clear(f.fp[xsaveHeader:xsaveMin])
	le.PutUint64(f.fp[xsaveHeader:], bv)
	mask := le.Uint32(f.fp[fxMXCSRMask:])
	if mask == 0 {
		mask = mxcsrMaskDflt
	}
	le.PutUint32(f.fp[fxMXCSR:], le.Uint32(f.fp[fxMXCSR:])&mask)
	return nil
}
