package arch

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// buildC compiles testdata/name.c with gcc, skipping the test without it.
func buildC(t *testing.T, name string, flags ...string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("needs gcc (and linux-libc-dev) to compile the C reference")
	}
	bin := filepath.Join(t.TempDir(), name)
	args := append([]string{"-Wall", "-o", bin, filepath.Join("testdata", name+".c")}, flags...)
	if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", name, err, out)
	}
	return bin
}

// TestLinuxLayout compares every offset, size and constant the package
// uses with Linux's UAPI headers, and the bytes the SignalInfo and
// SignalStack encoders produce with the C structures filled the same way.
func TestLinuxLayout(t *testing.T) {
	out, err := exec.Command(buildC(t, "layout")).Output()
	if err != nil {
		t.Fatalf("running layout: %v", err)
	}

	want := map[string]int64{
		"off rt_sigframe_64.pretcode": frameOffPretcode,
		"off rt_sigframe_64.uc":       frameOffUC,
		"off rt_sigframe_64.info":     frameOffInfo,
		"off ucontext.uc_flags":       ucOffFlags,
		"off ucontext.uc_link":        ucOffLink,
		"off ucontext.uc_stack":       ucOffStack,
		"off ucontext.uc_mcontext":    ucOffMcontext,
		"off ucontext.uc_sigmask":     ucOffSigmask,
		"off sigcontext.r8":           scOffR8,
		"off sigcontext.r9":           scOffR9,
		"off sigcontext.r10":          scOffR10,
		"off sigcontext.r11":          scOffR11,
		"off sigcontext.r12":          scOffR12,
		"off sigcontext.r13":          scOffR13,
		"off sigcontext.r14":          scOffR14,
		"off sigcontext.r15":          scOffR15,
		"off sigcontext.rdi":          scOffRdi,
		"off sigcontext.rsi":          scOffRsi,
		"off sigcontext.rbp":          scOffRbp,
		"off sigcontext.rbx":          scOffRbx,
		"off sigcontext.rdx":          scOffRdx,
		"off sigcontext.rax":          scOffRax,
		"off sigcontext.rcx":          scOffRcx,
		"off sigcontext.rsp":          scOffRsp,
		"off sigcontext.rip":          scOffRip,
		"off sigcontext.eflags":       scOffEflags,
		"off sigcontext.cs":           scOffCS,
		"off sigcontext.gs":           scOffGS,
		"off sigcontext.fs":           scOffFS,
		"off sigcontext.ss":           scOffSS,
		"off sigcontext.err":          scOffErr,
		"off sigcontext.trapno":       scOffTrapno,
		"off sigcontext.oldmask":      scOffOldmask,
		"off sigcontext.cr2":          scOffCR2,
		"off sigcontext.fpstate":      scOffFpstate,
		"off sigcontext.reserved1":    scOffRsvd,

		"off _fpx_sw_bytes.magic1":        swOffMagic1 - fxOffSW,
		"off _fpx_sw_bytes.extended_size": swOffExtendedSize - fxOffSW,
		"off _fpx_sw_bytes.xfeatures":     swOffXfeatures - fxOffSW,
		"off _fpx_sw_bytes.xstate_size":   swOffXstateSize - fxOffSW,
		"off _fpstate_64.cwd":             fxOffFCW,
		"off _fpstate_64.twd":             fxOffFTW,
		"off _fpstate_64.mxcsr":           fxOffMXCSR,
		"off _fpstate_64.mxcsr_mask":      fxOffMXCSRMask,
		"off _fpstate_64.st_space":        32,
		"off _fpstate_64.xmm_space":       fxOffXMM,
		"off _fpstate_64.sw_reserved":     fxOffSW,
		"off _xstate.xstate_hdr":          xhOffXstateBV,
		"off _xstate.ymmh":                xhEnd,
		"off _header.xfeatures":           xhOffXstateBV - fxSize,

		"size struct rt_sigframe_64": frameSize,
		"size struct ucontext":       ucSize,
		"size struct sigcontext":     scSize,
		"size siginfo_t":             SignalInfoSize,
		"size stack_t":               SignalStackSize,
		"size struct _fpx_sw_bytes":  swSize,
		"size struct _fpstate_64":    fxSize,
		"size struct _header":        xhEnd - fxSize,
		"off stack_t.ss_sp":          0,
		"off stack_t.ss_flags":       8,
		"off stack_t.ss_size":        16,

		"const FP_XSTATE_MAGIC1":      FP_XSTATE_MAGIC1,
		"const FP_XSTATE_MAGIC2":      FP_XSTATE_MAGIC2,
		"const FP_XSTATE_MAGIC2_SIZE": FP_XSTATE_MAGIC2_SIZE,
		"const UC_FP_XSTATE":          UC_FP_XSTATE,
		"const UC_SIGCONTEXT_SS":      UC_SIGCONTEXT_SS,
		"const UC_STRICT_RESTORE_SS":  UC_STRICT_RESTORE_SS,
		"const SA_NOCLDSTOP":          SA_NOCLDSTOP,
		"const SA_NOCLDWAIT":          SA_NOCLDWAIT,
		"const SA_SIGINFO":            SA_SIGINFO,
		"const SA_RESTORER":           SA_RESTORER,
		"const SA_ONSTACK":            SA_ONSTACK,
		"const SA_RESTART":            SA_RESTART,
		"const SA_NODEFER":            SA_NODEFER,
		"const SA_RESETHAND":          SA_RESETHAND,
		"const SS_ONSTACK":            SS_ONSTACK,
		"const SS_DISABLE":            SS_DISABLE,
		"const SS_AUTODISARM":         SS_AUTODISARM,
		"const MINSIGSTKSZ":           MINSIGSTKSZ,
		"const SI_USER":               SI_USER,
		"const SI_KERNEL":             SI_KERNEL,
		"const SI_QUEUE":              SI_QUEUE,
		"const SI_TIMER":              SI_TIMER,
		"const SI_MESGQ":              SI_MESGQ,
		"const SI_ASYNCIO":            SI_ASYNCIO,
		"const SI_SIGIO":              SI_SIGIO,
		"const SI_TKILL":              SI_TKILL,
		"const SI_DETHREAD":           SI_DETHREAD,
		"const SI_ASYNCNL":            SI_ASYNCNL,
		"const ILL_ILLOPC":            ILL_ILLOPC,
		"const ILL_ILLOPN":            ILL_ILLOPN,
		"const ILL_ILLADR":            ILL_ILLADR,
		"const ILL_ILLTRP":            ILL_ILLTRP,
		"const ILL_PRVOPC":            ILL_PRVOPC,
		"const ILL_PRVREG":            ILL_PRVREG,
		"const ILL_COPROC":            ILL_COPROC,
		"const ILL_BADSTK":            ILL_BADSTK,
		"const FPE_INTDIV":            FPE_INTDIV,
		"const FPE_INTOVF":            FPE_INTOVF,
		"const FPE_FLTDIV":            FPE_FLTDIV,
		"const FPE_FLTOVF":            FPE_FLTOVF,
		"const FPE_FLTUND":            FPE_FLTUND,
		"const FPE_FLTRES":            FPE_FLTRES,
		"const FPE_FLTINV":            FPE_FLTINV,
		"const FPE_FLTSUB":            FPE_FLTSUB,
		"const SEGV_MAPERR":           SEGV_MAPERR,
		"const SEGV_ACCERR":           SEGV_ACCERR,
		"const SEGV_BNDERR":           SEGV_BNDERR,
		"const SEGV_PKUERR":           SEGV_PKUERR,
		"const BUS_ADRALN":            BUS_ADRALN,
		"const BUS_ADRERR":            BUS_ADRERR,
		"const BUS_OBJERR":            BUS_OBJERR,
		"const BUS_MCEERR_AR":         BUS_MCEERR_AR,
		"const BUS_MCEERR_AO":         BUS_MCEERR_AO,
		"const TRAP_BRKPT":            TRAP_BRKPT,
		"const TRAP_TRACE":            TRAP_TRACE,
		"const TRAP_BRANCH":           TRAP_BRANCH,
		"const TRAP_HWBKPT":           TRAP_HWBKPT,
		"const CLD_EXITED":            CLD_EXITED,
		"const CLD_KILLED":            CLD_KILLED,
		"const CLD_DUMPED":            CLD_DUMPED,
		"const CLD_TRAPPED":           CLD_TRAPPED,
		"const CLD_STOPPED":           CLD_STOPPED,
		"const CLD_CONTINUED":         CLD_CONTINUED,
		"const POLL_IN":               POLL_IN,
		"const POLL_OUT":              POLL_OUT,
		"const POLL_MSG":              POLL_MSG,
		"const POLL_ERR":              POLL_ERR,
		"const POLL_PRI":              POLL_PRI,
		"const POLL_HUP":              POLL_HUP,
		"const SYS_SECCOMP":           SYS_SECCOMP,
		"const SYS_USER_DISPATCH":     SYS_USER_DISPATCH,
		"const AUDIT_ARCH_X86_64":     AUDIT_ARCH_X86_64,
	}

	si := func(signo, errno, code int32, fill func(*SignalInfo)) []byte {
		s := SignalInfo{Signo: signo, Errno: errno, Code: code}
		fill(&s)
		b := make([]byte, SignalInfoSize)
		s.Marshal(b)
		return b
	}
	wantBytes := map[string][]byte{
		"kill": si(10, 3, SI_USER, func(s *SignalInfo) { s.SetPID(1234); s.SetUID(0xfffffffe) }),
		"timer": si(34, 0, SI_TIMER, func(s *SignalInfo) {
			s.SetTimerID(7)
			s.SetOverrun(3)
			s.SetValue(0x1122334455667788)
		}),
		"rt": si(35, 0, SI_QUEUE, func(s *SignalInfo) {
			s.SetPID(99)
			s.SetUID(1000)
			s.SetValue(uint64(uint32(0xfffffffb))) // sival_int -5
		}),
		"chld": si(17, 0, CLD_EXITED, func(s *SignalInfo) {
			s.SetPID(4321)
			s.SetUID(7)
			s.SetStatus(42)
			s.SetUtime(100)
			s.SetStime(-2)
		}),
		"fault": si(11, 0, SEGV_ACCERR, func(s *SignalInfo) { s.SetAddr(0xdeadbeef000) }),
		"poll":  si(29, 0, POLL_IN, func(s *SignalInfo) { s.SetBand(0x41); s.SetFD(6) }),
		"sys": si(31, 1, SYS_SECCOMP, func(s *SignalInfo) {
			s.SetCallAddr(0x401002)
			s.SetSyscall(59)
			s.SetArch(AUDIT_ARCH_X86_64)
		}),
	}
	st := SignalStack{Addr: 0x7f0000001000, Flags: SS_AUTODISARM, Size: 65536}
	wantBytes["stack"] = make([]byte, SignalStackSize)
	st.Marshal(wantBytes["stack"])

	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		key, val := line[:i], line[i+1:]
		seen[key] = true
		if name, ok := strings.CutPrefix(key, "bytes "); ok {
			got, err := hex.DecodeString(val)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			w, ok := wantBytes[name]
			if !ok {
				t.Errorf("no Go encoding for C %s", name)
				continue
			}
			if !bytes.Equal(got, w) {
				t.Errorf("%s: C has\n%x\nGo has\n%x", name, got, w)
			}
			// And back.
			if name != "stack" {
				var s SignalInfo
				s.Unmarshal(got)
				again := make([]byte, SignalInfoSize)
				s.Marshal(again)
				if !bytes.Equal(again, got) {
					t.Errorf("%s: Unmarshal/Marshal changed the bytes", name)
				}
			} else {
				var s SignalStack
				s.Unmarshal(got)
				if s != st {
					t.Errorf("stack: Unmarshal gives %+v, want %+v", s, st)
				}
			}
			continue
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		w, ok := want[key]
		if !ok {
			t.Errorf("C prints %q, which the test does not check", key)
			continue
		}
		if n != w {
			t.Errorf("%s: Linux has %d, Go has %d", key, n, w)
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("C does not print %q", k)
		}
	}
	for k := range wantBytes {
		if !seen["bytes "+k] {
			t.Errorf("C does not print bytes %q", k)
		}
	}
}
