package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The benchmarks run small static probe programs natively and in the
// sandbox. Each probe times its own loop and prints nanoseconds per
// operation, so the sandbox's start-up cost is not counted; that number
// replaces the benchmark's ns/op.

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func build(b *testing.B) string {
	b.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "magawa-bench-")
		if buildErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, "magawa"), "./cmd/magawa")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = err
			b.Logf("%s", out)
			return
		}
		probes, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "probes", "*.c"))
		for _, p := range probes {
			name := strings.TrimSuffix(filepath.Base(p), ".c")
			out, err := exec.Command("gcc", "-static", "-O2", "-pthread", "-o", filepath.Join(buildDir, name), p).CombinedOutput()
			if err != nil {
				buildErr = err
				b.Logf("%s", out)
				return
			}
		}
	})
	if buildErr != nil {
		b.Skipf("cannot build the benchmark programs: %v", buildErr)
	}
	return buildDir
}

func magawaBin(dir string) string {
	if p := os.Getenv("MAGAWA_BIN"); p != "" {
		return p
	}
	return filepath.Join(dir, "magawa")
}

// runProbe runs probe with n iterations, natively or under platform, and
// reports its own per-operation time as ns/op.
func runProbe(b *testing.B, probe, platform string, n int) {
	dir := build(b)
	if os.Geteuid() != 0 && platform != "" {
		b.Skip("needs root: the sandbox's integration paths run as root in CI")
	}
	args := []string{filepath.Join(dir, probe), strconv.Itoa(n)}
	if platform != "" {
		args = append([]string{magawaBin(dir), "--platform=" + platform, "do", "--"}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).Output()
	if err != nil {
		b.Fatalf("%v: %v", args, err)
	}
	ns, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		b.Fatalf("probe output %q: %v", out, err)
	}
	b.ReportMetric(ns, "ns/op")
}

func BenchmarkGetpid(b *testing.B) {
	b.Run("native", func(b *testing.B) { runProbe(b, "getpid", "", max(b.N, 1000)) })
	b.Run("magawa-ptrace", func(b *testing.B) { runProbe(b, "getpid", "ptrace", max(b.N, 1000)) })
}

// The process benchmarks cap their iterations: each one is a fork or a
// thread in the sandbox, and b.N grows large for cheap native runs.
func BenchmarkForkExitWait(b *testing.B) {
	b.Run("native", func(b *testing.B) { runProbe(b, "fork", "", min(max(b.N, 50), 2000)) })
	b.Run("magawa-ptrace", func(b *testing.B) { runProbe(b, "fork", "ptrace", min(max(b.N, 20), 200)) })
}

func BenchmarkThreadCreateJoin(b *testing.B) {
	b.Run("native", func(b *testing.B) { runProbe(b, "thread", "", min(max(b.N, 50), 5000)) })
	b.Run("magawa-ptrace", func(b *testing.B) { runProbe(b, "thread", "ptrace", min(max(b.N, 20), 500)) })
}
