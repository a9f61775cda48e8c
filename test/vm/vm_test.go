// Package vm tests the micro-VM sandbox end to end: bin/magawa
// --sandbox=vm running busybox bundles in QEMU (TCG without KVM), the
// way a user runs them, and what it leaves behind.
//
// MAGAWA_BIN=path tests an existing binary instead of building one.
// Needs root, qemu-system-x86_64 (apt-get install qemu-system-x86),
// /bin/busybox (busybox-static) and the guest image: $MAGAWA_VM_IMAGE,
// or the one the test builds into the checkout's .cache/vm as `make
// vm-image` does (apt-get download of the kernel package: apt's lists
// must be there). Each boot without KVM takes seconds: the tests boot
// twice, plus two VMs that fail on purpose.
package vm

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"magawa/test/testenv"
)

var (
	setupOnce sync.Once
	setupErr  error
	skipWhy   string
	tmpDir    string
	magawa    string
	kernel    string
	initrd    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// setup builds magawa once, and has testenv find or build the guest
// image (and skip without root or QEMU).
func setup(t *testing.T) {
	t.Helper()
	img := testenv.NeedVM(t)
	kernel, initrd = img.Kernel, img.Initramfs
	setupOnce.Do(func() {
		if _, err := os.Stat("/bin/busybox"); err != nil {
			skipWhy = "needs /bin/busybox (apt-get install busybox-static)"
			return
		}
		if tmpDir, setupErr = os.MkdirTemp("", "magawa-vm-test-"); setupErr != nil {
			return
		}
		if p := os.Getenv("MAGAWA_BIN"); p != "" {
			magawa, setupErr = filepath.Abs(p)
		} else {
			magawa = filepath.Join(tmpDir, "magawa")
			setupErr = testenv.BuildMagawa(magawa)
		}
		if setupErr != nil {
			return
		}
	})
	if skipWhy != "" {
		testenv.Skip(t, "%s", skipWhy)
	}
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

// runtime is magawa with a state root of the test's own.
type runtime struct {
	t    *testing.T
	root string
}

func newRuntime(t *testing.T) *runtime {
	setup(t)
	r := &runtime{t: t, root: t.TempDir()}
	t.Cleanup(func() {
		// Whatever a failed test left: no VM outlives it.
		out, _ := exec.Command(magawa, "--root", r.root, "list", "-q").Output()
		for _, id := range strings.Fields(string(out)) {
			exec.Command(magawa, "--root", r.root, "delete", "--force", id).Run()
		}
		if left := r.qemus(); len(left) > 0 {
			t.Errorf("QEMU processes left behind: %v", left)
		}
	})
	return r
}

// cmd is magawa --sandbox=vm with the test's root and image.
func (r *runtime) cmd(args ...string) *exec.Cmd {
	all := append([]string{"--root", r.root, "--sandbox=vm", "--vm-kernel", kernel, "--vm-initrd", initrd}, args...)
	return exec.Command(magawa, all...)
}

// run runs magawa and returns its stdout, stderr and exit status.
func (r *runtime) run(stdin string, args ...string) (string, string, int) {
	r.t.Helper()
	cmd := r.cmd(args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatalf("magawa %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func (r *runtime) must(args ...string) string {
	r.t.Helper()
	out, errOut, code := r.run("", args...)
	if code != 0 {
		r.t.Fatalf("magawa %v: exit %d: %s", args, code, errOut)
	}
	return out
}

// create runs create with the container's stdout and stderr going to a
// file: the sandbox holds them as long as it lives, so a pipe would
// never end.
func (r *runtime) create(bundle, id string) {
	r.t.Helper()
	f, err := os.Create(filepath.Join(r.t.TempDir(), "output"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	cmd := r.cmd("create", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(f.Name())
		r.t.Fatalf("create %s: %v\n%s", id, err, b)
	}
}

func (r *runtime) status(id string) string {
	r.t.Helper()
	var st struct{ Status string }
	if err := json.Unmarshal([]byte(r.must("state", id)), &st); err != nil {
		r.t.Fatal(err)
	}
	return st.Status
}

// qemus lists the QEMU processes of this runtime's sandboxes: those
// whose root is a jail in its state root.
func (r *runtime) qemus() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", pid))
		if strings.Contains(exe, "qemu-system") && strings.HasPrefix(root, r.root) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid is a process that has not exited (a zombie
// waiting for its reaper has).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// bundle makes a busybox bundle running args.
func bundle(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "busybox"), b, 0o755)
	for _, applet := range []string{"sh", "echo", "cat", "sleep", "uname", "ls", "grep", "id", "hostname", "wc", "cut", "awk", "touch", "tr"} {
		os.Symlink("busybox", filepath.Join(bin, applet))
	}
	cmd := exec.Command(magawa, "spec")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("magawa spec: %v: %s", err, out)
	}
	var spec map[string]any
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	json.Unmarshal(raw, &spec)
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = args
	spec["hostname"] = "vmtest"
	// Writable, as an engine's bundles are: `spec` makes the root
	// read-only, and then no write would test the overlay.
	spec["root"].(map[string]any)["readonly"] = false
	// runc's `spec` lists ambient capabilities without inheritable ones,
	// which Linux cannot raise: the process starts without them, as
	// under runc (which warns).
	caps := proc["capabilities"].(map[string]any)
	caps["ambient"] = caps["permitted"]
	raw, _ = json.MarshalIndent(spec, "", "\t")
	os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644)
	return dir
}

func TestVMRun(t *testing.T) {
	r := newRuntime(t)
	host, _ := exec.Command("uname", "-r").Output()
	dir := bundle(t, "sh", "-c", `echo hello from the vm; read line; echo "got $line"; echo "kernel $(uname -r)"; `+
		`echo "host $(hostname)"; echo written > /written; cat /written >&2; `+
		// A directory of the image is copied up into the overlay's upper
		// layer first, which takes QEMU's 9p server's xattr calls.
		`echo copied up > /bin/new && cat /bin/new; grep CapAmb /proc/self/status; exit 3`)
	stdout, stderr, code := r.run("to the container\n", "run", "--bundle", dir, "vmrun")
	if code != 3 {
		t.Errorf("exit status %d, want 3 (stderr: %s)", code, stderr)
	}
	for _, want := range []string{"hello from the vm\n", "got to the container\n", "host vmtest\n", "copied up\n", "CapAmb:\t0000000000000000\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout %q lacks %q (stderr %q)", stdout, want, stderr)
		}
	}
	if strings.Contains(stdout, "kernel "+strings.TrimSpace(string(host))+"\n") || !strings.Contains(stdout, "kernel 6.") {
		t.Errorf("stdout %q: want the guest's kernel, not the host's (%s)", stdout, strings.TrimSpace(string(host)))
	}
	if !strings.Contains(stderr, "written\n") || strings.Contains(stderr, "can't") {
		t.Errorf("stderr %q lacks the container's", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "rootfs", "written")); err == nil {
		t.Error("a write in the container reached the image: the root is not an overlay")
	}
	if entries, _ := os.ReadDir(r.root); len(entries) != 0 {
		t.Errorf("run left state behind: %v", entries)
	}
}

func TestVMLifecycle(t *testing.T) {
	r := newRuntime(t)
	dir := bundle(t, "sleep", "600")
	r.create(dir, "life")
	if st := r.status("life"); st != "created" {
		t.Errorf("after create: %s", st)
	}
	r.must("start", "life")
	if st := r.status("life"); st != "running" {
		t.Errorf("after start: %s", st)
	}
	out, errOut, code := r.run("input\n", "exec", "life", "sh", "-c", "cat; echo exec in $(hostname); exit 5")
	if code != 5 || out != "input\nexec in vmtest\n" {
		t.Errorf("exec: exit %d, stdout %q, stderr %q; want 5, the input and the hostname", code, out, errOut)
	}
	if _, errOut, code := r.run("", "exec", "life", "nonexistent-program"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("exec of a missing program: exit %d, %q", code, errOut)
	}
	if ps := r.must("ps", "life"); !strings.Contains(ps, "sleep 600") {
		t.Errorf("ps: %q", ps)
	}
	var hostPids []int
	json.Unmarshal([]byte(r.must("ps", "--format", "json", "life")), &hostPids)
	if len(hostPids) < 2 {
		t.Errorf("ps --format json = %v: want the supervisor and QEMU", hostPids)
	}
	if len(r.qemus()) != 1 {
		t.Errorf("QEMU processes of the sandbox: %v, want one", r.qemus())
	}
	r.must("kill", "life", "KILL")
	deadline := time.Now().Add(30 * time.Second)
	for r.status("life") != "stopped" {
		if time.Now().After(deadline) {
			t.Fatal("the container did not stop after kill")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.must("delete", "life")
	for _, pid := range hostPids {
		if alive(pid) {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			t.Errorf("host process %d of the sandbox (%q) is still there after delete", pid, cmdline)
		}
	}
	if _, err := os.Stat(filepath.Join(r.root, "life")); err == nil {
		t.Error("the state directory is still there after delete")
	}
}

func TestVMBadInput(t *testing.T) {
	r := newRuntime(t)
	dir := bundle(t, "true")
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"no QEMU", []string{"--vm-qemu", "/nonexistent/qemu-system-x86_64"}, "install qemu-system-x86"},
		{"no kernel", []string{"--vm-kernel", "/nonexistent/vmlinux"}, "guest kernel"},
		{"no initramfs", []string{"--vm-initrd", "/nonexistent/initrd"}, "initramfs"},
		// QEMU refuses it at once, and says why.
		{"not a kernel", []string{"--vm-kernel", "/bin/busybox"}, "PVH ELF Note"},
		{"an agent that does not answer", []string{"--vm-boot-timeout", "1s"}, "did not answer within 1s"},
	} {
		// Into a file: a create that succeeded by mistake leaves a
		// sandbox holding its output, which a pipe would wait for.
		f, err := os.Create(filepath.Join(t.TempDir(), "output"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := r.cmd(append(tc.flags, "create", "--bundle", dir, "bad")...)
		cmd.Stdout, cmd.Stderr = f, f
		err = cmd.Run()
		f.Close()
		out, _ := os.ReadFile(f.Name())
		if err == nil {
			t.Errorf("%s: create succeeded", tc.name)
			r.must("delete", "--force", "bad")
			continue
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: %q, want it to say %q", tc.name, out, tc.want)
		}
		if _, err := os.Stat(filepath.Join(r.root, "bad")); err == nil {
			t.Errorf("%s: a failed create left its state directory", tc.name)
		}
		if q := r.qemus(); len(q) > 0 {
			t.Errorf("%s: QEMU left running: %v", tc.name, q)
		}
	}
}

// editBundle changes a bundle's config.json.
func editBundle(t *testing.T, dir string, edit func(spec map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	edit(spec)
	raw, _ = json.MarshalIndent(spec, "", "\t")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitStatus polls the container's status until it is want.
func (r *runtime) waitStatus(id, want string) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := r.status(id)
		if st == want {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("container %s is %s, want %s", id, st, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestVMPauseUpdate pauses, resumes and updates a VM container as runc's
// pause, resume, kill and update do: its processes freeze (a counter it
// writes to a host directory stops), a signal sent meanwhile is
// delivered once it is resumed, SIGKILL ends it frozen; update changes
// the limits of its guest cgroup, which events --stats shows, and a
// memory limit the VM cannot hold is refused.
func TestVMPauseUpdate(t *testing.T) {
	r := newRuntime(t)
	shared := t.TempDir()
	counter := filepath.Join(shared, "n")
	dir := bundle(t, "sh", "-c", `trap 'echo got TERM; exit 3' TERM; sleep 1000 & i=0; while :; do i=$((i+1)); echo $i >/data/n; sleep 0.1; done`)
	editBundle(t, dir, func(spec map[string]any) {
		linux := spec["linux"].(map[string]any)
		linux["resources"] = map[string]any{
			"memory": map[string]any{"limit": 256 << 20},
			"pids":   map[string]any{"limit": 100},
			"cpu":    map[string]any{"shares": 512},
		}
		spec["mounts"] = append(spec["mounts"].([]any), map[string]any{"destination": "/data", "type": "bind", "source": shared, "options": []string{"rbind", "rw"}})
	})
	out := filepath.Join(t.TempDir(), "output")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := r.cmd("create", "--bundle", dir, "pu")
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	f.Close()
	if err != nil {
		b, _ := os.ReadFile(out)
		t.Fatalf("create: %v\n%s", err, b)
	}
	r.must("start", "pu")
	read := func() string {
		b, _ := os.ReadFile(counter)
		return strings.TrimSpace(string(b))
	}
	waitFor(t, "the container's counter", func() bool { return read() != "" && read() != "1" })

	limits := func() string {
		return r.must("exec", "pu", "sh", "-c", "cd /sys/fs/cgroup && cat memory.max pids.max cpu.weight cpu.max | tr '\\n' ' '")
	}
	// 512 shares are a weight of 20 (runc's conversion).
	if got := limits(); got != "268435456 100 20 max 100000 " {
		t.Errorf("the guest cgroup's limits after create: %q", got)
	}
	r.must("update", "--pids-limit", "200", "pu")
	var ev struct {
		Type string
		Data struct{ Pids struct{ Current, Limit int } }
	}
	// The tasks of the cgroup: sh and the background sleep (and the
	// loop's sleep while it runs).
	if err := json.Unmarshal([]byte(r.must("events", "--stats", "pu")), &ev); err != nil || ev.Type != "stats" ||
		ev.Data.Pids.Limit != 200 || ev.Data.Pids.Current < 2 || ev.Data.Pids.Current > 3 {
		t.Errorf("events --stats after update --pids-limit 200: %+v, %v", ev, err)
	}
	r.must("update", "--memory", fmt.Sprint(128<<20), "--cpu-quota", "50000", "--cpu-period", "200000", "--cpu-shares", "1024", "pu")
	if got := limits(); got != "134217728 200 39 50000 200000 " {
		t.Errorf("the guest cgroup's limits after update: %q", got)
	}
	// 256 MiB of limit made a VM of 416 MiB: 1 GiB does not fit.
	if _, errOut, code := r.run("", "update", "--memory", fmt.Sprint(1<<30), "pu"); code == 0 || !strings.Contains(errOut, "does not fit in the VM") {
		t.Errorf("update --memory 1G: exit %d, %q; want a refusal saying the VM cannot hold it", code, errOut)
	}

	r.must("pause", "pu")
	if st := r.status("pu"); st != "paused" {
		t.Errorf("after pause: %s", st)
	}
	frozen := read()
	time.Sleep(time.Second)
	if now := read(); now != frozen {
		t.Errorf("the counter went from %s to %s while the container was paused", frozen, now)
	}
	if _, errOut, code := r.run("", "exec", "pu", "true"); code == 0 || !strings.Contains(errOut, "paused") {
		t.Errorf("exec into a paused container: exit %d, %q", code, errOut)
	}
	if _, errOut, code := r.run("", "pause", "pu"); code == 0 || !strings.Contains(errOut, "paused") {
		t.Errorf("pause of a paused container: exit %d, %q", code, errOut)
	}
	if _, errOut, code := r.run("", "delete", "pu"); code == 0 || !strings.Contains(errOut, "paused") {
		t.Errorf("delete of a paused container: exit %d, %q", code, errOut)
	}
	// A signal to a frozen process waits for it to thaw.
	r.must("kill", "pu", "TERM")
	time.Sleep(500 * time.Millisecond)
	if st := r.status("pu"); st != "paused" {
		t.Errorf("after kill TERM of a paused container: %s, want it still paused", st)
	}
	r.must("resume", "pu")
	r.waitStatus("pu", "stopped")
	if b, _ := os.ReadFile(out); string(b) != "got TERM\n" {
		t.Errorf("the container's output: %q, want the TERM trap's", b)
	}
	r.must("delete", "pu")

	// SIGKILL ends a paused container; delete --force removes one.
	dir = bundle(t, "sleep", "1000")
	r.create(dir, "pk")
	r.must("start", "pk")
	r.must("pause", "pk")
	r.must("kill", "pk", "KILL")
	r.waitStatus("pk", "stopped")
	r.must("delete", "pk")
	r.create(dir, "pf")
	r.must("start", "pf")
	r.must("pause", "pf")
	r.must("delete", "--force", "pf")
	if _, err := os.Stat(filepath.Join(r.root, "pf")); err == nil {
		t.Error("delete --force of a paused container left its state")
	}
}

// TestVMConfig runs test/oci_test.go's TestOCIConfig script in a VM: the
// process settings, UTS names, sysctls, masked and read-only paths,
// bind mounts, oomScoreAdj and linux.devices (a guest device, and a
// disk the guest does not have: made, as runc makes it, but not
// openable).
func TestVMConfig(t *testing.T) {
	r := newRuntime(t)
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
		`awk '$5 == "/proc/sys" { print $6 }' /proc/self/mountinfo`,
		`touch /newfile 2>/dev/null || echo root read-only`,
		`cat /data/from-host; echo in-container >/data/from-container`,
		`touch /ro/x 2>/dev/null || echo ro bind read-only`,
		`echo x >/dev/mynull && wc -c </dev/mynull && ls -l /dev/mynull | cut -c1-10`,
		`ls -l /dev/sda | cut -c1-10; cat /dev/sda 2>&1`,
	}, "\n")
	dir := bundle(t, "sh", "-c", script)
	os.MkdirAll(filepath.Join(dir, "rootfs", "etc"), 0o755)
	os.MkdirAll(filepath.Join(dir, "rootfs", "tmp"), 0o755)
	os.WriteFile(filepath.Join(dir, "rootfs", "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	editBundle(t, dir, func(spec map[string]any) {
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
		spec["root"].(map[string]any)["readonly"] = true
		linux := spec["linux"].(map[string]any)
		linux["maskedPaths"] = append(linux["maskedPaths"].([]any), "/etc/passwd")
		linux["sysctl"] = map[string]string{"kernel.domainname": "example.org", "kernel.msgmax": "65536", "net.ipv4.ping_group_range": "0 2147483647"}
		linux["devices"] = []map[string]any{
			{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666},
			{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0},
		}
		spec["mounts"] = append(spec["mounts"].([]any),
			map[string]any{"destination": "/data", "type": "bind", "source": shared, "options": []string{"rbind", "rw"}},
			map[string]any{"destination": "/ro", "type": "bind", "source": shared, "options": []string{"bind", "ro"}},
		)
	})
	stdout, stderr, code := r.run("", "run", "--bundle", dir, "cfg")
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
		"ro,relatime",
		"root read-only",
		"host file",
		"ro bind read-only",
		"0", "crw-rw-rw-",
		"brw-rw-rw-", "cat: can't open '/dev/sda': No such device or address",
	}, "\n") + "\n"
	if code != 1 || stdout != want {
		t.Errorf("run: exit %d (want 1, cat's), stderr %q, stdout:\n%s\nwant:\n%s", code, stderr, stdout, want)
	}
	if b, err := os.ReadFile(filepath.Join(shared, "from-container")); err != nil || string(b) != "in-container\n" {
		t.Errorf("a write through the rw bind mount: %q, %v", b, err)
	}
}

// TestVMUserNamespace runs test/oci_test.go's TestOCIUserNamespace
// script in a VM container with a user namespace (podman's --uidmap
// 0:100000:65536 and a root chowned to match): the maps inside, the
// image's files root's, host root's files nobody's, a file made and
// chowned in a bind mount owned on the host by the mapped IDs, an
// unmapped ID refused. It runs as an exec'd process (the holder's path),
// in the namespace of the container's init, with a device node of the
// bundle and the container's oomScoreAdj.
func TestVMUserNamespace(t *testing.T) {
	r := newRuntime(t)
	shared := t.TempDir()
	os.WriteFile(filepath.Join(shared, "hosts-own"), []byte("x"), 0o644)
	os.Chmod(shared, 0o777)
	dir := bundle(t, "sleep", "1000")
	editBundle(t, dir, func(spec map[string]any) {
		linux := spec["linux"].(map[string]any)
		linux["namespaces"] = append(linux["namespaces"].([]any), map[string]any{"type": "user"})
		linux["uidMappings"] = []map[string]any{{"containerID": 0, "hostID": 100000, "size": 65536}}
		linux["gidMappings"] = []map[string]any{{"containerID": 0, "hostID": 200000, "size": 65536}}
		linux["devices"] = []map[string]any{{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}}
		p := spec["process"].(map[string]any)
		p["oomScoreAdj"] = 300
		caps := []string{"CAP_CHOWN"}
		p["capabilities"] = map[string]any{"bounding": caps, "effective": caps, "permitted": caps}
		spec["mounts"] = append(spec["mounts"].([]any),
			map[string]any{"destination": "/data", "type": "bind", "source": shared, "options": []string{"rbind", "rw"}})
	})
	rootfs := filepath.Join(dir, "rootfs")
	if err := filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 100000, 200000)
	}); err != nil {
		t.Fatal(err)
	}
	r.create(dir, "userns")
	r.must("start", "userns")
	script := strings.Join([]string{
		`cat /proc/self/uid_map /proc/self/gid_map`,
		`ls -ln /bin/busybox | awk '{ print $3, $4 }'`,
		`ls -ln /data/hosts-own | awk '{ print $3, $4 }'`,
		`echo made >/data/made && touch /data/chowned && busybox chown 42:43 /data/chowned && echo chowned`,
		`busybox chown 70000 /data/made 2>/dev/null || echo chown 70000 refused`,
		`id -u`,
		`[ "$(readlink /proc/self/ns/user)" = "$(readlink /proc/1/ns/user)" ] && echo the namespace of init`,
		`echo x >/dev/mynull && ls -l /dev/mynull | cut -c1-10`,
		`cat /proc/self/oom_score_adj`,
	}, "\n")
	stdout, stderr, code := r.run("", "exec", "userns", "sh", "-c", script)
	want := strings.Join([]string{
		"         0     100000      65536",
		"         0     200000      65536",
		"0 0",
		"65534 65534",
		"chowned",
		"chown 70000 refused",
		"0",
		"the namespace of init",
		"crw-rw-rw-",
		"300",
	}, "\n") + "\n"
	if code != 0 || stdout != want {
		t.Errorf("exec: exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, stderr, stdout, want)
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
	if out := r.must("exec", "--user", "1000:1000", "userns", "id"); out != "uid=1000 gid=1000\n" {
		t.Errorf("exec --user 1000:1000 in the namespace: %q", out)
	}
	r.must("kill", "userns", "KILL")
	r.waitStatus("userns", "stopped")
	r.must("delete", "userns")
}
