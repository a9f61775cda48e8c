package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The container benchmarks compare magawa with the runtimes it stands in
// for, through the same OCI CLI: runc, and gVisor's runsc (with
// --platform=ptrace --network=none) when it is installed.

// ociRuntime is a runtime binary with its global flags and a private
// state root.
type ociRuntime struct {
	name string
	argv []string
}

func ociRuntimes(b *testing.B) []ociRuntime {
	dir := build(b)
	if os.Geteuid() != 0 {
		b.Skip("needs root: containers are created as root")
	}
	root := b.TempDir()
	rts := []ociRuntime{{"magawa-ptrace", []string{magawaBin(dir), "--root", filepath.Join(root, "magawa"), "--platform=ptrace"}}}
	if p, err := exec.LookPath("runc"); err == nil {
		rts = append(rts, ociRuntime{"runc", []string{p, "--root", filepath.Join(root, "runc")}})
	}
	if p, err := exec.LookPath("runsc"); err == nil {
		rts = append(rts, ociRuntime{"runsc-ptrace", []string{p, "--root", filepath.Join(root, "runsc"), "--platform=ptrace", "--network=none"}})
	}
	return rts
}

// run runs a runtime command. Its output goes through a file: a created
// container's process inherits the command's stdout and stderr, and
// would hold a pipe open.
func (r ociRuntime) run(args ...string) ([]byte, error) {
	f, err := os.CreateTemp("", "magawa-bench-out-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd := exec.Command(r.argv[0], append(r.argv[1:], args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	return out, err
}

// bundle makes an OCI bundle of busybox running args.
func bundle(b *testing.B, args ...string) string {
	dir := b.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		b.Fatal(err)
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		b.Skipf("needs busybox-static: %v", err)
	}
	os.WriteFile(filepath.Join(rootfs, "bin/busybox"), busybox, 0o755)
	for _, d := range []string{"proc", "sys", "dev", "tmp", "etc"} {
		os.MkdirAll(filepath.Join(rootfs, d), 0o755)
	}
	for _, name := range []string{"sh", "true", "sleep"} {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", name))
	}
	out, err := exec.Command(magawaBin(build(b)), "spec", "--bundle", dir).CombinedOutput()
	if err != nil {
		b.Fatalf("magawa spec: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "config.json")
	data, _ := os.ReadFile(path)
	var spec map[string]any
	json.Unmarshal(data, &spec)
	p := spec["process"].(map[string]any)
	p["terminal"] = false
	p["args"] = args
	data, _ = json.Marshal(spec)
	os.WriteFile(path, data, 0o644)
	return dir
}

// BenchmarkContainerRun is `RUNTIME run` of /bin/true: create, start,
// the process's run and exit, and delete, as `docker run --rm` costs it.
// runc takes ~100 ms here and runsc ~280 ms.
func BenchmarkContainerRun(b *testing.B) {
	for _, rt := range ociRuntimes(b) {
		b.Run(rt.name, func(b *testing.B) {
			dir := bundle(b, "/bin/true")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id := fmt.Sprintf("bench-%d-%d", os.Getpid(), i)
				cmd := exec.Command(rt.argv[0], append(rt.argv[1:], "run", "--bundle", dir, id)...)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s run: %v\n%s", rt.name, err, out)
				}
			}
		})
	}
}

// BenchmarkIdleContainerMemory reports the memory of a started container
// whose process sleeps: the summed proportional set size of every host
// process the container consists of (for magawa: the sandbox process,
// the gofer and the stub; for runc: the container's process). runsc's
// sandbox takes ~29 MiB here.
func BenchmarkIdleContainerMemory(b *testing.B) {
	for _, rt := range ociRuntimes(b) {
		b.Run(rt.name, func(b *testing.B) {
			dir := bundle(b, "/bin/sleep", "1000")
			var total float64
			for i := 0; i < b.N; i++ {
				id := fmt.Sprintf("idle-%d-%d", os.Getpid(), i)
				if out, err := rt.run("create", "--bundle", dir, id); err != nil {
					b.Fatalf("%s create: %v\n%s", rt.name, err, out)
				}
				if out, err := rt.run("start", id); err != nil {
					rt.run("delete", "--force", id)
					b.Fatalf("%s start: %v\n%s", rt.name, err, out)
				}
				// Settle: the runtime's start-up garbage is collected.
				time.Sleep(500 * time.Millisecond)
				pid, err := statePid(rt, id)
				if err == nil {
					total += float64(treePSS(pid))
				}
				rt.run("delete", "--force", id)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(total/float64(b.N)/(1<<20), "PSS-MiB")
		})
	}
}

func statePid(rt ociRuntime, id string) (int, error) {
	out, err := rt.run("state", id)
	if err != nil {
		return 0, fmt.Errorf("%s state: %v\n%s", rt.name, err, out)
	}
	var st struct{ Pid int }
	if err := json.Unmarshal(out, &st); err != nil || st.Pid == 0 {
		return 0, fmt.Errorf("%s state: %q: %v", rt.name, out, err)
	}
	return st.Pid, nil
}

// treePSS sums the Pss of pid and all its descendants, in bytes.
func treePSS(pid int) int64 {
	var total int64
	pids := []int{pid}
	for i := 0; i < len(pids); i++ {
		p := strconv.Itoa(pids[i])
		if b, err := os.ReadFile(filepath.Join("/proc", p, "smaps_rollup")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
					kb, _ := strconv.ParseInt(f[1], 10, 64)
					total += kb << 10
				}
			}
		}
		tasks, _ := filepath.Glob(filepath.Join("/proc", p, "task", "*", "children"))
		for _, t := range tasks {
			b, _ := os.ReadFile(t)
			for _, c := range strings.Fields(string(b)) {
				n, _ := strconv.Atoi(c)
				pids = append(pids, n)
			}
		}
	}
	return total
}
