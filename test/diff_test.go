package test

import (
	"bytes"
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
}

var programSpecs = map[string]programSpec{
	"abort":       {Native: exitStatus{Signal: syscall.SIGABRT}},
	"args":        {Args: []string{"one", "two words", "", "ünïcödé", "--", "-x"}},
	"exit7":       {Native: exitStatus{Code: 7}},
	"exitcode":    {Args: []string{"259"}, Native: exitStatus{Code: 259 & 0xff}},
	"exit_thread": {Native: exitStatus{Code: 5}},
	"segv":        {Native: exitStatus{Signal: syscall.SIGSEGV}},
	"selfkill":    {Native: exitStatus{Signal: syscall.SIGTERM}},
}

// TestNative checks the native side of every differential program: it
// exits as expected and prints the same thing twice in a row (a program
// printing a PID or a time would fail here, before it ever reaches the
// sandbox). It needs gcc but not root.
func TestNative(t *testing.T) {
	progs := programs(t)
	for name := range programSpecs {
		if _, ok := progs[name]; !ok {
			t.Errorf("programSpecs names %q, which is not in programs/", name)
		}
	}
	for _, name := range differentialPrograms(progs) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := progs[name]
			spec := programSpecs[p.Base]
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

// TestDifferential runs every program of programs/*.c natively and in the
// sandbox, on every platform, and compares stdout, stderr and exit status.
func TestDifferential(t *testing.T) {
	magawaBin(t)
	progs := programs(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		for _, name := range differentialPrograms(progs) {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				p := progs[name]
				spec := programSpecs[p.Base]
				native := runNative(t, p.Path, spec.Args...)
				if native.Status != spec.Native {
					t.Fatalf("native run: %v, want %v (see TestNative)", native.Status, spec.Native)
				}
				sandbox := runSandbox(t, platform, p.Path, spec.Args...)
				compareResults(t, native, sandbox)
			})
		}
	})
}
