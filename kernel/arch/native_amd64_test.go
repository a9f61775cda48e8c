package arch

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// nativeRun is what testdata/native.c observed on the host kernel.
type nativeRun struct {
	xstate []byte
	frames []map[string]string // "name" and the key=value pairs
	lines  map[string]string   // "eflags", "child overflow", "fp 3", ... -> rest
}

func runNative(t *testing.T) *nativeRun {
	t.Helper()
	bin := buildC(t, "native", "-O0", "-fno-omit-frame-pointer")
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("running native: %v", err)
	}
	r := &nativeRun{lines: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch f[0] {
		case "xstate":
			if r.xstate, err = hex.DecodeString(f[1]); err != nil {
				t.Fatal(err)
			}
		case "frame":
			m := map[string]string{"name": f[1]}
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				m[k] = v
			}
			r.frames = append(r.frames, m)
		case "eflags":
			r.lines["eflags"] = strings.Join(f[1:], " ")
		default:
			r.lines[f[0]+" "+f[1]] = strings.Join(f[2:], " ")
		}
	}
	if r.xstate == nil {
		t.Skip("PTRACE_GETREGSET NT_X86_XSTATE unavailable here (ptrace restricted?)")
	}
	return r
}

func hexField(t *testing.T, m map[string]string, k string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(m[k], 0, 64)
	if err != nil {
		t.Fatalf("frame %s: %s=%q: %v", m["name"], k, m[k], err)
	}
	return v
}

// TestNative compares SetupFrame and RestoreFrame with frames the host
// kernel built and took apart, using the host's own XSAVE area (from
// ptrace, as the platform gets it) as fpState.
func TestNative(t *testing.T) {
	r := runNative(t)

	t.Run("layout", func(t *testing.T) {
		l, err := layoutOf(r.xstate)
		if err != nil {
			t.Fatal(err)
		}
		f := r.frames[0]
		if uint64(l.size) != hexField(t, f, "xsize") || l.features != hexField(t, f, "xfeatures") {
			t.Errorf("from ptrace's %d-byte area: frame size %d features %#x; the host's frames: %s %s",
				len(r.xstate), l.size, l.features, f["xsize"], f["xfeatures"])
		}
	})

	// What the kernel stores for the thread's sigaltstack at each
	// delivery, as set up by native.c; uc_stack must show exactly that.
	stored := func(f map[string]string) SignalStack {
		var alt SignalStack
		for _, g := range r.frames {
			if g["name"] == "alt" {
				alt = SignalStack{Addr: hexField(t, g, "ss_sp"), Size: 0x10000}
			}
		}
		switch f["name"] {
		case "alt", "alt-nested":
			return alt
		case "autodisarm":
			alt.Flags = SS_AUTODISARM
			return alt
		case "autodisarm-nested", "disabled":
			return SignalStack{Flags: SS_DISABLE} // disarmed, or disabled
		}
		return SignalStack{} // never set
	}

	for _, f := range r.frames {
		t.Run("frame "+f["name"], func(t *testing.T) {
			scRsp := hexField(t, f, "sc_rsp")
			entry := hexField(t, f, "entry")
			st := stored(f)
			if got := (SignalStack{Addr: hexField(t, f, "ss_sp"), Flags: uint32(hexField(t, f, "ss_flags")), Size: hexField(t, f, "ss_size")}); got != st {
				t.Errorf("host's uc_stack %+v, want the stored %+v", got, st)
			}
			if hexField(t, f, "ret") != hexField(t, f, "restorer") || (entry+8)%16 != 0 {
				t.Errorf("host: entry rsp %#x holds %s, restorer %s", entry, f["ret"], f["restorer"])
			}
			// (The handler reads its flags after its prologue's arithmetic:
			// only DF and TF are as at entry.)
			if e := hexField(t, f, "eflags_entry"); e&(eflagsDF|eflagsTF) != 0 {
				t.Errorf("host: handler entered with eflags %#x", e)
			}

			m := &fakeMemory{}
			m.mapRange(scRsp-0x10000, 0x10000)
			if st.Size != 0 {
				m.mapRange(st.Addr, int(st.Size))
			}
			regs := testRegs()
			regs.Rsp = scRsp
			regs.Eflags = hexField(t, f, "sc_eflags")
			d := testDelivery()
			d.Flags = hexField(t, f, "saflags")
			d.Restorer = hexField(t, f, "restorer")
			d.Mask = hexField(t, f, "mask")
			d.Stack = st
			if err := SetupFrame(m, &regs, r.xstate, d); err != nil {
				t.Fatal(err)
			}
			if regs.Eflags&(eflagsDF|eflagsTF) != 0 {
				t.Errorf("handler starts with eflags %#x", regs.Eflags)
			}
			frame := regs.Rsp
			uc := frame + 8
			fp := m.u64(t, uc+40+184)
			for _, c := range []struct {
				what      string
				got, want uint64
			}{
				{"frame (rsp at entry)", frame, entry},
				{"rsi (&info)", regs.Rsi, hexField(t, f, "info")},
				{"rdx (&uc)", regs.Rdx, hexField(t, f, "uc")},
				{"fpstate", fp, hexField(t, f, "fp")},
				{"uc_flags", m.u64(t, uc), hexField(t, f, "uc_flags")},
				{"uc_sigmask", m.u64(t, uc+296), hexField(t, f, "mask")},
				{"magic1", uint64(m.u32(t, fp+464)), hexField(t, f, "magic1")},
				{"extended_size", uint64(m.u32(t, fp+468)), hexField(t, f, "ext")},
				{"xfeatures", m.u64(t, fp+472), hexField(t, f, "xfeatures")},
				{"xstate_size", uint64(m.u32(t, fp+480)), hexField(t, f, "xsize")},
				{"magic2", uint64(m.u32(t, fp+uint64(m.u32(t, fp+480)))), hexField(t, f, "magic2")},
				{"header bytes 8-63", boolU64(!allZero(m.bytes(t, fp+520, 56))), hexField(t, f, "hdr_rest")},
			} {
				if c.got != c.want {
					t.Errorf("%s: SetupFrame gives %#x, the host %#x", c.what, c.got, c.want)
				}
			}
		})
	}

	t.Run("children", func(t *testing.T) {
		for _, k := range []string{"child overflow", "child norestorer"} {
			if r.lines[k] != fmt.Sprintf("signal=%d", unix.SIGSEGV) {
				t.Errorf("%s: host child %q, want killed by SIGSEGV", k, r.lines[k])
			}
		}
		m, regs := newStack()
		m.mapRange(0x5000_0000, MINSIGSTKSZ)
		d := testDelivery()
		d.Flags |= SA_ONSTACK
		d.Stack = SignalStack{Addr: 0x5000_0000, Size: MINSIGSTKSZ}
		if err := SetupFrame(m, &regs, r.xstate, d); !errors.Is(err, ErrAltStackOverflow) {
			t.Errorf("MINSIGSTKSZ alternate stack: got %v, want ErrAltStackOverflow", err)
		}
		d = testDelivery()
		d.Flags = SA_SIGINFO
		if err := SetupFrame(m, &regs, r.xstate, d); !errors.Is(err, ErrNoRestorer) {
			t.Errorf("no SA_RESTORER: got %v", err)
		}
	})

	t.Run("eflags", func(t *testing.T) {
		var set, after uint64
		if _, err := fmt.Sscanf(r.lines["eflags"], "set=%v after=%v", &set, &after); err != nil {
			t.Fatalf("%q: %v", r.lines["eflags"], err)
		}
		// The handler's rt_sigreturn runs with IF and the reserved bit:
		// the only flags outside FIX_EFLAGS a user has.
		regs := unix.PtraceRegs{Eflags: 0x202}
		sc := make([]byte, scOffRsvd)
		le.PutUint64(sc[scOffEflags:], set)
		restoreRegs(&regs, sc)
		// pushfq reads RF as 0.
		if regs.Eflags&^eflagsRF != after {
			t.Errorf("frame eflags %#x: RestoreFrame gives %#x, the host %#x", set, regs.Eflags, after)
		}
	})

	t.Run("fpstate", func(t *testing.T) {
		for mode, edit := range fpEdits {
			want, ok := r.lines[fmt.Sprintf("fp %d", mode)]
			if !ok {
				t.Logf("mode %d: no host result (no AVX?)", mode)
				continue
			}
			if got := fpMode(t, r.xstate, edit); got != want {
				t.Errorf("mode %d: RestoreFrame gives %q, the host %q", mode, got, want)
			}
		}
	})
}

func boolU64(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// fpEdits are native.c's fp_edit modes: what a handler does to the frame.
var fpEdits = map[int]func(t *testing.T, m *fakeMemory, uc, fp uint64){
	0: func(t *testing.T, m *fakeMemory, uc, fp uint64) {},
	1: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put32(t, fp+464, 0) },
	2: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put32(t, fp+uint64(m.u32(t, fp+480)), 0) },
	3: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put64(t, fp+472, 3) },
	4: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put64(t, uc+40+184, 0) },
	5: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put64(t, fp+512, m.u64(t, fp+512)|1<<63) },
	6: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put64(t, fp+520, 1) },
	7: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put32(t, fp+24, m.u32(t, fp+24)|1<<16) },
	9: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put64(t, fp+512, 3) },
	10: func(t *testing.T, m *fakeMemory, uc, fp uint64) {
		m.put64(t, fp+512, m.u64(t, fp+512)&^2)
	},
	11: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put64(t, fp+512+40, 0x1234) },
	12: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put64(t, fp+528, 1) },
	13: func(t *testing.T, m *fakeMemory, uc, fp uint64) {
		m.put32(t, fp+24, m.u32(t, fp+24)|1<<16)
		m.put64(t, fp+472, 1)
	},
	14: func(t *testing.T, m *fakeMemory, uc, fp uint64) {
		m.put32(t, fp+24, m.u32(t, fp+24)|1<<16)
		m.put32(t, fp+464, 0)
	},
	15: func(t *testing.T, m *fakeMemory, uc, fp uint64) { m.put64(t, fp+472, ^uint64(0)) },
}

// fpMode does what native.c's fp_run does: ymm0 all ones, a signal whose
// handler edits the frame, rt_sigreturn; and reports in its words.
func fpMode(t *testing.T, xstate []byte, edit func(*testing.T, *fakeMemory, uint64, uint64)) string {
	t.Helper()
	fp := bytes.Clone(xstate)
	ones := bytes.Repeat([]byte{0xff}, 16)
	copy(fp[fxOffXMM:], ones)
	copy(fp[xhEnd:], ones) // the upper half of ymm0
	le.PutUint64(fp[xhOffXstateBV:], le.Uint64(fp[xhOffXstateBV:])|xfeatureFPSSE|xfeatureYMM)

	m, regs := newStack()
	if err := SetupFrame(m, &regs, fp, testDelivery()); err != nil {
		t.Fatal(err)
	}
	uc := regs.Rsp + 8
	edit(t, m, uc, m.u64(t, uc+40+184))
	handlerReturn(&regs)
	out := bytes.Clone(xstate)
	if _, _, err := RestoreFrame(m, &regs, out); err != nil {
		if !errors.As(err, new(*SigreturnError)) {
			t.Fatalf("not a SigreturnError: %v", err)
		}
		return fmt.Sprintf("signal=%d", unix.SIGSEGV)
	}
	bv := le.Uint64(out[xhOffXstateBV:])
	lower := bv&xfeatureSSE != 0 && bytes.Equal(out[fxOffXMM:fxOffXMM+16], ones)
	upper := bv&xfeatureYMM != 0 && bytes.Equal(out[xhEnd:xhEnd+16], ones)
	return fmt.Sprintf("lower=%d upper=%d", boolU64(lower), boolU64(upper))
}
