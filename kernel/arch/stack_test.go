package arch

import "testing"

func TestSignalStack(t *testing.T) {
	s := SignalStack{Addr: 0x1000, Size: 0x2000}
	if !s.Enabled() || s.Top() != 0x3000 {
		t.Errorf("Enabled %v Top %#x", s.Enabled(), s.Top())
	}
	// The stack grows down: Top (empty) is on it, Addr (full) is not.
	for sp, want := range map[uint64]bool{0xfff: false, 0x1000: false, 0x1001: true, 0x2000: true, 0x3000: true, 0x3001: false, 0: false, ^uint64(0): false} {
		if got := s.Contains(sp); got != want {
			t.Errorf("Contains(%#x) = %v, want %v", sp, got, want)
		}
		if got := s.OnStack(sp); got != want {
			t.Errorf("OnStack(%#x) = %v, want %v", sp, got, want)
		}
	}
	a := s
	a.Flags = SS_AUTODISARM
	if !a.Enabled() || !a.Contains(0x2000) || a.OnStack(0x2000) {
		t.Error("SS_AUTODISARM: a stack in use must not count as being on it")
	}
	for _, d := range []SignalStack{{}, {Flags: SS_DISABLE}, {Addr: 0x1000, Size: 0x2000, Flags: SS_DISABLE}} {
		if d.Enabled() {
			t.Errorf("%+v enabled", d)
		}
	}
	if (SignalStack{Size: 0}).Contains(0) {
		t.Error("an empty stack contains 0")
	}
	// A stack that wraps around the address space: the arithmetic is
	// Linux's, so only its part below the wrap counts.
	w := SignalStack{Addr: ^uint64(0) - 0xf, Size: 0x20}
	if !w.Contains(^uint64(0)) || w.Contains(0x10) || w.Top() != 0x10 {
		t.Errorf("wrapping stack: Contains(max) %v Contains(0x10) %v Top %#x", w.Contains(^uint64(0)), w.Contains(0x10), w.Top())
	}
}

func TestSignalInfoAccessors(t *testing.T) {
	var s SignalInfo
	s.SetPID(-2)
	s.SetUID(5)
	s.SetValue(0x1122334455667788)
	if s.PID() != -2 || s.UID() != 5 || s.Value() != 0x1122334455667788 || s.TimerID() != -2 || s.Overrun() != 5 {
		t.Errorf("kill/rt/timer views: %+v", s)
	}
	s.SetStatus(9)
	s.SetUtime(-1)
	s.SetStime(7)
	if s.Status() != 9 || s.Utime() != -1 || s.Stime() != 7 {
		t.Errorf("SIGCHLD view: %+v", s)
	}
	s = SignalInfo{}
	s.SetCallAddr(0xabc)
	s.SetSyscall(-1)
	s.SetArch(AUDIT_ARCH_X86_64)
	if s.CallAddr() != 0xabc || s.Addr() != 0xabc || s.Syscall() != -1 || s.Arch() != AUDIT_ARCH_X86_64 {
		t.Errorf("SIGSYS view: %+v", s)
	}
	s = SignalInfo{}
	s.SetBand(-3)
	s.SetFD(4)
	if s.Band() != -3 || s.FD() != 4 {
		t.Errorf("SIGPOLL view: %+v", s)
	}
}
