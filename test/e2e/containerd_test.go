package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"magawa/test/testenv"
)

// containerd is a containerd daemon with private root, state, sockets
// and opt directory (the CRI plugin off), started for one test.
type containerd struct {
	d    *daemon
	dir  string
	sock string
}

const containerdConfig = `version = 2
root = "%DIR%/root"
state = "%DIR%/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "%DIR%/containerd.sock"

[ttrpc]
  address = "%DIR%/containerd.sock.ttrpc"

[debug]
  address = "%DIR%/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "%DIR%/opt"
`

// startContainerd starts containerd in dir (below the env's directory)
// and stops it when the test ends. It skips when containerd cannot
// start.
func startContainerd(e *env, bin, ctrBin, dir string) *containerd {
	t := e.t
	t.Helper()
	if err := os.MkdirAll(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(containerdConfig, "%DIR%", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &containerd{dir: dir, sock: filepath.Join(dir, "containerd.sock")}
	d, err := e.startDaemon("containerd", bin, "--config", conf)
	if err != nil {
		skip(t, "containerd cannot start: %v", err)
	}
	c.d = d
	t.Cleanup(func() { d.stop(t, 20*time.Second) })
	err = d.waitFor(30*time.Second, func() bool {
		if _, err := os.Stat(c.sock); err != nil {
			return false
		}
		r := e.run("", ctrBin, "--address", c.sock, "version")
		return r.err == nil && r.code == 0
	})
	if err != nil {
		skip(t, "containerd cannot start: %v\n%s", err, d.tail())
	}
	return c
}

// ctr is the ctr client of a private containerd, with magawa (through
// the wrapper) as the runc binary of the runc shim.
type ctr struct {
	*env
	bin string
	cd  *containerd
	ns  string
	// runFlags are ctr run's: the runtime, its root, the FIFO directory.
	runFlags []string
	fifo     string
	// magawaShim is set when containerd runs magawa's own shim.
	magawaShim bool
}

// TestContainerd runs ctr against both ways containerd can drive
// magawa: its runc shim with magawa as the runc binary (runc-shim), and
// magawa's own shim, runtime type io.containerd.magawa.v1 (magawa-shim),
// which containerd finds in its PATH.
func TestContainerd(t *testing.T) {
	wantClient(t, "containerd")
	cdBin, ok := lookPath("containerd", "/usr/bin")
	if !ok {
		notInstalled(t, "containerd", "containerd")
	}
	ctrBin, ok := lookPath("ctr", "/usr/bin")
	if !ok {
		notInstalled(t, "ctr (containerd's client)", "containerd")
	}
	if _, ok := lookPath("containerd-shim-runc-v2", "/usr/bin"); !ok {
		notInstalled(t, "containerd-shim-runc-v2", "containerd")
	}
	e := newEnv(t, "containerd")
	image := busyboxImage(t)
	shimBin := filepath.Join(filepath.Dir(e.magawa), "containerd-shim-magawa-v1")
	if err := testenv.BuildShim(shimBin); err != nil {
		t.Fatal(err)
	}
	// The shim runs the magawa next to it.
	e.env[0] = "PATH=" + filepath.Dir(shimBin) + ":" + strings.TrimPrefix(e.env[0], "PATH=")
	created := e.noteCreated("/run/containerd", "/run/containerd/s", "/run/containerd/fifo", "/run/magawa-shim")
	t.Cleanup(created.removeIfEmpty)
	cd := startContainerd(e, cdBin, ctrBin, filepath.Join(e.dir, "containerd"))
	c := &ctr{env: e, bin: ctrBin, cd: cd, ns: "magawa-e2e", fifo: filepath.Join(e.dir, "fifo")}
	if r := c.ctr("", "image", "import", image); r.err != nil || r.code != 0 {
		t.Fatalf("ctr image import: %v", r)
	}
	t.Run("runc-shim", func(t *testing.T) {
		c := c.with(t)
		runcRoot := filepath.Join(e.dir, "runc")
		c.roots = append(c.roots, filepath.Join(runcRoot, c.ns))
		c.runFlags = []string{"--runc-binary", e.wrapper, "--runc-root", runcRoot, "--fifo-dir", c.fifo}
		t.Cleanup(func() { c.removeAll() })
		testContainerd(t, c)
	})
	t.Run("magawa-shim", func(t *testing.T) {
		c := c.with(t)
		c.ns = "magawa-e2e-shim"
		c.magawaShim = true
		c.roots = append(c.roots, filepath.Join("/run/magawa-shim", c.ns))
		c.runFlags = []string{"--runtime", "io.containerd.magawa.v1", "--fifo-dir", c.fifo}
		if r := c.ctr("", "image", "import", image); r.err != nil || r.code != 0 {
			t.Fatalf("ctr image import: %v", r)
		}
		t.Cleanup(func() {
			c.removeAll()
			os.Remove(filepath.Join("/run/magawa-shim", c.ns))
		})
		testContainerd(t, c)
		testMagawaShim(t, c)
		t.Run("vm", func(t *testing.T) { testMagawaShimVM(t, c) })
	})
}

func testContainerd(t *testing.T, c *ctr) {
	img := imageName
	t.Run("run_echo", func(t *testing.T) {
		c := c.with(t)
		c.expect("ctr run --rm IMAGE ID echo hi", c.ctr("", c.runArgs("--rm", img, "e2e-echo", "echo", "hi")...), 0, str("hi\n"))
	})
	t.Run("exit_status", func(t *testing.T) {
		c := c.with(t)
		c.expect("exit 3", c.ctr("", c.runArgs("--rm", img, "e2e-exit", "sh", "-c", "exit 3")...), 3, str(""))
	})
	t.Run("env", func(t *testing.T) {
		c := c.with(t)
		c.expect("--env VAR=x", c.ctr("", c.runArgs("--rm", "--env", "VAR=x", img, "e2e-env", "sh", "-c", `echo "$VAR"`)...), 0, str("x\n"))
	})
	t.Run("volume", func(t *testing.T) {
		c := c.with(t)
		vol := filepath.Join(c.dir, "volume")
		os.MkdirAll(vol, 0o755)
		os.WriteFile(filepath.Join(vol, "in"), []byte("from the host\n"), 0o644)
		m := "type=bind,src=" + vol + ",dst=/data,options=rbind:rw"
		c.expect("--mount bind", c.ctr("", c.runArgs("--rm", "--mount", m, img, "e2e-vol", "sh", "-c", "cat /data/in && echo written >/data/out")...), 0, str("from the host\n"))
		if b, err := os.ReadFile(filepath.Join(vol, "out")); err != nil || string(b) != "written\n" {
			t.Errorf("the container's write to the volume: want %q on the host, got %q (%v)", "written\n", b, err)
		}
	})
	// No stdin check with ctr run: ctr 1.6 never closes a piped stdin
	// of `ctr run` (the container waits for EOF forever, with runc
	// too); `ctr task exec` does, and is checked in exec.
	t.Run("tty", func(t *testing.T) {
		c := c.with(t)
		r := c.runTTY("ready", "hello\r", c.bin, c.args(c.runArgs("--rm", "-t", img, "e2e-tty", "sh", "-c", ttyScript)...)...)
		c.checkTTY("ctr run -t (typed)", r, 5)
	})
	t.Run("exec", func(t *testing.T) {
		c := c.with(t)
		const id = "e2e-exec"
		if !c.expect("ctr run -d", c.ctr("", c.runArgs("-d", img, id, "sleep", "1000")...), 0, nil) {
			return
		}
		defer c.remove(id)
		c.expect("ctr task exec echo hi", c.ctr("", "task", "exec", "--fifo-dir", c.fifo, "--exec-id", "x1", id, "echo", "hi"), 0, str("hi\n"))
		c.expect("ctr task exec exit 7", c.ctr("", "task", "exec", "--fifo-dir", c.fifo, "--exec-id", "x2", id, "sh", "-c", "exit 7"), 7, str(""))
		c.expect("ctr task exec --user --cwd", c.ctr("", "task", "exec", "--fifo-dir", c.fifo, "--exec-id", "x3", "--user", "1000", "--cwd", "/tmp", id, "sh", "-c", "id -u; pwd"), 0, str("1000\n/tmp\n"))
		c.expect("ctr task exec stdin", c.ctr("abc\n", "task", "exec", "--fifo-dir", c.fifo, "--exec-id", "x4", id, "tr", "a-z", "A-Z"), 0, str("ABC\n"))
		r := c.runTTY("ready", "hello\r", c.bin, c.args("task", "exec", "--fifo-dir", c.fifo, "-t", "--exec-id", "x5", id, "sh", "-c", ttyScript)...)
		c.checkTTY("ctr task exec -t (typed)", r, 5)
		c.expect("ctr task kill -s SIGKILL", c.ctr("", "task", "kill", "--signal", "SIGKILL", id), 0, nil)
		c.waitStatus(id, "STOPPED")
		c.expect("ctr task delete", c.ctr("", "task", "delete", id), 0, nil)
		c.expect("ctr container delete", c.ctr("", "container", "delete", id), 0, nil)
		c.checkGone(c.roots[len(c.roots)-1], id)
	})
	t.Run("kill_signal", func(t *testing.T) {
		// ctr task kill sends SIGTERM through `magawa kill`; the
		// container's handler runs and `ctr run` returns its status.
		c := c.with(t)
		const id = "e2e-sig"
		script := `trap 'echo got TERM; exit 0' TERM; touch /tmp/ready; while :; do sleep 0.1; done`
		done := make(chan result, 1)
		go func() { done <- c.ctr("", c.runArgs("--rm", img, id, "sh", "-c", script)...) }()
		ready := false
		for i := 0; i < 200 && !ready; i++ {
			time.Sleep(100 * time.Millisecond)
			r := c.ctr("", "task", "exec", "--fifo-dir", c.fifo, "--exec-id", fmt.Sprintf("ready%d", i), id, "test", "-f", "/tmp/ready")
			ready = r.err == nil && r.code == 0
		}
		if !ready {
			t.Errorf("the container never became ready")
		}
		c.expect("ctr task kill (SIGTERM)", c.ctr("", "task", "kill", id), 0, nil)
		select {
		case r := <-done:
			c.expect("ctr run after SIGTERM", r, 0, str("got TERM\n"))
		case <-time.After(cmdTimeout + 15*time.Second):
			t.Errorf("ctr run did not return after SIGTERM")
		}
	})
	t.Run("pause", func(t *testing.T) {
		c := c.with(t)
		const id = "e2e-pause"
		if !c.expect("ctr run -d", c.ctr("", c.runArgs("-d", img, id, "sleep", "1000")...), 0, nil) {
			return
		}
		defer c.remove(id)
		c.expect("ctr task pause", c.ctr("", "task", "pause", id), 0, nil)
		if st, _ := c.task(id); st != "PAUSED" {
			t.Errorf("after ctr task pause: want status PAUSED, got %q", st)
		}
		c.expect("ctr task resume", c.ctr("", "task", "resume", id), 0, nil)
		c.expect("exec after resume", c.ctr("", "task", "exec", "--fifo-dir", c.fifo, "--exec-id", "p1", id, "echo", "alive"), 0, str("alive\n"))
	})
	t.Run("task_ps", func(t *testing.T) {
		// containerd's shim asks `magawa ps --format json` for the
		// task's processes and treats the answer as host PIDs (ctr task
		// ps, Docker's top, Kubernetes' metrics all use them).
		c := c.with(t)
		const id = "e2e-ps"
		if !c.expect("ctr run -d", c.ctr("", c.runArgs("-d", img, id, "sleep", "1000")...), 0, nil) {
			return
		}
		defer c.remove(id)
		_, pid := c.task(id)
		r := c.ctr("", "task", "ps", id)
		if !c.expect("ctr task ps", r, 0, nil) {
			return
		}
		checkHostPIDs(t, "ctr task ps", r.stdout, 0, pid)
	})
}

// testMagawaShim checks what only magawa's shim does: it is the process
// containerd started for the task, its metrics are the sandbox's, and a
// sandbox or shim that dies is reported and cleaned up.
func testMagawaShim(t *testing.T, c *ctr) {
	img := imageName
	t.Run("shim_process", func(t *testing.T) {
		c := c.with(t)
		const id = "e2e-shimproc"
		if !c.expect("ctr run -d", c.ctr("", c.runArgs("-d", img, id, "sleep", "1000")...), 0, nil) {
			return
		}
		defer c.remove(id)
		_, pid := c.task(id)
		shim := parentOf(pid)
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", shim)); filepath.Base(exe) != "containerd-shim-magawa-v1" {
			t.Errorf("the sandbox process %d's parent %d is %q, want containerd-shim-magawa-v1", pid, shim, exe)
		}
	})
	t.Run("tty_size", func(t *testing.T) {
		// ctr run -t gives the task its terminal's size (ResizePty)
		// once the task has started (runTTY's pty is 24x80): the
		// container waits for it, shows it, and ends at a keystroke,
		// so its output is read while ctr still runs. (busybox's stty
		// size prints nothing and exits 0 while the size is 0x0: a
		// loaded machine runs it before ctr resizes.)
		c := c.with(t)
		const script = `while :; do s=$(stty size 2>/dev/null); case "$s" in ""|"0 0") sleep 0.05;; *) break;; esac; done; echo "size $s"; read x`
		r := c.runTTY("size 24 80", "\r", c.bin, c.args(c.runArgs("--rm", "-t", img, "e2e-ttysize", "sh", "-c", script)...)...)
		if r.err != nil || r.code != 0 || !strings.Contains(r.stdout, "size 24 80") {
			t.Errorf("ctr run -t: exit %d, %v, the terminal shows %q; want the size 24 80", r.code, r.err, r.stdout)
		}
	})
	t.Run("kill_exec", func(t *testing.T) {
		c := c.with(t)
		const id = "e2e-killexec"
		if !c.expect("ctr run -d", c.ctr("", c.runArgs("-d", img, id, "sleep", "1000")...), 0, nil) {
			return
		}
		defer c.remove(id)
		checkKillExec(t, c, id)
	})
	t.Run("metrics", func(t *testing.T) {
		c := c.with(t)
		const id = "e2e-metrics"
		if !c.expect("ctr run -d", c.ctr("", c.runArgs("-d", img, id, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000")...), 0, nil) {
			return
		}
		defer c.remove(id)
		time.Sleep(time.Second)
		r := c.ctr("", "task", "metrics", id)
		if !c.expect("ctr task metrics", r, 0, nil) {
			return
		}
		values := map[string]uint64{}
		for _, l := range strings.Split(r.stdout, "\n") {
			if f := strings.Fields(l); len(f) == 2 {
				values[f[0]], _ = strconv.ParseUint(f[1], 10, 64)
			}
		}
		for _, m := range []string{"memory.usage_in_bytes", "cpuacct.usage", "pids.current"} {
			if values[m] == 0 {
				t.Errorf("ctr task metrics: %s is zero or missing:\n%s", m, r.stdout)
			}
		}
	})
	t.Run("oom", func(t *testing.T) {
		// The sandbox outgrows its memory limit: the host's OOM killer
		// ends it, and the shim tells containerd (a TaskOOM event, the
		// CRI's OOMKilled).
		c := c.with(t)
		const id = "e2e-oom"
		events := exec.Command(c.bin, c.args("events")...)
		var out lockedBuffer
		events.Stdout = &out
		if err := events.Start(); err != nil {
			t.Fatal(err)
		}
		defer events.Process.Kill()
		r := c.ctr("", c.runArgs("--rm", "--memory-limit", strconv.Itoa(64<<20), img, id, "sh", "-c", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=256; echo survived")...)
		if r.code == 0 || strings.Contains(r.stdout, "survived") {
			t.Errorf("a container writing 256 MiB to memory under a 64 MiB limit: exit %d, %q; want it killed", r.code, r.stdout)
		}
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "/tasks/oom"); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("no /tasks/oom event from ctr events:\n%s", out.String())
				break
			}
		}
	})
	t.Run("sandbox_dies", func(t *testing.T) {
		// A sandbox killed from the host is the task's exit: ctr run
		// returns 137, as for a container SIGKILLed under runc.
		c := c.with(t)
		const id = "e2e-sbdies"
		done := make(chan result, 1)
		go func() { done <- c.ctr("", c.runArgs("--rm", img, id, "sleep", "1000")...) }()
		pid := 0
		for deadline := time.Now().Add(20 * time.Second); pid == 0 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			if st, p := c.task(id); st == "RUNNING" {
				pid = p
			}
		}
		if pid == 0 {
			t.Fatalf("the task never ran")
		}
		syscall.Kill(pid, syscall.SIGKILL)
		select {
		case r := <-done:
			c.expect("ctr run of a sandbox killed by SIGKILL", r, 137, str(""))
		case <-time.After(cmdTimeout):
			t.Errorf("ctr run did not return after its sandbox was killed")
			c.remove(id)
		}
		c.checkGone(c.roots[len(c.roots)-1], id)
	})
	t.Run("shim_dies", func(t *testing.T) {
		// containerd sees the shim's connection close, reports the task
		// as ended and runs the shim's delete action, which removes the
		// sandbox.
		c := c.with(t)
		const id = "e2e-shimdies"
		if !c.expect("ctr run -d", c.ctr("", c.runArgs("-d", img, id, "sleep", "1000")...), 0, nil) {
			return
		}
		defer c.remove(id)
		_, pid := c.task(id)
		syscall.Kill(parentOf(pid), syscall.SIGKILL)
		deadline := time.Now().Add(20 * time.Second)
		for alive := true; alive && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			alive = syscall.Kill(pid, 0) == nil && !isZombie(pid)
		}
		if syscall.Kill(pid, 0) == nil && !isZombie(pid) {
			t.Errorf("the sandbox process %d outlived its shim", pid)
		}
		c.ctr("", "task", "delete", id)
		c.expect("ctr container delete", c.ctr("", "container", "delete", id), 0, nil)
		c.checkGone(c.roots[len(c.roots)-1], id)
	})
}

// testMagawaShimVM runs a container in a micro-VM through the shim: the
// runtime options file (ctr run --runtime-config-path, as the CRI
// plugin's ConfigPath) gives the guest image, the annotation picks the
// VM sandbox.
func testMagawaShimVM(t *testing.T, c *ctr) {
	img := testenv.NeedVM(t)
	c = c.with(t)
	options := filepath.Join(c.dir, "magawa-vm.toml")
	body := fmt.Sprintf("[magawa]\nvm-kernel = %q\nvm-initrd = %q\n", img.Kernel, img.Initramfs)
	if err := os.WriteFile(options, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	const id = "e2e-vm"
	run := c.runArgs("-d", "--runtime-config-path", options, "--annotation", "magawa.dev/sandbox=vm", imageName, id, "sleep", "1000")
	if !c.expect("ctr run -d (VM)", c.ctr("", run...), 0, nil) {
		return
	}
	defer c.remove(id)
	_, pid := c.task(id)
	// QEMU is a child of one of the supervisor's threads.
	qemu := false
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, task := range tasks {
		for _, child := range strings.Fields(readFile(task)) {
			exe, _ := os.Readlink("/proc/" + child + "/exe")
			qemu = qemu || strings.Contains(exe, "qemu-system")
		}
	}
	if !qemu {
		t.Errorf("the task's process %d has no QEMU child: not a VM sandbox", pid)
	}
	c.expect("ctr task exec in the VM", c.ctr("", "task", "exec", "--fifo-dir", c.fifo, "--exec-id", "v1", id, "sh", "-c", "echo in the guest; exit 4"), 4, str("in the guest\n"))
	checkKillExec(t, c, id)
	c.expect("ctr task kill", c.ctr("", "task", "kill", "--signal", "SIGKILL", id), 0, nil)
	c.waitStatus(id, "STOPPED")
}

// checkKillExec kills one exec'd process of a running task (ctr task
// kill --exec-id): the exec ends with the signal, the task runs on.
func checkKillExec(t *testing.T, c *ctr, id string) {
	t.Helper()
	done := make(chan result, 1)
	go func() {
		done <- c.ctr("", "task", "exec", "--fifo-dir", c.fifo, "--exec-id", "victim", id, "sh", "-c", "echo started; exec sleep 1000")
	}()
	killed := false
	for deadline := time.Now().Add(30 * time.Second); !killed && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		killed = c.ctr("", "task", "kill", "--exec-id", "victim", "--signal", "SIGTERM", id).code == 0
	}
	if !killed {
		t.Errorf("ctr task kill --exec-id never succeeded")
		return
	}
	select {
	case r := <-done:
		c.expect("the exec'd process killed with SIGTERM", r, 143, str("started\n"))
	case <-time.After(cmdTimeout):
		t.Errorf("ctr task exec did not return after its process was killed")
	}
	if st, _ := c.task(id); st != "RUNNING" {
		t.Errorf("after killing an exec'd process the task is %q, want RUNNING", st)
	}
}

// lockedBuffer collects a command's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// checkHostPIDs checks that every PID in column col of a ps-like table
// (header first) is the container's host process root or a descendant.
func checkHostPIDs(t *testing.T, what, table string, col, root int) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) < 2 {
		t.Errorf("%s: no processes listed: %q", what, table)
		return
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil {
			t.Errorf("%s: not a PID in %q", what, l)
			continue
		}
		if !isSelfOrDescendant(pid, root) {
			t.Errorf("%s lists PID %d, which is not the container's (host PID %d) nor one of its descendants: the runtime's `ps --format json` must answer host PIDs\n  host's PID %d is: %s\n%s", what, pid, root, pid, describeProcess(pid), table)
		}
	}
}

func (c *ctr) with(t *testing.T) *ctr {
	q := *c
	q.env = c.env.sub(t)
	return &q
}

// ctr runs `ctr --address SOCK --namespace NS args...`.
func (c *ctr) ctr(stdin string, args ...string) result {
	c.t.Helper()
	return c.run(stdin, c.bin, c.args(args...)...)
}

func (c *ctr) args(args ...string) []string {
	return append([]string{"--address", c.cd.sock, "--namespace", c.ns}, args...)
}

// runArgs are `run RUNTIME-FLAGS args...`.
func (c *ctr) runArgs(args ...string) []string {
	return append(append([]string{"run"}, c.runFlags...), args...)
}

// task returns a task's status and host PID from `ctr task ls`.
func (c *ctr) task(id string) (status string, pid int) {
	r := c.ctr("", "task", "ls")
	for _, l := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == id {
			pid, _ = strconv.Atoi(f[1])
			return f[2], pid
		}
	}
	return "", 0
}

func (c *ctr) waitStatus(id, want string) {
	c.t.Helper()
	var st string
	for i := 0; i < 100; i++ {
		if st, _ = c.task(id); st == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Errorf("task %s: want status %s, got %q", id, want, st)
}

// remove kills and deletes a task and its container, quietly.
func (c *ctr) remove(id string) {
	c.ctr("", "task", "kill", "--signal", "SIGKILL", id)
	for i := 0; i < 50; i++ {
		if st, _ := c.task(id); st == "" || st == "STOPPED" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.ctr("", "task", "delete", "--force", id)
	c.ctr("", "container", "delete", id)
}

// removeAll removes every task and container of the namespace.
func (c *ctr) removeAll() {
	r := c.ctr("", "container", "ls", "--quiet")
	for _, id := range strings.Fields(r.stdout) {
		c.remove(id)
	}
}
