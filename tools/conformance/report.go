package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Totals sums a runtime's outcomes.
type Totals struct {
	Passed, Failed, Skipped int
	Crashed                 int // runs with problems (each also counted in Failed)
	Programs                int
}

// Totals of the named runtime.
func (r *Report) Totals(runtime string) Totals {
	var t Totals
	for _, p := range r.Programs {
		o := r.Outcomes[p][runtime]
		if o == nil {
			continue
		}
		t.Programs++
		t.Passed += o.Passed()
		t.Failed += o.Failed()
		t.Skipped += o.Skipped()
		if len(o.Problems) > 0 {
			t.Crashed++
		}
	}
	return t
}

// TotalsLine is "magawa: N passed, M failed, S skipped; runc: ...".
func (r *Report) TotalsLine() string {
	var parts []string
	for _, rt := range r.Runtimes {
		t := r.Totals(rt)
		parts = append(parts, fmt.Sprintf("%s: %d passed, %d failed, %d skipped", rt, t.Passed, t.Failed, t.Skipped))
	}
	return strings.Join(parts, "; ")
}

// WriteTable prints one row per program: each runtime's passes, failures
// and skips, and why a run counts as a failure beyond its TAP.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "%-36s", "program")
	for _, rt := range r.Runtimes {
		fmt.Fprintf(w, " %22s", rt+" pass/fail/skip")
	}
	fmt.Fprintln(w, "  notes")
	for _, p := range r.Programs {
		fmt.Fprintf(w, "%-36s", p)
		var notes []string
		for _, rt := range r.Runtimes {
			o := r.Outcomes[p][rt]
			if o == nil {
				fmt.Fprintf(w, " %22s", "-")
				continue
			}
			mark := " "
			if other := r.other(p, rt); rt == r.Runtimes[0] && other != nil && o.Failed() > other.Failed() {
				mark = "*" // fails more than the reference runtime
			}
			fmt.Fprintf(w, " %21s%s", fmt.Sprintf("%d/%d/%d", o.Passed(), o.Failed(), o.Skipped()), mark)
			for _, pr := range o.Problems {
				notes = append(notes, rt+": "+pr)
			}
			if o.Silent {
				notes = append(notes, rt+": passed silently (no test line, no error, exit 0)")
			}
		}
		fmt.Fprintf(w, "  %s\n", strings.Join(notes, "; "))
	}
	fmt.Fprintln(w)
	for _, rt := range r.Runtimes {
		t := r.Totals(rt)
		fmt.Fprintf(w, "%s: %d programs, %d crashed, timed out or broke TAP\n", rt, t.Programs, t.Crashed)
	}
	fmt.Fprintln(w, r.TotalsLine())
}

// other is the outcome of the second runtime (the reference), if any.
func (r *Report) other(prog, rt string) *Outcome {
	for _, o := range r.Runtimes {
		if o != rt {
			return r.Outcomes[prog][o]
		}
	}
	return nil
}

// WriteHygiene prints what the run left on the host.
func (r *Report) WriteHygiene(w io.Writer) {
	leftovers := 0
	for _, p := range r.Programs {
		for _, rt := range r.Runtimes {
			if o := r.Outcomes[p][rt]; o != nil && len(o.Leftovers) > 0 {
				leftovers++
				fmt.Fprintf(w, "cleaned up after %s/%s: %s\n", rt, p, strings.Join(o.Leftovers, "; "))
			}
		}
	}
	if leftovers == 0 {
		fmt.Fprintln(w, "no program left containers, processes or mounts behind")
	}
	if len(r.MountsLeft) == 0 && len(r.ProcessesLeft) == 0 {
		fmt.Fprintln(w, "host clean: no mounts below the work directory, no processes left")
	}
	for _, m := range r.MountsLeft {
		fmt.Fprintln(w, "LEFT MOUNTED:", m)
	}
	for _, p := range r.ProcessesLeft {
		fmt.Fprintln(w, "LEFT RUNNING:", p)
	}
	for _, m := range r.MountsElsewhere {
		fmt.Fprintln(w, "new mount outside the work directory (another program on the host?):", m)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// WriteResults writes summary.txt (the table and the hygiene report),
// failures.txt (every failure of every runtime with its diagnostics) and
// summary.json into dir; the TAP logs are already there.
func (r *Report) WriteResults(dir string) error {
	var sum strings.Builder
	fmt.Fprintf(&sum, "runtime-tools %s (%s), %s, %.0fs\n\n", r.Suite.Version, Module, r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Duration.Seconds())
	r.WriteTable(&sum)
	fmt.Fprintln(&sum)
	r.WriteHygiene(&sum)
	if err := os.WriteFile(filepath.Join(dir, "summary.txt"), []byte(sum.String()), 0o644); err != nil {
		return err
	}

	var f strings.Builder
	for _, rt := range r.Runtimes {
		fmt.Fprintf(&f, "######## %s\n\n", rt)
		for _, p := range r.Programs {
			o := r.Outcomes[p][rt]
			if o == nil || o.Failed() == 0 {
				continue
			}
			fmt.Fprintf(&f, "=== %s/%s: %d passed, %d failed, %d skipped (%s, %.1fs)\n", rt, p, o.Passed(), o.Failed(), o.Skipped(), o.Status, o.Duration.Seconds())
			for _, pr := range o.Problems {
				fmt.Fprintf(&f, "PROBLEM: %s\n", pr)
			}
			if len(o.Problems) > 0 && o.StderrTail != "" {
				fmt.Fprintf(&f, "stderr (end):\n%s\n", indent(o.StderrTail))
			}
			for _, fl := range o.TAP.Failures {
				if fl.Num == 0 {
					fmt.Fprintf(&f, "error block (no test line) - %s\n", fl.Description)
				} else {
					fmt.Fprintf(&f, "not ok %d - %s\n", fl.Num, fl.Description)
				}
				for _, inner := range fl.Inner() {
					fmt.Fprintf(&f, "  inside: %s\n", inner)
				}
				if fl.Diagnostic != "" {
					fmt.Fprint(&f, indent(strings.TrimRight(fl.Diagnostic, "\n"))+"\n")
				}
			}
			fmt.Fprintln(&f)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "failures.txt"), []byte(f.String()), 0o644); err != nil {
		return err
	}

	type jsonOutcome struct {
		Passed, Failed, Skipped int
		Status                  string
		TimedOut                bool      `json:",omitempty"`
		Seconds                 float64   `json:"seconds"`
		Problems                []string  `json:",omitempty"`
		Leftovers               []string  `json:",omitempty"`
		Failures                []Failure `json:",omitempty"`
	}
	out := struct {
		Module, Version string
		Totals          map[string]Totals
		Programs        map[string]map[string]jsonOutcome
		MountsLeft      []string `json:",omitempty"`
		ProcessesLeft   []string `json:",omitempty"`
	}{Module: Module, Version: r.Suite.Version, Totals: map[string]Totals{}, Programs: map[string]map[string]jsonOutcome{},
		MountsLeft: r.MountsLeft, ProcessesLeft: r.ProcessesLeft}
	for _, rt := range r.Runtimes {
		out.Totals[rt] = r.Totals(rt)
	}
	for _, p := range r.Programs {
		out.Programs[p] = map[string]jsonOutcome{}
		for rt, o := range r.Outcomes[p] {
			out.Programs[p][rt] = jsonOutcome{o.Passed(), o.Failed(), o.Skipped(), o.Status, o.TimedOut,
				o.Duration.Seconds(), o.Problems, o.Leftovers, o.TAP.Failures}
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "summary.json"), append(b, '\n'), 0o644)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
