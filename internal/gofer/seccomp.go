package gofer

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// The gofer's seccomp filter: once confined, and before it serves, the
// gofer allows itself only the system calls a file server and the Go
// runtime need (seccompRules, per architecture), with a few arguments
// checked, and is killed (SECCOMP_RET_KILL_PROCESS) by anything else: a
// gofer taken over through a bug in its request handling cannot mount,
// trace, exec, open sockets or send signals to others. The filter covers
// every thread (SECCOMP_FILTER_FLAG_TSYNC; threads made later inherit
// it) and checks the architecture first, so a call through another ABI
// (the 32-bit int 0x80 one, x32's numbers) is killed as well. The
// program is classic BPF, built here without cgo or libseccomp.
//
// Finding the list: strace -f of gofer processes during the gofer tests
// and the end-to-end tests, plus what the runtime does only now and then
// (threads coming and going, preemption signals, the scavenger, the
// cgroup CPU limit it re-reads). A call missing from the list shows as a
// gofer killed by SIGSYS (the client's requests then fail with EIO); the
// kernel logs each kill (dmesg: "audit: type=1326 ... sig=31 ...
// syscall=N"), and strace -f of the gofer shows the call it died in.
// TestSeccompProgram checks the filter's decisions, TestSeccompKills that
// the runtime and a server live under it and that forbidden calls kill,
// and every test of a confined gofer runs with it.

// seccompAction is what a rule does with a matching call.
type seccompAction uint32

const (
	seccompAllow = seccompAction(unix.SECCOMP_RET_ALLOW)
	seccompKill  = seccompAction(unix.SECCOMP_RET_KILL_PROCESS)
)

// seccompErrno fails a call with errno instead.
func seccompErrno(errno unix.Errno) seccompAction {
	return seccompAction(unix.SECCOMP_RET_ERRNO | uint32(errno)&unix.SECCOMP_RET_DATA)
}

// seccompRule lets one system call through (or answers it with action),
// when all of its argument checks hold; the call is killed otherwise.
type seccompRule struct {
	nr     uint32
	name   string
	checks []argCheck
	action seccompAction // zero: seccompAllow
}

// argCheck holds when the low 32 bits of argument arg, masked with mask,
// are one of vals; with set, when they have any bit of mask set. Only
// the low 32 bits: the arguments checked are int-sized (descriptors,
// pids, flags, modes), which the kernel truncates itself.
type argCheck struct {
	arg  int
	mask uint32
	vals []uint32
	set  bool
}

// argIs checks that argument arg is v.
func argIs(arg int, v uint32) argCheck {
	return argCheck{arg: arg, mask: ^uint32(0), vals: []uint32{v}}
}

// argMasked checks that argument arg, masked, is one of vals.
func argMasked(arg int, mask uint32, vals ...uint32) argCheck {
	return argCheck{arg: arg, mask: mask, vals: vals}
}

// argHas checks that argument arg has one of bits.
func argHas(arg int, bits uint32) argCheck { return argCheck{arg: arg, mask: bits, set: true} }

// Offsets in struct seccomp_data (linux/seccomp.h): nr, arch,
// instruction_pointer, args[6]. The argument's low word comes first on
// the little-endian architectures we build for.
const (
	seccompDataNr   = 0
	seccompDataArch = 4
)

func seccompDataArgLow(i int) uint32 { return 16 + 8*uint32(i) }

// Classic BPF opcodes (linux/bpf_common.h).
const (
	bpfLdAbs  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfAndK   = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	bpfJeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJsetK  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	bpfRetK   = unix.BPF_RET | unix.BPF_K
	bpfMaxLen = 4096 // BPF_MAXINSNS
)

// x32SyscallBit marks the x32 ABI's system call numbers, which come with
// AUDIT_ARCH_X86_64 too.
const x32SyscallBit = 0x40000000

// seccompProgram assembles rules into a filter for arch (an AUDIT_ARCH_*
// value): the architecture check, then one block per rule, tried in
// order with the call's number in the accumulator; no match kills.
func seccompProgram(arch uint32, rules []seccompRule) ([]unix.SockFilter, error) {
	kill := uint32(seccompKill)
	prog := []unix.SockFilter{
		{Code: bpfLdAbs, K: seccompDataArch},
		{Code: bpfJeqK, Jt: 1, Jf: 0, K: arch},
		{Code: bpfRetK, K: kill},
		{Code: bpfLdAbs, K: seccompDataNr},
		{Code: bpfJsetK, Jt: 0, Jf: 1, K: x32SyscallBit},
		{Code: bpfRetK, K: kill},
	}
	for _, r := range rules {
		block, err := ruleBlock(r)
		if err != nil {
			return nil, err
		}
		prog = append(prog, block...)
	}
	prog = append(prog, unix.SockFilter{Code: bpfRetK, K: kill})
	if len(prog) > bpfMaxLen {
		return nil, fmt.Errorf("seccomp filter of %d instructions", len(prog))
	}
	return prog, nil
}

// ruleBlock is one rule's instructions. On entry the accumulator holds
// the call's number; a call of another number jumps past the block with
// it still there. A matching call ends in the block: its action when
// every check holds, else killed.
//
//	jeq nr, 0, <past the block>
//	ld  arg; [and mask]; jeq v1, <ok>; jeq v2, <ok>... or jset; else kill
//	...
//	ret action
//	ret KILL      (only with checks)
func ruleBlock(r seccompRule) ([]unix.SockFilter, error) {
	action := r.action
	if action == 0 {
		action = seccompAllow
	}
	// Build the checks first, jumps to "ok" (the next check, or the
	// action) and "fail" (the kill at the end) as placeholders.
	const fail = 0xff
	var body []unix.SockFilter
	for _, c := range r.checks {
		if c.arg < 0 || c.arg > 5 || (len(c.vals) == 0 && !c.set) || len(c.vals) > 16 {
			return nil, fmt.Errorf("seccomp rule %s: bad check %+v", r.name, c)
		}
		body = append(body, unix.SockFilter{Code: bpfLdAbs, K: seccompDataArgLow(c.arg)})
		if c.set {
			// Any bit set: go on to the next check, else fail.
			body = append(body, unix.SockFilter{Code: bpfJsetK, Jt: 0, Jf: fail, K: c.mask})
			continue
		}
		if c.mask != ^uint32(0) {
			body = append(body, unix.SockFilter{Code: bpfAndK, K: c.mask})
		}
		for i, v := range c.vals {
			last := i == len(c.vals)-1
			// A match jumps over the remaining comparisons to the
			// next check; the last one failing fails.
			jt := uint8(len(c.vals) - 1 - i)
			var jf uint8
			if last {
				jf = fail
			}
			body = append(body, unix.SockFilter{Code: bpfJeqK, Jt: jt, Jf: jf, K: v})
		}
	}
	n := 1 + len(body) + 1 // jeq nr, body, ret action
	if len(r.checks) > 0 {
		n++ // ret KILL
	}
	if n-1 > 0xff {
		return nil, fmt.Errorf("seccomp rule %s is too long", r.name)
	}
	block := make([]unix.SockFilter, 0, n)
	block = append(block, unix.SockFilter{Code: bpfJeqK, Jt: 0, Jf: uint8(n - 1), K: r.nr})
	for i, ins := range body {
		at := 1 + i // index in the block
		if ins.Jf == fail {
			ins.Jf = uint8(n - 1 - (at + 1)) // to the ret KILL, the block's last
		}
		block = append(block, ins)
	}
	block = append(block, unix.SockFilter{Code: bpfRetK, K: uint32(action)})
	if len(r.checks) > 0 {
		block = append(block, unix.SockFilter{Code: bpfRetK, K: uint32(seccompKill)})
	}
	return block, nil
}
