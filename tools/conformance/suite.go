package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Runtime is one runtime under test.
type Runtime struct {
	Name string // "magawa", "runc"
	Bin  string // its executable, absolute
	// Flags are extra global flags for every call (e.g. --overlay=none).
	Flags []string

	root    string // its state root (--root), in the work directory
	wrapper string // the RUNTIME the programs get
}

// Options configure a Run.
type Options struct {
	Suite    *Suite
	Runtimes []*Runtime
	Timeout  time.Duration  // per program and runtime
	Only     *regexp.Regexp // programs to run; nil is all
	Results  string         // directory for the TAP logs and the summary
	Log      io.Writer      // progress
}

// Outcome is one program run against one runtime.
type Outcome struct {
	Program, Runtime string
	TAP              *TAP
	Status           string // "exit status 0", "killed by SIGKILL", ...
	TimedOut         bool
	Duration         time.Duration
	// Problems are why the run counts as one more failure beyond its
	// "not ok" lines: a timeout, a crash, a broken TAP stream.
	Problems []string
	// Leftovers are what the program left behind and the harness
	// cleaned up: containers, processes, mounts.
	Leftovers []string
	// StderrTail is the end of the program's standard error.
	StderrTail string
	// Silent is a pass the program reported by saying nothing (no test
	// line, no error, exit status 0), counted as one passed test.
	Silent bool
}

// silentOnSuccess are the programs that print nothing at all when they
// pass: they check that create fails for an invalid config, and only if
// it does not do they print an error and exit 1 (util.Fatal).
var silentOnSuccess = map[string]bool{
	"process_capabilities_fail": true,
	"process_rlimits_fail":      true,
}

// Passed, Failed and Skipped count tests; a run with problems counts one
// failure more than its "not ok" lines.
func (o *Outcome) Passed() int  { return o.TAP.Pass }
func (o *Outcome) Skipped() int { return o.TAP.Skip }
func (o *Outcome) Failed() int {
	n := o.TAP.Fail
	if len(o.Problems) > 0 {
		n++
	}
	return n
}

// Report is a whole run.
type Report struct {
	Suite    *Suite
	Runtimes []string
	Programs []string
	Outcomes map[string]map[string]*Outcome // program → runtime → outcome
	Started  time.Time
	Duration time.Duration
	// Host hygiene after the run: mounts that appeared (below the work
	// directory: left by the suite and unmounted; elsewhere: possibly
	// other activity on the host) and processes still alive.
	MountsLeft      []string
	MountsElsewhere []string
	ProcessesLeft   []string
	Notes           []string
}

// Run runs the suite. It must be called with a Reaper running (and no
// other child processes waited for by anyone else).
func Run(ctx context.Context, reaper *Reaper, opt Options) (*Report, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the validation programs create containers: run as root")
	}
	rep := &Report{Suite: opt.Suite, Started: time.Now(), Outcomes: make(map[string]map[string]*Outcome)}
	for _, p := range opt.Suite.Programs {
		if opt.Only == nil || opt.Only.MatchString(p) {
			rep.Programs = append(rep.Programs, p)
		}
	}
	if len(rep.Programs) == 0 {
		return nil, errors.New("no validation program matches")
	}
	for _, rt := range opt.Runtimes {
		rep.Runtimes = append(rep.Runtimes, rt.Name)
	}

	mountsBefore, err := ReadMounts()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "magawa-conformance-")
	if err != nil {
		return nil, err
	}
	if work, err = filepath.EvalSymlinks(work); err != nil {
		return nil, err
	}
	// Searchable by all, like /tmp, where the programs would otherwise
	// put their bundles: a container with a user namespace (uid 0 is
	// some other host uid) must reach its bundle.
	if err := os.Chmod(work, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if _, alive, _ := KillLeftovers(10 * time.Second); len(alive) > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%d processes still alive", len(alive)))
		}
		if _, err := UnmountBelow(work); err != nil {
			rep.Notes = append(rep.Notes, "cleaning up: "+err.Error())
		}
		if err := RemoveTree(work); err != nil {
			rep.Notes = append(rep.Notes, "cleaning up: "+err.Error())
		}
	}()
	for _, rt := range opt.Runtimes {
		if err := rt.setup(work); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(opt.Results, rt.Name), 0o755); err != nil {
			return nil, err
		}
	}

	for i, prog := range rep.Programs {
		if ctx.Err() != nil {
			rep.Notes = append(rep.Notes, "interrupted: the run is incomplete")
			rep.Programs = rep.Programs[:i]
			break
		}
		rep.Outcomes[prog] = make(map[string]*Outcome)
		line := fmt.Sprintf("[%2d/%d] %-36s", i+1, len(rep.Programs), prog)
		for _, rt := range opt.Runtimes {
			if ctx.Err() != nil {
				break
			}
			o, err := runOne(ctx, reaper, opt, rt, prog, work)
			if err != nil {
				return rep, err
			}
			rep.Outcomes[prog][rt.Name] = o
			line += fmt.Sprintf("  %s %d/%d/%d %5.1fs", rt.Name, o.Passed(), o.Failed(), o.Skipped(), o.Duration.Seconds())
			if o.TimedOut {
				line += " TIMEOUT"
			}
		}
		fmt.Fprintln(opt.Log, line)
	}

	// The suite's own cleanup and ours are done; what remains is reported.
	if _, err := UnmountBelow(work); err != nil {
		rep.Notes = append(rep.Notes, err.Error())
	}
	_, alive, err := KillLeftovers(10 * time.Second)
	if err != nil {
		rep.Notes = append(rep.Notes, err.Error())
	}
	for _, p := range alive {
		rep.ProcessesLeft = append(rep.ProcessesLeft, p.String())
	}
	mountsAfter, err := ReadMounts()
	if err != nil {
		return rep, err
	}
	old := make(map[int]bool)
	for _, m := range mountsBefore {
		old[m.ID] = true
	}
	for _, m := range mountsAfter {
		if old[m.ID] {
			continue
		}
		if Below(m.Point, work) {
			rep.MountsLeft = append(rep.MountsLeft, m.String())
		} else {
			rep.MountsElsewhere = append(rep.MountsElsewhere, m.String())
		}
	}
	if n := reaper.Orphans(); n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d orphaned processes of the runtimes were reaped by the harness (a runtime's detached processes exit after their command)", n))
	}
	rep.Duration = time.Since(rep.Started)
	return rep, nil
}

// setup makes the runtime's state root and the wrapper the programs run
// as $RUNTIME: the validation programs call "$RUNTIME create ..." with no
// global flags, so the wrapper adds --root (each runtime gets its own,
// and the harness can delete whatever a program leaves there) and --log
// (a JSON log per program, next to its TAP output).
func (rt *Runtime) setup(work string) error {
	if strings.ContainsAny(rt.Bin+work+strings.Join(rt.Flags, ""), "'\n") {
		return fmt.Errorf("paths and flags with quotes or newlines are not supported: %q, %q, %q", rt.Bin, work, rt.Flags)
	}
	var flags string
	for _, f := range rt.Flags {
		flags += " '" + f + "'"
	}
	rt.root = filepath.Join(work, "state", rt.Name)
	if err := os.MkdirAll(rt.root, 0o700); err != nil {
		return err
	}
	bin := filepath.Join(work, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	rt.wrapper = filepath.Join(bin, rt.Name)
	script := fmt.Sprintf("#!/bin/sh\nexec '%s'%s --root '%s' --log \"${CONFORMANCE_RUNTIME_LOG:-/dev/null}\" --log-format json \"$@\"\n", rt.Bin, flags, rt.root)
	return os.WriteFile(rt.wrapper, []byte(script), 0o755)
}

func runOne(ctx context.Context, reaper *Reaper, opt Options, rt *Runtime, prog, work string) (*Outcome, error) {
	o := &Outcome{Program: prog, Runtime: rt.Name}
	tmp := filepath.Join(work, "tmp", rt.Name, prog)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(opt.Results, rt.Name, prog)
	tapPath, errPath, logPath := base+".tap", base+".stderr", base+".log"
	for _, p := range []string{tapPath, errPath, logPath} {
		os.Remove(p)
	}
	stdout, err := os.Create(tapPath)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.Create(errPath)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	env := []string{"RUNTIME=" + rt.wrapper, "TMPDIR=" + tmp, "CONFORMANCE_RUNTIME_LOG=" + logPath}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "RUNTIME" && k != "TMPDIR" && k != "CONFORMANCE_RUNTIME_LOG" {
			env = append(env, kv)
		}
	}
	start := time.Now()
	p, err := reaper.Start([]string{opt.Suite.Path(prog)}, env, opt.Suite.Dir, nil, stdout, stderr)
	if err != nil {
		return nil, err
	}
	ws, timedOut := p.Wait(ctx, opt.Timeout)
	o.Duration = time.Since(start)
	o.Status = describeStatus(ws)
	o.TimedOut = timedOut

	// Whatever is left: first the runtime's containers, then processes,
	// then mounts, and only then files.
	// Cleaning up goes on after an interrupt: not under ctx.
	o.Leftovers = append(o.Leftovers, cleanContainers(context.Background(), reaper, rt)...)
	found, alive, err := KillLeftovers(10 * time.Second)
	if err != nil {
		return nil, err
	}
	for _, f := range found {
		o.Leftovers = append(o.Leftovers, "process "+f.String())
	}
	for _, a := range alive {
		o.Leftovers = append(o.Leftovers, "process still alive after SIGKILL: "+a.String())
	}
	unmounted, err := UnmountBelow(work)
	for _, m := range unmounted {
		o.Leftovers = append(o.Leftovers, "mount "+m.String())
	}
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", rt.Name, prog, err)
	}
	if err := RemoveTree(tmp); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", rt.Name, prog, err)
	}

	if _, err := stdout.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if o.TAP, err = ParseTAP(stdout); err != nil {
		return nil, err
	}
	o.StderrTail = tail(errPath, 12)
	exited0 := !timedOut && ws.Exited() && ws.ExitStatus() == 0
	if t := o.TAP; exited0 && t.Tests() == 0 && t.Fail == 0 && t.BailOut == "" {
		switch {
		case t.Plan == 0 && t.SkipAll == "":
			// The lifecycle programs (poststop, prestart_fail, ...)
			// report a failure only as an error block: plan 1..0
			// without one is their pass.
			t.Pass, o.Silent = 1, true
		case t.Plan < 0 && silentOnSuccess[prog]:
			t.Pass, o.Silent = 1, true
			t.Problems = nil // "no TAP output" is how they pass
		}
	}
	switch {
	case timedOut:
		o.Problems = append(o.Problems, fmt.Sprintf("timed out after %v (process group killed)", opt.Timeout))
	case ctx.Err() != nil:
		o.Problems = append(o.Problems, "interrupted")
	case !ws.Exited() || ws.ExitStatus() != 0:
		reason := o.Status
		if last := lastLine(o.StderrTail); last != "" && last != o.Status {
			reason += ": " + last
		}
		// The programs often print only "exit status 1" for a runtime
		// that failed: its own last error says why.
		if msg := lastLogError(logPath); msg != "" {
			reason += " (" + rt.Name + ": " + msg + ")"
		}
		o.Problems = append(o.Problems, reason)
	}
	o.Problems = append(o.Problems, o.TAP.Problems...)
	return o, nil
}

// cleanContainers deletes (--force) every container in the runtime's
// state root and returns their IDs.
func cleanContainers(ctx context.Context, reaper *Reaper, rt *Runtime) []string {
	ids := make(map[string]bool)
	out, _, err := reaper.Output(ctx, 30*time.Second, []string{rt.Bin, "--root", rt.root, "list", "-q"}, os.Environ())
	if err == nil {
		for _, id := range strings.Fields(out) {
			ids[id] = true
		}
	}
	if ents, err := os.ReadDir(rt.root); err == nil {
		for _, e := range ents {
			if e.IsDir() {
				ids[e.Name()] = true
			}
		}
	}
	var left []string
	var sorted []string
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	for _, id := range sorted {
		_, errOut, err := reaper.Output(ctx, 30*time.Second, []string{rt.Bin, "--root", rt.root, "delete", "--force", id}, os.Environ())
		what := "container " + id
		if err != nil {
			what += fmt.Sprintf(" (delete --force: %v: %s)", err, strings.TrimSpace(errOut))
		}
		left = append(left, what)
	}
	// A state directory the runtime no longer knows is removed by hand
	// (nothing is mounted in a state root).
	if ents, err := os.ReadDir(rt.root); err == nil {
		for _, e := range ents {
			p := filepath.Join(rt.root, e.Name())
			if err := RemoveTree(p); err != nil {
				left = append(left, "state "+p+": "+err.Error())
			}
		}
	}
	return left
}

// lastLogError is the message of the last error in a runtime's JSON log.
func lastLogError(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var msg string
	for _, line := range strings.Split(string(b), "\n") {
		var e struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Level == "error" {
			msg = e.Msg
		}
	}
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return msg
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
