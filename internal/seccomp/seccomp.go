package seccomp

import (
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Action is what a filter does with a call: one of the SECCOMP_RET_*
// values, with its data.
type Action uint32

const (
	Allow = Action(unix.SECCOMP_RET_ALLOW)
	// KillProcess kills the whole process with SIGSYS: what confined
	// processes give every call they do not list.
	KillProcess = Action(unix.SECCOMP_RET_KILL_PROCESS)
	// Trap sends SIGSYS to the calling thread; a Go program crashes with
	// a traceback that names the call site (for finding a missing rule).
	Trap = Action(unix.SECCOMP_RET_TRAP)
	// Log lets the call through and has the host kernel log it (dmesg:
	// "audit: type=1326 ... syscall=N"), for learning a list.
	Log = Action(unix.SECCOMP_RET_LOG)
)

// Errno fails a call with errno instead of making it.
func Errno(errno unix.Errno) Action {
	return Action(unix.SECCOMP_RET_ERRNO | uint32(errno)&unix.SECCOMP_RET_DATA)
}

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case KillProcess:
		return "kill"
	case Trap:
		return "trap"
	case Log:
		return "log"
	}
	if uint32(a)&unix.SECCOMP_RET_ACTION_FULL == unix.SECCOMP_RET_ERRNO {
		errno := unix.Errno(uint32(a) & unix.SECCOMP_RET_DATA)
		if name := unix.ErrnoName(errno); name != "" {
			return "errno " + name
		}
		return fmt.Sprintf("errno %d", uint32(errno))
	}
	return fmt.Sprintf("action %#x", uint32(a))
}

// Rule lets one system call through, or answers it with Action, when
// all of its Checks hold. Rules of the same call are alternatives, tried
// in order.
type Rule struct {
	Nr uint32
	// Name is the call's name, for people (Describe, errors).
	Name   string
	Checks []Check
	// Action is what a matching call gets; zero means Allow (rule lists
	// are mostly allowances, and zero, SECCOMP_RET_KILL_THREAD, would
	// leave a Go process half dead).
	Action Action
}

func (r Rule) action() Action {
	if r.Action == 0 {
		return Allow
	}
	return r.Action
}

// Check holds when the low 32 bits of argument Arg, masked with Mask,
// are one of Values; with AnyBit, when they have any bit of Mask set.
//
// Only the low 32 bits: the arguments worth checking are int-sized in
// the host kernel's own signature (descriptors, pids, signals, flags,
// ioctl and prctl numbers), which it truncates itself, or compared there
// in full against small constants (ptrace's request), so that high bits
// only make the call fail.
type Check struct {
	Arg    int
	Mask   uint32
	Values []uint32
	AnyBit bool
}

// ArgIs checks that argument arg is v.
func ArgIs(arg int, v uint32) Check { return ArgIn(arg, v) }

// ArgIn checks that argument arg is one of vals.
func ArgIn(arg int, vals ...uint32) Check {
	return Check{Arg: arg, Mask: ^uint32(0), Values: vals}
}

// ArgMasked checks that argument arg, masked with mask, is one of vals.
func ArgMasked(arg int, mask uint32, vals ...uint32) Check {
	return Check{Arg: arg, Mask: mask, Values: vals}
}

// ArgHasAny checks that argument arg has one of bits set.
func ArgHasAny(arg int, bits uint32) Check { return Check{Arg: arg, Mask: bits, AnyBit: true} }

func (c Check) String() string {
	arg := fmt.Sprintf("arg%d", c.Arg)
	if c.AnyBit {
		return fmt.Sprintf("%s&%#x != 0", arg, c.Mask)
	}
	if c.Mask != ^uint32(0) {
		arg = fmt.Sprintf("%s&%#x", arg, c.Mask)
	}
	if len(c.Values) == 1 {
		return fmt.Sprintf("%s == %#x", arg, c.Values[0])
	}
	vals := make([]string, len(c.Values))
	for i, v := range c.Values {
		vals[i] = fmt.Sprintf("%#x", v)
	}
	return fmt.Sprintf("%s in {%s}", arg, strings.Join(vals, ", "))
}

func (c Check) valid() bool {
	if c.Arg < 0 || c.Arg > 5 {
		return false
	}
	if c.AnyBit {
		return c.Mask != 0 && len(c.Values) == 0
	}
	return len(c.Values) > 0 && len(c.Values) <= maxValues
}

// maxValues bounds a check's alternatives, so that a rule's jumps (8
// bits) stay short.
const maxValues = 32

// Offsets in struct seccomp_data (linux/seccomp.h): nr, arch,
// instruction_pointer, args[6]. An argument's low word comes first on
// the little-endian architectures we build for.
const (
	dataNr   = 0
	dataArch = 4
	dataSize = 64
)

func dataArgLow(i int) uint32 { return 16 + 8*uint32(i) }

// Classic BPF opcodes (linux/bpf_common.h).
const (
	bpfLdAbs  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfAndK   = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	bpfJeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJsetK  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	bpfRetK   = unix.BPF_RET | unix.BPF_K
	bpfMaxLen = 4096 // BPF_MAXINSNS
)

// X32SyscallBit marks the x32 ABI's system call numbers, which come with
// AUDIT_ARCH_X86_64 too: a program for x86-64 turns them away.
const X32SyscallBit = 0x40000000

// Program assembles rules into a filter for arch (an AUDIT_ARCH_* value,
// NativeArch for this process): the architecture check, one block per
// rule tried in order, and otherwise for every call no rule lets
// through, a call of another architecture or ABI included.
func Program(arch uint32, rules []Rule, otherwise Action) ([]unix.SockFilter, error) {
	if arch == 0 {
		return nil, fmt.Errorf("seccomp: no architecture (none is known on %s)", runtime.GOARCH)
	}
	prog := []unix.SockFilter{
		{Code: bpfLdAbs, K: dataArch},
		{Code: bpfJeqK, Jt: 1, Jf: 0, K: arch},
		{Code: bpfRetK, K: uint32(otherwise)},
		{Code: bpfLdAbs, K: dataNr},
	}
	if arch == unix.AUDIT_ARCH_X86_64 {
		prog = append(prog,
			unix.SockFilter{Code: bpfJsetK, Jt: 0, Jf: 1, K: X32SyscallBit},
			unix.SockFilter{Code: bpfRetK, K: uint32(otherwise)})
	}
	for _, r := range rules {
		block, err := ruleBlock(r)
		if err != nil {
			return nil, err
		}
		prog = append(prog, block...)
	}
	prog = append(prog, unix.SockFilter{Code: bpfRetK, K: uint32(otherwise)})
	if len(prog) > bpfMaxLen {
		return nil, fmt.Errorf("seccomp: a filter of %d instructions, more than the host takes (%d)", len(prog), bpfMaxLen)
	}
	return prog, nil
}

// ruleBlock is one rule's instructions. On entry the accumulator holds
// the call's number, and it holds it again wherever the block is left
// for the next one: past its end when the number differs, at its last
// instruction (a reload) when a check fails.
//
//	jeq nr, 0, <next block>
//	ld arg; [and mask]; jeq v1, <next check>; jeq v2...; else <reload>
//	ld arg; jset bits, <next check>, <reload>
//	ret action
//	ld nr          (only with checks: where a failed check lands)
func ruleBlock(r Rule) ([]unix.SockFilter, error) {
	// The checks first, their failing jumps to the reload as
	// placeholders, since the block's length is not known yet.
	const reload = 0xff
	var body []unix.SockFilter
	for _, c := range r.Checks {
		if !c.valid() {
			return nil, fmt.Errorf("seccomp rule %s: bad check %+v", r.Name, c)
		}
		body = append(body, unix.SockFilter{Code: bpfLdAbs, K: dataArgLow(c.Arg)})
		if c.AnyBit {
			body = append(body, unix.SockFilter{Code: bpfJsetK, Jt: 0, Jf: reload, K: c.Mask})
			continue
		}
		if c.Mask != ^uint32(0) {
			body = append(body, unix.SockFilter{Code: bpfAndK, K: c.Mask})
		}
		for i, v := range c.Values {
			// A match jumps over the remaining comparisons to the next
			// check; the last one failing fails the rule.
			ins := unix.SockFilter{Code: bpfJeqK, Jt: uint8(len(c.Values) - 1 - i), K: v}
			if i == len(c.Values)-1 {
				ins.Jf = reload
			}
			body = append(body, ins)
		}
	}
	n := 1 + len(body) + 1 // jeq nr, body, ret action
	if len(r.Checks) > 0 {
		n++ // ld nr
	}
	if n-1 > 0xff {
		return nil, fmt.Errorf("seccomp rule %s is too long", r.Name)
	}
	block := make([]unix.SockFilter, 0, n)
	block = append(block, unix.SockFilter{Code: bpfJeqK, Jt: 0, Jf: uint8(n - 1), K: r.Nr})
	for i, ins := range body {
		at := 1 + i
		if ins.Jf == reload {
			ins.Jf = uint8(n - 1 - (at + 1))
		}
		block = append(block, ins)
	}
	block = append(block, unix.SockFilter{Code: bpfRetK, K: uint32(r.action())})
	if len(r.Checks) > 0 {
		block = append(block, unix.SockFilter{Code: bpfLdAbs, K: dataNr})
	}
	return block, nil
}
