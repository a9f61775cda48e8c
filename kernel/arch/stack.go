package arch

// SignalStackSize is sizeof(stack_t).
const SignalStackSize = 24

// ss_flags values (Linux: include/uapi/linux/signal.h).
const (
	SS_ONSTACK    = 1       // reported: the thread is running on the stack
	SS_DISABLE    = 2       // the stack is disabled
	SS_AUTODISARM = 1 << 31 // disable the stack while a handler runs on it
)

// MINSIGSTKSZ is the smallest stack sigaltstack(2) accepts.
const MINSIGSTKSZ = 2048

// SignalStack is stack_t, a thread's alternate signal stack.
//
// As the kernel stores it for a thread it holds what Linux keeps in
// sas_ss_sp, sas_ss_size and sas_ss_flags: Addr and Size as set (both 0
// when disabled) and Flags as last passed to sigaltstack(2) (0 for a
// thread that never called it, SS_DISABLE after disabling, otherwise 0 or
// SS_AUTODISARM, possibly with SS_ONSTACK if the application passed it).
// SetupFrame copies that value into uc_stack unchanged, as Linux does.
type SignalStack struct {
	Addr  uint64 // ss_sp: lowest address
	Flags uint32 // ss_flags
	_     uint32
	Size  uint64 // ss_size
}

// Enabled reports whether signals may be delivered on the stack.
// Linux: sas_ss_flags(), which looks at the size only.
func (s SignalStack) Enabled() bool { return s.Size != 0 && s.Flags&SS_DISABLE == 0 }

// Top is the address just above the stack, where a frame built on it
// starts.
func (s SignalStack) Top() uint64 { return s.Addr + s.Size }

// Contains reports whether a stack pointer sp is inside the stack. The
// stack grows down, so sp == Top() (empty stack) is inside and sp == Addr
// (full) is not. Linux: __on_sig_stack().
func (s SignalStack) Contains(sp uint64) bool {
	return sp > s.Addr && sp-s.Addr <= s.Size
}

// OnStack reports whether a thread whose stack pointer is sp counts as
// running on the stack: Contains, except that a stack with SS_AUTODISARM
// never does (it is disarmed while used, so being "on" it again means the
// application set it up that way). Linux: on_sig_stack().
func (s SignalStack) OnStack(sp uint64) bool {
	return s.Flags&SS_AUTODISARM == 0 && s.Contains(sp)
}

// Marshal writes s in its Linux layout into b, which must hold
// SignalStackSize bytes.
func (s *SignalStack) Marshal(b []byte) {
	_ = b[SignalStackSize-1]
	le.PutUint64(b[0:], s.Addr)
	le.PutUint32(b[8:], s.Flags)
	le.PutUint32(b[12:], 0)
	le.PutUint64(b[16:], s.Size)
}

// Unmarshal reads s from its Linux layout in b, which must hold
// SignalStackSize bytes.
func (s *SignalStack) Unmarshal(b []byte) {
	_ = b[SignalStackSize-1]
	s.Addr = le.Uint64(b[0:])
	s.Flags = le.Uint32(b[8:])
	s.Size = le.Uint64(b[16:])
}
