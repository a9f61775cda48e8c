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
		// As `make build`: the gofer cannot confine a cgo binary.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
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
func runProbe(b *testing.B, probe, platform string, n int, extra ...string) {
	values := probeOutput(b, probe, platform, append([]string{strconv.Itoa(n)}, extra...)...)
	b.ReportMetric(values[0], "ns/op")
}

// probeOutput runs probe with args, natively or under platform, and
// returns the numbers it prints.
func probeOutput(b *testing.B, probe, platform string, args ...string) []float64 {
	return probeOutputDo(b, probe, platform, nil, args...)
}

// probeOutputDo is probeOutput with flags for `magawa do`.
func probeOutputDo(b *testing.B, probe, platform string, doFlags []string, args ...string) []float64 {
	return probeOutputFlags(b, probe, platform, nil, doFlags, args...)
}

// probeOutputFlags is probeOutput with magawa's global flags (before
// the verb) and flags for `magawa do`. The platform "runsc" runs the
// probe under gVisor's runsc (ptrace platform, no network: its
// loopback only), when it is installed.
func probeOutputFlags(b *testing.B, probe, platform string, global, doFlags []string, args ...string) []float64 {
	dir := build(b)
	if os.Geteuid() != 0 && platform != "" {
		b.Skip("needs root: the sandbox's integration paths run as root in CI")
	}
	argv := append([]string{filepath.Join(dir, probe)}, args...)
	switch platform {
	case "":
	case "runsc":
		runsc, err := exec.LookPath("runsc")
		if err != nil {
			b.Skip("runsc is not installed (apt-get install runsc)")
		}
		argv = append([]string{runsc, "--platform=ptrace", "--network=none", "do"}, argv...)
	default:
		pre := append(append([]string{magawaBin(dir), "--platform=" + platform}, global...), "do")
		pre = append(pre, doFlags...)
		argv = append(append(pre, "--"), argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		b.Fatalf("%v: %v", argv, err)
	}
	var values []float64
	for _, field := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(field, 64)
		if err != nil {
			b.Fatalf("probe output %q: %v", out, err)
		}
		values = append(values, v)
	}
	if len(values) == 0 {
		b.Fatalf("probe %s printed nothing", probe)
	}
	return values
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

// The file benchmarks: gVisor's ptrace platform takes ~200 µs per
// open/read/close on these machines, ~5 µs natively.
func BenchmarkOpenReadClose(b *testing.B) {
	b.Run("native", func(b *testing.B) { runProbe(b, "openread", "", min(max(b.N, 1000), 100000), "/etc/passwd") })
	b.Run("magawa-ptrace", func(b *testing.B) { runProbe(b, "openread", "ptrace", min(max(b.N, 200), 5000), "/etc/passwd") })
}

func BenchmarkStat(b *testing.B) {
	for _, c := range []struct{ name, path string }{{"existing", "/etc/passwd"}, {"missing", "/etc/no-such-file"}} {
		b.Run(c.name+"/native", func(b *testing.B) { runProbe(b, "stat", "", min(max(b.N, 1000), 200000), c.path) })
		b.Run(c.name+"/magawa-ptrace", func(b *testing.B) { runProbe(b, "stat", "ptrace", min(max(b.N, 200), 10000), c.path) })
	}
}

// BenchmarkFindStat walks /usr/share (readdir and lstat of every entry):
// ns/op is per entry. One walk per run, whatever b.N.
func BenchmarkFindStat(b *testing.B) {
	for _, platform := range []string{"", "ptrace"} {
		name := "native"
		if platform != "" {
			name = "magawa-" + platform
		}
		b.Run(name, func(b *testing.B) {
			b.ReportMetric(probeOutput(b, "walk", platform, "/usr/share")[0], "ns/op")
		})
	}
}

// BenchmarkSequentialIO writes and reads back a 256 MiB file, reporting
// MB/s each way: in /tmp, which in the sandbox is the overlay's memory,
// and on a bind mount of a host directory (--volume), where the gofer's
// donated descriptors take the data straight to the host file.
func BenchmarkSequentialIO(b *testing.B) {
	hostDir := b.TempDir()
	for _, platform := range []string{"", "ptrace"} {
		name := "native"
		if platform != "" {
			name = "magawa-" + platform
		}
		b.Run(name+"/overlay", func(b *testing.B) {
			v := probeOutput(b, "seqio", platform, "256", "/tmp/magawa-bench-seqio")
			b.ReportMetric(v[0], "write-MB/s")
			b.ReportMetric(v[1], "read-MB/s")
		})
		b.Run(name+"/bind", func(b *testing.B) {
			var flags []string
			file := filepath.Join(hostDir, "seqio")
			if platform != "" {
				flags = []string{"--volume", hostDir + ":/bench"}
				file = "/bench/seqio"
			}
			v := probeOutputDo(b, "seqio", platform, flags, "256", file)
			b.ReportMetric(v[0], "write-MB/s")
			b.ReportMetric(v[1], "read-MB/s")
		})
	}
}
