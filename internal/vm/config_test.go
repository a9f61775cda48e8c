package vm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"magawa/internal/boot"
	"magawa/internal/oci"
	"magawa/internal/vm/image"
)

func testSpec(t *testing.T) (*specs.Spec, string) {
	t.Helper()
	bundle := t.TempDir()
	os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755)
	os.MkdirAll(filepath.Join(bundle, "data"), 0o755)
	spec := oci.DefaultSpec(false)
	spec.Process.Terminal = false
	spec.Process.Args = []string{"sh", "-c", "exit 3"}
	return spec, bundle
}

func TestFromSpec(t *testing.T) {
	spec, bundle := testSpec(t)
	limit := int64(1 << 30)
	quota, period := int64(150000), uint64(100000)
	pids := int64(64)
	spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &limit},
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
		Pids:   &specs.LinuxPids{Limit: &pids},
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "data", Options: []string{"rbind", "ro"}})
	cfg, err := FromSpec(spec, bundle, "c1", "/run/x/c1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootDir != filepath.Join(bundle, "rootfs") || cfg.ID != "c1" || cfg.StateDir != "/run/x/c1" {
		t.Errorf("cfg = %+v", cfg)
	}
	if strings.Join(cfg.Process.Argv, " ") != "sh -c exit 3" {
		t.Errorf("argv = %q", cfg.Process.Argv)
	}
	if cfg.MemoryLimit != limit || cfg.VM.MemoryMiB != 1024+memoryOverheadMiB {
		t.Errorf("memory: limit %d, VM %d MiB; want the limit in the guest and the VM that much bigger", cfg.MemoryLimit, cfg.VM.MemoryMiB)
	}
	if want := min(2, max(1, numCPU())); cfg.VM.CPUs != want {
		t.Errorf("vCPUs = %d, want %d (1.5 CPUs of quota, rounded up, at most the host's)", cfg.VM.CPUs, want)
	}
	if cfg.PidsLimit != 64 {
		t.Errorf("pids limit = %d", cfg.PidsLimit)
	}
	last := cfg.Mounts[len(cfg.Mounts)-1]
	if last.Source != filepath.Join(bundle, "data") {
		t.Errorf("a relative bind source became %q, want it in the bundle", last.Source)
	}
	if proc := cfg.Mounts[0]; proc.Source != "proc" {
		t.Errorf("a non-bind mount's source changed: %+v", proc)
	}
}

// A pod's sandbox container: its VM is sized for the limits of the
// pod's containers, which the CRI plugin sums up in annotations.
func TestFromSpecPod(t *testing.T) {
	spec, bundle := testSpec(t)
	spec.Linux.Resources = nil
	spec.Annotations = map[string]string{
		"io.kubernetes.cri.container-type":     "sandbox",
		"io.kubernetes.cri.sandbox-memory":     "178257920", // 170 MiB
		"io.kubernetes.cri.sandbox-cpu-quota":  "150000",
		"io.kubernetes.cri.sandbox-cpu-period": "100000",
	}
	cfg, err := FromSpec(spec, bundle, "pod", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := 170 + memoryOverheadMiB; cfg.VM.MemoryMiB != want || cfg.MemoryLimit != 0 {
		t.Errorf("the pod's VM: %d MiB (limit %d), want %d MiB and no limit of the sandbox container's own", cfg.VM.MemoryMiB, cfg.MemoryLimit, want)
	}
	if want := min(2, numCPU()); cfg.VM.CPUs != want {
		t.Errorf("the pod's VM: %d vCPUs, want %d (1.5 CPUs of quota, rounded up, at most the host's)", cfg.VM.CPUs, want)
	}
	// Unknown (a container without a limit) or malformed: the default.
	spec.Annotations["io.kubernetes.cri.sandbox-memory"] = "0"
	spec.Annotations["io.kubernetes.cri.sandbox-cpu-quota"] = "-1"
	if cfg, _ := FromSpec(spec, bundle, "pod", ""); cfg.VM.MemoryMiB != DefaultMemoryMiB || cfg.VM.CPUs != 1 {
		t.Errorf("no sums: %d MiB, %d vCPUs; want the defaults", cfg.VM.MemoryMiB, cfg.VM.CPUs)
	}
	// The sandbox container's own limit counts when it is more.
	limit := int64(1 << 30)
	spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	spec.Annotations["io.kubernetes.cri.sandbox-memory"] = "178257920"
	if cfg, _ := FromSpec(spec, bundle, "pod", ""); cfg.VM.MemoryMiB != 1024+memoryOverheadMiB || cfg.MemoryLimit != limit {
		t.Errorf("a sandbox container's limit above the pod's sum: %d MiB, limit %d", cfg.VM.MemoryMiB, cfg.MemoryLimit)
	}
}

func TestFromSpecDefaults(t *testing.T) {
	spec, bundle := testSpec(t)
	spec.Linux.Resources = nil
	cfg, err := FromSpec(spec, bundle, "c1", "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.VM.MemoryMiB != DefaultMemoryMiB || cfg.VM.CPUs != 1 || cfg.MemoryLimit != 0 {
		t.Errorf("defaults: %d MiB, %d vCPUs, limit %d", cfg.VM.MemoryMiB, cfg.VM.CPUs, cfg.MemoryLimit)
	}
	small := int64(16 << 20)
	spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &small}}
	if cfg, _ := FromSpec(spec, bundle, "c1", ""); cfg.VM.MemoryMiB != minMemoryMiB {
		t.Errorf("a 16 MiB limit gives a VM of %d MiB, want the minimum %d", cfg.VM.MemoryMiB, minMemoryMiB)
	}
}

func TestCpusetCount(t *testing.T) {
	for s, want := range map[string]int{"0": 1, "0-3": 4, "0-1,4,6-7": 5, "x": 0, "3-1": 0} {
		if got := cpusetCount(s); got != want {
			t.Errorf("cpusetCount(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestContainerRequestShares(t *testing.T) {
	spec, bundle := testSpec(t)
	spec.Mounts = []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/data", Type: "bind", Source: filepath.Join(bundle, "data"), Options: []string{"rbind", "ro"}},
		{Destination: "/rw", Source: filepath.Join(bundle, "data"), Options: []string{"bind"}},
	}
	cfg, err := FromSpec(spec, bundle, "c1", "")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sandbox{cfg: cfg}
	req, shares, err := s.containerRequest()
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != 3 || shares[0].Tag != rootTag || !shares[0].ReadOnly || shares[0].Path != cfg.RootDir {
		t.Fatalf("shares = %+v: want the root (read-only) and one per bind mount", shares)
	}
	if !shares[1].ReadOnly || shares[2].ReadOnly {
		t.Errorf("shares = %+v: a bind mount's share is read-only when the mount is", shares)
	}
	if req.RootShare != rootTag || len(req.Shares) != 3 || req.Mounts[1].Share != shares[1].Tag || req.Mounts[1].Source != "/" {
		t.Errorf("request: root %q, shares %v, mounts %v", req.RootShare, req.Shares, req.Mounts)
	}
	if req.Mounts[0].Share != "" || req.Mounts[0].Type != "proc" {
		t.Errorf("proc mount = %v", req.Mounts[0])
	}
	if req.Process.Args[0] != "sh" || req.Id != "c1" {
		t.Errorf("request process %v, id %q", req.Process, req.Id)
	}

	// The source went between create's checks and the VM's start.
	cfg.Mounts = []Mount{{Destination: "/x", Type: "bind", Source: "/nonexistent/source"}}
	s = &Sandbox{cfg: cfg}
	if _, _, err := s.containerRequest(); err == nil || !strings.Contains(err.Error(), "/nonexistent/source") {
		t.Errorf("a missing bind source: %v", err)
	}
}

func TestResolveNamesWhatIsMissing(t *testing.T) {
	c := VMConfig{QEMU: "/nonexistent/qemu-system-x86_64"}
	if err := c.Resolve(); err == nil || !strings.Contains(err.Error(), "qemu-system-x86") {
		t.Errorf("without QEMU: %v", err)
	}
	qemuPath := filepath.Join(t.TempDir(), "qemu")
	os.WriteFile(qemuPath, []byte("#!/bin/sh\n"), 0o755)
	c = VMConfig{QEMU: qemuPath, Kernel: "/nonexistent/kernel", Initrd: "/nonexistent/initrd"}
	if err := c.Resolve(); err == nil || !strings.Contains(err.Error(), "guest kernel") {
		t.Errorf("without a kernel: %v", err)
	}
	t.Setenv("MAGAWA_VM_IMAGE", t.TempDir())
	if _, _, err := FindImage(); !errors.Is(err, ErrNoImage) || !strings.Contains(err.Error(), "make vm-image") {
		t.Errorf("FindImage in an empty directory: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, image.KernelName), []byte("k"), 0o644)
	os.WriteFile(filepath.Join(dir, image.InitramfsName), []byte("i"), 0o644)
	t.Setenv("MAGAWA_VM_IMAGE", dir)
	c = VMConfig{QEMU: qemuPath}
	if err := c.Resolve(); err != nil {
		t.Fatal(err)
	}
	if c.Kernel != filepath.Join(dir, image.KernelName) || c.Machine != "microvm" || c.Accel == "" || c.BootTimeout != DefaultBootTimeout {
		t.Errorf("resolved %+v", c)
	}
}

// TestContainerRequestConfig checks what reaches the agent of the
// bundle's devices, user namespace, oom_score_adj and CPU limits.
func TestContainerRequestConfig(t *testing.T) {
	spec, bundle := testSpec(t)
	mode := os.FileMode(0o620)
	uid, gid := uint32(5), uint32(6)
	spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/mynull", Type: "c", Major: 1, Minor: 3, FileMode: &mode, UID: &uid, GID: &gid}}
	spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	adj := 500
	spec.Process.OOMScoreAdj = &adj
	shares, quota := uint64(512), int64(50000)
	spec.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: &shares, Quota: &quota}}
	cfg, err := FromSpec(spec, bundle, "c1", "")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sandbox{cfg: cfg}
	req, _, err := s.containerRequest()
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Devices) != 1 {
		t.Fatalf("devices = %v", req.Devices)
	}
	if d := req.Devices[0]; d.Path != "/dev/mynull" || d.Type != "c" || d.Major != 1 || d.Minor != 3 || d.FileMode != 0o620 || d.Uid != 5 || d.Gid != 6 {
		t.Errorf("device = %v", d)
	}
	if len(req.UidMappings) != 1 || req.UidMappings[0].HostId != 100000 || req.UidMappings[0].Size != 65536 ||
		len(req.GidMappings) != 1 || req.GidMappings[0].HostId != 200000 {
		t.Errorf("maps: %v, %v", req.UidMappings, req.GidMappings)
	}
	if !req.Process.HasOomScoreAdj || req.Process.OomScoreAdj != 500 {
		t.Errorf("oom_score_adj: %v, %d", req.Process.HasOomScoreAdj, req.Process.OomScoreAdj)
	}
	// 512 shares: 1 + 510*9999/262142, as runc converts them.
	if r := req.Resources; r.CpuWeight != 20 || r.CpuQuota != 50000 || r.CpuPeriod != 0 {
		t.Errorf("CPU: weight %d, quota %d, period %d", r.CpuWeight, r.CpuQuota, r.CpuPeriod)
	}

	// Joining a user namespace by path keeps the guest's IDs: no maps.
	spec.Linux.Namespaces[len(spec.Linux.Namespaces)-1].Path = "/proc/1/ns/user"
	spec.Process.OOMScoreAdj = nil
	if cfg, err = FromSpec(spec, bundle, "c1", ""); err != nil {
		t.Fatal(err)
	}
	s = &Sandbox{cfg: cfg}
	if req, _, _ = s.containerRequest(); len(req.UidMappings) != 0 || req.Process.HasOomScoreAdj {
		t.Errorf("with a user namespace's path: maps %v, oom %v", req.UidMappings, req.Process.HasOomScoreAdj)
	}
}

func TestCPULimits(t *testing.T) {
	u := func(n uint64) *uint64 { return &n }
	i := func(n int64) *int64 { return &n }
	for _, c := range []struct {
		cpu    *specs.LinuxCPU
		weight uint64
		quota  int64
		period uint64
	}{
		{nil, 0, 0, 0},
		{&specs.LinuxCPU{Shares: u(2)}, 1, 0, 0},
		{&specs.LinuxCPU{Shares: u(1024)}, 39, 0, 0},
		{&specs.LinuxCPU{Shares: u(262144)}, 10000, 0, 0},
		{&specs.LinuxCPU{Shares: u(1 << 20)}, 10000, 0, 0},
		{&specs.LinuxCPU{Quota: i(-5), Period: u(50000)}, 0, -1, 50000},
		{&specs.LinuxCPU{Period: u(50000)}, 0, 0, 50000},
	} {
		w, q, p := cpuLimits(c.cpu)
		if w != c.weight || q != c.quota || p != c.period {
			t.Errorf("cpuLimits(%+v) = %d, %d, %d; want %d, %d, %d", c.cpu, w, q, p, c.weight, c.quota, c.period)
		}
	}
}

// TestUpdateRefusals checks the updates the VM cannot honour are refused
// before the agent is asked.
func TestUpdateRefusals(t *testing.T) {
	s := &Sandbox{cfg: Config{ID: "c1", MemoryLimit: 256 << 20, VM: VMConfig{MemoryMiB: 416}}, status: "running"}
	big := int64(300 << 20)
	err := s.update(boot.Request{Op: boot.OpUpdate, Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &big}}})
	if err == nil || !strings.Contains(err.Error(), "416 MiB, of which 256 MiB") || !strings.Contains(err.Error(), "cannot grow") {
		t.Errorf("a memory limit above the VM's: %v", err)
	}
	err = s.update(boot.Request{Op: boot.OpUpdate, Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-1"}}})
	if err == nil || !strings.Contains(err.Error(), "cpuset") {
		t.Errorf("a cpuset: %v", err)
	}
	s.status = "stopped"
	limit := int64(10)
	if err := s.update(boot.Request{Op: boot.OpUpdate, TaskLimit: &limit}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("an update of a stopped container: %v", err)
	}
}
