package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sample is one run of a case under one runtime: it runs programs in a
// fresh sandbox of that runtime (natively for "native") and maps the
// sandbox's paths to the host's.
type Sample struct {
	W  *Workspace
	RT *Runtime
}

// P is the path that the sandbox's path p (under /bench, /tmp or /vol)
// has for the runtime: itself in a container, the workspace's directory
// natively (the root file system's /tmp is where runc's container writes
// too).
func (s *Sample) P(p string) string {
	if s.RT.isContainer() {
		return p
	}
	if p == "/vol" || strings.HasPrefix(p, "/vol/") {
		return s.W.Vol + strings.TrimPrefix(p, "/vol")
	}
	return s.W.Rootfs + p
}

// env is the environment of every program the samples run: a
// container's (the bundle's process.env), natively too, so that the
// caller's (a virtualenv, PYTHON* variables) changes nothing.
var env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"}

// command is exec.CommandContext with env.
func command(ctx context.Context, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	return cmd
}

// Run runs args in a fresh sandbox (a container's `run`) and returns
// what it wrote on stdout.
func (s *Sample) Run(ctx context.Context, args ...string) ([]byte, error) {
	if !s.RT.isContainer() {
		return output(command(ctx, args...))
	}
	id := s.W.newID()
	dir, err := s.W.bundle(id, args, false)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := command(ctx, append(append([]string{s.RT.Bin}, s.RT.global()...), "run", "--bundle", dir, id)...)
	s.W.track(id, s.RT)
	defer s.W.untrack(id)
	out, err := outputFiles(cmd, dir, s.RT.Name+" run")
	if err != nil {
		// `run` deletes the container when its process exits; not when
		// it fails or is killed.
		s.delete(id)
	}
	return out, err
}

// Numbers runs args in a sandbox and returns the numbers it prints.
func (s *Sample) Numbers(ctx context.Context, args ...string) ([]float64, error) {
	out, err := s.Run(ctx, args...)
	if err != nil {
		return nil, err
	}
	return numbers(out)
}

// Probe runs the probe name (bench/probes/NAME.c) with args in a sandbox
// and returns the numbers it prints.
func (s *Sample) Probe(ctx context.Context, name string, args ...string) ([]float64, error) {
	return s.Numbers(ctx, append([]string{s.P("/bench/probes/" + name)}, args...)...)
}

// Time runs argv on the host and returns how long it took, in
// milliseconds: start-up measured from outside.
func Time(ctx context.Context, argv ...string) (float64, error) {
	dir, err := os.MkdirTemp("", "magawa-bench-out-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cmd := command(ctx, argv...)
	start := time.Now()
	_, err = outputFiles(cmd, dir, argv[0])
	return float64(time.Since(start)) / float64(time.Millisecond), err
}

// TimeRun is how long a container's `run` of args takes (create, start,
// the process's run and exit, delete), in milliseconds; natively, a
// fork and exec of args.
func (s *Sample) TimeRun(ctx context.Context, args ...string) (float64, error) {
	if !s.RT.isContainer() {
		return Time(ctx, args...)
	}
	id := s.W.newID()
	dir, err := s.W.bundle(id, args, false)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	s.W.track(id, s.RT)
	defer s.W.untrack(id)
	ms, err := Time(ctx, append(append([]string{s.RT.Bin}, s.RT.global()...), "run", "--bundle", dir, id)...)
	if err != nil {
		s.delete(id)
	}
	return ms, err
}

// Server is a program running detached in a sandbox: a network case's
// server, or the sleeping process of the memory case.
type Server struct {
	s    *Sample
	id   string // the container's
	dir  string
	cmd  *exec.Cmd // natively
	done chan error
}

// Start starts args detached (a container's create and start), in the
// veth's namespace when veth is set.
func (s *Sample) Start(ctx context.Context, veth bool, args ...string) (*Server, error) {
	if veth {
		if err := s.W.Veth.Reset(ctx); err != nil {
			return nil, err
		}
	}
	srv := &Server{s: s}
	if !s.RT.isContainer() {
		dir, err := os.MkdirTemp(s.W.Dir, "native-")
		if err != nil {
			return nil, err
		}
		srv.dir = dir
		if veth {
			args = append([]string{"ip", "netns", "exec", s.W.Veth.NS}, args...)
		}
		// Not the run's context: Stop ends it, and a cancelled run's
		// cleanup does.
		srv.cmd = command(context.Background(), args...)
		if err := startFiles(srv.cmd, dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		srv.done = make(chan error, 1)
		go func() { srv.done <- srv.cmd.Wait() }()
		return srv, nil
	}
	srv.id = s.W.newID()
	dir, err := s.W.bundle(srv.id, args, veth)
	if err != nil {
		return nil, err
	}
	srv.dir = dir
	s.W.track(srv.id, s.RT)
	argv := append(append([]string{s.RT.Bin}, s.RT.global()...), "create", "--bundle", dir, srv.id)
	if _, err := outputFiles(command(ctx, argv...), dir, s.RT.Name+" create"); err != nil {
		srv.Stop()
		return nil, err
	}
	if out, err := command(ctx, append(append([]string{s.RT.Bin}, s.RT.global()...), "start", srv.id)...).CombinedOutput(); err != nil {
		srv.Stop()
		return nil, fmt.Errorf("%s start: %v: %s", s.RT.Name, err, bytes.TrimSpace(out))
	}
	return srv, nil
}

// WaitTCP waits until addr accepts a connection, or the server has
// exited, or 30 seconds have passed.
func (srv *Server) WaitTCP(ctx context.Context, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if srv.done != nil {
			select {
			case err := <-srv.done:
				srv.done <- err
				return fmt.Errorf("the server exited (%v): %s", err, srv.stderr())
			default:
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("nothing listens on %s: %v; the server's stderr: %s", addr, err, srv.stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PIDs are the host processes the sandbox consists of: the container's
// process as `state` names it and its descendants, and, for runtimes
// whose sandbox and gofer are not descendants of it (runsc), every
// process whose command line names the runtime's state directory, with
// their descendants.
func (srv *Server) PIDs(ctx context.Context) ([]int, error) {
	if srv.cmd != nil {
		return descendants([]int{srv.cmd.Process.Pid}), nil
	}
	rt := srv.s.RT
	out, err := command(ctx, append(append([]string{rt.Bin}, rt.global()...), "state", srv.id)...).Output()
	if err != nil {
		return nil, fmt.Errorf("state: %v", err)
	}
	var st struct{ Pid int }
	if err := json.Unmarshal(out, &st); err != nil || st.Pid <= 0 {
		return nil, fmt.Errorf("state: no pid in %q (%v)", out, err)
	}
	roots := []int{st.Pid}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(rt.state)) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			roots = append(roots, pid)
		}
	}
	return descendants(roots), nil
}

// Stop ends the server: the container deleted by force, or the native
// process killed.
func (srv *Server) Stop() {
	if srv.cmd != nil {
		srv.cmd.Process.Kill()
		<-srv.done
	} else if srv.id != "" {
		srv.s.delete(srv.id)
		srv.s.W.untrack(srv.id)
	}
	if srv.dir != "" {
		os.RemoveAll(srv.dir)
	}
}

// WaitOutput waits until the server's standard output holds want.
func (srv *Server) WaitOutput(ctx context.Context, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(filepath.Join(srv.dir, "stdout"))
		if bytes.Contains(b, []byte(want)) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the server did not print %q: stdout %q, stderr %s", want, b, srv.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CPUTime is the CPU time the processes' threads have used, from each
// thread's schedstat (nanoseconds, unlike stat's clock ticks).
func CPUTime(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		for _, p := range stats {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			if f := strings.Fields(string(b)); len(f) > 0 {
				ns, _ := strconv.ParseInt(f[0], 10, 64)
				total += time.Duration(ns)
			}
		}
	}
	return total
}

func (srv *Server) stderr() string {
	return tail(filepath.Join(srv.dir, "stderr"))
}

// delete removes a container by force, with a context of its own: it
// is also how a cancelled run cleans up.
func (s *Sample) delete(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	command(ctx, append(append([]string{s.RT.Bin}, s.RT.global()...), "delete", "--force", id)...).Run()
}

// outputFiles runs cmd with its stdout and stderr in files of dir and
// returns stdout; what names the command in errors. Files, not pipes: a
// container's process inherits them and may outlive the command
// (create), and runsc reopens its stdout, writing from the file's
// start, so each run has files of its own.
func outputFiles(cmd *exec.Cmd, dir, what string) ([]byte, error) {
	if err := startFiles(cmd, dir); err != nil {
		return nil, err
	}
	err := cmd.Wait()
	out, _ := os.ReadFile(filepath.Join(dir, "stdout"))
	if err != nil {
		return out, fmt.Errorf("%s: %v: %s", what, err, tail(filepath.Join(dir, "stderr")))
	}
	return out, nil
}

func startFiles(cmd *exec.Cmd, dir string) error {
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		return err
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd.Start()
}

// output runs a native command and returns its stdout.
func output(cmd *exec.Cmd) ([]byte, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %v: %s", filepath.Base(cmd.Args[0]), err, lastLines(stderr.String(), 5))
	}
	return out, nil
}

// numbers parses the whitespace-separated numbers a probe prints.
func numbers(out []byte) ([]float64, error) {
	var vs []float64
	for _, f := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("not a number in the output %q", lastLines(string(out), 3))
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("no output")
	}
	return vs, nil
}

// descendants is roots and every process below them, each once.
func descendants(roots []int) []int {
	seen := map[int]bool{}
	var all []int
	for i := 0; i < len(roots); i++ {
		pid := roots[i]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		all = append(all, pid)
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, t := range tasks {
			b, _ := os.ReadFile(t)
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					roots = append(roots, c)
				}
			}
		}
	}
	return all
}

// PSS sums the proportional set size of pids, in bytes: memory shared
// between them (the runtime's binary mapped by its sandbox and gofer)
// counts once in all, not once each.
func PSS(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				total += kb << 10
			}
		}
	}
	return total
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	return lastLines(string(b), 5)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// TimeFirstOutput creates a container running args with its stdout a
// pipe, starts it, and returns how long `create` took and how long
// from create's start until the first byte came out of the pipe, in
// milliseconds: what a user waits for, measured from outside (for the
// VM sandbox create returns once QEMU booted, the guest's agent answered
// and the container was made in the guest).
func (s *Sample) TimeFirstOutput(ctx context.Context, args ...string) ([]float64, error) {
	id := s.W.newID()
	dir, err := s.W.bundle(id, args, false)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	s.W.track(id, s.RT)
	defer s.W.untrack(id)
	defer s.delete(id)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		w.Close()
		return nil, err
	}
	defer stderr.Close()
	// Files, not io.Writers: Wait then does not wait for the pipe's
	// writers, which the sandbox is one of while it lives.
	cmd := command(ctx, append(append([]string{s.RT.Bin}, s.RT.global()...), "create", "--bundle", dir, id)...)
	cmd.Stdout, cmd.Stderr = w, stderr
	start := time.Now()
	err = cmd.Run()
	created := time.Since(start)
	w.Close()
	if err != nil {
		return nil, fmt.Errorf("%s create: %v: %s", s.RT.Name, err, tail(stderr.Name()))
	}
	if out, err := command(ctx, append(append([]string{s.RT.Bin}, s.RT.global()...), "start", id)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s start: %v: %s", s.RT.Name, err, bytes.TrimSpace(out))
	}
	if dl, ok := ctx.Deadline(); ok {
		r.SetReadDeadline(dl)
	}
	if _, err := r.Read(make([]byte, 1)); err != nil {
		return nil, fmt.Errorf("no output from the container: %v: %s", err, tail(stderr.Name()))
	}
	first := time.Since(start)
	return []float64{ms(created), ms(first)}, nil
}

// VMBoot creates a container of the VM sandbox with --debug-log and
// returns, in milliseconds from the moment create was run, when the
// supervisor's log says QEMU started, the guest's agent first answered,
// and the container was made in the guest. The log's times are the
// supervisor's wall clock, the start is the suite's, on the same host.
func (s *Sample) VMBoot(ctx context.Context) ([]float64, error) {
	id := s.W.newID()
	dir, err := s.W.bundle(id, []string{"/bin/sleep", "1000"}, false)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	s.W.track(id, s.RT)
	defer s.W.untrack(id)
	defer s.delete(id)
	logFile := filepath.Join(dir, "debug.log")
	argv := append(append([]string{s.RT.Bin, "--debug-log", logFile}, s.RT.global()...), "create", "--bundle", dir, id)
	start := time.Now()
	if _, err := outputFiles(command(ctx, argv...), dir, s.RT.Name+" create"); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		return nil, err
	}
	var vs []float64
	for _, what := range []string{`QEMU \d+ started`, `agent \S+ answered`, `container created`} {
		t, err := logTime(b, what)
		if err != nil {
			return nil, err
		}
		vs = append(vs, ms(t.Sub(start)))
	}
	return vs, nil
}

// logTime is the time of the supervisor's first log line matching
// what ("magawa-vm[1] 2006/01/02 15:04:05.000000 what...", Go's log
// with microseconds, in local time).
func logTime(log []byte, what string) (time.Time, error) {
	m := regexp.MustCompile(`(?m)^\S+ (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) ` + what).FindSubmatch(log)
	if m == nil {
		return time.Time{}, fmt.Errorf("no %q line in the supervisor's --debug-log: %s", what, lastLines(string(log), 3))
	}
	return time.ParseInLocation("2006/01/02 15:04:05.000000", string(m[1]), time.Local)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
