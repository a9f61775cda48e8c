package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"magawa/internal/vm/agentapi"
)

// fakeCgroup is a directory with a cgroup's files as a fresh cgroup v2
// has them.
func fakeCgroup(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, v := range map[string]string{"memory.max": "max\n", "pids.max": "max\n", "cpu.weight": "100\n", "cpu.max": "max 100000\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func cgroupFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestSetLimits(t *testing.T) {
	dir := fakeCgroup(t)
	if err := setLimits(dir, &agentapi.Resources{MemoryLimit: 256 << 20, PidsLimit: 100, CpuWeight: 20, CpuQuota: 50000}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"memory.max": "268435456", "pids.max": "100", "cpu.weight": "20", "cpu.max": "50000 100000"} {
		if got := cgroupFile(t, dir, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// An update: zero leaves a file alone, a negative limit is max, a
	// period alone keeps the quota.
	if err := setLimits(dir, &agentapi.Resources{PidsLimit: -1, CpuPeriod: 200000}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"memory.max": "268435456", "pids.max": "max", "cpu.weight": "20", "cpu.max": "50000 200000"} {
		if got := cgroupFile(t, dir, name); got != want {
			t.Errorf("after the update, %s = %q, want %q", name, got, want)
		}
	}
	if err := setLimits(dir, &agentapi.Resources{CpuQuota: -1}); err != nil {
		t.Fatal(err)
	}
	if got := cgroupFile(t, dir, "cpu.max"); got != "max 200000" {
		t.Errorf("cpu.max = %q, want the quota lifted and the period kept", got)
	}
	os.Remove(filepath.Join(dir, "pids.max"))
	if err := setLimits(dir, &agentapi.Resources{PidsLimit: 5}); err == nil || !strings.Contains(err.Error(), "pids limit") {
		t.Errorf("setLimits without pids.max: %v, want an error naming the pids limit", err)
	}
}

func TestEventsField(t *testing.T) {
	events := "populated 1\nfrozen 1\n"
	if got := eventsField(events, "frozen"); got != "1" {
		t.Errorf("frozen = %q", got)
	}
	if got := eventsField(events, "froze"); got != "" {
		t.Errorf("a field that is not there = %q", got)
	}
}

func TestFreezeRefusesWrongStatus(t *testing.T) {
	a := newAgent()
	a.containers["c"] = &container{id: "c", state: statusCreated, cgroup: fakeCgroup(t), execs: map[string]*process{}}
	if err := a.freeze(t.Context(), "c", true); err == nil || !strings.Contains(err.Error(), "created") {
		t.Errorf("pause of a created container: %v", err)
	}
	if err := a.freeze(t.Context(), "c", false); err == nil || !strings.Contains(err.Error(), "cannot resume") {
		t.Errorf("resume of a created container: %v", err)
	}
	if st := a.containers["c"].state; st != statusCreated {
		t.Errorf("status after refused calls: %s", st)
	}
}
