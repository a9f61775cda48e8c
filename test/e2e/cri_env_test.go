package e2e

// The CRI test's world: crictl (built once through the Go module
// proxy), the pause image (a static C program), a containerd with its
// CRI plugin on, a private CNI network (a bridge of its own), and the
// checks that a pod left nothing behind.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/test/testenv"
)

// crictlVersion is the cri-tools release the test builds (go install
// sigs.k8s.io/cri-tools/cmd/crictl@crictlVersion) into the checkout's
// .cache/crictl/VERSION, once; $MAGAWA_CRICTL names a crictl to use
// instead.
const crictlVersion = "v1.37.0"

var (
	crictlOnce sync.Once
	crictlPath string
	crictlSkip string
)

// crictlBin returns crictl, built the first time (a minute or two: the
// module proxy's downloads and the build), or skips the test (fails
// under MAGAWA_TEST_NO_SKIP) when it cannot be built.
func crictlBin(t testing.TB) string {
	t.Helper()
	crictlOnce.Do(func() { crictlPath, crictlSkip = buildCrictl(t) })
	if crictlSkip != "" {
		skip(t, "%s", crictlSkip)
	}
	return crictlPath
}

func buildCrictl(t testing.TB) (string, string) {
	if p := os.Getenv("MAGAWA_CRICTL"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Sprintf("$MAGAWA_CRICTL: %v", err)
		}
		return p, ""
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		return "", fmt.Sprintf("crictl: %v", err)
	}
	dir := filepath.Join(root, ".cache", "crictl", crictlVersion)
	bin := filepath.Join(dir, "crictl")
	if _, err := os.Stat(bin); err == nil {
		return bin, ""
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Sprintf("crictl: %v", err)
	}
	// Two test binaries may build at once: one builds, the other waits
	// and finds it built.
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Sprintf("crictl: %v", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return "", fmt.Sprintf("crictl: %v", err)
	}
	if _, err := os.Stat(bin); err == nil {
		return bin, ""
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Sprintf("crictl: %v", err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	pkg := "sigs.k8s.io/cri-tools/cmd/crictl@" + crictlVersion
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "install", pkg)
	cmd.Dir = tmp // outside magawa's module: go install pkg@version ignores it anyway
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Sprintf("building crictl (go install %s, through the Go module proxy) failed: %v\n%s", pkg, err, tail(string(out), 2000))
	}
	if err := os.Rename(filepath.Join(tmp, "crictl"), bin); err != nil {
		return "", fmt.Sprintf("crictl: %v", err)
	}
	t.Logf("built crictl %s into %s in %.0fs", crictlVersion, bin, time.Since(start).Seconds())
	return bin, ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// pauseImageName is the pod sandbox image (the CRI plugin's
// sandbox_image): a name the CRI plugin finds among the images of its
// namespace, k8s.io, so that it never pulls.
const pauseImageName = "localhost/magawa-e2e/pause:3.9"

// pauseSource is the pod's sandbox process, as Kubernetes' pause: it
// sleeps until SIGINT or SIGTERM (and exits 0), reaping the children
// it inherits.
const pauseSource = `#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void down(int sig) { (void)sig; _exit(0); }

static void reap(int sig) {
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void) {
	struct sigaction sa = {0};
	sa.sa_handler = down;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = reap;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	for (;;)
		pause();
}
`

var (
	pauseOnce sync.Once
	pausePath string
	pauseErr  error
	pauseSkip string
)

// pauseImage returns a docker-archive of the pause image: /pause, built
// with gcc -static, as its only file and entrypoint.
func pauseImage(t testing.TB) string {
	t.Helper()
	pauseOnce.Do(func() {
		dir := filepath.Join(workDir, "pause-build")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			pauseErr = err
			return
		}
		src := filepath.Join(dir, "pause.c")
		bin := filepath.Join(dir, "pause")
		if err := os.WriteFile(src, []byte(pauseSource), 0o644); err != nil {
			pauseErr = err
			return
		}
		if _, err := exec.LookPath("gcc"); err != nil {
			pauseSkip = "needs gcc and a static libc (apt-get install gcc libc6-dev) to build the pause image"
			return
		}
		if out, err := exec.Command("gcc", "-static", "-Os", "-o", bin, src).CombinedOutput(); err != nil {
			pauseSkip = fmt.Sprintf("building the pause image: gcc -static failed (apt-get install gcc libc6-dev): %v\n%s", err, out)
			return
		}
		pausePath, pauseErr = writePauseArchive(bin, filepath.Join(workDir, "pause-image.tar"))
	})
	if pauseSkip != "" {
		skip(t, "%s", pauseSkip)
	}
	if pauseErr != nil {
		t.Fatalf("building the pause image: %v", pauseErr)
	}
	return pausePath
}

func writePauseArchive(pause, out string) (string, error) {
	bin, err := os.ReadFile(pause)
	if err != nil {
		return "", err
	}
	mtime := time.Unix(1700000000, 0)
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "pause", Mode: 0o755, Size: int64(len(bin)), ModTime: mtime}); err != nil {
		return "", err
	}
	if _, err := tw.Write(bin); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	config := map[string]any{
		"Entrypoint": []string{"/pause"},
		"User":       "65535:65535",
	}
	return writeImageArchive(out, pauseImageName, layer.Bytes(), config, "magawa test/e2e: pause (gcc -static)", mtime)
}

// criNetwork is the private CNI network: a bridge of its own (not
// cni0) with host-local addresses from a /24 nobody here routes, the
// bridge's address the pods' gateway. No masquerading: the pods reach
// the host through the bridge's address, and the bridge plugin adds no
// iptables rule.
type criNetwork struct {
	name    string // the CNI network's name
	bridge  string
	subnet  *net.IPNet
	gateway net.IP
	ipamDir string // host-local's dataDir
	created bool   // the bridge was not there before the test
}

const criNetworkName = "magawa-e2e-cri"

// pickNetwork picks a bridge name and a 10.239.N.0/24 that neither the
// host's addresses nor its routes use.
func pickNetwork(t testing.TB, dir string) *criNetwork {
	t.Helper()
	routes, _ := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	addrs, _ := exec.Command("ip", "-4", "-o", "addr").Output()
	used := string(routes) + string(addrs)
	start := 100 + os.Getpid()%100
	for i := 0; i < 150; i++ {
		n := 100 + (start-100+i)%150
		prefix := fmt.Sprintf("10.239.%d.", n)
		bridge := fmt.Sprintf("mgwcri%d", n)
		if strings.Contains(used, prefix) {
			continue
		}
		if _, err := net.InterfaceByName(bridge); err == nil {
			continue
		}
		_, subnet, _ := net.ParseCIDR(prefix + "0/24")
		return &criNetwork{
			name:    criNetworkName,
			bridge:  bridge,
			subnet:  subnet,
			gateway: net.ParseIP(prefix + "1").To4(),
			ipamDir: filepath.Join(dir, "ipam"),
		}
	}
	t.Fatalf("no free 10.239.N.0/24 for the pods' network")
	return nil
}

// conflist is the network's CNI configuration (the CRI plugin attaches
// loopback itself, with the loopback plugin of its bin_dir).
func (n *criNetwork) conflist() string {
	b, _ := json.MarshalIndent(map[string]any{
		"cniVersion": "1.0.0",
		"name":       n.name,
		"plugins": []any{map[string]any{
			"type":        "bridge",
			"bridge":      n.bridge,
			"isGateway":   true,
			"ipMasq":      false,
			"hairpinMode": true,
			"ipam": map[string]any{
				"type":    "host-local",
				"dataDir": n.ipamDir,
				"ranges":  [][]map[string]string{{{"subnet": n.subnet.String(), "gateway": n.gateway.String()}}},
				"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
			},
		}},
	}, "", "  ")
	return string(b) + "\n"
}

// reserved lists the addresses host-local still holds for pods.
func (n *criNetwork) reserved() []string {
	ents, _ := os.ReadDir(filepath.Join(n.ipamDir, n.name))
	var ips []string
	for _, e := range ents {
		if net.ParseIP(e.Name()) != nil {
			ips = append(ips, e.Name())
		}
	}
	return ips
}

// ports lists the interfaces attached to the bridge (the pods' veths).
func (n *criNetwork) ports() []string {
	out, _ := exec.Command("ip", "-o", "link", "show", "master", n.bridge).Output()
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":"))
		}
	}
	return names
}

// iptablesRules lists the rules of the filter and nat tables that name
// the network, its bridge or its subnet.
func (n *criNetwork) iptablesRules() []string {
	var rules []string
	for _, table := range []string{"filter", "nat"} {
		out, err := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(out), "\n") {
			prefix := strings.TrimSuffix(n.subnet.IP.String(), "0")
			if strings.Contains(l, n.name) || strings.Contains(l, n.bridge) || strings.Contains(l, prefix) {
				rules = append(rules, table+": "+l)
			}
		}
	}
	return rules
}

// The handlers' names in the CRI plugin's configuration.
const (
	handlerMagawa = "magawa"
	handlerRunc   = "runc"
)

const criContainerdConfig = `version = 2
root = "%DIR%/root"
state = "%DIR%/state"

[grpc]
  address = "%DIR%/containerd.sock"

[ttrpc]
  address = "%DIR%/containerd.sock.ttrpc"

[debug]
  address = "%DIR%/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "%DIR%/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "%PAUSE%"
  # The test runs as root without CAP_SYS_RESOURCE: no lowering of an
  # OOM score below containerd's own.
  restrict_oom_score_adj = true
  # The pods' network namespaces are mounted in the state directory,
  # not /var/run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_unprivileged_ports = false
  enable_unprivileged_icmp = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "%CNIBIN%"
    conf_dir = "%DIR%/net.d"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "%DIR%/runc"

    # containerd 1.6 finds the shim, containerd-shim-magawa-v1, in its
    # PATH (runtime_path is 1.7's).
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.magawa]
      runtime_type = "io.containerd.magawa.v1"
      pod_annotations = ["magawa.dev/*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.magawa.options]
        TypeUrl = "io.containerd.magawa.v1.options"
        ConfigPath = "%DIR%/magawa.toml"
`

// magawaOptions is the magawa handler's options file (the shim reads
// its [magawa] table as magawa's global flags): magawa's defaults,
// given, so that the options' way from containerd to the shim is used.
const magawaOptions = `[magawa]
network = "sandbox"
overlay = "memory"
`

// criContainerd is a containerd with the CRI plugin on, for one test.
type criContainerd struct {
	d        *daemon
	dir      string
	sock     string
	net      *criNetwork
	runcRoot string // the runc handler's runc --root (its namespace's)
}

// startCRIContainerd writes the configuration (containerd's, the CNI
// network's, the magawa handler's options) and starts containerd in
// dir. It registers no cleanup: the caller stops it in its own order.
func startCRIContainerd(e *env, bin, ctrBin, dir, cniBin string, n *criNetwork) (*criContainerd, error) {
	for _, d := range []string{dir, filepath.Join(dir, "net.d"), n.ipamDir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, err
		}
	}
	conf := strings.NewReplacer("%DIR%", dir, "%PAUSE%", pauseImageName, "%CNIBIN%", cniBin).Replace(criContainerdConfig)
	files := map[string]string{
		filepath.Join(dir, "config.toml"):                     conf,
		filepath.Join(dir, "magawa.toml"):                     magawaOptions,
		filepath.Join(dir, "net.d", "10-"+n.name+".conflist"): n.conflist(),
	}
	for p, s := range files {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			return nil, err
		}
	}
	c := &criContainerd{dir: dir, sock: filepath.Join(dir, "containerd.sock"), net: n, runcRoot: filepath.Join(dir, "runc", "k8s.io")}
	d, err := e.startDaemon("containerd", bin, "--config", filepath.Join(dir, "config.toml"))
	if err != nil {
		return nil, err
	}
	c.d = d
	err = d.waitFor(30*time.Second, func() bool {
		if _, err := os.Stat(c.sock); err != nil {
			return false
		}
		r := e.run("", ctrBin, "--address", c.sock, "version")
		return r.err == nil && r.code == 0
	})
	if err != nil {
		d.stop(e.t, 20*time.Second)
		return nil, fmt.Errorf("%v\n%s", err, d.tail())
	}
	return c, nil
}

// mounts lists the mounts below containerd's directory (its snapshots'
// and containers' root file systems, the pods' /dev/shm and network
// namespaces).
func (c *criContainerd) mounts() []string { return mountsUnder(c.dir) }

// shimSocket is the socket of a pod's shim: the shim library's
// SocketAddress for the pod's group (the pod's sandbox ID) under
// containerd's address, in /run/containerd/s.
func (c *criContainerd) shimSocket(podID string) string {
	d := sha256.Sum256([]byte(filepath.Join(c.sock, "k8s.io", podID)))
	return fmt.Sprintf("/run/containerd/s/%x", d)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// u64 is a protobuf uint64 in JSON: a string, or a number.
type u64 uint64

func (v *u64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	*v = u64(n)
	return err
}

// exeUnder lists the live processes whose executable lies in dir (the
// magawa shim, sandboxes and gofers run the binaries of workDir/bin).
func exeUnder(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == os.Getpid() || isZombie(pid) {
			continue
		}
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.HasPrefix(exe, dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cmdlineNames lists the live processes whose command line has s as
// one of its arguments (a shim's -id).
func cmdlineNames(s string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == os.Getpid() || isZombie(pid) {
			continue
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		for _, a := range strings.Split(string(b), "\x00") {
			if a == s {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// sandboxProcesses lists the sandbox processes among the processes of
// the magawa binary in binDir: those running its boot verb (the
// application kernel's sandbox process, or vm-boot, a VM's supervisor).
// A pod's other containers add their gofers and waiters (exec-wait),
// not sandboxes.
func sandboxProcesses(binDir string) []int {
	var out []int
	for _, pid := range exeUnder(binDir) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		for _, arg := range strings.Split(string(b), "\x00") {
			if arg == "boot" || arg == "vm-boot" {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// alive says whether a host process is there and not a zombie.
func alive(pid int) bool {
	return pid > 0 && unix.Kill(pid, 0) == nil && !isZombie(pid)
}

// hostServer serves one line to whoever connects, over HTTP, on addr.
type hostServer struct {
	ln   net.Listener
	body string
}

func startHostServer(addr, body string) (*hostServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &hostServer{ln: ln, body: body}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 4096)
				conn.Read(buf) // the request; its content does not matter
				fmt.Fprintf(conn, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(s.body), s.body)
			}()
		}
	}()
	return s, nil
}

func (s *hostServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }
func (s *hostServer) close()    { s.ln.Close() }
