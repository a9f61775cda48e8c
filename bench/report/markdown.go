package report

import (
	"fmt"
	"math"
	"strings"

	"magawa/bench/suite"
)

// Markdown renders the results as docs/benchmarks.md; svgName is the
// chart's file name beside it.
func Markdown(res *suite.Results, svgName string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks\n\n")
	p("<!-- Written by `make bench` (bench/cmd/bench); edits by hand are overwritten. -->\n\n")
	p("magawa next to the host itself (native), runc and gVisor's runsc on the same machine, in one run: `make bench` measures and writes this page and [the chart of its ratios](%s).\n\n", svgName)
	if res.Quick {
		p("> **A `--quick` run**: one repetition of smaller workloads, to show that the harness works. Its numbers are not the project's benchmarks.\n\n")
	}
	if res.Interrupted {
		p("> **Interrupted**: the cases after the last one shown were not measured.\n\n")
	}
	writeMachine(&b, res)
	p("## Aims\n\n")
	p("The project's performance aims, and where magawa stands against each in this run:\n\n")
	p("1. start faster than runsc;\n2. less memory per idle sandbox than runsc;\n")
	p("3. per-system-call overhead on the ptrace platform at most that of runsc's ptrace platform;\n")
	p("4. CPU-bound work within 5%% of native.\n\n")
	writeAims(&b, res)
	p("\n## How to read the tables\n\n")
	if res.Reps == 1 {
		p("Each cell is one sample. ")
	} else {
		p("Each cell is the median of %d samples (n= says where a long case took fewer); ±%% is half the samples' range, relative to the median. ", res.Reps)
	}
	p("Each sample runs in a fresh sandbox (`run` of a container, natively a plain process), and the runtimes take turns within each repetition, so they share the machine's noise. ")
	p("Except for the start cases, the sandbox's start-up is not counted: the probe programs (`bench/probes`) time their own loops, and host programs are timed from inside the sandbox by `bench/probes/timeit.c`.\n\n")
	p("The ratios are of cost: time divided by time, and for rates (MB/s, requests/s) the inverse, so **below 1 magawa does better**. ")
	p("\"÷ runsc\" compares with runsc-current on the same platform (Debian's runsc when the current one is missing); \"÷ native\" with the host itself.\n\n")
	p("![magawa's cost ratios](%s)\n\n", svgName)

	notes := &footnotes{}
	for _, group := range suite.Groups {
		t := newTable(res, group)
		if t == nil {
			continue
		}
		p("## %s\n\n", titleCase(group))
		t.write(&b, notes)
		p("\n")
		notes.flush(&b)
	}
	writeSkipped(&b, res)
	writeMethod(&b, res)
	return b.String()
}

func writeMachine(b *strings.Builder, res *suite.Results) {
	m := res.Machine
	kvm := "runsc's kvm platform not run"
	if m.KVM {
		kvm = "with runsc's kvm platform"
	}
	virt := ""
	if m.Virtual != "" && m.Virtual != "none" {
		virt = " (" + m.Virtual + ")"
	}
	fmt.Fprintf(b, "**Run** %s, %s, %d repetition(s)%s. **Machine**: %s, %d CPUs, %s of memory%s, %s; %s, Linux %s. **Tools**: %s, %s. **magawa** at commit %s.\n\n",
		res.Started.UTC().Format("2006-01-02 15:04 UTC"), res.Duration, res.Reps, map[bool]string{true: " (quick)"}[res.Quick],
		orUnknown(m.CPU), m.CPUs, orUnknown(m.Memory), virt, kvm, orUnknown(m.OS), m.Kernel, m.Go, orUnknown(m.GCC), orUnknown(m.Commit))
	fmt.Fprintf(b, "| runtime | version | run as |\n|---|---|---|\n")
	for _, rt := range res.Runtimes {
		how := howRun(rt)
		if rt.Skip != "" {
			how = "**skipped**: " + rt.Skip
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", rt.Name, cellText(orUnknown(rt.Version)), cellText(how))
	}
	fmt.Fprintf(b, "\n")
}

// howRun is the runtime's flags, as the table of runtimes shows them.
func howRun(rt suite.RuntimeInfo) string {
	switch rt.Kind {
	case suite.Native:
		return "the host itself, no sandbox"
	case suite.Runc:
		return "`runc run`"
	case suite.Runsc:
		flags := "`runsc --platform=" + rt.Platform
		if rt.Build == "debian" {
			flags += " --network=none"
		}
		return flags + " run`, its defaults otherwise"
	case suite.Magawa:
		if rt.Sandbox == "vm" {
			return "`magawa --sandbox=vm run` (a QEMU micro-VM per container, the image of `make vm-image`): the start and memory cases only, at most 3 samples each"
		}
		flags := "`magawa --platform=" + rt.Platform
		if rt.HostNet {
			return flags + " --network=host run`: the network cases only"
		}
		return flags + " run`, its defaults otherwise"
	}
	return ""
}

// table is one group's table: the runtimes that take part in it as
// columns, then for each magawa runtime its ratios.
type table struct {
	res     *suite.Results
	cases   []*suite.CaseResult
	columns []suite.RuntimeInfo
	magawas []suite.RuntimeInfo
	refs    map[string]string // a magawa runtime's runsc to compare with
}

func newTable(res *suite.Results, group string) *table {
	t := &table{res: res, refs: map[string]string{}}
	for i := range res.Cases {
		if res.Cases[i].Group == group {
			t.cases = append(t.cases, &res.Cases[i])
		}
	}
	if len(t.cases) == 0 {
		return nil
	}
	for _, rt := range res.Runtimes {
		if rt.Skip != "" {
			continue
		}
		part := false
		for _, c := range t.cases {
			if cell := c.Cells[rt.Name]; cell != nil && cell.Skip != suite.NotApplicable {
				part = true
			}
		}
		if !part {
			continue
		}
		t.columns = append(t.columns, rt)
		if rt.Kind == suite.Magawa {
			t.magawas = append(t.magawas, rt)
			t.refs[rt.Name] = runscRef(res, rt)
		}
	}
	return t
}

// runscRef is the runsc that magawa runtime m is compared with: the
// current build on m's platform, else Debian's on it, else any runsc
// that ran.
func runscRef(res *suite.Results, m suite.RuntimeInfo) string {
	for _, want := range []func(suite.RuntimeInfo) bool{
		func(rt suite.RuntimeInfo) bool { return rt.Build == "current" && rt.Platform == m.Platform },
		func(rt suite.RuntimeInfo) bool { return rt.Build == "debian" && rt.Platform == m.Platform },
		func(rt suite.RuntimeInfo) bool { return rt.Build == "current" },
		func(rt suite.RuntimeInfo) bool { return true },
	} {
		for _, rt := range res.Runtimes {
			if rt.Kind == suite.Runsc && rt.Skip == "" && want(rt) {
				return rt.Name
			}
		}
	}
	return ""
}

func (t *table) write(b *strings.Builder, notes *footnotes) {
	head := []string{"case", "unit"}
	align := []string{"---", "---"}
	for _, rt := range t.columns {
		head = append(head, rt.Name)
		align = append(align, "---:")
	}
	for _, m := range t.magawas {
		if t.refs[m.Name] != "" {
			head = append(head, m.Name+" ÷ runsc")
			align = append(align, "---:")
		}
		head = append(head, m.Name+" ÷ native")
		align = append(align, "---:")
	}
	fmt.Fprintf(b, "| %s |\n|%s|\n", strings.Join(head, " | "), strings.Join(align, "|"))
	for _, c := range t.cases {
		for mi, metric := range c.Metrics {
			row := []string{cellText(metric.Name), unitText(metric)}
			for _, rt := range t.columns {
				row = append(row, t.cell(c, rt.Name, mi, notes))
			}
			for _, m := range t.magawas {
				if ref := t.refs[m.Name]; ref != "" {
					row = append(row, ratioText(c, m.Name, ref, mi))
				}
				row = append(row, ratioText(c, m.Name, "native", mi))
			}
			fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
		}
	}
}

func (t *table) cell(c *suite.CaseResult, rt string, m int, notes *footnotes) string {
	cell := c.Cells[rt]
	switch {
	case cell == nil || cell.Skip == suite.NotApplicable:
		return ""
	case cell.Skip != "":
		return "skipped " + notes.add(rt+": "+cell.Skip)
	case cell.Err != "" && len(cell.Samples) == 0:
		return "failed " + notes.add(rt+": "+cell.Err)
	}
	s := Summarize(cell.Values(m))
	text := number(s.Median)
	if s.N > 1 {
		text += fmt.Sprintf(" ±%.0f%%", s.Spread*100)
	}
	if s.N < t.res.Reps && cell.Err == "" {
		text += fmt.Sprintf(" n=%d", s.N)
	}
	if cell.Err != "" {
		text += " " + notes.add(fmt.Sprintf("%s: %d samples, then it failed: %s", rt, len(cell.Samples), cell.Err))
	}
	return text
}

func ratioText(c *suite.CaseResult, a, b string, m int) string {
	va, ok1 := median(c, a, m)
	vb, ok2 := median(c, b, m)
	if !ok1 || !ok2 {
		return "—"
	}
	r, ok := costRatio(va, vb, c.Metrics[m].Higher)
	if !ok {
		return "—"
	}
	text := ratio(r)
	if r <= 1 {
		return "**" + text + "**"
	}
	return text
}

// footnotes number the reasons of skipped and failed cells of a table,
// listed under it.
type footnotes struct {
	list []string
}

func (f *footnotes) add(text string) string {
	text = cellText(text)
	for i, t := range f.list {
		if t == text {
			return fmt.Sprintf("(%d)", i+1)
		}
	}
	f.list = append(f.list, text)
	return fmt.Sprintf("(%d)", len(f.list))
}

func (f *footnotes) flush(b *strings.Builder) {
	for i, t := range f.list {
		fmt.Fprintf(b, "(%d) %s  \n", i+1, t)
	}
	if len(f.list) > 0 {
		b.WriteString("\n")
	}
	f.list = nil
}

func writeSkipped(b *strings.Builder, res *suite.Results) {
	var lines []string
	for _, rt := range res.Runtimes {
		if rt.Skip != "" {
			lines = append(lines, fmt.Sprintf("- %s: %s", rt.Name, cellText(rt.Skip)))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "## Skipped runtimes\n\n%s\n\n", strings.Join(lines, "\n"))
}

func writeMethod(b *strings.Builder, res *suite.Results) {
	fmt.Fprintf(b, "## What runs\n\n")
	for _, f := range res.Facts {
		fmt.Fprintf(b, "- %s\n", f)
	}
	fmt.Fprintf(b, `- One OCI bundle for every runtime: the host's /usr bind-mounted read-only, the probes (bench/probes, static) and their data in /bench, a volume (a host directory) bind-mounted at /vol. Each runtime has its own defaults for the root file system: magawa an overlay with its upper layer in memory, runsc-current an overlay backed by a file beside the root (root:self), Debian's runsc and runc the bundle's directory itself, where native runs write too.
- Containers outside the veth cases share a network namespace with only lo, up, as an engine sets one up (a namespace a runtime makes has lo down, and runsc then has no loopback at all).
- start: `+"`run`"+` (create, start, the process's exit, delete) of /bin/true, timed from outside; `+"`do`"+` with --network=none for runsc and magawa alike (loopback only, no veth of their own). Native: a fork and exec of /bin/true.
- start/first-output: `+"`create`"+` of a container whose process is `+"`echo hi`"+` with its stdout a pipe to the suite, timed until create returns, then `+"`start`"+`, timed (from create's start) until the first byte comes out of the pipe: both from outside, as a user waits for them.
- magawa vm: `+"`magawa --sandbox=vm`"+`, one QEMU micro-VM per container (Debian's kernel booted through PVH, the agent in an initramfs; TCG unless KVM works: see the runtime's version above). It takes part only in the start cases and the memory case, with at most 3 samples each, as every sample boots a VM (seconds under TCG). start/vm-boot is its own: create is run with `+"`--debug-log`"+`, and the times of the supervisor's lines "QEMU started", "agent answered" (its first answer to Ping over virtio-serial) and "container created" are taken from create's start as the suite saw it (one host, one clock). Its memory is QEMU's and the supervisor's PSS (the guest's memory is QEMU's, counted as far as the guest touched it).
- memory: the summed proportional set size of every host process of the sandbox (sandbox, gofer, stubs; the container's process for runc; the process natively), a second after it starts sleeping.
- network: across the veth, the server runs in a network namespace holding one end of a veth pair (in a container whose bundle names the namespace; natively under `+"`ip netns exec`"+`), its client (the tcprtt and tcpbw probes, wrk with one thread and 32 connections) on the host. magawa and runsc take the interface over with their netstack; with magawa's --network=host the sandbox joins the namespace and its sockets are that namespace's host stack's.
- Benchmarks are not tests: nothing here asserts a time.
`)
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func unitText(m suite.Metric) string {
	if m.Higher {
		return m.Unit + " ↑"
	}
	return m.Unit
}

// number prints a value with three significant digits, without an
// exponent.
func number(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a == 0:
		return "0"
	}
	return fmt.Sprintf("%.3g", v)
}

func ratio(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 10:
		return fmt.Sprintf("%.1f×", r)
	case r >= 0.1:
		return fmt.Sprintf("%.2f×", r)
	}
	return fmt.Sprintf("%.2g×", r)
}

// cellText makes text safe in a table cell: one line, no column bars.
func cellText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
