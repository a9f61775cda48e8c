package bench

import "testing"

// The IPC benchmarks. gVisor's ptrace platform on these machines: ~290 µs
// per pipe round trip between two processes (native ~17 µs), 220 MiB/s
// of pipe bandwidth with 64 KiB writes (native ~2 GiB/s).
func BenchmarkPipeRoundTrip(b *testing.B) {
	b.Run("native", func(b *testing.B) { runProbe(b, "pipertt", "", min(max(b.N, 1000), 100000)) })
	b.Run("magawa-ptrace", func(b *testing.B) { runProbe(b, "pipertt", "ptrace", min(max(b.N, 100), 2000)) })
}

func BenchmarkEpollRoundTrip(b *testing.B) {
	b.Run("native", func(b *testing.B) { runProbe(b, "epollrtt", "", min(max(b.N, 1000), 100000)) })
	b.Run("magawa-ptrace", func(b *testing.B) { runProbe(b, "epollrtt", "ptrace", min(max(b.N, 100), 2000)) })
}

// BenchmarkPipeBandwidth moves 256 MiB through a pipe in 64 KiB writes.
func BenchmarkPipeBandwidth(b *testing.B) {
	for _, platform := range []string{"", "ptrace"} {
		name := "native"
		if platform != "" {
			name = "magawa-" + platform
		}
		b.Run(name, func(b *testing.B) {
			b.ReportMetric(probeOutput(b, "pipebw", platform, "256")[0], "MB/s")
		})
	}
}
