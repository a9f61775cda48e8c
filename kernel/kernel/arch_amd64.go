package kernel

import (
	"golang.org/x/sys/cpu"

	"magawa/kernel/platform"
)

// x86-64 user segment selectors (Linux: arch/x86/include/asm/segment.h).
const (
	userCS = 0x33
	userDS = 0x2b
	// eflagsInitial has IF and the always-one bit 1 set.
	eflagsInitial = 0x202
)

// clockTicks is USER_HZ, the unit of times() and /proc's tick counts.
const clockTicks = 100

// minSigStackSize is AT_MINSIGSTKSZ: a signal frame with the full XSAVE
// area must fit.
const minSigStackSize = 4096

// initialRegisters is the register state at a new program's entry.
func initialRegisters(entry, sp uintptr) platform.Registers {
	return platform.Registers{
		Rip:    uint64(entry),
		Rsp:    uint64(sp),
		Cs:     userCS,
		Ss:     userDS,
		Eflags: eflagsInitial,
	}
}

// hwcap is AT_HWCAP on x86-64: the EDX word of CPUID leaf 1.
func hwcap() uint64 {
	// golang.org/x/sys/cpu does not export raw CPUID; the bits programs
	// read from AT_HWCAP on x86-64 are the long-standing leaf-1 EDX
	// features, all present on any x86-64 CPU (fpu..sse2).
	var v uint64 = 0x078bfbff
	if !cpu.X86.HasSSE2 {
		v &^= 1 << 26
	}
	return v
}
