package vm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The pod's share on a real host: what the runtime mounts under it
// reaches a supervisor's mount namespace made as boot.Launch makes a
// pod's (cloned, propagation kept, made slaves by the supervisor) and
// QEMU's jail there (a bind of the share), read-only where it should
// be; nothing the supervisor mounts comes back; delete unmounts it there
// too, and never removes a file through a mount.

// podChildEnv makes the test binary a stand-in supervisor
// (podShareChild).
const podChildEnv = "MAGAWA_TEST_POD_SUPERVISOR"

func TestMain(m *testing.M) {
	if os.Getenv(podChildEnv) != "" {
		os.Exit(podShareChild())
	}
	os.Exit(m.Run())
}

// podShareChild does what the supervisor does with the pod's share
// (makeMountsSlaves, then the jail's bind of it), then answers the
// parent's questions about what it sees there, a line each:
// "read PATH", "write PATH", "exists PATH", "mounts PATH" (how many
// there are at or under it), PATH relative to the jail's share.
func podShareChild() int {
	pod, jail := os.Getenv("POD"), os.Getenv("JAIL")
	fail := func(err error) int {
		fmt.Printf("error %v\n", err)
		return 1
	}
	if err := makeMountsSlaves(); err != nil {
		return fail(err)
	}
	if err := unix.Mount("tmpfs", jail, "tmpfs", 0, "size=1m"); err != nil {
		return fail(err)
	}
	share := filepath.Join(jail, "share", PodShareTag)
	if err := bind(pod, share, true); err != nil {
		return fail(err)
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		verb, rel, _ := strings.Cut(in.Text(), " ")
		p := filepath.Join(share, rel)
		switch verb {
		case "read":
			b, err := os.ReadFile(p)
			if err != nil {
				fmt.Printf("error %v\n", errors.Unwrap(err))
				continue
			}
			fmt.Printf("%q\n", b)
		case "write":
			err := os.WriteFile(p, []byte("guest\n"), 0o644)
			if err != nil {
				fmt.Printf("error %v\n", errors.Unwrap(err))
				continue
			}
			fmt.Println("ok")
		case "exists":
			_, err := os.Lstat(p)
			fmt.Println(err == nil)
		case "mounts":
			points, err := mountsUnder(p)
			if err != nil {
				fmt.Printf("error %v\n", err)
				continue
			}
			fmt.Println(len(points))
		}
	}
	return 0
}

type podChild struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func (c *podChild) ask(q string) string {
	c.t.Helper()
	fmt.Fprintln(c.in, q)
	if !c.out.Scan() {
		c.t.Fatalf("the supervisor's stand-in did not answer %q", q)
	}
	return c.out.Text()
}

func startPodChild(t *testing.T, pod, jail string) *podChild {
	t.Helper()
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = []string{podChildEnv + "=1", "POD=" + pod, "JAIL=" + jail}
	cmd.Stderr = os.Stderr
	// As boot.Launch with KeepMountPropagation.
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &podChild{t: t, cmd: cmd, in: in, out: bufio.NewScanner(out)}
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	if !c.out.Scan() || c.out.Text() != "ready" {
		t.Fatalf("the supervisor's stand-in: %q", c.out.Text())
	}
	return c
}

func TestPodShare(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts")
	}
	tmp := t.TempDir()
	state := filepath.Join(tmp, "state")
	image := filepath.Join(tmp, "image")
	volume := filepath.Join(tmp, "volume")
	jail := filepath.Join(state, jailDirName)
	for _, d := range []string{state, image, volume, jail} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(image, "marker"), []byte("image\n"), 0o644)
	os.WriteFile(filepath.Join(volume, "data"), []byte("volume\n"), 0o644)
	hosts := filepath.Join(tmp, "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1 localhost\n"), 0o644)

	pod, err := MakePodDir(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unmountUnder(pod) })
	if !HasPodDir(state) {
		t.Fatal("HasPodDir: false after MakePodDir")
	}
	child := startPodChild(t, pod, jail)
	// The stand-in's jail is its own.
	if points, _ := mountsUnder(jail); len(points) != 0 {
		t.Errorf("the supervisor's mounts reached the host: %v", points)
	}

	cfg := Config{ID: "web", RootDir: image, Mounts: []Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/data", Type: "bind", Source: volume, Options: []string{"rbind", "rw"}},
		{Destination: "/etc/hosts", Type: "bind", Source: hosts, Options: []string{"rbind", "ro"}},
	}}
	if err := StageInPod(pod, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.RootDir != "/web/root" || cfg.Mounts[0].Source != "proc" || cfg.Mounts[1].Source != "/web/m1" || cfg.Mounts[2].Source != "/web/m2" {
		t.Errorf("the paths in the share: root %q, mounts %+v", cfg.RootDir, cfg.Mounts)
	}
	for _, c := range []struct{ q, want string }{
		{"mounts web", "3"},
		{"read web/root/marker", `"image\n"`},
		// The image is read-only to the guest, whatever QEMU may do.
		{"write web/root/new", "error read-only file system"},
		{"read web/m1/data", `"volume\n"`},
		{"write web/m1/new", "ok"},
		{"read web/m2", `"127.0.0.1 localhost\n"`},
		{"write web/m2", "error read-only file system"},
	} {
		if got := child.ask(c.q); got != c.want {
			t.Errorf("%s in the supervisor's jail: %s, want %s", c.q, got, c.want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(volume, "new")); err != nil || string(b) != "guest\n" {
		t.Errorf("the volume on the host after the guest's write: %q, %v", b, err)
	}
	if err := StageInPod(pod, &Config{ID: "web", RootDir: image}); err == nil {
		t.Error("a second StageInPod of the same ID succeeded")
	}

	if err := UnstageFromPod(pod, "web"); err != nil {
		t.Fatal(err)
	}
	if got := child.ask("mounts web"); got != "0" {
		t.Errorf("web's mounts in the jail after UnstageFromPod: %s", got)
	}
	if got := child.ask("exists web"); got != "false" {
		t.Errorf("web in the jail after UnstageFromPod: exists %s", got)
	}
	if points, _ := mountsUnder(filepath.Join(pod, "web")); len(points) != 0 {
		t.Errorf("left mounted on the host: %v", points)
	}

	// A container still staged when the pod's sandbox goes: its mounts
	// go with the share, its files stay.
	cfg = Config{ID: "client", RootDir: image, Mounts: []Mount{{Destination: "/data", Type: "bind", Source: volume, Options: []string{"bind"}}}}
	if err := StageInPod(pod, &cfg); err != nil {
		t.Fatal(err)
	}
	if got := child.ask("read client/root/marker"); got != `"image\n"` {
		t.Errorf("client's root in the jail: %s", got)
	}
	if err := RemovePodDir(state); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pod); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the pod's share after RemovePodDir: %v", err)
	}
	for _, f := range []string{filepath.Join(image, "marker"), filepath.Join(volume, "data"), filepath.Join(volume, "new")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s after RemovePodDir: %v", f, err)
		}
	}
	if got := child.ask("mounts client"); got != "0" {
		t.Errorf("client's mounts in the jail after RemovePodDir: %s", got)
	}
	if got := child.ask("exists client"); got != "false" {
		t.Errorf("client in the jail after RemovePodDir: exists %s", got)
	}
}

// TestMountsUnderEscapes checks mountsUnder and isMountPoint with a
// mount point whose name mountinfo escapes (a space, a backslash).
func TestMountsUnderEscapes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	dir := filepath.Join(t.TempDir(), `a b\c`)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("mounting a tmpfs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	if points, err := mountsUnder(filepath.Dir(dir)); err != nil || len(points) != 1 || points[0] != dir {
		t.Errorf("mountsUnder(%q) = %q, %v; want [%q]", filepath.Dir(dir), points, err, dir)
	}
	if ok, err := isMountPoint(dir); err != nil || !ok {
		t.Errorf("isMountPoint(%q) = %v, %v", dir, ok, err)
	}
	if ok, err := isMountPoint(filepath.Dir(dir)); err != nil || ok {
		t.Errorf("isMountPoint(%q) = %v, %v; want false", filepath.Dir(dir), ok, err)
	}
}
