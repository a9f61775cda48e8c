package strace

import (
	"math/bits"
	"strconv"
	"strings"
)

// signalNames are the x86-64 signals by number, without "SIG".
var signalNames = [...]string{
	1: "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1",
	"SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP",
	"TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR",
	"SYS", "RTMIN",
}

const (
	sigRTMin = 32
	sigRTMax = 64
)

// sigName names a signal without its "SIG" prefix, as strace does in sets;
// real-time signals past SIGRTMIN are "RT_n". It returns "" for numbers
// that are not signals.
func sigName(sig uint64) string {
	switch {
	case sig > 0 && sig < uint64(len(signalNames)):
		return signalNames[sig]
	case sig > sigRTMin && sig <= sigRTMax:
		return "RT_" + strconv.FormatUint(sig-sigRTMin, 10)
	}
	return ""
}

// signalString prints a signal argument: "SIGINT", "SIGRT_3", or the
// number for anything else (0 for kill's existence check).
func signalString(sig uint64) string {
	if n := sigName(sig); n != "" {
		return "SIG" + n
	}
	return strconv.FormatInt(int64(int32(sig)), 10)
}

// sigmaskString prints a signal set of nbytes bytes as strace does:
// "[INT TERM]", or, when at least two thirds of the bits are set, the
// complement "~[RTMIN RT_1]". Linux: strace's sprintsigmask_n().
func sigmaskString(mask uint64, nbytes int) string {
	nbits := nbytes * 8
	if nbits < 64 {
		mask &= 1<<nbits - 1
	}
	// strace counts in 32-bit words.
	words := (nbytes + 3) / 4
	var b strings.Builder
	if bits.OnesCount64(mask) >= words*32*2/3 {
		b.WriteByte('~')
		mask = ^mask
		if words < 2 {
			mask &= 1<<32 - 1
		}
	}
	b.WriteByte('[')
	first := true
	for i := 0; i < 64; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		if n := sigName(uint64(i + 1)); n != "" {
			b.WriteString(n)
		} else {
			b.WriteString(strconv.Itoa(i + 1))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// sigset prints a pointer to a sigset_t of size bytes, as
// rt_sigprocmask takes it. strace prints the pointer for any size but the
// kernel's (8), which is also the only one the kernel accepts.
func (c *call) sigset(addr uintptr, size uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if size != 8 {
		return ptr(addr)
	}
	m, ok := c.readU64(addr)
	if !ok {
		return ptr(addr)
	}
	return sigmaskString(m, int(size))
}

var sigprocmaskHow = xlat{{0, "SIG_BLOCK"}, {1, "SIG_UNBLOCK"}, {2, "SIG_SETMASK"}}

var sigactionFlags = xlat{
	{0x04000000, "SA_RESTORER"},
	{0x08000000, "SA_ONSTACK"},
	{0x10000000, "SA_RESTART"},
	{0x20000000, "SA_INTERRUPT"},
	{0x40000000, "SA_NODEFER"},
	{0x80000000, "SA_RESETHAND"},
	{0x4, "SA_SIGINFO"},
	{0x1, "SA_NOCLDSTOP"},
	{0x2, "SA_NOCLDWAIT"},
}

const saRestorer = 0x04000000

// sigaction prints a struct kernel_sigaction (handler, flags, restorer,
// mask; the mask's size is rt_sigaction's last argument).
func (c *call) sigaction(addr uintptr, size uint64) string {
	if addr == 0 {
		return "NULL"
	}
	var b [32]byte
	if size != 8 || !c.read(addr, b[:]) {
		return ptr(addr)
	}
	handler, flags, restorer, mask := le64(b[:], 0), le64(b[:], 8), le64(b[:], 16), le64(b[:], 24)
	var h string
	switch handler {
	case 0:
		h = "SIG_DFL"
	case 1:
		h = "SIG_IGN"
	default:
		h = hex(handler)
	}
	s := "{sa_handler=" + h + ", sa_mask=" + sigmaskString(mask, 8) +
		", sa_flags=" + sigactionFlags.flags(flags, "SA_???")
	if flags&saRestorer != 0 {
		s += ", sa_restorer=" + ptr(uintptr(restorer))
	}
	return s + "}"
}

// stackT prints a stack_t (sigaltstack).
func (c *call) stackT(addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	var b [24]byte
	if !c.read(addr, b[:]) {
		return ptr(addr)
	}
	return "{ss_sp=" + ptr(uintptr(le64(b[:], 0))) +
		", ss_flags=" + sigaltstackFlags.flags(uint64(le32(b[:], 8)), "SS_???") +
		", ss_size=" + udec(le64(b[:], 16)) + "}"
}
