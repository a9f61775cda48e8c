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
// three times, plus two VMs that fail on purpose. TestVMNetwork needs
// ip(8); it makes two network namespaces of its own and leaves the
// host's alone.
package vm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
	for _, applet := range []string{"sh", "echo", "cat", "sleep", "uname", "ls", "grep", "id", "hostname"} {
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

// vmNetwork is what an engine sets up for a container (a network
// namespace with a veth named eth0, an address, a default route) and
// the other end of the veth in a second namespace, the peer, that
// stands for the engine's bridge. The host's own namespace is left
// alone: no address or route of it changes.
type vmNetwork struct {
	NS, Peer           string
	Addr, PeerAddr     string
	MAC                string
	nsFile, peerNSFile string
}

func newVMNetwork(t *testing.T) *vmNetwork {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Skip(t, "needs ip(8) (apt-get install iproute2)")
	}
	id := os.Getpid() % 100000
	n := &vmNetwork{
		NS: fmt.Sprintf("mgvm-%d", id), Peer: fmt.Sprintf("mgvmp-%d", id),
		Addr: "10.214.7.2", PeerAddr: "10.214.7.1",
	}
	n.nsFile, n.peerNSFile = "/run/netns/"+n.NS, "/run/netns/"+n.Peer
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", n.NS)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.NS).Run() })
	ip("netns", "add", n.Peer)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.Peer).Run() })
	// The pair goes with the namespaces.
	ip("-n", n.NS, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0", "netns", n.Peer)
	ip("-n", n.NS, "addr", "add", n.Addr+"/24", "dev", "eth0")
	ip("-n", n.NS, "link", "set", "eth0", "up")
	ip("-n", n.NS, "link", "set", "lo", "up")
	ip("-n", n.NS, "route", "add", "default", "via", n.PeerAddr)
	ip("-n", n.Peer, "addr", "add", n.PeerAddr+"/24", "dev", "peer0")
	ip("-n", n.Peer, "link", "set", "peer0", "up")
	ip("-n", n.Peer, "link", "set", "lo", "up")
	mac, err := exec.Command("ip", "netns", "exec", n.NS, "cat", "/sys/class/net/eth0/address").Output()
	if err != nil {
		t.Fatal(err)
	}
	n.MAC = strings.TrimSpace(string(mac))
	return n
}

// inNetns runs fn on a thread that is in the namespace at path: the sockets
// it makes are that namespace's.
func inNetns(t *testing.T, path string, fn func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer self.Close()
		ns, err := os.Open(path)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		err = fn()
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			goruntime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// httpGetOn fetches path from the server at addr over a connection made
// on the calling thread.
func httpGetOn(addr, path string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	if err := req.Write(c); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s (%s)", path, resp.Status, b)
	}
	return string(b), err
}

// links lists the namespace's interfaces, as ip -o link shows them.
func (n *vmNetwork) links(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", n.NS, "-o", "link").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link: %v\n%s", err, out)
	}
	return string(out)
}

// TestVMNetwork runs a VM container in a namespace with a veth, as
// podman or a CNI plugin sets it up: the guest's NIC is the veth (its
// MAC address, its address, its default route), a client in the
// container reaches a server on the peer's side and a server in the
// container is reached from there; the host's stack gives the address
// up; loopback works in the container; delete leaves no tap device and
// no QEMU.
func TestVMNetwork(t *testing.T) {
	r := newRuntime(t)
	n := newVMNetwork(t)

	// A server on the peer's side.
	var ln net.Listener
	if err := inNetns(t, n.peerNSFile, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(n.PeerAddr, "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintf(w, "the peer answers %s from %s\n", req.URL.Path, req.RemoteAddr)
	}))
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	dir := bundle(t, "httpd", "-f", "-p", "8080", "-h", "/www")
	var spec map[string]any
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	json.Unmarshal(raw, &spec)
	for _, ns := range spec["linux"].(map[string]any)["namespaces"].([]any) {
		if m := ns.(map[string]any); m["type"] == "network" {
			m["path"] = n.nsFile
		}
	}
	raw, _ = json.MarshalIndent(spec, "", "\t")
	os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644)
	rootfs := filepath.Join(dir, "rootfs")
	for _, applet := range []string{"httpd", "wget", "ip"} {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", applet))
	}
	os.MkdirAll(filepath.Join(rootfs, "www"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "www", "index.html"), []byte("served from the VM\n"), 0o644)

	r.create(dir, "vmnet")
	tap := ""
	for _, line := range strings.Split(n.links(t), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], "mgwtap") {
			tap = strings.TrimSuffix(f[1], ":")
		}
	}
	if tap == "" {
		t.Fatalf("no tap device in the namespace after create:\n%s", n.links(t))
	}
	if out, _ := exec.Command("ip", "-n", n.NS, "-o", "-4", "addr", "show", "dev", "eth0").CombinedOutput(); strings.Contains(string(out), "inet") {
		t.Errorf("the host's stack still has an address on eth0:\n%s", out)
	}
	r.must("start", "vmnet")

	if got := strings.TrimSpace(r.must("exec", "vmnet", "cat", "/sys/class/net/eth0/address")); got != n.MAC {
		t.Errorf("the guest's eth0 has MAC address %q, want the veth's %q", got, n.MAC)
	}
	if out := r.must("exec", "vmnet", "ip", "addr", "show", "eth0"); !strings.Contains(out, "inet "+n.Addr+"/24") || !strings.Contains(out, n.MAC) {
		t.Errorf("ip addr show eth0 in the container:\n%s\nwant %s/24 and %s", out, n.Addr, n.MAC)
	}
	if out := r.must("exec", "vmnet", "ip", "route"); !strings.Contains(out, "default via "+n.PeerAddr+" dev eth0") {
		t.Errorf("ip route in the container:\n%s\nwant the default route via %s", out, n.PeerAddr)
	}
	// The container's client, the peer's server.
	url := "http://" + net.JoinHostPort(n.PeerAddr, port) + "/from-the-vm"
	if out, errOut, code := r.run("", "exec", "vmnet", "wget", "-q", "-O-", url); code != 0 || !strings.HasPrefix(out, "the peer answers /from-the-vm from "+n.Addr+":") {
		t.Errorf("wget %s in the container: exit %d, %q, %q; want an answer to the veth's address", url, code, out, errOut)
	}
	// Loopback, in the container.
	if out, errOut, code := r.run("", "exec", "vmnet", "sh", "-c",
		"httpd -p 127.0.0.1:8081 -h /www && wget -q -O- http://127.0.0.1:8081/index.html"); code != 0 || out != "served from the VM\n" {
		t.Errorf("HTTP over the container's loopback: exit %d, %q, %q", code, out, errOut)
	}
	// The peer's client, the container's server. The connection is
	// made on the thread that is in the peer's namespace (an
	// http.Client would dial from another thread, in the host's).
	var body string
	err := inNetns(t, n.peerNSFile, func() error {
		var err error
		deadline := time.Now().Add(60 * time.Second)
		for {
			if body, err = httpGetOn(net.JoinHostPort(n.Addr, "8080"), "/index.html"); err == nil || time.Now().After(deadline) {
				return err
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	if err != nil || body != "served from the VM\n" {
		t.Errorf("GET from the peer of the container's httpd: %q, %v", body, err)
	}

	r.must("kill", "vmnet", "KILL")
	r.must("delete", "--force", "vmnet")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(n.links(t), tap) || len(r.qemus()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after delete: QEMU %v, the namespace's interfaces:\n%s", r.qemus(), n.links(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
