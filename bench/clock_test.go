package bench

import "testing"

// BenchmarkClockGettime times clock_gettime(CLOCK_MONOTONIC) through the
// C library: natively the host's vDSO answers; in the sandbox, the
// sandbox's vDSO, from its vvar page without a system call, or by a
// system call (a ptrace round trip) where it cannot. The sandbox's
// iterations are capped for the case where every call traps.
func BenchmarkClockGettime(b *testing.B) {
	b.Run("native", func(b *testing.B) { runProbe(b, "clock", "", min(max(b.N, 10000), 10000000)) })
	b.Run("magawa-ptrace", func(b *testing.B) { runProbe(b, "clock", "ptrace", min(max(b.N, 1000), 1000000)) })
}
