package gofer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	goferfs "magawa/kernel/fs/gofer"
	"magawa/kernel/fs/gofer/wire"
)

// TestConfinement checks what the gofer process can see and do, from
// the outside: its own mount namespace, a root holding nothing but the
// exports, no kernel file systems, and only its five capabilities.
func TestConfinement(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	mkfile(t, base+"/secret", secret)
	mkfile(t, base+"/export/inside", "INSIDE")
	// A host directory descriptor without close-on-exec, as a careless
	// caller might leave one: the gofer must not keep it.
	leak, err := unix.Open(base, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	g, c := confined(t, Export{Path: base + "/export"}, Export{Path: "/", ReadOnly: true})
	unix.Close(leak)
	pid := g.Pid()
	proc := fmt.Sprintf("/proc/%d", pid)

	// The only directories it holds open are its exports' roots.
	fds, err := os.ReadDir(proc + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, _ := os.Readlink(proc + "/fd/" + fd.Name())
		st, err := os.Stat(proc + "/fd/" + fd.Name())
		if err == nil && st.IsDir() && target != "/0" && target != "/1" {
			t.Errorf("the gofer holds descriptor %s of directory %s", fd.Name(), target)
		}
	}

	ours, _ := os.Readlink("/proc/self/ns/mnt")
	theirs, err := os.Readlink(proc + "/ns/mnt")
	if err != nil || theirs == ours {
		t.Errorf("mount namespace %q (%v), ours %q", theirs, err, ours)
	}
	// The root holds the exports and nothing else.
	ents, err := os.ReadDir(proc + "/root")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"0", "1"}) {
		t.Errorf("the gofer's root holds %v", names)
	}
	if _, err := os.Stat(proc + "/root/secret"); err == nil {
		t.Errorf("the secret is visible in the gofer's root")
	}
	if b, err := os.ReadFile(proc + "/root/0/inside"); err != nil || string(b) != "INSIDE" {
		t.Errorf("export 0 in the gofer: %q %v", b, err)
	}
	// No kernel file system anywhere; the host's /proc, /sys and /dev
	// are empty read-only tmpfs in the export of /.
	info, err := os.ReadFile(proc + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := parseMountinfo(bytes.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range entries {
		if kernelFSTypes[m.fsType] {
			t.Errorf("kernel file system %s at %s", m.fsType, m.point)
		}
	}
	for _, d := range hiddenDirs {
		ents, err := os.ReadDir(proc + "/root/1" + d)
		if err != nil || len(ents) != 0 {
			t.Errorf("%s in the export of /: %d entries, %v", d, len(ents), err)
		}
	}
	for _, line := range strings.Split(string(info), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		opts := "," + f[5] + ","
		if !strings.Contains(opts, ",nodev,") || !strings.Contains(opts, ",nosuid,") {
			t.Errorf("mount without nodev,nosuid: %s", line)
		}
		if strings.HasPrefix(f[4], "/1") && !strings.Contains(opts, ",ro,") {
			t.Errorf("read-only export's mount is writable: %s", line)
		}
	}
	// Capabilities and no_new_privs, on every thread.
	tasks, _ := os.ReadDir(proc + "/task")
	if len(tasks) == 0 {
		t.Fatal("no threads")
	}
	for _, task := range tasks {
		status, err := os.ReadFile(proc + "/task/" + task.Name() + "/status")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"CapInh:\t0000000000000000", "CapPrm:\t000000000000001f", "CapEff:\t000000000000001f",
			"CapBnd:\t000000000000001f", "CapAmb:\t0000000000000000", "NoNewPrivs:\t1",
		} {
			if !strings.Contains(string(status), want+"\n") {
				t.Errorf("thread %s: no %q in its status", task.Name(), want)
			}
		}
	}
	// Through the client: the host's / export shows /proc empty, and
	// host files are the host's.
	w := newWorld(t, c, 1)
	for _, d := range hiddenDirs {
		if names, err := w.list(d); err != nil || len(names) != 0 {
			t.Errorf("list %s: %v %v", d, names, err)
		}
	}
	host, err := os.ReadFile("/etc/os-release")
	if err == nil {
		if got := w.mustRead("/etc/os-release"); got != string(host) {
			t.Errorf("/etc/os-release differs")
		}
	}
	if _, err := w.read("/proc/self/status"); err != unix.ENOENT {
		t.Errorf("read /proc/self/status: %v, want ENOENT", err)
	}
	// The secret, by its host path in the export of /, is there (it is
	// inside that export): the separation is per export, not a filter.
	if got := w.mustRead(base + "/secret"); got != secret {
		t.Errorf("host path through the export of /: %q", got)
	}
	// But export 0 has no way up to it.
	w0 := newWorld(t, c, 0)
	if _, err := w0.read("/../secret"); err != unix.ENOENT {
		t.Errorf("export 0 /../secret: %v", err)
	}
}

// TestRefusesHostNamespace runs the verb the way a user might, in our
// own mount namespace: it must refuse before touching any mount.
func TestRefusesHostNamespace(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	fds, err := wire.SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	child := os.NewFile(uintptr(fds[1]), "control")
	defer child.Close()
	var ns unix.Stat_t
	unix.Stat("/proc/self/ns/mnt", &ns)
	for _, args := range [][]string{
		{"gofer", "--control-fd=3", "--", "ro:/"},
		{"gofer", "--control-fd=3", fmt.Sprintf("--not-mntns=%d:%d", ns.Dev, ns.Ino), "--", "ro:/"},
	} {
		cmd := exec.Command(exe, args...)
		cmd.ExtraFiles = []*os.File{child}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "refusing") {
			t.Errorf("%v: %v, %s", args, err, out)
		}
	}
}

// TestStartFailure reports a gofer that cannot start.
func TestStartFailure(t *testing.T) {
	requireRoot(t)
	exe, _ := os.Executable()
	_, err := Start(Config{Exports: []Export{{Path: "/nonexistent-export"}}, Exe: exe})
	if err == nil || !strings.Contains(err.Error(), "nonexistent-export") {
		t.Errorf("Start with a missing export: %v", err)
	}
	_, err = Start(Config{Exports: []Export{{Path: "/proc"}}, Exe: exe})
	if err == nil || !strings.Contains(err.Error(), "kernel file system") {
		t.Errorf("Start with /proc as an export: %v", err)
	}
	_, err = Start(Config{Exports: []Export{{Path: "/"}}, Exe: "/bin/true"})
	if err == nil {
		t.Errorf("Start of a binary that does not serve succeeded")
	}
}

// TestMagawaBinary starts the gofer from the real magawa binary, as
// `magawa do` will.
func TestMagawaBinary(t *testing.T) {
	requireRoot(t)
	if testing.Short() {
		t.Skip("builds the magawa binary")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir() + "/magawa"
	build := exec.Command("go", "build", "-o", bin, "./cmd/magawa")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "gofer") {
			t.Fatalf("building magawa: %v\n%s", err, out)
		}
		skip(t, "magawa does not build (not our packages):\n%s", out)
	}
	dir := t.TempDir()
	mkfile(t, dir+"/f", "from the magawa binary")
	g, err := Start(Config{Exports: []Export{{Path: dir, ReadOnly: true}}, Exe: bin, Stderr: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Client(goferfs.ClientOptions{})
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	w := newWorld(t, c, 0)
	if got := w.mustRead("/f"); got != "from the magawa binary" {
		t.Errorf("read %q", got)
	}
	c.Close()
	done := make(chan struct{})
	go func() { g.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("the gofer did not exit with its client")
		g.Close()
	}
	// The verb is hidden from the usage.
	out, _ := exec.Command(bin, "--help").CombinedOutput()
	if strings.Contains(string(out), "gofer") {
		t.Errorf("usage lists the hidden verb:\n%s", out)
	}
}

// TestFileExport serves a single file: the gofer shows a directory
// holding it alone, and its host siblings are out of reach.
func TestFileExport(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	mkfile(t, base+"/etc/resolv.conf", "nameserver 10.0.0.1\n")
	mkfile(t, base+"/etc/shadow", secret)
	g, c := confined(t, Export{Path: base + "/etc/resolv.conf", ReadOnly: true}, Export{Path: base + "/etc/resolv.conf"})
	w := newWorld(t, c, 0)
	names, err := w.list("/")
	if err != nil || !slices.Equal(names, []string{"resolv.conf"}) {
		t.Errorf("list / = %v, %v", names, err)
	}
	if got := w.mustRead("/resolv.conf"); got != "nameserver 10.0.0.1\n" {
		t.Errorf("read %q", got)
	}
	for _, name := range []string{"/shadow", "/../shadow", "/resolv.conf/../shadow"} {
		if got, _ := w.read(name); strings.Contains(got, "SECRET") {
			t.Errorf("%s: read the sibling", name)
		}
	}
	if _, err := w.open("/resolv.conf", unix.O_WRONLY, 0); err != unix.EROFS {
		t.Errorf("write open of the read-only file: %v", err)
	}
	// The read-write export of the same file writes through.
	w1 := newWorld(t, c, 1)
	f, err := w1.open("/resolv.conf", unix.O_WRONLY|unix.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Impl.WriteAt([]byte("nameserver 10.0.0.2\n"), 0)
	f.DecRef()
	if b, _ := os.ReadFile(base + "/etc/resolv.conf"); string(b) != "nameserver 10.0.0.2\n" {
		t.Errorf("host file: %q", b)
	}
	// Nothing can be made next to it.
	if err := w1.v.Mkdir(w1.ctx, w1.ctx.Cwd, "/planted", 0o755); err != unix.EROFS {
		t.Errorf("mkdir next to a file export: %v", err)
	}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/root/0", g.Pid()))
	if len(ents) != 1 {
		t.Errorf("the gofer's /0 holds %d entries", len(ents))
	}
}

func TestHiddenMounts(t *testing.T) {
	info := `1 0 0:40 / / ro - tmpfs none rw
2 1 8:1 / /0 rw - ext4 /dev/sda rw
3 1 8:1 / /1 ro - ext4 /dev/sda rw
4 3 0:21 / /1/proc rw - proc proc rw
5 3 0:6 / /1/dev rw - devtmpfs devtmpfs rw
6 5 0:23 / /1/dev/shm rw - tmpfs tmpfs rw
7 3 0:30 / /1/run rw - tmpfs tmpfs rw
8 7 0:4 net:[1] /1/run/netns/x rw - nsfs nsfs rw
9 2 0:6 / /0/a\040b rw - devtmpfs devtmpfs rw
10 2 0:23 / /0/shm rw - tmpfs tmpfs rw
11 1 8:1 /etc/resolv.conf /2/resolv.conf rw - ext4 /dev/sda rw
`
	m, err := parseMountinfo(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	if m[8].point != "/0/a b" {
		t.Errorf("unescaping: %q", m[8].point)
	}
	got := hiddenMounts(m, map[uint64]bool{unix.Mkdev(0, 23): true}, []string{"/1"}, []string{"/0", "/1", "/2/resolv.conf"})
	slices.Sort(got)
	want := []string{"/0/a b", "/0/shm", "/1/dev", "/1/dev/shm", "/1/proc", "/1/run/netns/x"}
	if !slices.Equal(got, want) {
		t.Errorf("hidden = %v, want %v", got, want)
	}
	if _, err := parseMountinfo(strings.NewReader("garbage\n")); err == nil {
		t.Error("garbage parses")
	}
	if _, err := parseExports([]string{"rw:/a", "ro:/b:c"}); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]string{nil, {"/a"}, {"xx:/a"}, {"rw:a"}, {"ro:"}} {
		if _, err := parseExports(bad); err == nil {
			t.Errorf("parseExports(%q) succeeded", bad)
		}
	}
}
