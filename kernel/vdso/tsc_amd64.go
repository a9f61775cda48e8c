package vdso

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// ReadTSC returns the time-stamp counter, ordered with the instructions
// around it (tsc_amd64.s).
func ReadTSC() uint64

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// InvariantTSC reports whether the host's TSC runs at a constant rate
// in every P-, C- and T-state, so that the vvar page's clocks may count
// it: CPUID 0x80000007 EDX bit 8, or, as a hypervisor may hide that bit
// from a guest whose kernel vouches for the TSC anyway, both
// "constant_tsc" and "nonstop_tsc" among /proc/cpuinfo's flags. why
// says what decided. Linux: arch/x86/kernel/cpu/intel.c and amd.c,
// X86_FEATURE_CONSTANT_TSC and X86_FEATURE_NONSTOP_TSC.
func InvariantTSC() (ok bool, why string) {
	if maxExt, _, _, _ := cpuid(0x8000_0000, 0); maxExt >= 0x8000_0007 {
		if _, _, _, d := cpuid(0x8000_0007, 0); d&(1<<8) != 0 {
			return true, "CPUID 0x80000007 EDX[8] (invariant TSC)"
		}
	}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false, "no invariant TSC in CPUID, and /proc/cpuinfo unreadable"
	}
	if cpuinfoHasFlags(string(b), "constant_tsc", "nonstop_tsc") {
		return true, "/proc/cpuinfo flags constant_tsc nonstop_tsc"
	}
	return false, "no invariant TSC (CPUID 0x80000007 EDX[8], /proc/cpuinfo constant_tsc nonstop_tsc)"
}

// cpuinfoHasFlags reports whether the first "flags" line of a
// /proc/cpuinfo text lists every flag.
func cpuinfoHasFlags(cpuinfo string, flags ...string) bool {
	for _, line := range strings.Split(cpuinfo, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) != "flags" {
			continue
		}
		have := map[string]bool{}
		for _, f := range strings.Fields(value) {
			have[f] = true
		}
		for _, f := range flags {
			if !have[f] {
				return false
			}
		}
		return true
	}
	return false
}

// hostTries is how many times SampleHost reads each clock, keeping the
// reading with the narrowest TSC bracket.
const hostTries = 3

// SampleHost reads the host clocks the vvar page serves, each between
// two TSC readings, then the TSC once more: the sample's reference.
func SampleHost() Sample {
	s := Sample{
		Monotonic: readHost(unix.CLOCK_MONOTONIC),
		Raw:       readHost(unix.CLOCK_MONOTONIC_RAW),
		Realtime:  readHost(unix.CLOCK_REALTIME),
		Boottime:  readHost(unix.CLOCK_BOOTTIME),
		TAI:       readHost(unix.CLOCK_TAI),
	}
	s.TSC = ReadTSC()
	return s
}

// readHost reads host clock id: the value is taken to be the clock's at
// the middle of its bracket.
func readHost(id int32) Reading {
	var best Reading
	for range hostTries {
		var ts unix.Timespec
		a := ReadTSC()
		err := unix.ClockGettime(id, &ts)
		b := ReadTSC()
		if err != nil {
			return Reading{}
		}
		if b < a {
			continue
		}
		if span := b - a; !best.OK || span < best.Span {
			best = Reading{TSC: a + span/2, Ns: ts.Nano(), Span: span, OK: true}
		}
	}
	return best
}
