package vm

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// podBundle marks a bundle as a pod's container, as the CRI plugin
// marks them: its sandbox (pause) container when sandboxID is empty.
func podBundle(t *testing.T, dir, sandboxID string) {
	t.Helper()
	editBundle(t, dir, func(spec map[string]any) {
		if sandboxID == "" {
			spec["hostname"] = "podhost"
			spec["annotations"] = map[string]string{"io.kubernetes.cri.container-type": "sandbox"}
			return
		}
		spec["annotations"] = map[string]string{
			"io.kubernetes.cri.container-type": "container",
			"io.kubernetes.cri.sandbox-id":     sandboxID,
		}
	})
}

// mountsUnder lists the host's mount points at or under dir.
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

// TestVMPod runs a pod in one VM beyond what test/oci_test.go's
// TestOCIPod does: a joined container on a terminal (a console socket's,
// as conmon and containerd's shim give it) with the pod's hostname;
// pause, resume and update of one container while the pod goes on; a
// container whose bind source is missing fails to join and leaves
// nothing; the pod's delete --force while a container runs leaves no
// QEMU and no mount, and that container's delete then works.
func TestVMPod(t *testing.T) {
	r := newRuntime(t)
	pod := bundle(t, "sleep", "1000")
	podBundle(t, pod, "")
	r.create(pod, "p")
	r.must("start", "p")

	sock, masters := consoleSocket(t)
	term := terminalBundle(t, 24, 80, `tty; hostname; read line; echo "got $line"; exit 7`)
	podBundle(t, term, "p")
	if _, errOut, code := r.run("", "create", "--bundle", term, "--console-socket", sock, "t"); code != 0 {
		t.Fatalf("create of a joined container with a terminal: exit %d: %s", code, errOut)
	}
	screen := newScreen(t, receiveMaster(t, masters))
	r.must("start", "t")
	screen.waitFor("/dev/pts/0", time.Minute)
	screen.waitFor("podhost", 10*time.Second)
	screen.typeIn("hello\r")
	screen.waitFor("got hello", 10*time.Second)
	r.waitStatus("t", "stopped")
	r.must("delete", "t")
	if st := r.status("p"); st != "running" {
		t.Errorf("the pod after its terminal container ended: %s", st)
	}

	shared := t.TempDir()
	counter := filepath.Join(shared, "n")
	work := bundle(t, "sh", "-c", `i=0; while :; do i=$((i+1)); echo $i >/data/n; sleep 0.1; done`)
	podBundle(t, work, "p")
	editBundle(t, work, func(spec map[string]any) {
		spec["mounts"] = append(spec["mounts"].([]any), map[string]any{"destination": "/data", "type": "bind", "source": shared, "options": []string{"rbind", "rw"}})
	})
	r.create(work, "w")
	r.must("start", "w")
	read := func() string {
		b, _ := os.ReadFile(counter)
		return strings.TrimSpace(string(b))
	}
	waitFor(t, "w's counter", func() bool { return read() != "" && read() != "1" })
	r.must("pause", "w")
	if st := r.status("w"); st != "paused" {
		t.Errorf("w after pause: %s", st)
	}
	if st := r.status("p"); st != "running" {
		t.Errorf("the pod after w's pause: %s", st)
	}
	frozen := read()
	time.Sleep(time.Second)
	if now := read(); now != frozen {
		t.Errorf("w's counter went from %s to %s while it was paused", frozen, now)
	}
	r.must("resume", "w")
	waitFor(t, "w's counter after resume", func() bool { return read() != frozen })
	// Its own cgroup in the guest, the pod's other containers' alone.
	r.must("update", "--pids-limit", "50", "w")
	if got := r.must("exec", "w", "cat", "/sys/fs/cgroup/pids.max"); got != "50\n" {
		t.Errorf("w's pids.max after update: %q", got)
	}
	if got := r.must("exec", "p", "cat", "/sys/fs/cgroup/pids.max"); got == "50\n" {
		t.Errorf("the pod's sandbox container's pids.max after w's update: %q", got)
	}

	// A missing bind source: refused before anything is mounted.
	bad := bundle(t, "sleep", "1000")
	podBundle(t, bad, "p")
	editBundle(t, bad, func(spec map[string]any) {
		spec["mounts"] = append(spec["mounts"].([]any), map[string]any{"destination": "/data", "type": "bind", "source": "/nonexistent/magawa", "options": []string{"rbind"}})
	})
	if _, errOut, code := r.run("", "create", "--bundle", bad, "vmbad"); code == 0 || !strings.Contains(errOut, "/nonexistent/magawa") {
		t.Errorf("create with a missing bind source: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(r.root, "vmbad")); err == nil {
		t.Error("the failed container's state was left")
	}
	podShare := filepath.Join(r.root, "p", "pod")
	if left := mountsUnder(filepath.Join(podShare, "vmbad")); len(left) != 0 {
		t.Errorf("the failed container left mounts: %v", left)
	}

	// The pod goes first, forced, with w running.
	r.must("delete", "--force", "p")
	if left := r.qemus(); len(left) != 0 {
		t.Errorf("QEMU left after the pod's delete: %v", left)
	}
	if left := mountsUnder(r.root); len(left) != 0 {
		t.Errorf("mounts left after the pod's delete: %v", left)
	}
	r.waitStatus("w", "stopped")
	r.must("delete", "w")
	if entries, _ := os.ReadDir(r.root); len(entries) != 0 {
		t.Errorf("state left behind: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(work, "rootfs", "bin", "busybox")); err != nil {
		t.Errorf("w's image after the pod's delete: %v", err)
	}
}

// TestVMPodUserNamespace runs a pod as Kubernetes runs one with
// `hostUsers: false`: the sandbox container and the pod's other
// container with the same ID maps share one user namespace in the
// guest, which owns the pod's IPC namespace (so the container can mount
// its /dev/mqueue there).
func TestVMPodUserNamespace(t *testing.T) {
	r := newRuntime(t)
	userNS := func(dir string) {
		editBundle(t, dir, func(spec map[string]any) {
			linux := spec["linux"].(map[string]any)
			linux["namespaces"] = append(linux["namespaces"].([]any), map[string]any{"type": "user"})
			linux["uidMappings"] = []map[string]any{{"containerID": 0, "hostID": 100000, "size": 65536}}
			linux["gidMappings"] = []map[string]any{{"containerID": 0, "hostID": 100000, "size": 65536}}
		})
		if err := filepath.WalkDir(filepath.Join(dir, "rootfs"), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, 100000, 100000)
		}); err != nil {
			t.Fatal(err)
		}
		os.Symlink("busybox", filepath.Join(dir, "rootfs", "bin", "readlink"))
	}
	pod := bundle(t, "sleep", "1000")
	podBundle(t, pod, "")
	userNS(pod)
	r.create(pod, "p")
	r.must("start", "p")
	member := bundle(t, "sleep", "1000")
	podBundle(t, member, "p")
	userNS(member)
	r.create(member, "m")
	r.must("start", "m")
	ns := func(id string) string {
		return r.must("exec", id, "sh", "-c", "id -u; readlink /proc/1/ns/user; readlink /proc/1/ns/ipc; grep -c mqueue /proc/self/mountinfo")
	}
	if p, m := ns("p"), ns("m"); p != m || !strings.HasPrefix(m, "0\nuser:[") || !strings.HasSuffix(m, "\n1\n") {
		t.Errorf("the sandbox container's user, user and IPC namespaces and mqueue mounts:\n%s\nthe other container's:\n%s\nwant the same, as root, with /dev/mqueue", p, m)
	}
	r.must("delete", "--force", "m")
	r.must("delete", "--force", "p")
}
