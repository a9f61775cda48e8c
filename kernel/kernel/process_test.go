package kernel_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/hostfs"
	"magawa/kernel/fs/proc"
	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/kernel"
	"magawa/kernel/memfile"
	"magawa/kernel/platform"
	_ "magawa/kernel/platform/ptrace" // registers "ptrace"
	"magawa/kernel/syscalls"
	"magawa/kernel/vfs"
)

// These tests run busybox in a whole kernel (ptrace platform, the real
// system-call table) whose root is a tmpfs holding /bin/busybox and its
// applet links, and drive it as a container runtime does.

// busybox is the static busybox the tests run.
const busybox = "/bin/busybox"

// waitTimeout bounds every wait for the sandbox, so that a hang fails
// its test instead of the package timing out.
const waitTimeout = 30 * time.Second

// skip skips with a reason, or fails when MAGAWA_TEST_NO_SKIP is set (CI
// must not skip anything).
func skip(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("MAGAWA_TEST_NO_SKIP") != "" {
		t.Fatalf("MAGAWA_TEST_NO_SKIP is set, so failing instead of skipping: %s", msg)
	}
	t.Skip(msg)
}

// sandbox is a kernel over a tmpfs root holding busybox.
type sandbox struct {
	t       *testing.T
	k       *kernel.Kernel
	started bool
}

func newSandbox(t *testing.T, protectInit bool) *sandbox {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root: the sandbox traces its stub processes as magawa does (CI runs as root)")
	}
	image, err := os.ReadFile(busybox)
	if err != nil {
		skip(t, "needs a static busybox at %s (apt-get install busybox-static): %v", busybox, err)
	}
	mf, err := memfile.New(memfile.DefaultSize)
	if err != nil {
		t.Fatal(err)
	}
	newPlatform, err := platform.Lookup("ptrace")
	if err != nil {
		mf.Close()
		t.Fatal(err)
	}
	p, err := newPlatform(mf.FD())
	if err != nil {
		mf.Close()
		t.Fatalf("starting the ptrace platform: %v", err)
	}
	v := vfs.New()
	opts := tmpfs.DefaultOptions()
	opts.Mode = 0o755
	ns := v.NewMountNamespace(tmpfs.New(mf, opts), "tmpfs", 0)
	s := &sandbox{t: t}
	t.Cleanup(func() {
		if s.started {
			// Whatever the test left running ends with the sandbox.
			s.k.Signal(1, unix.SIGKILL, false)
			s.wait()
		}
		p.Close()
		mf.Close()
	})
	populate(t, v, ns, image)
	var k *kernel.Kernel
	k, err = kernel.New(kernel.Config{
		Platform:   p,
		MemoryFile: mf,
		Syscalls:   syscalls.Table(),
		VFS:        v,
		Mounts:     ns,
		Futexes: syscalls.NewFutexes(func(tid uint32) bool {
			return k != nil && k.FutexAlive(int32(tid))
		}),
		ProtectInit: protectInit,
		Domainname:  "example.org",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: ns.Root(), Cwd: ns.Root()}
	procDir, err := v.Resolve(ctx, ns.Root(), "/proc", 0)
	if err != nil {
		t.Fatal(err)
	}
	procFS := proc.New(k, proc.Options{Release: syscalls.KernelRelease, Version: syscalls.KernelVersion})
	if _, err := v.Mount(ctx, procDir, procFS, "proc", vfs.MountNoSuid|vfs.MountNoDev|vfs.MountNoExec); err != nil {
		t.Fatalf("mounting /proc: %v", err)
	}
	s.k = k
	return s
}

// populate writes busybox to /bin with links for the applets the tests
// use, and the identity program if it could be built, and makes the
// directories.
func populate(t *testing.T, v *vfs.VFS, ns *vfs.MountNamespace, image []byte) {
	t.Helper()
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: ns.Root(), Cwd: ns.Root()}
	for _, dir := range []string{"/bin", "/tmp", "/proc"} {
		if err := v.Mkdir(ctx, ns.Root(), dir, 0o755); err != nil {
			t.Fatalf("mkdir %s: %v", dir, err)
		}
	}
	writeFile(t, v, ctx, busybox, image)
	for _, applet := range []string{"sh", "sleep", "echo", "kill", "cat", "true", "hostname", "grep"} {
		if err := v.Symlink(ctx, "busybox", ns.Root(), "/bin/"+applet); err != nil {
			t.Fatalf("linking %s: %v", applet, err)
		}
	}
	if ident, err := identProgram(); err == nil {
		writeFile(t, v, ctx, "/bin/ident", ident)
	}
}

func writeFile(t *testing.T, v *vfs.VFS, ctx *vfs.Context, name string, data []byte) {
	t.Helper()
	f, err := v.Open(ctx, ctx.Root, name, vfs.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o755})
	if err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	defer f.DecRef()
	if n, err := f.Impl.WriteAt(data, 0); err != nil || n != len(data) {
		t.Fatalf("writing %s: %d, %v", name, n, err)
	}
}

// identSource prints what a process is in the sandbox's eyes.
const identSource = `#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <sys/utsname.h>

int main(void) {
	struct utsname u;
	if (uname(&u) != 0) {
		perror("uname");
		return 1;
	}
	printf("pid=%d ppid=%d pgrp=%d sid=%d node=%s domain=%s\n",
	       getpid(), getppid(), getpgrp(), getsid(0), u.nodename, u.domainname);
	return 0;
}
`

var (
	identOnce  sync.Once
	identImage []byte
	identErr   error
)

// identProgram builds identSource, static, once.
func identProgram() ([]byte, error) {
	identOnce.Do(func() {
		dir, err := os.MkdirTemp("", "magawa-kernel-test-")
		if err != nil {
			identErr = err
			return
		}
		defer os.RemoveAll(dir)
		src, bin := filepath.Join(dir, "ident.c"), filepath.Join(dir, "ident")
		if err := os.WriteFile(src, []byte(identSource), 0o644); err != nil {
			identErr = err
			return
		}
		if b, err := exec.Command("gcc", "-static", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
			identErr = fmt.Errorf("gcc -static: %v\n%s", err, b)
			return
		}
		identImage, identErr = os.ReadFile(bin)
	})
	return identImage, identErr
}

// needIdent skips a test that runs the identity program when it could
// not be built.
func needIdent(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		skip(t, "needs gcc and a static libc to build the test program (apt-get install gcc libc6-dev)")
	}
	if _, err := identProgram(); err != nil {
		t.Fatalf("building the test program: %v", err)
	}
}

// output collects what a process writes to a host pipe.
type output struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// lines counts the complete lines written so far.
func (o *output) lines() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Count(o.buf.Bytes(), []byte("\n"))
}

// spec describes the process sh -c script, its standard output and
// error a pipe whose other end the returned output reads.
func (s *sandbox) spec(script string) (kernel.ProcessSpec, *output) {
	s.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		s.t.Fatal(err)
	}
	fd, err := unix.FcntlInt(w.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	w.Close()
	if err != nil {
		r.Close()
		s.t.Fatal(err)
	}
	out := &output{done: make(chan struct{})}
	go func() {
		defer close(out.done)
		defer r.Close()
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			out.mu.Lock()
			out.buf.Write(b[:n])
			out.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	stdout := hostfs.StreamFile(fd, unix.O_WRONLY)
	stdout.IncRef() // standard error too
	return kernel.ProcessSpec{
		Path:  "/bin/sh",
		Argv:  []string{"sh", "-c", script},
		Envv:  []string{"PATH=/bin"},
		Stdio: [3]*vfs.File{nil, stdout, stdout},
		Cwd:   "/tmp",
	}, out
}

// start starts the sandbox's init running script.
func (s *sandbox) start(script string) *output {
	s.t.Helper()
	spec, out := s.spec(script)
	s.startSpec(spec)
	return out
}

func (s *sandbox) startSpec(spec kernel.ProcessSpec) {
	s.t.Helper()
	err := s.k.Start(spec)
	s.started = true
	if err != nil {
		s.t.Fatalf("Start: %v", err)
	}
}

// exec adds a process running script to the sandbox.
func (s *sandbox) exec(script string) (*kernel.Process, *output) {
	s.t.Helper()
	spec, out := s.spec(script)
	p, err := s.k.Exec(spec)
	if err != nil {
		s.t.Fatalf("Exec: %v", err)
	}
	return p, out
}

// wait waits for the sandbox to end.
func (s *sandbox) wait() kernel.ExitStatus {
	s.t.Helper()
	done := make(chan kernel.ExitStatus, 1)
	go func() { done <- s.k.Wait() }()
	select {
	case st := <-done:
		return st
	case <-time.After(waitTimeout):
		s.t.Fatalf("the sandbox did not end within %v", waitTimeout)
		return kernel.ExitStatus{}
	}
}

// waitProcess waits for an exec'd process to end.
func waitProcess(t *testing.T, p *kernel.Process) kernel.ExitStatus {
	t.Helper()
	select {
	case <-p.Done():
		return p.Wait()
	case <-time.After(waitTimeout):
		t.Fatalf("process %d did not end within %v", p.PID(), waitTimeout)
		return kernel.ExitStatus{}
	}
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// process returns the sandbox's process pid as ps lists it.
func (s *sandbox) process(pid int32) (kernel.ProcessInfo, bool) {
	for _, p := range s.k.Processes() {
		if p.PID == pid {
			return p, true
		}
	}
	return kernel.ProcessInfo{}, false
}

// sleeping waits until process pid runs the sleep applet.
func (s *sandbox) sleeping(pid int32) {
	s.t.Helper()
	// Exec gives the process its new arguments before its new name,
	// and it sleeps only once it runs sleep: all three are waited for.
	eventually(s.t, fmt.Sprintf("process %d to sleep", pid), func() bool {
		p, ok := s.process(pid)
		return ok && len(p.Argv) > 0 && p.Argv[0] == "sleep" && p.Comm == "sleep" && p.State == 'S'
	})
}

func TestStartExecWait(t *testing.T) {
	s := newSandbox(t, true)
	s.start("exec sleep 1000")
	s.sleeping(1)
	p, out := s.exec(`echo "ppid=$PPID"; hostname; exit 7`)
	if p.PID() <= 1 {
		t.Errorf("exec'd process has PID %d", p.PID())
	}
	if st := waitProcess(t, p); st != (kernel.ExitStatus{Code: 7}) {
		t.Errorf("exec'd process ended with %v, want exit 7", st)
	}
	<-out.done
	if got, want := out.String(), "ppid=0\nmagawa\n"; got != want {
		t.Errorf("exec'd process wrote %q, want %q", got, want)
	}
	// Its own session and process group, no parent; reaped by the
	// kernel: gone from the list.
	q, _ := s.exec("exec sleep 999")
	s.sleeping(q.PID())
	info, _ := s.process(q.PID())
	if info.PPID != 0 || info.PGID != q.PID() || info.SID != q.PID() {
		t.Errorf("exec'd process: ppid %d pgid %d sid %d, want 0, %d, %d", info.PPID, info.PGID, info.SID, q.PID(), q.PID())
	}
	if _, ok := s.process(p.PID()); ok {
		t.Errorf("the exited process %d is still listed", p.PID())
	}
	// Init's exit kills the rest, exec'd processes included.
	if err := s.k.Signal(1, unix.SIGKILL, false); err != nil {
		t.Fatalf("SIGKILL to init: %v", err)
	}
	if st := s.wait(); st.Signal != unix.SIGKILL {
		t.Errorf("init ended with %v, want SIGKILL", st)
	}
	if st := waitProcess(t, q); st.Signal != unix.SIGKILL {
		t.Errorf("the exec'd process ended with %v after init's death, want SIGKILL", st)
	}
	if _, err := s.k.Exec(kernel.ProcessSpec{Path: "/bin/true"}); err != kernel.ErrNotRunning {
		t.Errorf("Exec after the end: %v, want ErrNotRunning", err)
	}
	if err := s.k.Signal(1, unix.SIGTERM, false); err != unix.ESRCH {
		t.Errorf("Signal after the end: %v, want ESRCH", err)
	}
}

func TestRunIsStartAndWait(t *testing.T) {
	s := newSandbox(t, false)
	spec, out := s.spec("echo $$; exit 3")
	s.started = true
	st, err := s.k.Run(spec)
	if err != nil || st != (kernel.ExitStatus{Code: 3}) {
		t.Errorf("Run: %v, %v; want exit 3", st, err)
	}
	<-out.done
	if out.String() != "1\n" {
		t.Errorf("init wrote %q, want its PID, 1", out.String())
	}
	if err := s.k.Start(kernel.ProcessSpec{Path: "/bin/true"}); err != kernel.ErrStarted {
		t.Errorf("a second Start: %v, want ErrStarted", err)
	}
}

func TestStartFailure(t *testing.T) {
	s := newSandbox(t, false)
	spec, _ := s.spec("true")
	spec.Path = "/bin/nonexistent"
	s.started = true
	if err := s.k.Start(spec); err == nil {
		t.Fatal("Start of a missing program succeeded")
	}
	// The sandbox has ended: Wait returns.
	s.wait()
}

// An exec'd process has no parent and leads a session and a process
// group of its own, as runc's setsid makes it.
func TestExecIdentity(t *testing.T) {
	needIdent(t)
	s := newSandbox(t, true)
	s.start("exec sleep 1000")
	s.sleeping(1)
	p, out := s.exec("exec /bin/ident")
	if st := waitProcess(t, p); st.Code != 0 {
		t.Errorf("ident ended with %v", st)
	}
	<-out.done
	want := fmt.Sprintf("pid=%d ppid=0 pgrp=%[1]d sid=%[1]d node=magawa domain=example.org\n", p.PID())
	if out.String() != want {
		t.Errorf("ident wrote %q, want %q", out.String(), want)
	}
}

// The process attributes a runtime gives: credentials, capabilities
// (exec's rules applied: a user keeps its ambient set), limits, umask,
// no_new_privs, in /proc/self as the process sees them.
func TestExecProcessSpec(t *testing.T) {
	s := newSandbox(t, true)
	s.start("exec sleep 1000")
	s.sleeping(1)
	spec, out := s.spec(`grep -E '^(Umask|Uid|Gid|Groups|Cap...|NoNewPrivs):' /proc/self/status; grep 'open files' /proc/self/limits`)
	umask := uint32(0o027)
	spec.Umask = &umask
	spec.Rlimits = map[int]kernel.Rlimit{unix.RLIMIT_NOFILE: {Cur: 100, Max: 200}}
	spec.Creds = kernel.Credentials{
		UID: 1000, EUID: 1000, SUID: 1000, FSUID: 1000,
		GID: 1000, EGID: 1000, SGID: 1000, FSGID: 1000,
		Groups: []uint32{20, 10},
	}
	bind := kernel.CapBit(unix.CAP_NET_BIND_SERVICE)
	spec.Capabilities = &kernel.Capabilities{
		Bounding: bind | kernel.CapBit(unix.CAP_CHOWN), Effective: bind, Permitted: bind, Inheritable: bind, Ambient: bind,
	}
	spec.NoNewPrivileges = true
	p, err := s.k.Exec(spec)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitProcess(t, p); st.Code != 0 {
		t.Errorf("exec'd process ended with %v", st)
	}
	<-out.done
	want := []string{
		"Umask:\t0027",
		"Uid:\t1000\t1000\t1000\t1000",
		"Gid:\t1000\t1000\t1000\t1000",
		"Groups:\t10 20 ",
		"CapInh:\t0000000000000400",
		"CapPrm:\t0000000000000400",
		"CapEff:\t0000000000000400",
		"CapBnd:\t0000000000000401",
		"CapAmb:\t0000000000000400",
		"NoNewPrivs:\t1",
	}
	got := strings.Split(out.String(), "\n")
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("/proc/self/status lacks %q:\n%s", w, out.String())
		}
	}
	if f := strings.Fields(out.String()[strings.Index(out.String(), "Max open files"):]); len(f) < 5 || f[3] != "100" || f[4] != "200" {
		t.Errorf("/proc/self/limits: %q", out.String())
	}

	// Sets a capset would refuse are refused.
	spec, _ = s.spec("true")
	spec.Capabilities = &kernel.Capabilities{Effective: bind}
	if _, err := s.k.Exec(spec); err == nil {
		t.Error("Exec with an effective capability that is not permitted succeeded")
	}
	spec, _ = s.spec("true")
	spec.Rlimits = map[int]kernel.Rlimit{unix.RLIMIT_NOFILE: {Cur: 2, Max: 1}}
	if _, err := s.k.Exec(spec); err == nil {
		t.Error("Exec with a soft limit above the hard one succeeded")
	}
}

func TestSignalFromOutside(t *testing.T) {
	s := newSandbox(t, true)
	s.start("exec sleep 1000")
	s.sleeping(1)
	a, _ := s.exec("exec sleep 1000")
	b, _ := s.exec("exec sleep 1000")
	s.sleeping(a.PID())
	s.sleeping(b.PID())

	if err := s.k.Signal(12345, unix.SIGTERM, false); err != unix.ESRCH {
		t.Errorf("Signal to no process: %v, want ESRCH", err)
	}
	if err := s.k.Signal(1, unix.Signal(65), false); err != unix.EINVAL {
		t.Errorf("Signal 65: %v, want EINVAL", err)
	}
	if err := s.k.Signal(a.PID(), 0, false); err != nil {
		t.Errorf("Signal 0: %v", err)
	}
	// SIGTERM to everyone: init, which does not handle it, is protected
	// even from outside; the others die.
	if err := s.k.Signal(0, unix.SIGTERM, true); err != nil {
		t.Fatalf("SIGTERM to all: %v", err)
	}
	for _, p := range []*kernel.Process{a, b} {
		if st := waitProcess(t, p); st.Signal != unix.SIGTERM {
			t.Errorf("process %d ended with %v, want SIGTERM", p.PID(), st)
		}
	}
	// From inside, not even SIGKILL reaches init.
	k, _ := s.exec("kill -KILL 1; kill -TERM 1; echo sent")
	if st := waitProcess(t, k); st.Code != 0 {
		t.Errorf("kill from inside ended with %v", st)
	}
	time.Sleep(50 * time.Millisecond)
	if info, ok := s.process(1); !ok || info.State == 'Z' {
		t.Fatalf("init died of a signal sent from inside: %+v", info)
	}
	// SIGSTOP and SIGCONT from outside reach it.
	if err := s.k.Signal(1, unix.SIGSTOP, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "init to stop", func() bool { p, _ := s.process(1); return p.State == 'T' })
	if err := s.k.Signal(1, unix.SIGCONT, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "init to continue", func() bool { p, _ := s.process(1); return p.State == 'S' })
	// SIGKILL from outside does.
	if err := s.k.Signal(1, unix.SIGKILL, true); err != nil {
		t.Fatal(err)
	}
	if st := s.wait(); st.Signal != unix.SIGKILL {
		t.Errorf("init ended with %v, want SIGKILL", st)
	}
}

// A signal init handles reaches it from outside, from nobody it knows.
func TestSignalHandledByInit(t *testing.T) {
	s := newSandbox(t, true)
	out := s.start(`trap 'echo TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done`)
	eventually(t, "init's trap", func() bool { return strings.Contains(out.String(), "ready") })
	if err := s.k.Signal(1, unix.SIGTERM, false); err != nil {
		t.Fatal(err)
	}
	if st := s.wait(); st != (kernel.ExitStatus{Code: 3}) {
		t.Errorf("init ended with %v, want its trap's exit 3", st)
	}
	<-out.done
	if out.String() != "ready\nTERM\n" {
		t.Errorf("init wrote %q", out.String())
	}
}

func TestProcesses(t *testing.T) {
	s := newSandbox(t, true)
	s.start("exec sleep 1000")
	s.sleeping(1)
	p, _ := s.exec("exec sleep 999")
	s.sleeping(p.PID())
	ps := s.k.Processes()
	if len(ps) != 2 {
		t.Fatalf("Processes = %+v, want init and the exec'd sleep", ps)
	}
	init, other := ps[0], ps[1]
	// The command name is the name exec was given (the applet's link).
	if init.PID != 1 || init.PPID != 0 || init.UID != 0 || init.Comm != "sleep" ||
		!slices.Equal(init.Argv, []string{"sleep", "1000"}) || init.State != 'S' || init.Threads != 1 {
		t.Errorf("init: %+v", init)
	}
	if other.PID != p.PID() || !slices.Equal(other.Argv, []string{"sleep", "999"}) || other.StartTime.Before(init.StartTime) {
		t.Errorf("exec'd process: %+v (init started %v)", other, init.StartTime)
	}
}

// counter prints an increasing count as fast as it can.
const counter = `i=0; while :; do i=$((i+1)); echo $i; done`

// lastCount is the last complete number a counter printed.
func lastCount(o *output) int {
	s := strings.TrimSuffix(o.String(), "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	n, _ := strconv.Atoi(s)
	return n
}

func TestPauseResume(t *testing.T) {
	s := newSandbox(t, true)
	out := s.start(counter)
	// A process sleeping in a system call when the sandbox is paused
	// does not return to its program until it is resumed.
	sleeper, sleeperOut := s.exec("sleep 0.2; echo woke")
	eventually(t, "the counter to count", func() bool { return lastCount(out) > 100 })
	if err := s.k.Pause(); err != nil {
		t.Fatal(err)
	}
	if !s.k.Paused() {
		t.Error("Paused is false after Pause")
	}
	// What was written before Pause returned reaches the pipe; then
	// nothing does.
	time.Sleep(50 * time.Millisecond)
	frozen := out.lines()
	time.Sleep(500 * time.Millisecond)
	if n := out.lines(); n != frozen {
		t.Errorf("the counter went on while paused: %d lines, then %d", frozen, n)
	}
	if got := sleeperOut.String(); got != "" {
		t.Errorf("a paused process wrote %q", got)
	}
	if err := s.k.Pause(); err != nil {
		t.Errorf("pausing again: %v", err)
	}
	if err := s.k.Resume(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the counter to go on", func() bool { return out.lines() > frozen+100 })
	if st := waitProcess(t, sleeper); st.Code != 0 {
		t.Errorf("the sleeper ended with %v", st)
	}
	<-sleeperOut.done
	if sleeperOut.String() != "woke\n" {
		t.Errorf("the sleeper wrote %q", sleeperOut.String())
	}
	if err := s.k.Resume(); err != nil {
		t.Errorf("resuming a running sandbox: %v", err)
	}
}

func TestKillWhilePaused(t *testing.T) {
	s := newSandbox(t, true)
	out := s.start(counter)
	blocked, _ := s.exec("exec sleep 1000")
	s.sleeping(blocked.PID())
	eventually(t, "the counter to count", func() bool { return lastCount(out) > 10 })
	if err := s.k.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := s.k.Signal(0, unix.SIGKILL, true); err != nil {
		t.Fatal(err)
	}
	if st := s.wait(); st.Signal != unix.SIGKILL {
		t.Errorf("init ended with %v, want SIGKILL", st)
	}
	if st := waitProcess(t, blocked); st.Signal != unix.SIGKILL {
		t.Errorf("the blocked process ended with %v, want SIGKILL", st)
	}
}

// The UTS names: the configured domain name, and both changed from
// inside (through /proc/sys: sethostname and setdomainname are not
// offered yet).
func TestUTSNames(t *testing.T) {
	needIdent(t)
	s := newSandbox(t, false)
	out := s.start(`echo box >/proc/sys/kernel/hostname; cat /proc/sys/kernel/domainname; echo example.com >/proc/sys/kernel/domainname; /bin/ident; cat /proc/sys/kernel/domainname`)
	if st := s.wait(); st.Code != 0 {
		t.Errorf("init ended with %v", st)
	}
	<-out.done
	// ident is a child of init, in its session and process group.
	lines := strings.Split(out.String(), "\n")
	if len(lines) != 4 || lines[0] != "example.org" || !strings.HasSuffix(lines[1], " ppid=1 pgrp=1 sid=1 node=box domain=example.com") ||
		lines[2] != "example.com" {
		t.Errorf("output %q", out.String())
	}
	if got := s.k.UTSDomainname(); got != "example.com" {
		t.Errorf("domain name %q", got)
	}
}
