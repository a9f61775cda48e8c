package test

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const busybox = "/bin/busybox"

// requireStaticBusybox skips unless /bin/busybox exists and is static
// (v0 of the sandbox has no dynamic linker).
func requireStaticBusybox(t *testing.T) {
	t.Helper()
	f, err := elf.Open(busybox)
	if err != nil {
		skip(t, "needs %s (apt-get install busybox-static): %v", busybox, err)
		return
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			skip(t, "%s is dynamically linked; the sandbox runs static programs only (apt-get install busybox-static)", busybox)
		}
	}
}

// TestEndToEnd runs the end-to-end checks of the CLI contract on every
// platform.
func TestEndToEnd(t *testing.T) {
	magawaBin(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		t.Run("busybox_echo", func(t *testing.T) {
			t.Parallel()
			requireStaticBusybox(t)
			r := runSandbox(t, platform, busybox, "echo", "hello")
			if got := string(r.Stdout); got != "hello\n" || r.Status != (exitStatus{}) {
				t.Errorf("magawa do -- busybox echo hello: stdout %q, %v; want \"hello\\n\", exit status 0\nstderr:\n%s", got, r.Status, r.Stderr)
			}
		})

		t.Run("busybox_sha256sum", func(t *testing.T) {
			t.Parallel()
			requireStaticBusybox(t)
			native := runNative(t, busybox, "sha256sum", "/etc/os-release")
			if native.Status != (exitStatus{}) || len(native.Stdout) == 0 {
				t.Fatalf("native busybox sha256sum: %v\n%s%s", native.Status, native.Stdout, native.Stderr)
			}
			compareResults(t, native, runSandbox(t, platform, busybox, "sha256sum", "/etc/os-release"))
		})

		t.Run("busybox_stdin", func(t *testing.T) {
			t.Parallel()
			requireStaticBusybox(t)
			input := []byte(strings.Repeat("stdin reaches the sandbox\n", 1000))
			r := run(t, runSpec{Argv: sandboxArgv(t, platform, nil, busybox, "cat"), Stdin: input})
			if !bytes.Equal(r.Stdout, input) || r.Status != (exitStatus{}) {
				t.Errorf("magawa do -- busybox cat: %v, stdout %d bytes (want the %d bytes of stdin)\nstderr:\n%s", r.Status, len(r.Stdout), len(input), r.Stderr)
			}
		})

		t.Run("stdout_to_file", func(t *testing.T) {
			t.Parallel()
			// The stdio program seeks and pwrites on its stdout, which
			// only works on a regular file.
			p := programs(t)["stdio"]
			outputTo := func(argv []string) []byte {
				f, err := os.CreateTemp(t.TempDir(), "stdout-")
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				r := run(t, runSpec{Argv: argv, StdoutFile: f})
				if r.Status != (exitStatus{}) {
					t.Errorf("%s: %v\nstderr:\n%s", shellQuote(argv), r.Status, r.Stderr)
				}
				b, err := os.ReadFile(f.Name())
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			native := outputTo([]string{p.Path, "file"})
			sandbox := outputTo(sandboxArgv(t, platform, nil, p.Path, "file"))
			if !bytes.Equal(native, sandbox) {
				t.Errorf("stdout written to a file differs (- native, + sandbox):\n%s", lineDiff(string(native), string(sandbox)))
			}
		})

		t.Run("strace", func(t *testing.T) {
			t.Parallel()
			requireStaticBusybox(t)
			r := run(t, runSpec{Argv: sandboxArgv(t, platform, []string{"--strace"}, busybox, "true")})
			if r.Status != (exitStatus{}) {
				t.Errorf("magawa --strace do -- busybox true: %v, want exit status 0", r.Status)
			}
			if !bytes.Contains(r.Stderr, []byte("exit_group(0)")) {
				t.Errorf("magawa --strace do -- busybox true: no line with exit_group(0) on stderr:\n%s", r.Stderr)
			}
		})

		t.Run("debug_log", func(t *testing.T) {
			t.Parallel()
			p := programs(t)["hello"]
			log := filepath.Join(t.TempDir(), "debug.log")
			native := runNative(t, p.Path)
			r := run(t, runSpec{Argv: sandboxArgv(t, platform, []string{"--debug-log", log}, p.Path)})
			// The log goes to the file, never into the program's output.
			compareResults(t, native, r)
			if _, err := os.Stat(log); err != nil {
				t.Errorf("--debug-log %s: %v", log, err)
			}
		})

		t.Run("without_dashdash", func(t *testing.T) {
			t.Parallel()
			p := programs(t)["args"]
			args := programSpecs["args"].Args
			native := runNative(t, p.Path, args...)
			argv := append([]string{magawaBin(t), "--platform=" + platform, "do", p.Path}, args...)
			compareResults(t, native, run(t, runSpec{Argv: argv}))
		})

		t.Run("relative_path", func(t *testing.T) {
			t.Parallel()
			// PROG relative to the working directory: argv[0] and the
			// loader's AT_EXECFN are what was given, as with execve.
			p := programs(t)["auxv"]
			dir, name := filepath.Dir(p.Path), "./"+filepath.Base(p.Path)
			native := run(t, runSpec{Argv: []string{name}, Dir: dir})
			sandbox := run(t, runSpec{Argv: sandboxArgv(t, platform, nil, name), Dir: dir})
			compareResults(t, native, sandbox)
		})

		t.Run("exit_code", func(t *testing.T) {
			t.Parallel()
			p := programs(t)["exit7"]
			if r := runSandbox(t, platform, p.Path); r.Status != (exitStatus{Code: 7}) {
				t.Errorf("exit7 in the sandbox: %v, want exit status 7\nstderr:\n%s", r.Status, r.Stderr)
			}
		})

		t.Run("exit_signal", func(t *testing.T) {
			t.Parallel()
			p := programs(t)["segv"]
			native := runNative(t, p.Path)
			if native.Status.Signal != syscall.SIGSEGV {
				t.Fatalf("segv natively: %v, want death by SIGSEGV", native.Status)
			}
			r := runSandbox(t, platform, p.Path)
			if want := 128 + int(syscall.SIGSEGV); r.Status != (exitStatus{Code: want}) {
				t.Errorf("segv in the sandbox: %v, want exit status %d (128+SIGSEGV), as natively it is %v\nstderr:\n%s", r.Status, want, native.Status, r.Stderr)
			}
		})

		t.Run("missing_program", func(t *testing.T) {
			t.Parallel()
			r := runSandbox(t, platform, "/nonexistent-magawa-test/prog")
			if r.Status == (exitStatus{}) {
				t.Errorf("magawa do of a missing program succeeded")
			}
			if r.Status.Signal != 0 {
				t.Errorf("magawa do of a missing program: %v, want an exit status", r.Status)
			}
			if len(r.Stderr) == 0 {
				t.Errorf("magawa do of a missing program printed no error")
			}
		})

		t.Run("identity", func(t *testing.T) {
			t.Parallel()
			p := programs(t)["sandbox_only/getpid"]
			r := runSandbox(t, platform, p.Path)
			want := "getpid=1\ngetppid=0\ngettid=1\nnodename=magawa\nsysname=Linux\nmachine=x86_64\n"
			if string(r.Stdout) != want || r.Status != (exitStatus{}) {
				t.Errorf("getpid in the sandbox: %v, stdout (- want, + got):\n%s\nstderr:\n%s", r.Status, lineDiff(want, string(r.Stdout)), r.Stderr)
			}
		})
	})
}

// TestCLIErrors checks that magawa rejects bad command lines with an error
// message and a non-zero exit status, without running anything.
func TestCLIErrors(t *testing.T) {
	bin := magawaBin(t)
	for _, tc := range []struct {
		name string
		argv []string
	}{
		{"unknown_platform", []string{"--platform=no-such-platform", "do", "--", "/bin/true"}},
		{"do_without_program", []string{"do"}},
		{"do_dashdash_without_program", []string{"do", "--"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			argv := append([]string{bin}, tc.argv...)
			r := run(t, runSpec{Argv: argv})
			if r.Status.Code == 0 || r.Status.Signal != 0 {
				t.Errorf("%s: %v, want a non-zero exit status", shellQuote(argv), r.Status)
			}
			if len(r.Stderr) == 0 {
				t.Errorf("%s: no error message on stderr", shellQuote(argv))
			}
			if len(r.Stdout) != 0 {
				t.Errorf("%s: unexpected stdout:\n%s", shellQuote(argv), r.Stdout)
			}
		})
	}
}
