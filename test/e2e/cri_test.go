package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"magawa/test/testenv"
)

// criCgroupParent is the pods' cgroup parent (as the kubelet gives
// one): every container's cgroup lies below it, in each hierarchy.
const criCgroupParent = "/magawa-e2e-cri"

// TestCRI drives magawa the way Kubernetes does: crictl talks to the CRI
// plugin of a private containerd (1.6, Debian's), whose runtime handler
// `magawa` runs magawa's shim (runtime type io.containerd.magawa.v1).
// The same flows run with the handler `runc` (containerd's runc shim and
// runc), which checks the harness itself: a runc failure is the test's.
//
// Each handler's flows: a pod (runp; its address from the bridge; its
// network stack answers), a container in it (create, start, exec with
// output, status and stdin, logs, stats, reaching the host through the
// bridge, stop with SIGTERM, rm), a container that exits on its own,
// the pod's stopp and rmp, after which nothing of it may be left: no
// process, mount, state, cgroup, address or veth.
func TestCRI(t *testing.T) {
	wantClient(t, "cri")
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
	const cniBin = "/usr/lib/cni"
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join(cniBin, p)); err != nil {
			notInstalled(t, "the CNI plugin "+filepath.Join(cniBin, p), "containernetworking-plugins")
		}
	}
	requireRoot(t)
	crictlPath := crictlBin(t)

	// Run last (after the env's cleanup stopped and killed everything
	// and removed its directory): the host-wide leftovers.
	var late []func()
	t.Cleanup(func() {
		for i := len(late) - 1; i >= 0; i-- {
			late[i]()
		}
	})
	e := newEnv(t, "cri")
	busybox := busyboxImage(t)
	pause := pauseImage(t)
	shimBin := filepath.Join(filepath.Dir(e.magawa), "containerd-shim-magawa-v1")
	if err := testenv.BuildShim(shimBin); err != nil {
		t.Fatal(err)
	}
	// containerd finds the shim in its PATH; the shim runs the magawa
	// next to it.
	e.env[0] = "PATH=" + filepath.Dir(shimBin) + ":" + strings.TrimPrefix(e.env[0], "PATH=")

	var cgroupDirs []string
	for _, h := range []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified", ""} {
		cgroupDirs = append(cgroupDirs, filepath.Join("/sys/fs/cgroup", h, criCgroupParent))
	}
	hostPaths := append([]string{
		"/run/containerd", "/run/containerd/s",
		"/run/magawa-shim", "/run/magawa-shim/k8s.io",
		"/var/lib/cni", "/var/lib/cni/results",
	}, cgroupDirs...)
	created := e.noteCreated(hostPaths...)
	late = append(late, created.removeIfEmpty)
	e.roots = append(e.roots, "/run/magawa-shim/k8s.io")

	cdDir := filepath.Join(e.dir, "containerd")
	n := pickNetwork(t, cdDir)
	late = append(late, func() {
		if rules := n.iptablesRules(); len(rules) > 0 {
			t.Errorf("iptables rules of the pods' network are left:\n%s", strings.Join(rules, "\n"))
		}
		if _, err := net.InterfaceByName(n.bridge); err == nil {
			if out, err := exec.Command("ip", "link", "del", n.bridge).CombinedOutput(); err != nil {
				t.Errorf("ip link del %s: %v: %s", n.bridge, err, out)
			}
		}
	})
	cd, err := startCRIContainerd(e, cdBin, ctrBin, cdDir, cniBin, n)
	if err != nil {
		skip(t, "containerd with its CRI plugin cannot start: %v", err)
	}
	c := &crictl{env: e, bin: crictlPath, cd: cd, config: filepath.Join(e.dir, "crictl.yaml")}
	// Registered after the env's: runs before it, while containerd is
	// up: the pods go through the CRI (their shims and sandboxes with
	// them), then containerd stops, then runc's leftovers go.
	t.Cleanup(func() {
		c.removeAllPods()
		cd.d.stop(t, 20*time.Second)
		runcDeleteAll(t, cd.runcRoot)
	})
	t.Logf("crictl is %s %s", crictlPath, strings.Join(quoteArgs(c.flags()), " "))
	if err := os.WriteFile(c.config, []byte(fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 100\n", cd.sock, cd.sock)), 0o644); err != nil {
		t.Fatal(err)
	}

	// The images, without a registry: imported into the CRI plugin's
	// namespace, where it finds them by name.
	for _, img := range []string{busybox, pause} {
		if r := e.run("", ctrBin, "--address", cd.sock, "--namespace", "k8s.io", "image", "import", img); r.err != nil || r.code != 0 {
			t.Fatalf("ctr -n k8s.io image import %s: %v", img, r)
		}
	}
	if err := c.waitReady(); err != nil {
		skip(t, "containerd's CRI plugin is not ready: %v\n%s", err, cd.d.tail())
	}
	r := c.crictl("", "images", "-o", "json")
	for _, img := range []string{imageName, pauseImageName} {
		if !strings.Contains(r.stdout, `"`+img+`"`) {
			t.Fatalf("crictl images does not list %s: %v", img, r)
		}
	}

	for _, h := range []string{handlerMagawa, handlerRunc} {
		t.Run(h, func(t *testing.T) {
			c := c.with(t)
			c.handler = h
			testCRIFlows(t, c)
			t.Run("pod_localhost", func(t *testing.T) { testCRIPodLocalhost(t, c.with(t)) })
		})
	}
}

// crictl is crictl against the private containerd, with one handler.
type crictl struct {
	*env
	bin     string
	cd      *criContainerd
	config  string
	handler string
}

func (c *crictl) with(t *testing.T) *crictl {
	q := *c
	q.env = c.env.sub(t)
	return &q
}

// crictl runs crictl with the private endpoints and configuration.
func (c *crictl) crictl(stdin string, args ...string) result {
	c.t.Helper()
	all := append(c.flags(), args...)
	return c.runShown(nil, stdin, append([]string{"crictl"}, args...), c.bin, all...)
}

// flags are every command's: the private containerd's socket as both
// endpoints, a configuration file of the test's (not /etc/crictl.yaml),
// and a timeout for a loaded machine (crictl's default is 2 s).
func (c *crictl) flags() []string {
	ep := "unix://" + c.cd.sock
	return []string{"--config", c.config, "--runtime-endpoint", ep, "--image-endpoint", ep, "--timeout", "100s"}
}

// ok runs crictl and fails the test unless it exits 0; it returns its
// trimmed stdout.
func (c *crictl) ok(what string, args ...string) (string, bool) {
	c.t.Helper()
	r := c.crictl("", args...)
	if r.err != nil || r.code != 0 {
		c.t.Errorf("%s: %v", what, r)
		return "", false
	}
	return strings.TrimSpace(r.stdout), true
}

// expectExec checks a crictl exec: its output (exec -s prints the
// process's stdout and stderr, each with a newline added, to its stdout:
// trailing newlines are not compared), and its status: crictl exits 0,
// or 1 with an error naming the process's status.
func (c *crictl) expectExec(what string, r result, status int, out string) {
	c.t.Helper()
	ok := r.err == nil
	if status == 0 {
		ok = ok && r.code == 0 && strings.TrimRight(r.stdout, "\n") == out
	} else {
		ok = ok && r.code == 1 && (strings.Contains(r.stderr, fmt.Sprintf("exit code %d\"", status)) || strings.Contains(r.stderr, fmt.Sprintf("exited with %d:", status)))
	}
	if !ok {
		if status == 0 {
			c.t.Errorf("%s: want exit 0 and output %q, got %v", what, out, r)
		} else {
			c.t.Errorf("%s: want crictl's exit 1 naming the process's status %d, got %v", what, status, r)
		}
	}
}

// waitReady waits for the CRI plugin's runtime and network conditions.
func (c *crictl) waitReady() error {
	var last result
	err := c.cd.d.waitFor(60*time.Second, func() bool {
		last = c.crictl("", "info")
		if last.err != nil || last.code != 0 {
			time.Sleep(200 * time.Millisecond)
			return false
		}
		var info struct {
			Status struct {
				Conditions []struct {
					Type   string `json:"type"`
					Status bool   `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		}
		if json.Unmarshal([]byte(last.stdout), &info) != nil {
			return false
		}
		ready := 0
		for _, cond := range info.Status.Conditions {
			if (cond.Type == "RuntimeReady" || cond.Type == "NetworkReady") && cond.Status {
				ready++
			}
		}
		return ready == 2
	})
	if err != nil {
		return fmt.Errorf("%v; last crictl info: %v", err, last)
	}
	return nil
}

// podSandbox is what inspectp tells of a pod.
type podSandbox struct {
	Status struct {
		ID      string `json:"id"`
		State   string `json:"state"`
		Network struct {
			IP string `json:"ip"`
		} `json:"network"`
		RuntimeHandler string `json:"runtimeHandler"`
	} `json:"status"`
	Info struct {
		Pid            int    `json:"pid"`
		RuntimeHandler string `json:"runtimeHandler"`
		RuntimeType    string `json:"runtimeType"`
	} `json:"info"`
}

// criContainer is what inspect tells of a container.
type criContainer struct {
	Status struct {
		ID       string `json:"id"`
		State    string `json:"state"`
		ExitCode int    `json:"exitCode"`
		LogPath  string `json:"logPath"`
	} `json:"status"`
	Info struct {
		Pid         int    `json:"pid"`
		SandboxID   string `json:"sandboxID"`
		RuntimeType string `json:"runtimeType"`
	} `json:"info"`
}

func (c *crictl) inspectp(id string) (*podSandbox, error) {
	r := c.crictl("", "inspectp", "-o", "json", id)
	if r.err != nil || r.code != 0 {
		return nil, fmt.Errorf("crictl inspectp %s: %v", id, r)
	}
	var p podSandbox
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		return nil, fmt.Errorf("crictl inspectp %s: %v: %s", id, err, r.stdout)
	}
	return &p, nil
}

func (c *crictl) inspect(id string) (*criContainer, error) {
	r := c.crictl("", "inspect", "-o", "json", id)
	if r.err != nil || r.code != 0 {
		return nil, fmt.Errorf("crictl inspect %s: %v", id, r)
	}
	var ct criContainer
	if err := json.Unmarshal([]byte(r.stdout), &ct); err != nil {
		return nil, fmt.Errorf("crictl inspect %s: %v: %s", id, err, r.stdout)
	}
	return &ct, nil
}

// waitState polls a container until it is in state (CONTAINER_RUNNING,
// CONTAINER_EXITED).
func (c *crictl) waitState(id, state string, timeout time.Duration) *criContainer {
	c.t.Helper()
	var last *criContainer
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if last, err = c.inspect(id); err == nil && last.Status.State == state {
			return last
		}
	}
	if err != nil {
		c.t.Errorf("container %s: want state %s: %v", id, state, err)
	} else {
		c.t.Errorf("container %s: want state %s after %v, got %s", id, state, timeout, last.Status.State)
	}
	return nil
}

// writeJSON writes a crictl configuration file into the env's
// directory.
func (c *crictl) writeJSON(name string, v any) string {
	c.t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		c.t.Fatal(err)
	}
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// podConfig writes a pod's configuration, as the kubelet would give it:
// metadata, a log directory, a cgroup parent, the pod's network and IPC
// namespaces shared, each container's PID namespace its own.
func (c *crictl) podConfig(name string) (path, logDir string) {
	logDir = filepath.Join(c.dir, "pods", name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	path = c.writeJSON(name+".pod.json", map[string]any{
		"metadata": map[string]any{
			"name":      name,
			"namespace": "magawa-e2e",
			"uid":       "uid-" + name,
			"attempt":   0,
		},
		"hostname":      name,
		"log_directory": logDir,
		"labels":        map[string]string{"app": "magawa-e2e"},
		"linux": map[string]any{
			"cgroup_parent": criCgroupParent,
			"security_context": map[string]any{
				"namespace_options": map[string]any{"network": 0, "pid": 1, "ipc": 0},
			},
		},
	})
	return path, logDir
}

// containerConfig writes a busybox container's configuration.
func (c *crictl) containerConfig(name string, command ...string) string {
	return c.writeJSON(name+".ctr.json", map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": imageName},
		"command":  command,
		"log_path": name + ".log",
		"linux":    map[string]any{},
	})
}

// pod is one pod of the flows: its ID, its configuration, and what must
// be gone once it is removed.
type pod struct {
	id, config, logDir string
	pids               []int    // the host PIDs of its sandbox and containers
	containers         []string // IDs of its containers
}

// runp starts a pod with the handler and checks what inspectp says.
func (c *crictl) runp(name string) *pod {
	c.t.Helper()
	cfg, logDir := c.podConfig(name)
	id, ok := c.ok("crictl runp --runtime "+c.handler, "runp", "--runtime", c.handler, cfg)
	if !ok || id == "" {
		return nil
	}
	p := &pod{id: id, config: cfg, logDir: logDir}
	ps, err := c.inspectp(id)
	if err != nil {
		c.t.Error(err)
		return p
	}
	if ps.Status.State != "SANDBOX_READY" {
		c.t.Errorf("pod %s: state %s, want SANDBOX_READY", id, ps.Status.State)
	}
	if h := ps.Info.RuntimeHandler; h != c.handler {
		c.t.Errorf("pod %s: runtime handler %q, want %q", id, h, c.handler)
	}
	wantType := map[string]string{handlerMagawa: "io.containerd.magawa.v1", handlerRunc: "io.containerd.runc.v2"}[c.handler]
	if ps.Info.RuntimeType != wantType {
		c.t.Errorf("pod %s: runtime type %q, want %q", id, ps.Info.RuntimeType, wantType)
	}
	c.checkHostProcess("the pod "+id, ps.Info.Pid)
	if sock := c.cd.shimSocket(id); !exists(sock) {
		c.t.Errorf("pod %s: no shim socket %s", id, sock)
	}
	p.pids = append(p.pids, ps.Info.Pid)
	return p
}

// checkHostProcess checks that a sandbox's or container's host process
// (the PID the CRI plugin reports) runs, is a child of the handler's
// shim, and, with magawa, is a sandbox process of the magawa under test.
func (c *crictl) checkHostProcess(what string, pid int) {
	c.t.Helper()
	if !alive(pid) {
		c.t.Errorf("%s: its host process %d is not running", what, pid)
		return
	}
	shim := map[string]string{handlerMagawa: "containerd-shim-magawa-v1", handlerRunc: "containerd-shim-runc-v2"}[c.handler]
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", parentOf(pid))); filepath.Base(exe) != shim {
		c.t.Errorf("%s: its host process %d's parent is %q, want %s", what, pid, exe, shim)
	}
	if c.handler == handlerMagawa {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != c.magawa {
			c.t.Errorf("%s: its host process %d runs %q, want the magawa under test (%s)", what, pid, exe, c.magawa)
		}
	}
}

// createStart creates and starts a container in the pod; running says
// it keeps running (its host process is checked).
func (c *crictl) createStart(p *pod, name string, running bool, command ...string) (string, bool) {
	c.t.Helper()
	cfg := c.containerConfig(name, command...)
	id, ok := c.ok("crictl create", "create", p.id, cfg, p.config)
	if !ok || id == "" {
		return "", false
	}
	p.containers = append(p.containers, id)
	if _, ok := c.ok("crictl start", "start", id); !ok {
		return id, false
	}
	ct, err := c.inspect(id)
	if err != nil {
		c.t.Error(err)
		return id, false
	}
	if ct.Info.SandboxID != p.id {
		c.t.Errorf("container %s: sandbox %q, want the pod %s", id, ct.Info.SandboxID, p.id)
	}
	if running {
		c.checkHostProcess("the container "+name, ct.Info.Pid)
	}
	p.pids = append(p.pids, ct.Info.Pid)
	return id, true
}

// removePod stops and removes a pod and checks that nothing of it is
// left.
func (c *crictl) removePod(p *pod) {
	c.t.Helper()
	c.ok("crictl stopp", "stopp", p.id)
	if ps, err := c.inspectp(p.id); err != nil {
		c.t.Error(err)
	} else if ps.Status.State != "SANDBOX_NOTREADY" {
		c.t.Errorf("pod %s after stopp: state %s, want SANDBOX_NOTREADY", p.id, ps.Status.State)
	}
	c.ok("crictl rmp", "rmp", p.id)
	c.checkPodGone(p)
}

// checkPodGone checks that a removed pod left nothing: not in crictl's
// lists; no process of its (its sandbox's and containers' host PIDs,
// its shim, magawa's processes); no mount below containerd's
// directories; no state of magawa, runc or containerd; no cgroup; no
// address held by host-local and no veth on the bridge.
func (c *crictl) checkPodGone(p *pod) {
	t := c.t
	t.Helper()
	if out, _ := c.ok("crictl pods -q", "pods", "-q"); strings.Contains(out, p.id) {
		t.Errorf("crictl pods still lists the pod %s", p.id)
	}
	if out, _ := c.ok("crictl ps -a -q", "ps", "-a", "-q"); out != "" {
		t.Errorf("crictl ps -a still lists containers: %s", out)
	}
	// The processes: the pod's sandbox and containers, whatever names
	// one of their IDs (the pod's shim: -id), and with magawa, whatever
	// runs the magawa or shim binary. A process that is on its way out
	// gets a few seconds.
	ids := append([]string{p.id}, p.containers...)
	left := func() []int {
		var pids []int
		for _, pid := range p.pids {
			if alive(pid) {
				pids = append(pids, pid)
			}
		}
		for _, id := range ids {
			pids = append(pids, cmdlineNames(id)...)
		}
		if c.handler == handlerMagawa {
			pids = append(pids, exeUnder(filepath.Dir(c.magawa))...)
		}
		return pids
	}
	start := time.Now()
	for len(left()) > 0 && time.Since(start) < 10*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	seen := map[int]bool{}
	for _, pid := range left() {
		if !seen[pid] {
			seen[pid] = true
			t.Errorf("a process of the pod is still running %v after rmp: %s", time.Since(start).Round(time.Second), describeProcess(pid))
		}
	}
	if took := time.Since(start); len(seen) == 0 && took > 3*time.Second {
		// containerd's runc shim is gone at once; a shim that is not
		// (5 s: the shim library's wait for an event publisher the
		// task service never closed) lingers after every pod.
		t.Errorf("the pod's processes were gone only %v after rmp: want them gone at once (does the shim exit on containerd's Shutdown?)", took.Round(100*time.Millisecond))
	}
	if sock := c.cd.shimSocket(p.id); exists(sock) {
		t.Errorf("the pod's shim socket %s is left after rmp", sock)
	}
	for _, id := range ids {
		for _, d := range []string{
			filepath.Join(c.cd.dir, "state", "io.containerd.runtime.v2.task", "k8s.io", id),
			filepath.Join(c.cd.dir, "state", "io.containerd.grpc.v1.cri", "sandboxes", id),
			filepath.Join(c.cd.dir, "state", "io.containerd.grpc.v1.cri", "containers", id),
			filepath.Join("/run/magawa-shim/k8s.io", id),
			filepath.Join(c.cd.runcRoot, id),
		} {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("%s is left after rmp", d)
			}
		}
		for _, h := range []string{"cpu", "memory", "pids", "freezer"} {
			d := filepath.Join("/sys/fs/cgroup", h, criCgroupParent, id)
			if _, err := os.Stat(d); err == nil {
				t.Errorf("the cgroup %s is left after rmp", d)
			}
		}
	}
	if c.handler == handlerMagawa {
		c.checkNoContainersLeft("/run/magawa-shim/k8s.io")
	} else if out, err := exec.Command("runc", "--root", c.cd.runcRoot, "list", "-q").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		t.Errorf("runc still has containers after rmp: %s", out)
	}
	for _, m := range c.cd.mounts() {
		t.Errorf("a mount is left below containerd's directory after rmp: %s", m)
	}
	netns := filepath.Join(c.cd.dir, "state", "io.containerd.grpc.v1.cri", "netns")
	if ents, _ := os.ReadDir(netns); len(ents) > 0 {
		t.Errorf("network namespaces are left in %s after rmp: %v", netns, ents)
	}
	// libcni's cache of the pod's attachment results (its file names
	// hold the network's name and the sandbox's ID).
	if ents, _ := os.ReadDir("/var/lib/cni/results"); len(ents) > 0 {
		for _, e := range ents {
			if strings.Contains(e.Name(), p.id) {
				t.Errorf("libcni's result /var/lib/cni/results/%s is left after rmp", e.Name())
			}
		}
	}
	if ips := c.cd.net.reserved(); len(ips) > 0 {
		t.Errorf("host-local still holds addresses after rmp: %v", ips)
	}
	if ports := c.cd.net.ports(); len(ports) > 0 {
		t.Errorf("veths are left on the bridge %s after rmp: %v", c.cd.net.bridge, ports)
	}
}

// removeAllPods removes whatever pods are left (the cleanup's).
func (c *crictl) removeAllPods() {
	if c.cd.d.exited() {
		return
	}
	r := c.crictl("", "pods", "-q")
	for _, id := range strings.Fields(r.stdout) {
		c.t.Logf("removing the pod %s (left by the test)", id)
		c.crictl("", "stopp", id)
		c.crictl("", "rmp", "--force", id)
	}
}

// runcDeleteAll force-deletes every runc container in root.
func runcDeleteAll(t testing.TB, root string) {
	out, err := exec.Command("runc", "--root", root, "list", "-q").Output()
	if err != nil {
		return
	}
	for _, id := range strings.Fields(string(out)) {
		t.Logf("runc --root %s delete --force %s (left by containerd)", root, id)
		exec.Command("runc", "--root", root, "delete", "--force", id).Run()
	}
}

// workerScript is the long-running container: it writes a line to
// each of stdout and stderr, and ends with status 0 on SIGTERM.
const workerScript = `trap 'echo got TERM; kill $! 2>/dev/null; exit 0' TERM
echo to-stdout
echo to-stderr >&2
i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done
sleep 1000 &
wait`

func testCRIFlows(t *testing.T, c *crictl) {
	var p *pod
	t.Run("runp", func(t *testing.T) {
		c := c.with(t)
		p = c.runp("e2e-" + c.handler)
		if p == nil {
			return
		}
		ps, err := c.inspectp(p.id)
		if err != nil {
			t.Error(err)
			return
		}
		ip := net.ParseIP(ps.Status.Network.IP)
		if ip == nil || !c.cd.net.subnet.Contains(ip) || ip.Equal(c.cd.net.gateway) {
			t.Errorf("the pod's address %q (crictl inspectp): want one of the bridge's network %s", ps.Status.Network.IP, c.cd.net.subnet)
		}
	})
	if p == nil {
		t.Fatalf("no pod: the other flows need one")
	}
	removed := false
	defer func() {
		if !removed {
			c.crictl("", "stopp", p.id)
			c.crictl("", "rmp", "--force", p.id)
		}
	}()

	t.Run("pod_network", func(t *testing.T) {
		// The pod's network stack (the host's kernel's in runc's
		// network namespace, magawa's netstack in its sandbox) answers
		// on the pod's address: a closed port refuses the connection.
		c := c.with(t)
		ps, err := c.inspectp(p.id)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(ps.Status.Network.IP, "1"), 10*time.Second)
		if err == nil {
			conn.Close()
			t.Errorf("connecting to %s:1 (closed) from the host: accepted", ps.Status.Network.IP)
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("connecting to %s:1 (closed) from the host: want connection refused (the pod's stack answering), got %v", ps.Status.Network.IP, err)
		}
	})

	var worker string
	t.Run("create_start", func(t *testing.T) {
		c := c.with(t)
		id, ok := c.createStart(p, "worker", true, "sh", "-c", workerScript)
		if !ok {
			return
		}
		worker = id
		c.waitState(id, "CONTAINER_RUNNING", 30*time.Second)
		if out, _ := c.ok("crictl ps", "ps", "-q", "--pod", p.id); !strings.Contains(out, id) {
			t.Errorf("crictl ps --pod does not list the running container %s: %q", id, out)
		}
	})
	if worker == "" {
		t.Fatalf("no container: the other flows need one")
	}

	t.Run("exec", func(t *testing.T) {
		c := c.with(t)
		// crictl exec streams through the CRI plugin's streaming
		// server; exec -s is ExecSync. crictl exits 1 on a non-zero
		// status, which its error names.
		c.expect("crictl exec echo hi", c.crictl("", "exec", worker, "echo", "hi"), 0, str("hi\n"))
		c.expectExec("crictl exec -s echo hi", c.crictl("", "exec", "-s", worker, "echo", "hi"), 0, "hi")
		c.expectExec("crictl exec exit 3", c.crictl("", "exec", worker, "sh", "-c", "exit 3"), 3, "")
		c.expectExec("crictl exec -s exit 3", c.crictl("", "exec", "-s", worker, "sh", "-c", "echo out; exit 3"), 3, "")
		c.expect("crictl exec -i (stdin)", c.crictl("abc\n", "exec", "-i", worker, "tr", "a-z", "A-Z"), 0, str("ABC\n"))
		c.expect("crictl exec sees the container's files", c.crictl("", "exec", worker, "cat", "/etc/hostname"), 0, str("e2e-"+c.handler+"\n"))
	})

	t.Run("logs", func(t *testing.T) {
		// containerd's CRI plugin writes the container's stdout and
		// stderr, which it reads from the shim's FIFOs, to the log.
		c := c.with(t)
		var r result
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if r = c.crictl("", "logs", worker); r.stdout == "to-stdout\n" && r.stderr == "to-stderr\n" {
				break
			}
		}
		if r.code != 0 || r.stdout != "to-stdout\n" || r.stderr != "to-stderr\n" {
			t.Errorf("crictl logs: want stdout %q and stderr %q, got %v", "to-stdout\n", "to-stderr\n", r)
		}
		ct, err := c.inspect(worker)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(p.logDir, "worker.log"); ct.Status.LogPath != want {
			t.Errorf("the container's log path: %q, want %q", ct.Status.LogPath, want)
		}
		b, err := os.ReadFile(ct.Status.LogPath)
		if err != nil || !strings.Contains(string(b), " stdout F to-stdout\n") || !strings.Contains(string(b), " stderr F to-stderr\n") {
			t.Errorf("the CRI log file %s: want a stdout and a stderr line, got %q (%v)", ct.Status.LogPath, b, err)
		}
	})

	t.Run("stats", func(t *testing.T) {
		c := c.with(t)
		r := c.crictl("", "stats", "-o", "json", worker)
		if !c.expect("crictl stats", r, 0, nil) {
			return
		}
		var st struct {
			Stats []struct {
				Attributes struct {
					ID string `json:"id"`
				} `json:"attributes"`
				CPU struct {
					UsageCoreNanoSeconds struct {
						Value u64 `json:"value"`
					} `json:"usageCoreNanoSeconds"`
				} `json:"cpu"`
				Memory struct {
					WorkingSetBytes struct {
						Value u64 `json:"value"`
					} `json:"workingSetBytes"`
				} `json:"memory"`
			} `json:"stats"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("crictl stats -o json: %v: %s", err, r.stdout)
		}
		if len(st.Stats) != 1 || st.Stats[0].Attributes.ID != worker {
			t.Fatalf("crictl stats: want the container %s's stats, got %s", worker, r.stdout)
		}
		s := st.Stats[0]
		if s.CPU.UsageCoreNanoSeconds.Value == 0 {
			t.Errorf("crictl stats: the container's CPU usage is zero or missing: %s", r.stdout)
		}
		if s.Memory.WorkingSetBytes.Value == 0 {
			t.Errorf("crictl stats: the container's memory working set is zero or missing: %s", r.stdout)
		}
	})

	t.Run("reach_host", func(t *testing.T) {
		// The container reaches a server of the host's on the bridge's
		// address, the pod's gateway.
		c := c.with(t)
		srv, err := startHostServer(net.JoinHostPort(c.cd.net.gateway.String(), "0"), "hello from the host\n")
		if err != nil {
			t.Fatalf("listening on the bridge's address: %v", err)
		}
		defer srv.close()
		url := fmt.Sprintf("http://%s:%d/", c.cd.net.gateway, srv.port())
		c.expectExec("crictl exec wget (the host, through the bridge)", c.crictl("", "exec", "-s", "--timeout", "30", worker, "wget", "-q", "-O", "-", url), 0, "hello from the host")
	})

	t.Run("stop", func(t *testing.T) {
		// crictl stop: SIGTERM, which the container's trap turns into
		// a line in the log and status 0.
		c := c.with(t)
		if _, ok := c.ok("crictl stop", "stop", "--timeout", "30", worker); !ok {
			return
		}
		ct := c.waitState(worker, "CONTAINER_EXITED", 10*time.Second)
		if ct != nil && ct.Status.ExitCode != 0 {
			t.Errorf("the container stopped by SIGTERM: exit code %d, want 0 (its trap's)", ct.Status.ExitCode)
		}
		r := c.crictl("", "logs", worker)
		if !strings.Contains(r.stdout, "got TERM\n") {
			t.Errorf("crictl logs after stop: want the trap's %q, got %v", "got TERM\n", r)
		}
	})

	t.Run("exit_status", func(t *testing.T) {
		// A container that ends on its own: its status and output.
		c := c.with(t)
		id, ok := c.createStart(p, "exiter", false, "sh", "-c", "echo bye; exit 7")
		if !ok {
			return
		}
		ct := c.waitState(id, "CONTAINER_EXITED", 30*time.Second)
		if ct != nil && ct.Status.ExitCode != 7 {
			t.Errorf("the container's exit code: %d, want 7", ct.Status.ExitCode)
		}
		c.expect("crictl logs of an exited container", c.crictl("", "logs", id), 0, str("bye\n"))
		c.ok("crictl rm", "rm", id)
	})

	t.Run("rm", func(t *testing.T) {
		c := c.with(t)
		if _, ok := c.ok("crictl rm", "rm", worker); !ok {
			return
		}
		if out, _ := c.ok("crictl ps -a", "ps", "-a", "-q"); strings.Contains(out, worker) {
			t.Errorf("crictl ps -a still lists the removed container %s", worker)
		}
		if _, err := os.Stat(filepath.Join(c.cd.dir, "state", "io.containerd.runtime.v2.task", "k8s.io", worker)); err == nil {
			t.Errorf("the removed container's bundle is left")
		}
	})

	t.Run("stopp_rmp", func(t *testing.T) {
		c := c.with(t)
		removed = true
		c.removePod(p)
	})
}

// testCRIPodLocalhost runs two containers in one pod: one serves on
// 127.0.0.1, the other reaches it, as the containers of a Kubernetes pod
// share its network namespace. With magawa, the pod is one sandbox.
func testCRIPodLocalhost(t *testing.T, c *crictl) {
	p := c.runp("e2e-pod-" + c.handler)
	if p == nil {
		t.Fatalf("no pod")
	}
	defer c.removePod(p)
	const serve = `mkdir -p /tmp/www && echo served in the pod >/tmp/www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /tmp/www`
	if _, ok := c.createStart(p, "server", true, "sh", "-c", serve); !ok {
		return
	}
	client, ok := c.createStart(p, "client", true, "sleep", "1000")
	if !ok {
		return
	}
	var r result
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if r = c.crictl("", "exec", "-s", "--timeout", "10", client, "wget", "-q", "-O", "-", "http://127.0.0.1:8080/"); r.code == 0 {
			break
		}
	}
	c.expectExec("the client container reaches the server container on 127.0.0.1", r, 0, "served in the pod")
	if c.handler == handlerMagawa {
		if sb := sandboxProcesses(filepath.Dir(c.magawa)); len(sb) != 1 {
			var desc []string
			for _, pid := range sb {
				desc = append(desc, describeProcess(pid))
			}
			t.Errorf("the pod of 3 containers (pause, server, client): want one sandbox process, got %d:\n%s", len(sb), strings.Join(desc, "\n"))
		}
	}
}
