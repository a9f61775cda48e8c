package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Module is the Go module of the validation suite.
const Module = "github.com/opencontainers/runtime-tools"

// DefaultVersion is the version of Module the harness builds. The Go
// module proxy serves the repository only at tagged versions and full
// pseudo-versions (v0.9.0 predates the validation programs' current
// form); branch names are refused.
const DefaultVersion = "v0.9.1-0.20251114084447-edf4cb3d2116"

// Suite is a built copy of runtime-tools: the validation programs run in
// Dir, where they find runtimetest and rootfs-<arch>.tar.gz.
type Suite struct {
	Dir      string
	Version  string
	Programs []string // "default", "linux_cgroups_cpus", ...: validation/NAME/NAME.t
}

// Path is the executable of the named program.
func (s *Suite) Path(name string) string {
	return filepath.Join(s.Dir, "validation", name, name+".t")
}

var versionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// Fetch returns the suite at version, building it into cacheDir/version
// the first time: the module is downloaded through the Go module proxy
// (go mod download), copied to a writable directory without its stale
// vendor/, and built with the module's own Makefile (make runtimetest
// validation-executables). A build log stays next to it.
func Fetch(cacheDir, version string, log io.Writer) (*Suite, error) {
	if !versionRE.MatchString(version) {
		return nil, fmt.Errorf("runtime-tools version %q: the module proxy needs a tag or a full pseudo-version (vX.Y.Z-0.YYYYMMDDhhmmss-commit12chars), not a branch name", version)
	}
	dir, err := filepath.Abs(filepath.Join(cacheDir, version))
	if err != nil {
		return nil, err
	}
	src := filepath.Join(dir, "src")
	stamp := filepath.Join(dir, ".built")
	if s, err := loadSuite(src, version); err == nil && exists(stamp) {
		return s, nil
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another run may have built it while this one waited for the lock.
	if s, err := loadSuite(src, version); err == nil && exists(stamp) {
		return s, nil
	}

	goBin, err := findGo()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "conformance: fetching %s@%s through the Go module proxy\n", Module, version)
	modDir, err := download(goBin, version)
	if err != nil {
		return nil, err
	}

	os.Remove(stamp)
	if err := RemoveTree(src); err != nil {
		return nil, err
	}
	if err := copyTree(modDir, src); err != nil {
		return nil, fmt.Errorf("copying %s: %w", modDir, err)
	}
	// The module's vendor/ is stale (it lists modules go.mod no longer
	// requires); without it the build resolves go.mod through the proxy.
	if err := RemoveTree(filepath.Join(src, "vendor")); err != nil {
		return nil, err
	}

	buildLog, err := os.Create(filepath.Join(dir, "build.log"))
	if err != nil {
		return nil, err
	}
	defer buildLog.Close()
	fmt.Fprintf(log, "conformance: building runtimetest and the validation programs in %s (log: %s)\n", src, buildLog.Name())
	env := append(os.Environ(),
		"PATH="+filepath.Dir(goBin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off",
		// runtimetest runs inside the bundle's busybox root: it must be
		// static, which the internal linker gives without gcc -static.
		"CGO_ENABLED=0",
	)
	makeArgs := []string{"-j", fmt.Sprint(runtime.NumCPU()), "runtimetest", "validation-executables"}
	if err := runLogged(buildLog, src, env, "make", makeArgs...); err != nil {
		// A newer Go may want go.mod and go.sum tidied first.
		fmt.Fprintln(buildLog, "conformance: build failed; go mod tidy, then once more")
		if err2 := runLogged(buildLog, src, env, goBin, "mod", "tidy"); err2 != nil {
			return nil, fmt.Errorf("building runtime-tools: %v; go mod tidy: %v (see %s)", err, err2, buildLog.Name())
		}
		if err := runLogged(buildLog, src, env, "make", makeArgs...); err != nil {
			return nil, fmt.Errorf("building runtime-tools: %v (see %s)", err, buildLog.Name())
		}
	}
	s, err := loadSuite(src, version)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(stamp, []byte(version+" "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return nil, err
	}
	return s, nil
}

// loadSuite checks that src holds a build and lists its programs.
func loadSuite(src, version string) (*Suite, error) {
	for _, f := range []string{"runtimetest", "rootfs-" + runtime.GOARCH + ".tar.gz"} {
		if !exists(filepath.Join(src, f)) {
			return nil, fmt.Errorf("%s: no %s", src, f)
		}
	}
	matches, err := filepath.Glob(filepath.Join(src, "validation", "*", "*.t"))
	if err != nil {
		return nil, err
	}
	s := &Suite{Dir: src, Version: version}
	for _, m := range matches {
		name := strings.TrimSuffix(filepath.Base(m), ".t")
		if filepath.Base(filepath.Dir(m)) == name {
			s.Programs = append(s.Programs, name)
		}
	}
	if len(s.Programs) == 0 {
		return nil, fmt.Errorf("%s: no validation programs", src)
	}
	sort.Strings(s.Programs)
	return s, nil
}

func findGo() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if exists(p) {
		return p, nil
	}
	if exists("/usr/local/go/bin/go") {
		return "/usr/local/go/bin/go", nil
	}
	return "", errors.New("no go command on PATH (nor in /usr/local/go/bin)")
}

// download runs go mod download outside any module (so that no go.mod or
// go.sum of this repository changes) and returns the module's directory
// in the module cache (read-only).
func download(goBin, version string) (string, error) {
	cmd := exec.Command(goBin, "mod", "download", "-json", Module+"@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil && err == nil {
		err = jerr
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", Module, version, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", Module, version, err, strings.TrimSpace(stderr.String()))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no directory in %s", Module, version, out)
	}
	return info.Dir, nil
}

func runLogged(log io.Writer, dir string, env []string, name string, args ...string) error {
	fmt.Fprintf(log, "$ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = log
	cmd.Stderr = log
	return cmd.Run()
}

// copyTree copies the module cache's read-only tree into a writable one.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		case d.Type().IsRegular():
			in, err := os.Open(path)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm()|0o200)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		}
		return nil // no devices or sockets in a module zip
	})
}

// lockFile takes an exclusive flock, so that two runs do not build into
// the same cache directory at once.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
