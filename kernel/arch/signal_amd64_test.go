package arch

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	stackTop  = 0x7fff_0000_2000
	stackSize = 0x20000
)

// newStack maps a stack below stackTop and returns it with registers
// whose rsp is a page below the top.
func newStack() (*fakeMemory, unix.PtraceRegs) {
	m := &fakeMemory{}
	m.mapRange(stackTop-stackSize, stackSize)
	regs := testRegs()
	regs.Rsp = stackTop - 0x1000
	return m, regs
}

func testDelivery() *Delivery {
	info := &SignalInfo{Signo: int32(unix.SIGSEGV), Code: SEGV_MAPERR}
	info.SetAddr(0xdead000)
	return &Delivery{
		Info:      info,
		Handler:   0x400100,
		Flags:     SA_SIGINFO | SA_RESTORER,
		Restorer:  0x400200,
		Mask:      1<<(unix.SIGUSR1-1) | 1<<(unix.SIGCHLD-1),
		Stack:     SignalStack{Addr: 0x10000, Size: 0x8000}, // enabled, not used
		TrapNo:    14,
		ErrorCode: 6,
		CR2:       0xdead000,
	}
}

// TestSetupFrame checks every field SetupFrame writes at the offsets of
// Linux's struct rt_sigframe, and the registers the handler starts with.
func TestSetupFrame(t *testing.T) {
	m, regs := newStack()
	orig := regs
	fp := testFP(layoutAMX.size, layoutAMX.xcr0, 0x2a7, 1)
	fpOrig := bytes.Clone(fp)
	d := testDelivery()
	if err := SetupFrame(m, &regs, fp, d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fp, fpOrig) {
		t.Error("SetupFrame modified fpState")
	}

	// Linux on this layout: a 2816-byte frame area (no AMX tile data)
	// plus the 4-byte magic, 64-byte aligned below the red zone, then the
	// 440-byte frame so that rsp+8 is 16-byte aligned.
	const xsize = 2816
	fpAddr := (orig.Rsp - 128 - xsize - 4) &^ 63
	frame := (fpAddr-440)&^15 - 8
	uc := frame + 8
	sc := uc + 40

	wantRegs := orig
	wantRegs.Rip = d.Handler
	wantRegs.Rsp = frame
	wantRegs.Rdi = uint64(unix.SIGSEGV)
	wantRegs.Rsi = frame + 312
	wantRegs.Rdx = uc
	wantRegs.Rax = 0
	wantRegs.Eflags = orig.Eflags &^ (eflagsDF | eflagsTF | eflagsRF)
	if regs != wantRegs {
		t.Errorf("registers\n got %+v\nwant %+v", regs, wantRegs)
	}
	if (regs.Rsp+8)%16 != 0 {
		t.Errorf("rsp+8 = %#x not 16-byte aligned", regs.Rsp+8)
	}

	u64s := []struct {
		name string
		addr uint64
		want uint64
	}{
		{"pretcode", frame, d.Restorer},
		{"uc_flags", uc, UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS},
		{"uc_link", uc + 8, 0},
		{"uc_stack.ss_sp", uc + 16, d.Stack.Addr},
		{"uc_stack.ss_size", uc + 32, d.Stack.Size},
		{"r8", sc + 0, orig.R8}, {"r9", sc + 8, orig.R9}, {"r10", sc + 16, orig.R10},
		{"r11", sc + 24, orig.R11}, {"r12", sc + 32, orig.R12}, {"r13", sc + 40, orig.R13},
		{"r14", sc + 48, orig.R14}, {"r15", sc + 56, orig.R15}, {"rdi", sc + 64, orig.Rdi},
		{"rsi", sc + 72, orig.Rsi}, {"rbp", sc + 80, orig.Rbp}, {"rbx", sc + 88, orig.Rbx},
		{"rdx", sc + 96, orig.Rdx}, {"rax", sc + 104, orig.Rax}, {"rcx", sc + 112, orig.Rcx},
		{"rsp", sc + 120, orig.Rsp}, {"rip", sc + 128, orig.Rip},
		{"eflags", sc + 136, orig.Eflags},
		{"err", sc + 152, 6}, {"trapno", sc + 160, 14}, {"oldmask", sc + 168, d.Mask},
		{"cr2", sc + 176, 0xdead000}, {"fpstate", sc + 184, fpAddr},
		{"uc_sigmask", uc + 296, d.Mask},
		{"si_addr", frame + 312 + 16, 0xdead000},
		{"xsave xfeatures", fpAddr + 472, 0x202e7},
		{"XSTATE_BV", fpAddr + 512, 0x2a7},
		{"XCOMP_BV", fpAddr + 520, 0},
	}
	for _, f := range u64s {
		if got := m.u64(t, f.addr); got != f.want {
			t.Errorf("%s at frame%+d: got %#x, want %#x", f.name, int64(f.addr-frame), got, f.want)
		}
	}
	u32s := []struct {
		name string
		addr uint64
		want uint32
	}{
		{"uc_stack.ss_flags", uc + 24, d.Stack.Flags},
		{"si_signo", frame + 312, uint32(unix.SIGSEGV)},
		{"si_code", frame + 312 + 8, SEGV_MAPERR},
		{"magic1", fpAddr + 464, FP_XSTATE_MAGIC1},
		{"extended_size", fpAddr + 468, xsize + 4},
		{"xstate_size", fpAddr + 480, xsize},
		{"magic2", fpAddr + xsize, FP_XSTATE_MAGIC2},
	}
	for _, f := range u32s {
		if got := m.u32(t, f.addr); got != f.want {
			t.Errorf("%s: got %#x, want %#x", f.name, got, f.want)
		}
	}
	for _, f := range []struct {
		name string
		off  uint64
		want uint16
	}{{"cs", 144, UserCS}, {"gs", 146, 0}, {"fs", 148, 0}, {"ss", 150, UserSS}} {
		if got := m.u16(t, sc+f.off); got != f.want {
			t.Errorf("sigcontext.%s: got %#x, want %#x", f.name, got, f.want)
		}
	}
	// The XSAVE area itself: the registers as the platform gave them.
	area := m.bytes(t, fpAddr, xsize)
	if !bytes.Equal(area[:fxOffSW], fp[:fxOffSW]) {
		t.Error("legacy region differs from fpState")
	}
	if !bytes.Equal(area[xhEnd:], fp[xhEnd:xsize]) {
		t.Error("extended components differ from fpState")
	}
	if !allZero(area[484:512]) || !allZero(area[528:576]) {
		t.Error("software-reserved padding or header reserved bytes not zero")
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Without SA_SIGINFO, Linux leaves the frame's siginfo unwritten but still
// points rsi at it.
func TestSetupFrameNoSiginfo(t *testing.T) {
	m, regs := newStack()
	for _, r := range m.ranges {
		for i := range r.data {
			r.data[i] = 0xa5
		}
	}
	d := testDelivery()
	d.Flags = SA_RESTORER
	if err := SetupFrame(m, &regs, testFP(layoutAVX.size, layoutAVX.xcr0, 7, 1), d); err != nil {
		t.Fatal(err)
	}
	if regs.Rsi != regs.Rsp+312 || regs.Rdx != regs.Rsp+8 {
		t.Errorf("rsi %#x rdx %#x for frame %#x", regs.Rsi, regs.Rdx, regs.Rsp)
	}
	if !bytes.Equal(m.bytes(t, regs.Rsi, SignalInfoSize), bytes.Repeat([]byte{0xa5}, SignalInfoSize)) {
		t.Error("siginfo written without SA_SIGINFO")
	}
}

// TestRedZoneAndAlignment moves rsp through every alignment and checks the
// placement rules: nothing written in the red zone or above, the XSAVE
// area 64-byte aligned and right below the red zone, the frame right
// below it with rsp+8 16-byte aligned.
func TestRedZoneAndAlignment(t *testing.T) {
	for _, lay := range []struct {
		size int
		xcr0 uint64
	}{layoutAMX, layoutAVX, {576, 3}} {
		l, _ := layoutOf(testFP(lay.size, lay.xcr0, 3, 0))
		for off := range uint64(80) {
			m, regs := newStack()
			regs.Rsp -= off
			rsp := regs.Rsp
			for _, r := range m.ranges {
				for i := range r.data {
					r.data[i] = 0xa5
				}
			}
			if err := SetupFrame(m, &regs, testFP(lay.size, lay.xcr0, 3, off), testDelivery()); err != nil {
				t.Fatal(err)
			}
			frame := regs.Rsp
			fpAddr := m.u64(t, frame+8+40+184)
			end := fpAddr + uint64(l.size) + 4
			switch {
			case (frame+8)%16 != 0:
				t.Errorf("rsp %#x: frame %#x: rsp+8 not 16-byte aligned", rsp, frame)
			case fpAddr%64 != 0:
				t.Errorf("rsp %#x: fpstate %#x not 64-byte aligned", rsp, fpAddr)
			case end > rsp-128 || end+64 <= rsp-128:
				t.Errorf("rsp %#x: fpstate area ends at %#x, want just below the red zone at %#x", rsp, end, rsp-128)
			case frame+440 > fpAddr || frame+440+16+8 <= fpAddr:
				t.Errorf("rsp %#x: frame %#x..%#x not just below fpstate %#x", rsp, frame, frame+440, fpAddr)
			}
			if !bytes.Equal(m.bytes(t, rsp-128, 128+64), bytes.Repeat([]byte{0xa5}, 128+64)) {
				t.Errorf("rsp %#x: red zone or stack above it written", rsp)
			}
		}
	}
}

func TestAltStack(t *testing.T) {
	const altBase, altSize = 0x5000_0000, 0x10000
	alt := SignalStack{Addr: altBase, Size: altSize}
	fpLen := layoutAMX.size
	area := uint64(2816 + 4)
	for _, tc := range []struct {
		name  string
		rsp   uint64
		flags uint64
		stack SignalStack
		// where the XSAVE area must end: below top (or rsp-128) by less
		// than 64 bytes
		below   uint64
		wantErr error
	}{
		{name: "no SA_ONSTACK", rsp: stackTop - 0x1000, stack: alt, below: stackTop - 0x1000 - 128},
		{name: "SA_ONSTACK", rsp: stackTop - 0x1000, flags: SA_ONSTACK, stack: alt, below: altBase + altSize},
		{name: "disabled (size 0)", rsp: stackTop - 0x1000, flags: SA_ONSTACK, stack: SignalStack{Flags: SS_DISABLE}, below: stackTop - 0x1000 - 128},
		{name: "SS_DISABLE with a size", rsp: stackTop - 0x1000, flags: SA_ONSTACK, stack: SignalStack{Addr: altBase, Size: altSize, Flags: SS_DISABLE}, below: stackTop - 0x1000 - 128},
		{name: "nested", rsp: altBase + 0x8000, flags: SA_ONSTACK, stack: alt, below: altBase + 0x8000 - 128},
		{name: "nested without SA_ONSTACK", rsp: altBase + 0x8000, stack: alt, below: altBase + 0x8000 - 128},
		{name: "nested at top", rsp: altBase + altSize, flags: SA_ONSTACK, stack: alt, below: altBase + altSize - 128},
		// Past the red zone the stack pointer is below the stack: Linux
		// counts that as not on it and starts again at the top.
		{name: "rsp in the bottom 128 bytes", rsp: altBase + 100, flags: SA_ONSTACK, stack: alt, below: altBase + altSize},
		// With SS_AUTODISARM the thread never counts as on the stack.
		{name: "SS_AUTODISARM", rsp: altBase + 0x8000, flags: SA_ONSTACK, stack: SignalStack{Addr: altBase, Size: altSize, Flags: SS_AUTODISARM}, below: altBase + altSize},
		{name: "overflow entering", rsp: stackTop - 0x1000, flags: SA_ONSTACK, stack: SignalStack{Addr: altBase, Size: MINSIGSTKSZ}, wantErr: ErrAltStackOverflow},
		{name: "overflow nested", rsp: altBase + 0x800, flags: SA_ONSTACK, stack: alt, wantErr: ErrAltStackOverflow},
		{name: "overflow nested without SA_ONSTACK", rsp: altBase + 0x800, stack: alt, wantErr: ErrAltStackOverflow},
		{name: "frame just fits", rsp: altBase + 128 + 0x1000, flags: SA_ONSTACK, stack: SignalStack{Addr: altBase + 0x1000 - 0xe00, Size: 0xe00 + 128 + 0x1000}, below: altBase + 0x1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, regs := newStack()
			m.mapRange(altBase-0x10000, altSize+0x10000)
			regs.Rsp = tc.rsp
			orig := regs
			d := testDelivery()
			d.Flags |= tc.flags
			d.Stack = tc.stack
			err := SetupFrame(m, &regs, testFP(fpLen, layoutAMX.xcr0, 3, 0), d)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				if regs != orig {
					t.Error("registers changed on failure")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fpAddr := m.u64(t, regs.Rsp+8+40+184)
			if end := fpAddr + area; end > tc.below || end+64 <= tc.below {
				t.Errorf("XSAVE area ends at %#x, want just below %#x", end, tc.below)
			}
			var got SignalStack
			got.Unmarshal(m.bytes(t, regs.Rsp+8+16, SignalStackSize))
			if got != tc.stack {
				t.Errorf("uc_stack %+v, want %+v", got, tc.stack)
			}
		})
	}
}

func TestSetupFrameErrors(t *testing.T) {
	fp := testFP(layoutAVX.size, layoutAVX.xcr0, 7, 1)
	for _, tc := range []struct {
		name    string
		rsp     uint64
		change  func(*Delivery, *fakeMemory)
		fp      []byte
		wantErr error
	}{
		{name: "no SA_RESTORER", rsp: stackTop - 0x1000, change: func(d *Delivery, _ *fakeMemory) { d.Flags &^= SA_RESTORER }, wantErr: ErrNoRestorer},
		{name: "unmapped stack", rsp: 0x1000_0000, wantErr: unix.EFAULT},
		{name: "read-only stack", rsp: stackTop - 0x1000, change: func(_ *Delivery, m *fakeMemory) { m.ranges[0].readOnly = true }, wantErr: unix.EFAULT},
		{name: "stack just too small", rsp: stackTop - stackSize + 128 + 832 + 4 + 440, wantErr: unix.EFAULT},
		{name: "rsp 0", rsp: 0, wantErr: unix.EFAULT},
		{name: "rsp 100", rsp: 100, wantErr: unix.EFAULT},
		{name: "rsp max", rsp: ^uint64(0), wantErr: unix.EFAULT},
		{name: "short fpState", rsp: stackTop - 0x1000, fp: make([]byte, 512), wantErr: ErrFPState},
		{name: "nil fpState", rsp: stackTop - 0x1000, fp: []byte{}, wantErr: ErrFPState},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, regs := newStack()
			regs.Rsp = tc.rsp
			orig := regs
			d := testDelivery()
			if tc.change != nil {
				tc.change(d, m)
			}
			f := fp
			if tc.fp != nil {
				f = tc.fp
			}
			err := SetupFrame(m, &regs, f, d)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if regs != orig {
				t.Error("registers changed on failure")
			}
		})
	}
	m, regs := newStack()
	d := testDelivery()
	d.Info = nil
	if err := SetupFrame(m, &regs, fp, d); err == nil {
		t.Error("no error without siginfo")
	}
}

// handlerReturn does what the handler's ret does: pop pretcode. It also
// clobbers the registers, as a handler may.
func handlerReturn(regs *unix.PtraceRegs) {
	frame := regs.Rsp
	*regs = unix.PtraceRegs{
		Rsp: frame + 8, Rip: 0x400200, Cs: UserCS, Ss: UserSS, Eflags: 0x246,
		Rax: unix.SYS_RT_SIGRETURN, Orig_rax: unix.SYS_RT_SIGRETURN,
		Fs_base: regs.Fs_base, Gs_base: regs.Gs_base, Rbx: 0x5a5a, R12: 0x5a5a,
	}
}

// TestRoundTrip: SetupFrame then RestoreFrame with nothing changed gives
// back the registers, mask, stack and FP state.
func TestRoundTrip(t *testing.T) {
	for _, lay := range []struct {
		size int
		xcr0 uint64
		bv   uint64
	}{
		{layoutAMX.size, layoutAMX.xcr0, 0x2e7},
		{layoutAMX.size, layoutAMX.xcr0, 0x202},
		{layoutAVX.size, layoutAVX.xcr0, 0x7},
		{576, 3, 3},
	} {
		m, regs := newStack()
		orig := regs
		fp := testFP(lay.size, lay.xcr0, lay.bv, 1)
		d := testDelivery()
		d.Stack.Flags = SS_AUTODISARM
		if err := SetupFrame(m, &regs, fp, d); err != nil {
			t.Fatal(err)
		}
		handlerReturn(&regs)
		fp2 := testFP(lay.size, lay.xcr0, 0, 2) // the handler's FP state
		mask, alt, err := RestoreFrame(m, &regs, fp2)
		if err != nil {
			t.Fatal(err)
		}
		want := orig
		want.Orig_rax = ^uint64(0)
		if regs != want {
			t.Errorf("xcr0 %#x: registers\n got %+v\nwant %+v", lay.xcr0, regs, want)
		}
		if mask != d.Mask || alt != d.Stack {
			t.Errorf("mask %#x stack %+v, want %#x %+v", mask, alt, d.Mask, d.Stack)
		}
		l, _ := layoutOf(fp)
		wantFP := bytes.Clone(fp)
		le.PutUint64(wantFP[xhOffXstateBV:], lay.bv&l.features|xfeatureFPSSE)
		copy(wantFP[l.size:], fp2[l.size:]) // not in the frame
		if !bytes.Equal(fp2, wantFP) {
			t.Errorf("xcr0 %#x: FP state differs after the round trip at %d", lay.xcr0, firstDiff(fp2, wantFP))
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// setupForRestore builds a frame and returns what RestoreFrame needs.
func setupForRestore(t *testing.T) (m *fakeMemory, regs unix.PtraceRegs, orig unix.PtraceRegs, frame uint64, fp []byte) {
	t.Helper()
	m, regs = newStack()
	orig = regs
	if err := SetupFrame(m, &regs, testFP(layoutAMX.size, layoutAMX.xcr0, 0x2a7, 1), testDelivery()); err != nil {
		t.Fatal(err)
	}
	frame = regs.Rsp
	handlerReturn(&regs)
	return m, regs, orig, frame, testFP(layoutAMX.size, layoutAMX.xcr0, 0x2a7, 3)
}

// TestRestoreSanitizes: cs, ss and the privileged flags never come from
// the frame; fs and gs and their bases do not change.
func TestRestoreSanitizes(t *testing.T) {
	m, regs, orig, frame, fp := setupForRestore(t)
	sc := frame + 8 + 40
	m.put64(t, sc+136, ^uint64(0))       // every flag
	m.put64(t, sc+144, 0x0023_0000_0023) // cs 0x23 (32-bit), ss 0x23
	regs.Fs, regs.Gs, regs.Ds, regs.Es = 0x1, 0x2, 0x3, 0x4
	fsBase, gsBase := regs.Fs_base, regs.Gs_base
	if _, _, err := RestoreFrame(m, &regs, fp); err != nil {
		t.Fatal(err)
	}
	if regs.Cs != UserCS || regs.Ss != UserSS {
		t.Errorf("cs %#x ss %#x, want %#x %#x", regs.Cs, regs.Ss, UserCS, UserSS)
	}
	// IOPL, NT, VM, VIF, VIP, ID and the reserved bits keep the handler's
	// values (0x246 has none of them).
	const want = 0x202 | eflagsAC | eflagsOF | eflagsDF | eflagsTF | eflagsSF | eflagsZF |
		eflagsAF | eflagsPF | eflagsCF | eflagsRF
	if regs.Eflags != want {
		t.Errorf("eflags %#x, want %#x", regs.Eflags, want)
	}
	if regs.Fs_base != fsBase || regs.Gs_base != gsBase || regs.Fs != 1 || regs.Gs != 2 || regs.Ds != 3 || regs.Es != 4 {
		t.Errorf("segment state changed: %+v", regs)
	}
	if regs.Orig_rax != ^uint64(0) {
		t.Errorf("orig_rax %#x, want -1", regs.Orig_rax)
	}
	if regs.Rip != orig.Rip || regs.Rsp != orig.Rsp {
		t.Errorf("rip %#x rsp %#x, want %#x %#x", regs.Rip, regs.Rsp, orig.Rip, orig.Rsp)
	}

	// A frame with no flags set clears exactly the FIX_EFLAGS bits; the
	// handler's IF stays.
	m, regs, _, frame, fp = setupForRestore(t)
	m.put64(t, frame+8+40+136, 0)
	regs.Eflags = 0x202 | eflagsZF | eflagsAC | 3<<12 // IOPL cannot be set by a user, but must survive anyway
	if _, _, err := RestoreFrame(m, &regs, fp); err != nil {
		t.Fatal(err)
	}
	if regs.Eflags != 0x202|3<<12 {
		t.Errorf("eflags %#x, want %#x", regs.Eflags, 0x202|3<<12)
	}
}

// restoreCase builds a frame, lets change edit it, restores, and returns
// what RestoreFrame returned and the FP state.
func restoreCase(t *testing.T, change func(m *fakeMemory, frame, fpAddr uint64)) (unix.PtraceRegs, unix.PtraceRegs, []byte, error) {
	t.Helper()
	m, regs, orig, frame, fp := setupForRestore(t)
	fpAddr := m.u64(t, frame+8+40+184)
	if change != nil {
		change(m, frame, fpAddr)
	}
	_, _, err := RestoreFrame(m, &regs, fp)
	return regs, orig, fp, err
}

// isInit reports whether fp is ResetFPState's initial state.
func isInit(fp []byte) bool {
	return le.Uint16(fp[fxOffFCW:]) == fcwInit && le.Uint32(fp[fxOffMXCSR:]) == mxcsrInit &&
		allZero(fp[fxOffFCW+2:fxOffMXCSR]) && allZero(fp[32:fxEndXMM]) &&
		le.Uint64(fp[xhOffXstateBV:])&^xfeaturePKRU == xfeatureFPSSE && allZero(fp[xhOffXcompBV:xhEnd]) &&
		le.Uint32(fp[fxOffMXCSRMask:]) == 0xffff
}

func TestRestoreFPState(t *testing.T) {
	ones := bytes.Repeat([]byte{0xff}, 16)
	// The frame's state: xmm0 and the upper half of ymm0 all ones.
	setRegs := func(m *fakeMemory, fpAddr uint64) {
		m.CopyOut(uintptr(fpAddr+fxOffXMM), ones)
		m.CopyOut(uintptr(fpAddr+xhEnd), ones)
	}
	type result struct{ xmm, ymmh bool }
	check := func(t *testing.T, fp []byte, want result) {
		t.Helper()
		bv := le.Uint64(fp[xhOffXstateBV:])
		got := result{
			xmm:  bv&xfeatureSSE != 0 && bytes.Equal(fp[fxOffXMM:fxOffXMM+16], ones),
			ymmh: bv&xfeatureYMM != 0 && bytes.Equal(fp[xhEnd:xhEnd+16], ones),
		}
		if got != want {
			t.Errorf("xmm0 loaded %v, ymm0 upper loaded %v; want %v, %v", got.xmm, got.ymmh, want.xmm, want.ymmh)
		}
		if bv&^0x202e7 != 0 || !allZero(fp[xhOffXcompBV:xhEnd]) {
			t.Errorf("header %x not one PTRACE_SETREGSET accepts", fp[xhOffXstateBV:xhEnd])
		}
		if le.Uint64(fp[fxOffSW:]) != layoutAMX.xcr0 || le.Uint32(fp[fxOffMXCSRMask:]) != 0xffff {
			t.Error("software-reserved bytes or MXCSR_MASK not kept")
		}
	}
	for _, tc := range []struct {
		name   string
		change func(m *fakeMemory, t *testing.T, frame, fpAddr uint64)
		want   result
		errno  error // nil: success
	}{
		{name: "unchanged", want: result{true, true}},
		{name: "bad magic1: FXSAVE region only", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put32(t, fpAddr+464, 0)
		}, want: result{true, false}},
		{name: "bad magic2: FXSAVE region only", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put32(t, fpAddr+2816, 0)
		}, want: result{true, false}},
		{name: "huge sizes are ignored", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put32(t, fpAddr+468, 0xffffffff)
			m.put32(t, fpAddr+480, 0xfffffff0)
		}, want: result{true, true}},
		{name: "xfeatures FP|SSE only", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put64(t, fpAddr+472, 3)
		}, want: result{true, false}},
		{name: "xfeatures with unknown bits", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put64(t, fpAddr+472, ^uint64(0))
		}, want: result{true, true}},
		{name: "YMM init in XSTATE_BV", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put64(t, fpAddr+512, 0x3)
		}, want: result{true, false}},
		{name: "SSE init in XSTATE_BV", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put64(t, fpAddr+512, 0x5)
		}, want: result{false, true}},
		{name: "header bytes 24-63 ignored", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put64(t, fpAddr+512+40, 0x1234)
		}, want: result{true, true}},
		{name: "XSTATE_BV bit the host lacks", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put64(t, fpAddr+512, 0x2a7|1<<63)
		}, errno: unix.EINVAL},
		{name: "XCOMP_BV set", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put64(t, fpAddr+520, 1<<63|0x2a7)
		}, errno: unix.EINVAL},
		{name: "header bytes 16-23 set", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put64(t, fpAddr+528, 1)
		}, errno: unix.EINVAL},
		{name: "MXCSR reserved bit", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put32(t, fpAddr+24, 0x1f80|1<<16)
		}, errno: unix.EINVAL},
		{name: "MXCSR reserved bit, FXSAVE only", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put32(t, fpAddr+24, 0x1f80|1<<16)
			m.put32(t, fpAddr+464, 0)
		}, errno: unix.EINVAL},
		{name: "MXCSR reserved bit not loaded", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put32(t, fpAddr+24, 0x1f80|1<<16)
			m.put64(t, fpAddr+472, 1) // x87 only: XRSTOR does not load MXCSR
		}, want: result{false, false}},
		{name: "fpstate not 64-byte aligned", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			moveArea(m, t, frame, fpAddr, fpAddr-0x1000-32)
		}, errno: unix.EINVAL},
		{name: "FXSAVE-only fpstate 16-byte aligned", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			moveArea(m, t, frame, fpAddr, fpAddr-0x1000-16)
			m.put32(t, fpAddr-0x1000-16+464, 0)
		}, want: result{true, false}},
		{name: "FXSAVE-only fpstate 8-byte aligned", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			moveArea(m, t, frame, fpAddr, fpAddr-0x1000-8)
			m.put32(t, fpAddr-0x1000-8+464, 0)
		}, errno: unix.EINVAL},
		{name: "fpstate unmapped", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put64(t, frame+8+40+184, 0x1000)
		}, errno: unix.EFAULT},
		{name: "fpstate at the top of memory", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			m.put64(t, frame+8+40+184, ^uint64(63))
		}, errno: unix.EFAULT},
		{name: "magic2 unmapped", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			// An area whose start is mapped and whose end is not.
			r := m.mapRange(0x6000_0000, 2048)
			copy(r.data, m.bytes(t, fpAddr, 2048))
			m.put64(t, frame+8+40+184, 0x6000_0000)
		}, errno: unix.EFAULT},
		{name: "FXSAVE-only area on a short mapping", change: func(m *fakeMemory, t *testing.T, frame, fpAddr uint64) {
			r := m.mapRange(0x6000_0000, 512)
			copy(r.data, m.bytes(t, fpAddr, 512))
			le.PutUint32(r.data[464:], 0)
			m.put64(t, frame+8+40+184, 0x6000_0000)
		}, want: result{true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			regs, orig, fp, err := restoreCase(t, func(m *fakeMemory, frame, fpAddr uint64) {
				setRegs(m, fpAddr)
				if tc.change != nil {
					tc.change(m, t, frame, fpAddr)
				}
			})
			want := orig
			want.Orig_rax = ^uint64(0)
			if regs != want {
				t.Errorf("registers not restored: %+v", regs)
			}
			if tc.errno == nil {
				if err != nil {
					t.Fatal(err)
				}
				check(t, fp, tc.want)
				return
			}
			var se *SigreturnError
			if !errors.As(err, &se) || !errors.Is(err, tc.errno) || se.What != "fpstate" || !se.MaskRead {
				t.Fatalf("got %v, want a fpstate SigreturnError with %v", err, tc.errno)
			}
			if !isInit(fp) {
				t.Error("FP state not reset after a bad fpstate")
			}
		})
	}
}

// moveArea copies the frame's XSAVE area to addr and points the frame at
// it.
func moveArea(m *fakeMemory, t *testing.T, frame, from, to uint64) {
	t.Helper()
	b := m.bytes(t, from, 2816+4)
	if _, err := m.CopyOut(uintptr(to), b); err != nil {
		t.Fatal(err)
	}
	m.put64(t, frame+8+40+184, to)
}

func TestRestoreNoFPState(t *testing.T) {
	m, regs, _, frame, fp := setupForRestore(t)
	m.put64(t, frame+8+40+184, 0)
	le.PutUint64(fp[xhOffXstateBV:], 0x2a7)
	if _, _, err := RestoreFrame(m, &regs, fp); err != nil {
		t.Fatal(err)
	}
	if !isInit(fp) || le.Uint64(fp[xhOffXstateBV:]) != 0x203 {
		t.Errorf("fpstate NULL: FP state %x not initial with PKRU kept", fp[:xhEnd])
	}
}

// TestRestoreFrameErrors: a frame that cannot be read leaves what Linux
// leaves, and says whether the mask was read.
func TestRestoreFrameErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rsp      func(frame uint64) uint64
		holes    func(frame uint64) [][2]uint64 // unmapped [start, end)
		what     string
		maskRead bool
		restored bool
	}{
		{name: "rsp unmapped", rsp: func(uint64) uint64 { return 0x1000_0000 }, what: "frame"},
		{name: "rsp 0", rsp: func(uint64) uint64 { return 0 }, what: "frame"},
		{name: "rsp 7", rsp: func(uint64) uint64 { return 7 }, what: "frame"},
		{name: "rsp max", rsp: func(uint64) uint64 { return ^uint64(0) }, what: "frame"},
		{name: "rsp near max", rsp: func(uint64) uint64 { return ^uint64(0) - 100 }, what: "frame"},
		{name: "uc_flags unreadable", holes: func(f uint64) [][2]uint64 { return [][2]uint64{{f + 8, f + 16}} }, what: "frame"},
		{name: "uc_sigmask unreadable", holes: func(f uint64) [][2]uint64 { return [][2]uint64{{f + 304, f + 312}} }, what: "frame"},
		{name: "sigcontext unreadable", holes: func(f uint64) [][2]uint64 { return [][2]uint64{{f + 48 + 100, f + 48 + 101}} }, what: "sigcontext", maskRead: true},
		{name: "uc_stack unreadable", holes: func(f uint64) [][2]uint64 { return [][2]uint64{{f + 24, f + 48}} }, what: "uc_stack", maskRead: true, restored: true},
		// Linux reads neither reserved1 nor siginfo.
		{name: "reserved1 and siginfo unmapped", holes: func(f uint64) [][2]uint64 { return [][2]uint64{{f + 48 + 192, f + 304}, {f + 312, f + 440}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, regs, orig, frame, fp := setupForRestore(t)
			if tc.rsp != nil {
				regs.Rsp = tc.rsp(frame)
			}
			if tc.holes != nil {
				for _, h := range tc.holes(frame) {
					punch(m, h[0], h[1])
				}
			}
			before := regs
			fpBefore := bytes.Clone(fp)
			mask, _, err := RestoreFrame(m, &regs, fp)
			if tc.what == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *SigreturnError
			if !errors.As(err, &se) || !errors.Is(err, unix.EFAULT) {
				t.Fatalf("got %v, want a SigreturnError with EFAULT", err)
			}
			if se.What != tc.what || se.MaskRead != tc.maskRead {
				t.Errorf("What %q MaskRead %v, want %q %v", se.What, se.MaskRead, tc.what, tc.maskRead)
			}
			if tc.maskRead && mask != testDelivery().Mask {
				t.Errorf("mask %#x, want %#x", mask, testDelivery().Mask)
			}
			if tc.restored {
				want := orig
				want.Orig_rax = ^uint64(0)
				if regs != want {
					t.Errorf("registers not restored: %+v", regs)
				}
				return
			}
			if regs != before || !bytes.Equal(fp, fpBefore) {
				t.Error("registers or FP state changed for an unreadable frame")
			}
		})
	}
}

// punch unmaps [start, end) from m, splitting the range holding it.
func punch(m *fakeMemory, start, end uint64) {
	var out []*fakeRange
	for _, r := range m.ranges {
		rEnd := r.start + uint64(len(r.data))
		if end <= r.start || start >= rEnd {
			out = append(out, r)
			continue
		}
		if start > r.start {
			out = append(out, &fakeRange{start: r.start, data: r.data[:start-r.start], readOnly: r.readOnly})
		}
		if end < rEnd {
			out = append(out, &fakeRange{start: end, data: r.data[end-r.start:], readOnly: r.readOnly})
		}
	}
	m.ranges = out
}

func TestRestoreFrameBadFPStateArg(t *testing.T) {
	m, regs, _, _, _ := setupForRestore(t)
	before := regs
	if _, _, err := RestoreFrame(m, &regs, make([]byte, 100)); !errors.Is(err, ErrFPState) {
		t.Fatalf("got %v, want ErrFPState", err)
	}
	if regs != before {
		t.Error("registers changed")
	}
}

func TestLayoutOf(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fp        []byte
		size      int
		features  uint64
		mxcsrMask uint32
	}{
		{"AMX host", testFP(11008, 0x602e7, 0x2a2, 0), 2816, 0x202e7, 0xffff},
		{"AVX-512 host", testFP(2696, 0x2e7, 0x2a2, 0), 2696, 0x2e7, 0xffff},
		{"AVX host", testFP(832, 0x7, 0x2, 0), 832, 0x7, 0xffff},
		{"no XCR0 word", testFP(832, 0, 0x4, 0), 832, 0x7, 0xffff},
		{"AMX bit but too short", testFP(2816, 0x602e7, 0x2a2, 0), 2816, 0x602e7, 0xffff},
	} {
		l, err := layoutOf(tc.fp)
		if err != nil {
			t.Fatal(err)
		}
		if l.size != tc.size || l.features != tc.features || l.mxcsrMask != tc.mxcsrMask || l.full != len(tc.fp) {
			t.Errorf("%s: got %+v, want size %d features %#x", tc.name, l, tc.size, tc.features)
		}
	}
	fp := testFP(832, 7, 7, 0)
	le.PutUint32(fp[fxOffMXCSRMask:], 0)
	if l, _ := layoutOf(fp); l.mxcsrMask != 0xffbf {
		t.Errorf("zero MXCSR_MASK: got %#x, want 0xffbf", l.mxcsrMask)
	}
	if _, err := layoutOf(make([]byte, 575)); !errors.Is(err, ErrFPState) {
		t.Errorf("575 bytes: got %v", err)
	}
}

func TestResetFPState(t *testing.T) {
	fp := testFP(layoutAMX.size, layoutAMX.xcr0, 0x2a7, 5)
	tail := bytes.Clone(fp[xhEnd:])
	if err := ResetFPState(fp); err != nil {
		t.Fatal(err)
	}
	if !isInit(fp) || le.Uint64(fp[xhOffXstateBV:]) != 0x203 || le.Uint64(fp[fxOffSW:]) != layoutAMX.xcr0 {
		t.Errorf("not the initial state: %x", fp[:xhEnd])
	}
	if !bytes.Equal(fp[xhEnd:], tail) {
		t.Error("extended components rewritten (PKRU must keep its value)")
	}
	if err := ResetFPState(make([]byte, 10)); !errors.Is(err, ErrFPState) {
		t.Errorf("short: got %v", err)
	}
}

// FuzzRestoreFrame feeds arbitrary frames to RestoreFrame: it must never
// panic, and what it restores must be safe to load.
func FuzzRestoreFrame(f *testing.F) {
	m, regs := newStack()
	if err := SetupFrame(m, &regs, testFP(layoutAMX.size, layoutAMX.xcr0, 0x2a7, 1), testDelivery()); err != nil {
		f.Fatal(err)
	}
	seed := make([]byte, stackTop-regs.Rsp)
	m.CopyIn(uintptr(regs.Rsp), seed)
	f.Add(seed, uint64(0))
	f.Add(seed[:100], uint64(8))
	f.Add([]byte{}, uint64(1<<63))
	f.Fuzz(func(t *testing.T, frame []byte, delta uint64) {
		m, regs := newStack()
		regs.Rsp = stackTop - uint64(len(seed))
		m.CopyOut(uintptr(regs.Rsp), frame)
		if delta%16 == 0 {
			regs.Rsp += delta // also far outside the stack
		}
		regs.Rsp += 8
		regs.Eflags = 0x246
		fp := testFP(layoutAMX.size, layoutAMX.xcr0, 0x2a7, 1)
		_, _, err := RestoreFrame(m, &regs, fp)
		var se *SigreturnError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("error %v is not a SigreturnError", err)
		}
		if regs.Cs != UserCS || regs.Ss != UserSS || regs.Eflags&^(eflagsSigreturn|0x202) != 0 || regs.Eflags&0x202 != 0x202 {
			t.Errorf("unsafe registers: cs %#x ss %#x eflags %#x", regs.Cs, regs.Ss, regs.Eflags)
		}
		bv := le.Uint64(fp[xhOffXstateBV:])
		if bv&^0x202e7 != 0 || bv&3 != 3 || !allZero(fp[xhOffXcompBV:xhEnd]) || le.Uint32(fp[fxOffMXCSR:])&^0xffff != 0 {
			t.Errorf("FP state PTRACE_SETREGSET would refuse: header %x mxcsr %#x", fp[xhOffXstateBV:xhEnd], le.Uint32(fp[fxOffMXCSR:]))
		}
		if len(fp) != layoutAMX.size || le.Uint64(fp[fxOffSW:]) != layoutAMX.xcr0 {
			t.Error("FP state no longer describes the host")
		}
	})
}
