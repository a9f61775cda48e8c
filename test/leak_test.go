package test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// hostProc is one host process, as /proc shows it.
type hostProc struct {
	pid, ppid, pgid int
	state           string
	comm, argv0     string
}

func (p hostProc) String() string {
	return fmt.Sprintf("pid %d (%s, argv[0] %q, state %s, parent %d, group %d)", p.pid, p.comm, p.argv0, p.state, p.ppid, p.pgid)
}

// hostProcs lists the host's processes; ones that exit while it reads
// are left out.
func hostProcs(t *testing.T) []hostProc {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("reading /proc: %v", err)
	}
	var ps []hostProc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and ')'.
		open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(stat[end+1:]))
		if len(f) < 3 {
			continue
		}
		p := hostProc{pid: pid, comm: string(stat[open+1 : end]), state: f[0]}
		p.ppid, _ = strconv.Atoi(f[1])
		p.pgid, _ = strconv.Atoi(f[2])
		if cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil {
			p.argv0, _, _ = strings.Cut(string(cmdline), "\x00")
		}
		ps = append(ps, p)
	}
	return ps
}

// resources is what the test process holds: its descriptors, its
// threads, and its child processes.
type resources struct {
	fds      map[string]string // fd number -> what it refers to
	threads  int
	children []hostProc
}

func snapshotResources(t *testing.T) resources {
	t.Helper()
	r := resources{fds: make(map[string]string)}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("reading /proc/self/fd: %v", err)
	}
	for _, e := range ents {
		// The descriptor ReadDir had open is gone by now: skip what no
		// longer resolves.
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil {
			r.fds[e.Name()] = target
		}
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatalf("reading /proc/self/task: %v", err)
	}
	r.threads = len(tasks)
	me := os.Getpid()
	for _, p := range hostProcs(t) {
		if p.ppid == me {
			r.children = append(r.children, p)
		}
	}
	return r
}

// threadSlack is how many more threads the test process may have after
// the runs than before: the Go runtime starts threads as it needs them
// and never ends them. A thread leaked per sandbox would exceed it by far.
const threadSlack = 8

// compareResources reports what after holds that before did not, and
// every stub process of the sandboxes run (their process groups are
// pgids) still alive on the host.
func compareResources(t *testing.T, what string, before, after resources, pgids []int) {
	t.Helper()
	t.Logf("%s: test process: %d descriptors (was %d), %d threads (was %d), %d children (was %d)", what,
		len(after.fds), len(before.fds), after.threads, before.threads, len(after.children), len(before.children))
	for fd, target := range after.fds {
		if old, ok := before.fds[fd]; !ok || old != target {
			t.Errorf("%s: descriptor %s -> %s left open in the test process", what, fd, target)
		}
	}
	if len(after.fds) < len(before.fds) {
		// Not a leak, but the comparison would then be meaningless.
		t.Logf("%s: the test process has fewer descriptors than before (%d, was %d)", what, len(after.fds), len(before.fds))
	}
	if after.threads > before.threads+threadSlack {
		t.Errorf("%s: the test process has %d threads, was %d (more than %d new)", what, after.threads, before.threads, threadSlack)
	}
	for _, p := range after.children {
		if !slices.ContainsFunc(before.children, func(q hostProc) bool { return q.pid == p.pid }) {
			t.Errorf("%s: process left behind, now a child of the test process (a subreaper): %v", what, p)
		}
	}
	for _, p := range hostProcs(t) {
		if p.argv0 == "magawa-stub" && slices.Contains(pgids, p.pgid) {
			t.Errorf("%s: stub process of a finished sandbox still there: %v", what, p)
		}
	}
}

// reapAdopted kills and reaps the processes that were reparented to the
// test process while it was a subreaper.
func reapAdopted(t *testing.T, before resources) {
	t.Helper()
	for _, p := range snapshotResources(t).children {
		if slices.ContainsFunc(before.children, func(q hostProc) bool { return q.pid == p.pid }) {
			continue
		}
		unix.Kill(p.pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(p.pid, &ws, 0, nil)
	}
}

// TestNoLeaks checks that sandboxes clean up after themselves on the
// host: after a sandboxed program forking and reaping 1000 children one
// after the other, and after 100 sandboxes run in sequence, the test
// process has no more descriptors, no (noticeably) more threads, and no
// more children than before, and no stub process of those sandboxes is
// alive. For the duration, the test process is a child subreaper, so
// that a process orphaned by magawa (a stub that outlived it) is
// reparented to it and seen.
//
// It runs its subtests one after the other, never in parallel with other
// tests: the counts are of the whole test process.
func TestNoLeaks(t *testing.T) {
	magawaBin(t)
	progs := programs(t)
	// A process is never a subreaper unless it asks (the attribute is
	// not inherited), so there is nothing to restore but 0.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

	forEachPlatform(t, func(t *testing.T, platform string) {
		hello := progs["hello"]
		// A first run, so that what the Go runtime and os/exec open
		// once (the poller, pidfd support) is there before counting.
		runSandbox(t, platform, hello.Path)

		t.Run("forkloop", func(t *testing.T) {
			p := progs["forkloop"]
			native := runNative(t, p.Path)
			before := snapshotResources(t)
			defer reapAdopted(t, before)
			r := runSandbox(t, platform, p.Path)
			compareResults(t, native, r)
			compareResources(t, "after 1000 fork/exit/wait cycles in the sandbox", before, snapshotResources(t), []int{r.Pid})
		})

		t.Run("100_sandboxes", func(t *testing.T) {
			native := runNative(t, hello.Path)
			before := snapshotResources(t)
			defer reapAdopted(t, before)
			var pgids []int
			for i := range 100 {
				r := runSandbox(t, platform, hello.Path)
				pgids = append(pgids, r.Pid)
				if !bytes.Equal(r.Stdout, native.Stdout) || r.Status != native.Status {
					t.Errorf("sandbox %d of 100: %v, stdout %q (want %v, %q)\nstderr:\n%s", i+1, r.Status, r.Stdout, native.Status, native.Stdout, r.Stderr)
					break
				}
			}
			compareResources(t, "after 100 sandboxes in sequence", before, snapshotResources(t), pgids)
		})
	})
}
