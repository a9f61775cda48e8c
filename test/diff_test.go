package test

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// programSpec is how a differential program is run, in every link
// variant. Programs without an
// entry run without arguments and must exit 0.
type programSpec struct {
	Args []string
	// Native is the exit status the program must have natively.
	Native exitStatus
	// NeedsBusybox: the program runs /bin/busybox (a #! script's
	// interpreter), so the test skips without a static busybox.
	NeedsBusybox bool
}

var programSpecs = map[string]programSpec{
	"abort":       {Native: exitStatus{Signal: syscall.SIGABRT}},
	"args":        {Args: []string{"one", "two words", "", "ünïcödé", "--", "-x"}},
	"exit7":       {Native: exitStatus{Code: 7}},
	"exitcode":    {Args: []string{"259"}, Native: exitStatus{Code: 259 & 0xff}},
	"exit_thread": {Native: exitStatus{Code: 5}},
	"exec":        {NeedsBusybox: true},
	"segv":        {Native: exitStatus{Signal: syscall.SIGSEGV}},
	"selfkill":    {Native: exitStatus{Signal: syscall.SIGTERM}},
	"thread_segv": {Native: exitStatus{Signal: syscall.SIGSEGV}},
}

// A diffCase is one differential program: a C program of programs/ in
// one link variant, or a Go program of goprograms/.
type diffCase struct {
	name string
	// get returns the built program, or skips the test.
	get func(t *testing.T) program
}

// diffCases lists the C programs (built, so gcc must be there) and the
// Go programs (listed only: each is built, or skipped, when its subtest
// runs), sorted by name.
func diffCases(t *testing.T) []diffCase {
	progs := programs(t)
	var cases []diffCase
	for _, name := range differentialPrograms(progs) {
		cases = append(cases, diffCase{name, func(*testing.T) program { return progs[name] }})
	}
	for _, name := range goProgramNames() {
		cases = append(cases, diffCase{name, func(t *testing.T) program { return goPrograms(t)[name] }})
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	return cases
}

// prepare returns the program of c and its spec, skipping the test when a
// prerequisite is missing.
func (c diffCase) prepare(t *testing.T) (program, programSpec) {
	p := c.get(t)
	spec := programSpecs[p.Base]
	if spec.NeedsBusybox {
		requireStaticBusybox(t)
	}
	return p, spec
}

// TestNative checks the native side of every differential program: it
// exits as expected and prints the same thing twice in a row (a program
// printing a PID or a time would fail here, before it ever reaches the
// sandbox). It needs gcc (and go for goprograms/) but not root.
func TestNative(t *testing.T) {
	progs := programs(t)
	for name := range programSpecs {
		if _, ok := progs[name]; !ok && !slices.Contains(goProgramNames(), name) {
			t.Errorf("programSpecs names %q, which is not in programs/ or goprograms/", name)
		}
	}
	for _, c := range diffCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, spec := c.prepare(t)
			first := runNative(t, p.Path, spec.Args...)
			if first.Status != spec.Native {
				t.Fatalf("native run: %v, want %v\nstdout:\n%s\nstderr:\n%s", first.Status, spec.Native, first.Stdout, first.Stderr)
			}
			if len(first.Stdout) == 0 {
				t.Errorf("native run printed nothing on stdout")
			}
			if bytes.Contains(first.Stdout, []byte("FATAL")) {
				t.Errorf("native run hit a FATAL check:\n%s", first.Stdout)
			}
			second := runNative(t, p.Path, spec.Args...)
			if !bytes.Equal(first.Stdout, second.Stdout) || !bytes.Equal(first.Stderr, second.Stderr) || first.Status != second.Status {
				t.Errorf("two native runs differ: the program prints something nondeterministic")
				compareResults(t, first, second)
			}
		})
	}
}

// TestDifferential runs every program of programs/*.c and goprograms/
// natively and in the sandbox, on every platform, and compares stdout,
// stderr and exit status.
func TestDifferential(t *testing.T) {
	differential(t, nil, nil)
}

// TestDifferentialHostNetwork runs the Internet programs (inet_*) again
// with --network=host: their sockets are then the host's
// (kernel/net/hostinet), and they must behave as natively all the same.
func TestDifferentialHostNetwork(t *testing.T) {
	differential(t, []string{"--network=host"}, func(base string) bool {
		return strings.HasPrefix(base, "inet_")
	})
}

// differential runs the differential programs that keep accepts (all
// for nil; by programSpecs key) natively and in the sandbox started with
// the extra global flags, on every platform, and compares the results.
// The same programs and specs serve every mode: a mode is a row of
// flags, not a copy of the programs.
func differential(t *testing.T, flags []string, keep func(base string) bool) {
	magawaBin(t)
	cases := diffCases(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		for _, c := range cases {
			if keep != nil && !keep(strings.TrimSuffix(c.name, "-pie")) {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				p, spec := c.prepare(t)
				native := runNative(t, p.Path, spec.Args...)
				if native.Status != spec.Native {
					t.Fatalf("native run: %v, want %v (see TestNative)", native.Status, spec.Native)
				}
				sandbox := run(t, runSpec{Argv: sandboxArgv(t, platform, flags, p.Path, spec.Args...)})
				compareResults(t, native, sandbox)
			})
		}
	})
}
