package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestInstallDocker(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.json")
	os.WriteFile(path, []byte(`{"log-level": "warn", "runtimes": {"runsc": {"path": "/usr/bin/runsc"}}}`), 0o600)
	b, err := installDocker(path, "magawa", "/usr/local/bin/magawa", []string{"--platform=systrap"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	want := map[string]any{
		"log-level": "warn",
		"runtimes": map[string]any{
			"runsc":  map[string]any{"path": "/usr/bin/runsc"},
			"magawa": map[string]any{"path": "/usr/local/bin/magawa", "runtimeArgs": []any{"--platform=systrap"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("daemon.json:\n%s\nwant %v", b, want)
	}
	if err := writeConfig(path, b); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("daemon.json's mode became %v, want 0600 kept", st.Mode().Perm())
	}

	// A missing daemon.json is made; a malformed one is refused, named.
	if b, err := installDocker(filepath.Join(t.TempDir(), "none.json"), "m", "/m", nil); err != nil || !strings.Contains(string(b), `"path": "/m"`) {
		t.Errorf("a new daemon.json: %s, %v", b, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"runtimes": [`), 0o644)
	if _, err := installDocker(bad, "m", "/m", nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a malformed daemon.json: %v, want an error naming it", err)
	}
	os.WriteFile(bad, []byte(`{"runtimes": "x"}`), 0o644)
	if _, err := installDocker(bad, "m", "/m", nil); err == nil {
		t.Errorf("daemon.json whose runtimes is a string: no error")
	}
}

func TestContainerdConfig(t *testing.T) {
	got := containerdConfig("magawa", "/usr/local/bin/magawa", []string{"--platform=systrap", "--strace", "--debug=false"})
	for _, want := range []string{
		`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.magawa]`,
		`runtime_type = "io.containerd.magawa.v1"`,
		`ConfigPath = "/etc/containerd/magawa.toml"`,
		"[magawa]\nplatform = \"systrap\"\nstrace = true\ndebug = false\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("containerd's configuration lacks %q:\n%s", want, got)
		}
	}
}
