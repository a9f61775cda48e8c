package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ttyScript is the container's program of the -it checks: it shows its
// terminal, waits for a line typed at the client's terminal, and exits
// with a status of its own.
const ttyScript = `tty; echo ready; read x; echo "got $x"; exit 5`

var ptsLine = regexp.MustCompile(`(?m)^/dev/pts/[0-9]+$`)

// checkTTY checks a runTTY result of ttyScript.
func (e *env) checkTTY(what string, r result, wantCode int) {
	e.t.Helper()
	if r.err != nil || r.code != wantCode || !ptsLine.MatchString(r.stdout) ||
		(strings.Contains(what, "typed") && !strings.Contains(r.stdout, "got hello\n")) {
		e.t.Errorf("%s: want exit %d, a /dev/pts/N line and (when typed) \"got hello\" on the terminal, got %v", what, wantCode, r)
	}
}

// podman is a podman with private storage, run and tmp directories and
// its own containers.conf, running magawa (through the wrapper) as its
// OCI runtime.
type podman struct {
	*env
	bin    string
	global []string // global flags before the command
	image  string
}

// The settings podman needs here, with every runtime (runc included):
// cgroupfs (no systemd), events in a file (no journald), ulimits no
// higher than the host's hard limits (runc fails to set a higher one),
// and no network (no CNI bridge or iptables rules on the host). The
// default sysctl (Debian's /usr/share/containers/containers.conf sets
// net.ipv4.ping_group_range) is left out: magawa rejects it, see the
// default_sysctls subtest.
const podmanConf = `[containers]
netns = "none"
default_sysctls = []
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "%DIR%/events.log"
tmp_dir = "%DIR%/libpod"

[engine.runtimes]
magawa = ["%WRAPPER%"]

[network]
network_config_dir = "%DIR%/networks"
`

func newPodman(t *testing.T) *podman {
	t.Helper()
	return newPodmanOf(t, "podman")
}

// newPodmanOf is newPodman in the private directory name, with magawa
// run with magawaFlags.
func newPodmanOf(t *testing.T, name string, magawaFlags ...string) *podman {
	t.Helper()
	wantClient(t, "podman")
	bin, ok := lookPath("podman", "/usr/bin")
	if !ok {
		notInstalled(t, "podman", "podman")
	}
	e := newEnv(t, name, magawaFlags...)
	image := busyboxImage(t)
	// Whatever the flags, podman load keeps containers/image's blob
	// cache in /var/lib/containers/cache when run as root.
	made := e.noteCreated("/var/lib/containers", "/var/lib/containers/cache", "/var/lib/containers/cache/blob-info-cache-v1.boltdb")
	t.Cleanup(made.removeIfEmpty)
	dir := e.dir
	conf := strings.NewReplacer("%DIR%", dir, "%WRAPPER%", e.wrapper).Replace(podmanConf)
	storage := "[storage]\ndriver = \"vfs\"\nrunroot = \"" + dir + "/runroot\"\ngraphroot = \"" + dir + "/root\"\n"
	for name, data := range map[string]string{"containers.conf": conf, "storage.conf": storage, "registries.conf": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.env = append(e.env,
		"CONTAINERS_CONF="+filepath.Join(dir, "containers.conf"),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(dir, "storage.conf"),
		"CONTAINERS_REGISTRIES_CONF="+filepath.Join(dir, "registries.conf"),
	)
	p := &podman{
		env: e,
		bin: bin,
		global: []string{
			"--root", dir + "/root", "--runroot", dir + "/runroot", "--tmpdir", dir + "/libpod",
			"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
			"--runtime", e.wrapper,
		},
		image: imageName,
	}
	t.Cleanup(func() {
		// Remove every container (stopping it at once), then the
		// storage's mounts go with the directory (env.cleanup).
		p.run("", p.bin, append(p.global, "rm", "--all", "--force", "--time", "0")...)
	})
	if r := p.podman("", "version"); r.err != nil || r.code != 0 {
		skip(t, "podman cannot start here: %v", r)
	}
	if r := p.podman("", "load", "--input", image); r.err != nil || r.code != 0 {
		t.Fatalf("podman load: %v", r)
	}
	return p
}

// podman runs `podman GLOBAL-FLAGS args...`.
func (p *podman) podman(stdin string, args ...string) result {
	p.t.Helper()
	return p.run(stdin, p.bin, append(append([]string{}, p.global...), args...)...)
}

func (p *podman) args(args ...string) []string {
	return append(append([]string{}, p.global...), args...)
}

func TestPodman(t *testing.T) {
	p := newPodman(t)
	img := p.image

	t.Run("run_echo", func(t *testing.T) {
		p := p.with(t)
		p.expect("podman run --rm IMAGE echo hi", p.podman("", "run", "--rm", img, "echo", "hi"), 0, str("hi\n"))
	})
	t.Run("exit_status", func(t *testing.T) {
		p := p.with(t)
		p.expect("exit 3", p.podman("", "run", "--rm", img, "sh", "-c", "exit 3"), 3, str(""))
	})
	t.Run("env", func(t *testing.T) {
		p := p.with(t)
		p.expect("-e VAR=x", p.podman("", "run", "--rm", "-e", "VAR=x", img, "sh", "-c", `echo "$VAR"`), 0, str("x\n"))
	})
	t.Run("volume", func(t *testing.T) {
		p := p.with(t)
		vol := filepath.Join(p.dir, "volume")
		os.MkdirAll(vol, 0o755)
		os.WriteFile(filepath.Join(vol, "in"), []byte("from the host\n"), 0o644)
		p.expect("-v HOST:/data", p.podman("", "run", "--rm", "-v", vol+":/data", img, "sh", "-c", "cat /data/in && echo written >/data/out"), 0, str("from the host\n"))
		if b, err := os.ReadFile(filepath.Join(vol, "out")); err != nil || string(b) != "written\n" {
			t.Errorf("the container's write to the volume: want %q on the host, got %q (%v)", "written\n", b, err)
		}
	})
	t.Run("user", func(t *testing.T) {
		p := p.with(t)
		p.expect("--user 1000:1000", p.podman("", "run", "--rm", "--user", "1000:1000", img, "sh", "-c", "id -u; id -g; touch /tmp/f && stat -c %u:%g /tmp/f"), 0, str("1000\n1000\n1000:1000\n"))
	})
	t.Run("uidmap", func(t *testing.T) {
		// podman chowns its copy of the image to the mapped IDs; inside,
		// the files are root's again, and what the container writes to a
		// volume belongs to the mapped host user.
		p := p.with(t)
		vol := filepath.Join(p.dir, "uidmap-volume")
		os.MkdirAll(vol, 0o777)
		os.Chmod(vol, 0o777)
		p.expect("--uidmap 0:100000:65536", p.podman("", "run", "--rm", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536", "-v", vol+":/data", img,
			"sh", "-c", "cat /proc/self/uid_map; stat -c %u:%g /bin/busybox; echo x >/data/out; id -u"), 0,
			str("         0     100000      65536\n0:0\n0\n"))
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(vol, "out"), &st); err != nil || st.Uid != 100000 || st.Gid != 100000 {
			t.Errorf("the container root's file in the volume: owner %d:%d (%v), want 100000:100000 on the host", st.Uid, st.Gid, err)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		p := p.with(t)
		p.expect("-i with stdin", p.podman("hello\n", "run", "--rm", "-i", img, "tr", "a-z", "A-Z"), 0, str("HELLO\n"))
	})
	t.Run("tty", func(t *testing.T) {
		p := p.with(t)
		r := p.runTTY("ready", "hello\r", p.bin, p.args("run", "--rm", "-it", img, "sh", "-c", ttyScript)...)
		p.checkTTY("podman run -it (typed)", r, 5)
	})
	t.Run("exec", func(t *testing.T) {
		p := p.with(t)
		const name = "e2e-exec"
		if !p.expect("podman run -d", p.podman("", "run", "-d", "--name", name, img, "sleep", "1000"), 0, nil) {
			return
		}
		p.expect("podman exec echo hi", p.podman("", "exec", name, "echo", "hi"), 0, str("hi\n"))
		p.expect("podman exec exit 7", p.podman("", "exec", name, "sh", "-c", "exit 7"), 7, str(""))
		p.expect("podman exec -e --user -w", p.podman("", "exec", "-e", "VAR=y", "--user", "1000", "-w", "/tmp", name, "sh", "-c", `echo "$VAR"; id -u; pwd`), 0, str("y\n1000\n/tmp\n"))
		p.expect("podman exec -i", p.podman("abc\n", "exec", "-i", name, "tr", "a-z", "A-Z"), 0, str("ABC\n"))
		r := p.runTTY("ready", "hello\r", p.bin, p.args("exec", "-it", name, "sh", "-c", ttyScript)...)
		p.checkTTY("podman exec -it (typed)", r, 5)
		p.expect("podman stop", p.podman("", "stop", "--time", "2", name), 0, str(name+"\n"))
		p.expect("podman rm", p.podman("", "rm", name), 0, str(name+"\n"))
		p.expect("podman ps -a after rm", p.podman("", "ps", "--all", "--quiet"), 0, str(""))
		p.checkNoContainersLeft(p.state)
	})
	t.Run("stop_signal", func(t *testing.T) {
		// podman stop sends SIGTERM through `magawa kill`: the
		// container's handler runs and its status is the container's.
		p := p.with(t)
		const name = "e2e-stop"
		script := `trap 'echo got TERM; exit 0' TERM; echo started; while :; do sleep 0.1; done`
		if !p.expect("podman run -d", p.podman("", "run", "-d", "--name", name, img, "sh", "-c", script), 0, nil) {
			return
		}
		defer p.podman("", "rm", "--force", "--time", "0", name)
		waitLog(p.env, func() result { return p.podman("", "logs", name) }, "started")
		start := time.Now()
		p.expect("podman stop", p.podman("", "stop", "--time", "20", name), 0, str(name+"\n"))
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("podman stop took %v: SIGTERM did not reach the container's handler", d)
		}
		p.expect("exit code after SIGTERM", p.podman("", "inspect", "--format", "{{.State.ExitCode}}", name), 0, str("0\n"))
		p.expect("logs", p.podman("", "logs", name), 0, str("started\ngot TERM\n"))
	})
	t.Run("pause", func(t *testing.T) {
		p := p.with(t)
		const name = "e2e-pause"
		if !p.expect("podman run -d", p.podman("", "run", "-d", "--name", name, img, "sleep", "1000"), 0, nil) {
			return
		}
		defer p.podman("", "rm", "--force", "--time", "0", name)
		p.expect("podman pause", p.podman("", "pause", name), 0, nil)
		p.expect("status paused", p.podman("", "inspect", "--format", "{{.State.Status}}", name), 0, str("paused\n"))
		p.expect("podman unpause", p.podman("", "unpause", name), 0, nil)
		p.expect("exec after unpause", p.podman("", "exec", name, "echo", "alive"), 0, str("alive\n"))
	})
	t.Run("pids_limit", func(t *testing.T) {
		// --pids-limit bounds the container's processes: 40 of them fit
		// in 50 (they do with runc).
		p := p.with(t)
		script := `n=0; for i in $(seq 40); do sleep 2 & n=$((n+1)); done; echo started $n; wait; echo done`
		p.expect("--pids-limit 50 with 40 processes", p.podman("", "run", "--rm", "--pids-limit", "50", img, "sh", "-c", script), 0, str("started 40\ndone\n"))
	})
	t.Run("runtime_by_name", func(t *testing.T) {
		// containers.conf's [engine.runtimes] names the runtime.
		p := p.with(t)
		before := len(p.invocations())
		global := append([]string{}, p.global[:len(p.global)-2]...)
		r := p.run("", p.bin, append(global, "--runtime", "magawa", "run", "--rm", img, "echo", "by name")...)
		p.expect("podman --runtime magawa (containers.conf)", r, 0, str("by name\n"))
		if after := len(p.invocations()); after == before {
			t.Errorf("podman --runtime magawa did not run the runtime of containers.conf's [engine.runtimes]")
		}
	})
	t.Run("info", func(t *testing.T) {
		// podman info asks the runtime for `--version` (runc prints
		// "runc version X\ncommit: ...\nspec: 1.0.2-dev").
		p := p.with(t)
		p.expect("podman info", p.podman("", "info", "--format", "{{.Host.OCIRuntime.Path}}"), 0, str(p.wrapper+"\n"))
	})
	t.Run("default_sysctls", func(t *testing.T) {
		// Debian's containers.conf gives every container
		// net.ipv4.ping_group_range; the sandbox has its own network
		// namespace, so this must work as it does with runc.
		p := p.with(t)
		p.expect("--sysctl net.ipv4.ping_group_range (podman's default)", p.podman("", "run", "--rm", "--sysctl", "net.ipv4.ping_group_range=0 0", img, "echo", "hi"), 0, str("hi\n"))
	})
	t.Run("port_forward", func(t *testing.T) {
		// podman's default network (a CNI bridge, a veth into the
		// container's namespace, iptables rules for -p): the sandbox
		// takes the veth over and its own stack serves the port.
		p := p.with(t)
		const name = "e2e-port"
		port := freePort(t)
		script := `mkdir -p /tmp/www && echo served by the sandbox > /tmp/www/index.html && echo started && exec httpd -f -p 8080 -h /tmp/www`
		if !p.expect("podman run -d --network bridge -p", p.podman("", "run", "-d", "--name", name, "--network", "bridge", "-p", "127.0.0.1:"+port+":8080", img, "sh", "-c", script), 0, nil) {
			return
		}
		defer p.podman("", "rm", "--force", "--time", "0", name)
		waitLog(p.env, func() result { return p.podman("", "logs", name) }, "started")
		body, err := httpGetRetry("http://127.0.0.1:" + port + "/index.html")
		if err != nil || body != "served by the sandbox\n" {
			t.Errorf("GET through podman's port forward: %q, %v", body, err)
		}
	})
}

// freePort returns a TCP port that was free on the host a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// httpGetRetry fetches url, retrying for a while as a server starts.
func httpGetRetry(url string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b), err
		}
		if time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// with returns the podman for a subtest: same state, the subtest's t.
func (p *podman) with(t *testing.T) *podman {
	q := *p
	q.env = p.env.sub(t)
	return &q
}

// waitLog waits (10 s at most) until a container's log shows want.
func waitLog(e *env, logs func() result, want string) {
	e.t.Helper()
	for i := 0; i < 100; i++ {
		if strings.Contains(logs().stdout, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Errorf("the container's log never showed %q", want)
}
