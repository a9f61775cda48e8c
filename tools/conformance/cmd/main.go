package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"magawa/tools/conformance"
)

func main() {
	magawa := flag.String("magawa", "bin/magawa", "the magawa binary to test")
	magawaFlags := flag.String("magawa-flags", "", "extra global flags for magawa, space-separated (e.g. --overlay=none)")
	runc := flag.String("runc", "", "the runc binary to compare with (default: runc on PATH, or /usr/sbin/runc)")
	runtimes := flag.String("runtimes", "magawa,runc", "the runtimes to run the suite against, comma-separated: magawa, runc")
	version := flag.String("version", conformance.DefaultVersion, "the runtime-tools module version (a tag or a full pseudo-version)")
	cache := flag.String("cache", ".cache/runtime-tools", "where runtime-tools is built, once per version")
	results := flag.String("results", ".cache/conformance", "where the TAP logs and the summary go (emptied first)")
	timeout := flag.Duration("timeout", 60*time.Second, "the time one program may take against one runtime")
	run := flag.String("run", "", "only the validation programs whose names match this regular expression")
	buildOnly := flag.Bool("build-only", false, "fetch and build the suite, run nothing")
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := mainErr(*magawa, strings.Fields(*magawaFlags), *runc, *runtimes, *version, *cache, *results, *run, *timeout, *buildOnly); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

func mainErr(magawa string, magawaFlags []string, runc, runtimes, version, cache, results, run string, timeout time.Duration, buildOnly bool) error {
	var only *regexp.Regexp
	if run != "" {
		var err error
		if only, err = regexp.Compile(run); err != nil {
			return fmt.Errorf("-run: %w", err)
		}
	}
	// Fetch runs go and make with os/exec: before the reaper starts.
	suite, err := conformance.Fetch(cache, version, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("runtime-tools %s: %d validation programs in %s\n", version, len(suite.Programs), suite.Dir)
	if buildOnly {
		return nil
	}

	var rts []*conformance.Runtime
	for _, name := range strings.Split(runtimes, ",") {
		var bin string
		var flags []string
		switch strings.TrimSpace(name) {
		case "magawa":
			bin, flags = magawa, magawaFlags
		case "runc":
			bin = runc
			if bin == "" {
				if bin, err = exec.LookPath("runc"); err != nil {
					bin = "/usr/sbin/runc"
				}
			}
		default:
			return fmt.Errorf("-runtimes: unknown runtime %q (magawa, runc)", name)
		}
		abs, err := filepath.Abs(bin)
		if err != nil {
			return err
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s: %s is not an executable (make build; apt-get install runc)", name, abs)
		}
		rts = append(rts, &conformance.Runtime{Name: strings.TrimSpace(name), Bin: abs, Flags: flags})
	}

	resultsDir, err := filepath.Abs(results)
	if err != nil {
		return err
	}
	if err := conformance.RemoveTree(resultsDir); err != nil {
		return err
	}
	if err := os.MkdirAll(resultsDir, 0o755); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reaper, err := conformance.StartReaper()
	if err != nil {
		return err
	}
	fmt.Printf("each program against %s, %v at most each; pass/fail/skip per runtime\n", runtimes, timeout)
	rep, err := conformance.Run(ctx, reaper, conformance.Options{
		Suite: suite, Runtimes: rts, Timeout: timeout, Only: only, Results: resultsDir, Log: os.Stdout,
	})
	if rep == nil {
		return err
	}
	fmt.Println()
	rep.WriteTable(os.Stdout)
	fmt.Println()
	rep.WriteHygiene(os.Stdout)
	if werr := rep.WriteResults(resultsDir); werr != nil && err == nil {
		err = werr
	}
	fmt.Printf("\nTAP logs, runtime logs, failures.txt and summary.txt: %s\n", resultsDir)
	fmt.Println(rep.TotalsLine())
	if err != nil {
		return err
	}
	if len(rep.MountsLeft) > 0 || len(rep.ProcessesLeft) > 0 {
		return fmt.Errorf("the run left mounts or processes on the host (above)")
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}
