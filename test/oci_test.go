package test

import (
	"encoding/json"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"magawa/test/testenv"
)

// The OCI runtime's lifecycle, driven through the CLI as Docker, podman
// and containerd drive runc: create, state, start, exec, ps, pause,
// resume, kill, delete, and run.

// ociRuntime runs magawa's runtime commands with a private state root.
type ociRuntime struct {
	t    *testing.T
	bin  string
	root string
	// sandbox is the kind of sandbox its containers get: "kernel" (the
	// application kernel) or "vm".
	sandbox string
	// flags come before every command: the VM's kind and image.
	flags []string
}

// newOCIRuntime is the runtime with the application kernel.
func newOCIRuntime(t *testing.T) *ociRuntime {
	t.Helper()
	bin := magawaBin(t)
	requireStaticBusybox(t)
	return &ociRuntime{t: t, bin: bin, root: filepath.Join(t.TempDir(), "state"), sandbox: "kernel"}
}

// sandboxes returns the kinds of sandbox of the OCI tests' matrix:
// $MAGAWA_SANDBOXES (comma- or space-separated), "kernel" and "vm" by
// default.
func sandboxes() []string {
	v := os.Getenv("MAGAWA_SANDBOXES")
	kinds := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	if len(kinds) == 0 {
		return []string{"kernel", "vm"}
	}
	return kinds
}

// forEachSandbox runs f as a subtest per kind of sandbox, each with a
// runtime of its own. The VM's needs QEMU and the guest image, which
// testenv finds or builds (it skips without QEMU).
func forEachSandbox(t *testing.T, f func(t *testing.T, r *ociRuntime)) {
	for _, kind := range sandboxes() {
		t.Run(kind, func(t *testing.T) {
			r := newOCIRuntime(t)
			r.sandbox = kind
			switch kind {
			case "kernel":
			case "vm":
				img := testenv.NeedVM(t)
				r.flags = []string{"--sandbox=vm", "--vm-kernel", img.Kernel, "--vm-initrd", img.Initramfs}
			default:
				t.Fatalf("MAGAWA_SANDBOXES: unknown sandbox %q (want kernel or vm)", kind)
			}
			f(t, r)
		})
	}
}

// vm reports whether the runtime's containers are micro-VMs.
func (r *ociRuntime) vm() bool { return r.sandbox == "vm" }

// cmd is one runtime command line.
func (r *ociRuntime) cmd(args ...string) *exec.Cmd {
	all := append(append([]string{"--root", r.root}, r.flags...), args...)
	cmd := exec.Command(r.bin, all...)
	cmd.Env = testEnv
	cmd.Dir = "/"
	return cmd
}

// run runs a runtime command and returns its output and exit status.
func (r *ociRuntime) run(args ...string) (string, int) {
	r.t.Helper()
	cmd := r.cmd(args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("magawa %s: %v", strings.Join(args, " "), err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(runTimeout):
		cmd.Process.Kill()
		r.t.Fatalf("magawa %s: timed out\n%s", strings.Join(args, " "), out.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// must runs a runtime command that must succeed.
func (r *ociRuntime) must(args ...string) string {
	r.t.Helper()
	out, code := r.run(args...)
	if code != 0 {
		r.t.Fatalf("magawa %s: exit status %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// state returns `state ID` parsed.
func (r *ociRuntime) state(id string) map[string]any {
	r.t.Helper()
	out := r.must("state", id)
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		r.t.Fatalf("state %s: %v\n%s", id, err, out)
	}
	return st
}

// waitStatus polls until the container's status is want.
func (r *ociRuntime) waitStatus(id, want string) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := r.state(id)
		if st["status"] == want {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("container %s: status %v, want %s", id, st["status"], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// makeBundle builds an OCI bundle whose rootfs holds busybox and whose
// config (`magawa spec`'s, edited) runs args without a terminal.
func (r *ociRuntime) makeBundle(args []string, edit func(spec map[string]any)) string {
	r.t.Helper()
	bundle := r.t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "proc", "sys", "dev", "root"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			r.t.Fatal(err)
		}
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), b, 0o755); err != nil {
		r.t.Fatal(err)
	}
	os.WriteFile(filepath.Join(rootfs, "root/.profile"), []byte("# root's\n"), 0o644)
	for _, name := range []string{"sh", "echo", "cat", "sleep", "ls", "id", "hostname", "ps", "true", "false", "grep", "awk", "wc", "touch", "tr", "cut"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", name)); err != nil {
			r.t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	r.must("spec", "--bundle", bundle)
	path := filepath.Join(bundle, "config.json")
	b, err = os.ReadFile(path)
	if err != nil {
		r.t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		r.t.Fatal(err)
	}
	process := spec["process"].(map[string]any)
	process["terminal"] = false
	process["args"] = args
	if edit != nil {
		edit(spec)
	}
	if b, err = json.MarshalIndent(spec, "", "\t"); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		r.t.Fatal(err)
	}
	return bundle
}

// create runs `create` with the container's stdout and stderr going to
// a file, returned.
func (r *ociRuntime) create(id, bundle string, flags ...string) string {
	r.t.Helper()
	logPath := filepath.Join(r.t.TempDir(), "stdout")
	f, err := os.Create(logPath)
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	cmd := r.cmd(append(append([]string{"create", "--bundle", bundle}, flags...), id)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(logPath)
		r.t.Fatalf("create %s: %v\n%s", id, err, b)
	}
	r.t.Cleanup(func() { r.run("delete", "--force", id) })
	return logPath
}

func TestOCILifecycle(t *testing.T) { forEachSandbox(t, testOCILifecycle) }

func testOCILifecycle(t *testing.T, r *ociRuntime) {
	bundle := r.makeBundle([]string{"sh", "-c", `echo started; trap 'echo got TERM; exit 3' TERM; while :; do sleep 0.05; done`}, nil)
	out := r.create("life", bundle)

	st := r.state("life")
	if st["status"] != "created" || st["id"] != "life" || st["bundle"] != bundle {
		t.Fatalf("state after create: %v", st)
	}
	pid := int(st["pid"].(float64))
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the sandbox process %d: %v", pid, err)
	}
	if info, err := os.Stat(filepath.Join(r.root, "life")); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("state directory: %v, mode %v; want 0700", err, info.Mode().Perm())
	}
	if o, code := r.run("create", "--bundle", bundle, "life"); code == 0 || !strings.Contains(o, "already exists") {
		t.Errorf("create of a duplicate ID: exit %d, %q; want an error naming it", code, o)
	}
	if got := r.must("list", "--quiet"); got != "life\n" {
		t.Errorf("list --quiet: %q", got)
	}
	var listed []struct{ ID, Status string }
	if err := json.Unmarshal([]byte(r.must("list", "--format", "json")), &listed); err != nil || len(listed) != 1 || listed[0].ID != "life" || listed[0].Status != "created" {
		t.Errorf("list --format json: %+v, %v", listed, err)
	}

	r.must("start", "life")
	r.waitStatus("life", "running")
	if r.vm() {
		checkVMConfinement(t, pid)
	} else {
		checkKernelConfinement(t, pid)
	}
	if _, code := r.run("start", "life"); code == 0 {
		t.Errorf("start of a running container succeeded")
	}

	// exec: its output, its status.
	if o, code := r.run("exec", "life", "sh", "-c", "echo from exec; id -u; exit 7"); code != 7 || o != "from exec\n0\n" {
		t.Errorf("exec: exit %d, output %q; want 7, \"from exec\\n0\\n\"", code, o)
	}
	// ps: the sandbox's processes in the table; the host processes of
	// the container (the sandbox process first) in JSON, as runc's.
	if table := r.must("ps", "life"); !strings.Contains(table, "\n0   1   0    S") || !strings.Contains(table, "sh -c echo started") {
		t.Errorf("ps: want init (PID 1, parent 0) running sh -c:\n%s", table)
	}
	var pids []int
	if err := json.Unmarshal([]byte(r.must("ps", "--format", "json", "life")), &pids); err != nil || len(pids) == 0 || pids[0] != pid {
		t.Errorf("ps --format json: %v, %v; want the sandbox process %d first", pids, err, pid)
	}
	switch {
	case r.vm() && len(pids) != 2:
		t.Errorf("ps --format json: %v; want the VM's supervisor and QEMU", pids)
	case !r.vm() && len(pids) < 3:
		t.Errorf("ps --format json: %v; want the sandbox process, the gofer and a stub", pids)
	}

	r.must("pause", "life")
	r.waitStatus("life", "paused")
	r.must("resume", "life")
	r.waitStatus("life", "running")

	if o, code := r.run("kill", "life", "NOSUCHSIGNAL"); code == 0 || !strings.Contains(o, "NOSUCHSIGNAL") {
		t.Errorf("kill with an unknown signal: exit %d, %q", code, o)
	}
	if o, code := r.run("delete", "life"); code == 0 || !strings.Contains(o, "running") {
		t.Errorf("delete of a running container: exit %d, %q; want a refusal", code, o)
	}
	r.must("kill", "life", "TERM")
	r.waitStatus("life", "stopped")
	if st := r.state("life"); st["pid"].(float64) != 0 {
		t.Errorf("state of a stopped container: pid %v, want 0", st["pid"])
	}
	if o, code := r.run("kill", "life", "KILL"); code == 0 || !strings.Contains(o, "not running") {
		t.Errorf("kill of a stopped container: exit %d, %q", code, o)
	}
	r.must("delete", "life")
	if _, err := os.Stat(filepath.Join(r.root, "life")); !os.IsNotExist(err) {
		t.Errorf("state directory after delete: %v", err)
	}
	if _, code := r.run("state", "life"); code == 0 {
		t.Errorf("state of a deleted container succeeded")
	}
	if b, _ := os.ReadFile(out); string(b) != "started\ngot TERM\n" {
		t.Errorf("the container's output: %q, want \"started\\ngot TERM\\n\"", b)
	}
}

// checkKernelConfinement checks that the application kernel's sandbox
// process runs confined: no capabilities, no_new_privs, a seccomp
// filter; its root is not the host's.
func checkKernelConfinement(t *testing.T, pid int) {
	t.Helper()
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(string(status), want+"\n") {
			t.Errorf("the sandbox process's status lacks %q:\n%s", want, status)
		}
	}
	if entries, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "root")); err != nil || len(entries) != 1 || entries[0].Name() != "proc" {
		t.Errorf("the sandbox process's root holds %v (%v); want only its proc", entries, err)
	}
}

// checkVMConfinement checks a VM sandbox's host processes: the
// supervisor (the container's PID) keeps no capabilities; QEMU, its
// child, runs with no_new_privs, its seccomp filter, only the
// capabilities its 9p server needs (CHOWN, DAC_OVERRIDE,
// DAC_READ_SEARCH, FOWNER, FSETID) and a root that is its jail, not
// the host's.
func checkVMConfinement(t *testing.T, pid int) {
	t.Helper()
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1"} {
		if !strings.Contains(string(status), want+"\n") {
			t.Errorf("the VM's supervisor's status lacks %q:\n%s", want, status)
		}
	}
	qemu := childPIDs(pid)
	if len(qemu) != 1 {
		t.Fatalf("the VM's supervisor %d has children %v; want QEMU alone", pid, qemu)
	}
	if status, err = os.ReadFile(filepath.Join("/proc", strconv.Itoa(qemu[0]), "status")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CapEff:\t000000000000001f", "CapBnd:\t000000000000001f", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(string(status), want+"\n") {
			t.Errorf("QEMU's status lacks %q:\n%s", want, status)
		}
	}
	hostRoot, _ := os.Stat("/")
	if root, err := os.Stat(filepath.Join("/proc", strconv.Itoa(qemu[0]), "root")); err != nil || os.SameFile(root, hostRoot) {
		t.Errorf("QEMU's root is the host's (%v)", err)
	}
}

// childPIDs lists the children of every thread of process pid.
func childPIDs(pid int) []int {
	var children []int
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, c := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(c)
			children = append(children, n)
		}
	}
	return children
}

func TestOCIRun(t *testing.T) { forEachSandbox(t, testOCIRun) }

func testOCIRun(t *testing.T, r *ociRuntime) {
	bundle := r.makeBundle([]string{"sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 42"}, func(spec map[string]any) {
		spec["hostname"] = "oci-test"
	})
	out, code := r.run("run", "--bundle", bundle, "runner")
	if code != 42 || out != "oci-test\nsh -c hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 42 \n" {
		t.Errorf("run: exit %d, output %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(r.root, "runner")); !os.IsNotExist(err) {
		t.Errorf("run left its state behind: %v", err)
	}
}

func TestOCIKillAndForceDelete(t *testing.T) { forEachSandbox(t, testOCIKillAndForceDelete) }

func testOCIKillAndForceDelete(t *testing.T, r *ociRuntime) {
	bundle := r.makeBundle([]string{"sleep", "1000"}, nil)
	r.create("k", bundle)
	// A container never started dies of a kill.
	r.must("kill", "k", "9")
	r.waitStatus("k", "stopped")
	r.must("delete", "k")

	// kill --all reaches every process: init handles USR1 and waits for
	// its child, which USR1 kills only when it is sent to all.
	all := r.makeBundle([]string{"sh", "-c", "trap 'echo got USR1' USR1; sleep 1000 & while ! wait; do :; done"}, nil)
	r.create("kall", all)
	r.must("start", "kall")
	r.waitStatus("kall", "running")
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(r.must("ps", "kall"), "sleep 1000"); {
		if time.Now().After(deadline) {
			t.Fatalf("the container's sleep did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.must("kill", "kall", "USR1")
	time.Sleep(200 * time.Millisecond)
	if st := r.state("kall")["status"]; st != "running" {
		t.Errorf("after kill USR1 of init alone: %v, want running (the child lives)", st)
	}
	r.must("kill", "--all", "kall", "USR1")
	r.waitStatus("kall", "stopped")
	r.must("delete", "kall")

	r.create("k2", bundle)
	r.must("start", "k2")
	r.waitStatus("k2", "running")
	pid := int(r.state("k2")["pid"].(float64))
	r.must("delete", "--force", "k2")
	if _, err := os.Stat(filepath.Join(r.root, "k2")); !os.IsNotExist(err) {
		t.Errorf("delete --force left the state directory: %v", err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		if b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); !strings.Contains(string(b), ") Z") {
			t.Errorf("delete --force left the sandbox process %d alive", pid)
		}
	}
	r.must("delete", "--force", "no-such-container")

	// A wedged sandbox (its process stopped: it answers nothing) is
	// still removed by delete --force, with everything it had.
	r.create("k3", bundle)
	r.must("start", "k3")
	r.waitStatus("k3", "running")
	wedged := int(r.state("k3")["pid"].(float64))
	syscall.Kill(wedged, syscall.SIGSTOP)
	if o, code := r.run("delete", "k3"); code == 0 {
		t.Errorf("delete of a wedged container without --force succeeded: %q", o)
	}
	r.must("delete", "--force", "k3")
	if _, err := os.Stat(filepath.Join(r.root, "k3")); !os.IsNotExist(err) {
		t.Errorf("delete --force of a wedged sandbox left its state: %v", err)
	}
	if _, err := os.Stat("/sys/fs/cgroup/pids/magawa/k3"); !os.IsNotExist(err) {
		t.Errorf("delete --force of a wedged sandbox left its cgroup: %v", err)
	}
}

func TestOCIBadInput(t *testing.T) { forEachSandbox(t, testOCIBadInput) }

func testOCIBadInput(t *testing.T, r *ociRuntime) {
	bundle := r.makeBundle([]string{"true"}, nil)
	os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"ociVersion": "1.0.2", "process": {`), 0o644)
	if o, code := r.run("create", "--bundle", bundle, "bad"); code == 0 || !strings.Contains(o, "config.json") {
		t.Errorf("create with a malformed config.json: exit %d, %q", code, o)
	}
	if _, err := os.Stat(filepath.Join(r.root, "bad")); !os.IsNotExist(err) {
		t.Errorf("a failed create left its state: %v", err)
	}
	missing := r.makeBundle([]string{"true"}, func(spec map[string]any) {
		spec["root"] = map[string]any{"path": "no-such-rootfs"}
	})
	if o, code := r.run("create", "--bundle", missing, "bad"); code == 0 || !strings.Contains(o, "no-such-rootfs") {
		t.Errorf("create with a missing rootfs: exit %d, %q", code, o)
	}
	for _, id := range []string{"../escape", "a/b", ".."} {
		if o, code := r.run("create", "--bundle", bundle, id); code == 0 || !strings.Contains(o, "invalid container ID") {
			t.Errorf("create %q: exit %d, %q", id, code, o)
		}
	}
	if o, code := r.run("start", "nope"); code == 0 || !strings.Contains(o, "does not exist") {
		t.Errorf("start of an unknown container: exit %d, %q", code, o)
	}
	if o, code := r.run("frobnicate"); code == 0 || !strings.Contains(o, "unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, o)
	}
	if entries, _ := os.ReadDir(r.root); len(entries) != 0 {
		t.Errorf("state left behind by failed commands: %v", entries)
	}
	for _, c := range []string{"pids", "memory", "cpu", "unified", ""} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c, "magawa", "bad")); err == nil {
			t.Errorf("a failed create left its cgroup in %s", c)
		}
	}
}

// TestOCIConfig checks that the container sees what its config.json
// says: user, groups, umask, capabilities, rlimits, no_new_privs,
// environment, working directory, UTS names, sysctl, masked and
// read-only paths, a read-only root and bind mounts.
func TestOCIConfig(t *testing.T) { forEachSandbox(t, testOCIConfig) }

func testOCIConfig(t *testing.T, r *ociRuntime) {
	shared := t.TempDir()
	os.WriteFile(filepath.Join(shared, "from-host"), []byte("host file\n"), 0o644)
	os.Chmod(shared, 0o777)
	script := strings.Join([]string{
		`id -u; id -g; id -G`,
		`umask`,
		`grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status`,
		`ulimit -n`,
		`cat /proc/self/oom_score_adj`,
		`echo "$GREETING" "$PWD"`,
		`hostname; cat /proc/sys/kernel/domainname`,
		`cat /proc/sys/kernel/msgmax /proc/sys/net/ipv4/ping_group_range`,
		`cat /etc/passwd | wc -c`,
		`ls -A /root | wc -l`,
		`awk '$5 == "/proc/sys" { print $6 }' /proc/self/mountinfo`,
		`touch /newfile 2>/dev/null || echo root read-only`,
		`cat /data/from-host; echo in-container >/data/from-container`,
		`touch /ro/x 2>/dev/null || echo ro bind read-only`,
		`ls /dev/null /dev/zero /dev/pts/ptmx >/dev/null && echo devices`,
		`echo x >/dev/mynull && wc -c </dev/mynull && ls -l /dev/mynull | cut -c1-10`,
	}, "\n")
	bundle := r.makeBundle([]string{"sh", "-c", script}, func(spec map[string]any) {
		p := spec["process"].(map[string]any)
		p["user"] = map[string]any{"uid": 1000, "gid": 1000, "additionalGids": []int{5, 20}, "umask": 0o027}
		p["env"] = []string{"PATH=/bin", "GREETING=hello"}
		p["cwd"] = "/tmp"
		p["noNewPrivileges"] = true
		p["capabilities"] = map[string]any{
			"bounding":    []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
			"effective":   []string{"CAP_NET_BIND_SERVICE"},
			"permitted":   []string{"CAP_NET_BIND_SERVICE"},
			"ambient":     []string{"CAP_NET_BIND_SERVICE"},
			"inheritable": []string{"CAP_NET_BIND_SERVICE"},
		}
		p["rlimits"] = []map[string]any{{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}}
		p["oomScoreAdj"] = 500
		spec["hostname"] = "cfg-host"
		linux := spec["linux"].(map[string]any)
		linux["maskedPaths"] = append(linux["maskedPaths"].([]any), "/etc/passwd", "/root")
		spec["root"].(map[string]any)["readonly"] = true
		linux["sysctl"] = map[string]string{"kernel.domainname": "example.org", "kernel.msgmax": "65536", "net.ipv4.ping_group_range": "0 2147483647"}
		linux["devices"] = []map[string]any{{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}}
		mounts := spec["mounts"].([]any)
		mounts = append(mounts,
			map[string]any{"destination": "/data", "type": "bind", "source": shared, "options": []string{"rbind", "rw"}},
			map[string]any{"destination": "/ro", "type": "bind", "source": shared, "options": []string{"bind", "ro"}},
		)
		spec["mounts"] = mounts
	})
	out, code := r.run("run", "--bundle", bundle, "cfg")
	want := strings.Join([]string{
		"1000", "1000", "1000 5 20",
		"0027",
		"CapEff:\t0000000000000400", "CapBnd:\t0000000000000420", "NoNewPrivs:\t1",
		"321",
		"500",
		"hello /tmp",
		"cfg-host", "example.org",
		"65536", "0\t2147483647",
		"0",
		"0",
		"ro,relatime",
		"root read-only",
		"host file",
		"ro bind read-only",
		"devices",
		"0", "crw-rw-rw-",
	}, "\n") + "\n"
	if code != 0 || out != want {
		t.Errorf("run: exit %d\n%s", code, lineDiff(want, out))
	}
	if b, err := os.ReadFile(filepath.Join(shared, "from-container")); err != nil || string(b) != "in-container\n" {
		t.Errorf("a write through the rw bind mount: %q, %v", b, err)
	}

	// A host device is never reachable: its node is made, as runc makes
	// it, but does not open.
	disk := r.makeBundle([]string{"sh", "-c", "ls -l /dev/sda | cut -c1-10; cat /dev/sda"}, func(spec map[string]any) {
		spec["linux"].(map[string]any)["devices"] = []map[string]any{{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}}
	})
	if o, code := r.run("run", "--bundle", disk, "cfg3"); code != 1 || o != "brw-rw-rw-\ncat: can't open '/dev/sda': No such device or address\n" {
		t.Errorf("run with a host block device: exit %d, %q", code, o)
	}

	// A parameter the application kernel does not have is refused, not
	// ignored; a guest kernel has it, in the network namespace its
	// container shares.
	forwarding := r.makeBundle([]string{"cat", "/proc/sys/net/ipv4/conf/all/forwarding"}, func(spec map[string]any) {
		spec["linux"].(map[string]any)["sysctl"] = map[string]string{"net.ipv4.conf.all.forwarding": "1"}
	})
	o, code := r.run("run", "--bundle", forwarding, "cfg2")
	switch {
	case r.vm() && (code != 0 || o != "1\n"):
		t.Errorf("run with net.ipv4.conf.all.forwarding=1 in a VM: exit %d, %q; want 1", code, o)
	case !r.vm() && (code == 0 || !strings.Contains(o, "net.ipv4.conf.all.forwarding: the sandbox has no such parameter")):
		t.Errorf("run with an unsupported sysctl: exit %d, %q", code, o)
	}
}

// TestOCIResources checks that linux.resources bound the whole sandbox:
// its processes (the sandbox process, the gofer, the stubs) are all in
// the container's cgroup, with the limits set, and delete removes it.
func TestOCIResources(t *testing.T) { forEachSandbox(t, testOCIResources) }

func testOCIResources(t *testing.T, r *ociRuntime) {
	cgroupsPath := "/magawa-test/res-" + strconv.Itoa(os.Getpid())
	bundle := r.makeBundle([]string{"sh", "-c", "sleep 1000 & sleep 1000"}, func(spec map[string]any) {
		linux := spec["linux"].(map[string]any)
		linux["cgroupsPath"] = cgroupsPath
		linux["resources"] = map[string]any{
			"memory": map[string]any{"limit": 256 << 20},
			"pids":   map[string]any{"limit": 100},
			"cpu":    map[string]any{"shares": 512},
		}
	})
	r.create("res", bundle)
	r.must("start", "res")
	r.waitStatus("res", "running")
	pid := int(r.state("res")["pid"].(float64))
	// Both sleeps run: sh has forked the background one.
	// Two processes whose command is sleep (sh's own command line,
	// until it execs the second, names it twice): the start time comes
	// right before their command.
	sleeps := regexp.MustCompile(`(?m):\d\d sleep 1000$`)
	for deadline := time.Now().Add(20 * time.Second); len(sleeps.FindAllString(r.must("ps", "res"), -1)) < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the container's sleeps did not start:\n%s", r.must("ps", "res"))
		}
		time.Sleep(10 * time.Millisecond)
	}

	v2 := false
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		v2 = true
	}
	limitFile := func(controller, v1Name, v2Name string) string {
		if v2 {
			return filepath.Join("/sys/fs/cgroup", cgroupsPath, v2Name)
		}
		return filepath.Join("/sys/fs/cgroup", controller, cgroupsPath, v1Name)
	}
	if r.vm() {
		// The VM is the unit the host bounds: every host process of
		// the sandbox (the supervisor, QEMU) is in the container's
		// cgroup; the container's limits are its cgroup's in the guest.
		procs, err := os.ReadFile(limitFile("pids", "cgroup.procs", "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range append([]int{pid}, childPIDs(pid)...) {
			if !slices.Contains(strings.Fields(string(procs)), strconv.Itoa(p)) {
				t.Errorf("VM process %d is not in the container's cgroup (%v)", p, strings.Fields(string(procs)))
			}
		}
		const guestLimits = `c=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); cat $c/memory.max $c/pids.max $c/cpu.weight`
		if o, code := r.run("exec", "res", "sh", "-c", guestLimits); code != 0 || o != strconv.Itoa(256<<20)+"\n100\n20\n" {
			t.Errorf("the container's cgroup in the guest: exit %d, %q; want memory.max 256 MiB, pids.max 100, cpu.weight 20 (512 shares)", code, o)
		}
	} else {
		for _, c := range []struct{ controller, v1, v2, want string }{
			{"memory", "memory.limit_in_bytes", "memory.max", strconv.Itoa(256 << 20)},
			// The container's pids limit is the sandbox kernel's (below):
			// the host's would count the sandbox process's own threads.
			{"pids", "pids.max", "pids.max", "max"},
		} {
			b, err := os.ReadFile(limitFile(c.controller, c.v1, c.v2))
			if err != nil || strings.TrimSpace(string(b)) != c.want {
				t.Errorf("%s: %q, %v; want %s", limitFile(c.controller, c.v1, c.v2), b, err, c.want)
			}
		}
		// Every process of the sandbox: the sandbox process and its
		// descendants (the gofer, the stubs of sh and its two sleeps).
		procs, err := os.ReadFile(limitFile("pids", "cgroup.procs", "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		inCgroup := map[string]bool{}
		for _, p := range strings.Fields(string(procs)) {
			inCgroup[p] = true
		}
		descendants := []int{pid}
		for i := 0; i < len(descendants); i++ {
			// Each thread's children: the stubs are the tracing threads'.
			descendants = append(descendants, childPIDs(descendants[i])...)
		}
		// sh and its background sleep have a stub each (the last sleep is
		// exec'd by sh).
		if len(descendants) < 4 {
			t.Errorf("the sandbox has %d host processes (%v); want the sandbox process, the gofer and 2 stubs", len(descendants), descendants)
		}
		for _, p := range descendants {
			if !inCgroup[strconv.Itoa(p)] {
				t.Errorf("sandbox process %d is not in the container's cgroup (%v)", p, strings.Fields(string(procs)))
			}
		}
	}
	// Two tasks: the background sleep, and the one sh exec'd into.
	r.must("update", "--pids-limit", "200", "res")
	var ev struct {
		Type string
		ID   string
		Data struct {
			Pids struct{ Current, Limit int }
		}
	}
	if err := json.Unmarshal([]byte(r.must("events", "--stats", "res")), &ev); err != nil || ev.Type != "stats" || ev.ID != "res" || ev.Data.Pids.Current != 2 || ev.Data.Pids.Limit != 200 {
		t.Errorf("events --stats: %+v, %v", ev, err)
	}
	r.must("delete", "--force", "res")
	if _, err := os.Stat(filepath.Dir(limitFile("pids", "pids.max", "pids.max"))); !os.IsNotExist(err) {
		t.Errorf("delete left the cgroup: %v", err)
	}

	// The limit holds inside: sh and four sleeps are five tasks, and the
	// sixth fork fails with EAGAIN, as under a pids cgroup.
	limited := r.makeBundle([]string{"sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo all started"}, func(spec map[string]any) {
		spec["linux"].(map[string]any)["resources"] = map[string]any{"pids": map[string]any{"limit": 5}}
	})
	if out, code := r.run("run", "--bundle", limited, "limited"); code != 2 || !strings.Contains(out, "can't fork: Resource temporarily unavailable") {
		t.Errorf("run with pids.limit 5 of 9 processes: exit %d, %q; want sh's fork failure", code, out)
	}
	for _, c := range []string{"memory", "pids", "cpu", "cpuacct", "cpuset", "blkio", "devices", "freezer", "systemd", ""} {
		os.Remove(filepath.Join("/sys/fs/cgroup", c, "magawa-test"))
	}
}

// TestOCIHooksAndPidFile checks the hooks run on the host with the
// container's state on stdin, in the spec's order, and --pid-file.
func TestOCIHooksAndPidFile(t *testing.T) { forEachSandbox(t, testOCIHooksAndPidFile) }

func testOCIHooksAndPidFile(t *testing.T, r *ociRuntime) {
	out := t.TempDir()
	hook := func(name string) map[string]any {
		return map[string]any{"path": "/bin/sh", "args": []string{"sh", "-c", "cat > " + filepath.Join(out, name)}}
	}
	bundle := r.makeBundle([]string{"sleep", "1000"}, func(spec map[string]any) {
		spec["hooks"] = map[string]any{
			"createRuntime":   []any{hook("createRuntime")},
			"createContainer": []any{hook("createContainer")},
			"startContainer":  []any{hook("startContainer")},
			"poststart":       []any{hook("poststart")},
			"poststop":        []any{hook("poststop")},
		}
	})
	pidFile := filepath.Join(t.TempDir(), "pid")
	r.create("hooks", bundle, "--pid-file", pidFile)
	pid := int(r.state("hooks")["pid"].(float64))
	if b, err := os.ReadFile(pidFile); err != nil || string(b) != strconv.Itoa(pid) {
		t.Errorf("--pid-file: %q, %v; want %d", b, err, pid)
	}
	r.must("start", "hooks")
	r.must("delete", "--force", "hooks")
	for _, c := range []struct{ hook, status string }{
		{"createRuntime", "created"}, {"createContainer", "created"}, {"startContainer", "created"},
		{"poststart", "running"}, {"poststop", "stopped"},
	} {
		b, err := os.ReadFile(filepath.Join(out, c.hook))
		if err != nil {
			t.Errorf("%s hook did not run: %v", c.hook, err)
			continue
		}
		var st struct{ ID, Status, Bundle string }
		if err := json.Unmarshal(b, &st); err != nil || st.ID != "hooks" || st.Status != c.status || st.Bundle != bundle {
			t.Errorf("%s hook's stdin: %s (%v); want id hooks, status %s, bundle %s", c.hook, b, err, c.status, bundle)
		}
	}
}

// TestOCIConsoleSocket creates a container with a terminal, as podman and
// containerd do: the runtime sends the terminal's master over
// --console-socket, and what the container writes comes out of it.
func TestOCIConsoleSocket(t *testing.T) { forEachSandbox(t, testOCIConsoleSocket) }

func testOCIConsoleSocket(t *testing.T, r *ociRuntime) {
	bundle := r.makeBundle([]string{"sh", "-c", "tty; stty size; echo hello from the console"}, func(spec map[string]any) {
		p := spec["process"].(map[string]any)
		p["terminal"] = true
		p["consoleSize"] = map[string]any{"height": 30, "width": 100}
	})
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan *os.File, 1)
	go func() {
		c, err := l.AcceptUnix()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		buf, oob := make([]byte, 64), make([]byte, 64)
		_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		msgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			got <- nil
			return
		}
		fds, _ := syscall.ParseUnixRights(&msgs[0])
		got <- os.NewFile(uintptr(fds[0]), "console-master")
	}()
	if o, code := r.run("create", "--bundle", bundle, "--console-socket", sock, "tty"); code != 0 {
		t.Fatalf("create: exit %d\n%s", code, o)
	}
	t.Cleanup(func() { r.run("delete", "--force", "tty") })
	master := <-got
	if master == nil {
		t.Fatal("no terminal master came over the console socket")
	}
	defer master.Close()
	r.must("start", "tty")
	var screen strings.Builder
	buf := make([]byte, 4096)
	master.SetReadDeadline(time.Now().Add(runTimeout))
	for !strings.Contains(screen.String(), "hello from the console\r\n") {
		n, err := master.Read(buf)
		screen.Write(buf[:n])
		if err != nil {
			break
		}
	}
	want := "/dev/pts/0\r\n30 100\r\nhello from the console\r\n"
	if !strings.HasPrefix(screen.String(), want) {
		t.Errorf("the console shows %q, want %q", screen.String(), want)
	}
}

// TestOCIUserNamespace runs a container whose user namespace maps its
// IDs 0-65535 to the host's 100000-165535 (as `podman run --uidmap
// 0:100000:65536` asks), on a root file system chowned to match, as
// podman prepares one: inside, the files are root's and /proc/self/
// uid_map shows the mapping; a file the container makes in a bind mount
// belongs to host user 100000 (100042 after chown 42); IDs outside the
// map cannot be taken, and host files outside it read as nobody's.
func TestOCIUserNamespace(t *testing.T) { forEachSandbox(t, testOCIUserNamespace) }

func testOCIUserNamespace(t *testing.T, r *ociRuntime) {
	shared := t.TempDir()
	os.WriteFile(filepath.Join(shared, "hosts-own"), []byte("x"), 0o644)
	os.Chmod(shared, 0o777)
	script := strings.Join([]string{
		`cat /proc/self/uid_map /proc/self/gid_map`,
		`ls -ln /bin/busybox | awk '{ print $3, $4 }'`,
		`ls -ln /data/hosts-own | awk '{ print $3, $4 }'`,
		`echo made >/data/made && touch /data/chowned && busybox chown 42:43 /data/chowned && echo chowned`,
		`busybox chown 70000 /data/made 2>/dev/null || echo chown 70000 refused`,
		`id -u`,
	}, "\n")
	bundle := r.makeBundle([]string{"sh", "-c", script}, func(spec map[string]any) {
		linux := spec["linux"].(map[string]any)
		linux["namespaces"] = append(linux["namespaces"].([]any), map[string]any{"type": "user"})
		linux["uidMappings"] = []map[string]any{{"containerID": 0, "hostID": 100000, "size": 65536}}
		linux["gidMappings"] = []map[string]any{{"containerID": 0, "hostID": 200000, "size": 65536}}
		caps := []string{"CAP_CHOWN"}
		spec["process"].(map[string]any)["capabilities"] = map[string]any{"bounding": caps, "effective": caps, "permitted": caps}
		spec["mounts"] = append(spec["mounts"].([]any),
			map[string]any{"destination": "/data", "type": "bind", "source": shared, "options": []string{"rbind", "rw"}})
	})
	rootfs := filepath.Join(bundle, "rootfs")
	if err := filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 100000, 200000)
	}); err != nil {
		t.Fatal(err)
	}
	out, code := r.run("run", "--bundle", bundle, "userns")
	want := strings.Join([]string{
		"         0     100000      65536",
		"         0     200000      65536",
		"0 0",
		"65534 65534",
		"chowned",
		"chown 70000 refused",
		"0",
	}, "\n") + "\n"
	if code != 0 || out != want {
		t.Errorf("run: exit %d\n%s", code, lineDiff(want, out))
	}
	for name, owner := range map[string][2]uint32{"made": {100000, 200000}, "chowned": {100042, 200043}} {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(shared, name), &st); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if st.Uid != owner[0] || st.Gid != owner[1] {
			t.Errorf("/data/%s is %d:%d on the host, want %d:%d", name, st.Uid, st.Gid, owner[0], owner[1])
		}
	}
}

// TestOCIPod runs a pod as the CRI plugin asks for one: a sandbox
// container, then containers marked with the pod's sandbox ID, which
// join its sandbox (one application kernel, or one VM, for the pod)
// with roots of their own: they share its loopback, hostname and a
// volume (and, in the application kernel, its PID namespace), each sees
// only its own files, and each is signalled, listed and deleted alone;
// nothing is left mounted after.
func TestOCIPod(t *testing.T) { forEachSandbox(t, testOCIPod) }

func testOCIPod(t *testing.T, r *ociRuntime) {
	// A volume of the pod's (an emptyDir), bound into both containers.
	shared := t.TempDir()
	member := func(spec map[string]any) {
		spec["root"].(map[string]any)["readonly"] = false
		spec["annotations"] = map[string]string{
			"io.kubernetes.cri.container-type": "container",
			"io.kubernetes.cri.sandbox-id":     "pod",
		}
		spec["mounts"] = append(spec["mounts"].([]any), map[string]any{
			"destination": "/shared", "type": "bind", "source": shared, "options": []string{"rbind", "rw"},
		})
	}
	pod := r.makeBundle([]string{"sleep", "1000"}, func(spec map[string]any) {
		spec["hostname"] = "podhost"
		spec["annotations"] = map[string]string{"io.kubernetes.cri.container-type": "sandbox"}
	})
	web := r.makeBundle([]string{"sh", "-c", "mkdir /www && echo served by web >/www/index.html && echo written by web >/shared/note && exec httpd -f -p 127.0.0.1:8080 -h /www"}, member)
	client := r.makeBundle([]string{"sleep", "1000"}, member)
	for name, bundle := range map[string]string{"web": web, "client": client, "pod": pod} {
		os.Symlink("busybox", filepath.Join(bundle, "rootfs", "bin", "readlink"))
		if name == "pod" {
			continue
		}
		os.WriteFile(filepath.Join(bundle, "rootfs", "marker"), []byte(name+"\n"), 0o644)
		os.Symlink("busybox", filepath.Join(bundle, "rootfs", "bin", "httpd"))
		os.Symlink("busybox", filepath.Join(bundle, "rootfs", "bin", "wget"))
	}
	r.create("pod", pod)
	r.must("start", "pod")
	podPid := int(r.state("pod")["pid"].(float64))
	for _, id := range []string{"web", "client"} {
		bundle := map[string]string{"web": web, "client": client}[id]
		r.create(id, bundle)
		if st := r.state(id); st["status"] != "created" {
			t.Fatalf("%s after create: %v", id, st)
		}
		r.must("start", id)
		r.waitStatus(id, "running")
		// One sandbox for the pod: the container's PID is the host
		// process that waits for it, not a sandbox of its own.
		pid := int(r.state(id)["pid"].(float64))
		if cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); !strings.Contains(string(cmdline), "exec-wait") {
			t.Errorf("%s's PID %d runs %q, want magawa's exec-wait (no sandbox of its own)", id, pid, cmdline)
		}
	}
	// The application kernel's sandbox process has the gofers and stubs
	// as children, the VM's supervisor its QEMU: one for the pod.
	if kids := childPIDs(podPid); len(kids) == 0 || r.vm() && len(kids) != 1 {
		t.Errorf("the pod's sandbox process %d has children %v", podPid, kids)
	}
	for _, c := range []struct{ id, script, want string }{
		{"web", "cat /marker", "web\n"},
		{"client", "cat /marker", "client\n"},
		{"pod", "cat /marker 2>/dev/null || echo none", "none\n"},
		{"client", "hostname", "podhost\n"},
		// Loopback is the pod's.
		{"client", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://127.0.0.1:8080/index.html && break; sleep 0.2; done", "served by web\n"},
		// So is the volume, both ways.
		{"client", "cat /shared/note && echo written by client >/shared/reply", "written by web\n"},
		{"web", "cat /shared/reply", "written by client\n"},
	} {
		if o, code := r.run("exec", c.id, "sh", "-c", c.script); code != 0 || o != c.want {
			t.Errorf("exec %s %q: exit %d, %q; want %q", c.id, c.script, code, o, c.want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(shared, "reply")); err != nil || string(b) != "written by client\n" {
		t.Errorf("the pod's volume on the host: %q, %v", b, err)
	}
	if r.vm() {
		// In the VM each container has its own PID namespace (as
		// Kubernetes gives them by default) and mount namespace; the
		// IPC and UTS namespaces are the pod's, its first container's.
		ns := func(id string) map[string]string {
			o, code := r.run("exec", id, "sh", "-c", "for n in ipc uts pid mnt; do echo $n $(readlink /proc/1/ns/$n); done")
			if code != 0 {
				t.Fatalf("exec %s: namespaces: exit %d, %s", id, code, o)
			}
			m := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(o), "\n") {
				k, v, _ := strings.Cut(line, " ")
				m[k] = v
			}
			return m
		}
		first, other := ns("pod"), ns("client")
		for _, n := range []string{"ipc", "uts"} {
			if first[n] == "" || first[n] != other[n] {
				t.Errorf("%s namespace: the pod's %q, client's %q: want the same", n, first[n], other[n])
			}
		}
		for _, n := range []string{"pid", "mnt"} {
			if first[n] == "" || first[n] == other[n] {
				t.Errorf("%s namespace: the pod's %q, client's %q: want its own", n, first[n], other[n])
			}
		}
		if o, _ := r.run("exec", "client", "ps"); strings.Contains(o, "httpd") {
			t.Errorf("ps in client lists web's httpd (a PID namespace per container):\n%s", o)
		}
	} else if o, _ := r.run("exec", "client", "ps"); !strings.Contains(o, "httpd") {
		// The PID namespace is the pod's (shareProcessNamespace).
		t.Errorf("the pod's processes, from client:\n%s", o)
	}
	// ps lists a container's own processes.
	if table := r.must("ps", "web"); !strings.Contains(table, "httpd") || strings.Contains(table, "sleep") {
		t.Errorf("ps web: want its httpd alone:\n%s", table)
	}
	var ev struct {
		Data struct {
			CPU    struct{ Usage struct{ Total uint64 } }
			Memory struct{ Usage struct{ Usage uint64 } }
			Pids   struct{ Current int }
		}
	}
	if err := json.Unmarshal([]byte(r.must("events", "--stats", "web")), &ev); err != nil || ev.Data.Pids.Current != 1 || ev.Data.Memory.Usage.Usage == 0 || ev.Data.CPU.Usage.Total == 0 {
		t.Errorf("events --stats web: %+v, %v; want its one task, its memory and CPU time", ev.Data, err)
	}
	// A signal reaches one container; the pod and the others go on.
	// (httpd is its PID namespace's init in the VM, where a signal it
	// has no handler for is ignored: SIGKILL.)
	sig := "TERM"
	if r.vm() {
		sig = "KILL"
	}
	r.must("kill", "web", sig)
	r.waitStatus("web", "stopped")
	if st := r.state("client")["status"]; st != "running" {
		t.Errorf("client after web's kill: %v", st)
	}
	r.must("delete", "web")
	if o, code := r.run("exec", "client", "sh", "-c", "cat /marker"); code != 0 || o != "client\n" {
		t.Errorf("client after web's delete: exit %d, %q", code, o)
	}
	if r.vm() {
		// web's files have left the pod's share, on the host and so in
		// the VM.
		if left := mountsUnder(r.root + "/pod/pod/web"); len(left) != 0 {
			t.Errorf("web's mounts left after its delete: %v", left)
		}
	}
	// The pod's sandbox ends: its containers end with it.
	r.must("kill", "pod", "KILL")
	r.waitStatus("pod", "stopped")
	r.waitStatus("client", "stopped")
	r.must("delete", "client")
	r.must("delete", "pod")
	if entries, _ := os.ReadDir(r.root); len(entries) != 0 {
		t.Errorf("state left behind: %v", entries)
	}
	if left := mountsUnder(r.root); len(left) != 0 {
		t.Errorf("mounts left behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(client, "rootfs", "marker")); err != nil {
		t.Errorf("client's image after the pod's delete: %v", err)
	}
}

// mountsUnder lists this mount namespace's mount points at or under
// dir.
func mountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}
