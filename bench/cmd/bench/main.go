// Command bench is `make bench`: it runs the benchmark suite (package
// bench/suite) under native, runc, runsc and magawa, and writes
// docs/benchmarks.md and docs/benchmarks.svg (package bench/report).
//
//	go run ./bench/cmd/bench                      # the full run, ~12 minutes
//	go run ./bench/cmd/bench -quick               # a smoke run, ~1 minute; writes into .cache/bench/quick/
//	go run ./bench/cmd/bench -run 'syscalls/' -runtimes 'native|magawa'
//	go run ./bench/cmd/bench -render .cache/bench/results.json   # the page again, from kept results
//
// It needs root (containers, network namespaces). With -install (as
// make bench has it) it installs the Debian packages of what is missing
// (runc, Debian's runsc, wrk, ...); runtimes that are still not there
// are skipped, as are cases whose programs are missing. The current
// gVisor is built once into .cache/bench (a few minutes). It
// exits 1 when a case fails natively, which is the harness broken (with
// -strict also when one fails under magawa); failures under a runtime are
// reported in the table. The times themselves are never checked.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"magawa/bench/report"
	"magawa/bench/suite"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		quick        = flag.Bool("quick", false, "a smoke run: one repetition of smaller workloads, written into .cache/bench/quick/ unless -out says otherwise")
		reps         = flag.Int("reps", 0, "repetitions of each case under each runtime (default 5, 1 with -quick)")
		cases        = flag.String("run", "", "run only the cases whose IDs (group/name, e.g. syscalls/getpid) match this regular expression")
		runtimes     = flag.String("runtimes", "", "run only the runtimes whose names (e.g. 'runsc-current ptrace') match this regular expression")
		out          = flag.String("out", "", "the Markdown page to write (default docs/benchmarks.md; .cache/bench/quick/benchmarks.md with -quick); the chart goes beside it with .svg")
		jsonOut      = flag.String("json", "", "where to keep the results as JSON (default: .cache/bench/results.json, quick-results.json with -quick)")
		render       = flag.String("render", "", "render the page and chart from this results JSON file instead of measuring")
		magawa       = flag.String("magawa", "bin/magawa", "the magawa binary to measure")
		platforms    = flag.String("magawa-platforms", "", "comma-separated magawa platforms (default: every one the binary has)")
		buildRunsc   = flag.Bool("build-runsc", true, "build the current gVisor runsc into the cache when it is not there (a few minutes)")
		runscVersion = flag.String("runsc-version", suite.RunscVersion, "the module version of gvisor.dev/gvisor/runsc to build as runsc-current")
		cacheDir     = flag.String("cache", ".cache/bench", "where builds (runsc) and results are kept between runs")
		workParent   = flag.String("workdir", "", "where the workspace (bundle, volume, state) is made, removed at the end (default: the system's temporary directory)")
		timeout      = flag.Duration("timeout", 0, "the longest one sample may take (default 5m, 2m with -quick)")
		install      = flag.Bool("install", false, "install the Debian packages of missing programs first (runc, runsc, wrk, busybox-static, ...) with apt-get")
		strict       = flag.Bool("strict", false, "exit 1 when a case fails under magawa too, not only natively")
		vmImage      = flag.String("vm-image", ".cache/vm", "the guest image of the VM sandbox (make vm-image) for the \"magawa vm\" runtime, skipped when it or qemu-system-x86_64 is missing; empty: no such runtime")
		kvm          = flag.Bool("kvm", false, "run runsc's kvm platform too (where KVM works: nested virtualization often has /dev/kvm without it)")
	)
	flag.Parse()
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench %6s  %s\n", time.Since(start).Round(time.Second), fmt.Sprintf(format, args...))
	}

	repo, err := findRepo()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	if !filepath.IsAbs(*cacheDir) {
		*cacheDir = filepath.Join(repo, *cacheDir)
	}
	mdPath := *out
	if mdPath == "" {
		mdPath = filepath.Join(repo, "docs", "benchmarks.md")
		if *quick {
			mdPath = filepath.Join(*cacheDir, "quick", "benchmarks.md")
		}
	}
	if *jsonOut == "" {
		*jsonOut = filepath.Join(*cacheDir, map[bool]string{false: "results.json", true: "quick-results.json"}[*quick])
	}

	if *render != "" {
		b, err := os.ReadFile(*render)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 2
		}
		var res suite.Results
		if err := json.Unmarshal(b, &res); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", *render, err)
			return 2
		}
		if err := write(&res, mdPath); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 2
		}
		logf("wrote %s and its chart", mdPath)
		return 0
	}

	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root: it runs containers and makes network namespaces")
		return 2
	}
	selectCases, err := optionalRegexp(*cases)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -run:", err)
		return 2
	}
	selectRuntimes, err := optionalRegexp(*runtimes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -runtimes:", err)
		return 2
	}
	if *reps <= 0 {
		*reps = 5
		if *quick {
			*reps = 1
		}
	}

	// An interrupt cancels the run; the workspace's cleanup (containers,
	// the veth and its namespace, files) runs on the way out all the same.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	if *timeout <= 0 {
		*timeout = 5 * time.Minute
		if *quick {
			*timeout = 2 * time.Minute
		}
	}

	if *install {
		if err := suite.InstallMissing(ctx, logf); err != nil {
			logf("not installed, skipped where needed: %v", err)
		}
	}

	d := suite.Discovery{Magawa: *magawa, RunscVersion: *runscVersion, Select: selectRuntimes, KVM: *kvm, VMImage: *vmImage}
	if !filepath.IsAbs(d.Magawa) {
		d.Magawa = filepath.Join(repo, d.Magawa)
	}
	if d.VMImage != "" && !filepath.IsAbs(d.VMImage) {
		d.VMImage = filepath.Join(repo, d.VMImage)
	}
	if *platforms != "" {
		d.MagawaPlatforms = strings.Split(*platforms, ",")
	}
	if selectRuntimes == nil || selectRuntimes.MatchString("runsc-current systrap") || selectRuntimes.MatchString("runsc-current ptrace") {
		if *buildRunsc {
			d.RunscCurrent, d.RunscCurrentErr = suite.BuildRunsc(ctx, *cacheDir, *runscVersion, logf)
		} else if p := suite.CachedRunsc(*cacheDir, *runscVersion); fileExists(p) {
			d.RunscCurrent = p
		}
		if d.RunscCurrentErr != nil {
			logf("runsc-current is skipped: %v", d.RunscCurrentErr)
		}
	}
	if ctx.Err() != nil {
		return 130
	}
	rts := suite.Discover(ctx, d)
	for _, rt := range rts {
		if rt.Skip != "" {
			logf("runtime %s: skipped: %s", rt.Name, rt.Skip)
		} else {
			logf("runtime %s: %s", rt.Name, rt.Version)
		}
	}

	w, err := suite.NewWorkspace(ctx, *workParent, repo, *quick, rts, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: the workspace:", err)
		return 2
	}
	defer w.Close() // also on a panic
	res := suite.Run(ctx, w, rts, suite.Options{Reps: *reps, Select: selectCases, Timeout: *timeout, Log: logf})
	logf("cleaning up")
	w.Close()

	if err := os.MkdirAll(filepath.Dir(*jsonOut), 0o755); err == nil {
		if b, err := json.MarshalIndent(res, "", "\t"); err == nil {
			os.WriteFile(*jsonOut, b, 0o644)
		}
	}
	if res.Interrupted {
		// The page keeps the last complete run's results; what this
		// one measured is in the JSON file, for -render.
		logf("interrupted: %s not written; what was measured is in %s", mdPath, *jsonOut)
		return 130
	}
	if err := write(res, mdPath); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	logf("wrote %s, its chart, and %s (took %s)", mdPath, *jsonOut, res.Duration)
	fatal := []suite.Kind{suite.Native}
	if *strict {
		fatal = append(fatal, suite.Magawa)
	}
	code := 0
	for _, k := range []suite.Kind{suite.Native, suite.Runc, suite.Runsc, suite.Magawa} {
		for _, f := range res.Failed(k) {
			if slices.Contains(fatal, k) {
				logf("FAILED: %s", f)
				code = 1
			} else {
				logf("failed (in the table, not an error of the harness): %s", f)
			}
		}
	}
	return code
}

// write writes the page at mdPath and the chart beside it.
func write(res *suite.Results, mdPath string) error {
	svgPath := strings.TrimSuffix(mdPath, filepath.Ext(mdPath)) + ".svg"
	if err := os.MkdirAll(filepath.Dir(mdPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(mdPath, []byte(report.Markdown(res, filepath.Base(svgPath))), 0o644); err != nil {
		return err
	}
	return os.WriteFile(svgPath, []byte(report.SVG(res)), 0o644)
}

// findRepo is the magawa repository the command runs in: the directory
// of the go.mod of module magawa, here or above.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module magawa\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the magawa repository (no go.mod of module magawa here or above)")
		}
		dir = parent
	}
}

func optionalRegexp(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, nil
	}
	return regexp.Compile(s)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
