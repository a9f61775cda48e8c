package arch

import "encoding/binary"

// SignalInfoSize is sizeof(siginfo_t).
const SignalInfoSize = 128

// SignalInfo is siginfo_t as Linux lays it out on 64-bit machines
// (include/uapi/asm-generic/siginfo.h): three ints, padding, then a
// 112-byte union whose members the methods below read and write. Which
// members are meaningful depends on the signal and Code; the methods do
// not check.
type SignalInfo struct {
	Signo int32 // si_signo
	Errno int32 // si_errno
	Code  int32 // si_code: one of the SI_* or per-signal codes below
	_     int32
	// Fields is the union _sifields, for members without a method.
	Fields [112]byte
}

// si_code values any signal may carry (Linux: include/uapi/asm-generic/siginfo.h).
const (
	SI_USER     = 0    // kill(2), raise(3)
	SI_KERNEL   = 0x80 // sent by the kernel
	SI_QUEUE    = -1   // sigqueue(3), rt_sigqueueinfo(2)
	SI_TIMER    = -2   // POSIX timer expiry
	SI_MESGQ    = -3   // POSIX message queue state change
	SI_ASYNCIO  = -4   // AIO completion
	SI_SIGIO    = -5   // queued SIGIO
	SI_TKILL    = -6   // tkill(2), tgkill(2)
	SI_DETHREAD = -7   // sent by execve() killing subsidiary threads
	SI_ASYNCNL  = -60  // getaddrinfo_a(3) completion
)

// SIGILL codes.
const (
	ILL_ILLOPC = 1 // illegal opcode
	ILL_ILLOPN = 2 // illegal operand
	ILL_ILLADR = 3 // illegal addressing mode
	ILL_ILLTRP = 4 // illegal trap
	ILL_PRVOPC = 5 // privileged opcode
	ILL_PRVREG = 6 // privileged register
	ILL_COPROC = 7 // coprocessor error
	ILL_BADSTK = 8 // internal stack error
)

// SIGFPE codes.
const (
	FPE_INTDIV = 1 // integer divide by zero
	FPE_INTOVF = 2 // integer overflow
	FPE_FLTDIV = 3 // floating-point divide by zero
	FPE_FLTOVF = 4 // floating-point overflow
	FPE_FLTUND = 5 // floating-point underflow
	FPE_FLTRES = 6 // floating-point inexact result
	FPE_FLTINV = 7 // floating-point invalid operation
	FPE_FLTSUB = 8 // subscript out of range
)

// SIGSEGV codes.
const (
	SEGV_MAPERR = 1 // address not mapped
	SEGV_ACCERR = 2 // invalid permissions for a mapped object
	SEGV_BNDERR = 3 // failed address bound checks
	SEGV_PKUERR = 4 // failed protection key checks
)

// SIGBUS codes.
const (
	BUS_ADRALN    = 1 // invalid address alignment
	BUS_ADRERR    = 2 // non-existent physical address (past the end of a file)
	BUS_OBJERR    = 3 // object-specific hardware error
	BUS_MCEERR_AR = 4 // hardware memory error, action required
	BUS_MCEERR_AO = 5 // hardware memory error, action optional
)

// SIGTRAP codes.
const (
	TRAP_BRKPT  = 1 // process breakpoint
	TRAP_TRACE  = 2 // process trace trap
	TRAP_BRANCH = 3 // process taken branch trap
	TRAP_HWBKPT = 4 // hardware breakpoint or watchpoint
)

// SIGCHLD codes.
const (
	CLD_EXITED    = 1 // child has exited
	CLD_KILLED    = 2 // child was killed
	CLD_DUMPED    = 3 // child terminated abnormally and dumped core
	CLD_TRAPPED   = 4 // traced child has trapped
	CLD_STOPPED   = 5 // child has stopped
	CLD_CONTINUED = 6 // stopped child has continued
)

// SIGPOLL (SIGIO) codes.
const (
	POLL_IN  = 1 // data input available
	POLL_OUT = 2 // output buffers available
	POLL_MSG = 3 // input message available
	POLL_ERR = 4 // I/O error
	POLL_PRI = 5 // high priority input available
	POLL_HUP = 6 // device disconnected
)

// SIGSYS codes.
const (
	SYS_SECCOMP       = 1 // seccomp triggered
	SYS_USER_DISPATCH = 2 // syscall user dispatch triggered
)

// AUDIT_ARCH_X86_64 is si_arch for a SIGSYS from a 64-bit system call
// (Linux: include/uapi/linux/audit.h).
const AUDIT_ARCH_X86_64 = 0xc000003e

// Offsets of the union members, from the start of the union.
const (
	sifPid      = 0  // kill, rt, sigchld: si_pid
	sifUID      = 4  // kill, rt, sigchld: si_uid
	sifTimerID  = 0  // timer: si_tid
	sifOverrun  = 4  // timer: si_overrun
	sifValue    = 8  // timer, rt: si_value (union sigval)
	sifStatus   = 8  // sigchld: si_status
	sifUtime    = 16 // sigchld: si_utime
	sifStime    = 24 // sigchld: si_stime
	sifAddr     = 0  // sigfault: si_addr
	sifBand     = 0  // sigpoll: si_band
	sifFD       = 8  // sigpoll: si_fd
	sifCallAddr = 0  // sigsys: si_call_addr
	sifSyscall  = 8  // sigsys: si_syscall
	sifArch     = 12 // sigsys: si_arch
)

var le = binary.LittleEndian

func (s *SignalInfo) u32(off int) uint32       { return le.Uint32(s.Fields[off:]) }
func (s *SignalInfo) setU32(off int, v uint32) { le.PutUint32(s.Fields[off:], v) }
func (s *SignalInfo) u64(off int) uint64       { return le.Uint64(s.Fields[off:]) }
func (s *SignalInfo) setU64(off int, v uint64) { le.PutUint64(s.Fields[off:], v) }

// PID is si_pid (kill, rt/queue and SIGCHLD layouts).
func (s *SignalInfo) PID() int32 { return int32(s.u32(sifPid)) }

// SetPID sets si_pid.
func (s *SignalInfo) SetPID(pid int32) { s.setU32(sifPid, uint32(pid)) }

// UID is si_uid (kill, rt/queue and SIGCHLD layouts).
func (s *SignalInfo) UID() uint32 { return s.u32(sifUID) }

// SetUID sets si_uid.
func (s *SignalInfo) SetUID(uid uint32) { s.setU32(sifUID, uid) }

// TimerID is si_tid, the kernel's id of a POSIX timer.
func (s *SignalInfo) TimerID() int32 { return int32(s.u32(sifTimerID)) }

// SetTimerID sets si_tid.
func (s *SignalInfo) SetTimerID(id int32) { s.setU32(sifTimerID, uint32(id)) }

// Overrun is si_overrun, a POSIX timer's overrun count.
func (s *SignalInfo) Overrun() int32 { return int32(s.u32(sifOverrun)) }

// SetOverrun sets si_overrun.
func (s *SignalInfo) SetOverrun(n int32) { s.setU32(sifOverrun, uint32(n)) }

// Value is si_value (union sigval: sival_int in its low 32 bits, or
// sival_ptr) of the timer and rt/queue layouts.
func (s *SignalInfo) Value() uint64 { return s.u64(sifValue) }

// SetValue sets si_value.
func (s *SignalInfo) SetValue(v uint64) { s.setU64(sifValue, v) }

// Status is si_status of SIGCHLD: the exit status for CLD_EXITED, the
// signal otherwise.
func (s *SignalInfo) Status() int32 { return int32(s.u32(sifStatus)) }

// SetStatus sets si_status.
func (s *SignalInfo) SetStatus(st int32) { s.setU32(sifStatus, uint32(st)) }

// Utime is si_utime of SIGCHLD, in clock ticks.
func (s *SignalInfo) Utime() int64 { return int64(s.u64(sifUtime)) }

// SetUtime sets si_utime.
func (s *SignalInfo) SetUtime(t int64) { s.setU64(sifUtime, uint64(t)) }

// Stime is si_stime of SIGCHLD, in clock ticks.
func (s *SignalInfo) Stime() int64 { return int64(s.u64(sifStime)) }

// SetStime sets si_stime.
func (s *SignalInfo) SetStime(t int64) { s.setU64(sifStime, uint64(t)) }

// Addr is si_addr of SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP.
func (s *SignalInfo) Addr() uint64 { return s.u64(sifAddr) }

// SetAddr sets si_addr.
func (s *SignalInfo) SetAddr(a uint64) { s.setU64(sifAddr, a) }

// Band is si_band of SIGPOLL: the POLL* events.
func (s *SignalInfo) Band() int64 { return int64(s.u64(sifBand)) }

// SetBand sets si_band.
func (s *SignalInfo) SetBand(b int64) { s.setU64(sifBand, uint64(b)) }

// FD is si_fd of SIGPOLL.
func (s *SignalInfo) FD() int32 { return int32(s.u32(sifFD)) }

// SetFD sets si_fd.
func (s *SignalInfo) SetFD(fd int32) { s.setU32(sifFD, uint32(fd)) }

// CallAddr is si_call_addr of SIGSYS: the address after the system call
// instruction.
func (s *SignalInfo) CallAddr() uint64 { return s.u64(sifCallAddr) }

// SetCallAddr sets si_call_addr.
func (s *SignalInfo) SetCallAddr(a uint64) { s.setU64(sifCallAddr, a) }

// Syscall is si_syscall of SIGSYS: the system call number.
func (s *SignalInfo) Syscall() int32 { return int32(s.u32(sifSyscall)) }

// SetSyscall sets si_syscall.
func (s *SignalInfo) SetSyscall(nr int32) { s.setU32(sifSyscall, uint32(nr)) }

// Arch is si_arch of SIGSYS: an AUDIT_ARCH_* value.
func (s *SignalInfo) Arch() uint32 { return s.u32(sifArch) }

// SetArch sets si_arch.
func (s *SignalInfo) SetArch(a uint32) { s.setU32(sifArch, a) }

// Marshal writes s in its Linux layout into b, which must hold
// SignalInfoSize bytes.
func (s *SignalInfo) Marshal(b []byte) {
	_ = b[SignalInfoSize-1]
	le.PutUint32(b[0:], uint32(s.Signo))
	le.PutUint32(b[4:], uint32(s.Errno))
	le.PutUint32(b[8:], uint32(s.Code))
	le.PutUint32(b[12:], 0)
	copy(b[16:SignalInfoSize], s.Fields[:])
}

// Unmarshal reads s from its Linux layout in b, which must hold
// SignalInfoSize bytes.
func (s *SignalInfo) Unmarshal(b []byte) {
	_ = b[SignalInfoSize-1]
	s.Signo = int32(le.Uint32(b[0:]))
	s.Errno = int32(le.Uint32(b[4:]))
	s.Code = int32(le.Uint32(b[8:]))
	copy(s.Fields[:], b[16:SignalInfoSize])
}
