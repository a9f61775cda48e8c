package report

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"magawa/bench/suite"
)

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		in           []float64
		median, half float64
	}{
		{[]float64{3}, 3, 0},
		{[]float64{4, 1, 2}, 2, 0.75},
		{[]float64{1, 2, 3, 10}, 2.5, 1.8},
	} {
		s := Summarize(c.in)
		if s.N != len(c.in) || s.Median != c.median || s.Spread != c.half {
			t.Errorf("Summarize(%v) = %+v, want median %v spread %v", c.in, s, c.median, c.half)
		}
	}
	if s := Summarize(nil); s.N != 0 {
		t.Errorf("Summarize(nil) = %+v", s)
	}
}

func TestCostRatio(t *testing.T) {
	if r, _ := costRatio(2, 4, false); r != 0.5 {
		t.Errorf("time 2 against 4: %v, want 0.5", r)
	}
	if r, _ := costRatio(2, 4, true); r != 2 {
		t.Errorf("rate 2 against 4: %v, want 2 (half the rate costs twice)", r)
	}
	if _, ok := costRatio(0, 4, false); ok {
		t.Error("a zero has no ratio")
	}
}

func TestRatio(t *testing.T) {
	for r, want := range map[float64]string{123.4: "123×", 12.34: "12.3×", 1.234: "1.23×", 0.1234: "0.12×", 0.004567: "0.0046×"} {
		if got := ratio(r); got != want {
			t.Errorf("ratio(%v) = %q, want %q", r, got, want)
		}
	}
}

func TestNumber(t *testing.T) {
	for v, want := range map[float64]string{1234.5: "1234", 21.34: "21.3", 1.234: "1.23", 0.01234: "0.0123", 0: "0"} {
		if got := number(v); got != want {
			t.Errorf("number(%v) = %q, want %q", v, got, want)
		}
	}
}

// results is a run of two cases: one every runtime ran, one that runc
// skipped and runsc failed.
func results() *suite.Results {
	rts := []suite.RuntimeInfo{
		{Name: "native", Kind: suite.Native},
		{Name: "runc", Kind: suite.Runc},
		{Name: "runsc-current ptrace", Kind: suite.Runsc, Build: "current", Platform: "ptrace"},
		{Name: "runsc-debian ptrace", Kind: suite.Runsc, Build: "debian", Platform: "ptrace", Skip: "runsc is not installed"},
		{Name: "magawa ptrace", Kind: suite.Magawa, Platform: "ptrace"},
		{Name: "magawa ptrace host-net", Kind: suite.Magawa, Platform: "ptrace", HostNet: true},
	}
	one := func(vs ...float64) *suite.Cell {
		c := &suite.Cell{}
		for _, v := range vs {
			c.Samples = append(c.Samples, []float64{v})
		}
		return c
	}
	return &suite.Results{
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Reps: 3, Runtimes: rts,
		Cases: []suite.CaseResult{
			{ID: "syscalls/getpid", Group: "system calls", Metrics: []suite.Metric{{Name: "getpid", Unit: "µs"}},
				Cells: map[string]*suite.Cell{
					"native": one(1, 1, 1), "runc": one(1, 1.2, 1), "runsc-current ptrace": one(20, 21, 22),
					"runsc-debian ptrace": {Skip: "runsc is not installed"},
					"magawa ptrace":       one(10, 11, 12), "magawa ptrace host-net": {Skip: "n/a"},
				}},
			{ID: "network/http", Group: "network", Metrics: []suite.Metric{{Name: "HTTP | requests", Unit: "req/s", Higher: true}},
				Cells: map[string]*suite.Cell{
					"native": one(1000, 1000, 1000), "runc": {Skip: "runc has no <thing>"},
					"runsc-current ptrace": {Err: "exit status 1"}, "runsc-debian ptrace": {Skip: "runsc is not installed"},
					"magawa ptrace": one(500, 500, 500), "magawa ptrace host-net": one(800, 800, 800),
				}},
		},
	}
}

func TestMarkdown(t *testing.T) {
	md := Markdown(results(), "benchmarks.svg")
	for _, want := range []string{
		"| getpid | µs | 1.00 ±0% | 1.00 ±10% | 21.0 ±5% | 11.0 ±9% | **0.52×** | 11.0× |",
		"HTTP \\| requests",
		"skipped (1)", "(1) runc: runc has no <thing>",
		"failed (2)", "(2) runsc-current ptrace: exit status 1",
		"- runsc-debian ptrace: runsc is not installed",
		"| per-system-call overhead on ptrace at most runsc's on ptrace | getpid | 11.0 µs (magawa ptrace) | 21.0 µs (runsc-current ptrace) | 0.52× | **met** |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the page lacks %q:\n%s", want, md)
		}
	}
	// The host-network variant has a column in the network table only.
	sys := md[strings.Index(md, "## System calls"):strings.Index(md, "## Network")]
	if strings.Contains(sys, "host-net") {
		t.Errorf("the system-call table has the host-network column:\n%s", sys)
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| case |") && strings.Contains(line, "runsc-debian") {
			t.Errorf("a skipped runtime has a column: %s", line)
		}
	}
}

func TestSVG(t *testing.T) {
	svg := SVG(results())
	d := xml.NewDecoder(strings.NewReader(svg))
	rects := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed XML: %v\n%s", err, svg)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	// The background, a legend box per series (magawa and its host-net
	// variant, each against runsc and native), and the bars: getpid
	// against both, HTTP against native for both (runsc failed).
	if want := 1 + 4 + 2 + 2; rects != want {
		t.Errorf("%d rects, want %d:\n%s", rects, want, svg)
	}
}
