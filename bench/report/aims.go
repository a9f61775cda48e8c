package report

import (
	"fmt"
	"strings"

	"magawa/bench/suite"
)

// aim is one of the project's performance aims, as one case's metric
// of a magawa runtime compared with the best of some other runtimes.
type aim struct {
	text    string
	caseID  string
	metric  int
	against func(rt suite.RuntimeInfo, m suite.RuntimeInfo) bool
	// limit is the highest cost ratio that meets the aim; strict: below
	// it.
	limit  float64
	strict bool
	// platform restricts the aim to magawa on one platform.
	platform string
}

func anyRunsc(rt, _ suite.RuntimeInfo) bool { return rt.Kind == suite.Runsc }
func isNative(rt, _ suite.RuntimeInfo) bool { return rt.Kind == suite.Native }
func samePlatformRunsc(rt, m suite.RuntimeInfo) bool {
	return rt.Kind == suite.Runsc && rt.Platform == m.Platform
}

var aims = []aim{
	{text: "start faster than runsc", caseID: "start/run", against: anyRunsc, limit: 1, strict: true},
	{text: "start faster than runsc", caseID: "start/do", against: anyRunsc, limit: 1, strict: true},
	{text: "less memory per idle sandbox than runsc", caseID: "memory/idle", against: anyRunsc, limit: 1, strict: true},
	{text: "per-system-call overhead on ptrace at most runsc's on ptrace", caseID: "syscalls/getpid", against: samePlatformRunsc, limit: 1, platform: "ptrace"},
	{text: "CPU-bound work within 5% of native", caseID: "apps/gzip", against: isNative, limit: 1.05},
	{text: "CPU-bound work within 5% of native", caseID: "apps/shell", against: isNative, limit: 1.05},
}

// writeAims writes the table of the aims: for each magawa runtime (not
// its host-network variant) and aim, magawa's median, the best of the
// runtimes it is held against, the ratio and whether the aim is met.
func writeAims(b *strings.Builder, res *suite.Results) {
	fmt.Fprintf(b, "| aim | measured by | magawa | against (the best of them) | ratio | |\n|---|---|---:|---:|---:|---|\n")
	for _, m := range res.Runtimes {
		// The aims are the application kernel's; the VM sandbox's
		// numbers (a boot under TCG here) are in the tables.
		if m.Kind != suite.Magawa || m.HostNet || m.Sandbox == "vm" || m.Skip != "" {
			continue
		}
		for _, a := range aims {
			if a.platform != "" && a.platform != m.Platform {
				continue
			}
			c := findCase(res, a.caseID)
			if c == nil || a.metric >= len(c.Metrics) {
				continue
			}
			metric := c.Metrics[a.metric]
			row := []string{a.text, cellText(metric.Name), "—", "—", "—", "not measured"}
			mv, ok := median(c, m.Name, a.metric)
			if ok {
				row[2] = fmt.Sprintf("%s %s (%s)", number(mv), metric.Unit, m.Name)
			}
			best, bestName := 0.0, ""
			for _, rt := range res.Runtimes {
				if !a.against(rt, m) {
					continue
				}
				v, ok := median(c, rt.Name, a.metric)
				if !ok {
					continue
				}
				if r, _ := costRatio(v, best, metric.Higher); bestName == "" || r < 1 {
					best, bestName = v, rt.Name
				}
			}
			if bestName != "" {
				row[3] = fmt.Sprintf("%s %s (%s)", number(best), metric.Unit, bestName)
			}
			if r, ok2 := costRatio(mv, best, metric.Higher); ok && bestName != "" && ok2 {
				row[4] = ratio(r)
				met := r <= a.limit
				if a.strict {
					met = r < a.limit
				}
				row[5] = map[bool]string{true: "**met**", false: "not met"}[met]
			}
			fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
		}
		writeSyscallTally(b, res, m)
	}
}

// writeSyscallTally says in how many of the system-call rows magawa on
// ptrace costs at most what runsc on ptrace costs (the best build).
func writeSyscallTally(b *strings.Builder, res *suite.Results, m suite.RuntimeInfo) {
	if m.Platform != "ptrace" {
		return
	}
	total, atMost := 0, 0
	var worse []string
	for i := range res.Cases {
		c := &res.Cases[i]
		if c.Group != "system calls" {
			continue
		}
		for mi, metric := range c.Metrics {
			mv, ok := median(c, m.Name, mi)
			if !ok {
				continue
			}
			best, found := 0.0, false
			for _, rt := range res.Runtimes {
				if !samePlatformRunsc(rt, m) {
					continue
				}
				if v, ok := median(c, rt.Name, mi); ok {
					if r, _ := costRatio(v, best, metric.Higher); !found || r < 1 {
						best, found = v, true
					}
				}
			}
			if !found {
				continue
			}
			total++
			if r, ok := costRatio(mv, best, metric.Higher); ok && r <= 1 {
				atMost++
			} else {
				worse = append(worse, fmt.Sprintf("%s %s", metric.Name, ratio(r)))
			}
		}
	}
	if total == 0 {
		return
	}
	verdict := "**met**"
	if atMost < total {
		verdict = "not met: " + strings.Join(worse, ", ")
	}
	fmt.Fprintf(b, "| per-system-call overhead on ptrace at most runsc's on ptrace | every system-call case | %d of %d at most | (%s) | | %s |\n",
		atMost, total, "the best runsc on ptrace", cellText(verdict))
}

func findCase(res *suite.Results, id string) *suite.CaseResult {
	for i := range res.Cases {
		if res.Cases[i].ID == id {
			return &res.Cases[i]
		}
	}
	return nil
}
