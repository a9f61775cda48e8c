package test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hostileCalls are the calls programs/sandbox_only/hostile.c attempts, in
// its order, with the results acceptable for each: every attempt must
// fail inside the sandbox, except mount and sethostname, which the
// sandbox serves on its own mount tree and UTS names (the test checks
// the host's stay unchanged). "0" in ok accepts success.
var hostileCalls = []struct {
	name string
	ok   []string
}{
	{"sethostname", []string{"0", "EPERM", "ENOSYS"}},
	{"settimeofday", []string{"EPERM", "ENOSYS"}},
	{"mount", []string{"0", "EPERM", "ENOSYS"}},
	// Unmounting the sandbox's root: EINVAL as Linux gives for a
	// namespace's root mount.
	{"umount2", []string{"EPERM", "ENOSYS", "EINVAL", "EBUSY"}},
	{"init_module", []string{"EPERM", "ENOSYS"}},
	{"finit_module", []string{"EPERM", "ENOSYS"}},
	// There is no other process in the sandbox to kill.
	{"kill(-1, SIGKILL)", []string{"EPERM", "ENOSYS", "ESRCH"}},
	{"reboot", []string{"EPERM", "ENOSYS"}},
}

// hostSnapshot is the host state the hostile program must not change.
type hostSnapshot struct {
	mountinfo string
	hostname  string
	at        time.Time // wall and monotonic readings, taken together
}

func snapshotHost(t *testing.T) hostSnapshot {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatalf("reading mountinfo: %v", err)
	}
	hn, err := os.Hostname()
	if err != nil {
		t.Fatalf("hostname: %v", err)
	}
	return hostSnapshot{mountinfo: ownMounts(string(mi)), hostname: hn, at: time.Now()}
}

// othersMounts are where the tests of other packages, run at the same
// time by go test ./..., mount and unmount on the host: the runtime
// clients of test/e2e (their private state under /tmp/magawa-e2e-*)
// and the network namespaces that podman, CNI and the network tests
// pin under /run/netns. They are left out of the comparisons.
var othersMounts = []string{"/tmp/magawa-e2e-", "/run/netns/", "/run/docker/netns/"}

// ownMounts is the mount table without othersMounts' lines.
func ownMounts(mountinfo string) string {
	var keep []string
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && slices.ContainsFunc(othersMounts, func(p string) bool { return strings.HasPrefix(f[4], p) }) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// isMountPoint reports whether dir is listed as a mount point in the test
// process's mount table or sits on another device than its parent.
func isMountPoint(t *testing.T, dir string) bool {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatalf("reading mountinfo: %v", err)
	}
	for _, line := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatalf("stat %s: %v", dir, err)
	}
	if err := unix.Stat(filepath.Dir(dir), &parent); err != nil {
		t.Fatalf("stat parent of %s: %v", dir, err)
	}
	return st.Dev != parent.Dev
}

// TestHostile runs a program that tries to reboot the host, kill every
// process, load kernel modules, mount, unmount, change the host name and
// the clock. Every attempt must fail inside the sandbox, and the host must
// be unchanged.
//
// The program is dangerous natively (it runs as root), so: it checks that
// it is inside the sandbox before anything else and exits 99 otherwise;
// this test only ever runs it through `magawa do`; and magawa itself runs
// in fresh PID, mount (private), UTS and IPC namespaces, so that even a
// sandbox that let the calls through could neither reboot the machine
// (reboot in a child PID namespace ends that namespace), kill host
// processes, nor change the host's mounts or name. Only the clock is not
// namespaced: the program sets it to the time it just read.
func TestHostile(t *testing.T) {
	magawaBin(t)
	progs := programs(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		hostile := progs["sandbox_only/hostile"]
		probe, err := os.MkdirTemp("/tmp", "magawa-escape-probe-")
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := os.Remove(probe); err != nil {
				t.Errorf("removing the probe directory: %v", err)
			}
		}()
		var tok [16]byte
		if _, err := rand.Read(tok[:]); err != nil {
			t.Fatal(err)
		}
		token := hex.EncodeToString(tok[:])

		before := snapshotHost(t)
		r := run(t, runSpec{
			Argv: sandboxArgv(t, platform, nil, hostile.Path, token, probe),
			Env:  append(append([]string(nil), testEnv...), "MAGAWA_HOSTILE_TOKEN="+token),
			Attr: &syscall.SysProcAttr{
				Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
				// In Unshareflags, CLONE_NEWNS also makes every mount
				// private, so nothing propagates back to the host.
				Unshareflags: syscall.CLONE_NEWNS,
			},
		})
		after := snapshotHost(t)

		t.Logf("hostile program: %v\nstdout:\n%s\nstderr:\n%s", r.Status, r.Stdout, r.Stderr)

		// The host.
		if err := syscall.Kill(os.Getpid(), 0); err != nil {
			t.Errorf("the test process cannot signal itself: %v", err)
		}
		if after.mountinfo != before.mountinfo {
			t.Errorf("the host's mount table changed (- before, + after):\n%s", lineDiff(before.mountinfo, after.mountinfo))
		}
		if isMountPoint(t, probe) {
			t.Errorf("%s became a mount point", probe)
		}
		if after.hostname != before.hostname {
			t.Errorf("host name changed from %q to %q", before.hostname, after.hostname)
		}
		// Wall-clock and monotonic elapsed times agree unless the clock
		// was set (or NTP stepped it, which a second of slack absorbs).
		wall := after.at.Round(0).Sub(before.at.Round(0))
		mono := after.at.Sub(before.at)
		if d := wall - mono; d > time.Second || d < -time.Second {
			t.Errorf("the host clock jumped by %v while the hostile program ran", d)
		}

		// The program.
		if r.Status == (exitStatus{Code: 99}) {
			t.Fatalf("hostile program refused to run: it does not believe it is inside the sandbox (it needs getpid()==1, getppid()==0, nodename \"magawa\", and MAGAWA_HOSTILE_TOKEN from the environment)\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
		}
		if r.Status != (exitStatus{}) {
			t.Errorf("hostile program: %v, want exit status 0\nstdout:\n%s\nstderr:\n%s", r.Status, r.Stdout, r.Stderr)
		}
		results := map[string]string{}
		sc := bufio.NewScanner(bytes.NewReader(r.Stdout))
		for sc.Scan() {
			if name, res, ok := strings.Cut(sc.Text(), ": "); ok {
				results[name] = res
			}
		}
		if results["inside the sandbox"] != "yes" {
			t.Fatalf("hostile program did not start its attempts\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
		}
		for _, c := range hostileCalls {
			res, ok := results[c.name]
			if !ok {
				t.Errorf("%s: no result (the program stopped before it)", c.name)
				continue
			}
			errno, failed := strings.CutPrefix(res, "-1 ")
			if !failed && slices.Contains(c.ok, res) {
				continue
			}
			if !failed {
				t.Errorf("%s succeeded in the sandbox (returned %s), want it to fail with one of %v", c.name, res, c.ok)
				continue
			}
			accepted := false
			for _, e := range c.ok {
				accepted = accepted || errno == e
			}
			if !accepted {
				t.Errorf("%s failed with %s, want one of %v", c.name, errno, c.ok)
			}
		}
		if results["still running"] != "yes" {
			t.Errorf("hostile program did not finish its attempts")
		}
	})
}
