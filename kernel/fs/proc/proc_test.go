package proc

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

func TestRootListing(t *testing.T) {
	w := newWorld(t)
	w.addProcess(0, 1)
	w.addProcess(0, 12, 13)
	ctx := w.ctxOf(w.k.procs[1].threads[0])
	names := w.list(ctx, "/proc")
	if names[0] != "." || names[1] != ".." {
		t.Fatalf("listing starts with %q", names[:2])
	}
	for _, want := range []string{"cpuinfo", "meminfo", "stat", "uptime", "loadavg", "version", "filesystems", "mounts", "sys", "self", "thread-self"} {
		if !slices.Contains(names, want) {
			t.Errorf("/proc lacks %s: %q", want, names)
		}
	}
	if n := len(names); names[n-2] != "1" || names[n-1] != "12" {
		t.Errorf("processes are not listed last, by ID: %q", names)
	}
	if slices.Contains(names, "13") {
		t.Errorf("a thread is listed as a process: %q", names)
	}
	if got := w.list(ctx, "/proc/12/task"); !slices.Equal(got, []string{".", "..", "12", "13"}) {
		t.Errorf("task/ = %q", got)
	}
}

func TestSelf(t *testing.T) {
	w := newWorld(t)
	p := w.addProcess(0, 5, 6)
	ctx := w.ctxOf(p.threads[1])
	if got, err := w.readlink(ctx, "/proc/self"); err != nil || got != "5" {
		t.Errorf("self -> %q, %v; want 5", got, err)
	}
	if got, err := w.readlink(ctx, "/proc/thread-self"); err != nil || got != "5/task/6" {
		t.Errorf("thread-self -> %q, %v; want 5/task/6", got, err)
	}
	if got := w.read(ctx, "/proc/self/comm"); got != "prog\n" {
		t.Errorf("self/comm = %q", got)
	}
	if got := w.read(ctx, "/proc/thread-self/status"); !strings.Contains(got, "Pid:\t6\n") || !strings.Contains(got, "Tgid:\t5\n") {
		t.Errorf("thread-self/status:\n%s", got)
	}
	// The kernel's own work has no self.
	kctx := &vfs.Context{Creds: &vfs.RootCreds, Root: w.root, Cwd: w.root}
	if _, err := w.readlink(kctx, "/proc/self"); err != unix.ENOENT {
		t.Errorf("self without a caller: %v, want ENOENT", err)
	}
}

func TestDeadProcessDisappears(t *testing.T) {
	w := newWorld(t)
	w.addProcess(0, 1)
	p := w.addProcess(0, 7)
	ctx := w.ctxOf(w.k.procs[1].threads[0])
	f, err := w.open(ctx, "/proc/7/stat", unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	w.k.mu.Lock()
	p.reaped = true
	delete(w.k.procs, 7)
	w.k.mu.Unlock()
	if _, err := w.open(ctx, "/proc/7/stat", unix.O_RDONLY); err != unix.ENOENT {
		t.Errorf("opening a reaped process's stat: %v, want ENOENT", err)
	}
	if slices.Contains(w.list(ctx, "/proc"), "7") {
		t.Error("a reaped process is listed")
	}
	if _, err := f.Impl.ReadAt(make([]byte, 10), 0); err != unix.ESRCH {
		t.Errorf("reading an open stat of a reaped process: %v, want ESRCH", err)
	}
	// A new process with the same ID has a directory of its own.
	w.addProcess(0, 7).threads[0].comm = "second"
	if got := w.read(ctx, "/proc/7/comm"); got != "second\n" {
		t.Errorf("comm of the reused ID = %q", got)
	}
}

func TestPerProcessFiles(t *testing.T) {
	w := newWorld(t)
	p := w.addProcess(0, 3)
	ctx := w.ctxOf(p.threads[0])
	for name, want := range map[string]string{
		"cmdline":   "prog\x00-v\x00",
		"environ":   "HOME=/\x00",
		"cgroup":    "0::/\n",
		"uid_map":   "         0          0 4294967295\n",
		"setgroups": "allow\n",
		"statm":     "34 17 0 1 0 33 0\n",
		"maps": "00400000-00401000 r-xp 00000000 00:00 0 \n" +
			"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n",
		"mounts":        "rootfs / rootfs rw,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n",
		"mountinfo":     "1 1 0:0 / / rw,relatime - rootfs rootfs rw\n2 1 0:0 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n",
		"oom_score_adj": "0\n",
		"auxv":          "\x06\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00",
	} {
		if got := w.read(ctx, "/proc/3/"+name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, l := range []string{"cwd", "root"} {
		if got, err := w.readlink(ctx, "/proc/3/"+l); err != nil || got != "/" {
			t.Errorf("%s -> %q, %v", l, got, err)
		}
	}
	if _, err := w.readlink(ctx, "/proc/3/exe"); err != unix.ENOENT {
		t.Errorf("exe of a process without one: %v, want ENOENT", err)
	}
	// Following cwd lands in the directory itself.
	cwd, err := w.k.v.Resolve(ctx, w.root, "/proc/3/cwd", 0)
	if err != nil || cwd != w.root {
		t.Errorf("following cwd: %v, %v", cwd, err)
	}
	if got, err := w.readlink(ctx, "/proc/3/ns/mnt"); err != nil || got != "mnt:[4026531841]" {
		t.Errorf("ns/mnt -> %q, %v", got, err)
	}
	if got, err := w.readlink(ctx, "/proc/3/ns/pid_for_children"); err != nil || got != "pid:[4026531836]" {
		t.Errorf("ns/pid_for_children -> %q, %v", got, err)
	}
	names := w.list(ctx, "/proc/3")
	for _, want := range []string{"task", "fd", "fdinfo", "ns", "status", "stat", "cmdline", "environ", "exe", "cwd", "root", "maps", "limits"} {
		if !slices.Contains(names, want) {
			t.Errorf("/proc/3 lacks %s", want)
		}
	}
	if slices.Contains(w.list(ctx, "/proc/3/task/3"), "task") {
		t.Error("a thread directory has task/")
	}
}

func TestReadAtZeroRegenerates(t *testing.T) {
	w := newWorld(t)
	p := w.addProcess(0, 1)
	ctx := w.ctxOf(p.threads[0])
	f, err := w.open(ctx, "/proc/1/comm", unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	buf := make([]byte, 64)
	n, _ := f.Impl.ReadAt(buf, 0)
	p.threads[0].comm = "renamed"
	if n2, _ := f.Impl.ReadAt(buf[n:], 2); n2 != 3 {
		t.Errorf("a read at an offset regenerated the contents (%d bytes)", n2)
	}
	if n, _ := f.Impl.ReadAt(buf, 0); string(buf[:n]) != "renamed\n" {
		t.Errorf("a read at 0 gave %q", buf[:n])
	}
}

func TestComm(t *testing.T) {
	w := newWorld(t)
	a := w.addProcess(0, 1, 2)
	b := w.addProcess(0, 9)
	ctx := w.ctxOf(a.threads[0])
	if err := w.write(ctx, "/proc/1/task/2/comm", "worker"); err != nil {
		t.Fatal(err)
	}
	if a.threads[1].comm != "worker" {
		t.Errorf("thread name = %q", a.threads[1].comm)
	}
	if err := w.write(ctx, "/proc/9/comm", "x"); err != unix.EINVAL {
		t.Errorf("renaming another process: %v, want EINVAL", err)
	}
	if b.threads[0].comm != "prog" {
		t.Error("another process was renamed")
	}
}

func TestFD(t *testing.T) {
	w := newWorld(t)
	p := w.addProcess(0, 1)
	ctx := w.ctxOf(p.threads[0])
	files := p.threads[0].files
	procDir, err := w.k.v.Resolve(ctx, w.root, "/proc/sys", 0)
	if err != nil {
		t.Fatal(err)
	}
	install := func(f *vfs.File, cloexec bool) {
		if _, err := files.Install(f, 0, cloexec, 1024); err != nil {
			t.Fatal(err)
		}
		f.DecRef()
	}
	install(vfs.NewFileAt(&fakePipe{}, unix.O_RDONLY, procDir), false)
	install(vfs.NewFile(&fakePipe{ino: 77}, unix.O_WRONLY), false)
	install(vfs.NewFile(&fakeEventFD{}, unix.O_RDWR|unix.O_NONBLOCK), true)
	if got := w.list(ctx, "/proc/1/fd"); !slices.Equal(got, []string{".", "..", "0", "1", "2"}) {
		t.Errorf("fd/ = %q", got)
	}
	for fd, want := range []string{"/proc/sys", "pipe:[77]", "anon_inode:[eventfd]"} {
		name := "/proc/1/fd/" + string(rune('0'+fd))
		if got, err := w.readlink(ctx, name); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", name, got, err, want)
		}
	}
	// Links show the access mode.
	for fd, want := range []uint16{0o500, 0o300, 0o700} {
		p, err := w.k.v.Resolve(ctx, w.root, "/proc/1/fd/"+string(rune('0'+fd)), vfs.ResolveNoFollow)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := p.Stat(ctx, unix.STATX_MODE)
		if st.Mode != unix.S_IFLNK|want {
			t.Errorf("fd %d mode %o, want %o", fd, st.Mode, unix.S_IFLNK|want)
		}
	}
	// Following a link to a file with a path lands on the path.
	if p, err := w.k.v.Resolve(ctx, w.root, "/proc/1/fd/0", 0); err != nil || p != procDir {
		t.Errorf("following fd/0: %v, %v", p, err)
	}
	want := "pos:\t0\nflags:\t02004002\nmnt_id:\t0\nino:\t0\neventfd-count:                0\n"
	if got := w.read(ctx, "/proc/1/fdinfo/2"); got != want {
		t.Errorf("fdinfo/2 = %q, want %q", got, want)
	}
	if got := w.read(ctx, "/proc/1/fdinfo/0"); !strings.Contains(got, "mnt_id:\t2\n") {
		t.Errorf("fdinfo/0 = %q, want mnt_id 2", got)
	}
	files.Remove(1)
	if _, err := w.readlink(ctx, "/proc/1/fd/1"); err != unix.ENOENT {
		t.Errorf("a closed descriptor's link: %v, want ENOENT", err)
	}
	if got := w.list(ctx, "/proc/1/fdinfo"); !slices.Equal(got, []string{".", "..", "0", "2"}) {
		t.Errorf("fdinfo/ after a close = %q", got)
	}
}

func TestAccessChecks(t *testing.T) {
	w := newWorld(t)
	rootProc := w.addProcess(0, 1)
	user := w.addProcess(1000, 20)
	other := w.addProcess(1001, 30)
	uctx := w.ctxOf(user.threads[0])

	// Anyone may read status, stat and cmdline.
	for _, name := range []string{"status", "stat", "cmdline", "comm", "limits"} {
		if _, err := w.tryRead(uctx, "/proc/1/"+name); err != nil {
			t.Errorf("a user reading root's %s: %v", name, err)
		}
	}
	// Not root's environment, maps, links or descriptors.
	for _, name := range []string{"environ", "maps", "smaps", "personality"} {
		if _, err := w.tryRead(uctx, "/proc/1/"+name); err != unix.EACCES {
			t.Errorf("a user reading root's %s: %v, want EACCES", name, err)
		}
	}
	for _, name := range []string{"exe", "cwd", "root", "ns/mnt"} {
		if _, err := w.readlink(uctx, "/proc/1/"+name); err != unix.EACCES {
			t.Errorf("a user reading root's %s link: %v, want EACCES", name, err)
		}
	}
	if _, err := w.open(uctx, "/proc/1/fd", unix.O_RDONLY|unix.O_DIRECTORY); err != unix.EACCES {
		t.Errorf("a user listing root's fd/: %v, want EACCES", err)
	}
	// Another user's process is closed too; one's own is open.
	if _, err := w.tryRead(uctx, "/proc/30/environ"); err != unix.EACCES {
		t.Errorf("reading another user's environ: %v, want EACCES", err)
	}
	if _, err := w.tryRead(uctx, "/proc/20/environ"); err != nil {
		t.Errorf("reading one's own environ: %v", err)
	}
	// A process that is not dumpable is root's: even its own environ
	// (0400) is closed to it.
	other.threads[0].dumpable = false
	octx := w.ctxOf(other.threads[0])
	if _, err := w.tryRead(octx, "/proc/30/environ"); err != unix.EACCES {
		t.Errorf("a non-dumpable process reading its own environ: %v, want EACCES", err)
	}
	if _, err := w.tryRead(octx, "/proc/30/status"); err != nil {
		t.Errorf("a non-dumpable process reading its own status: %v", err)
	}
	st, err := w.k.v.Resolve(octx, w.root, "/proc/30/status", 0)
	if err != nil {
		t.Fatal(err)
	}
	if sx, _ := st.Stat(octx, unix.STATX_UID); sx.Uid != 0 {
		t.Errorf("a non-dumpable process's files belong to %d, want root", sx.Uid)
	}
	// Root may read everything; stat hides addresses from others.
	rctx := w.ctxOf(rootProc.threads[0])
	if _, err := w.tryRead(rctx, "/proc/20/environ"); err != nil {
		t.Errorf("root reading a user's environ: %v", err)
	}
	if f := strings.Fields(w.read(uctx, "/proc/1/stat")); f[25] != "1" || f[26] != "1" {
		t.Errorf("start/end code shown to an unprivileged reader: %q %q", f[25], f[26])
	}
	if f := strings.Fields(w.read(rctx, "/proc/1/stat")); f[25] != "4194304" || f[26] != "4198400" {
		t.Errorf("start/end code = %q %q", f[25], f[26])
	}
	// Writes to proc's directories are refused.
	if err := w.k.v.Mkdir(rctx, w.root, "/proc/1/x", 0o755); err != unix.EPERM {
		t.Errorf("mkdir in a process directory: %v, want EPERM", err)
	}
}

func TestOOMScoreAdj(t *testing.T) {
	w := newWorld(t)
	root := w.addProcess(0, 1)
	user := w.addProcess(1000, 2)
	rctx, uctx := w.ctxOf(root.threads[0]), w.ctxOf(user.threads[0])
	if err := w.write(uctx, "/proc/2/oom_score_adj", "500\n"); err != nil {
		t.Fatal(err)
	}
	if got := w.read(uctx, "/proc/2/oom_score_adj"); got != "500\n" {
		t.Errorf("oom_score_adj = %q", got)
	}
	if got := w.read(uctx, "/proc/2/oom_score"); got != "500\n" {
		t.Errorf("oom_score = %q", got)
	}
	if err := w.write(uctx, "/proc/2/oom_score_adj", "100"); err != unix.EACCES {
		t.Errorf("lowering without CAP_SYS_RESOURCE: %v, want EACCES", err)
	}
	if err := w.write(rctx, "/proc/2/oom_score_adj", "-1000"); err != nil {
		t.Errorf("root lowering: %v", err)
	}
	for _, bad := range []string{"1001", "x", ""} {
		if err := w.write(rctx, "/proc/2/oom_score_adj", bad); err != unix.EINVAL {
			t.Errorf("writing %q: %v, want EINVAL", bad, err)
		}
	}
}

func TestSysctl(t *testing.T) {
	w := newWorld(t)
	p := w.addProcess(0, 1)
	ctx := w.ctxOf(p.threads[0])
	for name, want := range map[string]string{
		"kernel/ostype":            "Linux\n",
		"kernel/osrelease":         "6.1.0\n",
		"kernel/pid_max":           "4194304\n",
		"kernel/cap_last_cap":      "40\n",
		"kernel/sem":               "32000\t1024000000\t500\t32000\n",
		"fs/nr_open":               "1048576\n",
		"vm/overcommit_memory":     "0\n",
		"net/core/somaxconn":       "4096\n",
		"kernel/hostname":          "magawa\n",
		"kernel/domainname":        "(none)\n",
		"kernel/yama/ptrace_scope": "1\n",
	} {
		if got := w.read(ctx, "/proc/sys/"+name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if err := w.write(ctx, "/proc/sys/kernel/hostname", "box\n"); err != nil {
		t.Fatal(err)
	}
	if w.k.host != "box" {
		t.Errorf("hostname = %q after a write", w.k.host)
	}
	// As a shell's redirection opens it: O_TRUNC is accepted.
	f, err := w.open(ctx, "/proc/sys/kernel/domainname", unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC)
	if err != nil {
		t.Fatalf("opening domainname with O_TRUNC: %v", err)
	}
	_, err = f.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte("example.org\n")) })
	f.DecRef()
	if err != nil {
		t.Fatal(err)
	}
	if w.k.domain != "example.org" {
		t.Errorf("domainname = %q after a write", w.k.domain)
	}
	if err := w.write(ctx, "/proc/sys/kernel/ostype", "BSD"); err != unix.EACCES {
		t.Errorf("writing ostype: %v, want EACCES", err)
	}
	a, b := w.read(ctx, "/proc/sys/kernel/random/uuid"), w.read(ctx, "/proc/sys/kernel/random/uuid")
	if a == b || len(a) != 37 || a[14] != '4' {
		t.Errorf("uuid reads %q then %q", a, b)
	}
	if a, b := w.read(ctx, "/proc/sys/kernel/random/boot_id"), w.read(ctx, "/proc/sys/kernel/random/boot_id"); a != b {
		t.Errorf("boot_id changed: %q, %q", a, b)
	}
	user := w.addProcess(1000, 2)
	if err := w.write(w.ctxOf(user.threads[0]), "/proc/sys/kernel/hostname", "x"); err != unix.EACCES {
		t.Errorf("a user writing the hostname: %v, want EACCES", err)
	}
}

func TestGlobalFiles(t *testing.T) {
	w := newWorld(t)
	p := w.addProcess(0, 1)
	ctx := w.ctxOf(p.threads[0])
	if got := w.read(ctx, "/proc/uptime"); got != "100.00 360.00\n" {
		t.Errorf("uptime = %q", got)
	}
	if got := w.read(ctx, "/proc/loadavg"); got != "0.00 0.00 0.00 1/3 9\n" {
		t.Errorf("loadavg = %q", got)
	}
	stat := w.read(ctx, "/proc/stat")
	for _, want := range []string{"cpu  4000 0 0 36000 0 0 0 0 0 0\n", "cpu3 1000 0 0 9000 0 0 0 0 0 0\n", "btime 1700000000\n", "processes 9\n"} {
		if !strings.Contains(stat, want) {
			t.Errorf("stat lacks %q:\n%s", want, stat)
		}
	}
	if got := w.read(ctx, "/proc/version"); got != "Linux version 6.1.0 (magawa@magawa) (go) #1 SMP PREEMPT_DYNAMIC magawa\n" {
		t.Errorf("version = %q", got)
	}
	if got := w.read(ctx, "/proc/filesystems"); !strings.HasPrefix(got, "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\n") {
		t.Errorf("filesystems = %q", got)
	}
	if got := w.read(ctx, "/proc/mounts"); !strings.Contains(got, "proc /proc proc") {
		t.Errorf("mounts = %q", got)
	}
	mem := w.read(ctx, "/proc/meminfo")
	if !strings.HasPrefix(mem, "MemTotal:        1048576 kB\nMemFree:          786432 kB\nMemAvailable:     786432 kB\n") {
		t.Errorf("meminfo:\n%s", mem)
	}
	if got := strings.Count(w.read(ctx, "/proc/cpuinfo"), "processor\t:"); got != 4 {
		t.Errorf("cpuinfo lists %d processors, want 4", got)
	}
}

func TestCPUInfoFromHost(t *testing.T) {
	host := "processor\t: 0\nmodel name\t: X\n\nprocessor\t: 1\nmodel name\t: X\n\nprocessor\t: 2\nmodel name\t: X\n\n"
	if got := cpuInfo(host, 2); got != "processor\t: 0\nmodel name\t: X\n\nprocessor\t: 1\nmodel name\t: X\n\n" {
		t.Errorf("cpuInfo(host, 2) = %q", got)
	}
	if got := cpuInfo(host, 8); got != host {
		t.Errorf("cpuInfo(host, 8) = %q", got)
	}
}
