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
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
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
	r.create(dir, "vmlife")
	if st := r.status("vmlife"); st != "created" {
		t.Errorf("after create: %s", st)
	}
	r.must("start", "vmlife")
	if st := r.status("vmlife"); st != "running" {
		t.Errorf("after start: %s", st)
	}
	out, errOut, code := r.run("input\n", "exec", "vmlife", "sh", "-c", "cat; echo exec in $(hostname); exit 5")
	if code != 5 || out != "input\nexec in vmtest\n" {
		t.Errorf("exec: exit %d, stdout %q, stderr %q; want 5, the input and the hostname", code, out, errOut)
	}
	if _, errOut, code := r.run("", "exec", "vmlife", "nonexistent-program"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("exec of a missing program: exit %d, %q", code, errOut)
	}
	if ps := r.must("ps", "vmlife"); !strings.Contains(ps, "sleep 600") {
		t.Errorf("ps: %q", ps)
	}
	var hostPids []int
	json.Unmarshal([]byte(r.must("ps", "--format", "json", "vmlife")), &hostPids)
	if len(hostPids) < 2 {
		t.Errorf("ps --format json = %v: want the supervisor and QEMU", hostPids)
	}
	if len(r.qemus()) != 1 {
		t.Errorf("QEMU processes of the sandbox: %v, want one", r.qemus())
	}
	r.must("kill", "vmlife", "KILL")
	deadline := time.Now().Add(30 * time.Second)
	for r.status("vmlife") != "stopped" {
		if time.Now().After(deadline) {
			t.Fatal("the container did not stop after kill")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.must("delete", "vmlife")
	for _, pid := range hostPids {
		if alive(pid) {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			t.Errorf("host process %d of the sandbox (%q) is still there after delete", pid, cmdline)
		}
	}
	if _, err := os.Stat(filepath.Join(r.root, "vmlife")); err == nil {
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
		cmd := r.cmd(append(tc.flags, "create", "--bundle", dir, "vmbad")...)
		cmd.Stdout, cmd.Stderr = f, f
		err = cmd.Run()
		f.Close()
		out, _ := os.ReadFile(f.Name())
		if err == nil {
			t.Errorf("%s: create succeeded", tc.name)
			r.must("delete", "--force", "vmbad")
			continue
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: %q, want it to say %q", tc.name, out, tc.want)
		}
		if _, err := os.Stat(filepath.Join(r.root, "vmbad")); err == nil {
			t.Errorf("%s: a failed create left its state directory", tc.name)
		}
		if q := r.qemus(); len(q) > 0 {
			t.Errorf("%s: QEMU left running: %v", tc.name, q)
		}
	}
}

// screen is the master of a terminal, as a terminal emulator or conmon
// holds it: what it reads is collected, keys are typed on it, and it is
// resized (TIOCSWINSZ on the master, as conmon and containerd do).
type screen struct {
	t      *testing.T
	master *os.File
	mu     sync.Mutex
	out    strings.Builder
}

// newScreen collects what master reads; the screen owns master.
func newScreen(t *testing.T, master *os.File) *screen {
	s := &screen{t: t, master: master}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { master.Close() })
	return s
}

// output is what the screen read so far, carriage returns and all.
func (s *screen) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func (s *screen) waitFor(want string, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(s.output(), want) {
		if time.Now().After(deadline) {
			s.t.Fatalf("%q not shown within %v; the terminal shows %q", want, timeout, s.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *screen) typeIn(keys string) {
	s.t.Helper()
	if _, err := s.master.Write([]byte(keys)); err != nil {
		s.t.Fatalf("typing %q: %v", keys, err)
	}
}

func (s *screen) resize(rows, cols uint16) {
	s.t.Helper()
	if err := ioctlWinsize(s.master, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		s.t.Fatalf("TIOCSWINSZ: %v", err)
	}
}

func ioctlWinsize(f *os.File, req uint, ws *unix.Winsize) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = unix.IoctlSetWinsize(int(fd), req, ws) }); err != nil {
		return err
	}
	return ioErr
}

// hostPTY opens a pseudo-terminal of the host of rows×cols: its
// master's screen and its slave, which magawa runs on as on a user's
// terminal.
func hostPTY(t *testing.T, rows, cols uint16) (*screen, *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ioErr error
	rc, _ := m.SyscallConn()
	rc.Control(func(fd uintptr) {
		if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr == nil {
			n, ioErr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	})
	if ioErr != nil {
		m.Close()
		t.Fatalf("unlocking the host pty: %v", ioErr)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	s := newScreen(t, m)
	s.resize(rows, cols)
	return s, slave
}

func termios(t *testing.T, f *os.File) unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatalf("TCGETS: %v", err)
	}
	return *tio
}

// consoleSocket listens on a Unix socket for the masters that
// --console-socket sends, as conmon and containerd's shim do.
func consoleSocket(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	masters := make(chan *os.File, 4)
	go func() {
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			buf, oob := make([]byte, 64), make([]byte, 64)
			_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			c.Close()
			if err != nil {
				continue
			}
			msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
			for _, m := range msgs {
				fds, _ := unix.ParseUnixRights(&m)
				for _, fd := range fds {
					// Non-blocking, so that Close ends the screen's reader.
					unix.SetNonblock(fd, true)
					masters <- os.NewFile(uintptr(fd), "console-master")
				}
			}
		}
	}()
	return path, masters
}

func receiveMaster(t *testing.T, masters <-chan *os.File) *os.File {
	t.Helper()
	select {
	case m := <-masters:
		return m
	case <-time.After(time.Minute):
		t.Fatal("no terminal master came over the console socket")
		return nil
	}
}

// terminalBundle is a bundle running script with process.terminal set
// (of rows×cols, unless zero) and the applets a terminal needs.
func terminalBundle(t *testing.T, rows, cols int, script string) string {
	t.Helper()
	dir := bundle(t, "sh", "-c", script)
	for _, applet := range []string{"tty", "stty"} {
		os.Symlink("busybox", filepath.Join(dir, "rootfs", "bin", applet))
	}
	var spec map[string]any
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	json.Unmarshal(raw, &spec)
	proc := spec["process"].(map[string]any)
	proc["terminal"] = true
	if rows != 0 || cols != 0 {
		proc["consoleSize"] = map[string]any{"height": rows, "width": cols}
	}
	raw, _ = json.MarshalIndent(spec, "", "\t")
	os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644)
	return dir
}

// TestVMTerminal runs a VM container on a terminal the way podman
// (conmon) and containerd do: create --console-socket, whose master
// shows the container's init on a guest terminal of process.consoleSize
// (its /dev/pts/0, its /dev/console), takes its input and passes its
// resizes on as SIGWINCH; then exec -t on another console socket, on a
// host terminal (an interactive shell: ^C, a resize, the exit status,
// the terminal restored) and on pipes (the end of input is VEOF); and
// the console's hangup, which the init gets as SIGHUP.
func TestVMTerminal(t *testing.T) {
	r := newRuntime(t)
	dir := terminalBundle(t, 30, 100, `tty; stty size; echo hello from the console
read line; echo "got $line"
[ -c /dev/console ] && echo "console $(stty size </dev/console)"
trap 'echo "resized $(stty size)"' WINCH
trap 'exit 9' HUP
echo waiting
while :; do sleep 0.1; done`)
	sock, masters := consoleSocket(t)
	createOut, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer createOut.Close()
	debugLog := filepath.Join(t.TempDir(), "debug.log")
	create := r.cmd("--debug-log", debugLog, "create", "--bundle", dir, "--console-socket", sock, "term")
	create.Stdout, create.Stderr = createOut, createOut
	if err := create.Run(); err != nil {
		b, _ := os.ReadFile(createOut.Name())
		t.Fatalf("create --console-socket: %v\n%s", err, b)
	}
	console := newScreen(t, receiveMaster(t, masters))
	r.must("start", "term")
	console.waitFor("hello from the console\r\n", time.Minute)
	// What TestOCIConsoleSocket asks of runc and of the application
	// kernel: the guest's line discipline turns "\n" into "\r\n", the
	// host's adds nothing.
	if want := "/dev/pts/0\r\n30 100\r\nhello from the console\r\n"; !strings.HasPrefix(console.output(), want) {
		t.Errorf("the console shows %q, want %q first", console.output(), want)
	}
	// Typed: the guest's terminal echoes it and makes the Enter key's
	// "\r" a "\n".
	console.typeIn("a line\r")
	console.waitFor("a line\r\ngot a line\r\n", 30*time.Second)
	console.waitFor("console 30 100\r\n", 30*time.Second)
	console.waitFor("waiting\r\n", 30*time.Second)
	console.resize(50, 132)
	console.waitFor("resized 50 132\r\n", 30*time.Second)

	t.Run("exec console socket", func(t *testing.T) {
		done := make(chan int, 1)
		var errOut strings.Builder
		cmd := r.cmd("exec", "-t", "--console-socket", sock, "term", "sh", "-c",
			`tty; stty size; read l; echo "exec got $l"; trap 'echo "exec resized $(stty size)"; exit 5' WINCH; echo exec-waiting; while :; do sleep 0.1; done`)
		cmd.Stderr = &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			cmd.Wait()
			done <- cmd.ProcessState.ExitCode()
		}()
		s := newScreen(t, receiveMaster(t, masters))
		// Its own terminal: the init has /dev/pts/0.
		s.waitFor("/dev/pts/1\r\n30 100\r\n", 30*time.Second)
		s.typeIn("typed\r")
		s.waitFor("exec got typed\r\n", 30*time.Second)
		s.waitFor("exec-waiting\r\n", 30*time.Second)
		s.resize(40, 120)
		s.waitFor("exec resized 40 120\r\n", 30*time.Second)
		select {
		case code := <-done:
			if code != 5 {
				t.Errorf("exec: exit %d, want 5 (stderr %q; the terminal shows %q)", code, errOut.String(), s.output())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("exec did not end; the terminal shows %q", s.output())
		}
	})

	t.Run("exec host terminal", func(t *testing.T) {
		s, slave := hostPTY(t, 24, 80)
		before := termios(t, slave)
		cmd := r.cmd("exec", "-t", "term", "sh", "-i")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan int, 1)
		go func() {
			cmd.Wait()
			done <- cmd.ProcessState.ExitCode()
		}()
		t.Cleanup(func() { cmd.Process.Kill() })
		s.typeIn("PS1='$ '; echo job$((6*7)); stty size\r")
		s.waitFor("job42\r\n24 80\r\n", 30*time.Second)
		// The host terminal is raw meanwhile: ^C is a byte for the
		// guest's terminal, whose SIGINT ends the foreground job only.
		if raw := termios(t, slave); raw.Lflag&(unix.ICANON|unix.ISIG|unix.ECHO) != 0 || raw.Oflag&unix.OPOST != 0 {
			t.Errorf("the host terminal is not in raw mode while the process runs: lflag %#x oflag %#x", raw.Lflag, raw.Oflag)
		}
		s.typeIn("sleep 30\r")
		time.Sleep(500 * time.Millisecond)
		typed := time.Now()
		s.typeIn("\x03")
		s.typeIn("echo back$((1+1))\r")
		s.waitFor("back2\r\n", 20*time.Second)
		if d := time.Since(typed); d > 10*time.Second {
			t.Errorf("^C took %v to end sleep", d)
		}
		// Not the supervisor's controlling terminal: it looks at the
		// size, a few times a second.
		s.resize(33, 99)
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(s.output(), "\r\n33 99\r\n") {
			if time.Now().After(deadline) {
				t.Fatalf("the resize did not reach the guest; the terminal shows %q", s.output())
			}
			s.typeIn("stty size\r")
			time.Sleep(500 * time.Millisecond)
		}
		s.typeIn("exit 6\r")
		select {
		case code := <-done:
			if code != 6 {
				t.Errorf("exec: exit %d, want 6; the terminal shows %q", code, s.output())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("exec did not end; the terminal shows %q", s.output())
		}
		if strings.Contains(s.output(), "\r\r\n") {
			t.Errorf("newlines converted twice: %q", s.output())
		}
		if after := termios(t, slave); after != before {
			t.Errorf("host terminal settings not restored:\nbefore %+v\nafter  %+v", before, after)
		}
	})

	t.Run("exec pipes", func(t *testing.T) {
		// -t without a terminal on the host: the guest's all the same,
		// fed from the pipe, whose end is the terminal's VEOF.
		out, errOut, code := r.run("one\ntwo\n", "exec", "-t", "term", "sh", "-c", `tty; while read l; do echo "got $l"; done; echo eof`)
		if code != 0 {
			t.Errorf("exec: exit %d, stderr %q", code, errOut)
		}
		for _, want := range []string{"/dev/pts/", "got one\r\n", "got two\r\n", "eof\r\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("exec -t on pipes: stdout %q lacks %q (stderr %q)", out, want, errOut)
			}
		}
	})

	// The console's owner goes: its terminal hangs up, and the init,
	// the leader of its session, gets SIGHUP as from a terminal of its
	// own.
	console.master.Close()
	deadline := time.Now().Add(30 * time.Second)
	for r.status("term") != "stopped" {
		if time.Now().After(deadline) {
			t.Fatal("the container did not stop after its console hung up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b, _ := os.ReadFile(debugLog); !strings.Contains(string(b), "container exited with status 9") {
		t.Errorf("the init did not exit of its SIGHUP trap; the supervisor's log:\n%s", b)
	}
	r.must("delete", "term")
}

// TestVMTerminalRun runs a terminal container in the foreground on the
// caller's terminal, as `runc run` does without a console socket: the
// guest's terminal has the host terminal's size and follows it
// (SIGWINCH: the supervisor is in the caller's foreground process
// group), the host terminal is raw while it runs and as it was after,
// and run exits with the container's status.
func TestVMTerminalRun(t *testing.T) {
	r := newRuntime(t)
	dir := terminalBundle(t, 0, 0, `tty; stty size; read line; echo "got $line"
trap 'echo "resized $(stty size)"; exit 4' WINCH
echo ready; while :; do sleep 0.1; done`)
	s, slave := hostPTY(t, 37, 91)
	before := termios(t, slave)
	run := r.cmd("run", "--bundle", dir, "termrun")
	run.Stdin, run.Stdout, run.Stderr = slave, slave, slave
	run.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		run.Wait()
		done <- run.ProcessState.ExitCode()
	}()
	t.Cleanup(func() { run.Process.Kill() })
	s.waitFor("/dev/pts/0\r\n37 91\r\n", 2*time.Minute)
	if raw := termios(t, slave); raw.Lflag&(unix.ICANON|unix.ISIG|unix.ECHO) != 0 {
		t.Errorf("the host terminal is not in raw mode while the container runs: lflag %#x", raw.Lflag)
	}
	s.typeIn("from the keyboard\r")
	s.waitFor("got from the keyboard\r\n", 30*time.Second)
	s.waitFor("ready\r\n", 30*time.Second)
	s.resize(50, 132)
	s.waitFor("resized 50 132\r\n", 30*time.Second)
	select {
	case code := <-done:
		if code != 4 {
			t.Errorf("run: exit %d, want 4; the terminal shows %q", code, s.output())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not end; the terminal shows %q", s.output())
	}
	if strings.Contains(s.output(), "\r\r\n") {
		t.Errorf("newlines converted twice: %q", s.output())
	}
	if after := termios(t, slave); after != before {
		t.Errorf("host terminal settings not restored:\nbefore %+v\nafter  %+v", before, after)
	}
	if entries, _ := os.ReadDir(r.root); len(entries) != 0 {
		t.Errorf("run left state behind: %v", entries)
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
	r.create(dir, "vmuserns")
	r.must("start", "vmuserns")
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
	stdout, stderr, code := r.run("", "exec", "vmuserns", "sh", "-c", script)
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
	if out := r.must("exec", "--user", "1000:1000", "vmuserns", "id"); out != "uid=1000 gid=1000\n" {
		t.Errorf("exec --user 1000:1000 in the namespace: %q", out)
	}
	r.must("kill", "vmuserns", "KILL")
	r.waitStatus("vmuserns", "stopped")
	r.must("delete", "vmuserns")
}
