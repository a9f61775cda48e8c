package test

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"magawa/test/testenv"
)

// runTimeout bounds every program run, natively or in the sandbox, so that
// a hung sandbox fails its test instead of the whole package timing out.
const runTimeout = 2 * time.Minute

// testEnv is the whole environment of every program run, natively and in
// the sandbox (magawa itself runs with it, and passes it on).
var testEnv = []string{
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"HOME=/root",
	"LANG=C",
	"MAGAWA_TEST=1",
	"EMPTY=",
}

// tmpDir holds the built programs and magawa binary; TestMain removes it.
var tmpDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "magawa-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating temp dir:", err)
		os.Exit(1)
	}
	// The sandbox's programs run as root but others must be able to
	// traverse the directory, should magawa drop privileges one day.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "chmod temp dir:", err)
		os.Exit(1)
	}
	tmpDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// skip skips the test with a reason, or fails it when MAGAWA_TEST_NO_SKIP
// is set (CI must not skip anything).
func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	testenv.Skip(t, format, args...)
}

// requireRoot skips tests that execute the sandbox when not root.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root: magawa do runs the sandbox with root privileges (CI runs as root)")
	}
}

// platforms returns the platforms of the test matrix: $MAGAWA_PLATFORMS
// (comma- or space-separated), ptrace and systrap by default.
func platforms() []string {
	v := os.Getenv("MAGAWA_PLATFORMS")
	ps := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	if len(ps) == 0 {
		return []string{"ptrace", "systrap"}
	}
	return ps
}

// forEachPlatform runs f as a subtest per platform.
func forEachPlatform(t *testing.T, f func(t *testing.T, platform string)) {
	for _, p := range platforms() {
		t.Run(p, func(t *testing.T) { f(t, p) })
	}
}

var (
	magawaOnce sync.Once
	magawaPath string
	magawaErr  error
)

// magawaBin returns the magawa binary under test: $MAGAWA_BIN, or
// ./cmd/magawa built once into the temp dir. It also checks for root.
func magawaBin(t testing.TB) string {
	t.Helper()
	requireRoot(t)
	magawaOnce.Do(func() {
		if p := os.Getenv("MAGAWA_BIN"); p != "" {
			magawaPath, magawaErr = filepath.Abs(p)
			return
		}
		out := filepath.Join(tmpDir, "magawa")
		if magawaErr = testenv.BuildMagawa(out); magawaErr == nil {
			magawaPath = out
		}
	})
	if magawaErr != nil {
		t.Fatalf("magawa binary: %v", magawaErr)
	}
	return magawaPath
}

// A program is one C file of programs/ (or programs/sandbox_only/),
// built to Path in one of the link variants, or one Go program of
// goprograms/ (Name and Base "go-NAME", a single variant).
type program struct {
	Name string // file name without .c, plus the variant's suffix
	Base string // file name without .c: the key of programSpecs
	Src  string
	Path string
}

// linkVariants are the ways each differential program is linked: a
// classic static executable (ET_EXEC, fixed addresses) and a static PIE
// (ET_DYN without an interpreter, loaded at a random base). Sandbox-only
// programs are built in the first variant only.
var linkVariants = []struct {
	suffix string
	flag   string
}{
	{"", "-static"},
	{"-pie", "-static-pie"},
}

var (
	buildOnce   sync.Once
	built       map[string]program // by name; sandbox-only names have the "sandbox_only/" prefix
	buildErr    error
	buildNoTool string // set when gcc is missing
)

// programs builds every C program once and returns them by name; the
// sandbox-only ones are named "sandbox_only/NAME", the static-PIE builds
// of the differential ones "NAME-pie".
func programs(t testing.TB) map[string]program {
	t.Helper()
	buildOnce.Do(func() {
		if _, err := exec.LookPath("gcc"); err != nil {
			buildNoTool = "needs gcc to build the test programs (apt-get install gcc libc6-dev)"
			return
		}
		built, buildErr = buildPrograms()
	})
	if buildNoTool != "" {
		skip(t, "%s", buildNoTool)
	}
	if buildErr != nil {
		t.Fatalf("building test programs: %v", buildErr)
	}
	return built
}

func buildPrograms() (map[string]program, error) {
	var srcs []string
	for _, pattern := range []string{"programs/*.c", "programs/sandbox_only/*.c"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, m...)
	}
	if len(srcs) == 0 {
		return nil, errors.New("no programs/*.c found (is the working directory test/?)")
	}
	if err := os.MkdirAll(filepath.Join(tmpDir, "sandbox_only"), 0o755); err != nil {
		return nil, err
	}
	if err := copyScripts(); err != nil {
		return nil, err
	}
	progs := make(map[string]program)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, runtime.NumCPU())
	for _, src := range srcs {
		base := strings.TrimSuffix(strings.TrimPrefix(src, "programs/"), ".c")
		abs, err := filepath.Abs(src)
		if err != nil {
			return nil, err
		}
		for i, v := range linkVariants {
			if i > 0 && strings.Contains(base, "/") {
				break
			}
			p := program{Name: base + v.suffix, Base: base, Src: abs, Path: filepath.Join(tmpDir, base+v.suffix)}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				cmd := exec.Command("gcc", v.flag, "-O1", "-Wall", "-Werror", "-o", p.Path, p.Src)
				out, err := cmd.CombinedOutput()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("gcc %s %s: %v\n%s", v.flag, src, err, out))
					return
				}
				progs[p.Name] = p
			}()
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return progs, nil
}

// copyScripts copies programs/*.sh, files that programs execute (exec.c
// runs them with execve), beside the built programs, executable.
func copyScripts() error {
	scripts, err := filepath.Glob("programs/*.sh")
	if err != nil {
		return err
	}
	for _, src := range scripts {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmpDir, filepath.Base(src)), b, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// goProgramPrefix starts the names of the Go programs in the program
// maps and in subtest names: goprograms/NAME/ is "go-NAME".
const goProgramPrefix = "go-"

// goProgramNames returns the names of the Go differential programs,
// goprograms/*/main.go, as "go-NAME", sorted; listing them needs no
// build.
func goProgramNames() []string {
	m, _ := filepath.Glob("goprograms/*/main.go")
	var names []string
	for _, f := range m {
		names = append(names, goProgramPrefix+filepath.Base(filepath.Dir(f)))
	}
	sort.Strings(names)
	return names
}

var (
	goBuildOnce sync.Once
	goBuilt     map[string]program
	goBuildErr  error
	goNoTool    string
)

// goPrograms builds every Go program of goprograms/ once, static
// (CGO_ENABLED=0), and returns them by name ("go-NAME"). It skips the
// test when the go command is missing.
func goPrograms(t testing.TB) map[string]program {
	t.Helper()
	goBuildOnce.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			goNoTool = "needs the go command to build the Go test programs (goprograms/)"
			return
		}
		goBuilt, goBuildErr = buildGoPrograms(gobin)
	})
	if goNoTool != "" {
		skip(t, "%s", goNoTool)
	}
	if goBuildErr != nil {
		t.Fatalf("building Go test programs: %v", goBuildErr)
	}
	return goBuilt
}

func buildGoPrograms(gobin string) (map[string]program, error) {
	names := goProgramNames()
	if len(names) == 0 {
		return nil, errors.New("no goprograms/*/main.go found (is the working directory test/?)")
	}
	out := filepath.Join(tmpDir, "goprograms")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	// One go build for all: a directory as -o holds one binary per
	// main package, named after its directory.
	cmd := exec.Command(gobin, "build", "-trimpath", "-o", out+"/", "./goprograms/...")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("CGO_ENABLED=0 go build ./goprograms/...: %v\n%s", err, b)
	}
	progs := make(map[string]program)
	for _, name := range names {
		dir := strings.TrimPrefix(name, goProgramPrefix)
		src, err := filepath.Abs(filepath.Join("goprograms", dir, "main.go"))
		if err != nil {
			return nil, err
		}
		p := program{Name: name, Base: name, Src: src, Path: filepath.Join(out, dir)}
		if _, err := os.Stat(p.Path); err != nil {
			return nil, fmt.Errorf("go build ./goprograms/...: %w", err)
		}
		if err := requireStatic(p.Path); err != nil {
			return nil, err
		}
		progs[name] = p
	}
	return progs, nil
}

// requireStatic fails for an executable with an interpreter: the sandbox
// runs static programs only.
func requireStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// differentialPrograms returns the names of the programs run both
// natively and in the sandbox, sorted.
func differentialPrograms(progs map[string]program) []string {
	var names []string
	for n := range progs {
		if !strings.Contains(n, "/") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// exitStatus is how a process ended: an exit code, or a signal.
type exitStatus struct {
	Code   int            // exit code, when Signal == 0
	Signal syscall.Signal // the signal that killed it, or 0
}

func (s exitStatus) String() string {
	if s.Signal != 0 {
		return fmt.Sprintf("killed by signal %d (%v)", int(s.Signal), s.Signal)
	}
	return fmt.Sprintf("exit status %d", s.Code)
}

// sandboxEquivalent is the exit status magawa reports for a program that
// ended with s natively: the same code, or 128+N for a death by signal N.
func (s exitStatus) sandboxEquivalent() exitStatus {
	if s.Signal != 0 {
		return exitStatus{Code: 128 + int(s.Signal)}
	}
	return s
}

// result is what one run produced.
type result struct {
	Stdout, Stderr []byte
	Status         exitStatus
	// Pid is the process started (magawa itself for a sandbox run), also
	// the id of its process group.
	Pid int
}

// runSpec describes one process to start.
type runSpec struct {
	Argv  []string
	Env   []string // nil: testEnv
	Dir   string   // working directory; "" is /
	Stdin []byte
	// StdoutFile, if set, is the program's stdout instead of a pipe
	// (result.Stdout is then empty).
	StdoutFile *os.File
	// Attr replaces the default SysProcAttr (own process group).
	Attr *syscall.SysProcAttr
}

// run starts spec and waits for it, killing its process group after
// runTimeout. A failure to start or a timeout fails the test.
func run(t testing.TB, spec runSpec) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, spec.Argv[0], spec.Argv[1:]...)
	cmd.Env = spec.Env
	if cmd.Env == nil {
		cmd.Env = testEnv
	}
	cmd.Dir = spec.Dir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	if spec.Stdin != nil {
		cmd.Stdin = bytes.NewReader(spec.Stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if spec.StdoutFile != nil {
		cmd.Stdout = spec.StdoutFile
	}
	cmd.SysProcAttr = spec.Attr
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Kill the process group we created, not just its leader: the
	// sandbox's stubs must not outlive a timed-out run.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second

	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s: timed out after %v\nstdout:\n%s\nstderr:\n%s", shellQuote(spec.Argv), runTimeout, &stdout, &stderr)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", shellQuote(spec.Argv), err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	st := exitStatus{Code: ws.ExitStatus()}
	if ws.Signaled() {
		st = exitStatus{Signal: ws.Signal()}
	}
	return result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Status: st, Pid: cmd.Process.Pid}
}

// runNative runs prog with args directly on the host.
func runNative(t testing.TB, prog string, args ...string) result {
	t.Helper()
	return run(t, runSpec{Argv: append([]string{prog}, args...)})
}

// sandboxArgv is the command line running prog in magawa on platform,
// with extra global flags (such as --strace) before the verb.
func sandboxArgv(t testing.TB, platform string, flags []string, prog string, args ...string) []string {
	t.Helper()
	argv := []string{magawaBin(t), "--platform=" + platform}
	argv = append(argv, flags...)
	argv = append(argv, "do", "--", prog)
	return append(argv, args...)
}

// runSandbox runs prog with args in magawa do on platform.
func runSandbox(t testing.TB, platform string, prog string, args ...string) result {
	t.Helper()
	return run(t, runSpec{Argv: sandboxArgv(t, platform, nil, prog, args...)})
}

// compareResults reports every difference between a native run and a
// sandbox run of the same program.
func compareResults(t testing.TB, native, sandbox result) {
	t.Helper()
	if !bytes.Equal(native.Stdout, sandbox.Stdout) {
		t.Errorf("stdout differs (- native, + sandbox):\n%s", lineDiff(string(native.Stdout), string(sandbox.Stdout)))
	}
	if !bytes.Equal(native.Stderr, sandbox.Stderr) {
		t.Errorf("stderr differs (- native, + sandbox):\n%s", lineDiff(string(native.Stderr), string(sandbox.Stderr)))
	}
	if want := native.Status.sandboxEquivalent(); sandbox.Status != want {
		t.Errorf("exit status: native %v, so the sandbox should give %v; got %v", native.Status, want, sandbox.Status)
	}
}

// shellQuote renders argv for messages.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// lineDiff is a line diff of a and b: "- " lines only in a, "+ " lines
// only in b, "  " common lines; runs of more than 2*diffContext common
// lines are elided. A missing final newline is shown as such.
func lineDiff(a, b string) string {
	const diffContext = 3
	const maxLines = 5000
	al, bl := splitLines(a), splitLines(b)
	if len(al) > maxLines || len(bl) > maxLines {
		return firstDifference(al, bl, diffContext)
	}
	// Longest common subsequence, by dynamic programming from the end.
	lcs := make([][]int, len(al)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(bl)+1)
	}
	for i := len(al) - 1; i >= 0; i-- {
		for j := len(bl) - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var ops []line
	i, j := 0, 0
	for i < len(al) || j < len(bl) {
		switch {
		case i < len(al) && j < len(bl) && al[i] == bl[j]:
			ops = append(ops, line{' ', al[i]})
			i++
			j++
		case j < len(bl) && (i == len(al) || lcs[i][j+1] > lcs[i+1][j]):
			ops = append(ops, line{'+', bl[j]})
			j++
		default:
			ops = append(ops, line{'-', al[i]})
			i++
		}
	}
	// Keep diffContext common lines around each change.
	keep := make([]bool, len(ops))
	changed := false
	for k, op := range ops {
		if op.op != ' ' {
			changed = true
			for c := max(0, k-diffContext); c <= min(len(ops)-1, k+diffContext); c++ {
				keep[c] = true
			}
		}
	}
	if !changed {
		return "(no differences)\n"
	}
	var sb strings.Builder
	for k := 0; k < len(ops); k++ {
		if !keep[k] {
			n := 0
			for k < len(ops) && !keep[k] {
				n++
				k++
			}
			fmt.Fprintf(&sb, "  ... %d identical lines ...\n", n)
			k--
			continue
		}
		fmt.Fprintf(&sb, "%c %s\n", ops[k].op, ops[k].text)
	}
	return sb.String()
}

// firstDifference describes outputs too long for lineDiff: their sizes
// and the lines around the first one that differs.
func firstDifference(al, bl []string, context int) string {
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "(too long for a full diff: %d and %d lines; first difference at line %d)\n", len(al), len(bl), i+1)
	for k := max(0, i-context); k < i; k++ {
		fmt.Fprintf(&sb, "  %s\n", al[k])
	}
	for k := i; k < min(len(al), i+context); k++ {
		fmt.Fprintf(&sb, "- %s\n", al[k])
	}
	for k := i; k < min(len(bl), i+context); k++ {
		fmt.Fprintf(&sb, "+ %s\n", bl[k])
	}
	return sb.String()
}

// splitLines splits s into lines, marking a last line without newline.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		if strings.HasSuffix(l, "\n") {
			lines[i] = strings.TrimSuffix(l, "\n")
		} else {
			lines[i] = l + "\\ (no newline at end)"
		}
	}
	return lines
}

func TestLineDiff(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"x\n", "x\n", "(no differences)\n"},
		{"a\nb\nc\n", "a\nB\nc\n", "  a\n- b\n+ B\n  c\n"},
		{"", "new\n", "+ new\n"},
		{"a\n", "a", "- a\n+ a\\ (no newline at end)\n"},
		{
			"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
			"1\n2\n3\n4\n5\nfive\n6\n7\n8\n9\n10\n",
			"  ... 2 identical lines ...\n  3\n  4\n  5\n+ five\n  6\n  7\n  8\n  ... 2 identical lines ...\n",
		},
	} {
		if got := lineDiff(tc.a, tc.b); got != tc.want {
			t.Errorf("lineDiff(%q, %q) =\n%s\nwant\n%s", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestLineDiffLong(t *testing.T) {
	var a, b strings.Builder
	for i := range 6000 {
		fmt.Fprintf(&a, "%d\n", i)
		if i == 4000 {
			b.WriteString("changed\n")
			continue
		}
		fmt.Fprintf(&b, "%d\n", i)
	}
	want := "(too long for a full diff: 6000 and 6000 lines; first difference at line 4001)\n" +
		"  3997\n  3998\n  3999\n- 4000\n- 4001\n- 4002\n+ changed\n+ 4001\n+ 4002\n"
	if got := lineDiff(a.String(), b.String()); got != want {
		t.Errorf("lineDiff of long outputs =\n%s\nwant\n%s", got, want)
	}
}

func TestExitStatusSandboxEquivalent(t *testing.T) {
	if got := (exitStatus{Code: 7}).sandboxEquivalent(); got != (exitStatus{Code: 7}) {
		t.Errorf("exit 7 -> %v", got)
	}
	if got := (exitStatus{Signal: syscall.SIGSEGV}).sandboxEquivalent(); got != (exitStatus{Code: 139}) {
		t.Errorf("SIGSEGV -> %v, want exit status 139", got)
	}
}
