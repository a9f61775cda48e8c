package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docker is a Docker client talking to a dockerd with private data and
// exec roots, socket and configuration, which uses a private containerd
// (not one of its own, whose opt directory is /opt/containerd). magawa
// (through the wrapper) is registered twice: as "magawa" in daemon.json,
// with runtimeArgs, and as "magawa-flag" with --add-runtime.
type docker struct {
	*env
	bin string
	// runFlags are docker run's: the runtime, and the host network (see
	// TestDocker).
	runFlags []string
}

func TestDocker(t *testing.T) {
	wantClient(t, "docker")
	dockerd, ok := lookPath("dockerd", "/usr/sbin", "/usr/bin")
	if !ok {
		notInstalled(t, "dockerd", "docker.io")
	}
	// The client of the docker.io package first: it matches the daemon.
	client, ok := lookPath("docker", "/usr/bin")
	if !ok {
		notInstalled(t, "the docker client", "docker.io")
	}
	cdBin, ok := lookPath("containerd", "/usr/bin")
	if !ok {
		notInstalled(t, "containerd (dockerd's)", "containerd")
	}
	ctrBin, ok := lookPath("ctr", "/usr/bin")
	if !ok {
		notInstalled(t, "ctr (containerd's client)", "containerd")
	}
	e := newEnv(t, "docker")
	image := busyboxImage(t)
	// dockerd 20.10 keeps its trust key in /etc/docker/key.json and
	// makes /run/docker/plugins whatever its flags say.
	made := e.noteCreated("/etc/docker", "/etc/docker/key.json", "/run/docker", "/run/docker/plugins",
		"/run/containerd", "/run/containerd/s", "/run/containerd/fifo")
	t.Cleanup(made.removeIfEmpty)
	cd := startContainerd(e, cdBin, ctrBin, filepath.Join(e.dir, "containerd"))

	dir := e.dir
	sock := filepath.Join(dir, "docker.sock")
	daemonJSON, _ := json.MarshalIndent(map[string]any{
		"runtimes": map[string]any{
			"magawa": map[string]any{"path": e.wrapper, "runtimeArgs": []string{"--platform=ptrace"}},
		},
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), daemonJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := e.startDaemon("dockerd", dockerd,
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"--host", "unix://"+sock,
		"--containerd", cd.sock,
		"--iptables=false", "--ip6tables=false", "--bridge=none", "--userland-proxy=false",
		"--storage-driver", "vfs",
		"--add-runtime", "magawa-flag="+e.wrapper,
	)
	if err != nil {
		skip(t, "dockerd cannot start: %v", err)
	}
	t.Cleanup(func() { d.stop(t, 30*time.Second) })
	// The runc shim gets exec-root/runtime-NAME/moby as runc's root.
	e.roots = append(e.roots, filepath.Join(dir, "exec", "runtime-runc", "moby"),
		filepath.Join(dir, "exec", "runtime-magawa", "moby"), filepath.Join(dir, "exec", "runtime-magawa-flag", "moby"))
	e.env = append(e.env, "DOCKER_HOST=unix://"+sock, "DOCKER_CONFIG="+filepath.Join(dir, "docker-config"))
	k := &docker{env: e, bin: client}
	err = d.waitFor(60*time.Second, func() bool {
		if _, err := os.Stat(sock); err != nil {
			return false
		}
		r := e.run("", client, "version")
		return r.err == nil && r.code == 0
	})
	if err != nil {
		skip(t, "dockerd cannot start: %v\n%s", err, d.tail())
	}
	t.Cleanup(func() {
		r := k.docker("", "ps", "--all", "--quiet")
		if ids := strings.Fields(r.stdout); len(ids) > 0 {
			k.docker("", append([]string{"rm", "--force"}, ids...)...)
		}
	})
	if r := k.docker("", "load", "--input", image); r.err != nil || r.code != 0 {
		t.Fatalf("docker load: %v", r)
	}
	img := imageName
	// Docker (20.10 and later) gives a container with a network
	// namespace of its own the sysctls net.ipv4.ip_unprivileged_port_start
	// and net.ipv4.ping_group_range, which magawa rejects (see the
	// default_network subtest); the host network has none. magawa's
	// sandbox has its own (empty) network either way.
	k.runFlags = []string{"--runtime", "magawa", "--network", "host"}

	t.Run("run_echo", func(t *testing.T) {
		k := k.with(t)
		k.expect("docker run --rm --runtime magawa IMAGE echo hi", k.docker("", k.runArgs("--rm", img, "echo", "hi")...), 0, str("hi\n"))
	})
	t.Run("exit_status", func(t *testing.T) {
		k := k.with(t)
		k.expect("exit 3", k.docker("", k.runArgs("--rm", img, "sh", "-c", "exit 3")...), 3, str(""))
	})
	t.Run("env", func(t *testing.T) {
		k := k.with(t)
		k.expect("-e VAR=x", k.docker("", k.runArgs("--rm", "-e", "VAR=x", img, "sh", "-c", `echo "$VAR"`)...), 0, str("x\n"))
	})
	t.Run("volume", func(t *testing.T) {
		k := k.with(t)
		vol := filepath.Join(k.dir, "volume")
		os.MkdirAll(vol, 0o755)
		os.WriteFile(filepath.Join(vol, "in"), []byte("from the host\n"), 0o644)
		k.expect("-v HOST:/data", k.docker("", k.runArgs("--rm", "-v", vol+":/data", img, "sh", "-c", "cat /data/in && echo written >/data/out")...), 0, str("from the host\n"))
		if b, err := os.ReadFile(filepath.Join(vol, "out")); err != nil || string(b) != "written\n" {
			t.Errorf("the container's write to the volume: want %q on the host, got %q (%v)", "written\n", b, err)
		}
	})
	t.Run("user", func(t *testing.T) {
		k := k.with(t)
		k.expect("--user 1000:1000", k.docker("", k.runArgs("--rm", "--user", "1000:1000", img, "sh", "-c", "id -u; id -g; touch /tmp/f && stat -c %u:%g /tmp/f")...), 0, str("1000\n1000\n1000:1000\n"))
	})
	t.Run("stdin", func(t *testing.T) {
		k := k.with(t)
		k.expect("-i with stdin", k.docker("hello\n", k.runArgs("--rm", "-i", img, "tr", "a-z", "A-Z")...), 0, str("HELLO\n"))
	})
	t.Run("tty", func(t *testing.T) {
		k := k.with(t)
		r := k.runTTY("ready", "hello\r", k.bin, k.runArgs("--rm", "-it", img, "sh", "-c", ttyScript)...)
		k.checkTTY("docker run -it (typed)", r, 5)
	})
	t.Run("exec", func(t *testing.T) {
		k := k.with(t)
		const name = "e2e-exec"
		r := k.docker("", k.runArgs("-d", "--name", name, img, "sleep", "1000")...)
		if !k.expect("docker run -d", r, 0, nil) {
			return
		}
		id := strings.TrimSpace(r.stdout)
		defer k.docker("", "rm", "--force", name)
		k.expect("docker exec echo hi", k.docker("", "exec", name, "echo", "hi"), 0, str("hi\n"))
		k.expect("docker exec exit 7", k.docker("", "exec", name, "sh", "-c", "exit 7"), 7, str(""))
		k.expect("docker exec -e -u -w", k.docker("", "exec", "-e", "VAR=y", "-u", "1000", "-w", "/tmp", name, "sh", "-c", `echo "$VAR"; id -u; pwd`), 0, str("y\n1000\n/tmp\n"))
		k.expect("docker exec -i", k.docker("abc\n", "exec", "-i", name, "tr", "a-z", "A-Z"), 0, str("ABC\n"))
		r = k.runTTY("ready", "hello\r", k.bin, "exec", "-it", name, "sh", "-c", ttyScript)
		k.checkTTY("docker exec -it (typed)", r, 5)
		k.expect("docker stop", k.docker("", "stop", "--time", "2", name), 0, str(name+"\n"))
		k.expect("docker rm", k.docker("", "rm", name), 0, str(name+"\n"))
		k.expect("docker ps -a after rm", k.docker("", "ps", "--all", "--quiet"), 0, str(""))
		for _, root := range k.roots {
			k.checkGone(root, id)
		}
	})
	t.Run("stop_signal", func(t *testing.T) {
		k := k.with(t)
		const name = "e2e-stop"
		script := `trap 'echo got TERM; exit 0' TERM; echo started; while :; do sleep 0.1; done`
		if !k.expect("docker run -d", k.docker("", k.runArgs("-d", "--name", name, img, "sh", "-c", script)...), 0, nil) {
			return
		}
		defer k.docker("", "rm", "--force", name)
		waitLog(k.env, func() result { return k.docker("", "logs", name) }, "started")
		start := time.Now()
		k.expect("docker stop", k.docker("", "stop", "--time", "20", name), 0, str(name+"\n"))
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("docker stop took %v: SIGTERM did not reach the container's handler", d)
		}
		k.expect("exit code after SIGTERM", k.docker("", "inspect", "--format", "{{.State.ExitCode}}", name), 0, str("0\n"))
		k.expect("logs", k.docker("", "logs", name), 0, str("started\ngot TERM\n"))
	})
	t.Run("pause", func(t *testing.T) {
		k := k.with(t)
		const name = "e2e-pause"
		if !k.expect("docker run -d", k.docker("", k.runArgs("-d", "--name", name, img, "sleep", "1000")...), 0, nil) {
			return
		}
		defer k.docker("", "rm", "--force", name)
		k.expect("docker pause", k.docker("", "pause", name), 0, nil)
		k.expect("status paused", k.docker("", "inspect", "--format", "{{.State.Status}}", name), 0, str("paused\n"))
		k.expect("docker unpause", k.docker("", "unpause", name), 0, nil)
		k.expect("exec after unpause", k.docker("", "exec", name, "echo", "alive"), 0, str("alive\n"))
	})
	t.Run("resources", func(t *testing.T) {
		// --memory and docker update reach the sandbox's cgroup, which
		// docker stats reads.
		k := k.with(t)
		const name = "e2e-res"
		if !k.expect("docker run -d --memory 64m", k.docker("", k.runArgs("-d", "--name", name, "--memory", "64m", img, "sleep", "1000")...), 0, nil) {
			return
		}
		defer k.docker("", "rm", "--force", name)
		if r := k.docker("", "stats", "--no-stream", "--format", "{{.MemUsage}}", name); r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "/ 64MiB") {
			t.Errorf("docker stats after --memory 64m: want a usage of \"... / 64MiB\", got %v", r)
		}
		k.expect("docker update --memory 128m", k.docker("", "update", "--memory", "128m", "--memory-swap", "256m", name), 0, str(name+"\n"))
		if r := k.docker("", "stats", "--no-stream", "--format", "{{.MemUsage}}", name); r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "/ 128MiB") {
			t.Errorf("docker stats after docker update --memory 128m: want a usage of \"... / 128MiB\", got %v", r)
		}
	})
	t.Run("sysctl_ipc", func(t *testing.T) {
		// An IPC namespace sysctl Docker allows (runc sets it).
		k := k.with(t)
		k.expect("--sysctl kernel.msgmax=65536", k.docker("", k.runArgs("--rm", "--sysctl", "kernel.msgmax=65536", img, "cat", "/proc/sys/kernel/msgmax")...), 0, str("65536\n"))
	})
	t.Run("device", func(t *testing.T) {
		// linux.devices: runc makes the node at the container's path.
		k := k.with(t)
		k.expect("--device /dev/null:/dev/mynull", k.docker("", k.runArgs("--rm", "--device", "/dev/null:/dev/mynull", img, "sh", "-c", "echo x >/dev/mynull && stat -c %F:%t,%T /dev/mynull")...), 0, str("character special file:1,3\n"))
	})
	t.Run("runtime_args", func(t *testing.T) {
		// daemon.json's runtimeArgs come before magawa's verb.
		k := k.with(t)
		before := len(k.invocations())
		k.expect("docker run (daemon.json runtime)", k.docker("", k.runArgs("--rm", img, "true")...), 0, str(""))
		inv := k.invocations()
		found := false
		for _, a := range inv[min(before, len(inv)):] {
			if strings.Contains(a, " create ") && strings.Contains(a, "--platform=ptrace") {
				found = true
			}
		}
		if !found {
			t.Errorf("no create with daemon.json's runtimeArgs --platform=ptrace among: %q", inv[min(before, len(inv)):])
		}
	})
	t.Run("add_runtime_flag", func(t *testing.T) {
		k := k.with(t)
		k.expect("docker run --runtime magawa-flag (dockerd --add-runtime)", k.docker("", "run", "--rm", "--runtime", "magawa-flag", "--network", "host", img, "echo", "hi"), 0, str("hi\n"))
	})
	t.Run("top", func(t *testing.T) {
		// docker top runs the host's ps over the PIDs the runtime's
		// `ps --format json` gave containerd's shim.
		k := k.with(t)
		const name = "e2e-top"
		if !k.expect("docker run -d", k.docker("", k.runArgs("-d", "--name", name, img, "sleep", "1000")...), 0, nil) {
			return
		}
		defer k.docker("", "rm", "--force", name)
		r := k.docker("", "inspect", "--format", "{{.State.Pid}}", name)
		pid, _ := strconv.Atoi(strings.TrimSpace(r.stdout))
		r = k.docker("", "top", name, "-o", "pid,args")
		if !k.expect("docker top", r, 0, nil) {
			return
		}
		checkHostPIDs(t, "docker top", r.stdout, 0, pid)
	})
	t.Run("default_network", func(t *testing.T) {
		// Without --network host: Docker adds its default sysctls.
		k := k.with(t)
		k.expect("docker run --runtime magawa (default network)", k.docker("", "run", "--rm", "--runtime", "magawa", img, "echo", "hi"), 0, str("hi\n"))
	})
}

func (k *docker) with(t *testing.T) *docker {
	q := *k
	q.env = k.env.sub(t)
	return &q
}

func (k *docker) docker(stdin string, args ...string) result {
	k.t.Helper()
	return k.run(stdin, k.bin, args...)
}

// runArgs are `run RUNTIME-FLAGS args...`.
func (k *docker) runArgs(args ...string) []string {
	return append(append([]string{"run"}, k.runFlags...), args...)
}
