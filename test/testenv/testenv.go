// Package testenv is what magawa's integration test packages (test,
// test/e2e) share about their environment: the MAGAWA_TEST_NO_SKIP rule,
// the module's root, and building the magawa binary under test.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Skip skips the test with a reason, or fails it when
// MAGAWA_TEST_NO_SKIP is set (CI provides everything, so nothing may be
// skipped there).
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("MAGAWA_TEST_NO_SKIP") != "" {
		t.Fatalf("MAGAWA_TEST_NO_SKIP is set, so failing instead of skipping: %s", msg)
	}
	t.Skip(msg)
}

// ModuleRoot finds the directory holding go.mod above the working
// directory (go test runs in the package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// BuildMagawa builds ./cmd/magawa into out as `make build` does: static,
// without cgo (the gofer cannot confine a cgo binary).
func BuildMagawa(out string) error { return build(out, "./cmd/magawa") }

// BuildShim builds magawa's containerd shim (cmd/containerd-shim-magawa-v1)
// into out, statically. The shim runs the magawa next to it.
func BuildShim(out string) error { return build(out, "./cmd/containerd-shim-magawa-v1") }

func build(out, pkg string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}
