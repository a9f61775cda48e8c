package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Reaper makes the harness a child subreaper and waits for all of its
// children in one place. Runtimes detach their containers' processes
// (runc's init, magawa's sandbox): when the runtime's command exits, they
// become the harness's children instead of init's, so that what a
// validation program leaves behind can be found (Leftovers) and ended.
//
// Once a Reaper runs, no other code of the process may wait for children
// (os/exec's Cmd.Wait would race with it): every command goes through
// Start.
type Reaper struct {
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
	orphans int
}

// StartReaper sets PR_SET_CHILD_SUBREAPER and starts reaping.
func StartReaper() (*Reaper, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("PR_SET_CHILD_SUBREAPER: %w", err)
	}
	r := &Reaper{waiters: make(map[int]chan unix.WaitStatus)}
	go r.loop()
	return r, nil
}

func (r *Reaper) loop() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil: // ECHILD: nothing to wait for yet
			time.Sleep(20 * time.Millisecond)
			continue
		}
		r.mu.Lock()
		ch, ok := r.waiters[pid]
		delete(r.waiters, pid)
		if !ok {
			r.orphans++
		}
		r.mu.Unlock()
		if ok {
			ch <- ws
		}
	}
}

// Orphans is the number of processes reaped that no Start was waiting for.
func (r *Reaper) Orphans() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.orphans
}

// Proc is a started command, the leader of its own process group.
type Proc struct {
	Pid  int
	done chan unix.WaitStatus
}

// Start runs argv[0] (a path) with the given standard files (nil is
// /dev/null) in a new process group.
func (r *Reaper) Start(argv, env []string, dir string, stdin, stdout, stderr *os.File) (*Proc, error) {
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devNull.Close()
	fds := make([]uintptr, 3)
	for i, f := range []*os.File{stdin, stdout, stderr} {
		if f == nil {
			f = devNull
		}
		fds[i] = f.Fd()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// The lock is held until the pid is registered: the loop may reap the
	// child first, but dispatches its status only after this.
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: fds,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	p := &Proc{Pid: pid, done: make(chan unix.WaitStatus, 1)}
	r.waiters[pid] = p.done
	return p, nil
}

// Wait waits for the process until timeout or ctx ends; then it kills its
// process group (SIGKILL) and waits for the leader. timedOut tells which.
func (p *Proc) Wait(ctx context.Context, timeout time.Duration) (ws unix.WaitStatus, timedOut bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case ws = <-p.done:
		return ws, false
	case <-timer.C:
		timedOut = true
	case <-ctx.Done():
	}
	unix.Kill(-p.Pid, unix.SIGKILL) // the group still exists: its leader is not reaped
	select {
	case ws = <-p.done:
	case <-time.After(30 * time.Second): // stuck in the kernel: give up on it
	}
	return ws, timedOut
}

// Output runs a short command and returns its standard output and error.
func (r *Reaper) Output(ctx context.Context, timeout time.Duration, argv, env []string) (stdout, stderr string, err error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return "", "", err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return "", "", err
	}
	p, err := r.Start(argv, env, "", nil, outW, errW)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return "", "", err
	}
	var bufs [2]bytes.Buffer
	var wg sync.WaitGroup
	for i, f := range []*os.File{outR, errR} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer f.Close()
			bufs[i].ReadFrom(f)
		}()
	}
	ws, timedOut := p.Wait(ctx, timeout)
	// A daemon it left may hold the pipes open: stop reading soon after.
	deadline := time.Now().Add(2 * time.Second)
	outR.SetReadDeadline(deadline)
	errR.SetReadDeadline(deadline)
	wg.Wait()
	stdout, stderr = bufs[0].String(), bufs[1].String()
	switch {
	case timedOut:
		err = fmt.Errorf("%s: timed out after %v", strings.Join(argv, " "), timeout)
	case ctx.Err() != nil:
		err = ctx.Err()
	default:
		err = statusError(ws)
	}
	return stdout, stderr, err
}

// statusError is nil for exit status 0.
func statusError(ws unix.WaitStatus) error {
	if ws.Exited() && ws.ExitStatus() == 0 {
		return nil
	}
	return errors.New(describeStatus(ws))
}

func describeStatus(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		s := "killed by " + unix.SignalName(ws.Signal())
		if ws.CoreDump() {
			s += " (core dumped)"
		}
		return s
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}

// ProcInfo describes a process from /proc.
type ProcInfo struct {
	Pid, PPid, Pgrp int
	State           byte
	Comm, Cmdline   string
}

func (p ProcInfo) String() string {
	cmd := p.Cmdline
	if cmd == "" {
		cmd = "[" + p.Comm + "]"
	}
	if len(cmd) > 120 {
		cmd = cmd[:120] + "..."
	}
	return fmt.Sprintf("pid %d (%s)", p.Pid, cmd)
}

func readProcs() (map[int]ProcInfo, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	procs := make(map[int]ProcInfo)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 3 {
			continue
		}
		pi := ProcInfo{Pid: pid, Comm: s[open+1 : end], State: f[0][0]}
		pi.PPid, _ = strconv.Atoi(f[1])
		pi.Pgrp, _ = strconv.Atoi(f[2])
		if c, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil {
			pi.Cmdline = strings.TrimSpace(strings.ReplaceAll(string(c), "\x00", " "))
		}
		procs[pid] = pi
	}
	return procs, nil
}

// Descendants lists the live (not zombie) descendants of the harness,
// parents before children.
func Descendants() ([]ProcInfo, error) {
	procs, err := readProcs()
	if err != nil {
		return nil, err
	}
	children := make(map[int][]int)
	for _, p := range procs {
		children[p.PPid] = append(children[p.PPid], p.Pid)
	}
	var out []ProcInfo
	queue := []int{os.Getpid()}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		kids := children[pid]
		sort.Ints(kids)
		for _, k := range kids {
			if procs[k].State != 'Z' {
				out = append(out, procs[k])
			}
			queue = append(queue, k)
		}
	}
	return out, nil
}

// KillLeftovers finds the harness's live descendants (no command of the
// harness runs when it is called, so all are left over), kills them with
// SIGKILL by PID, and waits up to wait for them to be gone. It returns
// what it found and what is still there.
func KillLeftovers(wait time.Duration) (found, alive []ProcInfo, err error) {
	seen := make(map[int]bool)
	deadline := time.Now().Add(wait)
	for {
		ds, err := Descendants()
		if err != nil {
			return found, nil, err
		}
		for _, d := range ds {
			if !seen[d.Pid] {
				seen[d.Pid] = true
				found = append(found, d)
			}
			unix.Kill(d.Pid, unix.SIGKILL)
		}
		if len(ds) == 0 {
			return found, nil, nil
		}
		if time.Now().After(deadline) {
			return found, ds, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
