package bench

import "testing"

// The network benchmarks: TCP over the loopback interface, natively
// (the host's stack), in the sandbox (netstack, in the sandbox process;
// magawa-ptrace), in the sandbox with --network=host (the host's
// stack through the kernel's host sockets; magawa-ptrace-hostnet), and
// under runsc (its netstack) when runsc is installed.
func BenchmarkTCPRoundTrip(b *testing.B) {
	b.Run("native", func(b *testing.B) { runProbe(b, "tcprtt", "", min(max(b.N, 1000), 100000)) })
	for _, c := range netCases {
		b.Run(c.name, func(b *testing.B) {
			v := probeOutputFlags(b, "tcprtt", c.platform, c.global, nil, "2000")
			b.ReportMetric(v[0], "ns/op")
		})
	}
}

// BenchmarkTCPBandwidth moves 256 MiB over a TCP connection in 64 KiB
// writes.
func BenchmarkTCPBandwidth(b *testing.B) {
	b.Run("native", func(b *testing.B) { b.ReportMetric(probeOutput(b, "tcpbw", "", "256")[0], "MB/s") })
	for _, c := range netCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportMetric(probeOutputFlags(b, "tcpbw", c.platform, c.global, nil, "256")[0], "MB/s")
		})
	}
}

var netCases = []struct {
	name     string
	platform string
	global   []string
}{
	{"magawa-ptrace", "ptrace", []string{"--network=none"}},
	{"magawa-ptrace-hostnet", "ptrace", []string{"--network=host"}},
	{"runsc-ptrace", "runsc", nil},
}
