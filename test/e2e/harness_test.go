package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/test/testenv"
)

// cmdTimeout bounds every client command, so that a hung container fails
// its test instead of the whole package timing out.
const cmdTimeout = 2 * time.Minute

// workDir holds everything of the package's run: the magawa binary, the
// image, and one private directory per client test. TestMain removes it.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "magawa-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating temp dir:", err)
		os.Exit(1)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "chmod temp dir:", err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	// Each test cleaned its own directory; this is the last net.
	killUnder(nil, dir, dir)
	unmountUnder(nil, dir)
	os.RemoveAll(dir)
	os.Exit(code)
}

// skip skips the test, or fails it when MAGAWA_TEST_NO_SKIP is set: the
// prerequisite is one CI is expected to provide.
func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	testenv.Skip(t, format, args...)
}

// notInstalled skips the test whatever MAGAWA_TEST_NO_SKIP says: a
// machine without the client has nothing to test it with.
func notInstalled(t testing.TB, client, pkg string) {
	t.Helper()
	t.Skipf("%s not installed: skipping (apt-get install %s to run this test)", client, pkg)
}

// wantClient skips the test when MAGAWA_E2E_CLIENTS leaves it out.
func wantClient(t testing.TB, name string) {
	t.Helper()
	v := os.Getenv("MAGAWA_E2E_CLIENTS")
	if v == "" {
		return
	}
	for _, c := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		if c == name {
			return
		}
	}
	t.Skipf("MAGAWA_E2E_CLIENTS=%s leaves %s out", v, name)
}

// lookPath finds a client's program: in the given directories first
// (the Debian package's), then in PATH.
func lookPath(name string, dirs ...string) (string, bool) {
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	p, err := exec.LookPath(name)
	return p, err == nil
}

// requireRoot: the clients and magawa's sandboxes need root.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root: the container clients and magawa's sandboxes run as root (CI runs as root)")
	}
}

var (
	magawaOnce sync.Once
	magawaPath string
	magawaErr  error
)

// magawaBin returns the magawa binary under test, in workDir: built from
// ./cmd/magawa, or a copy of $MAGAWA_BIN. Every sandbox process runs it,
// so a process whose executable is below workDir is one of ours.
func magawaBin(t testing.TB) string {
	t.Helper()
	magawaOnce.Do(func() {
		out := filepath.Join(workDir, "bin", "magawa")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			magawaErr = err
			return
		}
		if p := os.Getenv("MAGAWA_BIN"); p != "" {
			b, err := os.ReadFile(p)
			if err == nil {
				err = os.WriteFile(out, b, 0o755)
			}
			magawaPath, magawaErr = out, err
			return
		}
		if magawaErr = testenv.BuildMagawa(out); magawaErr == nil {
			magawaPath = out
		}
	})
	if magawaErr != nil {
		t.Fatalf("magawa binary: %v", magawaErr)
	}
	return magawaPath
}

// env is a client test's private world: its directory, the wrapper that
// stands in for the runtime, and the environment of its commands.
type env struct {
	t      *testing.T
	name   string
	dir    string   // private directory, removed at the end
	env    []string // environment of every client command
	magawa string   // the binary under test
	// wrapper is the runtime path given to the client; wrapLog its log.
	wrapper string
	wrapLog string
	// state is magawa's --root when the client passes none.
	state string
	// roots are the magawa state roots the client uses, for the final
	// `magawa delete --force` of whatever is left.
	roots []string
	// logs are files shown (their tails) when the test fails.
	logs []string
}

// newEnv makes the private directory and the runtime wrapper, and
// registers the cleanup that runs last (after the client's own).
// magawaFlags are global flags the wrapper gives magawa before the
// client's arguments (--sandbox=vm and its image).
func newEnv(t *testing.T, name string, magawaFlags ...string) *env {
	t.Helper()
	requireRoot(t)
	bin := magawaBin(t)
	dir := filepath.Join(workDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &env{
		t:       t,
		name:    name,
		dir:     dir,
		magawa:  bin,
		wrapper: filepath.Join(dir, "magawa-runtime"),
		wrapLog: filepath.Join(dir, "magawa-runtime.log"),
		state:   filepath.Join(dir, "magawa-state"),
	}
	e.roots = []string{e.state}
	e.logs = []string{e.wrapLog}
	e.env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + filepath.Join(dir, "home"),
		"LANG=C",
		"TMPDIR=" + filepath.Join(dir, "tmp"),
	}
	for _, d := range []string{"home", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(e.wrapper, []byte(wrapperScript(bin, e.state, e.wrapLog, filepath.Join(dir, "tmp"), magawaFlags)), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.cleanup)
	return e
}

// wrapperScript is the runtime path the clients run: it logs the
// invocation and runs magawa with a private --root (a --root the client
// passes comes later and wins). create, run and exec hand their stdio to
// the container, and events streams: those run with the client's stdio
// untouched; the others' output is captured for the log.
func wrapperScript(magawa, state, log, tmp string, flags []string) string {
	quoted := make([]string, len(flags))
	for i, f := range flags {
		quoted[i] = shellQuote(f)
	}
	return `#!/bin/bash
# magawa e2e: logs each invocation, then runs magawa.
magawa=` + shellQuote(magawa) + `
state=` + shellQuote(state) + `
log=` + shellQuote(log) + `
tmp=` + shellQuote(tmp) + `
flags=(` + strings.Join(quoted, " ") + `)
verb=
for a in "$@"; do
	case "$a" in
	create|start|state|kill|delete|run|exec|ps|pause|resume|list|features|events|update|spec|checkpoint|restore|--version|-v|version)
		verb=$a; break;;
	esac
done
fds="0=$(readlink /proc/$$/fd/0) 1=$(readlink /proc/$$/fd/1) 2=$(readlink /proc/$$/fd/2)"
{
	printf '=== %s pid=%d ppid=%d verb=%s cwd=%s\n' "$(date +%T.%N)" $$ $PPID "$verb" "$PWD"
	printf 'argv:'; printf ' %q' "$@"; printf '   (the wrapper runs magawa --root %q%s with them)\n' "$state" "$( ((${#flags[@]})) && printf ' %q' "${flags[@]}")"
	printf 'env: %s\n' "$(env | grep -v -E '^(PATH|HOME|LANG|SHLVL|_|PWD|TMPDIR|LD_LIBRARY_PATH|GOMAXPROCS)=' | sort | tr '\n' ' ')"
	printf 'fds: %s\n' "$fds"
} >>"$log"
case "$verb" in
create|run|exec|events|"")
	"$magawa" --root "$state" "${flags[@]}" "$@"
	rc=$?
	;;
*)
	out=$(mktemp -p "$tmp" wrap.XXXXXX) err=$(mktemp -p "$tmp" wrap.XXXXXX)
	"$magawa" --root "$state" "${flags[@]}" "$@" >"$out" 2>"$err"
	rc=$?
	cat "$out"
	cat "$err" >&2
	{
		[ -s "$out" ] && printf 'stdout: %s\n' "$(head -c 4000 "$out")"
		[ -s "$err" ] && printf 'stderr: %s\n' "$(head -c 4000 "$err")"
	} >>"$log"
	rm -f "$out" "$err"
	;;
esac
printf -- '--- pid=%d verb=%s exit=%d\n' $$ "$verb" $rc >>"$log"
exit $rc
`
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// result is one finished command.
type result struct {
	stdout, stderr string
	code           int // exit status; -1 when it did not run or was killed
	err            error
}

func (r result) String() string {
	return fmt.Sprintf("exit %d (err %v)\nstdout: %q\nstderr: %q", r.code, r.err, r.stdout, r.stderr)
}

// run runs one client command with the private environment and stdin,
// bounded by cmdTimeout.
func (e *env) run(stdin string, name string, args ...string) result {
	e.t.Helper()
	return e.runEnv(nil, stdin, name, args...)
}

func (e *env) runEnv(extraEnv []string, stdin string, name string, args ...string) result {
	e.t.Helper()
	return e.runShown(extraEnv, stdin, nil, name, args...)
}

// runShown is runEnv, its command logged as shown (when not nil) in
// place of name and args: a client's long common flags left out.
func (e *env) runShown(extraEnv []string, stdin string, shown []string, name string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append([]string{}, e.env...), extraEnv...)
	cmd.Dir = e.dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), code: -1, err: err}
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		r.code = cmd.ProcessState.ExitCode()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.err = nil // a non-zero status is a result, not an error
		}
	}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("timed out after %v: %w", cmdTimeout, err)
	}
	if shown == nil {
		shown = append([]string{name}, args...)
	}
	e.t.Logf("$ %s  # %.2fs, exit %d", strings.Join(quoteArgs(shown), " "), time.Since(start).Seconds(), r.code)
	return r
}

func quoteArgs(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$;&|<>*?()[]{}\\`") {
			q[i] = shellQuote(a)
		} else {
			q[i] = a
		}
	}
	return q
}

// expect checks a result's exit status and, unless wantOut is nil, its
// stdout (exactly).
func (e *env) expect(what string, r result, wantCode int, wantOut *string) bool {
	e.t.Helper()
	ok := r.err == nil && r.code == wantCode
	if wantOut != nil && r.stdout != *wantOut {
		ok = false
	}
	if !ok {
		want := "any output"
		if wantOut != nil {
			want = fmt.Sprintf("stdout %q", *wantOut)
		}
		e.t.Errorf("%s: want exit %d and %s, got %v", what, wantCode, want, r)
	}
	return ok
}

func str(s string) *string { return &s }

// cleanup runs after the client's own cleanups (registered later, so
// run earlier): it deletes every container left in magawa's state roots,
// kills every process left behind (sandboxes: our magawa binary; shims,
// conmon: their command line names this directory), unmounts everything
// below the directory and removes it. On failure it first shows the
// wrapper's log and the daemons' logs.
func (e *env) cleanup() {
	t := e.t
	if t.Failed() {
		// The subtests showed their own invocations; the end of the
		// wrapper's log and the daemons' logs are for the rest.
		for i, l := range e.logs {
			max := int64(16 << 10)
			if i == 0 {
				max = 8 << 10
			}
			showTail(t, l, max)
		}
	}
	for _, root := range e.roots {
		e.deleteAll(root)
	}
	// Give what the client's own cleanup stopped a moment to exit.
	binDir := filepath.Dir(e.magawa)
	for i := 0; i < 50 && len(processesUnder(e.dir, binDir)) > 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range killUnder(t, e.dir, binDir) {
		if p.sandbox {
			t.Errorf("a magawa process outlived its container (killed): %s", p.desc)
		} else {
			t.Logf("left behind by the client (killed): %s", p.desc)
		}
	}
	unmountUnder(t, e.dir)
	if err := os.RemoveAll(e.dir); err != nil {
		t.Errorf("removing %s: %v", e.dir, err)
	}
}

// deleteAll force-deletes every container in a magawa state root.
func (e *env) deleteAll(root string) {
	if _, err := os.Stat(root); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, e.magawa, "--root", root, "list", "--quiet").Output()
	for _, id := range strings.Fields(string(out)) {
		e.t.Logf("magawa --root %s delete --force %s (left by the client)", root, id)
		exec.CommandContext(ctx, e.magawa, "--root", root, "delete", "--force", id).Run()
	}
}

// showTail logs the last max bytes of a file.
func showTail(t testing.TB, path string, max int64) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return
	}
	off := int64(0)
	if fi.Size() > max {
		off = fi.Size() - max
	}
	b, _ := io.ReadAll(io.NewSectionReader(f, off, max))
	t.Logf("---- %s (last %d bytes) ----\n%s", path, len(b), b)
}

// leftover is a process killUnder found.
type leftover struct {
	desc    string
	sandbox bool // runs the magawa binary under test
}

// killUnder SIGKILLs, by PID, every process whose command line names dir
// (shims, conmon, daemons started for this test) or whose executable lies
// in binDir (magawa's sandbox and gofer processes), until none is left,
// and describes them.
func killUnder(t testing.TB, dir, binDir string) []leftover {
	var killed []leftover
	seen := map[int]bool{}
	for round := 0; round < 20; round++ {
		pids := processesUnder(dir, binDir)
		for _, pid := range pids {
			if !seen[pid] {
				seen[pid] = true
				exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
				killed = append(killed, leftover{desc: describeProcess(pid), sandbox: binDir != "" && strings.HasPrefix(exe, binDir+"/")})
			}
			unix.Kill(pid, unix.SIGKILL)
		}
		if len(pids) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return killed
}

func processesUnder(dir, binDir string) []int {
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var pids []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == self {
			continue
		}
		if isZombie(pid) {
			continue
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if (binDir != "" && strings.HasPrefix(exe, binDir+"/")) || bytes.Contains(cmdline, []byte(dir+"/")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

func describeProcess(pid int) string {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	c := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
	if len(c) > 200 {
		c = c[:200] + "..."
	}
	return fmt.Sprintf("pid %d: %s", pid, c)
}

// parentOf returns a host process's parent PID (0 when it is gone).
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// isSelfOrDescendant says whether host process pid is root or one of its
// descendants.
func isSelfOrDescendant(pid, root int) bool {
	for i := 0; pid > 1 && i < 64; i++ {
		if pid == root {
			return true
		}
		pid = parentOf(pid)
	}
	return pid == root
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(t testing.TB, dir string) {
	for round := 0; round < 5; round++ {
		mps := mountsUnder(dir)
		if len(mps) == 0 {
			return
		}
		sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
		for _, mp := range mps {
			if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && t != nil {
				t.Logf("unmounting %s: %v", mp, err)
			}
		}
	}
}

func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var mps []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMountinfo(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mps = append(mps, mp)
		}
	}
	return mps
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// daemon is a background process the test started (containerd, dockerd).
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startDaemon starts a daemon with its output in a log file under the
// private directory; stop ends it (SIGTERM, then SIGKILL).
func (e *env) startDaemon(name string, args ...string) (*daemon, error) {
	logPath := filepath.Join(e.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = e.env
	cmd.Dir = e.dir
	cmd.Stdout, cmd.Stderr = f, f
	// Should the test binary die (a -timeout panic runs no cleanup),
	// its daemons are told to stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e.t.Logf("started %s (pid %d): %s", name, cmd.Process.Pid, strings.Join(quoteArgs(args), " "))
	e.logs = append(e.logs, logPath)
	d := &daemon{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); close(d.done) }()
	return d, nil
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop ends the daemon: SIGTERM, then SIGKILL after grace.
func (d *daemon) stop(t testing.TB, grace time.Duration) {
	if d.exited() {
		return
	}
	d.cmd.Process.Signal(unix.SIGTERM)
	select {
	case <-d.done:
		return
	case <-time.After(grace):
	}
	t.Logf("%s did not stop within %v of SIGTERM: killing it", d.name, grace)
	d.cmd.Process.Kill()
	<-d.done
}

// waitFor polls cond until it holds or the daemon exits or timeout passes.
func (d *daemon) waitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		if d.exited() {
			return fmt.Errorf("%s exited: %v", d.name, d.cmd.ProcessState)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v", d.name, timeout)
}

// tail returns the last lines of the daemon's log, for skip messages.
func (d *daemon) tail() string {
	b, _ := os.ReadFile(d.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}

// wrapperLog returns the wrapper's whole log.
func (e *env) wrapperLog() string {
	b, _ := os.ReadFile(e.wrapLog)
	return string(b)
}

// invocations returns the argv lines of the wrapper's log.
func (e *env) invocations() []string {
	var argv []string
	for _, l := range strings.Split(e.wrapperLog(), "\n") {
		if strings.HasPrefix(l, "argv: ") {
			argv = append(argv, strings.TrimPrefix(l, "argv: "))
		}
	}
	return argv
}

// checkGone fails when magawa still has container id in root.
func (e *env) checkGone(root, id string) {
	e.t.Helper()
	if _, err := os.Stat(filepath.Join(root, id)); err == nil {
		e.t.Errorf("magawa still has container %s in %s after the client removed it", id, root)
	}
}

// checkNoContainersLeft fails when magawa still has containers in root.
func (e *env) checkNoContainersLeft(root string) {
	e.t.Helper()
	if _, err := os.Stat(root); err != nil {
		return
	}
	out, err := exec.Command(e.magawa, "--root", root, "list", "--quiet").Output()
	if err != nil {
		e.t.Errorf("magawa --root %s list: %v", root, err)
		return
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		e.t.Errorf("magawa still has containers in %s after the client removed them: %v", root, ids)
	}
}

// sub returns the env for a subtest: the same private world, the
// subtest's t. When the subtest fails, it shows what magawa was asked
// to do during it (the wrapper's log from the subtest's start on).
func (e *env) sub(t *testing.T) *env {
	q := *e
	q.t = t
	var off int64
	if fi, err := os.Stat(e.wrapLog); err == nil {
		off = fi.Size()
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		b, err := os.ReadFile(e.wrapLog)
		if err != nil || int64(len(b)) < off {
			return
		}
		b = b[off:]
		if len(b) > 32<<10 {
			b = b[len(b)-32<<10:]
		}
		t.Logf("---- magawa invocations during this subtest (%s) ----\n%s", e.wrapLog, b)
	})
	return &q
}

// created remembers which of some host paths the test created, to remove
// them at the end (the clients make a few fixed paths whatever their
// configuration: containerd's shim socket directory, dockerd's plugin
// directory and trust key).
type created struct {
	t     testing.TB
	paths []string
}

// noteCreated records which of paths do not exist yet.
func (e *env) noteCreated(paths ...string) *created {
	c := &created{t: e.t}
	for _, p := range paths {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			c.paths = append(c.paths, p)
		}
	}
	return c
}

// removeIfEmpty removes the recorded paths that are now there: files,
// and directories when empty; deepest first.
func (c *created) removeIfEmpty() {
	ps := append([]string{}, c.paths...)
	sort.Slice(ps, func(i, j int) bool { return len(ps[i]) > len(ps[j]) })
	for _, p := range ps {
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if err := os.Remove(p); err != nil && !fi.IsDir() {
			c.t.Logf("removing %s: %v", p, err)
		} else if err != nil {
			c.t.Logf("%s was made by the client and is not empty: left in place", p)
		}
	}
}
