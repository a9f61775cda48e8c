package arch

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// The XSAVE area in standard (non-compacted) form, as PTRACE_GETREGSET
// NT_X86_XSTATE returns it and as Linux writes it into a signal frame:
// the 512-byte legacy FXSAVE region, the 64-byte XSAVE header, then the
// extended components at the offsets CPUID leaf 0xd gives. Intel SDM
// vol. 1, 10.5.1 and 13.4; Linux: struct fxregs_state, struct
// xregs_state.
const (
	fxOffFCW       = 0   // x87 control word
	fxOffFTW       = 4   // abridged x87 tag word
	fxOffMXCSR     = 24  // MXCSR
	fxOffMXCSRMask = 28  // MXCSR_MASK: the MXCSR bits the CPU supports
	fxOffXMM       = 160 // xmm0..xmm15
	fxEndXMM       = 416 // end of the registers FXRSTOR loads
	fxOffSW        = 464 // 48 bytes the hardware leaves to software
	fxSize         = 512

	xhOffXstateBV = 512 // XSTATE_BV: which components are not in their init state
	xhOffXcompBV  = 520 // XCOMP_BV: bit 63 set for the compacted form
	xhEnd         = 576 // end of the header: the smallest XSAVE area

	// The software-reserved bytes of a signal frame's FXSAVE region
	// (Linux: struct _fpx_sw_bytes).
	swOffMagic1       = fxOffSW + 0
	swOffExtendedSize = fxOffSW + 4
	swOffXfeatures    = fxOffSW + 8
	swOffXstateSize   = fxOffSW + 16
	swSize            = 48
)

// Markers of an XSAVE area in a signal frame (Linux: FP_XSTATE_MAGIC1 in
// the software-reserved bytes, FP_XSTATE_MAGIC2 just past the area).
const (
	FP_XSTATE_MAGIC1      = 0x46505853
	FP_XSTATE_MAGIC2      = 0x46505845
	FP_XSTATE_MAGIC2_SIZE = 4
)

// XSAVE state components (Intel SDM vol. 1, 13.1).
const (
	xfeatureFP        = 1 << 0
	xfeatureSSE       = 1 << 1
	xfeatureYMM       = 1 << 2
	xfeaturePKRU      = 1 << 9
	xfeatureXTileData = 1 << 18
	xfeatureFPSSE     = xfeatureFP | xfeatureSSE

	// xtileDataSize is the size of the AMX tile data component, which
	// comes last in the standard form.
	xtileDataSize = 8192
)

// Initial values of the registers in the FXSAVE region (Intel SDM vol. 1,
// 13.6: the init state of x87 is FCW 037FH; of MXCSR, 1F80H).
const (
	fcwInit   = 0x037f
	mxcsrInit = 0x1f80
	// mxcsrMaskDefault is used when the CPU reports a zero MXCSR_MASK.
	// Linux: fpu__init_system_mxcsr().
	mxcsrMaskDefault = 0xffbf
)

// ErrFPState is returned (wrapped) for an fpState argument that is not an
// XSAVE area at all. It is a bug in the caller, not in the application.
var ErrFPState = errors.New("arch: FP state is not an XSAVE area")

// xsaveLayout is what the platform's XSAVE area says about the host.
type xsaveLayout struct {
	// full is the length of the platform's area (the host's
	// fpu_user_cfg.max_size), which PTRACE_SETREGSET requires back.
	full int
	// size and features are the part a signal frame holds: Linux's
	// fpstate->user_size and user_xfeatures for a task that has not
	// asked for dynamically enabled components.
	size     int
	features uint64
	// xcr0 is every user component the host enables.
	xcr0 uint64
	// mxcsrMask is the MXCSR bits the CPU accepts.
	mxcsrMask uint32
}

// layoutOf reads the host's layout from an XSAVE area in the form
// PTRACE_GETREGSET NT_X86_XSTATE returns: its length is the host's
// maximum size and the first word of the software-reserved bytes is XCR0
// (Linux: arch/x86/include/asm/user.h, struct user_xstateregs).
//
// Linux leaves dynamically enabled components out of signal frames until
// the process asks for them with arch_prctl(ARCH_REQ_XCOMP_PERM). The
// only one is AMX tile data, the last 8 KiB of the standard form; a
// frame without it is that much shorter, as on the host.
func layoutOf(fp []byte) (xsaveLayout, error) {
	if len(fp) < xhEnd {
		return xsaveLayout{}, fmt.Errorf("%w: %d bytes", ErrFPState, len(fp))
	}
	l := xsaveLayout{full: len(fp), size: len(fp)}
	l.xcr0 = le.Uint64(fp[fxOffSW:])
	if l.xcr0 == 0 {
		// Not from ptrace: all we know is what is in use.
		l.xcr0 = le.Uint64(fp[xhOffXstateBV:])
	}
	l.xcr0 |= xfeatureFPSSE
	l.features = l.xcr0
	if l.features&xfeatureXTileData != 0 && l.size >= xhEnd+xtileDataSize {
		l.features &^= xfeatureXTileData
		l.size -= xtileDataSize
	}
	l.mxcsrMask = le.Uint32(fp[fxOffMXCSRMask:])
	if l.mxcsrMask == 0 {
		l.mxcsrMask = mxcsrMaskDefault
	}
	return l, nil
}

// frameArea returns the bytes Linux writes at a signal frame's fpstate:
// the area the thread's XSAVE would produce, with the software-reserved
// bytes describing it, FP and SSE marked in use so that a handler that
// edits the legacy registers sees its change restored, and
// FP_XSTATE_MAGIC2 just past it. Linux: copy_fpstate_to_sigframe(),
// save_xstate_epilog().
func (l *xsaveLayout) frameArea(fp []byte) []byte {
	a := make([]byte, l.size+FP_XSTATE_MAGIC2_SIZE)
	copy(a, fp[:l.size])
	clear(a[fxOffSW:fxSize])
	le.PutUint32(a[swOffMagic1:], FP_XSTATE_MAGIC1)
	le.PutUint32(a[swOffExtendedSize:], uint32(l.size+FP_XSTATE_MAGIC2_SIZE))
	le.PutUint64(a[swOffXfeatures:], l.features)
	le.PutUint32(a[swOffXstateSize:], uint32(l.size))
	bv := le.Uint64(a[xhOffXstateBV:])&l.features | xfeatureFPSSE
	clear(a[xhOffXstateBV:xhEnd]) // Linux clears the header before XSAVE
	le.PutUint64(a[xhOffXstateBV:], bv)
	le.PutUint32(a[l.size:], FP_XSTATE_MAGIC2)
	return a
}

// ResetFPState sets fp, an XSAVE area in the platform's layout, to the
// state Linux gives a signal handler and leaves after a failed
// rt_sigreturn: every user component in its initial state. Linux:
// fpu__clear_user_states().
//
// One difference: PKRU keeps its value, where Linux writes its default
// (init_pkru_value). The two agree unless the application changed PKRU,
// and protection keys other than 0 are not given out.
func ResetFPState(fp []byte) error {
	if _, err := layoutOf(fp); err != nil {
		return err
	}
	resetLegacy(fp, true, true)
	clear(fp[fxEndXMM:fxOffSW])
	bv := le.Uint64(fp[xhOffXstateBV:])&xfeaturePKRU | xfeatureFPSSE
	clear(fp[xhOffXstateBV:xhEnd])
	le.PutUint64(fp[xhOffXstateBV:], bv)
	return nil
}

// resetLegacy puts the x87 registers (x87) and the SSE registers and MXCSR
// (sse) of the FXSAVE region in their initial state, keeping MXCSR_MASK.
func resetLegacy(fp []byte, x87, sse bool) {
	if x87 {
		mxcsr := le.Uint64(fp[fxOffMXCSR:]) // MXCSR and MXCSR_MASK
		clear(fp[:fxOffXMM])
		le.PutUint16(fp[fxOffFCW:], fcwInit)
		le.PutUint64(fp[fxOffMXCSR:], mxcsr)
	}
	if sse {
		clear(fp[fxOffXMM:fxEndXMM])
		le.PutUint32(fp[fxOffMXCSR:], mxcsrInit)
	}
}

// restoreFPState replaces fp, the thread's XSAVE area in the platform's
// layout, with the state an rt_sigreturn loads from a frame's fpstate at
// addr. On failure fp is reset (ResetFPState) and the error wraps
// unix.EFAULT (unreadable) or unix.EINVAL (an area XRSTOR or FXRSTOR
// would fault on). Linux: fpu__restore_sig(), __fpu_restore_sig(),
// check_xstate_in_sigframe(), restore_fpregs_from_user().
//
// The result is an area PTRACE_SETREGSET accepts: the platform's length,
// a standard-form header with no reserved bits, components the frame does
// not load marked as initial. The software-reserved bytes and MXCSR_MASK
// keep fp's values, so fp still describes the host afterwards.
func restoreFPState(m Memory, addr uint64, fp []byte) error {
	l, err := layoutOf(fp)
	if err != nil {
		return err
	}
	if addr == 0 {
		// No FP state in the frame: start afresh.
		return ResetFPState(fp)
	}
	if err := l.restore(m, addr, fp); err != nil {
		ResetFPState(fp)
		return err
	}
	return nil
}

func (l *xsaveLayout) restore(m Memory, addr uint64, fp []byte) error {
	sw := make([]byte, swSize)
	if err := readAt(m, addr+fxOffSW, sw); err != nil {
		return err
	}
	// A frame without both magic numbers holds the legacy region only:
	// the application built or copied an FXSAVE image.
	full := le.Uint32(sw) == FP_XSTATE_MAGIC1
	if full {
		m2 := make([]byte, FP_XSTATE_MAGIC2_SIZE)
		if err := readAt(m, addr+uint64(l.size), m2); err != nil {
			return err
		}
		full = le.Uint32(m2) == FP_XSTATE_MAGIC2
	}
	if !full {
		return l.restoreLegacy(m, addr, fp)
	}

	// XRSTOR needs 64-byte alignment and faults (#GP) on the checks
	// below; Linux reports that as a bad frame.
	if addr%64 != 0 {
		return fmt.Errorf("fpstate %#x not 64-byte aligned: %w", addr, unix.EINVAL)
	}
	a := make([]byte, l.size)
	if err := readAt(m, addr, a); err != nil {
		return err
	}
	bv := le.Uint64(a[xhOffXstateBV:])
	if bv&^l.xcr0 != 0 {
		return fmt.Errorf("fpstate %#x: XSTATE_BV %#x has components the host lacks: %w", addr, bv, unix.EINVAL)
	}
	// Bytes 8-23 of the header must be zero in the standard form. (A
	// compacted area, XCOMP_BV bit 63, would load on a CPU with XSAVEC;
	// no XSAVE-aware program builds one by hand, and it is refused.)
	if le.Uint64(a[xhOffXcompBV:]) != 0 || le.Uint64(a[xhOffXcompBV+8:]) != 0 {
		return fmt.Errorf("fpstate %#x: XSAVE header reserved bytes set: %w", addr, unix.EINVAL)
	}
	// Load the components both the frame and the host name; the others
	// take their initial state.
	load := le.Uint64(sw[swOffXfeatures-fxOffSW:]) & l.features
	mxcsr := le.Uint32(a[fxOffMXCSR:])
	if load&(xfeatureSSE|xfeatureYMM) != 0 && mxcsr&^l.mxcsrMask != 0 {
		return fmt.Errorf("fpstate %#x: MXCSR %#x has reserved bits: %w", addr, mxcsr, unix.EINVAL)
	}

	in := bv & load // components loaded from the frame; the rest are initial
	keepSW := [swSize]byte(fp[fxOffSW:fxSize])
	mask := le.Uint32(fp[fxOffMXCSRMask:])
	copy(fp, a)
	copy(fp[fxOffSW:], keepSW[:])
	le.PutUint32(fp[fxOffMXCSRMask:], mask)
	// Make FP and SSE explicit so the result never depends on how the
	// host loads MXCSR when they are absent: XRSTOR takes MXCSR from the
	// frame whenever SSE or AVX is loaded, and Linux initialises it
	// otherwise.
	resetLegacy(fp, in&xfeatureFP == 0, in&xfeatureSSE == 0)
	if load&xfeatureSSE != 0 {
		le.PutUint32(fp[fxOffMXCSR:], mxcsr)
	} else {
		le.PutUint32(fp[fxOffMXCSR:], mxcsrInit)
	}
	clear(fp[xhOffXstateBV:xhEnd])
	le.PutUint64(fp[xhOffXstateBV:], in|xfeatureFPSSE)
	return nil
}

// restoreLegacy loads only the FXSAVE region, as FXRSTOR does; every
// other component takes its initial state.
func (l *xsaveLayout) restoreLegacy(m Memory, addr uint64, fp []byte) error {
	if addr%16 != 0 {
		return fmt.Errorf("fpstate %#x not 16-byte aligned: %w", addr, unix.EINVAL)
	}
	a := make([]byte, fxSize)
	if err := readAt(m, addr, a); err != nil {
		return err
	}
	if mxcsr := le.Uint32(a[fxOffMXCSR:]); mxcsr&^l.mxcsrMask != 0 {
		return fmt.Errorf("fpstate %#x: MXCSR %#x has reserved bits: %w", addr, mxcsr, unix.EINVAL)
	}
	mask := le.Uint32(fp[fxOffMXCSRMask:])
	copy(fp[:fxEndXMM], a)
	le.PutUint32(fp[fxOffMXCSRMask:], mask)
	clear(fp[fxEndXMM:fxOffSW])
	clear(fp[xhOffXstateBV:xhEnd])
	le.PutUint64(fp[xhOffXstateBV:], xfeatureFPSSE)
	return nil
}
