package bench

import "testing"

// The network benchmarks: TCP over the loopback interface, natively
// (the host's stack) and in the sandbox (netstack, in the sandbox
// process). Across a veth: TestSandboxNetwork's setup, measured by hand
// for now (see the closing note of #6).
func BenchmarkTCPRoundTrip(b *testing.B) {
	b.Run("native", func(b *testing.B) { runProbe(b, "tcprtt", "", min(max(b.N, 1000), 100000)) })
	b.Run("magawa-ptrace", func(b *testing.B) { runProbe(b, "tcprtt", "ptrace", min(max(b.N, 100), 2000)) })
}

// BenchmarkTCPBandwidth moves 256 MiB over a TCP connection in 64 KiB
// writes.
func BenchmarkTCPBandwidth(b *testing.B) {
	for _, platform := range []string{"", "ptrace"} {
		name := "native"
		if platform != "" {
			name = "magawa-" + platform
		}
		b.Run(name, func(b *testing.B) {
			b.ReportMetric(probeOutput(b, "tcpbw", platform, "256")[0], "MB/s")
		})
	}
}
