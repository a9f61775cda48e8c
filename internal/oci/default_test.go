package oci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// skip skips with a reason, or fails when MAGAWA_TEST_NO_SKIP is set (CI
// must not skip anything).
func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("MAGAWA_TEST_NO_SKIP") != "" {
		t.Fatalf("MAGAWA_TEST_NO_SKIP is set, so failing instead of skipping: %s", msg)
	}
	t.Skip(msg)
}

func TestDefaultSpecRuns(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		spec := DefaultSpec(rootless)
		dir := bundleDir(t)
		if err := Validate(spec, dir); err != nil {
			t.Fatalf("rootless=%v: %v", rootless, err)
		}
		cfg, err := ToSandbox(spec, dir)
		if err != nil {
			t.Fatalf("rootless=%v: %v", rootless, err)
		}
		if len(cfg.Mounts) != 7 || cfg.Mounts[5].Type != "sysfs" || !cfg.RootReadOnly || cfg.Hostname != "magawa" {
			t.Errorf("rootless=%v: %+v", rootless, cfg)
		}
		// AUDIT_WRITE 29, KILL 5, NET_BIND_SERVICE 10.
		const caps = 1<<29 | 1<<5 | 1<<10
		if c := cfg.Process.Capabilities; c == nil || c.Bounding != caps || c.Effective != caps || c.Permitted != caps || c.Ambient != 0 || c.Inheritable != 0 {
			t.Errorf("rootless=%v: capabilities %+v", rootless, c)
		}
		h := HostConfig(spec)
		_, user := h.Namespace(specs.UserNamespace)
		_, network := h.Namespace(specs.NetworkNamespace)
		if user != rootless || network == rootless {
			t.Errorf("rootless=%v: user namespace %v, network namespace %v", rootless, user, network)
		}
		if rootless {
			if m := spec.Linux.UIDMappings; len(m) != 1 || m[0].HostID != uint32(os.Geteuid()) || m[0].ContainerID != 0 || m[0].Size != 1 {
				t.Errorf("uid mappings %+v", m)
			}
			if h.Resources != nil || strings.Contains(cfg.Mounts[2].Data, "gid=") {
				t.Errorf("rootless: resources %+v, devpts data %q", h.Resources, cfg.Mounts[2].Data)
			}
		}
	}
}

// TestDefaultSpecMatchesRunc compares with what the installed runc
// writes, field by field, after the differences that are meant.
func TestDefaultSpecMatchesRunc(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		skip(t, "needs runc (apt-get install runc) to compare with")
	}
	out, err := exec.Command(runc, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`runc version (\d+)\.(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("runc --version: %q", out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	before12 := major == 1 && minor < 2

	for _, rootless := range []bool{false, true} {
		dir := t.TempDir()
		args := []string{"spec"}
		if rootless {
			args = append(args, "--rootless")
		}
		cmd := exec.Command(runc, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("runc %s: %v: %s", strings.Join(args, " "), err, out)
		}
		data, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var theirs specs.Spec
		if err := json.Unmarshal(data, &theirs); err != nil {
			t.Fatal(err)
		}
		ours := DefaultSpec(rootless)

		// Each writes the specification version it was built with, and
		// its own name.
		theirs.Version = ours.Version
		if theirs.Hostname != "runc" {
			t.Errorf("runc's hostname %q", theirs.Hostname)
		}
		theirs.Hostname = "magawa"
		if before12 {
			// runc 1.2 stopped granting ambient capabilities by default
			// and began masking /sys/devices/virtual/tpm.
			theirs.Process.Capabilities.Ambient = nil
			theirs.Linux.MaskedPaths = append(theirs.Linux.MaskedPaths, "/sys/devices/virtual/tpm")
		}
		if rootless {
			// runc bind-mounts the host's /sys; magawa serves its own.
			for i, mnt := range theirs.Mounts {
				if mnt.Destination == "/sys" {
					theirs.Mounts[i] = specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}}
				}
			}
		}

		a, _ := json.MarshalIndent(ours, "", "  ")
		b, _ := json.MarshalIndent(&theirs, "", "  ")
		if !bytes.Equal(a, b) {
			t.Errorf("rootless=%v: differs from runc %d.%d:\n%s", rootless, major, minor, lineDiff(string(b), string(a)))
		}
	}
}

// lineDiff shows the lines only one side has, enough to see a field
// that differs.
func lineDiff(want, got string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	w, g := count(want), count(got)
	var out []string
	for _, l := range strings.Split(want, "\n") {
		if g[l] < w[l] {
			out = append(out, "runc:   "+l)
			w[l]--
		}
	}
	w = count(want)
	for _, l := range strings.Split(got, "\n") {
		if w[l] < g[l] {
			out = append(out, "magawa: "+l)
			g[l]--
		}
	}
	return strings.Join(out, "\n")
}
