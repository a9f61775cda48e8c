package suite

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RunscModule is the gVisor build compared as "runsc-current": a pinned
// commit, so that results of different days compare the same runsc.
const RunscModule = "gvisor.dev/gvisor/runsc"

// RunscVersion is its module version (gVisor's go branch).
const RunscVersion = "v0.0.0-20260905035102-160fafc42237"

// CachedRunsc is where BuildRunsc keeps the build of version under
// cacheDir, whether it is there yet or not.
func CachedRunsc(cacheDir, version string) string {
	return filepath.Join(cacheDir, "runsc-"+version, "runsc")
}

// BuildRunsc returns the current gVisor's runsc, built static (as gVisor
// requires: its sandbox re-executes itself in an empty root) with `go
// install` through the module proxy into cacheDir the first time (about
// three minutes) and reused afterwards. The build's output is kept in
// build.log beside it.
func BuildRunsc(ctx context.Context, cacheDir, version string, log func(string, ...any)) (string, error) {
	bin := CachedRunsc(cacheDir, version)
	if err := checkStatic(bin); err == nil {
		return bin, nil
	}
	dir := filepath.Dir(bin)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	goBin, err := goTool()
	if err != nil {
		return "", err
	}
	// GOBIN is a fresh directory: a build that fails half-way leaves
	// nothing that looks like a finished one.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	logPath := filepath.Join(dir, "build.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	log("building %s@%s into %s (a few minutes the first time; log: %s)", RunscModule, version, dir, logPath)
	cmd := exec.CommandContext(ctx, goBin, "install", RunscModule+"@"+version)
	// Outside any module: `go install pkg@version` ignores the current
	// one anyway, but a GOFLAGS=-mod=vendor of the caller's would not.
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOBIN="+tmp, "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %v: %s", RunscModule, version, err, lastLine(logPath))
	}
	built := filepath.Join(tmp, "runsc")
	if err := checkStatic(built); err != nil {
		return "", err
	}
	if err := os.Rename(built, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// checkStatic fails unless path is an executable without an ELF
// interpreter or shared libraries.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is not static: it has an ELF interpreter", path)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("%s is not static: it needs %v", path, libs)
	}
	return nil
}

// goTool finds the go command: in PATH, or where a fresh Debian machine
// of this project has it.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	const fallback = "/usr/local/go/bin/go"
	if _, err := os.Stat(fallback); err == nil {
		return fallback, nil
	}
	return "", fmt.Errorf("no go command in PATH or %s", fallback)
}

func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
