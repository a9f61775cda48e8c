package proc

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// writes writes each of datas in turn through one open description, as
// a program does, and returns what each write returned.
func (w *world) writes(ctx *vfs.Context, name string, datas ...string) ([]int, error) {
	f, err := w.open(ctx, name, unix.O_WRONLY|unix.O_TRUNC)
	if err != nil {
		return nil, err
	}
	defer f.DecRef()
	var ns []int
	for _, d := range datas {
		n, err := f.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte(d)) })
		if err != nil {
			return ns, err
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func TestSysctlDefaults(t *testing.T) {
	w := newWorld(t)
	ctx := w.ctxOf(w.addProcess(0, 1).threads[0])
	for name, want := range map[string]string{
		"kernel/msgmax":                       "8192",
		"kernel/msgmnb":                       "16384",
		"kernel/msgmni":                       "32000",
		"kernel/sem":                          "32000\t1024000000\t500\t32000",
		"kernel/shmmax":                       "18446744073692774399",
		"kernel/shmall":                       "18446744073692774399",
		"kernel/shmmni":                       "4096",
		"kernel/shm_rmid_forced":              "0",
		"fs/mqueue/msg_max":                   "10",
		"fs/mqueue/msgsize_max":               "8192",
		"fs/mqueue/msg_default":               "10",
		"fs/mqueue/msgsize_default":           "8192",
		"fs/mqueue/queues_max":                "256",
		"net/core/somaxconn":                  "4096",
		"net/ipv4/ping_group_range":           "1\t0",
		"net/ipv4/ip_unprivileged_port_start": "1024",
		"net/ipv4/ip_local_port_range":        "32768\t60999",
		"net/ipv4/ip_local_reserved_ports":    "",
		"net/ipv4/ip_forward":                 "0",
		"net/ipv4/tcp_syncookies":             "1",
		"net/ipv4/tcp_keepalive_time":         "7200",
		"net/ipv4/tcp_keepalive_intvl":        "75",
		"net/ipv4/tcp_keepalive_probes":       "9",
		"net/ipv4/tcp_fin_timeout":            "60",
	} {
		if got := w.read(ctx, "/proc/sys/"+name); got != want+"\n" {
			t.Errorf("%s = %q, want %q", name, got, want+"\n")
		}
		var st unix.Stat_t
		f, err := w.open(ctx, "/proc/sys/"+name, unix.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		f.Impl.Stat(&st)
		f.DecRef()
		if st.Mode&0o777 != 0o644 {
			t.Errorf("%s has mode %o, want 644", name, st.Mode&0o777)
		}
	}
}

// What containers write (dockerd, podman, runc's --sysctl) is accepted
// and read back as Linux formats it.
func TestSysctlWrites(t *testing.T) {
	w := newWorld(t)
	ctx := w.ctxOf(w.addProcess(0, 1).threads[0])
	for _, c := range []struct{ name, write, want string }{
		{"kernel/msgmax", "65536\n", "65536"},
		{"kernel/msgmnb", "0", "0"},
		{"kernel/msgmni", "32768", "32768"},
		{"kernel/sem", "250 32000 32 128\n", "250\t32000\t32\t128"},
		{"kernel/sem", "-1", "-1\t32000\t32\t128"}, // fewer values change fewer
		{"kernel/shmmax", "68719476736\n", "68719476736"},
		{"kernel/shmall", "18446744073709551615", "18446744073709551615"},
		{"kernel/shmmni", "0", "0"},
		{"kernel/shm_rmid_forced", "1", "1"},
		{"fs/mqueue/msg_max", "65536", "65536"},
		{"fs/mqueue/msgsize_max", "128", "128"},
		{"fs/mqueue/msg_default", "1", "1"},
		{"fs/mqueue/msgsize_default", "16777216", "16777216"},
		{"fs/mqueue/queues_max", "-5", "-5"},
		{"net/ipv4/ping_group_range", "0 0\n", "0\t0"},
		{"net/ipv4/ping_group_range", "0 2147483647\n", "0\t2147483647"},
		{"net/ipv4/ping_group_range", "0\t4294967294", "0\t4294967294"},
		{"net/ipv4/ping_group_range", "10 5", "1\t0"}, // an empty range disables
		{"net/ipv4/ip_unprivileged_port_start", "0\n", "0"},
		{"net/ipv4/ip_local_port_range", "1024 65000", "1024\t65000"},
		{"net/ipv4/ip_local_port_range", "1 1", "1\t1"},
		{"net/ipv4/ip_unprivileged_port_start", "1", "1"},
		{"net/ipv4/ip_local_reserved_ports", "9000-9100,8080,8081\n", "8080-8081,9000-9100"},
		{"net/ipv4/ip_local_reserved_ports", "\n", ""},
		{"net/ipv4/ip_forward", "1\n", "1"},
		{"net/ipv4/ip_forward", "-7", "-7"},
		{"net/core/somaxconn", "65535", "65535"},
		{"net/ipv4/tcp_syncookies", "2", "2"},
		{"net/ipv4/tcp_keepalive_time", "600", "600"},
		{"net/ipv4/tcp_keepalive_probes", "255", "255"},
		{"net/ipv4/tcp_fin_timeout", "-30", "-30"},
		// Linux's number syntax: octal after 0, hexadecimal after 0x,
		// spaces around.
		{"kernel/msgmax", "  0x10  \n", "16"},
		{"kernel/msgmax", "010", "8"},
		{"kernel/msgmax", "-0", "0"},
	} {
		if _, err := w.writes(ctx, "/proc/sys/"+c.name, c.write); err != nil {
			t.Errorf("writing %q to %s: %v", c.write, c.name, err)
			continue
		}
		if got := w.read(ctx, "/proc/sys/"+c.name); got != c.want+"\n" {
			t.Errorf("%s after writing %q = %q, want %q", c.name, c.write, got, c.want+"\n")
		}
	}
	// The kernel keeps them: every proc of the sandbox sees them.
	if l := w.k.IPCLimits(); l.SysV.MsgMax != 0 || l.SysV.ShmMax != 68719476736 || l.MQ.MsgMax != 65536 {
		t.Errorf("kernel's IPC limits %+v", l)
	}
	if n := w.k.NetTunables(); n.PingGroupRange != [2]uint32{1, 0} || n.IPUnprivilegedPortStart != 1 {
		t.Errorf("kernel's network tunables %+v", n)
	}
	other := newFS(w.k, Options{MemTotal: 1 << 30, DevMinor: 8})
	if got, _ := other.root.children["sys"].(*staticDir).children["kernel"].(*staticDir).children["msgmax"].(*sysctlFile).read(nil); string(got) != "0\n" {
		t.Errorf("another proc shows msgmax %q", got)
	}
}

// Anything but numbers in range is EINVAL and changes nothing.
func TestSysctlInvalid(t *testing.T) {
	w := newWorld(t)
	ctx := w.ctxOf(w.addProcess(0, 1).threads[0])
	for _, c := range []struct{ name, write string }{
		{"kernel/msgmax", "-1"},
		{"kernel/msgmax", "2147483648"},
		{"kernel/msgmax", "abc"},
		{"kernel/msgmax", "\n"},
		{"kernel/msgmax", "12abc"},
		{"kernel/msgmax", "1.5"},
		{"kernel/msgmax", "08"},
		{"kernel/msgmax", "-"},
		{"kernel/msgmax", "+5"},
		{"kernel/msgmax", "000000000000000000001"}, // 21 characters
		{"kernel/msgmni", "32769"},
		{"kernel/shmmni", "-1"},
		{"kernel/shm_rmid_forced", "2"},
		{"kernel/shmmax", "-1"},
		{"kernel/shmmax", "18446744073709551616"},
		{"fs/mqueue/msg_max", "0"},
		{"fs/mqueue/msg_max", "65537"},
		{"fs/mqueue/msgsize_max", "127"},
		{"fs/mqueue/msgsize_default", "16777217"},
		{"net/ipv4/ping_group_range", "-1 5"},
		{"net/ipv4/ping_group_range", "0 4294967295"},
		{"net/ipv4/ping_group_range", "0 x"},
		{"net/ipv4/ip_unprivileged_port_start", "65536"},
		{"net/ipv4/ip_unprivileged_port_start", "40000"}, // above the local ports' start
		{"net/ipv4/ip_local_port_range", "60000 50000"},
		{"net/ipv4/ip_local_port_range", "0 100"},
		{"net/ipv4/ip_local_port_range", "1000 2000"}, // below ip_unprivileged_port_start
		{"net/ipv4/ip_local_port_range", "1024 65536"},
		{"net/ipv4/ip_local_reserved_ports", "65536"},
		{"net/ipv4/ip_local_reserved_ports", "5-3"},
		{"net/ipv4/ip_local_reserved_ports", "1 2"},
		{"net/ipv4/ip_local_reserved_ports", "1,,2"},
		{"net/ipv4/ip_local_reserved_ports", "1-"},
		{"net/core/somaxconn", "-1"},
		{"net/ipv4/tcp_syncookies", "256"},
		{"net/ipv4/tcp_syncookies", "-1"},
		{"net/ipv4/tcp_keepalive_time", "8589935"}, // past INT_MAX jiffies
	} {
		before := w.read(ctx, "/proc/sys/"+c.name)
		if _, err := w.writes(ctx, "/proc/sys/"+c.name, c.write); err != unix.EINVAL {
			t.Errorf("writing %q to %s: %v, want EINVAL", c.write, c.name, err)
		}
		if after := w.read(ctx, "/proc/sys/"+c.name); after != before {
			t.Errorf("%s changed from %q to %q by a refused write", c.name, before, after)
		}
	}
	// A failing write to sem keeps the values before the failure, but
	// for semmni, as Linux does.
	if _, err := w.writes(ctx, "/proc/sys/kernel/sem", "1 2 3 40000"); err != unix.EINVAL {
		t.Errorf("semmni past IPCMNI: %v, want EINVAL", err)
	}
	if got := w.read(ctx, "/proc/sys/kernel/sem"); got != "1\t2\t3\t32000\n" {
		t.Errorf("sem after a refused semmni: %q", got)
	}
	if _, err := w.writes(ctx, "/proc/sys/kernel/sem", "5 x"); err != unix.EINVAL {
		t.Errorf("sem with a bad second value: %v, want EINVAL", err)
	}
	if got := w.read(ctx, "/proc/sys/kernel/sem"); got != "5\t2\t3\t32000\n" {
		t.Errorf("sem after a bad second value: %q", got)
	}
}

// A write takes what its value took; the rest, written next at a
// further offset, is ignored, as by Linux's strict sysctl writes.
func TestSysctlWriteOffsets(t *testing.T) {
	w := newWorld(t)
	ctx := w.ctxOf(w.addProcess(0, 1).threads[0])
	ns, err := w.writes(ctx, "/proc/sys/kernel/msgmax", "100 junk", "junk")
	if err != nil || len(ns) != 2 || ns[0] != 4 || ns[1] != 4 {
		t.Errorf("writes returned %v, %v; want [4 4]", ns, err)
	}
	if got := w.read(ctx, "/proc/sys/kernel/msgmax"); got != "100\n" {
		t.Errorf("msgmax = %q", got)
	}
	if _, err := w.writes(ctx, "/proc/sys/kernel/msgmax", "200", "\n"); err != nil {
		t.Errorf("a value then its newline: %v", err)
	}
	if got := w.read(ctx, "/proc/sys/kernel/msgmax"); got != "200\n" {
		t.Errorf("msgmax = %q", got)
	}
	if ns, err := w.writes(ctx, "/proc/sys/kernel/msgmax", ""); err != nil || ns[0] != 0 {
		t.Errorf("an empty write: %v, %v", ns, err)
	}
	// A byte takes the whole write.
	if ns, err := w.writes(ctx, "/proc/sys/net/ipv4/tcp_syncookies", "0 1"); err != nil || ns[0] != 3 {
		t.Errorf("tcp_syncookies: %v, %v", ns, err)
	}
	// A string continues at the offset.
	if _, err := w.writes(ctx, "/proc/sys/kernel/hostname", "bo", "x\n"); err != nil {
		t.Fatal(err)
	}
	if w.k.host != "box" {
		t.Errorf("hostname %q after two writes", w.k.host)
	}
	if _, err := w.writes(ctx, "/proc/sys/kernel/hostname", strings.Repeat("h", 70)); err != nil || w.k.host != strings.Repeat("h", 64) {
		t.Errorf("a long hostname: %q, %v", w.k.host, err)
	}
	// A port list adds to itself past offset 0.
	if _, err := w.writes(ctx, "/proc/sys/net/ipv4/ip_local_reserved_ports", "10,", "11-12,20"); err != nil {
		t.Fatal(err)
	}
	if got := w.read(ctx, "/proc/sys/net/ipv4/ip_local_reserved_ports"); got != "10-12,20\n" {
		t.Errorf("reserved ports %q", got)
	}
}

// Only root writes /proc/sys: no capability overrides the mode, but
// CAP_NET_ADMIN on network files.
func TestSysctlPermissions(t *testing.T) {
	w := newWorld(t)
	root := w.addProcess(0, 1)
	user := w.addProcess(1000, 2)
	rootGroup := w.addProcess(1000, 3)
	rootGroup.threads[0].creds.EGID = 0
	uctx := w.ctxOf(user.threads[0])
	for _, name := range []string{"kernel/msgmax", "net/ipv4/ping_group_range", "kernel/hostname"} {
		if _, err := w.writes(uctx, "/proc/sys/"+name, "1"); err != unix.EACCES {
			t.Errorf("a user writing %s: %v, want EACCES", name, err)
		}
		if _, err := w.writes(w.ctxOf(rootGroup.threads[0]), "/proc/sys/"+name, "1"); err != unix.EACCES {
			t.Errorf("root's group writing %s: %v, want EACCES", name, err)
		}
		if _, err := w.tryRead(uctx, "/proc/sys/"+name); err != nil {
			t.Errorf("a user reading %s: %v", name, err)
		}
	}
	// Capabilities the VFS honours do not count.
	capable := w.ctxOf(user.threads[0])
	capable.Creds.Caps = ^uint64(0)
	capable.Task = nil // the credentials alone decide
	if _, err := w.writes(capable, "/proc/sys/kernel/msgmax", "1"); err != unix.EACCES {
		t.Errorf("a user with every capability: %v, want EACCES", err)
	}
	netAdmin := &vfs.Context{Creds: &vfs.Creds{UID: 1000, GID: 1000, Caps: 1 << capNetAdmin}, Root: w.root, Cwd: w.root}
	if _, err := w.writes(netAdmin, "/proc/sys/net/ipv4/ip_forward", "1"); err != nil {
		t.Errorf("CAP_NET_ADMIN writing ip_forward: %v", err)
	}
	if _, err := w.writes(netAdmin, "/proc/sys/kernel/msgmax", "1"); err != unix.EACCES {
		t.Errorf("CAP_NET_ADMIN writing msgmax: %v, want EACCES", err)
	}
	// The runtime applying a bundle's sysctls: root's credentials, no task.
	kctx := &vfs.Context{Creds: &vfs.RootCreds, Root: w.root, Cwd: w.root}
	if _, err := w.writes(kctx, "/proc/sys/net/ipv4/ip_unprivileged_port_start", "0\n"); err != nil {
		t.Errorf("the runtime's write: %v", err)
	}
	// A writer that is no longer root when it writes: EPERM.
	rctx := w.ctxOf(root.threads[0])
	f, err := w.open(rctx, "/proc/sys/kernel/msgmax", unix.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	root.threads[0].creds.EUID = 1000
	if _, err := f.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte("5")) }); err != unix.EPERM {
		t.Errorf("writing after dropping root: %v, want EPERM", err)
	}
	root.threads[0].creds.EUID = 0
	// Read-only files stay so, for root too, and nothing executes.
	if _, err := w.writes(rctx, "/proc/sys/vm/overcommit_memory", "1"); err != unix.EACCES {
		t.Errorf("writing a fixed file: %v, want EACCES", err)
	}
	p, err := w.k.v.Resolve(rctx, w.root, "/proc/sys/kernel/msgmax", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.k.v.Permission(rctx, p, vfs.MayExec); err != unix.EACCES {
		t.Errorf("executing a sysctl: %v, want EACCES", err)
	}
}
