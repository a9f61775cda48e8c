package suite

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Results are everything a run measured: what report renders, and what
// the command keeps as JSON for rendering again.
type Results struct {
	Started     time.Time     `json:"started"`
	Duration    time.Duration `json:"duration"`
	Quick       bool          `json:"quick,omitempty"`
	Reps        int           `json:"reps"`
	Interrupted bool          `json:"interrupted,omitempty"`
	Machine     Machine       `json:"machine"`
	Facts       []string      `json:"facts,omitempty"`
	Runtimes    []RuntimeInfo `json:"runtimes"`
	Cases       []CaseResult  `json:"cases"`
}

// RuntimeInfo is what the results say of a runtime.
type RuntimeInfo struct {
	Name     string `json:"name"`
	Kind     Kind   `json:"kind"`
	Build    string `json:"build,omitempty"`
	Platform string `json:"platform,omitempty"`
	HostNet  bool   `json:"hostNet,omitempty"`
	Sandbox  string `json:"sandbox,omitempty"`
	Version  string `json:"version,omitempty"`
	Skip     string `json:"skip,omitempty"`
}

// CaseResult is one case's samples under every runtime.
type CaseResult struct {
	ID      string           `json:"id"`
	Group   string           `json:"group"`
	Metrics []Metric         `json:"metrics"`
	Cells   map[string]*Cell `json:"cells"` // by runtime name
}

// Cell is one case under one runtime.
type Cell struct {
	// Samples has one entry per repetition, each one value per metric.
	Samples [][]float64 `json:"samples,omitempty"`
	Skip    string      `json:"skip,omitempty"` // why it did not run
	Err     string      `json:"err,omitempty"`  // why it failed (it is not run again)
}

// Values are the samples of metric m.
func (c *Cell) Values(m int) []float64 {
	var vs []float64
	for _, s := range c.Samples {
		if m < len(s) {
			vs = append(vs, s[m])
		}
	}
	return vs
}

// Options are how Run runs.
type Options struct {
	Reps    int            // samples per case and runtime
	Select  *regexp.Regexp // the cases whose IDs match; nil: all
	Timeout time.Duration  // of one sample
	Log     func(format string, args ...any)
}

// Run takes each case through each runtime, opts.Reps times. Within a
// repetition the runtimes take turns, the first of them one further
// along each time, so that neither the machine's drift nor a warm cache
// favours one. A runtime that fails a case is not run on it again. An
// interrupt (ctx cancelled) ends the run with what was measured so far.
func Run(ctx context.Context, w *Workspace, rts []*Runtime, opts Options) *Results {
	res := &Results{Started: time.Now(), Quick: w.Quick, Reps: opts.Reps, Machine: DescribeMachine(ctx, w.Repo), Facts: w.Facts}
	for _, rt := range rts {
		if rt.Platform == "kvm" {
			res.Machine.KVM = true
		}
		res.Runtimes = append(res.Runtimes, RuntimeInfo{Name: rt.Name, Kind: rt.Kind, Build: rt.Build,
			Platform: rt.Platform, HostNet: rt.HostNet, Sandbox: rt.Sandbox, Version: rt.Version, Skip: rt.Skip})
	}
	var cases []*Case
	for _, c := range Cases(w) {
		if opts.Select == nil || opts.Select.MatchString(c.ID) {
			cases = append(cases, c)
		}
	}
	defer func() { res.Duration = time.Since(res.Started).Round(time.Second) }()
	for i, c := range cases {
		cr := CaseResult{ID: c.ID, Group: c.Group, Metrics: c.Metrics, Cells: map[string]*Cell{}}
		var active []*Runtime
		for _, rt := range rts {
			cell := &Cell{Skip: c.Skip(w, rt)}
			cr.Cells[rt.Name] = cell
			if cell.Skip == "" {
				active = append(active, rt)
			}
		}
		res.Cases = append(res.Cases, cr)
		reps := 0
		for _, rt := range active {
			reps = max(reps, c.reps(rt, opts.Reps))
		}
		for rep := 0; rep < reps; rep++ {
			for k := range active {
				rt := active[(k+rep)%len(active)]
				cell := cr.Cells[rt.Name]
				if cell.Err != "" || rep >= c.reps(rt, opts.Reps) {
					continue
				}
				sctx, cancel := context.WithTimeout(ctx, opts.Timeout)
				vs, err := c.run(sctx, &Sample{W: w, RT: rt})
				cancel()
				if ctx.Err() != nil {
					res.Interrupted = true
					return res
				}
				if err == nil && len(vs) != len(c.Metrics) {
					err = fmt.Errorf("%d numbers, not the %d of its metrics: %v", len(vs), len(c.Metrics), vs)
				}
				prefix := fmt.Sprintf("[%d/%d] %s rep %d/%d %s:", i+1, len(cases), c.ID, rep+1, c.reps(rt, opts.Reps), rt.Name)
				if err != nil {
					cell.Err = err.Error()
					opts.Log("%s FAILED: %v", prefix, err)
					continue
				}
				cell.Samples = append(cell.Samples, vs)
				var parts []string
				for m, v := range vs {
					parts = append(parts, fmt.Sprintf("%.4g %s", v, c.Metrics[m].Unit))
				}
				opts.Log("%s %s", prefix, strings.Join(parts, ", "))
			}
		}
	}
	return res
}

// Failed lists the cells that failed, as "case: runtime: error".
func (r *Results) Failed(kinds ...Kind) []string {
	want := map[string]bool{}
	for _, rt := range r.Runtimes {
		for _, k := range kinds {
			if rt.Kind == k {
				want[rt.Name] = true
			}
		}
	}
	var failed []string
	for _, c := range r.Cases {
		for _, rt := range r.Runtimes {
			if cell := c.Cells[rt.Name]; cell != nil && cell.Err != "" && want[rt.Name] {
				failed = append(failed, fmt.Sprintf("%s: %s: %s", c.ID, rt.Name, cell.Err))
			}
		}
	}
	return failed
}
